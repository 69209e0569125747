// The platform's records (../platform.ts) on PostgreSQL: ?N placeholders become $N.
import type pg from 'pg';
import { timeoutTransitions } from '../diff.js';
import { SILENT_PAST_OWN_TIMEOUT, type SilenceRule, type SqlRunner } from '../platform.js';
import type { Transition } from '../types.js';

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

/**
 * Marks offline every online box silent past its own timeout (SILENT_PAST_OWN_TIMEOUT), with a
 * report_timeout history entry each, in one statement. The caller drains pending reports first.
 */
export async function markSilentByOwnPeriod(pool: pg.Pool, rule: SilenceRule, now: number): Promise<Transition[]> {
  const { rows } = await pool.query<{ dev_sno: string }>(
    `WITH due AS (
       SELECT b.dev_sno FROM boxes b WHERE ${dollars(SILENT_PAST_OWN_TIMEOUT).replace(/\$(\d)/g, '$$$1::bigint')} ORDER BY b.dev_sno FOR UPDATE),
     gone AS (
       UPDATE boxes b SET status = 'offline', status_changed_at = $1::bigint FROM due WHERE b.dev_sno = due.dev_sno RETURNING b.dev_sno),
     hist AS (
       INSERT INTO history (at, dev_sno, ep_id, from_status, to_status, reason)
       SELECT $1::bigint, dev_sno, NULL, 'online', 'offline', 'report_timeout' FROM gone ORDER BY dev_sno)
     SELECT dev_sno FROM gone ORDER BY dev_sno`,
    [now, rule.defaultTimeoutMs, rule.misses, rule.watchingSince],
  );
  return timeoutTransitions(rows.map((r) => r.dev_sno), now);
}
