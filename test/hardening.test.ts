// The defects a hostile-client review found (issue 10): each test here failed before its fix.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import type { Store } from '../src/store/types.js';
import { startServeCli } from './support/cli.js';
import { backends, report, sqliteBackend, startServer, withFreshServer, withFreshStore } from './support/server.js';

/** A raw TCP connection to `url`'s host and port, collecting whatever comes back. */
async function rawConnection(url: string): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  await once(socket, 'connect');
  let data = '';
  socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => data, closed };
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

const postRaw = (url: string, body: Buffer | string, headers: Record<string, string> = {}) =>
  fetch(`${url}/DeviceStatus`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: body as BodyInit });

describe('1. SIGTERM with clients holding connections', () => {
  it('exits within seconds and frees the database for the next receiver', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'devstatus-harden-'));
    try {
      const env = { DEVSTATUS_ADMIN_TOKEN: 'hardening-token-0123456789' };
      const first = await startServeCli(['--db', join(cwd, 'd.db')], { cwd, env });
      const silent = await rawConnection(first.url);
      const halfHeaders = await rawConnection(first.url);
      halfHeaders.socket.write('POST /DeviceStatus HTTP/1.1\r\nHost: x\r\nContent-Le');
      const halfBody = await rawConnection(first.url);
      halfBody.socket.write('POST /DeviceStatus HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"dev_sno":');
      await new Promise((r) => setTimeout(r, 200));
      const exited = once(first.proc.child, 'exit');
      first.proc.child.kill('SIGTERM');
      const [code] = await withTimeout(exited, 8000, 'receiver exit after SIGTERM');
      assert.equal(code, 0);
      for (const c of [silent, halfHeaders, halfBody]) c.socket.destroy();

      const second = await startServeCli(['--db', join(cwd, 'd.db')], { cwd, env });
      assert.equal((await postRaw(second.url, JSON.stringify(report('AFTER1', {})))).status, 200);
      assert.equal(await second.proc.stop('SIGTERM'), 0);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('2. stalled uploads', () => {
  it('refuse bodies beyond the in-flight budget, drop stalled ones, and keep answering reports', async () => {
    const MiB = 1024 * 1024;
    await withFreshServer(sqliteBackend, { bodyBudgetBytes: 3 * MiB, bodyTimeoutMs: 3000 }, async (server) => {
      const chunk = Buffer.alloc(900_000, 0x20);
      const flood = await Promise.all(Array.from({ length: 10 }, () => rawConnection(server.url)));
      for (const c of flood) {
        c.socket.write(`POST /DeviceStatus HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${MiB - 10}\r\n\r\n`);
        c.socket.write(chunk);
      }
      // Most of the flood is refused as soon as it arrives: it does not fit in the budget.
      const refusedNow = () => flood.filter((c) => /^HTTP\/1\.1 503 /.test(c.received()));
      const until = Date.now() + 8000;
      while (refusedNow().length < 6 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      const refused = refusedNow();
      assert.ok(refused.length >= 6, `bodies over the budget are refused (${refused.length} of 10)`);
      assert.match(refused[0]!.received(), /retry-after: \d+/i);
      // A normal report still goes through while the rest of the flood stalls.
      assert.equal((await postRaw(server.url, JSON.stringify(report('NORMAL1', { '10.0.0.1': 'online' })))).status, 200);
      const inFlight = async () => Number(/devstatus_report_body_bytes_in_flight (\d+)/.exec(await (await server.get('/metrics')).text())![1]);
      const held = await inFlight();
      assert.ok(held > 0 && held <= 3 * MiB, `bodies in flight hold ${held} bytes, within the budget`);
      // The stalled ones are dropped after the body timeout, and give their memory back.
      await withTimeout(Promise.all(flood.map((c) => c.closed)), 8000, 'every stalled upload closed');
      for (const c of flood) assert.match(c.received(), /^HTTP\/1\.1 (503|408) /);
      assert.equal(await inFlight(), 0);
    });
  });
});

describe('3. cross-origin admin calls (CSRF)', () => {
  const TOKEN = 'csrf-admin-token-0123456789';
  it('refuses state-changing calls from another origin or with a non-JSON body', async () => {
    await withFreshServer(sqliteBackend, { adminToken: TOKEN }, async (server) => {
      const login = await fetch(`${server.url}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: TOKEN }),
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
      const { port } = new URL(server.url);
      const evil = `http://127.0.0.1:${Number(port) + 1}`;
      const add = (headers: Record<string, string>) =>
        fetch(`${server.url}/api/admin/codes`, { method: 'POST', headers: { cookie, ...headers }, body: '{}' });

      const crossOrigin = await add({ origin: evil, 'content-type': 'text/plain' });
      assert.equal(crossOrigin.status, 403);
      assert.match((await crossOrigin.json()).message, /origin/i);
      assert.equal((await add({ origin: evil, 'content-type': 'application/json' })).status, 403);
      assert.equal((await add({ referer: `${evil}/page`, 'content-type': 'application/json' })).status, 403);
      const plain = await add({ origin: server.url, 'content-type': 'text/plain' });
      assert.equal(plain.status, 415);
      assert.equal((await add({ 'content-type': 'application/x-www-form-urlencoded' })).status, 415);
      const codes = await (await fetch(`${server.url}/api/admin/codes`, { headers: { cookie } })).json();
      assert.equal(codes.total, 0, 'nothing was created');

      assert.equal((await add({ origin: server.url, 'content-type': 'application/json' })).status, 201);
      assert.equal((await add({ 'content-type': 'application/json' })).status, 201);
    });
  });
});

describe('4. sessions', () => {
  const TOKEN = 'session-admin-token-0123456789';
  const loginCookie = async (url: string) => {
    const res = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: TOKEN }) });
    assert.equal(res.status, 200);
    return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  };
  for (const backend of backends()) {
    it(`a session is random, ends at logout and expires (${backend.name})`, async () => {
      await withFreshServer(backend, { adminToken: TOKEN, sessionMaxAgeMs: 1500 }, async (server) => {
        const a = await loginCookie(server.url);
        const b = await loginCookie(server.url);
        assert.notEqual(a, b, 'each login gets its own session');
        assert.equal((await fetch(`${server.url}/api/summary`, { headers: { cookie: a } })).status, 200);
        assert.equal((await fetch(`${server.url}/api/logout`, { method: 'POST', headers: { cookie: a } })).status, 200);
        assert.equal((await fetch(`${server.url}/api/summary`, { headers: { cookie: a } })).status, 401, 'a copied cookie dies at logout');
        assert.equal((await fetch(`${server.url}/api/summary`, { headers: { cookie: b } })).status, 200);
        await new Promise((r) => setTimeout(r, 1700));
        assert.equal((await fetch(`${server.url}/api/summary`, { headers: { cookie: b } })).status, 401, 'and expires');
      });
    });
  }
});

describe('4. sessions and the admin token', () => {
  it('a new admin token ends the sessions made before it', async () => {
    await withFreshStore(sqliteBackend, async (fresh) => {
      const first = await startServer(fresh.store, { adminToken: 'first-admin-token-0123456789' });
      const res = await fetch(`${first.url}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: 'first-admin-token-0123456789' }),
      });
      const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
      assert.equal((await fetch(`${first.url}/api/summary`, { headers: { cookie } })).status, 200);
      await first.close();
      const second = await startServer(fresh.store, { adminToken: 'second-admin-token-0123456789' });
      try {
        assert.equal((await fetch(`${second.url}/api/summary`, { headers: { cookie } })).status, 401);
      } finally {
        await second.close();
      }
    });
  });
});

describe('5. invalid UTF-8', () => {
  it('is a 400 naming the problem; a leading BOM is skipped', async () => {
    await withFreshServer(sqliteBackend, {}, async (server) => {
      for (const bad of [0xff, 0xfe]) {
        const body = Buffer.concat([Buffer.from('{"dev_sno":"UTF'), Buffer.from([bad]), Buffer.from('","sub_devices":[]}')]);
        const res = await postRaw(server.url, body);
        assert.equal(res.status, 400);
        assert.match((await res.json()).message, /UTF-8/);
      }
      const boxes = await (await server.get('/api/devices')).json();
      assert.equal(boxes.total, 0, 'no box UTF\\ufffd');
      const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(report('BOM1', {})))]);
      const ok = await postRaw(server.url, bom);
      assert.equal(ok.status, 200);
      assert.equal((await ok.json()).dev_sno, 'BOM1');
    });
  });
});

for (const backend of backends()) {
  describe(`6. deep nesting in extras (${backend.name})`, () => {
    it('is a 400, not a 5xx', async () => {
      await withFreshServer(backend, {}, async (server) => {
        const deep = '['.repeat(6000) + ']'.repeat(6000);
        const top = `{"dev_sno":"DEEP1","sub_devices":[],"x":${deep}}`;
        const res = await postRaw(server.url, top);
        assert.equal(res.status, 400);
        assert.match((await res.json()).message, /nest|deep/i);
        const sub = JSON.stringify(report('DEEP2', { '10.0.0.1': 'online' })).replace('"ep_name"', `"y":${deep},"ep_name"`);
        assert.equal((await postRaw(server.url, sub)).status, 400);
      });
    });
  });

  describe(`7. query parameters (${backend.name})`, () => {
    it('are validated: a 400 naming the parameter, never a 5xx', async () => {
      await withFreshServer(backend, {}, async (server) => {
        await postRaw(server.url, JSON.stringify(report('Q1', { '10.0.0.1': 'online' })));
        const cases: Array<[string, string]> = [
          ['/api/devices?offset=1e20', 'offset'],
          ['/api/devices?offset=-1', 'offset'],
          ['/api/devices?offset=abc', 'offset'],
          ['/api/devices?limit=1.5', 'limit'],
          ['/api/devices?limit=0', 'limit'],
          ['/api/devices?q=%00', 'q'],
          ['/api/devices/Q1/history?before=99999999999999999999', 'before'],
          ['/api/devices/Q1/history?limit=x', 'limit'],
          ['/api/devices/Q1/history?ep_id=%00', 'ep_id'],
          ['/api/history?limit=-5', 'limit'],
          ['/api/alerts/deliveries?limit=1e9999', 'limit'],
          ['/api/alerts/deliveries?before=99999999999999999999', 'before'],
          ['/api/devices/%00', 'dev_sno'],
        ];
        for (const [path, field] of cases) {
          const res = await server.get(path);
          assert.equal(res.status, 400, path);
          const body = await res.json();
          assert.equal(body.field, field, path);
        }
        assert.equal((await server.get('/api/devices?offset=0&limit=5')).status, 200);
      });
    });
  });
}

/** A store whose writes fail while `failing` is set, like a full disk would make them. */
function failingWrites(store: Store): { store: Store; fail: (on: boolean) => void } {
  let failing = false;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'ingest') {
        return (...args: Parameters<Store['ingest']>) =>
          failing ? Promise.reject(new Error('SQLITE_FULL: database or disk is full')) : target.ingest(...args);
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: wrapped, fail: (on) => (failing = on) };
}

describe('8. operations', () => {
  it('/healthz is 503 with the reason while writes fail, and 200 again once they succeed', async () => {
    await withFreshStore(sqliteBackend, async (fresh) => {
      const faulty = failingWrites(fresh.store);
      const server = await startServer(faulty.store, {});
      try {
        assert.equal((await server.get('/healthz')).status, 200);
        faulty.fail(true);
        assert.equal((await server.post(report('FULL1', {}))).status, 500, 'not acknowledged: the box sends it again');
        const down = await server.get('/healthz');
        assert.equal(down.status, 503);
        assert.match((await down.json()).reason, /disk is full/);
        faulty.fail(false);
        assert.equal((await server.post(report('FULL1', {}))).status, 200);
        assert.equal((await server.get('/healthz')).status, 200);
      } finally {
        await server.close();
      }
    });
  });

  it('keeps the database and token files readable by their owner only', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'devstatus-harden-'));
    const umask = process.umask(0o022);
    try {
      const serve = await startServeCli([], { cwd, env: { DEVSTATUS_ADMIN_TOKEN: '' } });
      await postRaw(serve.url, JSON.stringify(report('MODE1', {})));
      for (const f of ['devstatus.db', 'admin-token']) assert.equal(statSync(join(cwd, 'data', f)).mode & 0o777, 0o600, f);
      assert.equal(await serve.proc.stop('SIGTERM'), 0);
    } finally {
      process.umask(umask);
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('answers gzip bodies 415 and a too-large Expect: 100-continue 413 without a 100', async () => {
    await withFreshServer(sqliteBackend, {}, async (server) => {
      const gz = await postRaw(server.url, gzipSync(JSON.stringify(report('GZ1', {}))), { 'content-encoding': 'gzip' });
      assert.equal(gz.status, 415);
      assert.match((await gz.json()).message, /gzip/);
      const unlabelled = await postRaw(server.url, gzipSync(JSON.stringify(report('GZ2', {}))));
      assert.equal(unlabelled.status, 415);

      const c = await rawConnection(server.url);
      c.socket.write('POST /DeviceStatus HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 50000000\r\n\r\n');
      await withTimeout(c.closed, 5000, 'connection closed after 413');
      assert.match(c.received(), /^HTTP\/1\.1 413 /);
      assert.doesNotMatch(c.received(), /100 Continue/);

      const ok = await rawConnection(server.url);
      const body = JSON.stringify(report('EXPECT1', {}));
      ok.socket.write(`POST /DeviceStatus HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`);
      await withTimeout(new Promise<void>((r) => ok.socket.once('data', () => r())), 5000, '100 Continue');
      assert.match(ok.received(), /^HTTP\/1\.1 100 Continue/);
      ok.socket.write(body);
      await withTimeout(
        new Promise<void>((r) => ok.socket.on('data', () => /HTTP\/1\.1 200 [\s\S]*EXPECT1/.test(ok.received()) && r())),
        5000,
        'answer',
      );
      ok.socket.destroy();
    });
  });
});

for (const backend of backends()) {
  describe(`no bad input answers 5xx (${backend.name})`, () => {
    it('API bodies with NUL characters, invalid UTF-8 or deep nesting, and odd parameters, are 4xx', async () => {
      const token = 'no5xx-admin-token-0123456789';
      await withFreshServer(backend, { adminToken: token }, async (server) => {
        const send = (method: string, path: string, body?: string | Buffer, type = 'application/json') =>
          fetch(`${server.url}${path}`, {
            method,
            headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': type }) },
            body: body as BodyInit | undefined,
          });
        await server.post(report('BOX5', { '10.0.0.1': 'online' }));
        const deep = '{"name":' + '['.repeat(5000) + ']'.repeat(5000) + '}';
        const cases: Array<[string, string, string | Buffer | undefined]> = [
          ['POST', '/api/admin/codes', JSON.stringify({ dev_sno: 'A\u0000B' })],
          ['POST', '/api/admin/codes', JSON.stringify({ name: 'x', ['k\u0000']: 1 })],
          ['PATCH', '/api/admin/devices/BOX5', JSON.stringify({ name: 'gate\u0000' })],
          ['PATCH', '/api/admin/devices/BOX5', deep],
          ['POST', '/api/admin/codes', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])],
          ['POST', '/api/users', JSON.stringify({ username: 'nul\u0000', password: 'long-enough-pw', role: 'viewer' })],
          ['POST', '/api/users', JSON.stringify({ username: 'ok', password: 'long-enough-pw', role: 'viewer', extra: 1 })],
          ['POST', '/api/keys', JSON.stringify({ name: 'k\u0000' })],
          ['POST', '/api/login', JSON.stringify({ username: 'x\u0000', password: 'y' })],
          ['POST', '/api/login', JSON.stringify({ username: 12, password: ['y'] })],
          ['POST', '/api/login', '[]'],
          ['POST', '/api/login', 'null'],
          ['DELETE', '/api/keys/99999999999999999999', undefined],
          ['DELETE', '/api/users/%00', undefined],
          ['PATCH', '/api/users/%00', JSON.stringify({ role: 'viewer' })],
          ['GET', '/api/audit?before=-1', undefined],
          ['GET', '/api/admin/codes/%00', undefined],
          ['POST', '/api/admin/codes/%00/revoke', undefined],
          ['GET', '/api/devices?limit=1&limit=2', undefined],
          ['GET', '/api/alerts/deliveries?status=%00', undefined],
        ];
        for (const [method, path, body] of cases) {
          const res = await send(method, path, body);
          assert.ok(res.status >= 400 && res.status < 500, `${method} ${path} ${String(body).slice(0, 60)}: ${res.status} ${await res.text()}`);
        }
      });
    });
  });
}
