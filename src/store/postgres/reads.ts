// What the PostgreSQL store answers about boxes, sub-devices and their history.
import type pg from 'pg';
import { boxFromRow, historyFromRow, subFromRow, summaryFromCounts, type BoxRow, type HistoryRow, type SubRow } from '../rows.js';
import * as sql from '../console-sql.js';
import { clampLimit } from '../types.js';
import type * as api from '../types.js';

/**
 * PostgreSQL's side of the shared SQL (../console-sql.ts). COLLATE "C": ordering is bytewise and
 * lower() folds ASCII only, exactly as in SQLite.
 */
const POSTGRES: sql.SqlDialect = {
  placeholder: (n) => `$${n}`,
  bytewise: (expr) => `(${expr}) COLLATE "C"`,
  contains: (hay, needle) => `strpos(lower((${hay}) COLLATE "C"), lower(${needle}::text COLLATE "C")) > 0`,
  containsValue: (text) => text,
  jsonText: (col, path) => `(${col} #>> '{${path.join(',')}}')`,
  // One text[] parameter, whatever its length.
  notIn: (expr, list) => `NOT (${expr} = ANY(${list}::text[]))`,
  listValue: (values) => [...values],
};

export async function listBoxes(pool: pg.Pool, query: api.ListBoxesQuery): Promise<{ total: number; boxes: api.BoxState[] }> {
  const count = sql.boxCount(POSTGRES, query);
  const page = sql.boxPage(POSTGRES, query, clampLimit(query.limit), Math.max(0, Math.floor(query.offset ?? 0)));
  const [total, rows] = await Promise.all([
    pool.query<{ n: string }>(count.sql, count.params),
    pool.query<BoxRow>(page.sql, page.params),
  ]);
  return { total: Number(total.rows[0]!.n), boxes: rows.rows.map(boxFromRow) };
}

export async function getBox(pool: pg.Pool, devSno: string): Promise<{ box: api.BoxState; sub_devices: api.SubDeviceState[] } | null> {
  const box = await pool.query<BoxRow>(
    'SELECT b.*, r.name, r.location FROM boxes b LEFT JOIN registry r ON r.dev_sno = b.dev_sno WHERE b.dev_sno = $1',
    [devSno],
  );
  const row = box.rows[0];
  if (!row) return null;
  const subs = await pool.query<SubRow>('SELECT * FROM sub_devices WHERE dev_sno = $1 ORDER BY ep_id', [devSno]);
  // Rows are only rewritten when something in them changes (ingest-write.ts), so the stored
  // last_seen_at of a sub-device still in the box's reports is stale: it was seen in the latest report.
  for (const sub of subs.rows) if (sub.ep_status !== 'removed') sub.last_seen_at = row.last_report_at;
  return { box: boxFromRow(row), sub_devices: subs.rows.map((r) => subFromRow(r, row.status)) };
}

export async function history(pool: pg.Pool, devSno: string, query: api.HistoryQuery): Promise<api.HistoryEntry[]> {
  const page = sql.historyPage(POSTGRES, devSno, query, clampLimit(query.limit));
  return (await pool.query<HistoryRow>(page.sql, page.params)).rows.map(historyFromRow);
}

export async function fleetHistory(pool: pg.Pool, query: api.FleetHistoryQuery): Promise<api.HistoryEntry[]> {
  const page = sql.historyPage(POSTGRES, query.dev_sno, query, clampLimit(query.limit));
  return (await pool.query<HistoryRow>(page.sql, page.params)).rows.map(historyFromRow);
}

export async function listSubDevices(pool: pg.Pool, query: api.SubDeviceQuery): Promise<api.SubDevicePage> {
  const limit = clampLimit(query.limit);
  const count = sql.subDeviceCount(POSTGRES, query);
  const page = sql.subDevicePage(POSTGRES, query, limit);
  const [total, rows] = await Promise.all([
    query.after !== undefined
      ? null
      : sql.statusOnly(query)
        ? summary(pool).then((s) => sql.totalFromSummary(s, query))
        : pool.query<{ n: string }>(count.sql, count.params).then((r) => Number(r.rows[0]!.n)),
    pool.query<sql.FleetSubRow>(page.sql, page.params),
  ]);
  return sql.subDevicePageFromRows(rows.rows, query, limit, total);
}

export async function statusChanges(pool: pg.Pool, devSno: string, from: number, to: number): Promise<api.StatusChange[]> {
  const q = sql.statusChanges(POSTGRES, devSno, from, to);
  return (await pool.query<Parameters<typeof sql.statusChangeFromRow>[0]>(q.sql, q.params)).rows.map(sql.statusChangeFromRow);
}

export async function summary(pool: pg.Pool): Promise<api.FleetSummary> {
  const { rows } = await pool.query<Record<'total' | 'online' | 'sub_online' | 'sub_offline' | 'sub_unknown' | 'sub_removed', string>>(
    `SELECT COUNT(*) AS total,
            COUNT(*) FILTER (WHERE status = 'online') AS online,
            COALESCE(SUM(sub_online) FILTER (WHERE status = 'online'), 0) AS sub_online,
            COALESCE(SUM(sub_offline) FILTER (WHERE status = 'online'), 0) AS sub_offline,
            COALESCE(SUM(sub_online + sub_offline) FILTER (WHERE status <> 'online'), 0) AS sub_unknown,
            (SELECT COUNT(*) FROM sub_devices WHERE ep_status = 'removed') AS sub_removed
     FROM boxes`,
  );
  return summaryFromCounts(rows[0]!);
}
