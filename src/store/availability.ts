// Availability and outages of a box and its cameras, computed from their status changes alone
// (a pure module: the stores only fetch the changes, see Store.statusChanges).
//
// Over a window [from, to):
//  - a subject is observed from its first change (first_seen) or the window's start, whichever
//    is later; before its first report nothing is known and nothing counts;
//  - a box is up while online, down while offline;
//  - a camera is down while offline, and also while its box is offline (it reads unknown then:
//    nobody can see it); time while it was `removed` (not in its box's reports) is not counted;
//  - availability = up time / observed time (null when nothing was observed).
import type { AvailabilityFigures, StatusChange } from './types.js';

type Condition = 'up' | 'down' | 'unobserved';

/** The status of one subject over time: its changes sorted by time. */
class Track {
  private readonly changes: Array<{ at: number; to: string }> = [];
  private i = 0;
  status: string | null = null;

  add(at: number, to: string): void {
    this.changes.push({ at, to });
  }

  /** Moves to time t: applies every change at or before t. */
  advance(t: number): void {
    while (this.i < this.changes.length && this.changes[this.i]!.at <= t) this.status = this.changes[this.i++]!.to;
  }
}

function boxCondition(box: string | null): Condition {
  if (box === null) return 'unobserved';
  return box === 'online' ? 'up' : 'down';
}

function cameraCondition(box: string | null, cam: string | null): Condition {
  if (cam === null || box === null || cam === 'removed') return 'unobserved';
  if (box !== 'online') return 'down';
  return cam === 'online' ? 'up' : 'down';
}

/** A stretch of time in one condition. */
export interface Span {
  start: number;
  end: number;
  condition: Condition;
}

/**
 * The conditions of the box (key null) and of each camera seen in `changes`, as spans covering
 * [from, to). `changes` may hold changes before `from` (the state at the window's start).
 */
export function conditionSpans(changes: readonly StatusChange[], from: number, to: number): Map<string | null, Span[]> {
  const sorted = [...changes].sort((a, b) => a.at - b.at || a.id - b.id);
  const box = new Track();
  const cams = new Map<string, Track>();
  for (const c of sorted) {
    if (c.ep_id === null) box.add(c.at, c.to_status);
    else {
      let t = cams.get(c.ep_id);
      if (!t) cams.set(c.ep_id, (t = new Track()));
      t.add(c.at, c.to_status);
    }
  }
  // Every instant where something may change, inside the window.
  const cuts = [...new Set([from, ...sorted.map((c) => c.at).filter((at) => at > from && at < to)])].sort((a, b) => a - b);
  const spans = new Map<string | null, Span[]>([[null, []], ...[...cams.keys()].map((k) => [k, []] as [string, Span[]])]);
  const push = (key: string | null, start: number, end: number, condition: Condition) => {
    const list = spans.get(key)!;
    const last = list[list.length - 1];
    if (last && last.condition === condition && last.end === start) last.end = end;
    else list.push({ start, end, condition });
  };
  if (to <= from) return spans;
  cuts.forEach((start, k) => {
    const end = cuts[k + 1] ?? to;
    box.advance(start);
    push(null, start, end, boxCondition(box.status));
    for (const [ep, cam] of cams) {
      cam.advance(start);
      push(ep, start, end, cameraCondition(box.status, cam.status));
    }
  });
  return spans;
}

export function figuresOf(spans: readonly Span[]): AvailabilityFigures {
  let up = 0;
  let down = 0;
  for (const s of spans) {
    if (s.condition === 'up') up += s.end - s.start;
    else if (s.condition === 'down') down += s.end - s.start;
  }
  const observed = up + down;
  return { availability: observed > 0 ? up / observed : null, up_ms: up, down_ms: down, observed_ms: observed };
}

/** Availability of the box (key null) and each camera over [from, to). */
export function availability(changes: readonly StatusChange[], from: number, to: number): Map<string | null, AvailabilityFigures> {
  const out = new Map<string | null, AvailabilityFigures>();
  for (const [key, spans] of conditionSpans(changes, from, to)) out.set(key, figuresOf(spans));
  return out;
}

export interface OutageSpan {
  ep_id: string | null;
  start: number;
  /** null: still down at `to`, when `to` is now. */
  end: number | null;
  /** It began before `from` (start is `from` then). */
  clipped: boolean;
}

/**
 * Every stretch the box (ep_id null) or a camera was down within [from, to), oldest first.
 * `ongoing`: `to` is now, so one still down at `to` has no end yet.
 */
export function outages(changes: readonly StatusChange[], from: number, to: number, ongoing: boolean): OutageSpan[] {
  const out: OutageSpan[] = [];
  for (const [ep_id, spans] of conditionSpans(changes, from, to)) {
    for (const s of spans) {
      if (s.condition !== 'down') continue;
      out.push({
        ep_id,
        start: s.start,
        end: ongoing && s.end === to ? null : s.end,
        clipped: s.start === from && downBefore(changes, ep_id, from),
      });
    }
  }
  // Oldest first; at the same start the box first, then cameras by ep_id.
  const key = (o: OutageSpan) => (o.ep_id === null ? '' : `~${o.ep_id}`);
  return out.sort((a, b) => a.start - b.start || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Whether the subject was already down just before `from`. */
function downBefore(changes: readonly StatusChange[], ep_id: string | null, from: number): boolean {
  const before = changes.filter((c) => c.at < from);
  if (before.length === 0) return false;
  const spans = conditionSpans(before, from - 1, from).get(ep_id);
  return spans?.[0]?.condition === 'down';
}

export const WINDOWS = { '24h': 24 * 3600_000, '7d': 7 * 24 * 3600_000, '30d': 30 * 24 * 3600_000 } as const;
export type AvailabilityWindow = keyof typeof WINDOWS;
