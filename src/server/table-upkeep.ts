// Table upkeep: every minute the leader asks the store to vacuum what the database server
// leaves alone (PostgreSQL with autovacuum off: src/store/postgres/maintenance.ts).
// Without it, a fleet's status flips bloat sub_devices and its indexes for good, and every storm
// gets slower than the last.
import type { FastifyBaseLogger } from 'fastify';
import { TABLE_UPKEEP_DEFAULTS } from '../defaults.js';
import type { Leadership, Store } from '../store/types.js';
import { Periodic } from './periodic.js';

export interface TableUpkeepOptions {
  /** Between two looks. */
  intervalMs?: number;
}

export class TableUpkeepJob {
  private readonly periodic: Periodic;

  constructor(
    private readonly store: Store,
    o: TableUpkeepOptions,
    private readonly log: FastifyBaseLogger,
    private readonly leadership?: Leadership,
  ) {
    this.periodic = new Periodic(() => this.runOnce(), {
      intervalMs: o.intervalMs ?? TABLE_UPKEEP_DEFAULTS.intervalMs,
      unref: true,
      onError: (err) => this.log.warn({ err }, 'table upkeep failed; will retry'),
    });
  }

  start(): void {
    if (this.store.upkeepTables) this.periodic.start();
  }

  async runOnce(): Promise<void> {
    if (!this.store.upkeepTables || (this.leadership && !this.leadership.isLeader())) return;
    const started = Date.now();
    const done = await this.store.upkeepTables();
    if (done.vacuumed.length) {
      this.log.info({ ...done, ms: Date.now() - started }, 'table upkeep: vacuumed what the database server leaves alone (autovacuum is off)');
    }
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }
}
