// Alerting end to end (issue 12). The leader (same leadership as offline detection) runs the
// engine: it reads new transitions from the history table (written in each report's own
// transaction) after a cursor, and saves the engine's snapshot + cursor with the notifications
// and suppressed events a step produced in ONE transaction. A crash loses nothing: the next
// leader resumes from the saved cursor. Every receiver delivers: due notifications are claimed
// with a lease, rendered for their channel and sent; retries back off; failures stay visible.
import type { FastifyBaseLogger } from 'fastify';
import type { AlertingStore, AppliedAck, HistoryEventRow, StoredChannel, StoredNotification } from '../store/alerting-rows.js';
import { EngineVersionConflict } from '../store/alerting-rows.js';
import type { Leadership } from '../store/types.js';
import { alertEventFromHistory, groupedFromNotification } from './alert-events.js';
import { createAlertChannel, type AlertChannelConfig } from './channel-config.js';
import { sendNotification } from './channels/factory.js';
import type { AlertChannel, SendResult } from './channels/types.js';
import { backoffMs } from './dispatcher.js';
import { HistoryGate } from './history-gate.js';
import { AlertEngine, handledSubjects, subjectAlertStates, type Notification, type Problem, type Rule, type Silence, type SubjectAlertState, type SuppressedEvent } from './engine/index.js';

export interface AlertingOptions {
  /** Base of dashboard links in messages, e.g. https://devstatus.example. */
  publicUrl: string;
  /** How often the engine and the outbox are looked at. */
  tickMs?: number;
  maxAttempts?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** A gap in history ids older than this is a rolled-back insert, not a transaction still in flight. */
  gapGraceMs?: number;
  /** Time zone of times in messages. */
  timeZone?: string;
  /** Delivered/failed notifications and suppressed events are kept this long. */
  retentionMs?: number;
}

/** With no rule stored, every enabled channel gets everything (box and camera, problems and recoveries). */
export const DEFAULT_RULE_ID = 'default';

interface LoadedEngine {
  engine: AlertEngine;
  version: number;
  cursor: number;
  /** Suppressed events from ingests not saved yet (saved with the next step). */
  suppressed: SuppressedEvent[];
  lastSaveAt: number;
}

/** The alert state the leader saved last, as a receiver that is not the leader reads it. */
interface StoredView {
  readAt: number;
  problems: Record<string, Problem>;
  silences: Silence[];
}

export class AlertingService {
  private readonly o: Required<AlertingOptions>;
  private loaded: LoadedEngine | null = null;
  private configDirty = true;
  /** No channel to send to: transitions are skipped, not fed to the engine (nothing to decide). */
  private noRoutes = true;
  private channels = new Map<string, StoredChannel>();
  private readonly clients = new Map<string, { updated_at: number; channel: AlertChannel }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private readonly gate: HistoryGate;
  private lastPrune = 0;
  /** When the configuration was last read: another receiver's API may have changed it. */
  private configReadAt = 0;
  /** Not the leader: the problems the leader saved last and the silences, re-read at most once a second. */
  private storedView: StoredView | null = null;

  constructor(
    private readonly store: AlertingStore,
    opts: AlertingOptions,
    private readonly leadership?: Leadership,
    private readonly log?: FastifyBaseLogger,
  ) {
    this.gate = new HistoryGate(opts.gapGraceMs ?? 5000);
    this.o = { tickMs: 1000, maxAttempts: 10, retryBaseMs: 1000, retryMaxMs: 300_000, gapGraceMs: 5000, timeZone: 'Asia/Shanghai', retentionMs: 30 * 86_400_000, ...opts };
  }

  start(): void {
    if (this.timer) return;
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.o.tickMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.running) await this.running;
  }

  /** Configuration changed (API): reload it at the next step, which runs now. */
  configChanged(): void {
    this.configDirty = true;
    // Not the leader: the next look at silences must not be the copy read before the change.
    this.storedView = null;
    this.kick();
  }

  /** Runs a step now (or right after the running one); resolves when that step is done. */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      do {
        this.again = false;
        await this.step(Date.now()).catch((err: unknown) => this.log?.error({ err }, 'alerting step failed'));
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = null;
    });
    this.running = run;
    return run;
  }

  private isLeader(): boolean {
    return !this.leadership || this.leadership.isLeader();
  }

  /** Open problems as the leader's engine sees them now (null: not the leader here). */
  liveProblems(): Problem[] | null {
    return this.loaded ? this.loaded.engine.problems() : null;
  }

  liveSilenced(now: number): { subject: string; silence_id: string; until: number | null }[] | null {
    return this.loaded ? this.loaded.engine.silencedProblems(now) : null;
  }

  /**
   * Acknowledged / silenced state of those of `subjects` with an open problem (one page of a
   * list): from the leader's engine here, else from what the leader saved last.
   */
  async subjectStates(subjects: readonly string[], now = Date.now()): Promise<Map<string, SubjectAlertState>> {
    if (subjects.length === 0) return new Map();
    if (this.loaded) return this.loaded.engine.subjectStates(subjects, now);
    const view = await this.stored(now);
    return subjectAlertStates(view.problems, view.silences, subjects, now);
  }

  /**
   * Subjects whose open problem is acknowledged or silenced now (the lists' handled=hide leaves
   * them out): from the leader's engine here, else from what the leader saved last.
   */
  async handledSubjects(now = Date.now()): Promise<string[]> {
    if (this.loaded) return this.loaded.engine.handledSubjects(now);
    const view = await this.stored(now);
    return handledSubjects(view.problems, view.silences, now);
  }

  /** What the leader saved last, read again when older than a second. */
  private async stored(now: number): Promise<StoredView> {
    if (!this.storedView || now - this.storedView.readAt > 1000 || now < this.storedView.readAt) {
      const [stored, silences] = await Promise.all([this.store.loadEngine(), this.store.listSilences()]);
      this.storedView = { readAt: now, problems: stored?.state.problems ?? {}, silences };
    }
    return this.storedView;
  }

  async step(now: number): Promise<void> {
    if (this.isLeader()) {
      try {
        await this.engineStep(now);
      } catch (err) {
        // Another receiver saved meanwhile (leadership moved): start over from what is stored.
        this.loaded = null;
        if (!(err instanceof EngineVersionConflict)) throw err;
      }
    } else {
      this.loaded = null;
    }
    await this.deliverDue();
    if (now - this.lastPrune > 3600_000 && this.isLeader()) {
      this.lastPrune = now;
      await this.store.pruneAlerting(now - this.o.retentionMs);
    }
  }

  /** Configuration is re-read when this receiver's API changed it, and every 5 s for other receivers' changes. */
  private configStale(): boolean {
    return this.configDirty || Date.now() - this.configReadAt > 5000;
  }

  private async reloadConfig(): Promise<void> {
    if (!this.configStale() && this.loaded) return;
    this.configDirty = false;
    this.configReadAt = Date.now();
    const [channels, rules, silences] = await Promise.all([this.store.listChannels(), this.store.listRules(), this.store.listSilences()]);
    this.channels = new Map(channels.map((c) => [c.id, c]));
    const enabled = new Set(channels.filter((c) => c.enabled).map((c) => c.id));
    const effective: Rule[] =
      rules.length > 0
        ? rules.map((r) => ({
            ...r,
            channels: r.channels.filter((c) => enabled.has(c)),
            escalate_channels: r.escalate_channels?.filter((c) => enabled.has(c)),
          }))
        : enabled.size > 0
          ? [{ id: DEFAULT_RULE_ID, name: 'default', channels: [...enabled] }]
          : [];
    this.noRoutes = effective.every((r) => r.channels.length === 0 && !r.escalate_channels?.length);
    if (this.loaded) {
      this.loaded.engine.setRules(effective);
      this.loaded.engine.setSilences(silences);
    } else {
      const stored = await this.store.loadEngine();
      // A first start begins at the newest transition: months of old history are not news.
      const cursor = stored?.cursor ?? (await this.store.lastHistoryId());
      const engine = new AlertEngine({ rules: effective, silences }, stored?.state);
      this.loaded = { engine, version: stored?.version ?? 0, cursor, suppressed: [], lastSaveAt: stored ? Date.now() : 0 };
    }
  }

  private async engineStep(now: number): Promise<void> {
    await this.reloadConfig();
    const l = this.loaded!;
    const acks: AppliedAck[] = [];
    for (const a of await this.store.pendingAcks()) {
      const ok = a.action === 'ack' ? l.engine.acknowledge(a.subject, { by: a.by, at: a.at, note: a.note }) : l.engine.unacknowledge(a.subject);
      acks.push({ id: a.id, result: ok ? 'applied' : 'not_open' });
    }
    const cursorBefore = l.cursor;
    if (this.noRoutes) {
      // Nothing configured: move past what was stored (a channel added later starts from now)
      // without writing a "no_route" row per transition during every report.
      const last = await this.store.lastHistoryId();
      if (last > l.cursor) l.engine.ingest([], now, String((l.cursor = last)));
    }
    for (; !this.noRoutes; ) {
      const rows = await this.store.historyEventsAfter(l.cursor, 5000);
      const usable = this.gate.usable(rows, l.cursor, now);
      if (usable.length === 0) break;
      l.cursor = usable[usable.length - 1]!.id;
      const out = l.engine.ingest(usable.map(alertEventFromHistory), now, String(l.cursor));
      l.suppressed.push(...out.suppressed);
      if (usable.length < rows.length || rows.length < 5000) break;
    }
    let notifications: Notification[] = [];
    const wake = l.engine.nextWakeAt();
    if (wake !== null && wake <= now) {
      const out = l.engine.flush(now);
      notifications = out.notifications;
      l.suppressed.push(...out.suppressed);
    }
    const idleSave = l.cursor !== cursorBefore && now - l.lastSaveAt > 30_000;
    if (notifications.length === 0 && l.suppressed.length === 0 && acks.length === 0 && !idleSave && l.version > 0) return;
    annotateReminders(notifications, l.engine);
    l.version = await this.store.saveEngineStep({
      expectedVersion: l.version,
      state: l.engine.snapshot(),
      cursor: l.cursor,
      notifications,
      suppressed: l.suppressed,
      acks,
      now,
    });
    l.suppressed = [];
    l.lastSaveAt = now;
  }

  private clientFor(id: string): AlertChannel | null {
    const c = this.channels.get(id);
    if (!c) return null;
    const cached = this.clients.get(id);
    if (cached && cached.updated_at === c.updated_at) return cached.channel;
    const channel = createAlertChannel(c.config as unknown as AlertChannelConfig);
    this.clients.set(id, { updated_at: c.updated_at, channel });
    return channel;
  }

  /** Claims due notifications and sends them: in order per channel, channels in parallel. */
  async deliverDue(): Promise<void> {
    if (!this.loaded && this.configStale()) {
      this.configDirty = false;
      this.configReadAt = Date.now();
      this.channels = new Map((await this.store.listChannels()).map((c) => [c.id, c]));
    }
    for (let round = 0; round < 20 && !this.stopped; round++) {
      const now = Date.now();
      const due = await this.store.claimDueNotifications(now, now + 60_000, 50);
      if (due.length === 0) return;
      const byChannel = new Map<string, StoredNotification[]>();
      for (const n of due) byChannel.set(n.channel, [...(byChannel.get(n.channel) ?? []), n]);
      await Promise.all(
        [...byChannel.values()].map(async (list) => {
          for (const n of list) await this.deliver(n);
        }),
      );
    }
  }

  private async deliver(n: StoredNotification): Promise<void> {
    const stored = this.channels.get(n.channel);
    let result: SendResult;
    if (!stored) result = { outcome: 'failed', code: null, message: `channel ${n.channel} no longer exists` };
    else if (!stored.enabled) result = { outcome: 'failed', code: null, message: `channel ${n.channel} is disabled` };
    else {
      try {
        const client = this.clientFor(n.channel)!;
        const reminderCount = (n.notification as Notification & { reminder_count?: number }).reminder_count;
        const grouped = groupedFromNotification(n.notification, { base: this.o.publicUrl, now: Date.now(), reminderCount });
        result = await sendNotification(client, grouped, { timeZone: this.o.timeZone });
      } catch (err) {
        result = { outcome: 'retry', retryAfterMs: 0, code: null, message: err instanceof Error ? err.message : String(err) };
      }
    }
    const now = Date.now();
    const attempts = n.attempts + 1;
    if (result.outcome === 'delivered') {
      await this.store.recordNotificationResult(n.id, attempts, { now, status: 'delivered', next_at: null, error: null });
      return;
    }
    const error = result.code === null ? result.message : `${String(result.code)}: ${result.message}`;
    const giveUp = result.outcome === 'failed' || attempts >= this.o.maxAttempts;
    const nextAt = giveUp ? null : now + Math.max(result.outcome === 'retry' ? result.retryAfterMs : 0, backoffMs(attempts, this.o.retryBaseMs, this.o.retryMaxMs));
    await this.store.recordNotificationResult(n.id, attempts, { now, status: giveUp ? 'failed' : 'pending', next_at: nextAt, error });
    if (giveUp) this.log?.warn({ notification: n.id, channel: n.channel, attempts, error }, 'alert notification failed for good');
    else this.log?.info({ notification: n.id, channel: n.channel, attempts, error }, 'alert notification failed; will retry');
  }

  /** Sends a test message to a stored channel now (not through the outbox): the answer is for the person who asked. */
  async sendTest(c: StoredChannel, now = Date.now()): Promise<SendResult> {
    const client = createAlertChannel(c.config as unknown as AlertChannelConfig);
    try {
      return await sendNotification(
        client,
        { kind: 'test', group: { key: 'test', label: c.name }, changes: [], at: new Date(now).toISOString(), link: `${this.o.publicUrl.replace(/\/+$/, '')}/#/` },
        { timeZone: this.o.timeZone },
      );
    } finally {
      await client.close?.();
    }
  }
}

/** Reminder messages say which reminder they are: the count the engine keeps per problem and rule. */
function annotateReminders(ns: Notification[], engine: AlertEngine): void {
  if (!ns.some((n) => n.kind === 'reminder')) return;
  const problems = new Map(engine.problems().map((p) => [p.subject, p]));
  for (const n of ns) {
    if (n.kind !== 'reminder') continue;
    let count = 1;
    for (const i of n.items) count = Math.max(count, problems.get(i.subject)?.notices[n.rule_id]?.reminders_sent ?? 1);
    (n as Notification & { reminder_count?: number }).reminder_count = count;
  }
}
