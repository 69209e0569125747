// The SQL of the operator console's reads, written once for both stores: the fleet-wide
// sub-device list (filters, sorts, keyset paging), the box list (filters, sorts), history by
// time range and the status changes availability needs. Each store runs the text with its own
// driver; the dialect supplies placeholders, bytewise sorting, search and JSON access.
import { EP_TYPES } from '../protocol/schema.js';
import { withoutUserInfo } from '../protocol/redact.js';
import { encodeCursor, SORT_KEYS } from './paging.js';
import { DEVSTATUS_KEY } from './platform-fields.js';
import { iso } from './rows.js';
import type * as api from './types.js';

export interface SqlDialect {
  /** The placeholder of the n-th parameter (1-based): `?` or `$n`. */
  placeholder(n: number): string;
  /** The expression compared and ordered bytewise (SQLite's default; COLLATE "C" in PostgreSQL). */
  bytewise(expr: string): string;
  /** true when `hay` contains the parameter `needle` (a value made by containsValue), ignoring ASCII case. */
  contains(hay: string, needle: string): string;
  /** The parameter value `contains` compares with, for the text searched for. */
  containsValue(text: string): string;
  /** The text at `path` inside the JSON column `col`, null when absent. */
  jsonText(col: string, path: string[]): string;
  /** true when `expr` is none of the texts in the parameter `list` (a value made by listValue). */
  notIn(expr: string, list: string): string;
  /** The one parameter value a list of texts of any length goes in as. */
  listValue(values: readonly string[]): unknown;
}

/** Parameters in the order their placeholders appear in the text. */
export class Params {
  readonly values: unknown[] = [];
  constructor(private readonly d: SqlDialect) {}
  add(value: unknown): string {
    this.values.push(value);
    return this.d.placeholder(this.values.length);
  }
  list(values: readonly unknown[]): string {
    return values.map((v) => this.add(v)).join(', ');
  }
}

export interface Statement {
  sql: string;
  params: unknown[];
}

// ---- fleet-wide sub-devices

const SHOWN = `CASE WHEN s.ep_status = 'removed' THEN 'removed' WHEN b.status <> 'online' THEN 'unknown' ELSE s.ep_status END`;
const SINCE = `CASE WHEN s.ep_status <> 'removed' AND b.status <> 'online' THEN b.status_changed_at ELSE s.status_changed_at END`;
/** 0 for what is down (offline or unknown), 1 otherwise: down_since lists problems first. */
const DOWN_RANK = `CASE WHEN s.ep_status = 'removed' THEN 1 WHEN b.status <> 'online' OR s.ep_status = 'offline' THEN 0 ELSE 1 END`;

// Equalities only (a box is online or offline), so the planner can start from an index.
const STATUS_WHERE: Record<api.SubDevicePresence, string> = {
  online: `(s.ep_status = 'online' AND b.status = 'online')`,
  offline: `(s.ep_status = 'offline' AND b.status = 'online')`,
  unknown: `(s.ep_status IN ('online', 'offline') AND b.status = 'offline')`,
  removed: `(s.ep_status = 'removed')`,
};

const SUB_FROM = `FROM sub_devices s JOIN boxes b ON b.dev_sno = s.dev_sno
  LEFT JOIN registry r ON r.dev_sno = s.dev_sno
  LEFT JOIN locations l ON l.id = s.ep_location`;

function sortKeys(d: SqlDialect, sort: api.SubDeviceSort): string[] {
  const tail = ['s.dev_sno', 's.ep_id'];
  switch (sort) {
    case 'box':
      return tail;
    case 'name':
      return [d.bytewise('s.ep_name'), ...tail];
    case 'type':
      return [d.bytewise('s.ep_type'), ...tail];
    case 'location':
      return [d.bytewise('COALESCE(l.name, s.ep_location)'), ...tail];
    case 'down_since':
      return [DOWN_RANK, SINCE, ...tail];
  }
}

function subFilters(d: SqlDialect, q: api.SubDeviceQuery, p: Params): string[] {
  const where: string[] = [];
  if (q.status?.length) where.push(`(${[...new Set(q.status)].map((s) => STATUS_WHERE[s]).join(' OR ')})`);
  if (q.type?.length) where.push(`s.ep_type IN (${p.list(q.type)})`);
  if (q.location?.length) where.push(`s.ep_location IN (${p.list(q.location)})`);
  if (q.dev_sno !== undefined) where.push(`s.dev_sno = ${p.add(q.dev_sno)}`);
  if (q.exclude_ep_ids?.length) where.push(d.notIn('s.ep_id', p.add(d.listValue(q.exclude_ep_ids))));
  if (q.q) {
    const needle = d.containsValue(q.q);
    const own = ['s.ep_name', 's.ep_id', 's.ep_ip'].map((h) => d.contains(h, p.add(needle)));
    // Boxes by name: looked up once in the registry, not joined for every sub-device.
    const boxes = `s.dev_sno IN (SELECT rq.dev_sno FROM registry rq WHERE ${d.contains('rq.name', p.add(needle))})`;
    where.push(`(${[...own, boxes].join(' OR ')})`);
  }
  return where;
}

const whereSql = (where: string[]) => (where.length ? `WHERE ${where.join(' AND ')}` : '');

export function subDeviceCount(d: SqlDialect, q: api.SubDeviceQuery): Statement {
  const p = new Params(d);
  const where = subFilters(d, q, p);
  return { sql: `SELECT COUNT(*) AS n ${SUB_FROM} ${whereSql(where)}`, params: p.values };
}

const SUB_COLUMNS = `s.dev_sno, s.ep_id, s.ep_ip, s.ep_status, s.ep_location, s.ep_type, s.ep_name, s.extra,
      s.last_seen_at, s.status_changed_at AS sub_changed_at, b.status AS box_status, b.last_report_at AS box_last_report_at,
      r.name AS box_name, r.location AS box_location, l.name AS location_name`;

/**
 * The reason of each row's current status, looked up for the page's rows only. A sub-device's
 * status changed when its latest transition was recorded, at its status_changed_at: that row is
 * found by time (index history_at) among the few recorded in that millisecond. There is no index
 * on (dev_sno, ep_id) in history: it was a third of what a status storm wrote to disk (see
 * docs/benchmarks-ingest.md). The `|| ''` keeps the planner off history_box, which would scan
 * the box's history back to that row (12 ms for a camera down for weeks beside a flapping one).
 * An offline box's latest box-level transition is its newest row of all (no report since).
 */
function withReason(inner: string, keyCount: number): string {
  const order = Array.from({ length: keyCount }, (_, i) => `pp.k${i}`).join(', ');
  return `SELECT pp.*,
      CASE WHEN pp.shown = 'unknown'
        THEN (SELECT h.reason FROM history h WHERE h.dev_sno = pp.dev_sno AND h.ep_id IS NULL ORDER BY h.id DESC LIMIT 1)
        ELSE (SELECT h.reason FROM history h
              WHERE h.at = pp.sub_changed_at AND h.dev_sno || '' = pp.dev_sno AND h.ep_id || '' = pp.ep_id
              ORDER BY h.id DESC LIMIT 1)
      END AS reason
    FROM (${inner}) pp ORDER BY ${order}`;
}

/** One page (limit + 1 rows: the extra one tells whether there is a next page). */
export function subDevicePage(d: SqlDialect, q: api.SubDeviceQuery, limit: number): Statement {
  const sort = q.sort ?? 'box';
  if (sort === 'down_since') return downSincePage(d, q, limit);
  if (sort === 'type') return typePage(d, q, limit);
  const p = new Params(d);
  const keys = sortKeys(d, sort);
  const where = subFilters(d, q, p);
  if (q.after) where.push(`(${keys.join(', ')}) > (${p.list(q.after)})`);
  const keyCols = keys.map((k, i) => `${k} AS k${i}`).join(', ');
  const inner = `SELECT ${SUB_COLUMNS}, ${SHOWN} AS shown, ${SINCE} AS since, ${keyCols}
    ${SUB_FROM} ${whereSql(where)}
    ORDER BY ${keys.map((_, i) => `k${i}`).join(', ')} LIMIT ${p.add(limit + 1)}`;
  return { sql: withReason(inner, keys.length), params: p.values };
}

/**
 * Longest down first, as one branch per status: within a status, `since` and the down rank are
 * plain columns (sub_devices_status_since, boxes_status_since), so each branch reads its first
 * rows in index order and stops; only those few rows are merged and sorted.
 */
const BRANCHES: Array<{ status: api.SubDevicePresence; rank: number; since: string }> = [
  { status: 'offline', rank: 0, since: 's.status_changed_at' },
  { status: 'unknown', rank: 0, since: 'b.status_changed_at' },
  { status: 'online', rank: 1, since: 's.status_changed_at' },
  { status: 'removed', rank: 1, since: 's.status_changed_at' },
];

function downSincePage(d: SqlDialect, q: api.SubDeviceQuery, limit: number): Statement {
  const p = new Params(d);
  const wanted = new Set(q.status?.length ? q.status : BRANCHES.map((b) => b.status));
  const [afterRank, ...afterKeys] = q.after ?? [];
  const branches: string[] = [];
  for (const br of BRANCHES) {
    if (!wanted.has(br.status)) continue;
    if (afterRank !== undefined && br.rank < Number(afterRank)) continue; // wholly before the cursor
    const where = [STATUS_WHERE[br.status], ...subFilters(d, { ...q, status: undefined }, p)];
    if (afterRank !== undefined && br.rank === Number(afterRank)) where.push(`(${br.since}, s.dev_sno, s.ep_id) > (${p.list(afterKeys)})`);
    branches.push(`SELECT * FROM (SELECT ${SUB_COLUMNS}, '${br.status}' AS shown, ${br.since} AS since,
        ${br.rank} AS k0, ${br.since} AS k1, s.dev_sno AS k2, s.ep_id AS k3
      ${SUB_FROM} WHERE ${where.join(' AND ')}
      ORDER BY k1, k2, k3 LIMIT ${p.add(limit + 1)}) b${branches.length}`);
  }
  if (branches.length === 0) branches.push(`SELECT ${SUB_COLUMNS}, 'online' AS shown, 0 AS since, 0 AS k0, 0 AS k1, '' AS k2, '' AS k3 ${SUB_FROM} WHERE 1 = 0`);
  const inner = `SELECT * FROM (${branches.join(' UNION ALL ')}) u ORDER BY k0, k1, k2, k3 LIMIT ${p.add(limit + 1)}`;
  return { sql: withReason(inner, 4), params: p.values };
}

/**
 * By type, as one branch per type (there are four): each reads its first rows in primary-key
 * order and stops, instead of sorting the fleet.
 */
function typePage(d: SqlDialect, q: api.SubDeviceQuery, limit: number): Statement {
  const p = new Params(d);
  const types = [...(q.type?.length ? new Set(q.type) : EP_TYPES)].sort();
  const [afterType, ...afterKeys] = q.after ?? [];
  const branches: string[] = [];
  for (const type of types) {
    if (afterType !== undefined && type < String(afterType)) continue; // wholly before the cursor
    const where = [`s.ep_type = ${p.add(type)}`, ...subFilters(d, { ...q, type: undefined }, p)];
    if (afterType !== undefined && type === afterType) where.push(`(s.dev_sno, s.ep_id) > (${p.list(afterKeys)})`);
    branches.push(`SELECT * FROM (SELECT ${SUB_COLUMNS}, ${SHOWN} AS shown, ${SINCE} AS since,
        ${d.bytewise('s.ep_type')} AS k0, s.dev_sno AS k1, s.ep_id AS k2
      ${SUB_FROM} WHERE ${where.join(' AND ')}
      ORDER BY k1, k2 LIMIT ${p.add(limit + 1)}) t${branches.length}`);
  }
  if (branches.length === 0) branches.push(`SELECT ${SUB_COLUMNS}, 'online' AS shown, 0 AS since, '' AS k0, '' AS k1, '' AS k2 ${SUB_FROM} WHERE 1 = 0`);
  const inner = `SELECT * FROM (${branches.join(' UNION ALL ')}) u ORDER BY k0, k1, k2 LIMIT ${p.add(limit + 1)}`;
  return { sql: withReason(inner, 3), params: p.values };
}

/** Whether only the status filter is set: then the total comes from the fleet's counters. */
export function statusOnly(q: api.SubDeviceQuery): boolean {
  return !q.type?.length && !q.location?.length && q.dev_sno === undefined && !q.q && !q.exclude_ep_ids?.length;
}

/** The total of a status-only query, from the summary's counts (which count the same rows). */
export function totalFromSummary(s: api.FleetSummary, q: api.SubDeviceQuery): number {
  const statuses = new Set(q.status?.length ? q.status : (['online', 'offline', 'unknown', 'removed'] as const));
  return [...statuses].reduce((n, st) => n + s.sub_devices[st], 0);
}

export interface FleetSubRow {
  dev_sno: string;
  ep_id: string;
  ep_ip: string;
  ep_status: api.SubDeviceStatus;
  ep_location: string;
  ep_type: api.FleetSubDevice['ep_type'];
  ep_name: string;
  extra: string | Record<string, unknown>;
  last_seen_at: number | string;
  box_status: api.BoxStatus;
  box_last_report_at: number | string;
  box_name: string | null;
  box_location: string | null;
  location_name: string | null;
  shown: api.SubDevicePresence;
  since: number | string;
  reason: api.HistoryReason | null;
  [key: `k${number}`]: unknown;
}

/** The stream URL a sub-device's ep_id or ep_ip holds, without user name and password. */
export function streamUrl(devSno: string, epId: string, epIp: string): string | null {
  const prefix = `${devSno}__`;
  const address = epId.startsWith(prefix) ? epId.slice(prefix.length) : epId;
  const url = address.includes('://') ? address : epIp.includes('://') ? epIp : null;
  return url === null ? null : withoutUserInfo(url);
}

export function fleetSubFromRow(r: FleetSubRow): api.FleetSubDevice {
  const extra = typeof r.extra === 'string' ? (JSON.parse(r.extra) as Record<string, unknown>) : r.extra;
  const detail = extra.ep_detail;
  return {
    dev_sno: r.dev_sno,
    box_name: r.box_name,
    box_location: r.box_location,
    box_status: r.box_status,
    ep_id: r.ep_id,
    ep_name: r.ep_name,
    ep_type: r.ep_type,
    ep_ip: r.ep_ip,
    stream_url: streamUrl(r.dev_sno, r.ep_id, r.ep_ip),
    location_id: r.ep_location,
    location_name: r.location_name,
    status: r.shown,
    last_reported_status: r.ep_status,
    since: iso(Number(r.since)),
    reason: r.reason,
    detail: detail === undefined || detail === null ? null : typeof detail === 'string' ? detail : JSON.stringify(detail),
    // As in getBox: a sub-device still in its box's reports was seen in the latest one.
    last_seen_at: iso(Number(r.ep_status === 'removed' ? r.last_seen_at : r.box_last_report_at)),
  };
}

/** The page as the API answers it: rows, and the cursor after the last one if more follow. */
export function subDevicePageFromRows(rows: FleetSubRow[], q: api.SubDeviceQuery, limit: number, total: number | null): api.SubDevicePage {
  const sort = q.sort ?? 'box';
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  const types = SORT_KEYS[sort];
  const next =
    more && last ? encodeCursor(sort, [...types].map((t, i) => (t === 'n' ? Number(last[`k${i}`]) : String(last[`k${i}`])))) : null;
  return { total, sub_devices: page.map(fleetSubFromRow), next_cursor: next };
}

// ---- boxes

const BOX_FROM = `FROM boxes b LEFT JOIN registry r ON r.dev_sno = b.dev_sno`;
/** Only sorting by location needs the directory's names. */
const BOX_LOCATION_JOIN = `LEFT JOIN locations bl ON bl.id = r.location`;

/** A field of the box's latest health in its stored extra (see store/platform-fields.ts). */
const HEALTH_PATH = (field: string) => [`"${DEVSTATUS_KEY}"`, 'health', field];

function boxFilters(d: SqlDialect, q: api.ListBoxesQuery, p: Params): string[] {
  const where: string[] = [];
  if (q.status) where.push(`b.status = ${p.add(q.status)}`);
  if (q.exclude_dev_snos?.length) where.push(d.notIn('b.dev_sno', p.add(d.listValue(q.exclude_dev_snos))));
  if (q.q) {
    const needle = d.containsValue(q.q);
    where.push(`(${d.contains('b.dev_sno', p.add(needle))} OR ${d.contains("COALESCE(r.name, '')", p.add(needle))})`);
  }
  if (q.location !== undefined) {
    where.push(
      `(r.location = ${p.add(q.location)} OR EXISTS (SELECT 1 FROM sub_devices ls WHERE ls.dev_sno = b.dev_sno AND ls.ep_location = ${p.add(q.location)}))`,
    );
  }
  // The box's health rides in its extra under $devstatus (platform-fields.ts); rows stored
  // before the dialects were read kept an unknown gateway_ext_data as sent.
  if (q.version !== undefined) {
    const version = `COALESCE(${d.jsonText('b.extra', HEALTH_PATH('sw_version'))}, ${d.jsonText('b.extra', ['gateway_ext_data', 'sw_version'])})`;
    where.push(`${version} = ${p.add(q.version)}`);
  }
  // "double precision" is REAL to SQLite (its type name rules) and float8 to PostgreSQL.
  if (q.disk_min !== undefined) where.push(`CAST(${d.jsonText('b.extra', HEALTH_PATH('disk_pct'))} AS double precision) >= ${p.add(q.disk_min)}`);
  return where;
}

function boxSortKey(d: SqlDialect, sort: api.BoxSort): string | null {
  switch (sort) {
    case 'dev_sno':
      return null;
    case 'name':
      return d.bytewise("COALESCE(r.name, '')");
    case 'location':
      return d.bytewise("COALESCE(bl.name, r.location, '')");
    case 'status_since':
      return 'b.status_changed_at';
    case 'last_report':
      return 'b.last_report_at';
  }
}

export function boxCount(d: SqlDialect, q: api.ListBoxesQuery): Statement {
  const p = new Params(d);
  return { sql: `SELECT COUNT(*) AS n ${BOX_FROM} ${whereSql(boxFilters(d, q, p))}`, params: p.values };
}

export function boxPage(d: SqlDialect, q: api.ListBoxesQuery, limit: number, offset: number): Statement {
  const p = new Params(d);
  const where = whereSql(boxFilters(d, q, p));
  const dir = q.order === 'desc' ? 'DESC' : 'ASC';
  const key = boxSortKey(d, q.sort ?? 'dev_sno');
  const order = [...(key ? [`${key} ${dir}`] : []), `b.dev_sno ${dir}`].join(', ');
  const from = q.sort === 'location' ? `${BOX_FROM} ${BOX_LOCATION_JOIN}` : BOX_FROM;
  const sql = `SELECT b.*, r.name, r.location ${from} ${where} ORDER BY ${order} LIMIT ${p.add(limit)} OFFSET ${p.add(offset)}`;
  return { sql, params: p.values };
}

// ---- history

/** A box's history (newest first), or the fleet's when devSno is undefined. */
export function historyPage(d: SqlDialect, devSno: string | undefined, q: api.FleetHistoryQuery, limit: number): Statement {
  const p = new Params(d);
  const where: string[] = [];
  if (devSno !== undefined) where.push(`dev_sno = ${p.add(devSno)}`);
  if (q.ep_id !== undefined) where.push(`ep_id = ${p.add(q.ep_id)}`);
  if (q.before !== undefined) where.push(`id < ${p.add(q.before)}`);
  if (q.from !== undefined) where.push(`at >= ${p.add(q.from)}`);
  if (q.to !== undefined) where.push(`at < ${p.add(q.to)}`);
  return { sql: `SELECT * FROM history ${whereSql(where)} ORDER BY id DESC LIMIT ${p.add(limit)}`, params: p.values };
}

/** See Store.statusChanges. */
export function statusChanges(d: SqlDialect, devSno: string, from: number, to: number): Statement {
  const p = new Params(d);
  const sql = `SELECT id, at, ep_id, to_status FROM history
      WHERE id IN (SELECT MAX(id) FROM history WHERE dev_sno = ${p.add(devSno)} AND at < ${p.add(from)} GROUP BY ep_id)
    UNION ALL
    SELECT id, at, ep_id, to_status FROM history WHERE dev_sno = ${p.add(devSno)} AND at >= ${p.add(from)} AND at < ${p.add(to)}
    ORDER BY at, id`;
  return { sql, params: p.values };
}

export function statusChangeFromRow(r: { id: number | string; at: number | string; ep_id: string | null; to_status: string }): api.StatusChange {
  return { id: Number(r.id), at: Number(r.at), ep_id: r.ep_id, to_status: r.to_status };
}
