// Whether anyone is watching the live stream on any receiver that shares this database. Each
// receiver publishes what it received for the others' dashboards (live-bridge.ts); that costs a
// JSON encoding of every report and a NOTIFY every few hundred milliseconds, which is wasted
// while no browser is connected anywhere, the usual case. A receiver with watchers says so on a
// channel of its own, at once and then every `announceMs`; one that starts asks, and receivers
// with watchers answer. A receiver publishes while it has watchers itself or heard of some in
// the last `forgetMs`. A report received in the coalescing window during which the first notice
// arrives is still published (the decision is taken when the window is sent), so a browser that
// has just connected elsewhere misses nothing it has not already fetched.
import type { FastifyBaseLogger } from 'fastify';
import type { Store } from '../store/types.js';

export const LIVE_WANTED_CHANNEL = 'devstatus_live_wanted';

export interface LiveDemandOptions {
  /** How often a receiver with watchers says so. */
  announceMs?: number;
  /** How long after the last notice a receiver keeps publishing. */
  forgetMs?: number;
}

export const LIVE_DEMAND_DEFAULTS = { announceMs: 10_000, forgetMs: 30_000 } as const;

type Notice = { watching?: true; ask?: true };

export class LiveDemand {
  private heardAt = Number.NEGATIVE_INFINITY;
  private watchers = 0;
  private announcer: NodeJS.Timeout | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private stopped = false;
  private readonly o: Required<LiveDemandOptions>;

  constructor(
    private readonly store: Store,
    opts: LiveDemandOptions = {},
    private readonly log?: FastifyBaseLogger,
  ) {
    this.o = { ...LIVE_DEMAND_DEFAULTS, ...opts };
  }

  /** Listens for the other receivers' notices, then asks who watches. */
  async start(): Promise<void> {
    this.unlisten = await this.store.subscribe(LIVE_WANTED_CHANNEL, (payload) => {
      const notice = payload as Notice;
      if (notice?.watching) this.heardAt = Date.now();
      else if (notice?.ask && this.watchers > 0) this.announce();
    });
    if (this.stopped) return this.stop();
    this.send({ ask: true });
  }

  /** Someone somewhere is watching: this receiver's reports are wanted on the channel. */
  get wanted(): boolean {
    return this.watchers > 0 || Date.now() - this.heardAt < this.o.forgetMs;
  }

  /** A browser started watching on this receiver. */
  watchStarted(): void {
    if (++this.watchers > 1) return;
    this.announce();
    this.announcer = setInterval(() => this.announce(), this.o.announceMs);
    this.announcer.unref();
  }

  /** A browser stopped watching on this receiver. */
  watchEnded(): void {
    if (this.watchers === 0 || --this.watchers > 0) return;
    if (this.announcer) clearInterval(this.announcer);
    this.announcer = null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.announcer) clearInterval(this.announcer);
    this.announcer = null;
    const unlisten = this.unlisten;
    this.unlisten = null;
    await unlisten?.();
  }

  private announce(): void {
    this.send({ watching: true });
  }

  private send(notice: Notice): void {
    if (this.stopped) return;
    this.store.publish(LIVE_WANTED_CHANNEL, notice).catch((err: unknown) => this.log?.warn({ err }, 'could not announce live watchers'));
  }
}
