import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { backends, report, sqliteBackend, withFreshServer, withFreshServerForSuite, type RunningServer } from './support/server.js';
import type { Store } from '../src/store/types.js';

for (const backend of backends()) {
  describe(`receiver over HTTP (${backend.name})`, () => {
    let server: RunningServer;
    let store: Store;
    withFreshServerForSuite(backend, {}, (s) => {
      server = s;
      store = s.store;
    });

    it('stores a valid report and echoes it normalized', async () => {
      const body = report('ECHO1', { '192.168.1.101': 'online', '192.168.1.102': 'offline' });
      (body.sub_devices[0] as Record<string, unknown>).channel = 2;
      (body.sub_devices[1] as Record<string, unknown>).ep_status = 'OFFLINE';
      const res = await server.post(body);
      assert.equal(res.status, 200);
      const echoed = await res.json();
      assert.equal(echoed.dev_sno, 'ECHO1');
      assert.equal(echoed.sub_devices.length, 2);
      assert.equal(echoed.sub_devices[0].channel, 2);
      assert.equal(echoed.sub_devices[1].ep_status, 'offline');

      const box = await (await server.get('/api/devices/ECHO1')).json();
      assert.equal(box.box.status, 'online');
      assert.equal(box.box.sub_devices_online, 1);
      assert.equal(box.box.sub_devices_offline, 1);
      assert.deepEqual(
        box.sub_devices.map((s: { ep_id: string; ep_status: string; ep_name: string }) => [s.ep_id, s.ep_status, s.ep_name]),
        [
          ['ECHO1__192.168.1.101', 'online', 'cam 192.168.1.101'],
          ['ECHO1__192.168.1.102', 'offline', 'cam 192.168.1.102'],
        ],
      );
      assert.deepEqual(box.sub_devices[0].extra, { channel: 2 });

      const list = await (await server.get('/api/devices?q=echo')).json();
      assert.equal(list.total, 1);
      assert.equal(list.boxes[0].dev_sno, 'ECHO1');
    });

    it('accepts the trailing slash, text/plain and a missing content type', async () => {
      const body = report('SLASH1', { '10.0.0.1': 'online' });
      assert.equal((await server.post(body, { path: '/DeviceStatus/' })).status, 200);
      assert.equal((await server.post(body, { headers: { 'content-type': 'text/plain' } })).status, 200);
      const res = await fetch(`${server.url}/DeviceStatus`, { method: 'POST', body: new Blob([JSON.stringify(body)]) });
      assert.equal(res.status, 200);
      const box = await (await server.get('/api/devices/SLASH1')).json();
      assert.equal(box.box.report_count, 3);
    });

    const invalid: Array<[string, unknown, string, number?]> = [
      ['bad JSON', '{"dev_sno": "BAD1", ', '(body)'],
      ['an empty body', '', '(body)'],
      ['a JSON array', '[1,2]', '(body)'],
      ['missing dev_sno', JSON.stringify({ sub_devices: [] }), 'dev_sno'],
      ['missing sub_devices', JSON.stringify({ dev_sno: 'BAD1' }), 'sub_devices'],
      [
        'an invalid ep_status in the third sub-device',
        JSON.stringify(
          (() => {
            const r = report('BAD1', { '1.1.1.1': 'online', '1.1.1.2': 'online', '1.1.1.3': 'online' });
            (r.sub_devices[2] as { ep_status: string }).ep_status = 'flaky';
            return r;
          })(),
        ),
        'sub_devices[2].ep_status',
      ],
      [
        'a bad ep_type',
        JSON.stringify(report('BAD1', { '1.1.1.1': 'online' }, 'usb')),
        'sub_devices[0].ep_type',
      ],
      [
        "another box's sub-device",
        JSON.stringify({ ...report('BAD1', { '1.1.1.1': 'online' }), dev_sno: 'BAD2' }),
        'sub_devices[0].ep_id',
      ],
    ];
    for (const [what, raw, field] of invalid) {
      it(`rejects ${what} with 400 naming ${field} and stores nothing`, async () => {
        const res = await server.post(raw, { raw: true });
        assert.equal(res.status, 400);
        const err = await res.json();
        assert.equal(err.error, 'invalid_report');
        assert.equal(err.field, field);
        assert.ok(err.reason.length > 0);
        assert.equal((await server.get('/api/devices/BAD1')).status, 404);
        assert.equal((await server.get('/api/devices/BAD2')).status, 404);
      });
    }

    it('answers 413 for a body over the limit and stores nothing', async () => {
      const big = report('BIG1', { '1.1.1.1': 'online' });
      big.sub_devices[0]!.ep_name = 'x'.repeat(1024 * 1024);
      const res = await server.post(big);
      assert.equal(res.status, 413);
      assert.equal((await res.json()).error, 'payload_too_large');
      assert.equal((await server.get('/api/devices/BIG1')).status, 404);
    });

    it('records every transition of box and sub-devices, including removal and return', async () => {
      const ok = async (b: unknown) => assert.equal((await server.post(b)).status, 200);
      await ok(report('HIST1', { '10.1.1.1': 'online', '10.1.1.2': 'online' }));
      await ok(report('HIST1', { '10.1.1.1': 'online', '10.1.1.2': 'online' })); // no change
      await ok(report('HIST1', { '10.1.1.1': 'offline', '10.1.1.2': 'online' }));
      await ok(report('HIST1', { '10.1.1.1': 'offline' })); // 10.1.1.2 left the report
      await ok(report('HIST1', { '10.1.1.1': 'online', '10.1.1.2': 'online' })); // both back

      const { entries } = await (await server.get('/api/devices/HIST1/history')).json();
      const seen = entries
        .reverse()
        .map((e: { ep_id: string | null; from_status: string | null; to_status: string; reason: string }) =>
          `${e.ep_id ?? 'box'} ${e.from_status ?? '-'}>${e.to_status} ${e.reason}`,
        );
      assert.deepEqual(seen, [
        'box ->online first_seen',
        'HIST1__10.1.1.1 ->online first_seen',
        'HIST1__10.1.1.2 ->online first_seen',
        'HIST1__10.1.1.1 online>offline report',
        'HIST1__10.1.1.2 online>removed missing_from_report',
        'HIST1__10.1.1.1 offline>online report',
        'HIST1__10.1.1.2 removed>online report',
      ]);

      const one = await (await server.get('/api/devices/HIST1/history?ep_id=HIST1__10.1.1.2&limit=1')).json();
      assert.equal(one.entries.length, 1);
      assert.equal(one.entries[0].to_status, 'online');
      const older = await (await server.get(`/api/devices/HIST1/history?ep_id=HIST1__10.1.1.2&before=${one.entries[0].id}`)).json();
      assert.deepEqual(older.entries.map((e: { to_status: string }) => e.to_status), ['removed', 'online']);

      const box = await (await server.get('/api/devices/HIST1')).json();
      assert.equal(box.box.report_count, 5);
      assert.deepEqual(box.sub_devices.map((s: { ep_status: string }) => s.ep_status), ['online', 'online']);
    });

    it('keeps a sub-device that left the report as removed, not online', async () => {
      await server.post(report('REM1', { '10.2.0.1': 'online', '10.2.0.2': 'online' }));
      await server.post(report('REM1', { '10.2.0.1': 'online' }));
      const box = await (await server.get('/api/devices/REM1')).json();
      const gone = box.sub_devices.find((s: { ep_id: string }) => s.ep_id === 'REM1__10.2.0.2');
      assert.equal(gone.ep_status, 'removed');
      assert.equal(box.box.sub_devices_online, 1);
    });

    it('answers the read API: list filters, summary, 404s and bad queries', async () => {
      assert.equal((await server.get('/api/devices?status=online')).status, 200);
      assert.equal((await server.get('/api/devices?status=broken')).status, 400);
      assert.equal((await server.get('/api/devices/NOPE')).status, 404);
      assert.equal((await server.get('/api/devices/NOPE/history')).status, 404);
      assert.equal((await server.get('/api/devices/REM1/history?before=abc')).status, 400);
      const page = await (await server.get('/api/devices?limit=2&offset=1')).json();
      assert.equal(page.boxes.length, 2);
      assert.ok(page.total >= 4);
      const summary = await (await server.get('/api/summary')).json();
      assert.equal(summary.boxes.total, page.total);
      assert.equal(summary.boxes.online, page.total);
      const health = await (await server.get('/healthz')).json();
      assert.deepEqual(health, { ok: true, store: backend.name });
      assert.equal((await server.get('/DeviceStatus')).status, 405);
    });

    it('keeps an idle keep-alive connection open well past the boxes\' report interval', () => {
      assert.ok(server.app.server.keepAliveTimeout >= 60_000, `keepAliveTimeout ${server.app.server.keepAliveTimeout}`);
    });

    it('serves concurrent reports from many boxes without losing any', async () => {
      const boxes = Array.from({ length: 50 }, (_, i) => `CONC${String(i).padStart(3, '0')}`);
      const results = await Promise.all(boxes.map((b) => server.post(report(b, { '10.9.0.1': 'online' }))));
      assert.ok(results.every((r) => r.status === 200));
      const list = await (await server.get('/api/devices?q=CONC&limit=1000')).json();
      assert.equal(list.total, 50);
    });

    it('keeps everything across a store reopen', async () => {
      // covered for the whole process in cli.test.ts; here the store alone
      const fresh = await backend.fresh();
      const s1 = fresh.store;
      await s1.ingest({ dev_sno: 'KEEP1', sub_devices: [], extra: {} }, Date.now());
      await s1.close();
      const s2 = await fresh.reopen();
      assert.equal((await s2.getBox('KEEP1'))?.box.dev_sno, 'KEEP1');
      await s2.close();
      await fresh.cleanup();
    });
  });
}

describe('sqlite store: one failing report in a group commit', () => {
  it('rolls back only that report, whole, and commits the others', async () => {
    await withFreshServer(sqliteBackend, {}, async (server, fresh) => {
      await server.post(report('WARM', {}));
      // A real SQLite trigger makes the write of one sub-device fail after its box row was written.
      const file = (fresh.store as unknown as { db: { name: string } }).db.name;
      const side = new Database(file);
      side.exec(`CREATE TRIGGER fail_one BEFORE INSERT ON sub_devices WHEN NEW.ep_id = 'FAIL1__10.0.0.2'
                 BEGIN SELECT RAISE(ABORT, 'disk says no'); END`);
      side.close();
      const [good, bad] = await Promise.all([
        server.post(report('GOOD1', { '10.0.0.1': 'online' })),
        server.post(report('FAIL1', { '10.0.0.1': 'online', '10.0.0.2': 'online' })),
      ]);
      assert.equal(good.status, 200);
      assert.equal(bad.status, 500);
      assert.equal((await server.get('/api/devices/GOOD1')).status, 200);
      // Nothing half-written: neither the box nor its first sub-device nor history.
      assert.equal((await server.get('/api/devices/FAIL1')).status, 404);
      assert.deepEqual(await fresh.store.history('FAIL1'), []);
    });
  });
});
