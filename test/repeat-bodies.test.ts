// A box's byte-for-byte repeat skips parsing in the receiver (RepeatCache) and reading in the
// SQLite store (its memory of each online box's last report). These tests pin down that the
// short paths never answer differently from the long one: whatever happened in between (a
// revoked code, the box going silent, a restart), the same bytes give what a first parse would.
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseReport } from '../src/protocol/index.js';
import { RepeatCache } from '../src/server/repeat-cache.js';
import { SqliteStore } from '../src/store/index.js';
import { backends, report, sqliteBackend, startServer, withFreshServer, type RunningServer } from './support/server.js';
import { eventually } from './support/webhook.js';

const admin = (server: RunningServer, path: string) => fetch(`${server.url}${path}`, { method: 'POST' });
const postText = (server: RunningServer, text: string) => server.post(text, { raw: true });
const box = async (server: RunningServer, devSno: string) => (await (await server.get(`/api/devices/${devSno}`)).json()).box;
const historyLines = async (server: RunningServer, devSno: string) =>
  ((await (await server.get(`/api/devices/${devSno}/history`)).json()).entries as Array<{ ep_id: string | null; to_status: string }>)
    .map((e) => `${e.ep_id ?? 'box'}>${e.to_status}`)
    .reverse();

for (const backend of backends()) {
  describe(`byte-for-byte repeats (${backend.name})`, () => {
    it('stores every repeat, echoes it byte for byte, and records only the first report and real changes', async () => {
      await withFreshServer(backend, {}, async (server) => {
        const steady = JSON.stringify(report('REPB1', { '10.0.0.1': 'online', '10.0.0.2': 'offline' }));
        const flipped = JSON.stringify(report('REPB1', { '10.0.0.1': 'online', '10.0.0.2': 'online' }));
        for (const text of [steady, steady, steady, flipped, flipped, steady]) {
          const res = await postText(server, text);
          assert.equal(res.status, 200);
          assert.equal(await res.text(), text);
        }
        assert.equal((await box(server, 'REPB1')).report_count, 6);
        assert.deepEqual(await historyLines(server, 'REPB1'), [
          'box>online',
          'REPB1__10.0.0.1>online',
          'REPB1__10.0.0.2>offline',
          'REPB1__10.0.0.2>online',
          'REPB1__10.0.0.2>offline',
        ]);
      });
    });

    it('refuses the same bytes once the code is revoked, and takes them again once reinstated', async () => {
      await withFreshServer(backend, {}, async (server) => {
        const text = JSON.stringify(report('REPB2', { '10.0.0.1': 'online' }));
        assert.equal((await postText(server, text)).status, 200);
        assert.equal((await postText(server, text)).status, 200);
        assert.equal((await admin(server, '/api/admin/codes/REPB2/revoke')).status, 200);
        const refused = await postText(server, text);
        assert.equal(refused.status, 403);
        assert.equal((await refused.json()).code, 'revoked_code');
        assert.equal((await box(server, 'REPB2')).report_count, 2);
        assert.equal((await admin(server, '/api/admin/codes/REPB2/reinstate')).status, 200);
        assert.equal((await postText(server, text)).status, 200);
        assert.equal((await box(server, 'REPB2')).report_count, 3);
      });
    });

    it('brings a box that went silent back online on the very same bytes', async () => {
      await withFreshServer(backend, { offline: { reportIntervalMs: 150, misses: 2 } }, async (server) => {
        const text = JSON.stringify(report('REPB3', { '10.0.0.1': 'online' }));
        assert.equal((await postText(server, text)).status, 200);
        assert.equal((await postText(server, text)).status, 200);
        await eventually(async () => (await box(server, 'REPB3')).status === 'offline', 5000, 'REPB3 offline');
        assert.equal((await postText(server, text)).status, 200);
        assert.equal((await box(server, 'REPB3')).status, 'online');
        assert.deepEqual(await historyLines(server, 'REPB3'), ['box>online', 'REPB3__10.0.0.1>online', 'box>offline', 'box>online']);
      });
    });

    it('answers a repeat that needed normalizing with the normalized report, every time', async () => {
      await withFreshServer(backend, {}, async (server) => {
        // No ep_name, an upper-case status and padding: the echo is the normalized report.
        const text = '{"dev_sno":" REPB4 ","sub_devices":[{"ep_id":"REPB4__10.0.0.1","ep_ip":"10.0.0.1","ep_status":"ONLINE","ep_location":"l","ep_type":"photo","__proto__":{"x":1}}]}';
        const answers = [];
        for (let i = 0; i < 3; i++) {
          const res = await postText(server, text);
          assert.equal(res.status, 200);
          answers.push(await res.text());
        }
        assert.equal(new Set(answers).size, 1);
        const echo = JSON.parse(answers[0]!);
        assert.equal(echo.dev_sno, 'REPB4');
        assert.equal(echo.sub_devices[0].ep_status, 'online');
        assert.equal(echo.sub_devices[0].ep_name, '');
        // An unknown field named __proto__ is kept as a field like any other.
        assert.ok(Object.hasOwn(echo.sub_devices[0], '__proto__'), answers[0]);
        assert.deepEqual(echo.sub_devices[0].__proto__, { x: 1 });
        assert.equal((await box(server, 'REPB4')).report_count, 3);
      });
    });
  });
}

describe('RepeatCache', () => {
  const parsed = (text: string) => parseReport(JSON.parse(text));
  const bytes = (text: string) => Buffer.from(text);

  it('recognizes only the exact bytes of the last body of a box', () => {
    const cache = new RepeatCache(1 << 20);
    const a = JSON.stringify(report('RC1', { '10.0.0.1': 'online' }));
    const b = JSON.stringify(report('RC1', { '10.0.0.1': 'offline' }));
    assert.equal(cache.lookup(bytes(a)), undefined);
    cache.remember(bytes(a), parsed(a), bytes(a));
    assert.equal(cache.lookup(bytes(a))?.report.dev_sno, 'RC1');
    assert.equal(cache.lookup(bytes(a + ' ')), undefined, 'one byte more is another body');
    assert.equal(cache.lookup(bytes(b)), undefined);
    cache.remember(bytes(b), parsed(b), bytes(b));
    assert.equal(cache.lookup(bytes(a)), undefined, 'a box is remembered by its last body only');
    assert.equal(cache.lookup(bytes(b))?.report.sub_devices[0]!.ep_status, 'offline');
    assert.deepEqual(cache.stats, { hits: 2, misses: 4, boxes: 1, bytes: cache.stats.bytes });
  });

  it('cannot be misled by where "dev_sno" appears in a body', () => {
    const cache = new RepeatCache(1 << 20);
    // An unknown field holding a "dev_sno" of its own comes first: both bodies land in slot "X"...
    const decoy = (status: string) =>
      `{"extra":{"dev_sno":"X"},"dev_sno":"RC2","sub_devices":[{"ep_id":"RC2__1","ep_ip":"1","ep_status":"${status}","ep_location":"","ep_type":"photo","ep_name":""}]}`;
    const one = decoy('online');
    cache.remember(bytes(one), parsed(one), bytes(one));
    // ...and still only the identical bytes are recognized.
    assert.equal(cache.lookup(bytes(decoy('offline'))), undefined);
    assert.equal(cache.lookup(bytes(one))?.report.dev_sno, 'RC2');
    // An escaped dev_sno is not guessed at: such a body is simply not remembered.
    const escaped = '{"dev_sno":"RC\\u0033","sub_devices":[]}';
    cache.remember(bytes(escaped), parsed(escaped), bytes(escaped));
    assert.equal(cache.lookup(bytes(escaped)), undefined);
  });

  it('keeps within its memory limit, dropping the boxes that changed least recently, and does nothing at 0', () => {
    const text = (n: number) => JSON.stringify(report(`RC3-${n}`, { '10.0.0.1': 'online' }));
    const one = 3 * Buffer.byteLength(text(0)) + 512;
    const cache = new RepeatCache(3 * one);
    for (let n = 0; n < 5; n++) cache.remember(bytes(text(n)), parsed(text(n)), bytes(text(n)));
    assert.equal(cache.stats.boxes, 3);
    assert.ok(cache.stats.bytes <= 3 * one);
    assert.equal(cache.lookup(bytes(text(0))), undefined);
    assert.ok(cache.lookup(bytes(text(4))));
    const off = new RepeatCache(0);
    off.remember(bytes(text(0)), parsed(text(0)), bytes(text(0)));
    assert.equal(off.lookup(bytes(text(0))), undefined);
    assert.equal(off.stats.boxes, 0);
  });

  it('hands out a frozen report: one object answers many requests', () => {
    const cache = new RepeatCache(1 << 20);
    const text = JSON.stringify(report('RC4', { '10.0.0.1': 'online' }));
    cache.remember(bytes(text), parsed(text), bytes(text));
    const hit = cache.lookup(bytes(text))!;
    assert.throws(() => {
      (hit.report.sub_devices[0] as { ep_status: string }).ep_status = 'offline';
    }, TypeError);
  });
});

describe('sqlite store: one process per file, nothing acknowledged before the disk has it', () => {
  it('refuses a second store on the same file with a clear error, and allows it once the first is closed', async () => {
    const fresh = await sqliteBackend.fresh();
    try {
      await assert.rejects(fresh.reopen(), /in use by another devstatus process/);
      await fresh.store.close();
      const again = await fresh.reopen();
      await again.close();
    } finally {
      await fresh.store.close();
      await fresh.cleanup();
    }
  });

  it('a failed sync of the log fails the writes waiting for it and every write after, and the health check', async () => {
    const fresh = await sqliteBackend.fresh();
    const store = fresh.store as SqliteStore;
    const server = await startServer(store, {});
    try {
      assert.equal((await server.post(report('SYNC1', { '10.0.0.1': 'online' }))).status, 200);
      assert.equal((await server.get('/healthz')).status, 200);
      // The real failure a dying disk gives (EIO) cannot be had here; a closed descriptor makes
      // the very same fdatasync call fail.
      closeSync((store as unknown as { sync: { fd: number } }).sync.fd);
      const failed = await server.post(report('SYNC2', { '10.0.0.1': 'online' }));
      assert.equal(failed.status, 500, 'not acknowledged: the box sends it again');
      assert.equal((await server.post(report('SYNC3', { '10.0.0.1': 'online' }))).status, 500);
      const health = await server.get('/healthz');
      assert.equal(health.status, 503);
      assert.match((await health.json()).reason, /could not be synced/);
      await assert.rejects(store.addCode({ dev_sno: 'SYNC4', source: 'registered' }, Date.now()), /could not be synced/);
      await assert.rejects(store.getBox('SYNC1'), /could not be synced/);
    } finally {
      await server.close();
      (store as unknown as { sync: { fd: number | null } }).sync.fd = null;
      await store.close();
      await fresh.cleanup();
    }
  });

  it('answers repeats right when it can remember no box at all', async () => {
    const fresh = await sqliteBackend.fresh();
    await fresh.store.close();
    const file = (fresh.store as unknown as { db: { name: string } }).db.name;
    const store = new SqliteStore({ file, knownBytes: 0 });
    const server = await startServer(store, {});
    try {
      const text = JSON.stringify(report('NOMEM1', { '10.0.0.1': 'online' }));
      for (let i = 0; i < 3; i++) assert.equal((await postText(server, text)).status, 200);
      assert.equal((await box(server, 'NOMEM1')).report_count, 3);
      assert.deepEqual(await historyLines(server, 'NOMEM1'), ['box>online', 'NOMEM1__10.0.0.1>online']);
    } finally {
      await server.close();
      await store.close();
      await fresh.cleanup();
    }
  });
});
