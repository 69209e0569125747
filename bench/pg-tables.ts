// What PostgreSQL did for a round, from its own counters (pg_stat_user_tables): sequential scans
// and the rows they read, index scans, inserts and updates per table. A sequential scan per
// report on a table that grows with the fleet is what makes ingest slow down as the fleet grows.
// The counters reach the view within about a second under load, so a round's figures are close,
// not exact.
import pg from 'pg';

export interface TableCounters {
  seq_scan: number;
  seq_tup_read: number;
  idx_scan: number;
  n_tup_ins: number;
  n_tup_upd: number;
  n_tup_hot_upd: number;
  n_live_tup: number;
  n_dead_tup: number;
}

export type TableStats = Map<string, TableCounters>;

/**
 * Where the server's write-ahead log is, in bytes from its start: two readings around a round
 * give the WAL it generated (every database's: the bench's is the only one writing meanwhile).
 * Like the SQLite receiver's disk bytes, it does not move with the machine's speed.
 */
export async function walPosition(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ b: string }>(`SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::text AS b`);
    return Number(rows[0]!.b);
  } finally {
    await client.end();
  }
}

export async function readTableStats(url: string): Promise<TableStats> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<Record<string, string>>(
      `SELECT relname, seq_scan, seq_tup_read, COALESCE(idx_scan, 0) AS idx_scan, n_tup_ins, n_tup_upd, n_tup_hot_upd,
              n_live_tup, n_dead_tup
         FROM pg_stat_user_tables`,
    );
    return new Map(
      rows.map((r) => [
        r.relname!,
        {
          seq_scan: Number(r.seq_scan),
          seq_tup_read: Number(r.seq_tup_read),
          idx_scan: Number(r.idx_scan),
          n_tup_ins: Number(r.n_tup_ins),
          n_tup_upd: Number(r.n_tup_upd),
          n_tup_hot_upd: Number(r.n_tup_hot_upd),
          n_live_tup: Number(r.n_live_tup),
          n_dead_tup: Number(r.n_dead_tup),
        },
      ]),
    );
  } finally {
    await client.end();
  }
}

export interface TableActivity {
  table: string;
  seq_scans: number;
  seq_rows_read: number;
  idx_scans: number;
  inserts: number;
  updates: number;
  hot_updates: number;
  dead_rows: number;
}

/** Per-table change between two readings, tables that did nothing left out. */
export function tableActivity(before: TableStats, after: TableStats): TableActivity[] {
  const out: TableActivity[] = [];
  for (const [table, a] of after) {
    const b = before.get(table);
    const d = (k: keyof TableCounters) => a[k] - (b?.[k] ?? 0);
    const row = {
      table,
      seq_scans: d('seq_scan'),
      seq_rows_read: d('seq_tup_read'),
      idx_scans: d('idx_scan'),
      inserts: d('n_tup_ins'),
      updates: d('n_tup_upd'),
      hot_updates: d('n_tup_hot_upd'),
      dead_rows: a.n_dead_tup,
    };
    if (row.seq_scans || row.idx_scans || row.inserts || row.updates) out.push(row);
  }
  return out.sort((x, y) => y.seq_rows_read - x.seq_rows_read || x.table.localeCompare(y.table));
}

/** One line per busy table, per report where that says more. */
export function describeActivity(activity: TableActivity[], reports: number): string {
  const per = (n: number) => (reports ? (n / reports).toFixed(n / reports < 10 ? 2 : 0) : '-');
  return activity
    .map(
      (t) =>
        `${t.table}: ${t.seq_scans} seq scans (${per(t.seq_rows_read)} rows read/report), ${per(t.idx_scans)} idx scans/report, ` +
        `${per(t.inserts)} inserts/report, ${per(t.updates)} updates/report (${t.hot_updates} HOT), ${t.dead_rows} dead rows`,
    )
    .join('\n    ');
}
