// The alert engine's silences (one-off and recurring in a time zone), acknowledgement,
// reminders and escalation, with a fake clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silenceActiveAt, silenceEndsAt, validateSilence, type Rule, type Silence } from '../src/alerts/engine/index.js';
import { MIN, S, T0, assertAccounted, assertIntervals, boxEvent, camEvent, Driver } from './support/alert-engine.js';

function silence(fields: Partial<Silence> & Pick<Silence, 'matchers'>): Silence {
  return { id: 'sil1', created_by: 'zhang.wei', comment: 'maintenance', created_at: T0 - MIN, ...fields };
}

const HOUR = 60 * MIN;

describe('alert engine: silences', () => {
  it('a one-off silence on a box: events recorded as silenced, problems still open, nothing sent; expiry fires no old news', () => {
    const rules: Rule[] = [{ id: 'r', channels: ['dingtalk:ops'] }];
    const sil = silence({ matchers: { boxes: ['B1'] }, starts_at: T0, ends_at: T0 + 30 * MIN });
    const d = new Driver({ rules, silences: [sil] });
    d.ingest([camEvent('B1', 1, 'online', 'offline', T0 + MIN), camEvent('B2', 1, 'online', 'offline', T0 + MIN)]);
    d.ingest([camEvent('B1', 2, 'online', 'offline', T0 + 5 * MIN), boxEvent('B1', 'online', 'offline', T0 + 6 * MIN)]);
    d.ingest([camEvent('B1', 2, 'offline', 'online', T0 + 9 * MIN)]);
    assert.deepEqual(d.engine.silencedProblems(T0 + 10 * MIN), [
      { subject: 'sub:B1__10.0.0.1', silence_id: 'sil1', until: T0 + 30 * MIN },
      { subject: 'box:B1', silence_id: 'sil1', until: T0 + 30 * MIN },
    ]);
    d.advance(T0 + 3 * HOUR);
    assert.deepEqual(d.engine.silencedProblems(T0 + 3 * HOUR), []);
    assert.deepEqual(
      d.notifications.map((n) => n.group_key),
      ['box:B2'],
      'only the box nobody silenced; nothing when the silence ends',
    );
    assert.deepEqual(
      d.suppressed.map((s) => [s.subject, s.reason, s.silence_id]),
      [
        ['sub:B1__10.0.0.1', 'silenced', 'sil1'],
        ['sub:B1__10.0.0.2', 'silenced', 'sil1'],
        ['box:B1', 'silenced', 'sil1'],
        ['sub:B1__10.0.0.2', 'silenced', 'sil1'],
      ],
    );
    assert.deepEqual(
      d.engine.problems().map((p) => p.subject),
      ['sub:B1__10.0.0.1', 'sub:B2__10.0.0.1', 'box:B1'],
    );
    // After expiry the box is news again.
    d.ingest([boxEvent('B1', 'offline', 'online', T0 + 4 * HOUR)]);
    d.advance(T0 + 5 * HOUR);
    assert.deepEqual(d.notifications.at(-1)!.items.map((i) => [i.subject, i.change]), [['box:B1', 'recovery']]);
    assertAccounted(d);
  });

  it('a silence created while a line waits in its group holds it back and records it', () => {
    const d = new Driver({ rules: [{ id: 'r', channels: ['webhook:a'] }] });
    d.ingest([camEvent('B1', 1, 'online', 'offline', T0)]);
    d.engine.setSilences([silence({ matchers: { ep_ids: ['B1__10.0.0.1'] }, starts_at: T0 + 2 * S, ends_at: T0 + HOUR })]);
    d.advance(T0 + 2 * HOUR);
    assert.equal(d.notifications.length, 0);
    assert.deepEqual(d.suppressed.map((s) => [s.reason, s.channel]), [['silenced', 'webhook:a']]);
    assertAccounted(d);
  });

  it('only a still-open problem comes back after a silence, in the rule\'s next reminder, with no old transitions', () => {
    const rules: Rule[] = [{ id: 'r', channels: ['webhook:a'], reminder_every_min: 15 }];
    const d = new Driver({ rules, silences: [silence({ matchers: { locations: ['sh-01'] }, starts_at: T0, ends_at: T0 + HOUR })] });
    const sh = { location_id: 'sh-01' };
    d.ingest([camEvent('B1', 1, 'online', 'offline', T0 + MIN, sh), camEvent('B1', 2, 'online', 'offline', T0 + MIN, sh)]);
    d.ingest([camEvent('B1', 2, 'offline', 'online', T0 + 10 * MIN, sh)]);
    d.advance(T0 + HOUR + 20 * MIN);
    assert.equal(d.notifications.length, 1, JSON.stringify(d.notifications.map((n) => [n.kind, (n.created_at - T0) / S, n.items.map((i) => i.subject)])));
    const [n] = d.notifications;
    assert.equal(n!.kind, 'reminder');
    assert.deepEqual(n!.covered_event_ids, []);
    assert.deepEqual(n!.items.map((i) => [i.subject, i.since]), [['sub:B1__10.0.0.1', T0 + MIN]]);
    assert.equal(n!.created_at, T0 + HOUR + 15 * MIN, 'one reminder interval after the silence ended');
    assertAccounted(d);
  });

  it('a recurring nightly window in Asia/Shanghai, across midnight', () => {
    // 23:00–07:00 Shanghai time = 15:00–23:00 UTC
    const nightly = silence({ matchers: { groups: ['lobby'] }, recurring: { cron: '0 23 * * *', duration_min: 480, tz: 'Asia/Shanghai' } });
    const utc = (iso: string) => Date.parse(iso);
    assert.equal(silenceActiveAt(nightly, utc('2026-11-25T14:59:59Z')), false, '22:59:59 Shanghai');
    assert.equal(silenceActiveAt(nightly, utc('2026-11-25T15:00:00Z')), true, '23:00 Shanghai');
    assert.equal(silenceActiveAt(nightly, utc('2026-11-25T16:30:00Z')), true, '00:30 next day');
    assert.equal(silenceActiveAt(nightly, utc('2026-11-25T22:59:00Z')), true, '06:59');
    assert.equal(silenceActiveAt(nightly, utc('2026-11-25T23:00:00Z')), false, '07:00');
    assert.equal(silenceEndsAt(nightly, utc('2026-11-25T16:30:00Z')), utc('2026-11-25T23:00:00Z'));

    const d = new Driver({ rules: [{ id: 'r', channels: ['webhook:a'] }], silences: [nightly] });
    const lobby = { group: 'lobby' };
    d.now = utc('2026-11-25T14:00:00Z');
    d.ingest([camEvent('L1', 1, 'online', 'offline', utc('2026-11-25T14:30:00Z'), lobby)]);
    d.ingest([camEvent('L1', 2, 'online', 'offline', utc('2026-11-25T16:30:00Z'), lobby)]);
    d.ingest([camEvent('L1', 3, 'online', 'offline', utc('2026-11-25T16:30:00Z'), { group: 'gate' })]);
    d.ingest([camEvent('L1', 4, 'online', 'offline', utc('2026-11-25T23:30:00Z'), lobby)]);
    d.advance(utc('2026-11-26T01:00:00Z'));
    assert.deepEqual(
      d.notifications.map((n) => n.items.map((i) => i.event.ep_name).join()),
      ['Camera 1', 'Camera 3', 'Camera 4'],
    );
    assert.deepEqual(d.suppressed.map((s) => [s.event_id, s.reason]), [[d.events[1]!.id, 'silenced']]);
    assertAccounted(d);
  });

  it('a recurring window follows daylight saving time in its zone (Europe/Berlin)', () => {
    const morning = silence({ matchers: { boxes: ['B1'] }, recurring: { cron: '0 6 * * *', duration_min: 60, tz: 'Europe/Berlin' } });
    // 06:00 Berlin is 04:00 UTC in summer (CEST) and 05:00 UTC in winter (CET).
    assert.equal(silenceActiveAt(morning, Date.parse('2026-07-01T04:30:00Z')), true);
    assert.equal(silenceActiveAt(morning, Date.parse('2026-07-01T05:30:00Z')), false);
    assert.equal(silenceActiveAt(morning, Date.parse('2026-12-01T04:30:00Z')), false);
    assert.equal(silenceActiveAt(morning, Date.parse('2026-12-01T05:30:00Z')), true);
  });

  it('names what is wrong in a silence', () => {
    const errors = validateSilence(silence({ matchers: {}, recurring: { cron: '0 25 * * *', duration_min: 0, tz: 'Asia/Shanghia' } }));
    assert.equal(errors.length, 4, errors.join('\n'));
    assert.match(errors[0]!, /at least one of boxes, ep_ids, locations, groups/);
    assert.match(errors.join('\n'), /unknown time zone "Asia\/Shanghia"/);
    assert.match(errors.join('\n'), /cron "0 25 \* \* \*" is not valid/);
    assert.deepEqual(validateSilence(silence({ matchers: { boxes: ['B1'] }, starts_at: T0, ends_at: T0 + HOUR })), []);
    assert.match(validateSilence(silence({ matchers: { boxes: ['B1'] }, starts_at: T0 })).join(), /needs starts_at and ends_at/);
  });
});

describe('alert engine: acknowledgement, reminders, escalation', () => {
  const rules: Rule[] = [
    { id: 'boxes', match: { kinds: ['box'] }, channels: ['dingtalk:ops'], reminder_every_min: 5, escalate_after_min: 15, escalate_channels: ['wecom:boss'] },
  ];

  it('an unacknowledged problem is reminded every N minutes; acknowledging stops it', () => {
    const d = new Driver({ rules });
    d.ingest([boxEvent('B1', 'online', 'offline', T0)]);
    d.advance(T0 + 12 * MIN);
    assert.deepEqual(
      d.on('dingtalk:ops').map((n) => [n.kind, (n.created_at - T0) / S]),
      [
        ['problems', 10],
        ['reminder', 310],
        ['reminder', 610],
      ],
    );
    assert.equal(d.engine.acknowledge('box:B1', { by: 'li.na', at: T0 + 12 * MIN, note: 'power cut, on site' }), true);
    assert.equal(d.engine.acknowledge('box:NOPE', { by: 'li.na', at: T0, note: null }), false);
    d.advance(T0 + 2 * HOUR);
    assert.equal(d.on('dingtalk:ops').length, 3, 'no reminder after the acknowledgement');
    assertIntervals(d.notifications, 60 * S);
    assert.equal(d.on('wecom:boss').length, 0, 'no escalation after the acknowledgement');
    assert.deepEqual(d.engine.problems()[0]!.acknowledged, { by: 'li.na', at: T0 + 12 * MIN, note: 'power cut, on site' });
    assert.equal(d.engine.problems()[0]!.notices.boxes!.reminders_sent, 2);
    // Recovery is still news.
    d.ingest([boxEvent('B1', 'offline', 'online', T0 + 3 * HOUR)]);
    d.advance(T0 + 4 * HOUR);
    assert.equal(d.on('dingtalk:ops').at(-1)!.kind, 'recoveries');
    assertAccounted(d);
  });

  it('escalates once after M minutes to other channels; the recovery reaches them too; recovering stops reminders', () => {
    const d = new Driver({ rules });
    d.ingest([boxEvent('B1', 'online', 'offline', T0)]);
    d.advance(T0 + 40 * MIN);
    const boss = d.on('wecom:boss');
    assert.equal(boss.length, 1);
    assert.equal(boss[0]!.kind, 'escalation');
    assert.equal(boss[0]!.severity, 'critical');
    assert.equal(boss[0]!.created_at, T0 + 15 * MIN);
    assert.ok(d.engine.problems()[0]!.notices.boxes!.escalated_at !== null);
    d.ingest([boxEvent('B1', 'offline', 'online', T0 + 41 * MIN)]);
    const reminders = d.on('dingtalk:ops').filter((n) => n.kind === 'reminder').length;
    d.advance(T0 + 3 * HOUR);
    assert.deepEqual(d.on('wecom:boss').map((n) => n.kind), ['escalation', 'recoveries']);
    assert.equal(d.on('dingtalk:ops').filter((n) => n.kind === 'reminder').length, reminders, 'no reminder after recovery');
    assert.equal(d.engine.problems().length, 0);
    assert.equal(d.engine.nextWakeAt(), null, 'nothing left to wake up for');
  });

  it('a camera of a box that is down is not reminded on its own', () => {
    const d = new Driver({ rules: [{ id: 'all', channels: ['webhook:a'], reminder_every_min: 5 }] });
    d.ingest([camEvent('B1', 1, 'online', 'offline', T0), boxEvent('B1', 'online', 'offline', T0)]);
    d.advance(T0 + 11 * MIN);
    const reminders = d.notifications.filter((n) => n.kind === 'reminder');
    assert.equal(reminders.length, 2);
    for (const n of reminders) assert.deepEqual(n.items.map((i) => i.subject), ['box:B1']);
  });
});
