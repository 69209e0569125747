// The problems view's data: every offline box and every offline sub-device (of online boxes),
// one list ordered by how long each has been down (or by location, type, box, name), paged with
// the server's cursors and refetched (throttled) when statuses change live. Other statuses
// (unknown, online, removed, all) list sub-devices alone.
import { signal } from '@preact/signals';
import { api, type Box, type Summary } from '../api.js';
import { consoleApi, type SubDeviceRow } from '../api-console.js';
import { replaceParams } from '../router.js';
import { listen, type AlertStateChange } from './live.js';
import { handleError, loadError } from './session.js';
import { throttled } from './throttle.js';

export const PROBLEM_PAGE = 100;
const REFRESH_MS = 1000;
/**
 * Acknowledgements and silences come over the live stream; the list is still looked at again
 * this often, a safety net for anything a stream can miss.
 */
const ALERT_STATE_REFRESH_MS = 60_000;
/**
 * How long a change pushed live wins over what a fetch says: the alert engine of another
 * receiver can take a moment to apply it, and a refetch meanwhile must not undo the row.
 */
const LIVE_CHANGE_KEEP_MS = 15_000;
/** One refetch reloads at most this many rows (the rest come with "more"). */
const MAX_RELOAD = 1000;

export const STATUSES = ['problems', 'offline', 'unknown', 'online', 'removed', 'all'] as const;
export type StatusChoice = (typeof STATUSES)[number];
export const SORTS = ['down_since', 'location', 'type', 'box', 'name'] as const;
export type SortChoice = (typeof SORTS)[number];
/** The protocol's ep_type values (src/protocol/schema.ts EP_TYPES; the page does not bundle TypeBox). */
export const EP_TYPES = ['photo', 'rtsp', 'file', 'gb28181'] as const;

export interface ProblemFilters {
  status: StatusChoice;
  sort: SortChoice;
  type: string;
  location: string;
  q: string;
  /** Leave out rows whose problem is acknowledged or silenced (someone is on it). */
  hideHandled: boolean;
}

export type ProblemRow = { kind: 'box'; key: string; box: Box; since: string } | { kind: 'sub'; key: string; sub: SubDeviceRow; since: string };

const BOX_SORT: Record<SortChoice, string> = { down_since: 'status_since', location: 'location', type: 'status_since', box: 'name', name: 'name' };

function sortText(r: ProblemRow, sort: SortChoice): string {
  if (r.kind === 'box') {
    const b = r.box;
    return sort === 'location' ? (b.location ?? '') : sort === 'type' ? '' : (b.name ?? b.dev_sno);
  }
  const s = r.sub;
  if (sort === 'location') return s.location_name ?? s.location_id;
  if (sort === 'type') return s.ep_type;
  if (sort === 'box') return s.box_name ?? s.dev_sno;
  return s.ep_name || s.ep_ip;
}

type AlertView = NonNullable<Box['alert']>;

/** A row's alert state after one live change (the row's subject is `subject`). */
export function applyAlertChange(alert: AlertView | null, subject: string, c: AlertStateChange): AlertView | null {
  const base: AlertView = alert ?? { subject, acknowledged: null, silenced: null };
  switch (c.kind) {
    case 'ack':
      return c.subjects.includes(subject) ? { ...base, acknowledged: c.acknowledged } : alert;
    case 'silence':
      return c.subjects.includes(subject) ? { ...base, silenced: { silence_id: c.silence_id, until: c.until } } : alert;
    case 'silence_ended':
      return alert?.silenced?.silence_id === c.silence_id ? { ...alert, silenced: null } : alert;
  }
}

export function compareRows(a: ProblemRow, b: ProblemRow, sort: SortChoice): number {
  if (sort !== 'down_since') {
    const c = sortText(a, sort).localeCompare(sortText(b, sort));
    if (c !== 0) return c;
  }
  // Longest down first (the earliest "since"), then boxes before their cameras.
  return a.since.localeCompare(b.since) || (a.kind === b.kind ? a.key.localeCompare(b.key) : a.kind === 'box' ? -1 : 1);
}

function paramsOf(f: ProblemFilters): URLSearchParams {
  const p = new URLSearchParams();
  if (f.status !== 'problems') p.set('status', f.status);
  if (f.sort !== 'down_since') p.set('sort', f.sort);
  for (const k of ['type', 'location', 'q'] as const) if (f[k]) p.set(k, f[k]);
  if (f.hideHandled) p.set('handled', 'hide');
  return p;
}

export function filtersOf(params: URLSearchParams): ProblemFilters {
  const pick = <T extends string>(v: string | null, all: readonly T[], dflt: T): T => ((all as readonly string[]).includes(v ?? '') ? (v as T) : dflt);
  return {
    status: pick(params.get('status'), STATUSES, 'problems'),
    sort: pick(params.get('sort'), SORTS, 'down_since'),
    type: params.get('type') ?? '',
    location: params.get('location') ?? '',
    q: params.get('q') ?? '',
    hideHandled: params.get('handled') === 'hide',
  };
}

/** Hidden by the server before it pages (so a page is never short); see compose() for the rest. */
const handledParam = (f: ProblemFilters): 'hide' | undefined => (f.hideHandled ? 'hide' : undefined);

export class ProblemsStore {
  readonly filters = signal<ProblemFilters>(filtersOf(new URLSearchParams()));
  readonly rows = signal<ProblemRow[] | null>(null);
  readonly hasMore = signal(false);
  readonly busy = signal(false);
  readonly summary = signal<Summary | null>(null);
  private subs: SubDeviceRow[] = [];
  private subsCursor: string | null = null;
  private boxes: Box[] = [];
  private boxesTotal = 0;
  private readonly liveRefresh = throttled(() => this.reload(), REFRESH_MS, handleError);
  private readonly unlisten: () => void;
  private readonly poll: number;
  /** Alert state changes pushed live lately, oldest first: applied again over each fetch. */
  private liveChanges: { at: number; change: AlertStateChange }[] = [];

  constructor(params: URLSearchParams) {
    this.filters.value = filtersOf(params);
    this.unlisten = listen({ transitions: () => this.liveRefresh.run(), alertState: (changes) => this.onAlertState(changes) });
    this.poll = window.setInterval(() => {
      if (document.visibilityState === 'visible') this.liveRefresh.run();
    }, ALERT_STATE_REFRESH_MS);
  }

  setFilters(change: Partial<ProblemFilters>): void {
    this.filters.value = { ...this.filters.value, ...change };
    replaceParams('problems', paramsOf(this.filters.value));
    this.subs = [];
    this.boxes = [];
    this.rows.value = null;
    void this.reload().catch(handleError);
  }

  /** Boxes are listed when the view is about problems and no camera-only filter is on. */
  private withBoxes(): boolean {
    const f = this.filters.value;
    return f.status === 'problems' && !f.type;
  }

  /** Fetches again as many rows as are shown (first show, live change, reconnect). */
  async reload(): Promise<void> {
    const f = this.filters.value;
    const limit = Math.min(MAX_RELOAD, Math.max(PROBLEM_PAGE, this.subs.length));
    const boxLimit = Math.min(MAX_RELOAD, Math.max(PROBLEM_PAGE, this.boxes.length));
    const [summary, subs, boxes] = await Promise.all([
      api.summary(),
      consoleApi.subDevices({ ...this.subQuery(f), limit }),
      this.withBoxes()
        ? consoleApi.offlineBoxes({ ...this.boxQuery(f), limit: boxLimit, offset: 0 })
        : Promise.resolve({ total: 0, boxes: [] as Box[] }),
    ]);
    this.summary.value = summary;
    if (this.filters.value !== f) return; // the filters changed meanwhile
    this.subs = subs.rows;
    this.subsCursor = subs.next_cursor;
    this.boxes = boxes.boxes;
    this.boxesTotal = boxes.total;
    loadError.value = null;
    this.compose();
  }

  async more(): Promise<void> {
    const f = this.filters.value;
    this.busy.value = true;
    try {
      const [subs, boxes] = await Promise.all([
        this.subsCursor ? consoleApi.subDevices({ ...this.subQuery(f), cursor: this.subsCursor, limit: PROBLEM_PAGE }) : null,
        this.withBoxes() && this.boxes.length < this.boxesTotal
          ? consoleApi.offlineBoxes({ ...this.boxQuery(f), limit: PROBLEM_PAGE, offset: this.boxes.length })
          : null,
      ]);
      if (this.filters.value !== f) return;
      if (subs) {
        this.subs = [...this.subs, ...subs.rows];
        this.subsCursor = subs.next_cursor;
      }
      if (boxes) this.boxes = [...this.boxes, ...boxes.boxes];
      this.compose();
    } finally {
      this.busy.value = false;
    }
  }

  private subQuery(f: ProblemFilters) {
    // Cameras of offline boxes are listed through their box under "problems".
    const status = f.status === 'problems' ? 'offline' : f.status === 'all' ? undefined : f.status;
    return { status, sort: f.sort, type: f.type || undefined, location: f.location || undefined, q: f.q || undefined, handled: handledParam(f) };
  }

  private boxQuery(f: ProblemFilters) {
    return { sort: BOX_SORT[f.sort], q: f.q || undefined, location: f.location || undefined, handled: handledParam(f) };
  }

  /**
   * Someone acknowledged or silenced (or undid it): the shown rows change at once. A refetch
   * follows (rows "hide acknowledged and silenced" had left out may be back), and the change is
   * laid over what it answers for a while.
   */
  private onAlertState(changes: AlertStateChange[]): void {
    const now = Date.now();
    this.liveChanges = [...this.liveChanges.filter((c) => now - c.at < LIVE_CHANGE_KEEP_MS), ...changes.map((change) => ({ at: now, change }))];
    this.compose();
    this.liveRefresh.run();
  }

  /** The loaded rows with the recent live changes laid over them. */
  private applyLiveChanges(): void {
    const now = Date.now();
    this.liveChanges = this.liveChanges.filter((c) => now - c.at < LIVE_CHANGE_KEEP_MS);
    if (this.liveChanges.length === 0) return;
    const over = <T extends { alert?: Box['alert'] }>(row: T, subject: string): T => {
      let alert = row.alert ?? null;
      for (const { change } of this.liveChanges) alert = applyAlertChange(alert, subject, change);
      return alert === (row.alert ?? null) ? row : { ...row, alert };
    };
    this.boxes = this.boxes.map((b) => over(b, `box:${b.dev_sno}`));
    this.subs = this.subs.map((s) => over(s, `sub:${s.ep_id}`));
  }

  /** One ordered list; rows past what both sources have loaded wait for "more". */
  private compose(): void {
    this.applyLiveChanges();
    const sort = this.filters.value.sort;
    const rows: ProblemRow[] = [
      ...this.boxes.map((box): ProblemRow => ({ kind: 'box', key: `box:${box.dev_sno}`, box, since: box.status_changed_at })),
      ...this.subs.map((sub): ProblemRow => ({ kind: 'sub', key: `sub:${sub.ep_id}`, sub, since: sub.since })),
    ].sort((a, b) => compareRows(a, b, sort));
    const cutoffs: ProblemRow[] = [];
    const lastSub = this.subs[this.subs.length - 1];
    if (this.subsCursor && lastSub) cutoffs.push({ kind: 'sub', key: `sub:${lastSub.ep_id}`, sub: lastSub, since: lastSub.since });
    const lastBox = this.boxes[this.boxes.length - 1];
    if (this.boxes.length < this.boxesTotal && lastBox) cutoffs.push({ kind: 'box', key: `box:${lastBox.dev_sno}`, box: lastBox, since: lastBox.status_changed_at });
    const handled = (r: ProblemRow) => {
      const a = r.kind === 'box' ? r.box.alert : r.sub.alert;
      return Boolean(a && (a.acknowledged || a.silenced));
    };
    // The server left out what was handled when it answered; a row acknowledged or silenced since
    // (live) goes at once too, not at the next fetch.
    const hide = this.filters.value.hideHandled;
    this.rows.value = rows.filter((r) => cutoffs.every((c) => compareRows(r, c, sort) <= 0) && !(hide && handled(r)));
    this.hasMore.value = cutoffs.length > 0;
  }

  dispose(): void {
    this.unlisten();
    window.clearInterval(this.poll);
    this.liveRefresh.cancel();
  }
}
