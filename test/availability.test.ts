// Availability and outages from status changes (src/store/availability.ts), against figures
// worked out by hand on a small timeline.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availability, outages } from '../src/store/availability.js';
import type { StatusChange } from '../src/store/types.js';

const M = 60_000; // one minute: the timeline below is in minutes
let id = 0;
const change = (min: number, ep_id: string | null, to_status: string): StatusChange => ({ id: ++id, at: min * M, ep_id, to_status });

// box: first seen at 10, offline 50..60 (report timeout), online again.
// A:   online at 10, offline 20..30, removed 80..90, back at 90.
// B:   first seen at 40 offline, online at 70.
const TIMELINE: StatusChange[] = [
  change(10, null, 'online'),
  change(10, 'A', 'online'),
  change(20, 'A', 'offline'),
  change(30, 'A', 'online'),
  change(40, 'B', 'offline'),
  change(50, null, 'offline'),
  change(60, null, 'online'),
  change(70, 'B', 'online'),
  change(80, 'A', 'removed'),
  change(90, 'A', 'online'),
];

describe('availability', () => {
  it('matches the hand-computed figures over the whole timeline', () => {
    const a = availability(TIMELINE, 0, 100 * M);
    // box: observed 10..100 = 90, down 50..60 = 10.
    assert.deepEqual(a.get(null), { availability: 80 / 90, up_ms: 80 * M, down_ms: 10 * M, observed_ms: 90 * M });
    // A: observed 10..80 and 90..100 = 80 (removed time left out); down 20..30 and 50..60 (box offline) = 20.
    assert.deepEqual(a.get('A'), { availability: 60 / 80, up_ms: 60 * M, down_ms: 20 * M, observed_ms: 80 * M });
    // B: observed 40..100 = 60; down 40..50 offline, 50..60 box offline, 60..70 offline = 30.
    assert.deepEqual(a.get('B'), { availability: 0.5, up_ms: 30 * M, down_ms: 30 * M, observed_ms: 60 * M });
  });

  it('starts a window in the state the changes before it left', () => {
    const a = availability(TIMELINE, 45 * M, 100 * M);
    assert.equal(a.get(null)!.availability, 45 / 55);
    assert.equal(a.get('A')!.availability, 35 / 45);
    assert.equal(a.get('B')!.availability, 30 / 55);
  });

  it('has nothing to say before anything was seen', () => {
    const a = availability(TIMELINE, 0, 5 * M);
    assert.deepEqual(a.get(null), { availability: null, up_ms: 0, down_ms: 0, observed_ms: 0 });
  });
});

describe('outages', () => {
  it('lists each stretch down, a camera down while its box is, merged', () => {
    const list = outages(TIMELINE, 0, 100 * M, false).map((o) => [o.ep_id, o.start / M, o.end === null ? null : o.end / M, o.clipped]);
    assert.deepEqual(list, [
      ['A', 20, 30, false],
      ['B', 40, 70, false],
      [null, 50, 60, false],
      ['A', 50, 60, false],
    ]);
  });

  it('marks outages that began before the range, and ongoing ones', () => {
    const withEnd = [...TIMELINE, change(95, null, 'offline')];
    const list = outages(withEnd, 45 * M, 100 * M, true).map((o) => [o.ep_id, o.start / M, o.end === null ? null : o.end / M, o.clipped]);
    assert.deepEqual(list, [
      ['B', 45, 70, true],
      [null, 50, 60, false],
      ['A', 50, 60, false],
      [null, 95, null, false],
      ['A', 95, null, false],
      ['B', 95, null, false],
    ]);
  });
});
