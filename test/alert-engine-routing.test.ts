// The alert engine's routing: rules by kind, severity, location, group and box; which
// channels a box's line covers; recoveries off; test notifications. Fake clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { route, severityOf, validateRules, type AlertEvent, type Rule } from '../src/alerts/engine/index.js';
import { MIN, S, T0, assertAccounted, boxEvent, camEvent, Driver } from './support/alert-engine.js';

describe('alert engine: routing', () => {
  const rules: Rule[] = [
    { id: 'boxes', match: { kinds: ['box'] }, channels: ['wecom:oncall'], group_by: 'location' },
    { id: 'sh-cameras', match: { severities: ['warning'], locations: ['sh-01'] }, channels: ['dingtalk:sh'] },
    { id: 'vip', match: { groups: ['vip'] }, channels: ['wecom:oncall', 'email:vip'] },
  ];

  it('by kind, severity, location and group; each channel once per event', () => {
    const sh = { location_id: 'sh-01' };
    assert.equal(severityOf(boxEvent('B1', 'online', 'offline', T0)), 'critical');
    assert.equal(severityOf(camEvent('B1', 1, 'online', 'offline', T0)), 'warning');
    const chans = (e: AlertEvent) => route(rules, e).map((t) => `${t.rule.id}>${t.channel}`);
    assert.deepEqual(chans(boxEvent('B1', 'online', 'offline', T0, sh)), ['boxes>wecom:oncall']);
    assert.deepEqual(chans(camEvent('B1', 1, 'online', 'offline', T0, sh)), ['sh-cameras>dingtalk:sh']);
    assert.deepEqual(chans(camEvent('B2', 1, 'online', 'offline', T0, { location_id: 'bj-01' })), []);
    assert.deepEqual(chans(boxEvent('B3', 'online', 'offline', T0, { group: 'vip' })), ['boxes>wecom:oncall', 'vip>email:vip']);
  });

  it('the engine sends along the routes and accounts for events nobody routes', () => {
    const d = new Driver({ rules });
    d.ingest([
      boxEvent('B1', 'online', 'offline', T0, { location_id: 'sh-01', location_name: 'Shanghai 01' }),
      boxEvent('B2', 'online', 'offline', T0, { location_id: 'sh-01', location_name: 'Shanghai 01' }),
      camEvent('B3', 1, 'online', 'offline', T0, { location_id: 'sh-01' }),
      camEvent('B4', 1, 'online', 'offline', T0, { location_id: 'bj-01' }),
      camEvent('B5', 1, null, 'online', T0, { location_id: 'sh-01' }),
    ]);
    d.advance(T0 + MIN);
    assert.deepEqual(
      d.notifications.map((n) => [n.channel, n.group_label, n.severity, n.counts.boxes_problem, n.counts.cameras_problem]),
      [
        ['wecom:oncall', 'Shanghai 01', 'critical', 2, 0],
        ['dingtalk:sh', 'Box B3', 'warning', 0, 1],
      ],
    );
    assert.deepEqual(
      d.suppressed.map((s) => [s.subject, s.reason]),
      [
        ['sub:B4__10.0.0.1', 'no_route'],
        ['sub:B5__10.0.0.1', 'not_news'],
      ],
    );
    assertAccounted(d);
  });

  it('a box covers its cameras only on channels that got the box line', () => {
    const split: Rule[] = [
      { id: 'boxes', match: { kinds: ['box'] }, channels: ['wecom:oncall'] },
      { id: 'all-cameras', match: { kinds: ['sub_device'] }, channels: ['wecom:oncall', 'dingtalk:cams'] },
    ];
    const d = new Driver({ rules: split });
    d.ingest([boxEvent('B1', 'online', 'offline', T0)]);
    d.advance(T0 + MIN);
    d.ingest([camEvent('B1', 1, 'online', 'unknown', T0 + 2 * MIN)]);
    d.advance(T0 + 5 * MIN);
    assert.deepEqual(
      d.notifications.map((n) => [n.channel, n.items.map((i) => i.subject).join()]),
      [
        ['wecom:oncall', 'box:B1'],
        ['dingtalk:cams', 'sub:B1__10.0.0.1'],
      ],
    );
    assert.deepEqual(d.suppressed.map((s) => [s.reason, s.channel]), [['covered_by_box', 'wecom:oncall']]);
    assertAccounted(d);
  });

  it('names what is wrong in a rule set', () => {
    assert.deepEqual(validateRules([{ id: 'a', channels: [] }, { id: 'a', channels: ['x'], escalate_after_min: 5 }]), [
      'rule a: names no channel',
      'rule a: id is used twice',
      'rule a: escalate_after_min needs escalate_channels',
    ]);
  });
});

describe('alert engine: what goes out', () => {
  it('a rule with send_recoveries: false accounts for recoveries without sending them', () => {
    const d = new Driver({ rules: [{ id: 'quiet', channels: ['webhook:a'], send_recoveries: false }] });
    d.ingest([camEvent('B1', 1, 'online', 'offline', T0)]);
    d.ingest([camEvent('B1', 1, 'offline', 'online', T0 + 2 * MIN)]);
    d.advance(T0 + 10 * MIN);
    assert.deepEqual(d.notifications.map((n) => n.kind), ['problems']);
    assert.deepEqual(d.suppressed.map((s) => [s.reason, s.channel]), [['recoveries_off', 'webhook:a']]);
    assertAccounted(d);
  });

  it('a camera removed from its box\'s report closes its problem with a plain change line', () => {
    const d = new Driver({ rules: [{ id: 'r', channels: ['webhook:a'] }] });
    d.ingest([camEvent('B1', 1, 'online', 'offline', T0)]);
    d.ingest([{ ...camEvent('B1', 1, 'offline', 'removed', T0 + 2 * MIN), reason: 'missing_from_report' }]);
    d.advance(T0 + 10 * MIN);
    assert.deepEqual(d.notifications.map((n) => [n.kind, n.items[0]!.change, n.counts.other]), [
      ['problems', 'problem', 0],
      ['mixed', 'change', 1],
    ]);
    assert.equal(d.engine.problems().length, 0);
  });

  it('a test notification goes out within the channel budget, with the next id', () => {
    const d = new Driver({ rules: [{ id: 'r', channels: ['dingtalk:ops'] }] });
    const sent = [];
    for (let i = 0; i < 20; i++) {
      const r = d.engine.testNotification('dingtalk:ops', T0 + i * S);
      assert.ok('notification' in r);
      sent.push(r.notification);
    }
    assert.equal(sent[0]!.kind, 'test');
    assert.equal(sent[0]!.id, 'dingtalk:ops#1');
    assert.deepEqual(d.engine.testNotification('dingtalk:ops', T0 + 30 * S), { retry_at: T0 + MIN });
    // The budget is shared with alerts: the next alert waits for it too.
    d.ingest([camEvent('B1', 1, 'online', 'offline', T0 + 30 * S)]);
    d.advance(T0 + 5 * MIN);
    assert.equal(d.notifications.length, 1);
    assert.ok(d.notifications[0]!.created_at >= T0 + MIN);
    assert.equal(d.notifications[0]!.id, 'dingtalk:ops#21');
  });
});
