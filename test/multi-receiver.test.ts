// Several receivers sharing one PostgreSQL database, as `devstatus serve` runs them: offline
// detection by the leader only (with failover), and live updates reaching every receiver's
// dashboard stream whichever receiver got the report.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { postgresBackend, report, startServer, type RunningServer } from './support/server.js';
import { openSse } from './support/sse.js';
import { LIVE_CHANNEL } from '../src/server/live-bridge.js';
import { eventually, startWebhookReceiver } from './support/webhook.js';
import type { Leadership, Store } from '../src/store/types.js';

describe('several receivers on one PostgreSQL database', () => {
  const stores: Store[] = [];
  const leaderships: Leadership[] = [];
  const servers: RunningServer[] = [];
  let cleanup: () => Promise<void>;

  before(async () => {
    const fresh = await postgresBackend.fresh();
    cleanup = fresh.cleanup;
    stores.push(fresh.store, await fresh.reopen());
    for (const store of stores) {
      const leadership = await store.acquireLeadership('devstatus-serve');
      leaderships.push(leadership);
      servers.push(
        await startServer(store, {
          leadership,
          offline: { reportIntervalMs: 200, misses: 2 },
          live: { coalesceMs: 50 },
          liveDemand: { announceMs: 100, forgetMs: 400 },
        }),
      );
    }
  });
  after(async () => {
    for (const s of servers) await s.close().catch(() => {});
    for (const l of leaderships) await l.release().catch(() => {});
    for (const s of stores) await s.close().catch(() => {});
    await cleanup();
  });

  it('has exactly one leader', () => {
    assert.deepEqual(leaderships.map((l) => l.isLeader()).sort(), [false, true]);
  });

  it("shows a report received by one receiver live on the other's event stream", async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    const sseA = await openSse(`${a.url}/api/events`);
    const sseB = await openSse(`${b.url}/api/events`);
    try {
      await sseB.waitFor((e) => e.data === 'connected');
      await sseA.waitFor((e) => e.data === 'connected');
      // Let both LISTEN subscriptions settle before the report.
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await a.post(report('LIVEX1', { '10.0.0.1': 'online', '10.0.0.2': 'offline' }))).status, 200);
      for (const sse of [sseA, sseB]) {
        const reports = await sse.waitFor((e) => e.event === 'reports' && e.data.includes('LIVEX1'));
        const body = JSON.parse(reports.data);
        assert.deepEqual(
          body.reports.filter((r: { dev_sno: string }) => r.dev_sno === 'LIVEX1').map((r: { online: number; offline: number }) => [r.online, r.offline]),
          [[1, 1]],
        );
        const transitions = await sse.waitFor((e) => e.event === 'transitions' && e.data.includes('LIVEX1__10.0.0.2'));
        assert.ok(JSON.parse(transitions.data).transitions.length >= 3);
      }
    } finally {
      sseA.close();
      sseB.close();
    }
  });

  it('publishes reports for the other receivers only while a browser watches on one of them', async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    // What goes over the database's live channel, as any receiver would hear it.
    const heard: string[] = [];
    const unlisten = await stores[0]!.subscribe(LIVE_CHANNEL, (payload) => heard.push(JSON.stringify(payload)));
    const heardOf = (devSno: string) => heard.some((m) => m.includes(devSno));
    try {
      // Nobody has watched for longer than forgetMs (400 ms): nothing is published.
      await new Promise((r) => setTimeout(r, 600));
      assert.equal((await b.post(report('WATCH1', { '10.0.0.1': 'offline' }))).status, 200);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(heardOf('WATCH1'), false, 'a report was published while nobody watched');

      // A browser opens the stream on one receiver: the other one's reports reach it.
      const sse = await openSse(`${a.url}/api/events`);
      try {
        await sse.waitFor((e) => e.data === 'connected');
        // The other receiver hears of the browser within a NOTIFY's time.
        await eventually(async () => {
          assert.equal((await b.post(report('WATCH2', { '10.0.0.1': 'online' }))).status, 200);
          return sse.waitFor((e) => e.event === 'reports' && e.data.includes('WATCH2'), 300).then(() => true, () => false);
        });
        // Still watched well past forgetMs: the announcements keep it going.
        await new Promise((r) => setTimeout(r, 700));
        assert.equal((await b.post(report('WATCH3', { '10.0.0.1': 'online' }))).status, 200);
        const seen = await sse.waitFor((e) => e.event === 'reports' && e.data.includes('WATCH3'));
        assert.ok(seen);
      } finally {
        sse.close();
      }
      // The browser left: once forgotten, publishing stops again.
      await new Promise((r) => setTimeout(r, 700));
      const before = heard.length;
      assert.equal((await b.post(report('WATCH4', { '10.0.0.1': 'online' }))).status, 200);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(heardOf('WATCH4'), false, 'still published after the last browser left');
      assert.equal(heard.length, before);
    } finally {
      await unlisten();
    }
  });

  it("carries an acknowledgement and a silence made on one receiver to both receivers' event streams", async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    const call = async (server: RunningServer, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, any> };
    };
    const hook = await startWebhookReceiver();
    const sseA = await openSse(`${a.url}/api/events`);
    const sseB = await openSse(`${b.url}/api/events`);
    try {
      assert.equal((await call(a, 'POST', '/api/alert-channels', { name: 'hook', config: { kind: 'webhook', url: hook.url } })).status, 201);
      await b.post(report('ACKX1', { '10.0.0.1': 'online' }));
      await new Promise((r) => setTimeout(r, 1500));
      await b.post(report('ACKX1', { '10.0.0.1': 'offline' }));
      const subject = 'sub:ACKX1__10.0.0.1';
      // Both receivers know the problem is open (the follower from what the leader saved).
      for (const server of [a, b]) {
        await eventually(async () => ((await call(server, 'GET', '/api/alert-problems')).json.problems as { subject: string }[] | undefined)?.some((p) => p.subject === subject), 10_000, 'open problem');
      }
      await sseA.waitFor((e) => e.data === 'connected');
      await sseB.waitFor((e) => e.data === 'connected');
      const fromA = sseA.events.length;
      const fromB = sseB.events.length;
      const changesOf = (e: { data: string }) => JSON.parse(e.data).changes as Array<Record<string, any>>;
      const isAlert = (match: (c: Record<string, any>) => boolean) => (e: { event: string; data: string }) => e.event === 'alert-state' && changesOf(e).some(match);

      const acked = await call(b, 'POST', '/api/problems/ack', { subject, note: 'on it', by: 'ann' });
      assert.equal(acked.status, 200, JSON.stringify(acked.json));
      for (const [sse, from] of [[sseA, fromA], [sseB, fromB]] as const) {
        const e = await sse.waitFor(isAlert((c) => c.kind === 'ack' && c.subjects.includes(subject)), 2000, from);
        const change = changesOf(e).find((c) => c.kind === 'ack')!;
        assert.equal(change.acknowledged.by, 'ann');
        assert.equal(change.acknowledged.note, 'on it');
      }
      // Made on the follower: the leader's engine takes it at once (told over the store's channel),
      // not at its next periodic look at the configuration (every 5 s).
      const leader = servers[leaderships.findIndex((l) => l.isLeader())]!;
      const follower = leader === a ? b : a;
      const started = Date.now();
      const silence = await call(follower, 'POST', '/api/silences', { matchers: { boxes: ['ACKX1'] }, ends_at: Date.now() + 3600_000, comment: 'works' });
      assert.equal(silence.status, 201, JSON.stringify(silence.json));
      for (const [sse, from] of [[sseA, fromA], [sseB, fromB]] as const) {
        await sse.waitFor(isAlert((c) => c.kind === 'silence' && c.silence_id === silence.json.id && c.subjects.includes(subject)), 2000, from);
      }
      await eventually(
        async () => ((await call(leader, 'GET', '/api/alert-problems')).json.problems as { subject: string; silenced: unknown }[]).find((p) => p.subject === subject)?.silenced,
        1500,
        "the leader's engine holding the silence",
      );
      console.log(`silence made on the follower held by the leader's engine after ${Date.now() - started} ms`);
      assert.equal((await call(b, 'POST', `/api/silences/${silence.json.id}/expire`)).status, 200);
      for (const [sse, from] of [[sseA, fromA], [sseB, fromB]] as const) {
        await sse.waitFor(isAlert((c) => c.kind === 'silence_ended' && c.silence_id === silence.json.id), 2000, from);
      }
    } finally {
      sseA.close();
      sseB.close();
      await hook.close();
    }
  });

  it('lets only the leader judge silent boxes', async () => {
    const leader = leaderships.findIndex((l) => l.isLeader());
    const follower = servers[1 - leader]!;
    assert.equal((await follower.post(report('JUDGE1', { '10.0.0.1': 'online' }))).status, 200);
    // Ten seconds from now the box is long silent: the follower still leaves it to the leader.
    assert.deepEqual(await follower.app.offlineDetector!.tick(Date.now() + 10_000), []);
    const judged = await servers[leader]!.app.offlineDetector!.tick(Date.now() + 10_000);
    assert.ok(judged.some((t) => t.dev_sno === 'JUDGE1' && t.to_status === 'offline'));
  });

  it('records a silent box offline once, by the leader, and fails over when the leader goes', async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    await b.post(report('SILENT1', { '10.0.0.1': 'online' }));
    await eventually(async () => (await stores[0]!.getBox('SILENT1'))?.box.status === 'offline', 5000, 'SILENT1 offline');
    // Give the follower every chance to record it a second time.
    await new Promise((r) => setTimeout(r, 800));
    const timeouts = (await stores[0]!.history('SILENT1')).filter((e) => e.reason === 'report_timeout');
    assert.equal(timeouts.length, 1);

    // The leader's receiver goes away (its leadership with it); the other takes over.
    const leaderIndex = leaderships.findIndex((l) => l.isLeader());
    const other = 1 - leaderIndex;
    await servers[leaderIndex]!.close();
    await leaderships[leaderIndex]!.release();
    await eventually(async () => leaderships[other]!.isLeader(), 10_000, 'failover');
    const survivor = servers[other]!;
    assert.equal((await survivor.post(report('SILENT2', { '10.0.0.1': 'online' }))).status, 200);
    await eventually(async () => (await stores[other]!.getBox('SILENT2'))?.box.status === 'offline', 5000, 'SILENT2 offline');
    void a;
    void b;
  });
});
