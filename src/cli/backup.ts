// `devstatus backup <file>`: a consistent copy of a live SQLite store, made with SQLite's online
// backup (pages copied while the receiver keeps writing; the copy is one point in time). For
// PostgreSQL, the usual tools do this better (pg_dump, pg_basebackup): see docs/operations.md.
import { existsSync, chmodSync } from 'node:fs';
import Database from 'better-sqlite3';

export interface BackupOptions {
  db: string;
  databaseUrl?: string;
}

export async function backup(opts: BackupOptions, target: string): Promise<void> {
  if (opts.databaseUrl) {
    throw new Error('backup copies a SQLite store; for PostgreSQL use pg_dump (or pg_basebackup): see docs/operations.md');
  }
  if (existsSync(target)) throw new Error(`${target} exists already; give a new file name`);
  if (!existsSync(opts.db)) throw new Error(`no database at ${opts.db} (give it with --db)`);
  // Not the store: the receiver may be running on this file and holds its one-process lock.
  const db = new Database(opts.db, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    let lastShown = 0;
    await db.backup(target, {
      progress: ({ totalPages, remainingPages }) => {
        const now = Date.now();
        if (now - lastShown > 1000) {
          lastShown = now;
          process.stderr.write(`backup: ${totalPages - remainingPages} of ${totalPages} pages\n`);
        }
        return 1000;
      },
    });
  } finally {
    db.close();
  }
  chmodSync(target, 0o600);
  const check = new Database(target, { readonly: true });
  try {
    const ok = check.pragma('integrity_check', { simple: true });
    if (ok !== 'ok') throw new Error(`the copy in ${target} failed its integrity check: ${String(ok)}`);
  } finally {
    check.close();
  }
  console.log(`backup of ${opts.db} written to ${target} (restore: stop the receiver, put this file in place of ${opts.db}, start it)`);
}
