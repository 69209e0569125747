// Reminders and escalation of open problems. Per (problem, rule): an unacknowledged problem
// is re-notified every reminder_every_min, and once escalate_after_min after it began it is
// sent once to escalate_channels. Acknowledging or recovering stops both. While a problem is
// silenced or flapping its reminders are pushed back, not saved up: when a silence ends
// nothing fires at once; a still-open problem gets the rule's next reminder one reminder
// interval (and its escalation one escalation delay) after the silence ended.
import { boxSubject, route, timingOf } from './routing.js';
import type { Problem, ProblemNotice, Rule } from './types.js';

/** Makes sure the problem has bookkeeping for every rule it routes to now. */
export function ensureNotices(p: Problem, rules: readonly Rule[]): Rule[] {
  const matched = uniqueRules(rules, p);
  for (const rule of matched) {
    if (p.notices[rule.id]) continue;
    const t = timingOf(rule);
    p.notices[rule.id] = {
      rule_id: rule.id,
      last_notified_at: null,
      reminders_sent: 0,
      next_reminder_at: t.reminderEveryMs === null ? null : p.since + t.reminderEveryMs,
      escalation_due_at: t.escalateAfterMs === null ? null : p.since + t.escalateAfterMs,
      escalated_at: null,
    };
  }
  return matched;
}

/** ensureNotices, and rules that no longer route the problem stop reminding it. */
export function syncNotices(p: Problem, rules: readonly Rule[]): Rule[] {
  const matched = ensureNotices(p, rules);
  for (const id of Object.keys(p.notices)) if (!matched.some((r) => r.id === id)) delete p.notices[id];
  return matched;
}

function uniqueRules(rules: readonly Rule[], p: Problem): Rule[] {
  const out: Rule[] = [];
  for (const t of route(rules, p.event)) if (!out.includes(t.rule)) out.push(t.rule);
  return out;
}

/** A notification went out that named the problem under this rule. */
export function markNotified(p: Problem, rule: Rule, now: number): void {
  const n = p.notices[rule.id];
  if (!n) return;
  n.last_notified_at = now;
  const every = timingOf(rule).reminderEveryMs;
  n.next_reminder_at = every === null ? null : now + every;
}

export interface DueNotice {
  problem: Problem;
  rule: Rule;
  kind: 'reminder' | 'escalation';
  channels: string[];
}

export interface ReminderContext {
  now: number;
  rules: readonly Rule[];
  /** When the problem is silenced now: when that silence ends (else null). */
  silencedUntil: (p: Problem) => number | null;
  flapping: (p: Problem) => boolean;
  isOpen: (subject: string) => boolean;
}

/** Reminders and escalations due now; advances their bookkeeping as it hands them out. */
export function dueNotices(problems: Iterable<Problem>, ctx: ReminderContext): DueNotice[] {
  const out: DueNotice[] = [];
  const { now } = ctx;
  for (const p of problems) {
    if (p.acknowledged || !anyDue(p, now)) continue;
    const matched = syncNotices(p, ctx.rules);
    // A camera of a box that is itself down is covered by the box's reminders.
    const covered = p.kind === 'sub_device' && ctx.isOpen(boxSubject(p.event.dev_sno));
    for (const rule of matched) {
      const n = p.notices[rule.id]!;
      const t = timingOf(rule);
      const remind = t.reminderEveryMs !== null && n.next_reminder_at !== null && n.next_reminder_at <= now;
      const escalate = n.escalated_at === null && n.escalation_due_at !== null && n.escalation_due_at <= now;
      if (!remind && !escalate) continue;
      const silencedUntil = ctx.silencedUntil(p);
      if (silencedUntil !== null) {
        // The cadence restarts when the silence ends: nothing fires at the moment of expiry.
        if (remind) n.next_reminder_at = silencedUntil + t.reminderEveryMs!;
        if (escalate) n.escalation_due_at = silencedUntil + t.escalateAfterMs!;
        continue;
      }
      if (covered || ctx.flapping(p)) {
        if (remind) n.next_reminder_at = now + t.reminderEveryMs!;
        if (escalate) n.escalation_due_at = now + (t.reminderEveryMs ?? t.escalateAfterMs!);
        continue;
      }
      if (remind) {
        n.reminders_sent++;
        n.next_reminder_at = now + t.reminderEveryMs!;
        out.push({ problem: p, rule, kind: 'reminder', channels: rule.channels });
      }
      if (escalate) {
        n.escalated_at = now;
        out.push({ problem: p, rule, kind: 'escalation', channels: rule.escalate_channels ?? [] });
      }
    }
  }
  return out;
}

function anyDue(p: Problem, now: number): boolean {
  for (const id in p.notices) {
    const n = p.notices[id]!;
    if ((n.next_reminder_at !== null && n.next_reminder_at <= now) || (n.escalated_at === null && n.escalation_due_at !== null && n.escalation_due_at <= now)) {
      return true;
    }
  }
  return false;
}

/** Earliest time a reminder or escalation may fall due (null: none). */
export function nextNoticeAt(problems: Iterable<Problem>): number | null {
  let at: number | null = null;
  const take = (t: number | null) => {
    if (t !== null && (at === null || t < at)) at = t;
  };
  for (const p of problems) {
    if (p.acknowledged) continue;
    for (const id in p.notices) {
      const n: ProblemNotice = p.notices[id]!;
      take(n.next_reminder_at);
      if (n.escalated_at === null) take(n.escalation_due_at);
    }
  }
  return at;
}
