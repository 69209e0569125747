// The SQLite schema, applied in order at open. Append only: never edit a migration that has shipped.
import type Database from 'better-sqlite3';
import { platformMigration } from '../platform.js';
import { accountMigrations, alertingMigration, consoleMigration, sharedMigrations, type Dialect } from '../schema.js';

/** SQLite's column types for the shared schema (../schema.ts). */
const SQLITE: Dialect = {
  key: 'TEXT',
  text: 'TEXT',
  ms: 'INTEGER',
  count: 'INTEGER',
  int: 'INTEGER',
  json: 'TEXT',
  id: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  keyed: ' WITHOUT ROWID',
};

const MIGRATIONS: string[] = [
  ...sharedMigrations(SQLITE),
  // 4: fingerprint of the sub-devices of the box's last report: a report that repeats it (the
  // usual case) changes nothing but the box's counters, and is written with one UPDATE.
  `ALTER TABLE boxes ADD COLUMN subs_fingerprint TEXT`,
  // 5: the fingerprints moved to memory (known-boxes.ts): kept in the row they made it six times
  // larger, and every report rewrites that row.
  `ALTER TABLE boxes DROP COLUMN subs_fingerprint`,
  // operator console (issue 13): locations directory and fleet-wide read indexes (../schema.ts).
  consoleMigration(SQLITE, 'ep_name'),
  // ---- issue 10 (accounts, sessions, API keys, audit log): 
  ...accountMigrations(SQLITE),
  // alerting (issue 12): channels, rules, silences, engine snapshot + cursor, notifications
  // outbox, suppressed events (see alertingMigration in ../schema.ts).
  alertingMigration(SQLITE),
  // Platform side of the protocol (issue 11): box logins, report periods per box and group,
  // box health series (src/store/platform.ts).
  platformMigration(SQLITE),
  // Why a sub-device went offline, as its box said (ep_detail), kept with the transition.
  `ALTER TABLE history ADD COLUMN detail TEXT`,
  // Status storms (issue 14): history_ep (dev_sno, ep_id, id) lands each transition on a random
  // page of a large index, a third of what a storm wrote to disk on SQLite. Its readers use
  // history_box, and history_at for a sub-device's current reason (console-sql.ts withReason).
  `DROP INDEX IF EXISTS history_ep`,
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
