// The entries a timeline shows, newest first, at most TIMELINE_MAX. Entries pushed live are
// marked fresh (they flash once); each has a key of its own (live ones come without an id).
import { signal } from '@preact/signals';
import type { HistoryEntry } from '../api.js';

export const TIMELINE_MAX = 200;

export interface TimelineItem {
  key: number;
  entry: HistoryEntry;
  fresh: boolean;
}

let nextKey = 1;

export class TimelineStore {
  readonly items = signal<TimelineItem[]>([]);
  /** False until the first fetch answered (the empty note waits for it). */
  readonly loaded = signal(false);

  set(entries: HistoryEntry[]): void {
    this.items.value = entries.slice(0, TIMELINE_MAX).map((entry) => ({ key: nextKey++, entry, fresh: false }));
    this.loaded.value = true;
  }

  /** `entries` in the order they happened. Pages fetched with append() are kept. */
  prepend(entries: HistoryEntry[]): void {
    const fresh = entries.map((entry) => ({ key: nextKey++, entry, fresh: true })).reverse();
    this.items.value = [...fresh, ...this.items.value].slice(0, Math.max(TIMELINE_MAX, this.items.value.length));
  }

  /** An older page, below what is shown (paging back has no limit). */
  append(entries: HistoryEntry[]): void {
    this.items.value = [...this.items.value, ...entries.map((entry) => ({ key: nextKey++, entry, fresh: false }))];
  }
}
