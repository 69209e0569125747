// Vacuuming and analyzing the tables ingest rewrites, when the server does not. A status flip
// leaves a dead row version in sub_devices and dead entries in its indexes; retention's deletes
// leave dead history rows. With autovacuum on, the server reclaims them; with it off (some
// managed and hand-tuned servers run that way), nothing does, and the tables and indexes grow
// with every storm until each flip reads and writes pages that no longer fit in the server's
// cache. The leader then does what autovacuum would, with its default thresholds: VACUUM
// (ANALYZE) a table once its dead rows pass 50 + 20 % of its live ones, ANALYZE once its changed
// rows pass 50 + 10 %. A table with autovacuum_enabled = false is looked after the same way.
import type pg from 'pg';

/** Tables every report, flip, delivery or login rewrites; the others change too rarely to matter. */
const TABLES = ['sub_devices', 'boxes', 'history', 'registry', 'box_logins', 'alert_notifications', 'alert_deliveries', 'alert_subjects', 'sessions'];

/** What one look did, table by table. */
export interface TableUpkeep {
  vacuumed: string[];
  analyzed: string[];
}

export async function upkeepTables(pool: pg.Pool): Promise<TableUpkeep> {
  const { rows } = await pool.query<{ relname: string; live: string; dead: string; changed: string; on: boolean }>(
    `SELECT s.relname, s.n_live_tup AS live, s.n_dead_tup AS dead, s.n_mod_since_analyze AS changed,
            current_setting('autovacuum') = 'on'
              AND NOT coalesce('autovacuum_enabled=false' = ANY(c.reloptions), false) AS on
     FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
     WHERE s.schemaname = current_schema() AND s.relname = ANY($1)`,
    [TABLES],
  );
  const done: TableUpkeep = { vacuumed: [], analyzed: [] };
  for (const r of rows) {
    if (r.on) continue;
    const live = Number(r.live);
    const table = `"${r.relname}"`;
    if (Number(r.dead) > 50 + 0.2 * live) {
      // Not in a transaction (VACUUM cannot be), and it takes no lock that ingest waits for.
      await pool.query(`VACUUM (ANALYZE) ${table}`);
      done.vacuumed.push(r.relname);
    } else if (Number(r.changed) > 50 + 0.1 * live) {
      await pool.query(`ANALYZE ${table}`);
      done.analyzed.push(r.relname);
    }
  }
  return done;
}
