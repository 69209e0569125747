// Flapping detection per subject: with ≥ flapChanges changes within flapWindowMs the subject
// is flapping: one "flapping" line goes out, later changes are held (not dropped) and go out
// in one "settled" line once the subject has not changed for flapSettleMs.
import type { AlertEvent } from './types.js';

export interface FlapThresholds {
  flapChanges: number;
  flapWindowMs: number;
  flapSettleMs: number;
}

export interface FlapState {
  /** Times of recent changes (within the window). */
  changes: number[];
  flapping: boolean;
  /** While flapping: when it started, the status its flapping notice showed, what is held. */
  flapping_since: number | null;
  notified_status: string | null;
  held_event_ids: string[];
  last_event: AlertEvent;
}

export type FlapVerdict = 'normal' | 'started' | 'held';

export function observeChange(prior: FlapState | undefined, e: AlertEvent, t: FlapThresholds): { state: FlapState; verdict: FlapVerdict } {
  const changes = (prior?.changes ?? []).filter((at) => at > e.at - t.flapWindowMs);
  changes.push(e.at);
  if (prior?.flapping) {
    return {
      state: { ...prior, changes, held_event_ids: [...prior.held_event_ids, e.id], last_event: e },
      verdict: 'held',
    };
  }
  if (changes.length >= t.flapChanges) {
    return {
      state: { changes, flapping: true, flapping_since: e.at, notified_status: e.to, held_event_ids: [], last_event: e },
      verdict: 'started',
    };
  }
  return {
    state: { changes, flapping: false, flapping_since: null, notified_status: null, held_event_ids: [], last_event: e },
    verdict: 'normal',
  };
}

/** When a flapping subject counts as settled (null: not flapping). */
export function settlesAt(s: FlapState, t: FlapThresholds): number | null {
  if (!s.flapping) return null;
  return s.last_event.at + t.flapSettleMs;
}

/** A non-flapping state whose changes all left the window carries no information. */
export function isStale(s: FlapState, now: number, t: FlapThresholds): boolean {
  return !s.flapping && s.changes.every((at) => at <= now - t.flapWindowMs);
}
