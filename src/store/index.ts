import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export * from './types.js';
export { SqliteStore } from './sqlite.js';

export const DEFAULT_DB_FILE = './data/devstatus.db';

export interface OpenStoreOptions {
  /** SQLite file (the embedded default). */
  dbFile?: string;
}

export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  return new SqliteStore({ file: opts.dbFile ?? DEFAULT_DB_FILE });
}
