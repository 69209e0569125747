// Table upkeep: every minute the leader asks the store to vacuum what the database server
// leaves alone (PostgreSQL with autovacuum off: src/store/postgres/maintenance.ts).
// Without it, a fleet's status flips bloat sub_devices and its indexes for good, and every storm
// gets slower than the last.
import type { FastifyBaseLogger } from 'fastify';
import { TABLE_UPKEEP_DEFAULTS } from '../defaults.js';
import type { Leadership, Store } from '../store/types.js';

export interface TableUpkeepOptions {
  /** Between two looks. */
  intervalMs?: number;
}

export class TableUpkeepJob {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly intervalMs: number;

  constructor(
    private readonly store: Store,
    o: TableUpkeepOptions,
    private readonly log: FastifyBaseLogger,
    private readonly leadership?: Leadership,
  ) {
    this.intervalMs = o.intervalMs ?? TABLE_UPKEEP_DEFAULTS.intervalMs;
  }

  start(): void {
    if (!this.store.upkeepTables) return;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.runOnce()
        .catch((err: unknown) => this.log.warn({ err }, 'table upkeep failed; will retry'))
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.intervalMs);
    this.timer.unref();
  }

  async runOnce(): Promise<void> {
    if (!this.store.upkeepTables || (this.leadership && !this.leadership.isLeader())) return;
    const started = Date.now();
    const done = await this.store.upkeepTables();
    if (done.vacuumed.length) {
      this.log.info({ ...done, ms: Date.now() - started }, 'table upkeep: vacuumed what the database server leaves alone (autovacuum is off)');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
