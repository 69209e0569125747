// Backend-neutral rules for turning status transitions into webhook alerts, including the
// de-duplication of flapping devices. A backend reads the subject's row, calls these, writes
// the result, all in one transaction (like planIngest).
import { randomUUID } from 'node:crypto';
import type { Transition } from './types.js';

/** What the webhook receives (one alert per request). */
export interface AlertPayload {
  /** Same for every URL and every retry of this alert: receivers can de-duplicate on it. */
  alert_id: string;
  kind: 'box' | 'sub_device';
  dev_sno: string;
  ep_id: string | null;
  /** Status in the previous alert about this subject (or before the transition). */
  from: string | null;
  to: string;
  /** Time of the latest transition covered. */
  at: string;
  reason: string;
  /** Transitions covered by this alert (1 unless it coalesces a flapping window). */
  transitions: number;
  /** Transitions not alerted one by one (transitions - 1). */
  suppressed_flips: number;
  /** When the alert was queued. */
  queued_at: string;
  /** The box's name and location from the registry (null when not set). */
  box_name?: string | null;
  box_location?: string | null;
}

/** The exact bytes sent (and signed) for an alert, with the box's registry details. */
export function alertBody(p: AlertPayload, box: { name: string | null; location: string | null } | null): string {
  return JSON.stringify({ ...p, box_name: box?.name ?? null, box_location: box?.location ?? null });
}

/** Per-subject de-duplication state, one row per box or sub-device that was ever alerted. */
export interface AlertSubjectState {
  subject: string;
  dev_sno: string;
  ep_id: string | null;
  /** When the last alert about this subject was queued (ms). */
  last_sent_at: number;
  last_sent_status: string;
  /** Transitions held since then (0 = none). */
  held_count: number;
  /** The latest held transition. */
  held: Transition | null;
}

export function alertSubject(t: Pick<Transition, 'dev_sno' | 'ep_id'>): string {
  return t.ep_id === null ? `box:${t.dev_sno}` : `sub:${t.ep_id}`;
}

/** A device appearing online for the first time is not news; everything else is. */
export function isAlertable(t: Transition): boolean {
  return !(t.reason === 'first_seen' && t.to_status === 'online');
}

function payload(latest: Transition, from: string | null, transitions: number, now: number): AlertPayload {
  return {
    alert_id: randomUUID(),
    kind: latest.ep_id === null ? 'box' : 'sub_device',
    dev_sno: latest.dev_sno,
    ep_id: latest.ep_id,
    from,
    to: latest.to_status,
    at: latest.at,
    reason: latest.reason,
    transitions,
    suppressed_flips: transitions - 1,
    queued_at: new Date(now).toISOString(),
  };
}

export type AlertDecision =
  | { send: AlertPayload; state: AlertSubjectState }
  | { send: null; state: AlertSubjectState };

/**
 * The rule: per subject, at most one alert per window of dedupMs. The first transition after
 * a quiet window is sent at once; later ones inside the window are held, and when the window
 * ends one alert carries the latest state, `from` = the state last alerted, and the count.
 */
export function planAlert(prior: AlertSubjectState | null, t: Transition, now: number, dedupMs: number): AlertDecision {
  const subject = alertSubject(t);
  if (prior && now - prior.last_sent_at < dedupMs) {
    return { send: null, state: { ...prior, held_count: prior.held_count + 1, held: t } };
  }
  const count = (prior?.held_count ?? 0) + 1;
  // With nothing held, the transition's own from is the truth; otherwise the alert spans
  // from what receivers were last told.
  const from = prior && prior.held_count > 0 ? prior.last_sent_status : t.from_status;
  return {
    send: payload(t, from, count, now),
    state: { subject, dev_sno: t.dev_sno, ep_id: t.ep_id, last_sent_at: now, last_sent_status: t.to_status, held_count: 0, held: null },
  };
}

/** For a subject with held transitions whose window has ended: the coalesced alert. */
export function releaseHeld(prior: AlertSubjectState, now: number, dedupMs: number): AlertDecision | null {
  if (prior.held_count === 0 || !prior.held || now - prior.last_sent_at < dedupMs) return null;
  const t = prior.held;
  return {
    send: payload(t, prior.last_sent_status, prior.held_count, now),
    state: { ...prior, last_sent_at: now, last_sent_status: t.to_status, held_count: 0, held: null },
  };
}

/**
 * The decisions for a list of transitions, in order. `prior` gives a subject's stored state;
 * it is asked once per subject, and a subject's later transitions see the earlier decisions.
 */
export function planAlerts(
  transitions: Transition[],
  prior: (subject: string) => AlertSubjectState | null,
  now: number,
  dedupMs: number,
): { decisions: AlertDecision[]; queued: number; held: number } {
  const state = new Map<string, AlertSubjectState | null>();
  const decisions: AlertDecision[] = [];
  let queued = 0;
  let held = 0;
  for (const t of transitions) {
    if (!isAlertable(t)) continue;
    const subject = alertSubject(t);
    const before = state.has(subject) ? state.get(subject)! : prior(subject);
    const d = planAlert(before, t, now, dedupMs);
    state.set(subject, d.state);
    decisions.push(d);
    if (d.send) queued++;
    else held++;
  }
  return { decisions, queued, held };
}

/** The coalesced alerts of the subjects given whose window has ended with transitions held. */
export function planReleases(subjects: AlertSubjectState[], now: number, dedupMs: number): AlertDecision[] {
  const decisions: AlertDecision[] = [];
  for (const s of subjects) {
    const d = releaseHeld(s, now, dedupMs);
    if (d) decisions.push(d);
  }
  return decisions;
}
