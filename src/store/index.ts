import { PostgresStore, type StoreLogger } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export * from './types.js';
export { SqliteStore } from './sqlite.js';
export { PostgresStore, describeDatabaseUrl, type StoreLogger } from './postgres.js';

export const DEFAULT_DB_FILE = './data/devstatus.db';

export interface OpenStoreOptions {
  /** postgres://… — when set, PostgreSQL is used and dbFile is ignored. */
  databaseUrl?: string;
  /** SQLite file (the embedded default). */
  dbFile?: string;
  log?: StoreLogger;
}

export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  if (opts.databaseUrl) return PostgresStore.open({ url: opts.databaseUrl, log: opts.log });
  return new SqliteStore({ file: opts.dbFile ?? DEFAULT_DB_FILE });
}
