// One box's page: the box, its sub-devices (offline first), its history (HistoryStore), its
// outages and availability over a window; refetched (throttled) when the box reports or one of
// its statuses changes.
import { computed, signal } from '@preact/signals';
import { api, type Box, type HistoryEntry, type SubDevice } from '../api.js';
import { consoleApi, type Availability, type AvailabilityWindow, type Outage } from '../api-console.js';
import { HistoryStore, historyFilters } from './history.js';
import { listen } from './live.js';
import { handleError, loadError } from './session.js';
import { throttled } from './throttle.js';

const REFRESH_MS = 1000;
const STATUS_ORDER: Record<string, number> = { offline: 0, unknown: 1, online: 2, removed: 3 };
export const WINDOWS: AvailabilityWindow[] = ['24h', '7d', '30d'];
const WINDOW_MS: Record<AvailabilityWindow, number> = { '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };

export type BoxData = { kind: 'loading' } | { kind: 'missing' } | { kind: 'found'; box: Box; subs: SubDevice[] };

function isNoBox(e: unknown): boolean {
  return e instanceof Error && /no box/.test(e.message);
}

export class BoxStore {
  readonly data = signal<BoxData>({ kind: 'loading' });
  readonly history: HistoryStore;
  readonly window = signal<AvailabilityWindow>('24h');
  /** null: not loaded (or the receiver has no such API). */
  readonly availability = signal<Availability | null>(null);
  readonly outages = signal<Outage[] | null>(null);
  /** ep_id → ep_name, for the timeline's subjects. */
  readonly names = computed(() => {
    const d = this.data.value;
    return new Map(d.kind === 'found' ? d.subs.map((s) => [s.ep_id, s.ep_name]) : []);
  });
  private readonly liveRefresh = throttled(() => this.refreshBox(), REFRESH_MS, handleError);
  private readonly statsRefresh = throttled(() => this.refreshStats(), 5 * REFRESH_MS, handleError);
  private readonly unlisten: () => void;

  constructor(
    readonly devSno: string,
    params: URLSearchParams,
  ) {
    this.history = new HistoryStore(historyFilters(params, devSno));
    const w = params.get('window') as AvailabilityWindow | null;
    if (w && WINDOWS.includes(w)) this.window.value = w;
    this.unlisten = listen({
      reports: (reports) => {
        if (reports.some((r) => r.dev_sno === devSno)) this.liveRefresh.run();
      },
      transitions: (transitions, dropped) => this.onTransitions(transitions, dropped),
    });
  }

  async refresh(): Promise<void> {
    await Promise.all([this.refreshBox(), this.refreshHistory(), this.refreshStats()]);
  }

  setWindow(w: AvailabilityWindow): void {
    this.window.value = w;
    void this.refreshStats().catch(handleError);
  }

  private async refreshHistory(): Promise<void> {
    try {
      await this.history.load();
    } catch (e) {
      if (!isNoBox(e)) throw e;
    }
  }

  /** Availability and outages; a receiver without them leaves the sections out. */
  private async refreshStats(): Promise<void> {
    const w = this.window.value;
    const from = new Date(Date.now() - WINDOW_MS[w]).toISOString();
    const [availability, outages] = await Promise.all([
      consoleApi.availability(this.devSno, w).catch(() => null),
      consoleApi.outages(this.devSno, { from }).catch(() => null),
    ]);
    if (w !== this.window.value) return;
    this.availability.value = availability;
    this.outages.value = outages?.rows ?? null;
  }

  private async refreshBox(): Promise<void> {
    try {
      const { box, sub_devices } = await api.box(this.devSno);
      const subs = [...sub_devices].sort(
        (a, b) => (STATUS_ORDER[a.ep_status] ?? 4) - (STATUS_ORDER[b.ep_status] ?? 4) || a.ep_id.localeCompare(b.ep_id),
      );
      loadError.value = null;
      this.data.value = { kind: 'found', box, subs };
    } catch (e) {
      if (!isNoBox(e)) throw e;
      this.data.value = { kind: 'missing' };
    }
  }

  private onTransitions(transitions: HistoryEntry[], dropped: number): void {
    const mine = transitions.some((t) => t.dev_sno === this.devSno);
    if (mine || dropped > 0) {
      this.liveRefresh.run();
      this.statsRefresh.run();
    }
  }

  dispose(): void {
    this.unlisten();
    this.history.dispose();
    this.liveRefresh.cancel();
    this.statsRefresh.cancel();
  }
}

/** How many sub-devices are in each status, as the rows show them. */
export function statusCounts(subs: SubDevice[]): Record<'online' | 'offline' | 'unknown' | 'removed', number> {
  const c = { online: 0, offline: 0, unknown: 0, removed: 0 };
  for (const s of subs) if (s.ep_status in c) c[s.ep_status as keyof typeof c]++;
  return c;
}
