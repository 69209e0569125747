// One box's page: the box, its sub-devices (offline first) and its own timeline, refetched
// (throttled) when the box reports or one of its statuses changes.
import { computed, signal } from '@preact/signals';
import { api, type Box, type HistoryEntry, type SubDevice } from '../api.js';
import { listen } from './live.js';
import { handleError, loadError } from './session.js';
import { throttled } from './throttle.js';
import { TimelineStore } from './timeline.js';

const REFRESH_MS = 1000;
const STATUS_ORDER: Record<string, number> = { offline: 0, online: 1, removed: 2 };

export type BoxData = { kind: 'loading' } | { kind: 'missing' } | { kind: 'found'; box: Box; subs: SubDevice[] };

function isNoBox(e: unknown): boolean {
  return e instanceof Error && /no box/.test(e.message);
}

export class BoxStore {
  readonly data = signal<BoxData>({ kind: 'loading' });
  readonly timeline = new TimelineStore();
  /** ep_id → ep_name, for the timeline's subjects. */
  readonly names = computed(() => {
    const d = this.data.value;
    return new Map(d.kind === 'found' ? d.subs.map((s) => [s.ep_id, s.ep_name]) : []);
  });
  private readonly liveRefresh = throttled(() => this.refreshBox(), REFRESH_MS, handleError);
  private readonly timelineRefresh = throttled(() => this.refreshTimeline(), REFRESH_MS, handleError);
  private readonly unlisten: () => void;

  constructor(readonly devSno: string) {
    this.unlisten = listen({
      reports: (reports) => {
        if (reports.some((r) => r.dev_sno === devSno)) this.liveRefresh.run();
      },
      transitions: (transitions, dropped) => this.onTransitions(transitions, dropped),
    });
  }

  async refresh(): Promise<void> {
    await Promise.all([this.refreshBox(), this.refreshTimeline()]);
  }

  private async refreshTimeline(): Promise<void> {
    try {
      this.timeline.set((await api.boxHistory(this.devSno, 100)).entries);
    } catch (e) {
      if (!isNoBox(e)) throw e;
    }
  }

  private async refreshBox(): Promise<void> {
    try {
      const { box, sub_devices } = await api.box(this.devSno);
      const subs = [...sub_devices].sort(
        (a, b) => (STATUS_ORDER[a.ep_status] ?? 3) - (STATUS_ORDER[b.ep_status] ?? 3) || a.ep_id.localeCompare(b.ep_id),
      );
      loadError.value = null;
      this.data.value = { kind: 'found', box, subs };
    } catch (e) {
      if (!isNoBox(e)) throw e;
      this.data.value = { kind: 'missing' };
    }
  }

  private onTransitions(transitions: HistoryEntry[], dropped: number): void {
    const mine = transitions.filter((t) => t.dev_sno === this.devSno);
    if (dropped > 0) this.timelineRefresh.run();
    else if (mine.length) this.timeline.prepend(mine);
    if (mine.length || dropped > 0) this.liveRefresh.run();
  }

  dispose(): void {
    this.unlisten();
    this.liveRefresh.cancel();
    this.timelineRefresh.cancel();
  }
}
