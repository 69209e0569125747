import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backends, report, sqliteBackend, withFreshServer, withFreshServerForSuite, type RunningServer } from './support/server.js';
import type { Store } from '../src/store/types.js';

const TOKEN = 'test-admin-token-0123456789';

describe('admin token over HTTP', () => {
  let server: RunningServer;
  let store: Store;
  withFreshServerForSuite(sqliteBackend, { adminToken: TOKEN }, (s) => {
    server = s;
    store = s.store;
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.url}${path}`, { headers });
  const login = (body: unknown) =>
    fetch(`${server.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answers every /api/* route with a 401 JSON error without the token', async () => {
    for (const path of ['/api/summary', '/api/devices', '/api/devices/X', '/api/devices/X/history', '/api/history', '/api/events', '/api/nope', '/API/summary', '/%61pi/summary']) {
      const res = await get(path);
      assert.equal(res.status, 401, path);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      const body = await res.json();
      assert.equal(body.error, 'unauthorized', path);
      assert.match(body.message, /admin token required/);
    }
  });

  it('rejects a wrong bearer token and a wrong cookie', async () => {
    assert.equal((await get('/api/summary', { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await get('/api/summary', { authorization: `Bearer ${TOKEN}x` })).status, 401);
    assert.equal((await get('/api/summary', { authorization: `Basic ${TOKEN}` })).status, 401);
    assert.equal((await get('/api/summary', { cookie: `devstatus_session=${TOKEN}` })).status, 401);
  });

  it('takes the bearer token', async () => {
    const res = await get('/api/summary', { authorization: `Bearer ${TOKEN}` });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).boxes.total, 0);
  });

  it('logs in with the token and then takes the HttpOnly SameSite=Strict cookie', async () => {
    for (const bad of [{ token: 'wrong' }, {}, { token: 12 }]) {
      const res = await login(bad);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('set-cookie'), null);
    }
    const notJson = await fetch(`${server.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{oops' });
    assert.equal(notJson.status, 400);
    assert.equal((await notJson.json()).error, 'bad_request');

    const res = await login({ token: TOKEN });
    assert.equal(res.status, 200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^devstatus_session=[^;]+/);
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Strict/i);
    assert.match(setCookie, /Path=\//);
    assert.ok(!setCookie.includes(TOKEN), 'the cookie does not carry the token itself');
    const cookie = setCookie.split(';')[0]!;

    const summary = await get('/api/summary', { cookie });
    assert.equal(summary.status, 200);
    const devices = await get('/api/devices', { cookie });
    assert.equal(devices.status, 200);

    const logout = await fetch(`${server.url}/api/logout`, { method: 'POST', headers: { cookie } });
    assert.equal(logout.status, 200);
    assert.match(logout.headers.get('set-cookie') ?? '', /devstatus_session=;/);
  });

  it('leaves the report path, /healthz and the dashboard page open', async () => {
    // Boxes send no headers at all.
    const res = await fetch(`${server.url}/DeviceStatus`, { method: 'POST', body: JSON.stringify(report('AUTHBOX', { '10.0.0.1': 'online' })) });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).dev_sno, 'AUTHBOX');
    assert.equal((await get('/healthz')).status, 200);
    const page = await get('/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const spa = await get('/boxes/AUTHBOX');
    assert.equal(spa.status, 200);
    assert.match(await spa.text(), /<div id="app">/);

    const box = await get('/api/devices/AUTHBOX', { authorization: `Bearer ${TOKEN}` });
    assert.equal((await box.json()).box.report_count, 1);
  });
});

describe('without an admin token (library default)', () => {
  it('protects nothing', async () => {
    await withFreshServer(sqliteBackend, {}, async (server) => {
      assert.equal((await server.get('/api/summary')).status, 200);
      assert.equal((await server.get('/api/devices')).status, 200);
      // Unknown API routes are JSON 404s, not the dashboard page.
      const missing = await server.get('/api/nope');
      assert.equal(missing.status, 404);
      assert.equal((await missing.json()).error, 'not_found');
      assert.equal((await server.post({}, { path: '/nope' })).status, 404);
    });
  });
});

for (const backend of backends()) {
  describe(`GET /api/history (${backend.name})`, () => {
    it('lists the fleet-wide transitions newest first, paged with before', async () => {
      await withFreshServer(backend, {}, async (server) => {
        await server.post(report('HIST1', { '10.0.0.1': 'online' }));
        await server.post(report('HIST2', { '10.0.0.2': 'online' }));
        await server.post(report('HIST1', { '10.0.0.1': 'offline' }));
        const all = await (await server.get('/api/history')).json();
        assert.deepEqual(
          all.entries.map((e: { dev_sno: string; ep_id: string | null; to_status: string }) => [e.dev_sno, e.ep_id, e.to_status]),
          [
            ['HIST1', 'HIST1__10.0.0.1', 'offline'],
            ['HIST2', 'HIST2__10.0.0.2', 'online'],
            ['HIST2', null, 'online'],
            ['HIST1', 'HIST1__10.0.0.1', 'online'],
            ['HIST1', null, 'online'],
          ],
        );
        const two = await (await server.get('/api/history?limit=2')).json();
        assert.equal(two.entries.length, 2);
        const older = await (await server.get(`/api/history?limit=2&before=${two.entries[1].id}`)).json();
        assert.deepEqual(older.entries.map((e: { id: number }) => e.id), [all.entries[2].id, all.entries[3].id]);
        assert.equal((await server.get('/api/history?before=x')).status, 400);
      });
    });
  });
}
