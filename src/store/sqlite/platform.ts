// The platform's records (../platform.ts) on SQLite: reads wait for what is written to be on
// disk (as every read does), writes resolve once their commit is.
import type Database from 'better-sqlite3';
import { timeoutTransitions } from '../diff.js';
import { SILENT_PAST_OWN_TIMEOUT, type SilenceRule, type SqlRunner } from '../platform.js';
import type { Transition } from '../types.js';
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

/**
 * Marks offline every online box silent past its own timeout (SILENT_PAST_OWN_TIMEOUT), with a
 * report_timeout history entry each, in one transaction; `forget` drops each from the memory of
 * known boxes (their next report must bring them back online). The caller flushes pending reports first.
 */
export function markSilentByOwnPeriod(db: Database.Database, rule: SilenceRule, now: number, forget: (devSno: string) => void): Transition[] {
  const run = db.transaction(() => {
    const gone = db
      .prepare(`UPDATE boxes AS b SET status = 'offline', status_changed_at = @p1 WHERE ${named(SILENT_PAST_OWN_TIMEOUT)} RETURNING dev_sno`)
      .all(values([now, rule.defaultTimeoutMs, rule.misses, rule.watchingSince])) as Array<{ dev_sno: string }>;
    const devSnos = gone.map((r) => r.dev_sno).sort();
    const insert = db.prepare(
      `INSERT INTO history (at, dev_sno, ep_id, from_status, to_status, reason) VALUES (?, ?, NULL, 'online', 'offline', 'report_timeout')`,
    );
    for (const d of devSnos) {
      forget(d);
      insert.run(now, d);
    }
    return timeoutTransitions(devSnos, now);
  });
  return run();
}
