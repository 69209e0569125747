// What the SQLite store answers about boxes, sub-devices and their history. Callers wait for
// WalSync.settled() first: what is shown can no longer be lost.
import type Database from 'better-sqlite3';
import { boxFromRow, historyFromRow, subFromRow, summaryFromCounts, type BoxRow, type HistoryRow, type SubRow } from '../rows.js';
import * as sql from '../console-sql.js';
import { clampLimit } from '../types.js';
import type * as api from '../types.js';

/** SQLite's side of the shared SQL (../console-sql.ts): bytewise text and ASCII lower() are its defaults. */
const SQLITE: sql.SqlDialect = {
  placeholder: () => '?',
  bytewise: (expr) => expr,
  // LIKE ignores ASCII case only, as lower() does, and needs no copy of each value.
  contains: (hay, needle) => `${hay} LIKE ${needle} ESCAPE '\\'`,
  containsValue: (text) => `%${text.replace(/[\\%_]/g, '\\$&')}%`,
  jsonText: (col, path) => `CAST(json_extract(${col}, '$.${path.join('.')}') AS TEXT)`,
  // One JSON array parameter, whatever its length (no limit on host parameters to meet).
  notIn: (expr, list) => `${expr} NOT IN (SELECT value FROM json_each(${list}))`,
  listValue: (values) => JSON.stringify(values),
};

export function listBoxes(db: Database.Database, query: api.ListBoxesQuery): { total: number; boxes: api.BoxState[] } {
  const count = sql.boxCount(SQLITE, query);
  const total = (db.prepare(count.sql).get(...count.params) as { n: number }).n;
  const page = sql.boxPage(SQLITE, query, clampLimit(query.limit), Math.max(0, Math.floor(query.offset ?? 0)));
  const rows = db.prepare(page.sql).all(...page.params) as BoxRow[];
  return { total, boxes: rows.map(boxFromRow) };
}

export function getBox(db: Database.Database, devSno: string): { box: api.BoxState; sub_devices: api.SubDeviceState[] } | null {
  const box = db
    .prepare('SELECT b.*, r.name, r.location FROM boxes b LEFT JOIN registry r ON r.dev_sno = b.dev_sno WHERE b.dev_sno = ?')
    .get(devSno) as BoxRow | undefined;
  if (!box) return null;
  const subs = db.prepare('SELECT * FROM sub_devices WHERE dev_sno = ? ORDER BY ep_id').all(devSno) as SubRow[];
  // Rows are only rewritten when something in them changes, so the stored last_seen_at of a
  // sub-device still in the box's reports is stale: it was seen in the latest report.
  for (const sub of subs) if (sub.ep_status !== 'removed') sub.last_seen_at = box.last_report_at;
  return { box: boxFromRow(box), sub_devices: subs.map((r) => subFromRow(r, box.status)) };
}

export function history(db: Database.Database, devSno: string, query: api.HistoryQuery): api.HistoryEntry[] {
  const page = sql.historyPage(SQLITE, devSno, query, clampLimit(query.limit));
  return (db.prepare(page.sql).all(...page.params) as HistoryRow[]).map(historyFromRow);
}

export function fleetHistory(db: Database.Database, query: api.FleetHistoryQuery): api.HistoryEntry[] {
  const page = sql.historyPage(SQLITE, query.dev_sno, query, clampLimit(query.limit));
  return (db.prepare(page.sql).all(...page.params) as HistoryRow[]).map(historyFromRow);
}

export function listSubDevices(db: Database.Database, query: api.SubDeviceQuery): api.SubDevicePage {
  const count = sql.subDeviceCount(SQLITE, query);
  const total =
    query.after !== undefined
      ? null
      : sql.statusOnly(query)
        ? sql.totalFromSummary(summary(db), query)
        : (db.prepare(count.sql).get(...count.params) as { n: number }).n;
  const limit = clampLimit(query.limit);
  const page = sql.subDevicePage(SQLITE, query, limit);
  const rows = db.prepare(page.sql).all(...page.params) as sql.FleetSubRow[];
  return sql.subDevicePageFromRows(rows, query, limit, total);
}

export function statusChanges(db: Database.Database, devSno: string, from: number, to: number): api.StatusChange[] {
  const q = sql.statusChanges(SQLITE, devSno, from, to);
  return (db.prepare(q.sql).all(...q.params) as Parameters<typeof sql.statusChangeFromRow>[0][]).map(sql.statusChangeFromRow);
}

export function summary(db: Database.Database): api.FleetSummary {
  const r = db
    .prepare(
      `SELECT COUNT(*) AS total,
              COALESCE(SUM(CASE WHEN status = 'online' THEN 1 ELSE 0 END), 0) AS online,
              COALESCE(SUM(CASE WHEN status = 'online' THEN sub_online ELSE 0 END), 0) AS sub_online,
              COALESCE(SUM(CASE WHEN status = 'online' THEN sub_offline ELSE 0 END), 0) AS sub_offline,
              COALESCE(SUM(CASE WHEN status = 'online' THEN 0 ELSE sub_online + sub_offline END), 0) AS sub_unknown,
              (SELECT COUNT(*) FROM sub_devices WHERE ep_status = 'removed') AS sub_removed
       FROM boxes`,
    )
    .get() as { total: number; online: number; sub_online: number; sub_offline: number; sub_unknown: number; sub_removed: number };
  return summaryFromCounts(r);
}
