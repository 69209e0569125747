// What the PostgreSQL store answers about boxes, sub-devices and their history.
import type pg from 'pg';
import { boxFromRow, historyFromRow, subFromRow, summaryFromCounts, type BoxRow, type HistoryRow, type SubRow } from '../rows.js';
import { clampLimit } from '../types.js';
import type * as api from '../types.js';

export async function listBoxes(pool: pg.Pool, query: api.ListBoxesQuery): Promise<{ total: number; boxes: api.BoxState[] }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (query.status) {
    params.push(query.status);
    where.push(`b.status = $${params.length}`);
  }
  if (query.q) {
    params.push(query.q);
    // COLLATE "C": lower() folds ASCII only, as SQLite's does.
    const q = `lower($${params.length}::text COLLATE "C")`;
    where.push(`(strpos(lower(b.dev_sno), ${q}) > 0 OR strpos(lower(COALESCE(r.name, '') COLLATE "C"), ${q}) > 0)`);
  }
  const from = 'FROM boxes b LEFT JOIN registry r ON r.dev_sno = b.dev_sno';
  const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = await pool.query<{ n: string }>(`SELECT COUNT(*) AS n ${from} ${whereSql}`, params);
  const rows = await pool.query<BoxRow>(
    `SELECT b.*, r.name, r.location ${from} ${whereSql} ORDER BY b.dev_sno LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, clampLimit(query.limit), Math.max(0, Math.floor(query.offset ?? 0))],
  );
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
  const params: unknown[] = [devSno];
  const where = ['dev_sno = $1'];
  if (query.ep_id !== undefined) {
    params.push(query.ep_id);
    where.push(`ep_id = $${params.length}`);
  }
  if (query.before !== undefined) {
    params.push(query.before);
    where.push(`id < $${params.length}`);
  }
  params.push(clampLimit(query.limit));
  const { rows } = await pool.query<HistoryRow>(
    `SELECT * FROM history WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(historyFromRow);
}

export async function fleetHistory(pool: pg.Pool, query: api.FleetHistoryQuery): Promise<api.HistoryEntry[]> {
  const params: unknown[] = [clampLimit(query.limit)];
  let where = '';
  if (query.before !== undefined) {
    params.push(query.before);
    where = 'WHERE id < $2';
  }
  const { rows } = await pool.query<HistoryRow>(`SELECT * FROM history ${where} ORDER BY id DESC LIMIT $1`, params);
  return rows.map(historyFromRow);
}

export async function summary(pool: pg.Pool): Promise<api.FleetSummary> {
  const { rows } = await pool.query<Record<'total' | 'online' | 'sub_online' | 'sub_offline' | 'sub_unknown', string>>(
    `SELECT COUNT(*) AS total,
            COUNT(*) FILTER (WHERE status = 'online') AS online,
            COALESCE(SUM(sub_online) FILTER (WHERE status = 'online'), 0) AS sub_online,
            COALESCE(SUM(sub_offline) FILTER (WHERE status = 'online'), 0) AS sub_offline,
            COALESCE(SUM(sub_online + sub_offline) FILTER (WHERE status <> 'online'), 0) AS sub_unknown
     FROM boxes`,
  );
  return summaryFromCounts(rows[0]!);
}
