// The PostgreSQL schema, applied in order at open, by one receiver at a time.
import type pg from 'pg';

/**
 * Versioned schema, applied in order at open. Append only: never edit a migration that has
 * shipped. Times are milliseconds since the epoch (as in the SQLite store); COLLATE "C"
 * makes ordering and lower() bytewise/ASCII-only, exactly like SQLite's defaults.
 */
export const PG_MIGRATIONS: string[] = [
  `CREATE TABLE boxes (
     dev_sno text COLLATE "C" PRIMARY KEY,
     status text NOT NULL,
     first_seen_at bigint NOT NULL,
     last_report_at bigint NOT NULL,
     status_changed_at bigint NOT NULL,
     report_count bigint NOT NULL DEFAULT 0,
     sub_online integer NOT NULL DEFAULT 0,
     sub_offline integer NOT NULL DEFAULT 0,
     extra json NOT NULL DEFAULT '{}'
   );
   CREATE INDEX boxes_status ON boxes(status);
   CREATE TABLE sub_devices (
     dev_sno text COLLATE "C" NOT NULL REFERENCES boxes(dev_sno),
     ep_id text COLLATE "C" NOT NULL,
     ep_ip text NOT NULL,
     ep_status text NOT NULL,
     ep_location text NOT NULL,
     ep_type text NOT NULL,
     ep_name text NOT NULL,
     extra json NOT NULL DEFAULT '{}',
     first_seen_at bigint NOT NULL,
     last_seen_at bigint NOT NULL,
     status_changed_at bigint NOT NULL,
     PRIMARY KEY (dev_sno, ep_id)
   );
   CREATE TABLE history (
     id bigserial PRIMARY KEY,
     at bigint NOT NULL,
     dev_sno text COLLATE "C" NOT NULL,
     ep_id text COLLATE "C",
     from_status text,
     to_status text NOT NULL,
     reason text NOT NULL
   );
   CREATE INDEX history_box ON history(dev_sno, id);
   CREATE INDEX history_ep ON history(dev_sno, ep_id, id);`,
  // 2: device registry (as SQLite's 2); boxes that reported before it existed are registered as auto.
  `CREATE TABLE registry (
     dev_sno text COLLATE "C" PRIMARY KEY,
     status text NOT NULL,
     source text NOT NULL,
     name text,
     location text,
     created_at bigint NOT NULL,
     updated_at bigint NOT NULL,
     revoked_at bigint
   );
   INSERT INTO registry (dev_sno, status, source, created_at, updated_at)
     SELECT dev_sno, 'active', 'auto', first_seen_at, first_seen_at FROM boxes;`,
  // 3: alert outbox (one row per alert and webhook URL) and per-subject de-duplication state
  // (as SQLite's 3). body and held are text: the exact bytes sent and signed.
  `CREATE TABLE alert_deliveries (
     id bigserial PRIMARY KEY,
     alert_id text NOT NULL,
     subject text COLLATE "C" NOT NULL,
     url text NOT NULL,
     body text NOT NULL,
     status text NOT NULL,
     attempts integer NOT NULL DEFAULT 0,
     last_error text,
     last_http_status integer,
     created_at bigint NOT NULL,
     updated_at bigint NOT NULL,
     next_attempt_at bigint,
     delivered_at bigint
   );
   CREATE INDEX alert_deliveries_due ON alert_deliveries(status, next_attempt_at);
   CREATE TABLE alert_subjects (
     subject text COLLATE "C" PRIMARY KEY,
     dev_sno text COLLATE "C" NOT NULL,
     ep_id text COLLATE "C",
     last_sent_at bigint NOT NULL,
     last_sent_status text NOT NULL,
     held_count integer NOT NULL DEFAULT 0,
     held text
   );
   CREATE INDEX alert_subjects_held ON alert_subjects(held_count, last_sent_at);`,
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
