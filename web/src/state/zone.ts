// The operator's time zone for every date shown: the browser's own unless chosen in the header
// (remembered in localStorage). Operators compare times with logs from boxes in other places.
import { signal } from '@preact/signals';

const STORAGE_KEY = 'devstatus.tz';

export const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

function storedZone(): string {
  try {
    const v = localStorage.getItem(STORAGE_KEY) ?? '';
    // A zone this browser does not know would make every date fail.
    if (v) new Intl.DateTimeFormat('en', { timeZone: v });
    return v;
  } catch {
    return '';
  }
}

/** '' = the browser's zone. */
export const zone = signal<string>(storedZone());

export function setZone(next: string): void {
  zone.value = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    /* storage disabled: for this page only */
  }
}

/** The zones the browser knows, for the chooser. */
export function knownZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  const all = intl.supportedValuesOf?.('timeZone') ?? [];
  return all.includes('UTC') ? all : ['UTC', ...all];
}
