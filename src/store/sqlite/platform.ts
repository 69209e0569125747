// The platform's records (../platform.ts) on SQLite: reads wait for what is written to be on
// disk (as every read does), writes resolve once their commit is.
import type Database from 'better-sqlite3';
import type { SqlRunner } from '../platform.js';
import type { WalSync } from './durability.js';

export function sqliteRunner(db: Database.Database, sync: WalSync): SqlRunner {
  return {
    async all<T>(sql: string, params: unknown[]): Promise<T[]> {
      await sync.settled();
      return db.prepare(sql).all(...params) as T[];
    },
    async run(sql: string, params: unknown[]): Promise<number> {
      const { changes } = db.prepare(sql).run(...params);
      if (changes > 0) await sync.durable();
      return changes;
    },
  };
}
