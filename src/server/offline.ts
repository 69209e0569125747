// Marks a box offline when its reports stop: no report for interval x misses. Its sub-devices
// then read `unknown` (see store/present.ts); the box's next report brings it back online.
import type { FastifyBaseLogger } from 'fastify';
import type { Leadership, Store, Transition } from '../store/types.js';
import { OFFLINE_DEFAULTS } from '../defaults.js';
import type { FleetEvents } from './events.js';

export interface OfflineDetectorOptions {
  store: Store;
  events: FleetEvents;
  /** How often boxes are expected to report. */
  reportIntervalMs?: number;
  /** Reports missed in a row before the box counts as offline. */
  misses?: number;
  log?: FastifyBaseLogger;
  /** Several receivers on one database: only the holder of this leadership judges boxes. */
  leadership?: Leadership;
}

export class OfflineDetector {
  readonly timeoutMs: number;
  readonly tickMs: number;
  private readonly store: Store;
  private readonly events: FleetEvents;
  private readonly log?: FastifyBaseLogger;
  private readonly leadership?: Leadership;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  /** Boxes cannot have been heard before we listened: no verdict until a full timeout has passed. */
  private watchingSince = Date.now();

  constructor(opts: OfflineDetectorOptions) {
    const interval = opts.reportIntervalMs ?? OFFLINE_DEFAULTS.reportIntervalMs;
    this.timeoutMs = interval * (opts.misses ?? OFFLINE_DEFAULTS.misses);
    // Detection lags the timeout by at most one tick.
    this.tickMs = Math.max(20, Math.min(1000, interval / 2));
    this.store = opts.store;
    this.events = opts.events;
    this.log = opts.log;
    this.leadership = opts.leadership;
  }

  start(now = Date.now()): void {
    if (this.timer) return;
    this.watchingSince = now;
    this.timer = setInterval(() => {
      this.running = this.tick().catch((err: unknown) => this.log?.error({ err }, 'offline detection failed'));
    }, this.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass: marks silent boxes offline and announces it. Callable from outside (e.g. by a leader). */
  async tick(now = Date.now()): Promise<Transition[]> {
    if (now - this.watchingSince < this.timeoutMs) return [];
    if (this.leadership && !this.leadership.isLeader()) return [];
    const transitions = await this.store.markSilentBoxesOffline(now - this.timeoutMs, now);
    // Logged by the server's listener (see transition-log.ts).
    if (transitions.length) this.events.emit('transitions', transitions);
    return transitions;
  }
}
