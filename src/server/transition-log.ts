// Status transitions in the log. While they are few, each gets a line of its own (what an
// operator greps for: "box X went offline"). In a storm, thousands a second, writing each one
// would cost more than storing it and drown everything else: past the first few of a second
// they are counted, and one line at the end of that second says how many of which kind there
// were. The stored history (and /api/history) still has every one.
import type { FastifyBaseLogger } from 'fastify';
import type { Transition } from '../store/types.js';

export const TRANSITION_LOG_DEFAULTS = {
  /** Transitions logged one by one in each window; the rest are summed up. */
  perWindow: 20,
  windowMs: 1000,
} as const;

type Counts = Record<string, number>;

export class TransitionLog {
  private windowStart = -Infinity;
  private loggedInWindow = 0;
  private unlogged = 0;
  /** Unlogged transitions by kind, then by new status. */
  private counts: { box: Counts; sub_device: Counts } = { box: {}, sub_device: {} };
  private timer: NodeJS.Timeout | null = null;
  private readonly perWindow: number;
  private readonly windowMs: number;

  constructor(
    private readonly log: () => FastifyBaseLogger | undefined,
    opts: { perWindow?: number; windowMs?: number } = {},
  ) {
    this.perWindow = opts.perWindow ?? TRANSITION_LOG_DEFAULTS.perWindow;
    this.windowMs = opts.windowMs ?? TRANSITION_LOG_DEFAULTS.windowMs;
  }

  add(transitions: readonly Transition[], now = Date.now()): void {
    if (now - this.windowStart >= this.windowMs) {
      this.flush();
      this.windowStart = now;
      this.loggedInWindow = 0;
    }
    const log = this.log();
    if (!log) return;
    for (const t of transitions) {
      if (this.loggedInWindow < this.perWindow) {
        this.loggedInWindow++;
        log.info(t, 'status transition');
        continue;
      }
      this.unlogged++;
      const byStatus = t.ep_id === null ? this.counts.box : this.counts.sub_device;
      byStatus[t.to_status] = (byStatus[t.to_status] ?? 0) + 1;
    }
    if (this.unlogged > 0 && this.timer === null) {
      // The summary goes out when the window ends, even if nothing else happens then.
      this.timer = setTimeout(() => this.flush(), Math.max(0, this.windowStart + this.windowMs - now));
      this.timer.unref();
    }
  }

  /** Writes the summary of the transitions not logged one by one, if any (also at shutdown). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.unlogged === 0) return;
    const counts = this.counts;
    const transitions = this.unlogged;
    this.counts = { box: {}, sub_device: {} };
    this.unlogged = 0;
    this.log()?.info(
      { transitions, boxes: counts.box, sub_devices: counts.sub_device, window_ms: this.windowMs, logged_one_by_one: this.loggedInWindow },
      'status transitions (more than one by one in this second; every one is in the history)',
    );
  }
}
