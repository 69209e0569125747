// "12 s ago" drifts: every relative time reads this clock, which ticks every 5 s.
import { signal } from '@preact/signals';

export const now = signal(Date.now());
window.setInterval(() => {
  now.value = Date.now();
}, 5000);
