import { DEFAULT_DB_FILE } from '../defaults.js';
import { PostgresStore } from './postgres/store.js';
import { SqliteStore } from './sqlite/store.js';
import type { StoreLogger } from './coordination.js';
import type { Store } from './types.js';

export * from './types.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite/store.js';
export {
  PostgresStore,
  describeDatabaseUrl,
  explainConnectError,
  PG_MIGRATIONS,
  type DatabaseTarget,
  type PostgresStoreOptions,
} from './postgres/store.js';
export type { StoreLogger } from './coordination.js';
export { DEFAULT_DB_FILE };


export interface OpenStoreOptions {
  /** postgres://… — when set, PostgreSQL is used and dbFile is ignored. */
  databaseUrl?: string;
  /** SQLite file (the embedded default). */
  dbFile?: string;
  log?: StoreLogger;
  /** SQLite: open beside a running receiver, without its one-process lock (short CLI tasks). */
  beside?: boolean;
}

export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  if (opts.databaseUrl) return PostgresStore.open({ url: opts.databaseUrl, log: opts.log });
  return new SqliteStore({ file: opts.dbFile ?? DEFAULT_DB_FILE, lock: opts.beside !== true });
}
