// The PostgreSQL schema, applied in order at open, by one receiver at a time.
import type pg from 'pg';
import { platformMigration } from '../platform.js';
import { accountMigrations, alertingMigration, consoleMigration, sharedMigrations, type Dialect } from '../schema.js';

/**
 * PostgreSQL's column types for the shared schema (../schema.ts). Times are milliseconds since
 * the epoch (as in the SQLite store); COLLATE "C" makes ordering and lower() bytewise/ASCII-only,
 * exactly like SQLite's defaults.
 */
const POSTGRES: Dialect = {
  key: 'text COLLATE "C"',
  text: 'text',
  ms: 'bigint',
  count: 'bigint',
  int: 'integer',
  json: 'json',
  id: 'bigserial PRIMARY KEY',
  keyed: '',
};

/** Versioned schema, applied in order at open. Append only: never edit a migration that has shipped. */
export const PG_MIGRATIONS: string[] = [
  ...sharedMigrations(POSTGRES),
  // operator console (issue 13): locations directory and fleet-wide read indexes (../schema.ts).
  consoleMigration(POSTGRES, '(ep_name COLLATE "C")'),
  // ---- issue 10 (accounts, sessions, API keys, audit log): 
  ...accountMigrations(POSTGRES),
  // alerting (issue 12): channels, rules, silences, engine snapshot + cursor, notifications
  // outbox, suppressed events (see alertingMigration in ../schema.ts).
  alertingMigration(POSTGRES),
  // Platform side of the protocol (issue 11): box logins, report periods per box and group,
  // box health series (src/store/platform.ts).
  platformMigration(POSTGRES),
  // Why a sub-device went offline, as its box said (ep_detail), kept with the transition.
  `ALTER TABLE history ADD COLUMN IF NOT EXISTS detail text`,
  // Ingest (issue 14): every report rewrites its box's row (time, count). An update that changes
  // no indexed column and finds room on the row's page is a HOT update: no new index entries,
  // and the old version is pruned from the page. fillfactor 80 leaves that room on new pages
  // (PostgreSQL does not rewrite existing ones: rows move there as they are updated).
  // boxes_status (status) is covered by boxes_status_since (status, status_changed_at): one
  // index less to write when a box changes status.
  `ALTER TABLE boxes SET (fillfactor = 80);
   DROP INDEX IF EXISTS boxes_status;`,
  // Status storms (issue 14): history_ep (dev_sno, ep_id, id) lands each transition on a random
  // page of a large index, a third of what a storm wrote to disk on SQLite. Its readers use
  // history_box, and history_at for a sub-device's current reason (console-sql.ts withReason).
  `DROP INDEX IF EXISTS history_ep`,
];

// Advisory lock key, (namespace, id) form so it never collides with anyone's bigint keys.
const LOCK_NS_MIGRATIONS = 0x64737401;

/** Applies the migrations this database lacks; `display` names the database in errors. */
export async function migrate(pool: pg.Pool, display: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Several receivers starting at once: the first migrates, the others wait and see it done.
    await client.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_NS_MIGRATIONS]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)',
    );
    const { rows } = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
    const current = rows[0]?.v ?? 0;
    if (current > PG_MIGRATIONS.length) {
      throw new Error(
        `the database ${display} has schema version ${current}, newer than this devstatus knows ` +
          `(${PG_MIGRATIONS.length}); upgrade devstatus`,
      );
    }
    for (let v = current + 1; v <= PG_MIGRATIONS.length; v++) {
      await client.query(PG_MIGRATIONS[v - 1]!);
      await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [v, Date.now()]);
    }
    await client.query('COMMIT');
    client.release();
  } catch (e) {
    // Dropping the connection rolls back whatever was begun.
    client.release(e instanceof Error ? e : true);
    throw e;
  }
}
