// The SQLite schema, applied in order at open. Append only: never edit a migration that has shipped.
import type Database from 'better-sqlite3';

const MIGRATIONS: string[] = [
  `CREATE TABLE boxes (
     dev_sno TEXT PRIMARY KEY,
     status TEXT NOT NULL,
     first_seen_at INTEGER NOT NULL,
     last_report_at INTEGER NOT NULL,
     status_changed_at INTEGER NOT NULL,
     report_count INTEGER NOT NULL DEFAULT 0,
     sub_online INTEGER NOT NULL DEFAULT 0,
     sub_offline INTEGER NOT NULL DEFAULT 0,
     extra TEXT NOT NULL DEFAULT '{}'
   );
   CREATE INDEX boxes_status ON boxes(status);
   CREATE TABLE sub_devices (
     dev_sno TEXT NOT NULL REFERENCES boxes(dev_sno),
     ep_id TEXT NOT NULL,
     ep_ip TEXT NOT NULL,
     ep_status TEXT NOT NULL,
     ep_location TEXT NOT NULL,
     ep_type TEXT NOT NULL,
     ep_name TEXT NOT NULL,
     extra TEXT NOT NULL DEFAULT '{}',
     first_seen_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL,
     status_changed_at INTEGER NOT NULL,
     PRIMARY KEY (dev_sno, ep_id)
   ) WITHOUT ROWID;
   CREATE TABLE history (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     dev_sno TEXT NOT NULL,
     ep_id TEXT,
     from_status TEXT,
     to_status TEXT NOT NULL,
     reason TEXT NOT NULL
   );
   CREATE INDEX history_box ON history(dev_sno, id);
   CREATE INDEX history_ep ON history(dev_sno, ep_id, id);`,
  // 2: device registry; boxes that reported before it existed are registered as auto.
  `CREATE TABLE registry (
     dev_sno TEXT PRIMARY KEY,
     status TEXT NOT NULL,
     source TEXT NOT NULL,
     name TEXT,
     location TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     revoked_at INTEGER
   );
   INSERT INTO registry (dev_sno, status, source, created_at, updated_at)
     SELECT dev_sno, 'active', 'auto', first_seen_at, first_seen_at FROM boxes;`,
  // 3: alert outbox (one row per alert and webhook URL) and per-subject de-duplication state.
  `CREATE TABLE alert_deliveries (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     alert_id TEXT NOT NULL,
     subject TEXT NOT NULL,
     url TEXT NOT NULL,
     body TEXT NOT NULL,
     status TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     last_error TEXT,
     last_http_status INTEGER,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     next_attempt_at INTEGER,
     delivered_at INTEGER
   );
   CREATE INDEX alert_deliveries_due ON alert_deliveries(status, next_attempt_at);
   CREATE TABLE alert_subjects (
     subject TEXT PRIMARY KEY,
     dev_sno TEXT NOT NULL,
     ep_id TEXT,
     last_sent_at INTEGER NOT NULL,
     last_sent_status TEXT NOT NULL,
     held_count INTEGER NOT NULL DEFAULT 0,
     held TEXT
   );
   CREATE INDEX alert_subjects_held ON alert_subjects(held_count, last_sent_at);`,
  // 4: fingerprint of the sub-devices of the box's last report: a report that repeats it (the
  // usual case) changes nothing but the box's counters, and is written with one UPDATE.
  `ALTER TABLE boxes ADD COLUMN subs_fingerprint TEXT`,
  // 5: the fingerprints moved to memory (the store's known-boxes memory, known-boxes.ts): kept in the row they made it six
  // times larger, and every report rewrites that row.
  `ALTER TABLE boxes DROP COLUMN subs_fingerprint`,
];

export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  const current = row.v ?? 0;
  const apply = db.transaction((version: number, sql: string) => {
    db.exec(sql);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, Date.now());
  });
  MIGRATIONS.forEach((sql, i) => {
    if (i + 1 > current) apply(i + 1, sql);
  });
}
