// Alerting with several receivers on one PostgreSQL database (issue 12): only the leader runs
// the engine, so each transition is notified once whichever receiver got the report; a channel
// added through the follower's API reaches the leader; when the leader goes, the other takes
// over from the saved cursor and nothing is lost or sent twice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Leadership, Store } from '../src/store/types.js';
import { postgresBackend, report, startServer, type RunningServer } from './support/server.js';
import { eventually, startWebhookReceiver, type WebhookReceiver } from './support/webhook.js';

describe('alerting with two receivers on one PostgreSQL database', () => {
  const stores: Store[] = [];
  const leaderships: Leadership[] = [];
  const servers: RunningServer[] = [];
  let hook: WebhookReceiver;
  let cleanup: () => Promise<void>;
  const changes = () => hook.requests.flatMap((h) => (h.json.changes as { dev_sno: string; to: string }[]).map((c) => `${c.dev_sno}:${c.to}`));

  before(async () => {
    hook = await startWebhookReceiver();
    const fresh = await postgresBackend.fresh();
    cleanup = fresh.cleanup;
    stores.push(fresh.store, await fresh.reopen());
    for (const store of stores) {
      const leadership = await store.acquireLeadership('devstatus-serve');
      leaderships.push(leadership);
      servers.push(await startServer(store, { leadership, offline: false, alerting: { tickMs: 50, publicUrl: 'http://dash.test' } }));
    }
  });
  after(async () => {
    for (const s of servers) await s.close().catch(() => {});
    for (const l of leaderships) await l.release().catch(() => {});
    for (const s of stores) await s.close().catch(() => {});
    await cleanup();
    await hook.close();
  });

  it('notifies each transition once, configured through the follower, reported to either receiver', async () => {
    const leader = leaderships.findIndex((l) => l.isLeader());
    const follower = servers[1 - leader]!;
    const post = (path: string, body: unknown) =>
      fetch(`${follower.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post('/api/alert-channels', { name: 'h', config: { kind: 'webhook', url: hook.url } })).status, 201);
    assert.equal((await post('/api/alert-rules', { id: 'q', channels: ['webhook:h'], group_wait_s: 0, group_interval_s: 1 })).status, 201);
    // The leader reads configuration changed elsewhere within seconds.
    await new Promise((r) => setTimeout(r, 5500));
    for (const [i, s] of servers.entries()) await s.post(report(`M${i}`, { '10.0.0.1': 'online' }));
    for (const [i, s] of servers.entries()) await s.post(report(`M${i}`, { '10.0.0.1': 'offline' }));
    await eventually(async () => changes().length >= 2, 10_000, 'both transitions');
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(changes().sort(), ['M0:offline', 'M1:offline']);
  });

  it('acknowledges through the follower: the leader applies it and both show it', async () => {
    const leader = leaderships.findIndex((l) => l.isLeader());
    const follower = servers[1 - leader]!;
    const res = await fetch(`${follower.url}/api/problems/ack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject: 'sub:M1__10.0.0.1', note: 'known', by: 'zhang' }),
    });
    assert.equal(res.status, 200, await res.text());
    for (const s of [follower, servers[leader]!]) {
      await eventually(async () => {
        const body = (await (await s.get('/api/alert-problems')).json()) as { problems: { subject: string; acknowledged: { by: string } | null }[] };
        return body.problems.find((p) => p.subject === 'sub:M1__10.0.0.1')?.acknowledged?.by === 'zhang';
      }, 5000, 'the acknowledgement');
    }
  });

  it('fails over: the other receiver resumes from the saved cursor', async () => {
    const leader = leaderships.findIndex((l) => l.isLeader());
    const other = 1 - leader;
    await servers[leader]!.close();
    await leaderships[leader]!.release();
    // Reports while the leadership moves are in the history table: none is lost.
    await servers[other]!.post(report('M0', { '10.0.0.1': 'online' }));
    await eventually(async () => leaderships[other]!.isLeader(), 10_000, 'the other receiver leads');
    await eventually(async () => changes().includes('M0:online'), 10_000, 'the recovery');
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(changes().sort(), ['M0:offline', 'M0:online', 'M1:offline']);
  });
});
