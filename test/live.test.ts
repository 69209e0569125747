import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { FleetEvents } from '../src/server/app.js';
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

  it('coalesces a burst of reports into few messages, latest report per box', async () => {
    const sse = await openSse(`${server.url}/api/events`);
    try {
      await sse.waitFor((e) => e.data === 'connected');
      const from = sse.events.length;
      const posts = [];
      for (let i = 0; i < 40; i++) posts.push(server.post(report(`BURST${i % 20}`, { '10.0.0.1': i < 20 ? 'online' : 'offline' })));
      for (const res of await Promise.all(posts)) assert.equal(res.status, 200);
      await sleep(600);
      const reportMsgs = sse.events.slice(from).filter((e) => e.event === 'reports');
      assert.ok(reportMsgs.length >= 1 && reportMsgs.length <= 4, `40 reports came as ${reportMsgs.length} messages`);
      // Per box, the last message carrying it has its latest report (the second one: offline).
      const latest = new Map<string, { offline: number }>();
      for (const m of reportMsgs) for (const r of JSON.parse(m.data).reports) latest.set(r.dev_sno, r);
      assert.equal(latest.size, 20);
      for (const r of latest.values()) assert.equal(r.offline, 1);
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
    assert.equal(events.listenerCount('report'), 0);
    const a = await openSse(`${server.url}/api/events`);
    const b = await openSse(`${server.url}/api/events`);
    await a.waitFor((e) => e.data === 'connected');
    await b.waitFor((e) => e.data === 'connected');
    assert.equal(server.app.liveClients(), 2);
    // One subscription to the feed, however many browsers.
    assert.equal(events.listenerCount('report'), 1);
    assert.equal(events.listenerCount('transitions'), 1);
    a.close();
    await until(() => server.app.liveClients() === 1);
    b.close();
    await until(() => server.app.liveClients() === 0);
    assert.equal(events.listenerCount('report'), 0);
    assert.equal(events.listenerCount('transitions'), 0);
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
