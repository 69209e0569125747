// Marks a box offline when its reports stop: no report for its period x misses, where its period
// is the one it was told at its last login (issue 11), or the receiver's report interval for a
// box that never logged in; boxes on 20 s and on 5 s are each judged by their own. Its sub-devices
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

/** How often the shortest period told to any box is read again. */
const SHORTEST_REREAD_MS = 30_000;

export class OfflineDetector {
  readonly timeoutMs: number;
  readonly tickMs: number;
  private readonly misses: number;
  /** The shortest timeout any box may have (its told period x misses, or the default), and when it was read. */
  private shortestTimeoutMs: number;
  private shortestReadAt = Number.NEGATIVE_INFINITY;
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
    this.misses = opts.misses ?? OFFLINE_DEFAULTS.misses;
    this.timeoutMs = interval * this.misses;
    this.shortestTimeoutMs = this.timeoutMs;
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
    if (this.leadership && !this.leadership.isLeader()) return [];
    // Until the shortest timeout has passed since we began listening no box can be judged: skip
    // the queries (a pass runs two, and holds back the report writers while it does).
    if (now - this.shortestReadAt >= SHORTEST_REREAD_MS) {
      const told = await this.store.platform.shortestToldPeriodS();
      this.shortestTimeoutMs = told === null ? this.timeoutMs : Math.min(this.timeoutMs, told * 1000 * this.misses);
      this.shortestReadAt = now;
    }
    if (now - this.watchingSince < this.shortestTimeoutMs) return [];
    // Each box waits its own timeout from when we started listening (the store checks that).
    const transitions = await this.store.markSilentBoxesOfflineByPeriod(
      { defaultTimeoutMs: this.timeoutMs, misses: this.misses, watchingSince: this.watchingSince },
      now,
    );
    // Logged by the server's listener (see transition-log.ts).
    if (transitions.length) this.events.emit('transitions', transitions);
    return transitions;
  }
}
