// Retention: history entries older than the configured age are deleted (delivered alerts are
// pruned by the alert dispatcher with the same age), and expired sessions with them. Deletes go in
// small batches with a pause between them, so a large first prune never holds the database (and
// the reports waiting to be written) for long. Runs in the leader only when receivers share a database.
import type { FastifyBaseLogger } from 'fastify';
import { RETENTION_DEFAULTS } from '../defaults.js';
import type { Leadership, Store } from '../store/types.js';
import { Periodic } from './periodic.js';

export interface RetentionOptions {
  /** Entries older than this (ms) go. */
  maxAgeMs: number;
  batchRows?: number;
  /** Between two prune rounds. */
  intervalMs?: number;
  /** Pause between two batches of one round. */
  pauseMs?: number;
}

export class RetentionJob {
  private readonly batchRows: number;
  private readonly pauseMs: number;
  private readonly periodic: Periodic;

  constructor(
    private readonly store: Store,
    private readonly o: RetentionOptions,
    private readonly log: FastifyBaseLogger,
    private readonly leadership?: Leadership,
  ) {
    this.batchRows = o.batchRows ?? RETENTION_DEFAULTS.batchRows;
    this.pauseMs = o.pauseMs ?? 50;
    const intervalMs = o.intervalMs ?? RETENTION_DEFAULTS.intervalMs;
    this.periodic = new Periodic(() => this.runOnce(), {
      intervalMs,
      firstDelayMs: Math.min(intervalMs, 1000),
      onError: (err) => this.log.warn({ err }, 'retention: pruning failed; will retry'),
    });
  }

  start(): void {
    this.periodic.start();
  }

  /** One round: deletes every history entry past the age, a batch at a time; returns how many. */
  async runOnce(now = Date.now()): Promise<number> {
    if (this.leadership && !this.leadership.isLeader()) return 0;
    const before = now - this.o.maxAgeMs;
    let total = 0;
    for (;;) {
      const n = await this.store.accounts.pruneHistory(before, this.batchRows);
      total += n;
      if (n < this.batchRows || this.periodic.stopped) break;
      await new Promise((r) => setTimeout(r, this.pauseMs));
    }
    await this.store.accounts.pruneSessions(now);
    if (total > 0) this.log.info({ deleted: total, older_than: new Date(before).toISOString() }, 'retention: old history deleted');
    return total;
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }
}
