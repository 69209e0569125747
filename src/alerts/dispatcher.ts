// Webhook alerts on every status transition (the --webhook flags). Transitions are read from
// the history table (written in each report's own transaction) after a cursor kept in the
// database, by the leader only, and go into a durable outbox in the store (de-duplicated per
// box / sub-device, see store/alert-plan.ts); a pump posts each pending delivery, signs it, and
// retries with exponential backoff until it is delivered or has used all its attempts. A crash
// between a report's commit and its alert loses nothing: the cursor has not moved past it.
import type { FastifyBaseLogger } from 'fastify';
import { ALERT_DEFAULTS } from '../defaults.js';
import type { FleetEvents } from '../server/events.js';
import type { AlertDelivery, HistoryReason, Leadership, Store, Transition } from '../store/types.js';
import { postWebhook } from './channels/webhook.js';
import { HistoryGate } from './history-gate.js';

/** Name of the --webhook flags' history cursor in the store. */
export const WEBHOOK_CURSOR = 'webhook-flags';
/** Transitions older than this when first read are skipped (the cursor still moves past them). */
export const WEBHOOK_REPLAY_MS = 3600_000;


export interface AlertOptions {
  urls: string[];
  /** HMAC-SHA256 key; when set every request carries X-Devstatus-Signature: sha256=<hex>. */
  secret?: string;
  /** Per box / sub-device, at most one alert per window; 0 sends every transition. */
  dedupMs?: number;
  /** Attempts per delivery before it is marked failed. */
  maxAttempts?: number;
  /** First retry delay; doubles with each attempt, capped at retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Per request. */
  timeoutMs?: number;
  /** How often held alerts and due retries are looked at. */
  pollMs?: number;
  retentionMs?: number;
}

/** Delay before the next attempt after `attempts` failed ones. */
export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}

export class AlertDispatcher {
  private readonly o: Required<Omit<AlertOptions, 'secret'>> & { secret?: string };
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  private pumping: Promise<void> | null = null;
  private again = false;
  private lastPrune = 0;
  private stopped = false;
  /** Last history id turned into alerts (null: not read from the store yet). */
  private cursor: number | null = null;
  private readonly gate = new HistoryGate(5000);
  /** Transitions are in the history table already: read them now. */
  private readonly onTransitions = () => this.kick();

  constructor(
    private readonly store: Store,
    private readonly events: FleetEvents,
    opts: AlertOptions,
    private readonly log?: FastifyBaseLogger,
    private readonly leadership?: Leadership,
  ) {
    this.o = { ...ALERT_DEFAULTS, ...stripUndefined(opts), urls: opts.urls };
  }

  get enabled(): boolean {
    return this.o.urls.length > 0;
  }

  private queueOpts() {
    return { now: Date.now(), dedupMs: this.o.dedupMs, urls: this.o.urls };
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /**
   * Before the server takes reports: a first start begins at the newest transition (older
   * history is not news), so no report can slip in before the cursor is set.
   */
  async prepare(): Promise<void> {
    if (!this.enabled || this.cursor !== null) return;
    const saved = await this.store.alerting.loadCursor(WEBHOOK_CURSOR);
    this.cursor = saved ?? (await this.store.alerting.lastHistoryId());
    if (saved === null) await this.store.alerting.saveCursor(WEBHOOK_CURSOR, this.cursor, Date.now());
  }

  /** Queues alerts for the transitions stored after the cursor (leader only), then moves it. */
  private async queueFromHistory(): Promise<void> {
    if (this.leadership && !this.leadership.isLeader()) {
      this.cursor = null; // another receiver moves it meanwhile
      return;
    }
    let cursor = this.cursor ?? (await this.store.alerting.loadCursor(WEBHOOK_CURSOR)) ?? (await this.store.alerting.lastHistoryId());
    this.cursor = cursor;
    for (;;) {
      const rows = await this.store.alerting.historyEventsAfter(cursor, 1000);
      const usable = this.gate.usable(rows, cursor, Date.now());
      if (usable.length === 0) return;
      // A receiver that ran without --webhook for a while does not replay that history as news.
      const fresh = usable.filter((r) => r.at >= Date.now() - WEBHOOK_REPLAY_MS);
      const transitions: Transition[] = fresh.map((r) => ({
        at: new Date(r.at).toISOString(),
        dev_sno: r.dev_sno,
        ep_id: r.ep_id,
        from_status: r.from_status,
        to_status: r.to_status,
        reason: r.reason as HistoryReason,
      }));
      const { queued, held } = transitions.length ? await this.store.queueAlerts(transitions, this.queueOpts()) : { queued: 0, held: 0 };
      // Queued first, cursor second: a crash in between sends those alerts again, never loses them.
      cursor = this.cursor = usable[usable.length - 1]!.id;
      await this.store.alerting.saveCursor(WEBHOOK_CURSOR, cursor, Date.now());
      if (queued || held) this.events.emit('alerts', queued, held);
      if (usable.length < rows.length || rows.length < 1000) return;
    }
  }

  start(): void {
    if (!this.enabled || this.timer) return;
    this.stopped = false;
    this.events.on('transitions', this.onTransitions);
    this.timer = setInterval(() => this.kick(), this.o.pollMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.events.off('transitions', this.onTransitions);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Runs a pump pass now (or right after the current one). */
  kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    const run = (async () => {
      do {
        this.again = false;
        await this.pump();
      } while (this.again && !this.stopped);
    })()
      .catch((err: unknown) => this.log?.error({ err }, 'alert delivery pass failed'))
      .finally(() => {
        this.pumping = null;
      });
    this.pumping = run;
    this.track(run);
  }

  /** Releases held alerts whose window ended and attempts every due delivery once. */
  async pump(): Promise<void> {
    await this.queueFromHistory();
    if (Date.now() - this.lastPrune > 3600_000) {
      this.lastPrune = Date.now();
      await this.store.pruneDeliveries(this.lastPrune - this.o.retentionMs);
    }
    const released = await this.store.releaseHeldAlerts(this.queueOpts());
    if (released) this.events.emit('alerts', released, 0);
    for (;;) {
      const now = Date.now();
      const due = await this.store.claimDueDeliveries(now, now + this.o.timeoutMs + 5000, 50);
      if (due.length === 0) return;
      await Promise.all(due.map((d) => this.deliver(d)));
      if (this.stopped) return;
    }
  }

  private async deliver(d: AlertDelivery): Promise<void> {
    const { httpStatus, error } = await postWebhook(d.url, d.body, {
      deliveryId: d.id,
      secret: this.o.secret,
      timeoutMs: this.o.timeoutMs,
    });
    const now = Date.now();
    const attempts = d.attempts + 1;
    const ok = error === null;
    const retryAt = ok || attempts >= this.o.maxAttempts ? null : now + backoffMs(attempts, this.o.retryBaseMs, this.o.retryMaxMs);
    await this.store.recordDeliveryResult(d.id, { ok, httpStatus, error, now, retryAt });
    const outcome = ok ? 'delivered' : retryAt === null ? 'failed' : 'retrying';
    this.events.emit('delivery', outcome);
    if (outcome === 'failed') {
      this.log?.warn({ delivery: d.id, url: d.url, attempts, error }, 'alert delivery failed for good');
    } else if (outcome === 'retrying') {
      this.log?.info({ delivery: d.id, url: d.url, attempts, error, retry_at: new Date(retryAt!).toISOString() }, 'alert delivery failed; will retry');
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
