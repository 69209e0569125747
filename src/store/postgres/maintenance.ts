// Vacuuming the tables ingest rewrites, when the server does not. A status flip
// leaves a dead row version in sub_devices and dead entries in its indexes; retention's deletes
// leave dead history rows. With autovacuum on, the server reclaims them; with it off (some
// managed and hand-tuned servers run that way), nothing does, and the tables and indexes grow
// with every storm until each flip reads and writes pages that no longer fit in the server's
// cache. The leader then does what autovacuum would, with its default threshold: VACUUM a table
// once its dead rows pass 50 + 20 % of its live ones. A table with autovacuum_enabled = false is
// looked after the same way. No ANALYZE: no plan of the receiver depends on the statistics
// (ingest-session.ts, test/postgres-plans.test.ts), and analyzing a freshly filled fleet's tables
// cost PostgreSQL 1-2 s of CPU for nothing; VACUUM refreshes the row and page counts.
import type pg from 'pg';

/** Tables every report, flip, delivery or login rewrites; the others change too rarely to matter. */
const TABLES = ['sub_devices', 'boxes', 'history', 'registry', 'box_logins', 'alert_notifications', 'alert_deliveries', 'alert_subjects', 'sessions'];

/** What one look did: the tables vacuumed. */
export interface TableUpkeep {
  vacuumed: string[];
}

export async function upkeepTables(pool: pg.Pool): Promise<TableUpkeep> {
  const { rows } = await pool.query<{ relname: string; live: string; dead: string; on: boolean }>(
    `SELECT s.relname, s.n_live_tup AS live, s.n_dead_tup AS dead,
            current_setting('autovacuum') = 'on'
              AND NOT coalesce('autovacuum_enabled=false' = ANY(c.reloptions), false) AS on
     FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
     WHERE s.schemaname = current_schema() AND s.relname = ANY($1)`,
    [TABLES],
  );
  const done: TableUpkeep = { vacuumed: [] };
  for (const r of rows) {
    if (r.on) continue;
    const live = Number(r.live);
    const table = `"${r.relname}"`;
    if (Number(r.dead) > 50 + 0.2 * live) {
      // Not in a transaction (VACUUM cannot be), and it takes no lock that ingest waits for.
      await pool.query(`VACUUM ${table}`);
      done.vacuumed.push(r.relname);
    }
  }
  return done;
}
