// A box's byte-for-byte repeat skips parsing in the receiver (RepeatCache) and reading in the
// SQLite store (its memory of each online box's last report); both know a body by its digest. These tests pin down that the
// short paths never answer differently from the long one: whatever happened in between (a
// revoked code, the box going silent, a restart), the same bytes give what a first parse would.
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseReport } from '../src/protocol/index.js';
import { REPEAT_MEMORY_BYTES } from '../src/defaults.js';
import { RepeatCache } from '../src/server/repeat-cache.js';
import { digestOfBytes } from '../src/util/body-digest.js';
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
      // Silent for 2 s makes it offline: far more than a slow machine takes between two steps.
      await withFreshServer(backend, { offline: { reportIntervalMs: 1000, misses: 2 } }, async (server) => {
        const text = JSON.stringify(report('REPB3', { '10.0.0.1': 'online' }));
        assert.equal((await postText(server, text)).status, 200);
        assert.equal((await postText(server, text)).status, 200);
        await eventually(async () => (await box(server, 'REPB3')).status === 'offline', 10_000, 'REPB3 offline');
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

describe('RepeatCache (a digest of each box\'s last body)', () => {
  const parsed = (text: string) => parseReport(JSON.parse(text));
  const bytes = (text: string) => Buffer.from(text);
  const seen = (cache: RepeatCache, text: string) => cache.lookup(cache.identify(bytes(text)));
  const remember = (cache: RepeatCache, text: string) => cache.remember(cache.identify(bytes(text)), parsed(text));

  it('recognizes only the exact bytes of the last body of a box', () => {
    const cache = new RepeatCache(1 << 20);
    const a = JSON.stringify(report('RC1', { '10.0.0.1': 'online' }));
    const b = JSON.stringify(report('RC1', { '10.0.0.1': 'offline' }));
    assert.equal(seen(cache, a), undefined);
    remember(cache, a);
    assert.equal(seen(cache, a)?.devSno, 'RC1');
    assert.equal(seen(cache, a + ' '), undefined, 'one byte more is another body');
    // One byte different, same length: another body.
    const oneByte = a.replace('10.0.0.1', '10.0.0.2');
    assert.equal(oneByte.length, a.length);
    assert.equal(seen(cache, oneByte), undefined, 'one byte different is another body');
    for (let i = 0; i < a.length; i++) {
      const flipped = Buffer.from(a);
      flipped[i] = flipped[i]! ^ 0x01;
      assert.equal(cache.lookup(cache.identify(flipped)), undefined, `byte ${i} flipped`);
    }
    assert.equal(seen(cache, b), undefined);
    remember(cache, b);
    assert.equal(seen(cache, a), undefined, 'a box is remembered by its last body only');
    const hit = seen(cache, b)!;
    assert.deepEqual([hit.devSno, hit.online, hit.offline], ['RC1', 0, 1]);
    assert.deepEqual(cache.stats, { hits: 2, misses: 5 + a.length, boxes: 1, bytes: cache.stats.bytes });
  });

  it('cannot be misled by where "dev_sno" appears in a body', () => {
    const cache = new RepeatCache(1 << 20);
    // An unknown field holding a "dev_sno" of its own comes first: the body is found under "X"...
    const decoy = (status: string) =>
      `{"extra":{"dev_sno":"X"},"dev_sno":"RC2","sub_devices":[{"ep_id":"RC2__1","ep_ip":"1","ep_status":"${status}","ep_location":"","ep_type":"photo","ep_name":""}]}`;
    const one = decoy('online');
    remember(cache, one);
    // ...which is not the dev_sno it parsed to: such a body is not remembered (a hit must name its box).
    assert.equal(seen(cache, one), undefined);
    assert.equal(cache.stats.boxes, 0);
    // An escaped dev_sno is not guessed at: such a body is not remembered either.
    const escaped = '{"dev_sno":"RC\\u0033","sub_devices":[]}';
    remember(cache, escaped);
    assert.equal(seen(cache, escaped), undefined);
    assert.equal(cache.stats.boxes, 0);
  });

  it('keeps within its memory limit at 64 bytes a box, dropping the boxes that changed least recently, and does nothing at 0', () => {
    const text = (n: number) => JSON.stringify(report(`RC3-${n}`, { '10.0.0.1': 'online' }));
    const cache = new RepeatCache(3 * 64);
    for (let n = 0; n < 5; n++) remember(cache, text(n));
    assert.equal(cache.stats.boxes, 3);
    assert.ok(cache.stats.bytes <= 3 * 64, `${cache.stats.bytes} bytes`);
    assert.equal(seen(cache, text(0)), undefined);
    assert.ok(seen(cache, text(4)));
    const off = new RepeatCache(0);
    remember(off, text(0));
    assert.equal(seen(off, text(0)), undefined);
    assert.equal(off.stats.boxes, 0);
  });

  it('holds 100,000 boxes of 8 sub-devices in its default memory, at most 64 bytes a box', () => {
    const cache = new RepeatCache(REPEAT_MEMORY_BYTES);
    const subs = (n: number) => Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`10.${n >> 16}.${(n >> 8) & 255}.${i}`, n % 3 === i % 3 ? 'offline' : 'online'] as const));
    const body = (n: number) => bytes(JSON.stringify(report(`BOX-${String(n).padStart(6, '0')}`, subs(n) as Record<string, 'online' | 'offline'>)));
    const boxes = 100_000;
    for (let n = 0; n < boxes; n++) {
      const b = body(n);
      cache.remember(cache.identify(b), parseReport(JSON.parse(b.toString())));
    }
    assert.equal(cache.stats.boxes, boxes);
    assert.ok(cache.stats.bytes / boxes <= 64, `${(cache.stats.bytes / boxes).toFixed(1)} bytes a box`);
    let hits = 0;
    for (let n = 0; n < boxes; n++) if (cache.lookup(cache.identify(body(n)))) hits++;
    assert.equal(hits, boxes, 'every box is still remembered');
    const hit = cache.lookup(cache.identify(body(4)))!;
    assert.deepEqual([hit.devSno, hit.online + hit.offline], ['BOX-000004', 8]);
  });
});

describe('sqlite store: a repeat known by its digest alone', () => {
  const bytes = (text: string) => Buffer.from(text);
  it('is stored without its report while the box is known, and handed back once it is not', async () => {
    const fresh = await sqliteBackend.fresh();
    const store = fresh.store as SqliteStore;
    try {
      const text = JSON.stringify(report('DIG1', { '10.0.0.1': 'online' }));
      const t0 = Date.now();
      await store.ingest(parseReport(JSON.parse(text)), t0, { source: bytes(text) });
      assert.equal(await store.ingestRepeat('DIG1', digestOfBytes(bytes(text)), t0 + 1), true);
      // A body one byte different is not the box's last one: no short path.
      assert.equal(store.ingestRepeat('DIG1', digestOfBytes(bytes(text.replace('online', 'onlinf'))), t0 + 2), undefined);
      assert.equal(store.ingestRepeat('DIG2', digestOfBytes(bytes(text)), t0 + 2), undefined, 'another box');
      // Known when asked, not any more when written (the code was revoked in between): not stored.
      const late = store.ingestRepeat('DIG1', digestOfBytes(bytes(text)), t0 + 3);
      assert.ok(late);
      await store.setCodeStatus('DIG1', 'revoked', t0 + 3);
      assert.equal(await late, false);
      const found = (await store.getBox('DIG1'))!;
      assert.equal(found.box.report_count, 2);
      assert.equal(found.box.last_report_at, new Date(t0 + 1).toISOString());
    } finally {
      await store.close();
      await fresh.cleanup();
    }
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
      // The real failure a dying disk gives (EIO) cannot be had here. The store's descriptor of
      // the WAL is swapped for one of /dev/null, which fdatasync refuses (EINVAL) every time.
      // (Closing the descriptor instead was flaky: the next file or socket the process opened got
      // the same number, and a sync of that one could succeed.)
      const sync = (store as unknown as { sync: { fd: number } }).sync;
      const walFd = sync.fd;
      sync.fd = openSync('/dev/null', 'r');
      closeSync(walFd);
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
