// Retention: history entries older than the configured age are deleted (delivered alerts are
// pruned by the alert dispatcher with the same age), and expired sessions with them. Deletes go in
// small batches with a pause between them, so a large first prune never holds the database (and
// the reports waiting to be written) for long. Runs in the leader only when receivers share a database.
import type { FastifyBaseLogger } from 'fastify';
import { RETENTION_DEFAULTS } from '../defaults.js';
import type { Leadership, Store } from '../store/types.js';

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
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly batchRows: number;
  private readonly intervalMs: number;
  private readonly pauseMs: number;

  constructor(
    private readonly store: Store,
    private readonly o: RetentionOptions,
    private readonly log: FastifyBaseLogger,
    private readonly leadership?: Leadership,
  ) {
    this.batchRows = o.batchRows ?? RETENTION_DEFAULTS.batchRows;
    this.intervalMs = o.intervalMs ?? RETENTION_DEFAULTS.intervalMs;
    this.pauseMs = o.pauseMs ?? 50;
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.runOnce()
        .then(() => undefined)
        .catch((err: unknown) => this.log.warn({ err }, 'retention: pruning failed; will retry'))
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    this.timer = setTimeout(tick, Math.min(this.intervalMs, 1000));
  }

  /** One round: deletes every history entry past the age, a batch at a time; returns how many. */
  async runOnce(now = Date.now()): Promise<number> {
    if (this.leadership && !this.leadership.isLeader()) return 0;
    const before = now - this.o.maxAgeMs;
    let total = 0;
    for (;;) {
      const n = await this.store.accounts.pruneHistory(before, this.batchRows);
      total += n;
      if (n < this.batchRows || this.stopped) break;
      await new Promise((r) => setTimeout(r, this.pauseMs));
    }
    await this.store.accounts.pruneSessions(now);
    if (total > 0) this.log.info({ deleted: total, older_than: new Date(before).toISOString() }, 'retention: old history deleted');
    return total;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
