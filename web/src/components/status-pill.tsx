// A status as words with an icon (✓ online, ✕ offline, ? unknown, – removed; drawn by CSS so
// the text stays the status word), never as colour alone.
import { statusText } from '../format.js';

const KNOWN = new Set(['online', 'offline', 'unknown', 'removed']);

export function StatusPill({ status }: { status: string }) {
  const kind = KNOWN.has(status) ? status : 'other';
  return (
    <span class={`pill pill-${kind}`} data-status={status}>
      {statusText(status)}
    </span>
  );
}
