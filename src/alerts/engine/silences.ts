// Silences and maintenance windows: which events are silenced now. Recurring windows are
// cron expressions evaluated in an IANA time zone by cron-parser (DST-aware), not by hand.
// A silence only decides whether to notify: states, history and problems are still kept.
import { CronExpressionParser } from 'cron-parser';
import type { AlertEvent, Silence, SilenceMatchers } from './types.js';

function anyOf(list: string[] | undefined, ...values: (string | null)[]): boolean {
  if (!list || list.length === 0) return true;
  return values.some((v) => v !== null && list.includes(v));
}

function hasMatcher(m: SilenceMatchers): boolean {
  return [m.boxes, m.ep_ids, m.locations, m.groups].some((l) => l !== undefined && l.length > 0);
}

/** Every given matcher must match; a silence on a box also covers its cameras. */
export function silenceMatches(s: Silence, e: Pick<AlertEvent, 'dev_sno' | 'ep_id' | 'location_id' | 'location_name' | 'group'>): boolean {
  const m = s.matchers;
  if (!hasMatcher(m)) return false;
  return (
    anyOf(m.boxes, e.dev_sno) &&
    anyOf(m.ep_ids, e.ep_id) &&
    anyOf(m.locations, e.location_id, e.location_name) &&
    anyOf(m.groups, e.group)
  );
}

/** Start of the recurring window that contains `now`, or null. */
function recurringStart(s: Silence, now: number): number | null {
  const r = s.recurring;
  if (!r) return null;
  // prev() is strictly before currentDate: +1 ms makes a window starting exactly now count.
  const it = CronExpressionParser.parse(r.cron, { currentDate: new Date(now + 1), tz: r.tz });
  const start = it.prev().getTime();
  return now < start + r.duration_min * 60_000 ? start : null;
}

export function silenceActiveAt(s: Silence, now: number): boolean {
  if (s.starts_at != null && now < s.starts_at) return false;
  if (s.ends_at != null && now >= s.ends_at) return false;
  if (s.recurring) return recurringStart(s, now) !== null;
  return s.starts_at != null || s.ends_at != null;
}

/** When the silence's current window ends (null when not active now). */
export function silenceEndsAt(s: Silence, now: number): number | null {
  if (!silenceActiveAt(s, now)) return null;
  if (!s.recurring) return s.ends_at ?? null;
  const end = recurringStart(s, now)! + s.recurring.duration_min * 60_000;
  return s.ends_at != null ? Math.min(end, s.ends_at) : end;
}

/** The first active silence that covers the event at `now`. */
export function findSilence(silences: readonly Silence[], e: AlertEvent, now: number): Silence | null {
  for (const s of silences) if (silenceMatches(s, e) && silenceActiveAt(s, now)) return s;
  return null;
}

/** Readable problems in a silence (empty = fine). */
export function validateSilence(s: Silence): string[] {
  const errors: string[] = [];
  const name = `silence ${s.id || '(no id)'}`;
  if (!s.id) errors.push('silence: id is required');
  if (!hasMatcher(s.matchers)) errors.push(`${name}: needs at least one of boxes, ep_ids, locations, groups`);
  if (!s.created_by) errors.push(`${name}: created_by is required`);
  if (s.starts_at != null && s.ends_at != null && s.ends_at <= s.starts_at) errors.push(`${name}: ends_at must be after starts_at`);
  if (!s.recurring && (s.starts_at == null || s.ends_at == null)) errors.push(`${name}: a one-off silence needs starts_at and ends_at`);
  if (s.recurring) {
    const r = s.recurring;
    if (!(r.duration_min > 0)) errors.push(`${name}: duration_min must be > 0`);
    try {
      new Intl.DateTimeFormat('en', { timeZone: r.tz });
    } catch {
      errors.push(`${name}: unknown time zone "${r.tz}" (use an IANA name such as Asia/Shanghai)`);
    }
    try {
      CronExpressionParser.parse(r.cron, { strict: false });
    } catch (err) {
      errors.push(`${name}: cron "${r.cron}" is not valid: ${(err as Error).message}`);
    }
  }
  return errors;
}
