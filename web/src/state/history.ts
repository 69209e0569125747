// A history list that pages back without limit, filtered by box, camera and time range; new
// changes arrive live at the top while the range is open-ended.
import { signal, type Signal } from '@preact/signals';
import type { HistoryEntry } from '../api.js';
import { consoleApi } from '../api-console.js';
import { listen } from './live.js';
import { handleError } from './session.js';
import { throttled } from './throttle.js';
import { TimelineStore } from './timeline.js';

export const HISTORY_PAGE = 100;

export interface HistoryFilters {
  dev_sno: string;
  ep_id: string;
  /** ISO times ('' = open). */
  from: string;
  to: string;
}

export function historyFilters(params: URLSearchParams, devSno?: string): HistoryFilters {
  return { dev_sno: devSno ?? params.get('dev_sno') ?? '', ep_id: params.get('ep_id') ?? '', from: params.get('from') ?? '', to: params.get('to') ?? '' };
}

export class HistoryStore {
  readonly timeline = new TimelineStore();
  readonly filters: Signal<HistoryFilters>;
  readonly cursor = signal<string | null>(null);
  readonly busy = signal(false);
  private readonly refetch = throttled(() => this.load(), 1000, handleError);
  private readonly unlisten: () => void;

  constructor(initial: HistoryFilters) {
    this.filters = signal(initial);
    this.unlisten = listen({ transitions: (t, dropped) => this.onLive(t, dropped) });
  }

  setFilters(change: Partial<HistoryFilters>): void {
    this.filters.value = { ...this.filters.value, ...change };
    void this.load().catch(handleError);
  }

  private query() {
    const f = this.filters.value;
    return { dev_sno: f.dev_sno || undefined, ep_id: f.ep_id || undefined, from: f.from || undefined, to: f.to || undefined, limit: HISTORY_PAGE };
  }

  async load(): Promise<void> {
    const f = this.filters.value;
    const page = await consoleApi.history(this.query());
    if (f !== this.filters.value) return;
    this.timeline.set(page.rows);
    this.cursor.value = page.next_cursor;
  }

  async older(): Promise<void> {
    const f = this.filters.value;
    if (!this.cursor.value) return;
    this.busy.value = true;
    try {
      const page = await consoleApi.history({ ...this.query(), cursor: this.cursor.value });
      if (f !== this.filters.value) return;
      this.timeline.append(page.rows);
      this.cursor.value = page.next_cursor;
    } finally {
      this.busy.value = false;
    }
  }

  private onLive(transitions: HistoryEntry[], dropped: number): void {
    const f = this.filters.value;
    if (f.to) return; // a closed range does not grow
    if (dropped > 0) return this.refetch.run();
    const mine = transitions.filter((e) => (!f.dev_sno || e.dev_sno === f.dev_sno) && (!f.ep_id || e.ep_id === f.ep_id));
    if (mine.length) this.timeline.prepend(mine);
  }

  dispose(): void {
    this.unlisten();
    this.refetch.cancel();
  }
}
