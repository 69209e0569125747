// What the SQLite store answers about boxes, sub-devices and their history. Callers wait for
// WalSync.settled() first: what is shown can no longer be lost.
import type Database from 'better-sqlite3';
import { boxFromRow, historyFromRow, subFromRow, summaryFromCounts, type BoxRow, type HistoryRow, type SubRow } from '../rows.js';
import { clampLimit } from '../types.js';
import type * as api from '../types.js';

export function listBoxes(db: Database.Database, query: api.ListBoxesQuery): { total: number; boxes: api.BoxState[] } {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (query.status) {
    where.push('b.status = @status');
    params.status = query.status;
  }
  if (query.q) {
    where.push("(instr(lower(b.dev_sno), lower(@q)) > 0 OR instr(lower(COALESCE(r.name, '')), lower(@q)) > 0)");
    params.q = query.q;
  }
  const from = 'FROM boxes b LEFT JOIN registry r ON r.dev_sno = b.dev_sno';
  const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = (db.prepare(`SELECT COUNT(*) AS n ${from} ${whereSql}`).get(params) as { n: number }).n;
  const rows = db
    .prepare(`SELECT b.*, r.name, r.location ${from} ${whereSql} ORDER BY b.dev_sno LIMIT @limit OFFSET @offset`)
    .all({ ...params, limit: clampLimit(query.limit), offset: Math.max(0, query.offset ?? 0) }) as BoxRow[];
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
  const where = ['dev_sno = @dev_sno'];
  const params: Record<string, unknown> = { dev_sno: devSno, limit: clampLimit(query.limit) };
  if (query.ep_id !== undefined) {
    where.push('ep_id = @ep_id');
    params.ep_id = query.ep_id;
  }
  if (query.before !== undefined) {
    where.push('id < @before');
    params.before = query.before;
  }
  const rows = db
    .prepare(`SELECT * FROM history WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`)
    .all(params) as HistoryRow[];
  return rows.map(historyFromRow);
}

export function fleetHistory(db: Database.Database, query: api.FleetHistoryQuery): api.HistoryEntry[] {
  const params: Record<string, unknown> = { limit: clampLimit(query.limit) };
  let where = '';
  if (query.before !== undefined) {
    where = 'WHERE id < @before';
    params.before = query.before;
  }
  const rows = db.prepare(`SELECT * FROM history ${where} ORDER BY id DESC LIMIT @limit`).all(params) as HistoryRow[];
  return rows.map(historyFromRow);
}

export function summary(db: Database.Database): api.FleetSummary {
  const r = db
    .prepare(
      `SELECT COUNT(*) AS total,
              COALESCE(SUM(CASE WHEN status = 'online' THEN 1 ELSE 0 END), 0) AS online,
              COALESCE(SUM(CASE WHEN status = 'online' THEN sub_online ELSE 0 END), 0) AS sub_online,
              COALESCE(SUM(CASE WHEN status = 'online' THEN sub_offline ELSE 0 END), 0) AS sub_offline,
              COALESCE(SUM(CASE WHEN status = 'online' THEN 0 ELSE sub_online + sub_offline END), 0) AS sub_unknown
       FROM boxes`,
    )
    .get() as { total: number; online: number; sub_online: number; sub_offline: number; sub_unknown: number };
  return summaryFromCounts(r);
}
