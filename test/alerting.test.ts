// Alerting end to end (issue 12) on both stores: channels configured through the admin API,
// the engine fed from the history table, the notifications outbox delivering to local fakes
// of DingTalk / Feishu / a webhook, silences, acknowledgements, and resuming after a restart.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseReport } from '../src/protocol/index.js';
import { startFakeDingTalk } from './support/fakes/dingtalk.js';
import { startFakeFeishu } from './support/fakes/feishu.js';
import { startFakeWeCom } from './support/fakes/wecom.js';
import { backends, report, startServer, withFreshServer, withFreshStore, type RunningServer } from './support/server.js';
import { eventually, startWebhookReceiver } from './support/webhook.js';

const SECRET = 'SEC0123456789abcdef0123456789abcdef';
const FAST = { alerting: { tickMs: 50, retryBaseMs: 50, publicUrl: 'http://dash.test' }, offline: false } as const;

async function api(server: RunningServer, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

/** A rule that sends at once (no group wait) so tests need not wait 10 s. */
const quickRule = (channels: string[], extra: Record<string, unknown> = {}) => ({ id: 'quick', channels, group_wait_s: 0, group_interval_s: 1, ...extra });

for (const backend of backends()) {
  describe(`alerting end to end (${backend.name})`, () => {
    it('channels: secrets are write-only, a test message reaches the DingTalk fake signed, a wrong token is named', async () => {
      const ding = await startFakeDingTalk({ tok1: { secret: SECRET, keywords: ['devstatus'] } });
      try {
        await withFreshServer(backend, FAST, async (server) => {
          const created = await api(server, 'POST', '/api/alert-channels', {
            name: 'Ops night',
            config: { kind: 'dingtalk', access_token: 'tok1', secret: SECRET, keywords: ['devstatus'], base_url: ding.baseUrl, lang: 'zh-CN' },
          });
          assert.equal(created.status, 201, JSON.stringify(created.json));
          assert.equal(created.json.id, 'dingtalk:ops-night');
          assert.ok(!JSON.stringify(created.json).includes(SECRET), 'the secret is never returned');
          assert.ok(!JSON.stringify(created.json).includes('tok1'), 'the access token is never returned');
          // Saving the form back with the masked values keeps the stored secrets.
          const updated = await api(server, 'PUT', '/api/alert-channels/dingtalk:ops-night', { name: 'Ops night', config: created.json.config });
          assert.equal(updated.status, 200, JSON.stringify(updated.json));
          const test = await api(server, 'POST', '/api/alert-channels/dingtalk:ops-night/test');
          assert.equal(test.json.outcome, 'delivered', JSON.stringify(test.json));
          assert.equal(ding.delivered.length, 1);
          assert.match(ding.delivered[0]!.text, /devstatus/);

          const bad = await api(server, 'POST', '/api/alert-channels', {
            name: 'wrong',
            config: { kind: 'dingtalk', access_token: 'nope', base_url: ding.baseUrl },
          });
          const failed = await api(server, 'POST', `/api/alert-channels/${bad.json.id}/test`);
          assert.equal(failed.json.outcome, 'failed');
          assert.match(String(failed.json.message), /token/i);
          const invalid = await api(server, 'POST', '/api/alert-channels', { name: 'x', config: { kind: 'dingtalk' } });
          assert.equal(invalid.status, 400);
          assert.match(invalid.json.reason, /config\.access_token/);
        });
      } finally {
        await ding.close();
      }
    });

    it('a camera going offline reaches DingTalk, WeCom, Feishu and a signed webhook once each, with names; the API lists what each covered', async () => {
      const ding = await startFakeDingTalk({ tok: {} });
      const wecom = await startFakeWeCom(['wk']);
      const feishu = await startFakeFeishu({ hook: { secret: 'fs-secret' } });
      const hook = await startWebhookReceiver();
      try {
        await withFreshServer(backend, FAST, async (server) => {
          // The box's location is an id from the location directory: messages show its name.
          await server.store.putLocation('site-b3', { name: 'Building 3' }, Date.now());
          await server.store.addCode({ dev_sno: 'BOX1', source: 'registered', name: 'Gate east', location: 'site-b3' }, Date.now());
          const ids: string[] = [];
          for (const [name, config] of [
            ['ding', { kind: 'dingtalk', access_token: 'tok', base_url: ding.baseUrl, lang: 'en' }],
            ['fs', { kind: 'feishu', hook_token: 'hook', secret: 'fs-secret', base_url: feishu.baseUrl }],
            ['wc', { kind: 'wecom', key: 'wk', base_url: wecom.baseUrl }],
            ['hook', { kind: 'webhook', url: hook.url, secret: 'hmac-key', lang: 'en' }],
          ] as const) {
            const r = await api(server, 'POST', '/api/alert-channels', { name, config });
            assert.equal(r.status, 201, JSON.stringify(r.json));
            ids.push(r.json.id);
          }
          assert.equal((await api(server, 'POST', '/api/alert-rules', quickRule(ids))).status, 201);
          await server.post(report('BOX1', { '10.0.0.1': 'online', '10.0.0.2': 'online' }));
          // The box says why the camera is offline (ep_detail): the alerts carry it.
          const down = report('BOX1', { '10.0.0.1': 'offline', '10.0.0.2': 'online' });
          Object.assign(down.sub_devices[0]!, { ep_detail: 'DESCRIBE 401 Unauthorized' });
          await server.post(down);
          await eventually(
            async () => ding.delivered.length >= 1 && feishu.delivered.length >= 1 && wecom.delivered.length >= 1 && hook.requests.length >= 1,
            8000,
            'all four channels',
          );
          // zh-CN by default: WeCom's message reads in Chinese.
          assert.match(wecom.delivered[0]!.content, /Gate east/);
          assert.match(wecom.delivered[0]!.content, /离线/);
          const text = ding.delivered[0]!.text;
          assert.match(text, /Gate east/);
          assert.match(text, /cam 10\.0\.0\.1/);
          assert.match(text, /Building 3/);
          assert.match(text, /DESCRIBE 401 Unauthorized/);
          assert.doesNotMatch(text, /site-b3/);
          assert.match(text, /http:\/\/dash\.test\/#\/boxes\/BOX1/);
          assert.ok(feishu.delivered[0]!.texts.join('\n').includes('Gate east'));
          const h = hook.requests[0]!;
          assert.equal(h.headers['x-devstatus-signature'], `sha256=${createHmac('sha256', 'hmac-key').update(h.body).digest('hex')}`);
          assert.equal((h.json.changes as unknown[]).length, 1);
          assert.equal((h.json.changes as Array<Record<string, unknown>>)[0]!.detail, 'DESCRIBE 401 Unauthorized');

          const list = await eventually(async () => {
            const r = await api(server, 'GET', '/api/alert-notifications');
            return r.json.notifications.length === 4 && r.json.notifications.every((n: any) => n.status === 'delivered') ? r.json : null;
          }, 5000, 'four delivered notifications');
          const history = await (await server.get('/api/devices/BOX1/history')).json();
          const offline = history.entries.find((e: any) => e.ep_id === 'BOX1__10.0.0.1' && e.to_status === 'offline');
          assert.equal(offline.detail, 'DESCRIBE 401 Unauthorized');
          for (const n of list.notifications) assert.deepEqual(n.covered.map((c: any) => c.id), [offline.id]);
          assert.deepEqual(list.counts, { pending: 0, delivered: 4, failed: 0 });
          // Nothing more: one transition, one message per channel.
          await new Promise((r) => setTimeout(r, 300));
          assert.equal(ding.delivered.length, 1);
          assert.equal(hook.requests.length, 1);
        });
      } finally {
        await Promise.all([ding.close(), wecom.close(), feishu.close(), hook.close()]);
      }
    });

    it('a silence keeps a box quiet but records and shows what it silenced; failures stay visible', async () => {
      const ding = await startFakeDingTalk({ tok: {} });
      try {
        await withFreshServer(backend, FAST, async (server) => {
          const ch = await api(server, 'POST', '/api/alert-channels', { name: 'ding', config: { kind: 'dingtalk', access_token: 'tok', base_url: ding.baseUrl } });
          const wrong = await api(server, 'POST', '/api/alert-channels', { name: 'wrong', config: { kind: 'dingtalk', access_token: 'gone', base_url: ding.baseUrl } });
          await api(server, 'POST', '/api/alert-rules', quickRule([ch.json.id, wrong.json.id]));
          await server.post(report('QUIET', { '10.0.0.1': 'online' }));
          await server.post(report('LOUD', { '10.0.0.1': 'online' }));
          const silence = await api(server, 'POST', '/api/silences', { matchers: { boxes: ['QUIET'] }, ends_at: Date.now() + 3600_000, comment: 'maintenance', created_by: 'li' });
          assert.equal(silence.status, 201, JSON.stringify(silence.json));
          await server.post(report('QUIET', { '10.0.0.1': 'offline' }));
          await server.post(report('LOUD', { '10.0.0.1': 'offline' }));
          await eventually(async () => ding.delivered.length >= 1, 8000, 'the loud box');
          const suppressed = await eventually(async () => {
            const r = await api(server, 'GET', `/api/alert-suppressed?silence_id=${silence.json.id}`);
            return r.json.suppressed.length ? r.json.suppressed : null;
          }, 5000, 'silenced transitions');
          assert.equal(suppressed[0].reason, 'silenced');
          assert.equal(suppressed[0].transition.ep_id, 'QUIET__10.0.0.1');
          const problems = (await api(server, 'GET', '/api/alert-problems')).json.problems;
          assert.equal(problems.find((p: any) => p.subject === 'sub:QUIET__10.0.0.1').silenced.silence_id, silence.json.id);
          const silences = (await api(server, 'GET', '/api/silences')).json.silences;
          assert.equal(silences[0].active, true);
          assert.equal(silences[0].silencing[0].subject, 'sub:QUIET__10.0.0.1');
          await new Promise((r) => setTimeout(r, 300));
          assert.ok(ding.delivered.every((m) => !m.text.includes('QUIET')), 'nothing about the silenced box');
          const failed = await eventually(async () => {
            const r = await api(server, 'GET', '/api/alert-notifications?status=failed');
            return r.json.notifications.length ? r.json.notifications : null;
          }, 5000, 'the failed delivery');
          assert.equal(failed[0].channel, wrong.json.id);
          assert.match(failed[0].last_error, /300001/);
        });
      } finally {
        await ding.close();
      }
    });

    it('an acknowledged problem gets no reminder; an unacknowledged one does', async () => {
      const ding = await startFakeDingTalk({ tok: {} });
      try {
        await withFreshServer(backend, FAST, async (server) => {
          const ch = await api(server, 'POST', '/api/alert-channels', { name: 'ding', config: { kind: 'dingtalk', access_token: 'tok', base_url: ding.baseUrl, lang: 'en' } });
          // Reminders every 0.6 s; recoveries off so only problems and reminders arrive.
          await api(server, 'POST', '/api/alert-rules', quickRule([ch.json.id], { reminder_every_min: 0.01, group_interval_s: 1 }));
          await server.post(report('ACKED', { '10.0.0.1': 'online' }));
          await server.post(report('OPEN', { '10.0.0.1': 'online' }));
          await server.post(report('ACKED', { '10.0.0.1': 'offline' }));
          await server.post(report('OPEN', { '10.0.0.1': 'offline' }));
          await eventually(async () => ding.delivered.length >= 2, 8000, 'the two problems');
          const ack = await api(server, 'POST', '/api/problems/ack', { subject: 'sub:ACKED__10.0.0.1', note: 'on it', by: 'wang' });
          assert.equal(ack.status, 200, JSON.stringify(ack.json));
          const none = await api(server, 'POST', '/api/problems/ack', { subject: 'sub:NOPE__1' });
          assert.equal(none.status, 404);
          const problems = (await api(server, 'GET', '/api/alert-problems')).json.problems;
          const acked = problems.find((p: any) => p.subject === 'sub:ACKED__10.0.0.1');
          assert.equal(acked.acknowledged.by, 'wang');
          assert.equal(acked.acknowledged.note, 'on it');
          const start = ding.delivered.length;
          await eventually(async () => ding.delivered.slice(start).filter((m) => /Reminder/.test(m.text) && m.text.includes('OPEN')).length >= 2, 10000, 'reminders about OPEN');
          assert.ok(ding.delivered.slice(start).every((m) => !m.text.includes('ACKED')), 'no reminder about the acknowledged problem');
        });
      } finally {
        await ding.close();
      }
    });

    it('transitions stored while no engine ran are sent after a restart (the cursor is in the database)', async () => {
      const hook = await startWebhookReceiver();
      try {
        await withFreshStore(backend, async (fresh) => {
          let server = await startServer(fresh.store, FAST);
          const ch = await api(server, 'POST', '/api/alert-channels', { name: 'h', config: { kind: 'webhook', url: hook.url } });
          await api(server, 'POST', '/api/alert-rules', quickRule([ch.json.id]));
          await server.post(report('R1', { '10.0.0.1': 'online' }));
          await server.post(report('R1', { '10.0.0.1': 'offline' }));
          await hook.waitFor(1, 8000);
          await server.close();
          // The receiver is down; reports still land (another receiver, or the queue of the agent).
          const now = Date.now();
          await fresh.store.ingest(parseReport(report('R1', { '10.0.0.1': 'online' })), now);
          await fresh.store.ingest(parseReport(report('R2', { '10.0.0.9': 'offline' })), now);
          server = await startServer(fresh.store, FAST);
          try {
            // The recovery waits for the end of R1's group interval (1 s).
            const changes = () => hook.requests.flatMap((h) => (h.json.changes as any[]).map((c) => `${c.dev_sno}:${c.to}`));
            await eventually(async () => changes().length >= 3, 8000, 'three changes');
            await new Promise((r) => setTimeout(r, 300));
            assert.deepEqual(changes().sort(), ['R1:offline', 'R1:online', 'R2:offline'].sort());
          } finally {
            await server.close();
          }
        });
      } finally {
        await hook.close();
      }
    });
  });
}
