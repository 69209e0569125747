// The platform's records (../platform.ts) on PostgreSQL: ?N placeholders become $N.
import type pg from 'pg';
import type { SqlRunner } from '../platform.js';

const dollars = (sql: string) => sql.replace(/\?(\d+)/g, '$$$1');

export function pgRunner(pool: pg.Pool): SqlRunner {
  return {
    async all<T>(sql: string, params: unknown[]): Promise<T[]> {
      return (await pool.query(dollars(sql), params)).rows as T[];
    },
    async run(sql: string, params: unknown[]): Promise<number> {
      return (await pool.query(dollars(sql), params)).rowCount ?? 0;
    },
  };
}
