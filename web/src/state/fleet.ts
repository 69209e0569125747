// The fleet page's data: summary, one page of boxes (filtered), the fleet timeline. Live reports
// update the shown rows at once; new boxes, counts and ordering come with a throttled refetch.
import { signal } from '@preact/signals';
import { api, type Box, type HistoryEntry, type Summary } from '../api.js';
import { replaceParams } from '../router.js';
import { listen, type LiveReport } from './live.js';
import { handleError, loadError } from './session.js';
import { throttled } from './throttle.js';
import { TimelineStore } from './timeline.js';

export const PAGE_SIZE = 50;
/** Least time between two refetches caused by live messages. */
const REFRESH_MS = 1000;

export type StatusFilter = '' | 'online' | 'offline';
/** The disk-use thresholds the box list offers (percent full; '' = any). */
export const DISK_THRESHOLDS = ['80', '90', '95'] as const;
export type DiskFilter = '' | (typeof DISK_THRESHOLDS)[number];
/** The box list's sortable columns (the server's sort keys). */
export const BOX_SORTS = ['status_since', 'last_report', 'name', 'location'] as const;
export type BoxSort = (typeof BOX_SORTS)[number];

export interface BoxRow {
  box: Box;
  /** Changed by a live report since the last render: the row flashes. */
  flashSeq: number;
}

export class FleetStore {
  readonly q = signal('');
  readonly status = signal<StatusFilter>('');
  readonly page = signal(0);
  readonly location = signal('');
  readonly version = signal('');
  readonly disk = signal<DiskFilter>('');
  readonly sort = signal<{ key: BoxSort; desc: boolean } | null>(null);
  readonly summary = signal<Summary | null>(null);
  readonly rows = signal<BoxRow[] | null>(null);
  readonly total = signal(0);
  readonly timeline = new TimelineStore();
  private flashNewRows = false;
  private flashCounter = 0;
  private readonly liveRefresh = throttled(() => this.refreshData(), REFRESH_MS, handleError);
  private readonly timelineRefresh = throttled(() => this.refreshTimeline(), REFRESH_MS, handleError);
  private readonly unlisten: () => void;

  constructor(params: URLSearchParams) {
    this.q.value = params.get('q') ?? '';
    const st = params.get('status');
    this.status.value = st === 'online' || st === 'offline' ? st : '';
    this.page.value = Math.max(0, Number(params.get('page') ?? '1') - 1) || 0;
    this.location.value = params.get('location') ?? '';
    this.version.value = params.get('version') ?? '';
    const disk = params.get('disk') as DiskFilter | null;
    this.disk.value = disk && (DISK_THRESHOLDS as readonly string[]).includes(disk) ? disk : '';
    const sort = params.get('sort') as BoxSort | null;
    if (sort && BOX_SORTS.includes(sort)) this.sort.value = { key: sort, desc: params.get('order') === 'desc' };
    this.unlisten = listen({
      reports: (r) => this.onReports(r),
      transitions: (t, dropped) => this.onTransitions(t, dropped),
    });
  }

  setQuery(q: string): void {
    this.q.value = q;
    this.goPage(0);
  }

  setStatus(status: StatusFilter): void {
    this.status.value = status;
    this.goPage(0);
  }

  setFilter(name: 'location' | 'version', value: string): void {
    this[name].value = value;
    this.goPage(0);
  }

  setDisk(value: DiskFilter): void {
    this.disk.value = value;
    this.goPage(0);
  }

  /** A click on a column header: sort by it, or turn the order around when it already is. */
  toggleSort(key: BoxSort): void {
    const cur = this.sort.value;
    this.sort.value = cur?.key === key ? { key, desc: !cur.desc } : { key, desc: false };
    this.goPage(0);
  }

  goPage(page: number): void {
    this.page.value = Math.max(0, page);
    this.syncUrl();
    void this.refreshData().catch(handleError);
  }

  private syncUrl(): void {
    const p = new URLSearchParams();
    if (this.q.value) p.set('q', this.q.value);
    if (this.status.value) p.set('status', this.status.value);
    if (this.location.value) p.set('location', this.location.value);
    if (this.version.value) p.set('version', this.version.value);
    if (this.disk.value) p.set('disk', this.disk.value);
    if (this.sort.value) {
      p.set('sort', this.sort.value.key);
      if (this.sort.value.desc) p.set('order', 'desc');
    }
    if (this.page.value > 0) p.set('page', String(this.page.value + 1));
    replaceParams('boxes', p);
  }

  /** Fetch everything again (first show, reconnect). */
  async refresh(): Promise<void> {
    await Promise.all([this.refreshData(), this.refreshTimeline()]);
  }

  private async refreshTimeline(): Promise<void> {
    this.timeline.set((await api.fleetHistory(100)).entries);
  }

  private async refreshData(): Promise<void> {
    const [summary, list] = await Promise.all([
      api.summary(),
      api.boxes({
        q: this.q.value,
        status: this.status.value,
        location: this.location.value,
        version: this.version.value,
        disk_min: this.disk.value,
        ...(this.sort.value ? { sort: this.sort.value.key, order: this.sort.value.desc ? 'desc' : 'asc' } : {}),
        limit: PAGE_SIZE,
        offset: this.page.value * PAGE_SIZE,
      }),
    ]);
    if (list.boxes.length === 0 && list.total > 0 && this.page.value > 0) {
      // The page we were on emptied (boxes went offline, filter changed): go to the last one.
      this.page.value = Math.floor((list.total - 1) / PAGE_SIZE);
      this.syncUrl();
      return this.refreshData();
    }
    loadError.value = null;
    this.summary.value = summary;
    const before = this.rows.value;
    const flashNew = this.flashNewRows && before !== null && before.length > 0;
    this.flashNewRows = false;
    const seen = new Map(before?.map((r) => [r.box.dev_sno, r]));
    this.rows.value = list.boxes.map((box) => {
      const old = seen.get(box.dev_sno);
      // Counts that changed in a reload (it can overtake the live event) flash too.
      if (old) {
        const changed = old.box.sub_devices_online !== box.sub_devices_online || old.box.sub_devices_offline !== box.sub_devices_offline;
        return { box, flashSeq: changed ? ++this.flashCounter : old.flashSeq };
      }
      return { box, flashSeq: flashNew ? ++this.flashCounter : 0 };
    });
    this.total.value = list.total;
  }

  private onReports(reports: LiveReport[]): void {
    const rows = this.rows.value;
    if (rows) {
      const latest = new Map(reports.map((r) => [r.dev_sno, r]));
      let changed = false;
      const next = rows.map((row) => {
        const r = latest.get(row.box.dev_sno);
        if (!r) return row;
        changed = true;
        const box = row.box;
        // Highlight changes only: boxes report every few seconds, mostly with nothing new.
        const countsChanged = box.status !== 'online' || box.sub_devices_online !== r.online || box.sub_devices_offline !== r.offline;
        return {
          // A box that reports is online (the receiver marks it so as it stores the report).
          box: { ...box, status: 'online' as const, last_report_at: r.at, sub_devices_online: r.online, sub_devices_offline: r.offline },
          flashSeq: countsChanged ? ++this.flashCounter : row.flashSeq,
        };
      });
      if (changed) this.rows.value = next;
    }
    this.flashNewRows = true;
    this.liveRefresh.run();
  }

  private onTransitions(transitions: HistoryEntry[], dropped: number): void {
    if (dropped > 0) this.timelineRefresh.run();
    else this.timeline.prepend(transitions);
    this.liveRefresh.run();
  }

  dispose(): void {
    this.unlisten();
    this.liveRefresh.cancel();
    this.timelineRefresh.cancel();
  }
}
