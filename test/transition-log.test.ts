// Status transitions reach the log one line each while they are few; a storm (thousands a
// second) writes the first few of each second and one summary line, not a line per transition.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { TransitionLog } from '../src/server/transition-log.js';
import type { Transition } from '../src/store/types.js';
import { report, sqliteBackend, withFreshServer } from './support/server.js';

/** A real pino logger whose JSON lines are kept in `lines`. */
function capturingLogger(): { logger: FastifyBaseLogger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream) as unknown as FastifyBaseLogger, lines };
}

const transition = (i: number, to: 'online' | 'offline', box = false): Transition => ({
  at: new Date(0).toISOString(),
  dev_sno: `TL${i}`,
  ep_id: box ? null : `TL${i}__10.0.0.1`,
  from_status: to === 'online' ? 'offline' : 'online',
  to_status: to,
  reason: box ? 'report_timeout' : 'report',
});

const byMsg = (lines: Array<Record<string, unknown>>, prefix: string) => lines.filter((l) => String(l.msg).startsWith(prefix));
/** The lines of single transitions (not the summaries, whose message starts the same). */
const single = (lines: Array<Record<string, unknown>>) => lines.filter((l) => l.msg === 'status transition');

describe('TransitionLog', () => {
  it('logs each transition while they are few', async () => {
    const { logger, lines } = capturingLogger();
    const log = new TransitionLog(() => logger, { perWindow: 5, windowMs: 1000 });
    log.add([transition(1, 'offline'), transition(2, 'online', true)], 0);
    log.add([transition(3, 'online')], 10);
    log.flush();
    await new Promise((r) => setImmediate(r));
    const one = single(lines);
    assert.deepEqual(one.map((l) => l.dev_sno), ['TL1', 'TL2', 'TL3']);
    assert.equal(one[0]!.to_status, 'offline');
    assert.equal(byMsg(lines, 'status transitions (').length, 0, 'no summary when nothing was left out');
  });

  it('in a storm, logs the first few of a window and one summary line with counts by kind and status', async () => {
    const { logger, lines } = capturingLogger();
    const log = new TransitionLog(() => logger, { perWindow: 5, windowMs: 1000 });
    // 3,000 transitions within one window: 1,000 sub-devices offline, 1,990 online, 10 boxes offline.
    for (let i = 0; i < 1000; i++) log.add([transition(i, 'offline'), transition(i, 'online'), transition(i, 'online')].slice(0, i < 990 ? 3 : 2), Math.floor(i * 0.9));
    log.add(Array.from({ length: 10 }, (_, i) => transition(i, 'offline', true)), 950);
    // The next window starts: the summary of the last one is written first.
    log.add([transition(5000, 'online')], 1000);
    log.flush();
    await new Promise((r) => setImmediate(r));
    assert.equal(single(lines).length, 5 + 1, 'five of the storm, and the first of the next second');
    const summaries = byMsg(lines, 'status transitions (');
    assert.equal(summaries.length, 1);
    const s = summaries[0]!;
    assert.equal(s.transitions, 2990 + 10 - 5);
    const sub = s.sub_devices as Record<string, number>;
    const box = s.boxes as Record<string, number>;
    assert.equal((sub.offline ?? 0) + (sub.online ?? 0) + (box.offline ?? 0), 2995);
    assert.equal(box.offline, 10);
    // The five logged one by one: the first report's offline, online, online, the second's offline, online.
    assert.equal(sub.offline, 1000 - 2);
    assert.equal(sub.online, 1990 - 3);
  });

  it('writes the summary at the end of the window even if nothing else comes', async () => {
    const { logger, lines } = capturingLogger();
    const log = new TransitionLog(() => logger, { perWindow: 1, windowMs: 50 });
    log.add([transition(1, 'offline'), transition(2, 'offline'), transition(3, 'offline')]);
    assert.equal(byMsg(lines, 'status transitions (').length, 0);
    await new Promise((r) => setTimeout(r, 200));
    const summaries = byMsg(lines, 'status transitions (');
    assert.equal(summaries.length, 1);
    assert.equal(summaries[0]!.transitions, 2);
  });
});

describe('receiver: a storm of changed reports in the log', () => {
  it('writes a bounded number of lines, and every transition is still in the history', async () => {
    const { logger, lines } = capturingLogger();
    await withFreshServer(sqliteBackend, { logger }, async (server) => {
      const boxes = 60;
      // Two rounds: every box's first report (box and sub-device online), then every box's
      // sub-device going offline: 3 x 60 = 180 transitions within a second or two.
      for (const status of ['online', 'offline'] as const) {
        const answers = await Promise.all(
          Array.from({ length: boxes }, (_, i) => server.post(report(`STORM${i}`, { '10.0.0.1': status }))),
        );
        for (const a of answers) assert.equal(a.status, 200);
      }
      // The summary of a window is written when it ends (within a second).
      await new Promise((r) => setTimeout(r, 1500));
      const one = single(lines);
      const summed = byMsg(lines, 'status transitions (').reduce((n, l) => n + (l.transitions as number), 0);
      assert.equal(one.length + summed, 3 * boxes, 'each transition is logged or counted once');
      assert.ok(one.length <= 3 * 20, `${one.length} single lines: at most 20 a second`);
      let stored = 0;
      for (let i = 0; i < boxes; i++) stored += (await server.store.history(`STORM${i}`)).length;
      assert.equal(stored, 3 * boxes);
    });
  });
});
