// The SQL of the operator console's reads, written once for both stores: the fleet-wide
// sub-device list (filters, sorts, keyset paging), the box list (filters, sorts), history by
// time range and the status changes availability needs. Each store runs the text with its own
// driver; the dialect supplies placeholders, bytewise sorting, search and JSON access.
import { encodeCursor, SORT_KEYS } from './paging.js';
import { iso } from './rows.js';
import type * as api from './types.js';

export interface SqlDialect {
  /** The placeholder of the n-th parameter (1-based): `?` or `$n`. */
  placeholder(n: number): string;
  /** The expression compared and ordered bytewise (SQLite's default; COLLATE "C" in PostgreSQL). */
  bytewise(expr: string): string;
  /** true when `hay` contains the parameter `needle`, ignoring ASCII case. */
  contains(hay: string, needle: string): string;
  /** The text at `path` inside the JSON column `col`, null when absent. */
  jsonText(col: string, path: string[]): string;
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

const STATUS_WHERE: Record<api.SubDevicePresence, string> = {
  online: `(s.ep_status = 'online' AND b.status = 'online')`,
  offline: `(s.ep_status = 'offline' AND b.status = 'online')`,
  unknown: `(s.ep_status <> 'removed' AND b.status <> 'online')`,
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
  if (q.q) {
    const hay = ['s.ep_name', 's.ep_id', 's.ep_ip', "COALESCE(r.name, '')", "COALESCE(l.name, '')"];
    where.push(`(${hay.map((h) => d.contains(h, p.add(q.q))).join(' OR ')})`);
  }
  return where;
}

const whereSql = (where: string[]) => (where.length ? `WHERE ${where.join(' AND ')}` : '');

export function subDeviceCount(d: SqlDialect, q: api.SubDeviceQuery): Statement {
  const p = new Params(d);
  const where = subFilters(d, q, p);
  return { sql: `SELECT COUNT(*) AS n ${SUB_FROM} ${whereSql(where)}`, params: p.values };
}

/** One page (limit + 1 rows: the extra one tells whether there is a next page). */
export function subDevicePage(d: SqlDialect, q: api.SubDeviceQuery, limit: number): Statement {
  const sort = q.sort ?? 'box';
  const p = new Params(d);
  const keys = sortKeys(d, sort);
  const where = subFilters(d, q, p);
  if (q.after) where.push(`(${keys.join(', ')}) > (${p.list(q.after)})`);
  const keyCols = keys.map((k, i) => `${k} AS k${i}`).join(', ');
  const inner = `SELECT s.dev_sno, s.ep_id, s.ep_ip, s.ep_status, s.ep_location, s.ep_type, s.ep_name, s.extra,
      s.last_seen_at, b.status AS box_status, b.last_report_at AS box_last_report_at,
      r.name AS box_name, r.location AS box_location, l.name AS location_name,
      ${SHOWN} AS shown, ${SINCE} AS since, ${keyCols}
    ${SUB_FROM} ${whereSql(where)}
    ORDER BY ${keys.map((_, i) => `k${i}`).join(', ')} LIMIT ${p.add(limit + 1)}`;
  // The reason is looked up for the page's rows only (index history_ep, newest entry first).
  const sql = `SELECT pp.*,
      CASE WHEN pp.shown = 'unknown'
        THEN (SELECT h.reason FROM history h WHERE h.dev_sno = pp.dev_sno AND h.ep_id IS NULL ORDER BY h.id DESC LIMIT 1)
        ELSE (SELECT h.reason FROM history h WHERE h.dev_sno = pp.dev_sno AND h.ep_id = pp.ep_id ORDER BY h.id DESC LIMIT 1)
      END AS reason
    FROM (${inner}) pp ORDER BY ${keys.map((_, i) => `pp.k${i}`).join(', ')}`;
  return { sql, params: p.values };
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
  return url === null ? null : url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, '$1');
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
export function subDevicePageFromRows(rows: FleetSubRow[], q: api.SubDeviceQuery, limit: number, total: number): api.SubDevicePage {
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

const BOX_FROM = `FROM boxes b LEFT JOIN registry r ON r.dev_sno = b.dev_sno LEFT JOIN locations bl ON bl.id = r.location`;

function boxFilters(d: SqlDialect, q: api.ListBoxesQuery, p: Params): string[] {
  const where: string[] = [];
  if (q.status) where.push(`b.status = ${p.add(q.status)}`);
  if (q.q) where.push(`(${d.contains('b.dev_sno', p.add(q.q))} OR ${d.contains("COALESCE(r.name, '')", p.add(q.q))})`);
  if (q.location !== undefined) {
    where.push(
      `(r.location = ${p.add(q.location)} OR EXISTS (SELECT 1 FROM sub_devices ls WHERE ls.dev_sno = b.dev_sno AND ls.ep_location = ${p.add(q.location)}))`,
    );
  }
  if (q.version !== undefined) where.push(`${d.jsonText('b.extra', ['gateway_ext_data', 'sw_version'])} = ${p.add(q.version)}`);
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
  const sql = `SELECT b.*, r.name, r.location ${BOX_FROM} ${where} ORDER BY ${order} LIMIT ${p.add(limit)} OFFSET ${p.add(offset)}`;
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
