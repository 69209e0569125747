// The devstatus dashboard: fleet summary, box table, box page and status timeline, kept
// current by the receiver's live stream. Routes: / (fleet) and /boxes/<dev_sno> (one box).
import { api, Unauthorized, type Box, type HistoryEntry, type Summary, type SubDevice } from './api.js';
import { el, replace, type Child } from './dom.js';
import { absoluteTime, clockTime, REASONS, relativeTime } from './format.js';
import { LiveConnection, type LiveReport } from './live.js';
import './style.css';

const PAGE_SIZE = 50;
const TIMELINE_MAX = 200;
/** Least time between two refetches caused by live messages. */
const REFRESH_MS = 1000;

interface View {
  root: HTMLElement;
  onReports(reports: LiveReport[]): void;
  onTransitions(transitions: HistoryEntry[], dropped: number): void;
  /** Fetch everything again (first show, reconnect). */
  refresh(): Promise<void>;
  dispose(): void;
}

// ---------------------------------------------------------------- shared pieces

function statusPill(status: string): HTMLElement {
  return el('span', { class: `pill pill-${status === 'online' || status === 'offline' ? status : 'other'}` }, status);
}

function timeAgo(iso: string): HTMLElement {
  return el('time', { dateTime: iso, title: absoluteTime(iso), data: { at: iso } }, relativeTime(iso));
}

function boxHref(devSno: string): string {
  return `/boxes/${encodeURIComponent(devSno)}`;
}

function link(href: string, cls: string, ...children: Child[]): HTMLAnchorElement {
  return el('a', { href, class: cls, on: { click: (ev) => navigateFromClick(ev, href) } }, ...children);
}

/** Does something at most once per `ms`, the last call always honoured. */
function throttled(fn: () => Promise<void>, ms: number): { run(): void; cancel(): void } {
  let last = 0;
  let timer: number | null = null;
  let running = false;
  let again = false;
  const go = async () => {
    timer = null;
    if (running) {
      again = true;
      return;
    }
    running = true;
    last = Date.now();
    try {
      await fn();
    } catch (e) {
      handleError(e);
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (timer !== null) return;
    timer = window.setTimeout(go, Math.max(0, last + ms - Date.now()));
  };
  return {
    run: schedule,
    cancel: () => {
      if (timer !== null) window.clearTimeout(timer);
      timer = null;
    },
  };
}

/** The part of an ep_id after `<dev_sno>__`: the sub-device's ip or stream url. */
function shortEpId(entry: { dev_sno: string; ep_id: string | null }): string {
  if (entry.ep_id === null) return 'box';
  const prefix = `${entry.dev_sno}__`;
  return entry.ep_id.startsWith(prefix) ? entry.ep_id.slice(prefix.length) : entry.ep_id;
}

class Timeline {
  readonly root: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly empty: HTMLElement;

  constructor(
    title: string,
    private readonly opts: { showBox: boolean; subjectName?: (e: HistoryEntry) => string | undefined },
  ) {
    this.list = el('ol', { class: 'timeline-list', ariaLabel: title });
    this.empty = el('p', { class: 'muted' }, 'No status changes yet.');
    this.root = el('section', { class: 'panel timeline' }, el('h2', {}, title), this.empty, this.list);
  }

  set(entries: HistoryEntry[]): void {
    replace(this.list, ...entries.slice(0, TIMELINE_MAX).map((e) => this.item(e, false)));
    this.empty.hidden = entries.length > 0;
  }

  /** Newest first: `entries` is in the order they happened. */
  prepend(entries: HistoryEntry[]): void {
    for (const e of entries) this.list.prepend(this.item(e, true));
    while (this.list.children.length > TIMELINE_MAX) this.list.lastElementChild?.remove();
    this.empty.hidden = this.list.children.length > 0;
  }

  private item(e: HistoryEntry, fresh: boolean): HTMLElement {
    const name = this.opts.subjectName?.(e);
    const subject = shortEpId(e);
    return el(
      'li',
      { class: `timeline-item to-${e.to_status}${fresh ? ' fresh' : ''}`, data: { devSno: e.dev_sno } },
      el('time', { class: 'timeline-time', dateTime: e.at, title: absoluteTime(e.at) }, clockTime(e.at)),
      el(
        'div',
        { class: 'timeline-body' },
        this.opts.showBox ? link(boxHref(e.dev_sno), 'box-link', e.dev_sno) : null,
        el('span', { class: 'subject', title: e.ep_id ?? e.dev_sno }, name && !name.includes(subject) ? `${name} (${subject})` : name || subject),
        el(
          'span',
          { class: 'change' },
          e.from_status ? statusPill(e.from_status) : null,
          e.from_status ? el('span', { class: 'arrow' }, '→') : null,
          statusPill(e.to_status),
        ),
        el('span', { class: 'reason muted' }, REASONS[e.reason] ?? e.reason),
        el('span', { class: 'ago muted' }, timeAgo(e.at)),
      ),
    );
  }
}

// ---------------------------------------------------------------- fleet page

class FleetView implements View {
  readonly root: HTMLElement;
  private readonly cards: Record<'boxesOnline' | 'boxesOffline' | 'boxesTotal' | 'subsOnline' | 'subsOffline' | 'subsTotal', HTMLElement>;
  private readonly tbody: HTMLTableSectionElement;
  private readonly pagerText: HTMLElement;
  private readonly prevBtn: HTMLButtonElement;
  private readonly nextBtn: HTMLButtonElement;
  private readonly search: HTMLInputElement;
  private readonly statusButtons: HTMLButtonElement[];
  private readonly timeline = new Timeline('Recent status changes', { showBox: true });
  private rows = new Map<string, HTMLTableRowElement>();
  private flashNewRows = false;
  private page: number;
  private q: string;
  private status: '' | 'online' | 'offline';
  private searchTimer: number | null = null;
  private readonly liveRefresh = throttled(() => this.refreshData(), REFRESH_MS);
  private readonly timelineRefresh = throttled(() => this.refreshTimeline(), REFRESH_MS);

  constructor() {
    const params = new URLSearchParams(location.search);
    this.q = params.get('q') ?? '';
    const st = params.get('status');
    this.status = st === 'online' || st === 'offline' ? st : '';
    this.page = Math.max(0, Number(params.get('page') ?? '1') - 1) || 0;

    const card = (label: string, cls: string) => {
      const value = el('span', { class: 'card-value' }, '–');
      return { value, node: el('div', { class: `card ${cls}` }, value, el('span', { class: 'card-label' }, label)) };
    };
    const c = {
      boxesOnline: card('boxes online', 'ok'),
      boxesOffline: card('boxes offline', 'bad'),
      boxesTotal: card('boxes', ''),
      subsOnline: card('sub-devices online', 'ok'),
      subsOffline: card('sub-devices offline', 'bad'),
      subsTotal: card('sub-devices', ''),
    };
    this.cards = {
      boxesOnline: c.boxesOnline.value,
      boxesOffline: c.boxesOffline.value,
      boxesTotal: c.boxesTotal.value,
      subsOnline: c.subsOnline.value,
      subsOffline: c.subsOffline.value,
      subsTotal: c.subsTotal.value,
    };

    this.search = el('input', {
      type: 'search',
      placeholder: 'Search dev_sno…',
      value: this.q,
      ariaLabel: 'Search boxes by dev_sno',
      autocomplete: 'off',
      on: {
        input: () => {
          if (this.searchTimer !== null) window.clearTimeout(this.searchTimer);
          this.searchTimer = window.setTimeout(() => {
            this.q = this.search.value.trim();
            this.page = 0;
            this.syncUrl();
            void this.refreshData().catch(handleError);
          }, 250);
        },
      },
    });
    this.statusButtons = (['', 'online', 'offline'] as const).map((s) =>
      el(
        'button',
        {
          type: 'button',
          class: 'seg',
          data: { status: s },
          on: {
            click: () => {
              this.status = s;
              this.page = 0;
              this.syncUrl();
              this.markStatusButtons();
              void this.refreshData().catch(handleError);
            },
          },
        },
        s === '' ? 'All' : s === 'online' ? 'Online' : 'Offline',
      ),
    );
    this.markStatusButtons();
    this.prevBtn = el('button', { type: 'button', on: { click: () => this.goPage(this.page - 1) } }, '‹ Prev');
    this.nextBtn = el('button', { type: 'button', on: { click: () => this.goPage(this.page + 1) } }, 'Next ›');
    this.pagerText = el('span', { class: 'muted' });
    this.tbody = el('tbody');

    this.root = el(
      'main',
      { class: 'fleet' },
      el(
        'section',
        { class: 'summary', ariaLabel: 'Fleet summary' },
        el('div', { class: 'card-group' }, el('h2', {}, 'Boxes'), el('div', { class: 'cards' }, c.boxesOnline.node, c.boxesOffline.node, c.boxesTotal.node)),
        el('div', { class: 'card-group' }, el('h2', {}, 'Sub-devices'), el('div', { class: 'cards' }, c.subsOnline.node, c.subsOffline.node, c.subsTotal.node)),
      ),
      el(
        'div',
        { class: 'columns' },
        el(
          'section',
          { class: 'panel boxes' },
          el('div', { class: 'toolbar' }, this.search, el('div', { class: 'segmented', role: 'group', ariaLabel: 'Filter by status' }, ...this.statusButtons)),
          el(
            'table',
            { class: 'box-table' },
            el(
              'thead',
              {},
              el('tr', {}, el('th', {}, 'Status'), el('th', {}, 'dev_sno'), el('th', {}, 'Sub-devices'), el('th', {}, 'Last report'), el('th', {}, 'Status since'), el('th', { class: 'num' }, 'Reports')),
            ),
            this.tbody,
          ),
          el('div', { class: 'pager' }, this.prevBtn, this.pagerText, this.nextBtn),
        ),
        this.timeline.root,
      ),
    );
  }

  private markStatusButtons(): void {
    for (const b of this.statusButtons) b.classList.toggle('active', b.dataset.status === this.status);
  }

  private syncUrl(): void {
    const p = new URLSearchParams();
    if (this.q) p.set('q', this.q);
    if (this.status) p.set('status', this.status);
    if (this.page > 0) p.set('page', String(this.page + 1));
    const qs = p.toString();
    history.replaceState(null, '', qs ? `/?${qs}` : '/');
  }

  private goPage(page: number): void {
    this.page = Math.max(0, page);
    this.syncUrl();
    void this.refreshData().catch(handleError);
  }

  async refresh(): Promise<void> {
    await Promise.all([this.refreshData(), this.refreshTimeline()]);
  }

  private async refreshTimeline(): Promise<void> {
    this.timeline.set((await api.fleetHistory(100)).entries);
  }

  private async refreshData(): Promise<void> {
    const [summary, list] = await Promise.all([
      api.summary(),
      api.boxes({ q: this.q, status: this.status, limit: PAGE_SIZE, offset: this.page * PAGE_SIZE }),
    ]);
    if (list.boxes.length === 0 && list.total > 0 && this.page > 0) {
      // The page we were on emptied (boxes went offline, filter changed): go to the last one.
      this.page = Math.floor((list.total - 1) / PAGE_SIZE);
      this.syncUrl();
      return this.refreshData();
    }
    this.showSummary(summary);
    this.showBoxes(list.boxes, list.total);
  }

  private showSummary(s: Summary): void {
    this.cards.boxesOnline.textContent = String(s.boxes.online);
    this.cards.boxesOffline.textContent = String(s.boxes.offline);
    this.cards.boxesTotal.textContent = String(s.boxes.total);
    this.cards.subsOnline.textContent = String(s.sub_devices.online);
    this.cards.subsOffline.textContent = String(s.sub_devices.offline);
    this.cards.subsTotal.textContent = String(s.sub_devices.total);
    document.title = s.boxes.offline > 0 ? `(${s.boxes.offline} offline) devstatus` : 'devstatus — fleet status';
  }

  private showBoxes(boxes: Box[], total: number): void {
    const flashNew = this.flashNewRows && this.rows.size > 0;
    this.flashNewRows = false;
    const sameRows =
      boxes.length > 0 && boxes.length === this.tbody.children.length && boxes.every((b, i) => this.tbody.children[i] === this.rows.get(b.dev_sno));
    if (sameRows) {
      // Update in place: no flicker, and running highlight animations keep going.
      for (const b of boxes) this.fillRow(this.rows.get(b.dev_sno)!, b);
    } else if (boxes.length === 0) {
      this.rows.clear();
      const msg = this.q || this.status ? 'No box matches.' : 'No box has reported yet. Point the boxes at this server’s report URL.';
      const td = el('td', { class: 'empty muted' }, msg);
      td.colSpan = 6;
      replace(this.tbody, el('tr', {}, td));
    } else {
      const before = this.rows;
      this.rows = new Map();
      replace(
        this.tbody,
        ...boxes.map((b) => {
          const tr = this.fillRow(el('tr', { class: 'box-row', data: { devSno: b.dev_sno } }), b);
          this.rows.set(b.dev_sno, tr);
          if (flashNew && !before.has(b.dev_sno)) flash(tr);
          return tr;
        }),
      );
    }
    const from = total === 0 ? 0 : this.page * PAGE_SIZE + 1;
    const to = this.page * PAGE_SIZE + boxes.length;
    this.pagerText.textContent = `${from}–${to} of ${total} ${total === 1 ? 'box' : 'boxes'}`;
    this.prevBtn.disabled = this.page === 0;
    this.nextBtn.disabled = to >= total;
  }

  private fillRow(tr: HTMLTableRowElement, b: Box): HTMLTableRowElement {
    tr.classList.toggle('status-online', b.status === 'online');
    tr.classList.toggle('status-offline', b.status === 'offline');
    tr.dataset.counts = `${b.sub_devices_online}/${b.sub_devices_offline}`;
    replace(
      tr,
      el('td', {}, statusPill(b.status)),
      el('td', { class: 'dev-sno' }, link(boxHref(b.dev_sno), 'box-link', b.dev_sno)),
      el('td', { class: 'subs' }, subCounts(b.sub_devices_online, b.sub_devices_offline)),
      el('td', { class: 'last-report' }, timeAgo(b.last_report_at)),
      el('td', {}, timeAgo(b.status_changed_at)),
      el('td', { class: 'num' }, String(b.report_count)),
    );
    return tr;
  }

  onReports(reports: LiveReport[]): void {
    for (const r of reports) {
      const tr = this.rows.get(r.dev_sno);
      if (!tr) continue;
      replace(tr.querySelector('td.last-report')!, timeAgo(r.at));
      // Highlight changes only: boxes report every few seconds, mostly with nothing new.
      const counts = `${r.online}/${r.offline}`;
      if (tr.dataset.counts !== counts) {
        tr.dataset.counts = counts;
        replace(tr.querySelector('td.subs')!, subCounts(r.online, r.offline));
        flash(tr);
      }
    }
    // New boxes, summary counts and ordering come with the (throttled) refetch.
    this.flashNewRows = true;
    this.liveRefresh.run();
  }

  onTransitions(transitions: HistoryEntry[], dropped: number): void {
    if (dropped > 0) this.timelineRefresh.run();
    else this.timeline.prepend(transitions);
    this.liveRefresh.run();
  }

  dispose(): void {
    this.liveRefresh.cancel();
    this.timelineRefresh.cancel();
    if (this.searchTimer !== null) window.clearTimeout(this.searchTimer);
  }
}

function subCounts(online: number, offline: number): HTMLElement {
  return el(
    'span',
    { class: 'counts' },
    el('span', { class: 'count-on', title: 'online' }, `${online} on`),
    el('span', { class: 'sep' }, ' / '),
    el('span', { class: offline > 0 ? 'count-off' : 'count-zero', title: 'offline' }, `${offline} off`),
  );
}

function flash(node: HTMLElement): void {
  node.classList.remove('flash');
  void node.offsetWidth; // restart the animation
  node.classList.add('flash');
}

// ---------------------------------------------------------------- box page

const STATUS_ORDER: Record<string, number> = { offline: 0, online: 1, removed: 2 };

class BoxView implements View {
  readonly root: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly facts: HTMLElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly subsTitle: HTMLElement;
  private names = new Map<string, string>();
  private readonly timeline: Timeline;
  private readonly liveRefresh = throttled(() => this.refreshBox(), REFRESH_MS);
  private readonly timelineRefresh = throttled(() => this.refreshTimeline(), REFRESH_MS);

  constructor(private readonly devSno: string) {
    this.heading = el('h1', { class: 'box-title' }, devSno);
    this.facts = el('div', { class: 'facts' });
    this.tbody = el('tbody');
    this.subsTitle = el('h2', {}, 'Sub-devices');
    this.timeline = new Timeline('Status history', {
      showBox: false,
      subjectName: (e) => (e.ep_id ? this.names.get(e.ep_id) || undefined : undefined),
    });
    this.root = el(
      'main',
      { class: 'box-page' },
      link('/', 'back', '← All boxes'),
      el('header', { class: 'box-header' }, this.heading, this.facts),
      el(
        'div',
        { class: 'columns' },
        el(
          'section',
          { class: 'panel' },
          this.subsTitle,
          el(
            'table',
            { class: 'sub-table' },
            el(
              'thead',
              {},
              el('tr', {}, el('th', {}, 'Status'), el('th', {}, 'Name'), el('th', {}, 'Type'), el('th', {}, 'IP / stream'), el('th', {}, 'Location'), el('th', {}, 'Last change'), el('th', {}, 'Last seen')),
            ),
            this.tbody,
          ),
        ),
        this.timeline.root,
      ),
    );
  }

  async refresh(): Promise<void> {
    await Promise.all([this.refreshBox(), this.refreshTimeline()]);
  }

  private async refreshTimeline(): Promise<void> {
    try {
      this.timeline.set((await api.boxHistory(this.devSno, 100)).entries);
    } catch (e) {
      if (!(e instanceof Error && /no box/.test(e.message))) throw e;
    }
  }

  private async refreshBox(): Promise<void> {
    let data: Awaited<ReturnType<typeof api.box>>;
    try {
      data = await api.box(this.devSno);
    } catch (e) {
      if (e instanceof Error && /no box/.test(e.message)) {
        replace(this.facts, el('span', { class: 'muted' }, 'No such box (it has not reported to this server).'));
        replace(this.tbody);
        return;
      }
      throw e;
    }
    const { box, sub_devices } = data;
    this.names = new Map(sub_devices.map((s) => [s.ep_id, s.ep_name]));
    document.title = `${box.dev_sno} — devstatus`;
    replace(
      this.facts,
      statusPill(box.status),
      fact('sub-devices', subCounts(box.sub_devices_online, box.sub_devices_offline)),
      fact('last report', timeAgo(box.last_report_at)),
      fact('status since', timeAgo(box.status_changed_at)),
      fact('first seen', timeAgo(box.first_seen_at)),
      fact('reports', String(box.report_count)),
    );
    const subs = [...sub_devices].sort((a, b) => (STATUS_ORDER[a.ep_status] ?? 3) - (STATUS_ORDER[b.ep_status] ?? 3) || a.ep_id.localeCompare(b.ep_id));
    this.subsTitle.textContent = `Sub-devices (${sub_devices.length})`;
    if (subs.length === 0) {
      const td = el('td', { class: 'empty muted' }, 'This box reports no sub-devices.');
      td.colSpan = 7;
      replace(this.tbody, el('tr', {}, td));
    } else replace(this.tbody, ...subs.map(subRow));
  }

  onReports(reports: LiveReport[]): void {
    if (reports.some((r) => r.dev_sno === this.devSno)) this.liveRefresh.run();
  }

  onTransitions(transitions: HistoryEntry[], dropped: number): void {
    const mine = transitions.filter((t) => t.dev_sno === this.devSno);
    if (dropped > 0) this.timelineRefresh.run();
    else if (mine.length) this.timeline.prepend(mine);
    if (mine.length || dropped > 0) this.liveRefresh.run();
  }

  dispose(): void {
    this.liveRefresh.cancel();
    this.timelineRefresh.cancel();
  }
}

function fact(label: string, value: Child): HTMLElement {
  return el('span', { class: 'fact' }, el('span', { class: 'fact-label' }, label), value);
}

function subRow(s: SubDevice): HTMLTableRowElement {
  return el(
    'tr',
    { class: `sub-row status-${s.ep_status}`, data: { epId: s.ep_id }, title: s.ep_id },
    el('td', {}, statusPill(s.ep_status)),
    el('td', { class: 'ep-name' }, s.ep_name || el('span', { class: 'muted' }, '(no name)')),
    el('td', {}, el('span', { class: 'type' }, s.ep_type)),
    el('td', { class: 'ep-ip mono' }, s.ep_ip || '—'),
    el('td', { class: 'ep-location mono' }, s.ep_location || '—'),
    el('td', {}, timeAgo(s.status_changed_at)),
    el('td', {}, timeAgo(s.last_seen_at)),
  );
}

// ---------------------------------------------------------------- login

function loginView(error?: string): HTMLElement {
  const input = el('input', { type: 'password', name: 'token', placeholder: 'Admin token', autocomplete: 'current-password', ariaLabel: 'Admin token' });
  const message = el('p', { class: 'error', role: 'alert' }, error ?? '');
  const button = el('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = el(
    'form',
    {
      class: 'login panel',
      on: {
        submit: (ev) => {
          ev.preventDefault();
          button.disabled = true;
          message.textContent = '';
          api
            .login(input.value.trim())
            .then((ok) => {
              if (ok) return start();
              message.textContent = 'Wrong token.';
              input.select();
            })
            .catch((e: unknown) => {
              message.textContent = e instanceof Error ? e.message : String(e);
            })
            .finally(() => {
              button.disabled = false;
            });
        },
      },
    },
    el('h1', {}, 'devstatus'),
    el('p', {}, 'Enter the admin token to see the fleet.'),
    input,
    button,
    message,
    el(
      'p',
      { class: 'hint muted' },
      'The receiver prints where its token is when it starts: by default the file ',
      el('code', {}, 'admin-token'),
      ' next to the database (',
      el('code', {}, 'cat data/admin-token'),
      '), or the value of ',
      el('code', {}, '--admin-token'),
      ' / ',
      el('code', {}, 'DEVSTATUS_ADMIN_TOKEN'),
      '.',
    ),
  );
  setTimeout(() => input.focus(), 0);
  return el('div', { class: 'login-wrap' }, form);
}

// ---------------------------------------------------------------- app shell

const appRoot = document.getElementById('app')!;
let view: View | null = null;
let live: LiveConnection | null = null;
const liveBadge = el('span', { class: 'live-badge connecting', role: 'status' }, 'Connecting…');
const errorBar = el('div', { class: 'error-bar', role: 'alert', hidden: true });

function shell(content: HTMLElement): HTMLElement {
  return el(
    'div',
    { class: 'shell' },
    el(
      'header',
      { class: 'topbar' },
      link('/', 'brand', el('span', { class: 'brand-mark' }, '◉'), ' devstatus'),
      el('span', { class: 'spacer' }),
      liveBadge,
      el(
        'button',
        {
          type: 'button',
          class: 'link-button',
          on: {
            click: () => {
              void api.logout().then(() => showLogin());
            },
          },
        },
        'Log out',
      ),
    ),
    errorBar,
    content,
  );
}

function handleError(e: unknown): void {
  if (e instanceof Unauthorized) {
    showLogin('Your login has expired; enter the token again.');
    return;
  }
  errorBar.textContent = `Could not load data: ${e instanceof Error ? e.message : String(e)}`;
  errorBar.hidden = false;
}

function setLiveState(state: 'live' | 'connecting' | 'down'): void {
  liveBadge.className = `live-badge ${state}`;
  liveBadge.textContent = state === 'live' ? 'Live' : state === 'connecting' ? 'Reconnecting…' : 'Disconnected';
}

function currentRoute(): { name: 'fleet' } | { name: 'box'; devSno: string } {
  const m = /^\/boxes\/([^/]+)\/?$/.exec(location.pathname);
  if (m) {
    try {
      return { name: 'box', devSno: decodeURIComponent(m[1]!) };
    } catch {
      /* malformed escape: show the fleet */
    }
  }
  return { name: 'fleet' };
}

function navigateFromClick(ev: MouseEvent, href: string): void {
  if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  if (location.pathname + location.search !== href) history.pushState(null, '', href);
  void render();
}

async function render(): Promise<void> {
  view?.dispose();
  const route = currentRoute();
  view = route.name === 'box' ? new BoxView(route.devSno) : new FleetView();
  errorBar.hidden = true;
  replace(appRoot, shell(view.root));
  window.scrollTo(0, 0);
  try {
    await view.refresh();
  } catch (e) {
    handleError(e);
  }
}

function showLogin(error?: string): void {
  live?.close();
  live = null;
  view?.dispose();
  view = null;
  document.title = 'Log in — devstatus';
  replace(appRoot, loginView(error));
}

async function start(): Promise<void> {
  try {
    await api.summary();
  } catch (e) {
    if (e instanceof Unauthorized) return showLogin();
    // Anything else: show the page anyway, with the error.
  }
  await render();
  live?.close();
  let first = true;
  live = new LiveConnection({
    reports: (r) => view?.onReports(r),
    transitions: (t, dropped) => view?.onTransitions(t, dropped),
    connected: () => {
      errorBar.hidden = true;
      // The first open follows the page's own fetch; later ones follow a gap.
      if (!first) void view?.refresh().catch(handleError);
      first = false;
    },
    state: setLiveState,
    refused: () => showLogin('Your login has expired; enter the token again.'),
  });
  live.open();
}

async function boot(): Promise<void> {
  // A login link (`/?token=...`, printed once by the receiver) logs in and then drops the token
  // from the address bar and history.
  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  if (token) {
    params.delete('token');
    const qs = params.toString();
    history.replaceState(null, '', `${location.pathname}${qs ? `?${qs}` : ''}`);
    try {
      if (!(await api.login(token))) return showLogin('The token in the link is not (or no longer) valid.');
    } catch (e) {
      return showLogin(e instanceof Error ? e.message : String(e));
    }
  }
  await start();
}

window.addEventListener('popstate', () => {
  if (view) void render();
});

// Relative times drift: refresh their text now and then.
window.setInterval(() => {
  const now = Date.now();
  for (const t of document.querySelectorAll<HTMLTimeElement>('time[data-at]')) {
    t.textContent = relativeTime(t.dataset.at!, now);
  }
}, 5000);

void boot();
