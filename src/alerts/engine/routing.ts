// Routing: which rules (and so which channels) an event goes to, and how it is grouped.
import { ENGINE_DEFAULTS } from './defaults.js';
import type { AlertEvent, GroupBy, Rule, Severity, SubjectKey } from './types.js';

export function subjectOf(e: Pick<AlertEvent, 'dev_sno' | 'ep_id'>): SubjectKey {
  return e.ep_id === null ? `box:${e.dev_sno}` : `sub:${e.ep_id}`;
}

export function boxSubject(devSno: string): SubjectKey {
  return `box:${devSno}`;
}

/** A box offline takes all its cameras with it: critical. One camera: warning. */
export function severityOf(e: Pick<AlertEvent, 'kind'>): Severity {
  return e.kind === 'box' ? 'critical' : 'warning';
}

export function isProblemStatus(status: string | null): boolean {
  return status !== null && ENGINE_DEFAULTS.problemStatuses.includes(status);
}

/** A device appearing online for the first time is not news. */
export function isNews(e: AlertEvent): boolean {
  return !(e.from === null && e.to === 'online');
}

function anyOf(list: string[] | undefined, ...values: (string | null)[]): boolean {
  if (!list || list.length === 0) return true;
  return values.some((v) => v !== null && list.includes(v));
}

export function ruleMatches(rule: Rule, e: AlertEvent): boolean {
  const m = rule.match ?? {};
  return (
    anyOf(m.kinds, e.kind) &&
    anyOf(m.severities, severityOf(e)) &&
    anyOf(m.locations, e.location_id, e.location_name) &&
    anyOf(m.groups, e.group) &&
    anyOf(m.boxes, e.dev_sno)
  );
}

export interface RouteTarget {
  channel: string;
  rule: Rule;
}

/**
 * Every matching rule contributes its channels; a channel reached by several rules takes
 * the first (rules are ordered), so an event goes to each channel once.
 */
export function route(rules: readonly Rule[], e: AlertEvent): RouteTarget[] {
  const out: RouteTarget[] = [];
  const seen = new Set<string>();
  for (const rule of rules) {
    if (!ruleMatches(rule, e)) continue;
    for (const channel of rule.channels) {
      if (seen.has(channel)) continue;
      seen.add(channel);
      out.push({ channel, rule });
    }
  }
  return out;
}

export function groupKeyOf(groupBy: GroupBy, e: AlertEvent): { key: string; label: string } {
  switch (groupBy) {
    case 'box':
      return { key: `box:${e.dev_sno}`, label: e.box_name ?? e.dev_sno };
    case 'location':
      return {
        key: `loc:${e.location_id ?? e.location_name ?? '-'}`,
        label: e.location_name ?? e.location_id ?? '(no location)',
      };
    case 'fleet':
      return { key: 'fleet', label: 'fleet' };
  }
}

export interface RuleTiming {
  groupBy: GroupBy;
  groupWaitMs: number;
  groupIntervalMs: number;
  reminderEveryMs: number | null;
  escalateAfterMs: number | null;
}

const timings = new WeakMap<Rule, RuleTiming>();

/** A rule's timing with the defaults filled in (rules are treated as immutable). */
export function timingOf(rule: Rule): RuleTiming {
  let t = timings.get(rule);
  if (!t) timings.set(rule, (t = computeTiming(rule)));
  return t;
}

function computeTiming(rule: Rule): RuleTiming {
  const min = (v: number | undefined) => (v && v > 0 ? v * 60_000 : null);
  return {
    groupBy: rule.group_by ?? ENGINE_DEFAULTS.groupBy,
    groupWaitMs: (rule.group_wait_s ?? ENGINE_DEFAULTS.groupWaitS) * 1000,
    groupIntervalMs: (rule.group_interval_s ?? ENGINE_DEFAULTS.groupIntervalS) * 1000,
    reminderEveryMs: min(rule.reminder_every_min),
    escalateAfterMs: rule.escalate_channels?.length ? min(rule.escalate_after_min) : null,
  };
}

/** Readable problems in a rule set (empty = fine). */
export function validateRules(rules: readonly Rule[]): string[] {
  const errors: string[] = [];
  const ids = new Set<string>();
  for (const [i, r] of rules.entries()) {
    const name = `rule ${r.id || `#${i + 1}`}`;
    if (!r.id) errors.push(`rule #${i + 1}: id is required`);
    else if (ids.has(r.id)) errors.push(`${name}: id is used twice`);
    ids.add(r.id);
    if (!r.channels || r.channels.length === 0) errors.push(`${name}: names no channel`);
    if (r.group_wait_s !== undefined && !(r.group_wait_s >= 0)) errors.push(`${name}: group_wait_s must be ≥ 0`);
    if (r.group_interval_s !== undefined && !(r.group_interval_s > 0)) errors.push(`${name}: group_interval_s must be > 0`);
    if (r.escalate_after_min && !r.escalate_channels?.length) errors.push(`${name}: escalate_after_min needs escalate_channels`);
  }
  return errors;
}
