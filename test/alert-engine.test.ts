// The alert decision engine with a fake clock: grouping, storms, box-covers-cameras, prompt
// recoveries, flapping, rate-limit digests and restoring from a snapshot.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { SlidingWindowBudget, parseState, serializeState, type AlertEvent, type Rule } from '../src/alerts/engine/index.js';
import { MIN, S, T0, assertAccounted, assertIntervals, assertRateLimit, boxEvent, camEvent, Driver } from './support/alert-engine.js';

const box = (b: number) => `B${String(b).padStart(3, '0')}`;

/** 2,000 cameras at 250 boxes flip offline within 10 s, one report per box. */
function storm(): AlertEvent[][] {
  return Array.from({ length: 250 }, (_, b) =>
    Array.from({ length: 8 }, (_, c) => camEvent(box(b), c + 1, 'online', 'offline', T0 + b * 40, { location_id: `site${b % 5}` })),
  );
}

describe('alert engine: grouping', () => {
  it('a storm of 2,000 cameras at 250 boxes: one notification per box and channel, chat limits kept, every transition covered once', () => {
    const rules: Rule[] = [{ id: 'all', channels: ['dingtalk:ops', 'feishu:ops', 'webhook:main'] }];
    const d = new Driver({ rules });
    for (const report of storm()) d.ingest(report);
    d.advance(T0 + 10 * MIN);

    const hook = d.on('webhook:main');
    assert.equal(hook.length, 250, 'webhook has no rate limit: one notification per box');
    for (const n of hook) {
      assert.equal(n.kind, 'problems');
      assert.equal(n.severity, 'warning');
      assert.equal(n.counts.cameras_problem, 8);
      assert.equal(n.counts.cameras_problem_boxes, 1);
      assert.equal(n.items[0]!.event.box_name, `Box ${n.group_key.slice(4)}`);
      // group_wait: 10 s after the box's first transition
      const b = Number(n.group_key.slice(5));
      assert.equal(n.created_at, T0 + b * 40 + 10 * S);
    }

    const ding = d.on('dingtalk:ops');
    assertRateLimit(d.notifications, 'dingtalk:ops', 20, MIN);
    assert.ok(ding.length <= 20, `${ding.length} DingTalk messages`);
    assert.ok(ding.some((n) => n.group_key === 'digest' && n.folded_groups!.length > 1), 'overflow folded into a digest');
    assert.equal(ding.reduce((sum, n) => sum + n.counts.cameras_problem, 0), 2000);
    assert.equal(new Set(ding.flatMap((n) => n.folded_groups ?? [n.group_key])).size, 250);
    // The digest is held a few seconds, not until the budget's minute has passed.
    assert.ok(ding.at(-1)!.created_at <= T0 + 30 * S, `last DingTalk message at +${(ding.at(-1)!.created_at - T0) / S} s`);

    const feishu = d.on('feishu:ops');
    assertRateLimit(d.notifications, 'feishu:ops', 5, S);
    assertRateLimit(d.notifications, 'feishu:ops', 100, MIN);
    assert.equal(feishu.reduce((sum, n) => sum + n.counts.cameras_problem, 0), 2000);
    assert.ok(feishu.at(-1)!.created_at <= T0 + 30 * S);

    assertIntervals(d.notifications, 60 * S);
    assertAccounted(d);
    assert.equal(d.suppressed.length, 0);
    assert.equal(d.engine.problems().length, 2000);
  });

  it('grouped by fleet, the storm is one notification: 2,000 cameras offline at 250 boxes', () => {
    const d = new Driver({ rules: [{ id: 'fleet', channels: ['webhook:main'], group_by: 'fleet', group_wait_s: 15 }] });
    for (const report of storm()) d.ingest(report);
    d.advance(T0 + 10 * MIN);
    assert.equal(d.notifications.length, 1);
    const [n] = d.notifications;
    assert.equal(n!.group_key, 'fleet');
    assert.equal(n!.counts.cameras_problem, 2000);
    assert.equal(n!.counts.cameras_problem_boxes, 250);
    assert.equal(n!.counts.transitions, 2000);
    assertAccounted(d);
  });

  it('later changes in a group go out at most once per group interval', () => {
    const d = new Driver({ rules: [{ id: 'r', channels: ['webhook:a'], group_by: 'location' }] });
    const site = { location_id: 'sh-01', location_name: 'Shanghai 01' };
    for (let i = 0; i < 30; i++) d.ingest([camEvent(box(i), 1, 'online', 'offline', T0 + i * 7 * S, site)]);
    d.advance(T0 + 10 * MIN);
    assert.deepEqual(
      d.notifications.map((n) => (n.created_at - T0) / S),
      [10, 70, 130, 190, 250],
    );
    assert.equal(d.notifications[0]!.group_label, 'Shanghai 01');
    assert.deepEqual(d.notifications.map((n) => n.counts.cameras_problem), [2, 8, 9, 9, 2]);
    assertIntervals(d.notifications, 60 * S);
    assertAccounted(d);
  });

  it('a box that goes offline covers its cameras: one line "box offline (8 cameras)"', () => {
    const d = new Driver({ rules: [{ id: 'r', channels: ['webhook:a'] }] });
    d.ingest(Array.from({ length: 8 }, (_, c) => camEvent('GATE', c + 1, 'online', 'offline', T0)));
    d.ingest([boxEvent('GATE', 'online', 'offline', T0 + 3 * S)]);
    d.advance(T0 + MIN);
    assert.equal(d.notifications.length, 1);
    const [n] = d.notifications;
    assert.equal(n!.severity, 'critical');
    assert.equal(n!.items.length, 1);
    assert.equal(n!.items[0]!.kind, 'box');
    assert.equal(n!.items[0]!.cameras!.length, 8);
    assert.deepEqual(
      { boxes: n!.counts.boxes_problem, cameras: n!.counts.cameras_problem, folded: n!.counts.cameras_folded, transitions: n!.counts.transitions },
      { boxes: 1, cameras: 0, folded: 8, transitions: 9 },
    );
    // Later camera news while the box is down is accounted for, not sent one by one.
    d.ingest([camEvent('GATE', 9, 'online', 'unknown', T0 + 2 * MIN)]);
    d.advance(T0 + 5 * MIN);
    assert.equal(d.notifications.length, 1);
    assert.deepEqual(d.suppressed.map((s) => [s.reason, s.covered_by]), [['covered_by_box', 'box:GATE']]);
    // The box and its cameras come back together: one recovery line again.
    d.ingest([boxEvent('GATE', 'offline', 'online', T0 + 6 * MIN), ...Array.from({ length: 8 }, (_, c) => camEvent('GATE', c + 1, 'offline', 'online', T0 + 6 * MIN))]);
    d.advance(T0 + 8 * MIN);
    const rec = d.notifications[1]!;
    assert.equal(rec.kind, 'recoveries');
    assert.equal(rec.items.length, 1);
    assert.equal(rec.items[0]!.cameras!.length, 8);
    assertAccounted(d);
  });

  it('a recovery goes out at the next group flush, not a dedup window later', () => {
    const d = new Driver({ rules: [{ id: 'r', channels: ['webhook:a'] }] });
    d.ingest([camEvent('B1', 1, 'online', 'offline', T0)]);
    d.ingest([camEvent('B1', 1, 'offline', 'online', T0 + 3 * MIN)]);
    d.advance(T0 + 10 * MIN);
    assert.deepEqual(
      d.notifications.map((n) => [n.kind, (n.created_at - T0) / S]),
      [
        ['problems', 10],
        ['recoveries', 190],
      ],
    );
    // Inside the group interval: at the interval's end, with the other news of the group.
    const before = d.notifications.length;
    d.ingest([camEvent('B1', 2, 'online', 'offline', T0 + 20 * MIN)]);
    d.ingest([camEvent('B1', 2, 'offline', 'online', T0 + 20 * MIN + 20 * S), camEvent('B1', 3, 'online', 'offline', T0 + 20 * MIN + 20 * S)]);
    d.advance(T0 + 30 * MIN);
    const later = d.notifications.slice(before);
    assert.deepEqual(
      later.map((n) => [n.kind, (n.created_at - T0 - 20 * MIN) / S]),
      [
        ['problems', 10],
        ['mixed', 70],
      ],
    );
    assert.equal(later[0]!.items[0]!.since, T0 + 20 * MIN);
    assertAccounted(d);
  });

  it('offline and back within the group wait is one "blip" line, not two messages', () => {
    const d = new Driver({ rules: [{ id: 'r', channels: ['webhook:a'] }] });
    d.ingest([camEvent('B1', 1, 'online', 'offline', T0)]);
    d.ingest([camEvent('B1', 1, 'offline', 'online', T0 + 4 * S)]);
    d.advance(T0 + MIN);
    assert.equal(d.notifications.length, 1);
    assert.equal(d.notifications[0]!.items[0]!.change, 'blip');
    assert.equal(d.notifications[0]!.covered_event_ids.length, 2);
    assert.equal(d.engine.problems().length, 0);
  });

  it('a flapping camera: one "flapping" notice, quiet while it flaps, one "settled" line after', () => {
    const d = new Driver({ rules: [{ id: 'r', channels: ['webhook:a'] }] });
    let status = 'online';
    for (let i = 0; i < 20; i++) {
      const to = status === 'online' ? 'offline' : 'online';
      d.ingest([camEvent('B1', 1, status, to, T0 + i * 30 * S)]);
      status = to;
    }
    d.advance(T0 + 60 * MIN);
    const kinds = d.notifications.map((n) => n.items.map((i) => i.change).join());
    assert.deepEqual(kinds, ['problem', 'blip', 'flapping', 'settled']);
    const flapAt = d.notifications[2]!.created_at;
    const settled = d.notifications[3]!;
    // Nothing between the flapping notice and the settle: last change at +9.5 min, settled 10 min later.
    assert.ok(settled.created_at >= T0 + 19.5 * MIN && flapAt < T0 + 3 * MIN);
    assert.equal(settled.items[0]!.to, 'online');
    assert.equal(settled.covered_event_ids.length, 16);
    assert.equal(settled.kind, 'flapping');
    assertAccounted(d);
  });
});

describe('alert engine: rate limits and restarts', () => {
  it('a Feishu budget: 5 per second and 100 per minute', () => {
    const b = new SlidingWindowBudget();
    for (let i = 0; i < 5; i++) b.take('feishu:ops', T0);
    assert.equal(b.available('feishu:ops', T0), 0);
    assert.equal(b.availableAt('feishu:ops', T0), T0 + 1000);
    for (let s = 1; s < 20; s++) for (let i = 0; i < 5; i++) b.take('feishu:ops', T0 + s * 1000);
    assert.equal(b.available('feishu:ops', T0 + 20 * S), 0, '100 within the minute');
    assert.equal(b.availableAt('feishu:ops', T0 + 20 * S), T0 + MIN);
    assert.equal(b.availableAt('feishu:ops', T0 + 20 * S, 6), T0 + MIN + 1000, 'six slots: the first two seconds must leave the minute');
    assert.equal(b.available('webhook:x', T0), Number.POSITIVE_INFINITY);
  });

  it('restored from a snapshot in the middle of a group, the engine sends exactly what it would have', () => {
    const rules: Rule[] = [{ id: 'all', channels: ['dingtalk:ops', 'webhook:main'], reminder_every_min: 5 }];
    const reports = storm().slice(0, 40);
    const flapping = Array.from({ length: 8 }, (_, i) => camEvent('FLAP', 1, i % 2 ? 'offline' : 'online', i % 2 ? 'online' : 'offline', T0 + i * 20 * S));
    const later = [boxEvent(box(3), 'online', 'offline', T0 + 2 * MIN), camEvent(box(4), 1, 'offline', 'online', T0 + 2 * MIN + 5 * S)];
    const feed = (d: Driver, events: AlertEvent[][]) => events.forEach((r) => d.ingest(r));

    const straight = new Driver({ rules });
    feed(straight, [...reports, ...flapping.map((e) => [e]), ...later.map((e) => [e])]);
    straight.advance(T0 + 40 * MIN);

    const first = new Driver({ rules });
    feed(first, [...reports, ...flapping.slice(0, 5).map((e) => [e])]);
    first.engine.ingest([], first.now, flapping[4]!.id);
    const saved = serializeState(first.engine.snapshot());
    assert.equal(parseState(saved).cursor, flapping[4]!.id, 'where to feed transitions again from');
    const second = new Driver({ rules }, parseState(saved));
    second.now = first.now;
    feed(second, [...flapping.slice(5).map((e) => [e]), ...later.map((e) => [e])]);
    second.advance(T0 + 40 * MIN);

    assert.ok(straight.notifications.some((n) => n.kind === 'reminder'));
    assert.deepEqual([...first.notifications, ...second.notifications], straight.notifications);
    assert.deepEqual([...first.suppressed, ...second.suppressed], straight.suppressed);
    assert.throws(() => parseState('{"version":99}'), /version 99/);
  });
});

describe('alert engine benchmark', () => {
  it('the storm benchmark runs, keeps the chat limit, covers every transition and prints its ratios', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/alert-engine.ts', '--rounds', '1', '--json'], { cwd: root, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const r = JSON.parse(run.stdout) as Record<string, number>;
    assert.equal(r.transitions, 2000);
    assert.equal(r.webhook_messages, 250);
    assert.ok(r.dingtalk_messages! <= 20);
    assert.ok(r.ingest_ratio_to_validation! > 0 && r.ingest_and_flush_ratio_to_validation! > 0);
  });
});
