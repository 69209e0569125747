// Grouping in the spirit of Alertmanager's group_by / group_wait / group_interval, driven by
// an explicit clock (no timers: the caller asks nextDueAt() and calls flush(now) then).
// Per (channel, rule, group key): the first item opens the group and waits group_wait, then
// the group sends at most once per group_interval. Items are one line per subject; a box in
// trouble takes its cameras' lines into its own. A channel without budget gets the overflow
// folded into one digest, or waits until it has budget again.
import type { ChannelBudget } from './budget.js';
import { ENGINE_DEFAULTS } from './defaults.js';
import { buildNotification, FLAPPISH, NOTICE_ONLY, rank, severityOfItems } from './notification.js';
import { isProblemStatus, timingOf, type RouteTarget } from './routing.js';
import type { ItemChange, Notification, NotificationItem, Severity, SubjectKey } from './types.js';

export interface GroupState {
  id: string;
  channel: string;
  rule_id: string;
  key: string;
  label: string;
  group_interval_ms: number;
  group_wait_ms: number;
  last_sent_at: number | null;
  next_flush_at: number | null;
  /** Set while the group is due but waits for its channel's budget: it goes out as soon as there is some. */
  due_since?: number | null;
  /** One pending line per subject, in arrival order. */
  pending: Record<SubjectKey, NotificationItem>;
}

/** Invariant: a group has pending lines exactly when next_flush_at is set. */
export interface GrouperState {
  groups: Record<string, GroupState>;
  /** Per channel, for deterministic notification ids. */
  seq: Record<string, number>;
  /** Per channel short of budget: when its held digest goes out. */
  holds: Record<string, number>;
}

export class AlertGrouper {
  constructor(readonly state: GrouperState = { groups: {}, seq: {}, holds: {} }) {}

  /** Adds a line (or merges it into the subject's pending line) to its group. */
  add(target: RouteTarget, group: { key: string; label: string }, item: NotificationItem, now: number): void {
    const id = `${target.channel}|${target.rule.id}|${group.key}`;
    let g = this.state.groups[id];
    if (!g) {
      const t = timingOf(target.rule);
      g = {
        id,
        channel: target.channel,
        rule_id: target.rule.id,
        key: group.key,
        label: group.label,
        group_interval_ms: t.groupIntervalMs,
        group_wait_ms: t.groupWaitMs,
        last_sent_at: null,
        next_flush_at: null,
        pending: {},
      };
      this.state.groups[id] = g;
    }
    if (g.next_flush_at === null) {
      const intervalEnds = g.last_sent_at === null ? null : g.last_sent_at + g.group_interval_ms;
      // Inside the interval after a send: wait for its end. Otherwise a fresh group_wait.
      // Reminders are gathered already (all due ones are queued at once): no group_wait for them.
      const wait = NOTICE_ONLY.has(item.change) ? 0 : g.group_wait_ms;
      g.next_flush_at = intervalEnds !== null && now < intervalEnds ? intervalEnds : now + wait;
    }
    g.pending[item.subject] = mergeItem(g.pending[item.subject], item);
  }

  /** Removes pending lines the predicate picks (e.g. silenced after they were queued), of groups due by dueBy if given. */
  removeWhere(pick: (item: NotificationItem, g: GroupState) => boolean, dueBy?: number): { group: GroupState; item: NotificationItem }[] {
    const out: { group: GroupState; item: NotificationItem }[] = [];
    for (const id in this.state.groups) {
      const g = this.state.groups[id]!;
      if (g.next_flush_at === null || (dueBy !== undefined && !isDue(g, dueBy))) continue;
      for (const [subject, item] of Object.entries(g.pending)) {
        if (!pick(item, g)) continue;
        out.push({ group: g, item });
        delete g.pending[subject];
      }
      if (isEmpty(g.pending)) {
        g.next_flush_at = null;
        g.due_since = null;
      }
    }
    return out;
  }

  nextDueAt(): number | null {
    let at: number | null = null;
    for (const id in this.state.groups) {
      const g = this.state.groups[id]!;
      if (g.next_flush_at !== null && (at === null || g.next_flush_at < at)) at = g.next_flush_at;
    }
    return at;
  }

  /** Sends every due group within the channels' budgets. */
  flush(now: number, budget: ChannelBudget): Notification[] {
    const due: GroupState[] = [];
    for (const id in this.state.groups) {
      const g = this.state.groups[id]!;
      if (isDue(g, now)) due.push(g);
    }
    // When budget is short, the most urgent groups go out on their own first.
    const urgency = new Map(due.map((g) => [g, rank(groupSeverity(g))]));
    const dueAt = (g: GroupState) => g.due_since ?? g.next_flush_at!;
    due.sort((a, b) => urgency.get(b)! - urgency.get(a)! || dueAt(a) - dueAt(b) || (a.id < b.id ? -1 : 1));
    const byChannel = new Map<string, GroupState[]>();
    for (const g of due) {
      const list = byChannel.get(g.channel);
      if (list) list.push(g);
      else byChannel.set(g.channel, [g]);
    }
    const out: Notification[] = [];
    for (const [channel, groups] of byChannel) out.push(...this.flushChannel(channel, groups, now, budget));
    this.collect(now);
    return out;
  }

  /**
   * With budget to spare each group goes alone (the overflow in one digest). When the budget
   * is down to its last few messages, due groups are held a moment and go out as one digest;
   * with none left they wait for the budget.
   */
  private flushChannel(channel: string, groups: GroupState[], now: number, budget: ChannelBudget): Notification[] {
    const avail = budget.available(channel, now);
    const { digestReserve, digestHoldMs } = ENGINE_DEFAULTS;
    const postpone = (until: number) => {
      for (const g of groups) {
        g.due_since ??= g.next_flush_at;
        g.next_flush_at = Math.max(until, now + 1);
      }
      return [];
    };
    if (avail <= 0) return postpone(budget.availableAt(channel, now));
    if (avail <= digestReserve) {
      const hold = this.state.holds[channel];
      // Gather until the hold ends, or until the budget has room to spare again, if sooner.
      const roomAt = budget.availableAt(channel, now, digestReserve + 1);
      if (hold === undefined) {
        this.state.holds[channel] = now + digestHoldMs;
        return postpone(Math.min(now + digestHoldMs, roomAt));
      }
      if (now < hold) return postpone(Math.min(hold, roomAt));
      delete this.state.holds[channel];
      return [this.send(channel, groups, now, budget)];
    }
    delete this.state.holds[channel];
    const alone = groups.slice(0, avail - digestReserve);
    const out = alone.map((g) => this.send(channel, [g], now, budget));
    const rest = groups.slice(alone.length);
    if (rest.length > 0) out.push(this.send(channel, rest, now, budget));
    return out;
  }

  /** Deterministic notification ids: `<channel>#<n>`, continued across restarts. */
  nextId(channel: string): string {
    const seq = (this.state.seq[channel] ?? 0) + 1;
    this.state.seq[channel] = seq;
    return `${channel}#${seq}`;
  }

  private send(channel: string, groups: GroupState[], now: number, budget: ChannelBudget): Notification {
    const lines = groups.flatMap((g) => Object.values(g.pending));
    for (const g of groups) {
      g.pending = {};
      g.last_sent_at = now;
      g.next_flush_at = null;
      g.due_since = null;
    }
    budget.take(channel, now);
    const first = groups[0]!;
    const digest = groups.length > 1;
    const head = {
      id: this.nextId(channel),
      channel,
      rule_id: first.rule_id,
      group_key: digest ? 'digest' : first.key,
      group_label: digest ? `${groups.length} groups` : first.label,
      created_at: now,
    };
    return buildNotification(digest ? { ...head, folded_groups: groups.map((g) => g.key) } : head, lines);
  }


  /** Forgets groups with nothing pending whose interval has ended. */
  private collect(now: number): void {
    for (const id in this.state.groups) {
      const g = this.state.groups[id]!;
      if (g.next_flush_at !== null) continue;
      if (g.last_sent_at === null || now >= g.last_sent_at + g.group_interval_ms) delete this.state.groups[id];
    }
  }
}

function isDue(g: GroupState, now: number): boolean {
  return g.next_flush_at !== null && (g.next_flush_at <= now || (g.due_since ?? null) !== null);
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** What a line says when `from` → `to` over all its transitions. */
export function classify(from: string | null, to: string): ItemChange {
  if (from !== null && from === to) return 'blip';
  if (isProblemStatus(to)) return 'problem';
  if (to === 'online') return 'recovery';
  return 'change';
}

function mergeItem(prior: NotificationItem | undefined, next: NotificationItem): NotificationItem {
  if (!prior) return next;
  // A real change says more than a reminder; a reminder adds nothing to a pending change.
  if (NOTICE_ONLY.has(prior.change) && !NOTICE_ONLY.has(next.change)) return next;
  if (NOTICE_ONLY.has(next.change)) return prior;
  const covered = [...prior.covered_event_ids, ...next.covered_event_ids];
  const change: ItemChange = FLAPPISH.has(next.change)
    ? next.change
    : FLAPPISH.has(prior.change)
      ? prior.change
      : classify(prior.from, next.to);
  return { ...next, from: prior.from, covered_event_ids: covered, change, since: change === 'blip' ? prior.since : next.since };
}

function groupSeverity(g: GroupState): Severity {
  return severityOfItems(Object.values(g.pending));
}
