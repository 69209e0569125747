// The platform's records (../platform.ts) on SQLite: reads wait for what is written to be on
// disk (as every read does), writes resolve once their commit is.
import type Database from 'better-sqlite3';
import type { SqlRunner } from '../platform.js';
import type { WalSync } from './durability.js';

// better-sqlite3 binds ?NNN only from named values: ?1 becomes @p1.
const named = (sql: string) => sql.replace(/\?(\d+)/g, '@p$1');
const values = (params: unknown[]) => Object.fromEntries(params.map((v, i) => [`p${i + 1}`, v]));

export function sqliteRunner(db: Database.Database, sync: WalSync): SqlRunner {
  return {
    async all<T>(sql: string, params: unknown[]): Promise<T[]> {
      await sync.settled();
      return db.prepare(named(sql)).all(values(params)) as T[];
    },
    async run(sql: string, params: unknown[]): Promise<number> {
      const { changes } = db.prepare(named(sql)).run(values(params));
      if (changes > 0) await sync.durable();
      return changes;
    },
  };
}
