// The alert decision engine: transitions in, notifications and suppressed events out, driven
// by an explicit clock. ingest() records events; flush(now) settles flapping subjects, queues
// due reminders/escalations and sends due groups. Call flush when nextWakeAt() says.
// Every event ends up in exactly one notification per channel it routes to, or in the
// suppressed list (with the reason): nothing is dropped.
import { SlidingWindowBudget, type ChannelBudget } from './budget.js';
import { ENGINE_DEFAULTS } from './defaults.js';
import { isStale, observeChange, settlesAt, type FlapThresholds } from './flapping.js';
import { AlertGrouper, classify } from './grouping.js';
import { dueNotices, ensureNotices, markNotified, nextNoticeAt, syncNotices } from './reminders.js';
import { boxSubject, groupKeyOf, isNews, isProblemStatus, route, subjectOf, timingOf, type RouteTarget } from './routing.js';
import { findSilence, silenceEndsAt } from './silences.js';
import { testNotification } from './notification.js';
import { handledSubjects, subjectAlertStates, type SubjectAlertState } from './subject-state.js';
import { emptyState, type AlertEngineState } from './state.js';
import type { Acknowledgement, AlertEvent, EngineOutput, ItemChange, Notification, NotificationItem, Problem, Rule, Silence, SuppressedEvent } from './types.js';

export interface AlertEngineConfig {
  rules: Rule[];
  silences?: Silence[];
  flap?: Partial<FlapThresholds>;
  /** Defaults to a sliding-window budget with the chat bots' limits (kept in the snapshot). */
  budget?: ChannelBudget;
}

export class AlertEngine {
  private rules: Rule[];
  private silences: Silence[];
  private readonly flap: FlapThresholds;
  private readonly state: AlertEngineState;
  private readonly grouper: AlertGrouper;
  private readonly budget: ChannelBudget;
  private readonly ownBudget: SlidingWindowBudget | null;
  /**
   * Earliest reminder/escalation time, or undefined when it must be recomputed. Ingest only
   * lowers it and sends only push reminders later (a too-early wake costs one idle flush).
   */
  private noticeHint: number | null | undefined = undefined;
  /** Subjects flapping now (derived from state.flaps, so not in the snapshot). */
  private readonly flapping = new Set<string>();
  private lastFlapPrune = Number.NEGATIVE_INFINITY;

  constructor(config: AlertEngineConfig, state: AlertEngineState = emptyState()) {
    this.rules = config.rules;
    this.silences = config.silences ?? [];
    this.flap = { ...pickFlap(ENGINE_DEFAULTS), ...config.flap };
    this.state = structuredClone(state);
    this.grouper = new AlertGrouper(this.state.grouper);
    this.ownBudget = config.budget ? null : new SlidingWindowBudget(undefined, this.state.budget);
    this.budget = config.budget ?? this.ownBudget!;
    for (const [subject, f] of Object.entries(this.state.flaps)) if (f.flapping) this.flapping.add(subject);
  }

  setRules(rules: Rule[]): void {
    this.rules = rules;
    for (const p of Object.values(this.state.problems)) syncNotices(p, rules);
    this.noticeHint = undefined;
  }

  setSilences(silences: Silence[]): void {
    this.silences = silences;
    this.noticeHint = undefined;
  }

  /** Open problems (offline / unknown subjects), oldest first (copies). */
  problems(): Problem[] {
    return structuredClone(Object.values(this.state.problems).sort((a, b) => a.since - b.since));
  }

  /** Open problems an active silence covers now, with the silence: what the API shows as silenced. */
  silencedProblems(now: number): { subject: string; silence_id: string; until: number | null }[] {
    const out: { subject: string; silence_id: string; until: number | null }[] = [];
    for (const p of this.problems()) {
      const s = findSilence(this.silences, p.event, now);
      if (s) out.push({ subject: p.subject, silence_id: s.id, until: silenceEndsAt(s, now) });
    }
    return out;
  }

  /** Subjects whose open problem is acknowledged or silenced now. */
  handledSubjects(now: number): string[] {
    return handledSubjects(this.state.problems, this.silences, now);
  }

  /** Acknowledged / silenced state of those of `subjects` with an open problem (one page of a list). */
  subjectStates(subjects: Iterable<string>, now: number): Map<string, SubjectAlertState> {
    return subjectAlertStates(this.state.problems, this.silences, subjects, now);
  }

  /** Acknowledges an open problem: its reminders and escalation stop. False when not open. */
  acknowledge(subject: string, ack: Acknowledgement): boolean {
    const p = this.state.problems[subject];
    if (!p) return false;
    p.acknowledged = { ...ack };
    this.grouper.removeWhere((i) => i.subject === subject && (i.change === 'reminder' || i.change === 'escalation'));
    return true;
  }

  /** Withdraws an acknowledgement: reminders and escalation resume. False when not open or not acknowledged. */
  unacknowledge(subject: string): boolean {
    const p = this.state.problems[subject];
    if (!p?.acknowledged) return false;
    p.acknowledged = null;
    this.noticeHint = undefined;
    return true;
  }

  /** Records transitions; `cursor` (e.g. the last history id) is kept in the snapshot. */
  ingest(events: readonly AlertEvent[], now: number, cursor?: string): EngineOutput {
    const suppressed: SuppressedEvent[] = [];
    for (const e of events) this.ingestOne(e, now, suppressed);
    if (cursor !== undefined) this.state.cursor = cursor;
    return { notifications: [], suppressed };
  }

  private ingestOne(e: AlertEvent, now: number, suppressed: SuppressedEvent[]): void {
    const subject = subjectOf(e);
    const skip = (reason: SuppressedEvent['reason'], extra: Partial<SuppressedEvent> = {}) =>
      suppressed.push({ event_id: e.id, subject, reason, channel: null, at: now, ...extra });
    const closed = this.trackProblem(subject, e);
    if (!isNews(e)) return void skip('not_news');
    const silence = findSilence(this.silences, e, e.at);
    if (silence) return void skip('silenced', { silence_id: silence.id });
    const targets = route(this.rules, e);
    // Recoveries also reach the channels a problem was escalated to.
    for (const rule of closed?.escalatedRules ?? []) {
      for (const channel of rule.escalate_channels ?? []) {
        if (!targets.some((t) => t.channel === channel)) targets.push({ channel, rule });
      }
    }
    if (targets.length === 0) return void skip('no_route');
    const box = boxSubject(e.dev_sno);
    const coveredOn = this.coveredByBox(e, box);
    if (targets.every((t) => coveredOn.has(t.channel))) {
      for (const t of targets) skip('covered_by_box', { covered_by: box, channel: t.channel });
      return;
    }
    const flap = observeChange(this.state.flaps[subject], e, this.flap);
    this.state.flaps[subject] = flap.state;
    if (flap.state.flapping) this.flapping.add(subject);
    if (flap.verdict === 'held') return; // goes out with the "settled" line
    const change: ItemChange = flap.verdict === 'started' ? 'flapping' : classify(e.from, e.to);
    const since = this.state.problems[subject]?.since ?? e.at;
    for (const target of targets) {
      if (coveredOn.has(target.channel)) {
        skip('covered_by_box', { covered_by: box, channel: target.channel });
        continue;
      }
      if (change === 'recovery' && target.rule.send_recoveries === false) {
        skip('recoveries_off', { channel: target.channel });
        continue;
      }
      this.addItem(target, e, { change, from: e.from, to: e.to, since, covered: [e.id] }, now);
    }
  }

  /** Opens, updates or closes the subject's problem. Returns what closed, if anything. */
  private trackProblem(subject: string, e: AlertEvent): { escalatedRules: Rule[] } | null {
    const prior = this.state.problems[subject];
    if (isProblemStatus(e.to)) {
      const p: Problem = prior
        ? { ...prior, status: e.to, event: e }
        : { subject, kind: e.kind, status: e.to, since: e.at, event: e, acknowledged: null, notices: {} };
      this.state.problems[subject] = p;
      ensureNotices(p, this.rules);
      this.lowerWake(nextNoticeAt([p]));
      return null;
    }
    if (!prior) return null;
    delete this.state.problems[subject];
    const escalated = Object.values(prior.notices).filter((n) => n.escalated_at !== null).map((n) => n.rule_id);
    return { escalatedRules: this.rules.filter((r) => escalated.includes(r.id)) };
  }

  /**
   * Channels on which a camera's trouble adds nothing: its box is down and the box's line
   * already went out there (a box line still waiting in the group takes the camera in).
   */
  private coveredByBox(e: AlertEvent, box: string): ReadonlySet<string> {
    const boxProblem = this.state.problems[box];
    if (e.kind !== 'sub_device' || !isProblemStatus(e.to) || !boxProblem) return NO_CHANNELS;
    const channels = new Set(route(this.rules, boxProblem.event).map((t) => t.channel));
    for (const g of Object.values(this.state.grouper.groups)) if (g.pending[box] !== undefined) channels.delete(g.channel);
    return channels;
  }

  private addItem(
    target: RouteTarget,
    e: AlertEvent,
    line: { change: ItemChange; from: string | null; to: string; since: number; covered: string[] },
    now: number,
  ): void {
    const item: NotificationItem = {
      subject: subjectOf(e),
      kind: e.kind,
      rule_id: target.rule.id,
      change: line.change,
      event: e,
      from: line.from,
      to: line.to,
      since: line.since,
      covered_event_ids: line.covered,
    };
    this.grouper.add(target, groupKeyOf(timingOf(target.rule).groupBy, e), item, now);
  }

  flush(now: number): EngineOutput {
    const suppressed: SuppressedEvent[] = [];
    this.settleFlapping(now, suppressed);
    this.queueNotices(now);
    // Lines whose subject got silenced (or acknowledged / recovered, for reminders) since they were queued.
    const removed = this.grouper.removeWhere((i) => {
      if (i.change === 'reminder' || i.change === 'escalation') {
        const p = this.state.problems[i.subject];
        return !p || p.acknowledged !== null;
      }
      return findSilence(this.silences, i.event, now) !== null;
    }, now);
    for (const { group, item } of removed) {
      const s = findSilence(this.silences, item.event, now);
      for (const id of item.covered_event_ids) {
        suppressed.push({ event_id: id, subject: item.subject, reason: 'silenced', channel: group.channel, at: now, ...(s ? { silence_id: s.id } : {}) });
      }
    }
    const notifications = this.grouper.flush(now, this.budget);
    for (const n of notifications) {
      for (const item of n.items.flatMap((i) => [i, ...(i.cameras ?? [])])) {
        const p = this.state.problems[item.subject];
        const rule = this.rules.find((r) => r.id === item.rule_id);
        if (p && rule && item.change !== 'escalation') markNotified(p, rule, now);
      }
    }
    if (this.ownBudget) this.state.budget = this.ownBudget.snapshot();
    return { notifications, suppressed };
  }

  private settleFlapping(now: number, suppressed: SuppressedEvent[]): void {
    if (now - this.lastFlapPrune >= this.flap.flapWindowMs / 10) {
      this.lastFlapPrune = now;
      for (const [subject, f] of Object.entries(this.state.flaps)) if (isStale(f, now, this.flap)) delete this.state.flaps[subject];
    }
    for (const subject of [...this.flapping]) {
      const f = this.state.flaps[subject]!;
      const at = settlesAt(f, this.flap);
      if (at !== null && at > now) continue;
      delete this.state.flaps[subject];
      this.flapping.delete(subject);
      const e = f.last_event;
      const silence = findSilence(this.silences, e, now);
      if (silence) {
        for (const id of f.held_event_ids) suppressed.push({ event_id: id, subject, reason: 'silenced', channel: null, silence_id: silence.id, at: now });
        continue;
      }
      const targets = route(this.rules, e);
      if (targets.length === 0) {
        for (const id of f.held_event_ids) suppressed.push({ event_id: id, subject, reason: 'no_route', channel: null, at: now });
        continue;
      }
      const since = this.state.problems[subject]?.since ?? e.at;
      for (const t of targets) {
        this.addItem(t, e, { change: 'settled', from: f.notified_status, to: e.to, since, covered: [...f.held_event_ids] }, now);
      }
    }
  }

  private queueNotices(now: number): void {
    const hint = this.noticeAt();
    if (hint === null || hint > now) return;
    this.noticeHint = undefined;
    const due = dueNotices(Object.values(this.state.problems), {
      now,
      rules: this.rules,
      silencedUntil: (p) => {
        const s = findSilence(this.silences, p.event, now);
        return s ? (silenceEndsAt(s, now) ?? now + 60_000) : null;
      },
      flapping: (p) => this.flapping.has(p.subject),
      isOpen: (subject) => this.state.problems[subject] !== undefined,
    });
    for (const d of due) {
      for (const channel of d.channels) {
        const p = d.problem;
        this.addItem({ channel, rule: d.rule }, p.event, { change: d.kind, from: p.status, to: p.status, since: p.since, covered: [] }, now);
      }
    }
  }

  /** A "test" notification for a channel, within its budget (else when to try again). */
  testNotification(channel: string, now: number): { notification: Notification } | { retry_at: number } {
    if (this.budget.available(channel, now) <= 0) return { retry_at: this.budget.availableAt(channel, now) };
    this.budget.take(channel, now);
    if (this.ownBudget) this.state.budget = this.ownBudget.snapshot();
    return { notification: testNotification(this.grouper.nextId(channel), channel, now) };
  }

  /** When flush() should next be called (null: nothing is waiting). */
  nextWakeAt(): number | null {
    let at = minTime(this.noticeAt(), this.grouper.nextDueAt());
    for (const subject of this.flapping) at = minTime(at, settlesAt(this.state.flaps[subject]!, this.flap));
    return at;
  }

  private noticeAt(): number | null {
    if (this.noticeHint === undefined) this.noticeHint = nextNoticeAt(Object.values(this.state.problems));
    return this.noticeHint;
  }

  private lowerWake(at: number | null): void {
    if (this.noticeHint !== undefined) this.noticeHint = minTime(this.noticeHint, at);
  }

  /** A copy of everything needed to continue after a restart (see state.ts). */
  snapshot(): AlertEngineState {
    if (this.ownBudget) this.state.budget = this.ownBudget.snapshot();
    return structuredClone(this.state);
  }
}

const NO_CHANNELS: ReadonlySet<string> = new Set();

function minTime(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

function pickFlap(d: FlapThresholds): FlapThresholds {
  return { flapChanges: d.flapChanges, flapWindowMs: d.flapWindowMs, flapSettleMs: d.flapSettleMs };
}
