// The console's lists carry each row's alert state (issue 13): GET /api/sub-devices and GET
// /api/devices say, per box or camera that is down, whether its open problem is acknowledged (by
// whom, when, with what note) and whether a silence holds it (which, until when). Real receiver,
// real alerting engine, both stores.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backends, report, withFreshServer, type RunningServer } from './support/server.js';
import { eventually, startWebhookReceiver } from './support/webhook.js';

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

type Row = { ep_id?: string; dev_sno: string; status: string; alert: { subject: string; acknowledged: any; silenced: any } | null };

const subRows = async (server: RunningServer, status: string) =>
  new Map(((await api(server, 'GET', `/api/sub-devices?status=${status}`)).json.sub_devices as Row[]).map((r) => [r.ep_id!, r]));
const offlineBoxes = async (server: RunningServer) =>
  new Map(((await api(server, 'GET', '/api/devices?status=offline')).json.boxes as Row[]).map((r) => [r.dev_sno, r]));

for (const backend of backends()) {
  describe(`alert state in the console's lists (${backend.name})`, () => {
    it('sub-device and box rows show acknowledged (who, when, note) and silenced (which silence, until when); rows with no open problem show none', async () => {
      const hook = await startWebhookReceiver();
      try {
        await withFreshServer(backend, FAST, async (server) => {
          const channel = await api(server, 'POST', '/api/alert-channels', { name: 'hook', config: { kind: 'webhook', url: hook.url } });
          assert.equal(channel.status, 201, JSON.stringify(channel.json));
          await server.post(report('BOX1', { '10.0.0.1': 'online', '10.0.0.2': 'online', '10.0.0.3': 'online' }));
          await server.post(report('BOX2', { '10.0.1.1': 'online' }));
          // Let the engine start past these first reports (a first start begins at the newest transition).
          await eventually(async () => (await api(server, 'GET', '/api/alert-problems')).status === 200, 5000, 'alerting up');
          await new Promise((r) => setTimeout(r, 300));
          await server.post(report('BOX1', { '10.0.0.1': 'offline', '10.0.0.2': 'offline', '10.0.0.3': 'online' }));
          const now = Date.now();
          assert.equal((await server.store.markSilentBoxesOffline(now + 1, now + 1)).length, 2, 'BOX1 and BOX2 go silent');
          // BOX1 reports again (its cameras stay down); BOX2 stays offline.
          await server.post(report('BOX1', { '10.0.0.1': 'offline', '10.0.0.2': 'offline', '10.0.0.3': 'online' }));
          await eventually(
            async () => {
              const subjects = ((await api(server, 'GET', '/api/alert-problems')).json.problems as { subject: string }[]).map((p) => p.subject);
              return ['sub:BOX1__10.0.0.1', 'sub:BOX1__10.0.0.2', 'box:BOX2'].every((s) => subjects.includes(s));
            },
            8000,
            'three open problems',
          );

          let subs = await subRows(server, 'offline');
          assert.deepEqual(subs.get('BOX1__10.0.0.1')!.alert, { subject: 'sub:BOX1__10.0.0.1', acknowledged: null, silenced: null });
          assert.deepEqual(subs.get('BOX1__10.0.0.2')!.alert, { subject: 'sub:BOX1__10.0.0.2', acknowledged: null, silenced: null });
          assert.equal((await subRows(server, 'online')).get('BOX1__10.0.0.3')!.alert, null, 'online: no open problem');
          assert.deepEqual((await offlineBoxes(server)).get('BOX2')!.alert, { subject: 'box:BOX2', acknowledged: null, silenced: null });

          const acked = await api(server, 'POST', '/api/problems/ack', { subjects: ['sub:BOX1__10.0.0.1', 'box:BOX2'], note: 'truck on the way', by: 'ann' });
          assert.equal(acked.status, 200, JSON.stringify(acked.json));
          const endsAt = Date.now() + 3600_000;
          const silence = await api(server, 'POST', '/api/silences', { matchers: { ep_ids: ['BOX1__10.0.0.2'] }, ends_at: endsAt, comment: 'road works' });
          assert.equal(silence.status, 201, JSON.stringify(silence.json));

          await eventually(async () => (await subRows(server, 'offline')).get('BOX1__10.0.0.1')!.alert?.acknowledged !== null, 5000, 'ack applied');
          subs = await subRows(server, 'offline');
          const ack = subs.get('BOX1__10.0.0.1')!.alert!;
          assert.equal(ack.acknowledged.by, 'ann');
          assert.equal(ack.acknowledged.note, 'truck on the way');
          assert.ok(Math.abs(Date.parse(ack.acknowledged.at) - Date.now()) < 60_000, ack.acknowledged.at);
          assert.equal(ack.silenced, null);
          const held = subs.get('BOX1__10.0.0.2')!.alert!;
          assert.equal(held.acknowledged, null);
          assert.deepEqual(held.silenced, { silence_id: silence.json.id, until: new Date(endsAt).toISOString() });
          const box = (await offlineBoxes(server)).get('BOX2')!.alert!;
          assert.equal(box.acknowledged.by, 'ann');
          assert.equal(box.silenced, null);
          // The whole list (the problems view's "all") carries it too, and the online camera has none.
          const all = new Map(((await api(server, 'GET', '/api/sub-devices')).json.sub_devices as Row[]).map((r) => [r.ep_id!, r]));
          assert.equal(all.get('BOX1__10.0.0.1')!.alert!.acknowledged.by, 'ann');
          assert.equal(all.get('BOX1__10.0.0.3')!.alert, null);

          // Undo and expire: the rows say so at once.
          assert.equal((await api(server, 'POST', '/api/problems/unack', { subject: 'sub:BOX1__10.0.0.1' })).status, 200);
          assert.equal((await api(server, 'POST', `/api/silences/${silence.json.id}/expire`)).status, 200);
          await eventually(
            async () => {
              const s = await subRows(server, 'offline');
              return s.get('BOX1__10.0.0.1')!.alert?.acknowledged === null && s.get('BOX1__10.0.0.2')!.alert?.silenced === null;
            },
            5000,
            'unacknowledged and no longer silenced',
          );

          // Recovery closes the problem: no alert state left on the row.
          await server.post(report('BOX1', { '10.0.0.1': 'online', '10.0.0.2': 'offline', '10.0.0.3': 'online' }));
          await eventually(async () => (await subRows(server, 'online')).get('BOX1__10.0.0.1')?.alert === null, 5000, 'recovered: no alert');
        });
      } finally {
        await hook.close();
      }
    });

    it('handled=hide leaves out acknowledged and silenced rows before paging: every page is full, the total counts the rest', async () => {
      const hook = await startWebhookReceiver();
      try {
        await withFreshServer(backend, FAST, async (server) => {
          assert.equal((await api(server, 'POST', '/api/alert-channels', { name: 'hook', config: { kind: 'webhook', url: hook.url } })).status, 201);
          const ips = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'];
          const all = (status: 'online' | 'offline') => Object.fromEntries(ips.map((ip) => [ip, status]));
          await server.post(report('HBOX1', all('online')));
          for (const b of ['HBOX2', 'HBOX3']) await server.post(report(b, { '10.9.0.1': 'online' }));
          await eventually(async () => (await api(server, 'GET', '/api/alert-problems')).status === 200, 5000, 'alerting up');
          await new Promise((r) => setTimeout(r, 300));
          await server.post(report('HBOX1', all('offline')));
          const now = Date.now();
          assert.equal((await server.store.markSilentBoxesOffline(now + 1, now + 1)).length, 3);
          await server.post(report('HBOX1', all('offline')));
          const wanted = [...ips.map((ip) => `sub:HBOX1__${ip}`), 'box:HBOX2', 'box:HBOX3'];
          await eventually(
            async () => {
              const subjects = ((await api(server, 'GET', '/api/alert-problems')).json.problems as { subject: string }[]).map((p) => p.subject);
              return wanted.every((s) => subjects.includes(s));
            },
            8000,
            'seven open problems',
          );
          assert.equal((await api(server, 'POST', '/api/problems/ack', { subjects: ['sub:HBOX1__10.0.0.1', 'sub:HBOX1__10.0.0.2', 'box:HBOX2'], by: 'ann' })).status, 200);
          const silence = await api(server, 'POST', '/api/silences', { matchers: { ep_ids: ['HBOX1__10.0.0.4'] }, ends_at: Date.now() + 3600_000, comment: 'works' });
          assert.equal(silence.status, 201, JSON.stringify(silence.json));

          const page = async (query: string) => {
            const res = await api(server, 'GET', `/api/sub-devices?status=offline&${query}`);
            assert.equal(res.status, 200, JSON.stringify(res.json));
            return res.json as { total: number | null; next_cursor: string | null; sub_devices: Row[] };
          };
          const ids = (p: { sub_devices: Row[] }) => p.sub_devices.map((r) => r.ep_id);
          await eventually(async () => ids(await page('sort=box&limit=2&handled=hide'))[0] === 'HBOX1__10.0.0.3', 5000, 'handled rows left out');
          // Without the filter the first two rows are the acknowledged ones: filtering the page
          // afterwards would have shown nothing.
          assert.deepEqual(ids(await page('sort=box&limit=2')), ['HBOX1__10.0.0.1', 'HBOX1__10.0.0.2']);
          const first = await page('sort=box&limit=2&handled=hide');
          assert.deepEqual(ids(first), ['HBOX1__10.0.0.3', 'HBOX1__10.0.0.5']);
          assert.equal(first.total, 2);
          assert.equal(first.next_cursor, null);
          // Paged one by one with the cursor, and sorted longest down first (one query per status).
          const one = await page('sort=box&limit=1&handled=hide');
          assert.deepEqual(ids(one), ['HBOX1__10.0.0.3']);
          assert.deepEqual(ids(await page(`sort=box&limit=1&handled=hide&cursor=${encodeURIComponent(one.next_cursor!)}`)), ['HBOX1__10.0.0.5']);
          assert.deepEqual(ids(await page('sort=down_since&limit=2&handled=hide')).sort(), ['HBOX1__10.0.0.3', 'HBOX1__10.0.0.5']);
          assert.equal((await page('sort=box&handled=show')).sub_devices.length, 5, 'show: everything');
          // The exports hold what the page shows.
          const csvIds = async (path: string) => {
            const res = await fetch(`${server.url}${path}`);
            assert.equal(res.status, 200, path);
            return [...(await res.text()).matchAll(/HBOX1__10\.0\.0\.\d/g)].map((m) => m[0]).sort();
          };
          assert.deepEqual(await csvIds('/api/export/problems.csv?status=offline&handled=hide'), ['HBOX1__10.0.0.3', 'HBOX1__10.0.0.5']);
          assert.deepEqual(await csvIds('/api/export/sub-devices.csv?status=offline&handled=hide'), ['HBOX1__10.0.0.3', 'HBOX1__10.0.0.5']);
          assert.equal((await csvIds('/api/export/problems.csv?status=offline')).length, 5);
          // Boxes too.
          const boxes = await api(server, 'GET', '/api/devices?status=offline&handled=hide');
          assert.deepEqual((boxes.json.boxes as Row[]).map((b) => b.dev_sno), ['HBOX3']);
          assert.equal(boxes.json.total, 1);
          const bad = await api(server, 'GET', '/api/sub-devices?handled=maybe');
          assert.equal(bad.status, 400);
          assert.equal(bad.json.field, 'handled');
          // Withdrawn: back in the list at once.
          assert.equal((await api(server, 'POST', '/api/problems/unack', { subject: 'sub:HBOX1__10.0.0.1' })).status, 200);
          assert.deepEqual(ids(await page('sort=box&limit=2&handled=hide')), ['HBOX1__10.0.0.1', 'HBOX1__10.0.0.3']);
        });
      } finally {
        await hook.close();
      }
    });

    it('pages notifications back with before + before_id without losing or repeating rows of one step; viewers may not read them', async () => {
      const hook = await startWebhookReceiver();
      const TOKEN = 'alert-state-token';
      try {
        await withFreshServer(backend, { ...FAST, adminToken: TOKEN }, async (server) => {
          const call = async (method: string, path: string, body?: unknown, bearer = TOKEN) => {
            const res = await fetch(`${server.url}${path}`, {
              method,
              headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
              body: body === undefined ? undefined : JSON.stringify(body),
            });
            const text = await res.text();
            return { status: res.status, json: text ? (JSON.parse(text) as Record<string, any>) : {} };
          };
          for (const name of ['one', 'two']) assert.equal((await call('POST', '/api/alert-channels', { name, config: { kind: 'webhook', url: hook.url } })).status, 201);
          assert.equal((await call('POST', '/api/alert-rules', { id: 'q', channels: ['webhook:one', 'webhook:two'], group_wait_s: 0, group_interval_s: 1 })).status, 201);
          const boxes = Array.from({ length: 12 }, (_, i) => `PG${String(i).padStart(2, '0')}`);
          for (const b of boxes) await server.post(report(b, { '10.0.0.1': 'online' }));
          await new Promise((r) => setTimeout(r, 300));
          for (const b of boxes) await server.post(report(b, { '10.0.0.1': 'offline' }));
          const all = await eventually(async () => {
            const r = await call('GET', '/api/alert-notifications?limit=1000');
            return r.json.notifications.length === 2 * boxes.length && (r.json.notifications as { id: string; created_at: string }[]);
          }, 8000, 'a notification per box and channel');
          const times = new Set(all.map((n) => n.created_at));
          assert.ok(times.size < all.length, 'several notifications share a created_at (one engine step)');

          const seen: string[] = [];
          let page = (await call('GET', '/api/alert-notifications?limit=5')).json.notifications as { id: string; created_at: string }[];
          while (page.length > 0) {
            seen.push(...page.map((n) => n.id));
            const last = page[page.length - 1]!;
            const next = await call('GET', `/api/alert-notifications?limit=5&before=${Date.parse(last.created_at)}&before_id=${encodeURIComponent(last.id)}`);
            assert.equal(next.status, 200, JSON.stringify(next.json));
            page = next.json.notifications;
          }
          assert.deepEqual(seen, all.map((n) => n.id), 'the pages, in order, are the whole list');

          const lone = await call('GET', '/api/alert-notifications?before_id=x');
          assert.equal(lone.status, 400);
          assert.equal(lone.json.field, 'before_id');
          assert.equal((await call('GET', '/api/alert-notifications?limit=abc')).json.field, 'limit');

          assert.equal((await call('POST', '/api/users', { username: 'vera', password: 'vera-password-1', role: 'viewer' })).status, 201);
          assert.equal((await call('POST', '/api/users', { username: 'otto', password: 'otto-password-1', role: 'operator' })).status, 201);
          const keyOf = async (user: string, password: string) => {
            const login = await fetch(`${server.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, password }) });
            return (login.headers.get('set-cookie') ?? '').split(';')[0]!;
          };
          for (const [user, password, status] of [
            ['vera', 'vera-password-1', 403],
            ['otto', 'otto-password-1', 200],
          ] as const) {
            const res = await fetch(`${server.url}/api/alert-notifications?limit=1`, { headers: { cookie: await keyOf(user, password) } });
            assert.equal(res.status, status, user);
          }
          // The viewer still reads the problems list with its alert state.
          const viewerList = await fetch(`${server.url}/api/sub-devices?status=offline`, { headers: { cookie: await keyOf('vera', 'vera-password-1') } });
          assert.equal(viewerList.status, 200);
          assert.ok(((await viewerList.json()) as { sub_devices: Row[] }).sub_devices.every((r) => r.alert !== null && r.alert.acknowledged === null));
        });
      } finally {
        await hook.close();
      }
    });
  });
}
