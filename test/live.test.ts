import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { FleetEvents } from '../src/server/events.js';
import { alertChangeMessages } from '../src/server/live-bridge.js';
import { MAX_MESSAGE_BYTES } from '../src/store/types.js';
import { report, sqliteBackend, startServer, type RunningServer } from './support/server.js';
import { openSse } from './support/sse.js';
import type { Store } from '../src/store/types.js';

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('live events (GET /api/events, SSE over HTTP)', () => {
  let server: RunningServer;
  let store: Store;
  let cleanup: () => Promise<void>;
  const events = new FleetEvents();

  before(async () => {
    const fresh = await sqliteBackend.fresh();
    store = fresh.store;
    cleanup = fresh.cleanup;
    server = await startServer(store, { events, live: { coalesceMs: 150, heartbeatMs: 300 } });
  });
  after(async () => {
    await server.close();
    await store.close();
    await cleanup();
  });

  it('streams reports and transitions as they are received', async () => {
    const sse = await openSse(`${server.url}/api/events`);
    try {
      assert.equal(sse.status, 200);
      assert.match(sse.headers['content-type'] ?? '', /^text\/event-stream/);
      await sse.waitFor((e) => e.event === ':' && e.data === 'connected');
      assert.equal((await server.post(report('LIVE1', { '10.0.0.1': 'online', '10.0.0.2': 'offline' }))).status, 200);

      const rep = await sse.waitFor((e) => e.event === 'reports');
      const { reports } = JSON.parse(rep.data);
      assert.equal(reports.length, 1);
      assert.equal(reports[0].dev_sno, 'LIVE1');
      assert.equal(reports[0].online, 1);
      assert.equal(reports[0].offline, 1);
      assert.ok(Math.abs(Date.parse(reports[0].at) - Date.now()) < 10_000);

      const tr = JSON.parse((await sse.waitFor((e) => e.event === 'transitions')).data);
      assert.deepEqual(
        tr.transitions.map((t: { ep_id: string | null; to_status: string }) => [t.ep_id, t.to_status]),
        [
          [null, 'online'],
          ['LIVE1__10.0.0.1', 'online'],
          ['LIVE1__10.0.0.2', 'offline'],
        ],
      );
      assert.equal(tr.dropped, 0);
    } finally {
      sse.close();
    }
  });

  it('coalesces a burst into one message per window, with the latest report of each box', async () => {
    const sse = await openSse(`${server.url}/api/events`);
    try {
      await sse.waitFor((e) => e.data === 'connected');
      const from = sse.events.length;
      // 200 reports of 50 boxes at once (as another process's feed could deliver them).
      const now = Date.now();
      for (let i = 0; i < 200; i++) {
        const online = i < 150 ? 1 : 0;
        events.emit('report', { dev_sno: `SYNC${i % 50}`, online, offline: 1 - online }, now + i);
      }
      const transitions = Array.from({ length: 600 }, (_, i) => ({
        at: new Date(now).toISOString(),
        dev_sno: `SYNC${i}`,
        ep_id: null,
        from_status: 'online',
        to_status: 'offline',
        reason: 'report_timeout' as const,
      }));
      events.emit('transitions', transitions);
      await sse.waitFor((e) => e.event === 'reports', 5000, from);
      await sleep(400);
      const got = sse.events.slice(from).filter((e) => e.event !== ':');
      assert.deepEqual(got.map((e) => e.event), ['transitions', 'reports']);
      const { reports } = JSON.parse(got[1]!.data);
      assert.equal(reports.length, 50);
      for (const r of reports) assert.equal(r.offline, 1, `${r.dev_sno}: the latest report wins`);
      const tr = JSON.parse(got[0]!.data);
      assert.equal(tr.transitions.length, 500, 'at most 500 transitions in one message');
      assert.equal(tr.dropped, 100, 'and how many were left out');
    } finally {
      sse.close();
    }
  });

  it('streams acknowledgements and silence changes in the order they were made', async () => {
    const sse = await openSse(`${server.url}/api/events`);
    try {
      await sse.waitFor((e) => e.data === 'connected');
      const from = sse.events.length;
      const at = new Date().toISOString();
      events.emit('alertState', { kind: 'ack', subjects: ['sub:A__1', 'box:B'], acknowledged: { by: 'ann', at, note: null } });
      events.emit('alertState', { kind: 'silence_ended', silence_id: 's1' });
      events.emit('alertState', { kind: 'silence', silence_id: 's1', subjects: ['sub:A__2'], until: null });
      const e = await sse.waitFor((ev) => ev.event === 'alert-state', 5000, from);
      assert.deepEqual(
        JSON.parse(e.data).changes.map((c: { kind: string }) => c.kind),
        ['ack', 'silence_ended', 'silence'],
      );
    } finally {
      sse.close();
    }
  });

  it('splits an acknowledgement of thousands of subjects into store messages that each fit, losing none', () => {
    const subjects = Array.from({ length: 3000 }, (_, i) => `sub:BOX-${i}__rtsp://10.0.${i >> 8}.${i & 255}:554/stream`);
    const messages = alertChangeMessages({ kind: 'ack', subjects, acknowledged: { by: 'ann', at: new Date(0).toISOString(), note: 'n' } });
    assert.ok(messages.length > 1);
    for (const m of messages) assert.ok(Buffer.byteLength(JSON.stringify(m)) <= MAX_MESSAGE_BYTES, 'fits a NOTIFY');
    const back = messages.flatMap((m) => ('a' in m && m.a.kind === 'ack' ? m.a.subjects : []));
    assert.deepEqual(back, subjects);
    assert.deepEqual(alertChangeMessages({ kind: 'silence_ended', silence_id: 'x' }), [{ a: { kind: 'silence_ended', silence_id: 'x' } }]);
  });

  it('sends a burst of reports over HTTP as far fewer messages', async () => {
    const sse = await openSse(`${server.url}/api/events`);
    try {
      await sse.waitFor((e) => e.data === 'connected');
      const from = sse.events.length;
      const posts = [];
      for (let i = 0; i < 40; i++) posts.push(server.post(report(`BURST${i % 20}`, { '10.0.0.1': i < 20 ? 'online' : 'offline' })));
      for (const res of await Promise.all(posts)) assert.equal(res.status, 200);
      const latest = new Map<string, { offline: number }>();
      const seenAll = () => {
        latest.clear();
        for (const m of sse.events.slice(from)) if (m.event === 'reports') for (const r of JSON.parse(m.data).reports) latest.set(r.dev_sno, r);
        return latest.size === 20 && [...latest.values()].every((r) => r.offline === 1);
      };
      await until(seenAll, 5000);
      const messages = sse.events.slice(from).filter((e) => e.event === 'reports').length;
      assert.ok(messages <= 10, `40 reports came as ${messages} messages`);
    } finally {
      sse.close();
    }
  });

  it('sends heartbeat comments', async () => {
    const sse = await openSse(`${server.url}/api/events`);
    try {
      await sse.waitFor((e) => e.event === ':' && e.data === 'ping', 3000);
    } finally {
      sse.close();
    }
  });

  it('removes its listeners when the client goes away', async () => {
    await until(() => server.app.liveClients() === 0);
    // Other parts of the server (metrics, alerts) listen too: count only what SSE adds.
    const baseReport = events.listenerCount('report');
    const baseTransitions = events.listenerCount('transitions');
    const a = await openSse(`${server.url}/api/events`);
    const b = await openSse(`${server.url}/api/events`);
    await a.waitFor((e) => e.data === 'connected');
    await b.waitFor((e) => e.data === 'connected');
    assert.equal(server.app.liveClients(), 2);
    // One subscription to the feed, however many browsers.
    assert.equal(events.listenerCount('report'), baseReport + 1);
    assert.equal(events.listenerCount('transitions'), baseTransitions + 1);
    a.close();
    await until(() => server.app.liveClients() === 1);
    b.close();
    await until(() => server.app.liveClients() === 0);
    assert.equal(events.listenerCount('report'), baseReport);
    assert.equal(events.listenerCount('transitions'), baseTransitions);
  });

  it('lets the server shut down while a client is connected', async () => {
    const fresh = await sqliteBackend.fresh();
    const other = await startServer(fresh.store);
    const sse = await openSse(`${other.url}/api/events`);
    await sse.waitFor((e) => e.data === 'connected');
    const closed = other.close().then(() => 'closed');
    const result = await Promise.race([closed, sleep(5000).then(() => 'hung')]);
    sse.close();
    assert.equal(result, 'closed');
    await fresh.store.close();
    await fresh.cleanup();
  });
});
