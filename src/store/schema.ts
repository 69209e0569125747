// The schema both stores share, written once: the same tables and columns (times in ms since the
// epoch) so both answer with identical objects. Each store renders it in its own dialect.
// Append only: never edit a migration that has shipped.

/** Column types in one dialect; {name} in the schema text stands for type `name`. */
export interface Dialect {
  /** Text that is a key or sorted on: dev_sno, ep_id, subject. */
  key: string;
  text: string;
  /** A time, in milliseconds since the epoch. */
  ms: string;
  /** A count that grows for ever (report_count). */
  count: string;
  int: string;
  json: string;
  /** An increasing row id. */
  id: string;
  /** What ends a table keyed by its primary key alone. */
  keyed: string;
}

/** The first three migrations of both stores, in order (each store may append its own). */
const SHARED_MIGRATIONS: string[] = [
  `CREATE TABLE boxes (
     dev_sno {key} PRIMARY KEY,
     status {text} NOT NULL,
     first_seen_at {ms} NOT NULL,
     last_report_at {ms} NOT NULL,
     status_changed_at {ms} NOT NULL,
     report_count {count} NOT NULL DEFAULT 0,
     sub_online {int} NOT NULL DEFAULT 0,
     sub_offline {int} NOT NULL DEFAULT 0,
     extra {json} NOT NULL DEFAULT '{}'
   );
   CREATE INDEX boxes_status ON boxes(status);
   CREATE TABLE sub_devices (
     dev_sno {key} NOT NULL REFERENCES boxes(dev_sno),
     ep_id {key} NOT NULL,
     ep_ip {text} NOT NULL,
     ep_status {text} NOT NULL,
     ep_location {text} NOT NULL,
     ep_type {text} NOT NULL,
     ep_name {text} NOT NULL,
     extra {json} NOT NULL DEFAULT '{}',
     first_seen_at {ms} NOT NULL,
     last_seen_at {ms} NOT NULL,
     status_changed_at {ms} NOT NULL,
     PRIMARY KEY (dev_sno, ep_id)
   ){keyed};
   CREATE TABLE history (
     id {id},
     at {ms} NOT NULL,
     dev_sno {key} NOT NULL,
     ep_id {key},
     from_status {text},
     to_status {text} NOT NULL,
     reason {text} NOT NULL
   );
   CREATE INDEX history_box ON history(dev_sno, id);
   CREATE INDEX history_ep ON history(dev_sno, ep_id, id);`,
  // 2: device registry; boxes that reported before it existed are registered as auto.
  `CREATE TABLE registry (
     dev_sno {key} PRIMARY KEY,
     status {text} NOT NULL,
     source {text} NOT NULL,
     name {text},
     location {text},
     created_at {ms} NOT NULL,
     updated_at {ms} NOT NULL,
     revoked_at {ms}
   );
   INSERT INTO registry (dev_sno, status, source, created_at, updated_at)
     SELECT dev_sno, 'active', 'auto', first_seen_at, first_seen_at FROM boxes;`,
  // 3: alert outbox (one row per alert and webhook URL) and per-subject de-duplication state.
  // body and held are text: the exact bytes sent and signed.
  `CREATE TABLE alert_deliveries (
     id {id},
     alert_id {text} NOT NULL,
     subject {key} NOT NULL,
     url {text} NOT NULL,
     body {text} NOT NULL,
     status {text} NOT NULL,
     attempts {int} NOT NULL DEFAULT 0,
     last_error {text},
     last_http_status {int},
     created_at {ms} NOT NULL,
     updated_at {ms} NOT NULL,
     next_attempt_at {ms},
     delivered_at {ms}
   );
   CREATE INDEX alert_deliveries_due ON alert_deliveries(status, next_attempt_at);
   CREATE TABLE alert_subjects (
     subject {key} PRIMARY KEY,
     dev_sno {key} NOT NULL,
     ep_id {key},
     last_sent_at {ms} NOT NULL,
     last_sent_status {text} NOT NULL,
     held_count {int} NOT NULL DEFAULT 0,
     held {text}
   );
   CREATE INDEX alert_subjects_held ON alert_subjects(held_count, last_sent_at);`,
];

/** The shared migrations in one dialect. */
export function sharedMigrations(d: Dialect): string[] {
  return SHARED_MIGRATIONS.map((sql) => sql.replace(/\{(\w+)\}/g, (token, name: string) => (name in d ? d[name as keyof Dialect] : token)));
}

// ---- Operator console (issue 13): the location directory, and indexes for fleet-wide reads.
// One block, appended by each store at the END of its own list (after its dialect-specific
// migrations), so it is one migration whatever number it ends up with.
//  - locations: names for the ep_location strings (UUIDs) boxes send, or for a site id; id is
//    {text} like sub_devices.ep_location so the two compare without a collation conflict.
//    lat/lon: DOUBLE PRECISION is REAL affinity in SQLite and a float8 in PostgreSQL.
//  - sub_devices_status_since: the problem list (offline sub-devices, longest down first);
//    boxes_status_since: the same for offline boxes (their sub-devices read unknown);
//    sub_devices_location: filter by location; history_at: history and availability by time.
//  sub_devices_name: the fleet list sorted by camera name, in bytewise order ({name_key}: the
//    store's bytewise expression of ep_name).
//  IF NOT EXISTS: a database turned back to an older version (tests do) migrates forward again.
const CONSOLE_MIGRATION = `CREATE TABLE IF NOT EXISTS locations (
     id {text} PRIMARY KEY,
     name {text} NOT NULL,
     parent_id {text},
     lat DOUBLE PRECISION,
     lon DOUBLE PRECISION,
     created_at {ms} NOT NULL,
     updated_at {ms} NOT NULL
   ){keyed};
   CREATE INDEX IF NOT EXISTS sub_devices_status_since ON sub_devices(ep_status, status_changed_at);
   CREATE INDEX IF NOT EXISTS sub_devices_location ON sub_devices(ep_location);
   CREATE INDEX IF NOT EXISTS boxes_status_since ON boxes(status, status_changed_at);
   CREATE INDEX IF NOT EXISTS history_at ON history(at);
   CREATE INDEX IF NOT EXISTS sub_devices_name ON sub_devices({name_key}, dev_sno, ep_id);`;

/** The operator-console migration in one dialect (appended last by each store). */
export function consoleMigration(d: Dialect, nameKey: string): string {
  const types: Record<string, string> = { ...d, name_key: nameKey };
  return CONSOLE_MIGRATION.replace(/\{(\w+)\}/g, (token, name: string) => types[name] ?? token);
}
