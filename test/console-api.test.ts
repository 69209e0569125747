// The operator console's API (src/server/routes/console-api.ts) on both stores: fleet-wide
// sub-devices with filters, sorts and cursors, counts that add up, the location directory,
// history by time, outages, availability, CSV exports and 400s naming the parameter.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import Fastify, { type FastifyInstance } from 'fastify';
import { parseReport } from '../src/protocol/index.js';
import { buildServer } from '../src/server/app.js';
import { registerConsoleRoutes } from '../src/server/routes/console-api.js';
import type { FleetSubDevice, Store } from '../src/store/types.js';
import { backends, type FreshStore } from './support/server.js';

const H = 3600_000;
const NOW = Date.now();
const ago = (hours: number) => NOW - hours * H;
const LOC1 = '95274d2c-0941-4d96-b032-ab200f81362c';
const LOC2 = '1b7c3a52-77a1-4c2e-9d0f-6f1d2a9e0b11';

type SubSpec = { ip: string; status: 'online' | 'offline'; type?: string; location?: string; name?: string; url?: string; extra?: Record<string, unknown> };

async function send(store: Store, devSno: string, subs: SubSpec[], at: number, extra: Record<string, unknown> = {}) {
  const report = parseReport({
    dev_sno: devSno,
    ...extra,
    sub_devices: subs.map((s) => ({
      ep_id: `${devSno}__${s.url ?? s.ip}`,
      ep_ip: s.ip,
      ep_status: s.status,
      ep_location: s.location ?? LOC1,
      ep_type: s.type ?? 'rtsp',
      ep_name: s.name ?? `cam ${s.ip}`,
      ...s.extra,
    })),
  });
  return store.ingest(report, at);
}

// The fleet, in hours before now:
//  AAA1: online since -5; cam .1 online (an RTSP URL with a password in ep_id), cam .2 offline since -5.
//  BBB2: online since -5; cam .1 online (photo, LOC2), cam .2 offline since -3 (with ep_detail).
//  CCC3: online -6 .. -2, then offline (report timeout): its two cameras read unknown since -2.
//  DDD4: online since -5, version 2.1.0; cam .2 removed at -4.
async function fillFleet(store: Store): Promise<void> {
  const a1 = [
    { ip: '10.0.0.1', status: 'online' as const, url: 'rtsp://admin:s3cret@10.0.0.1:554/live' },
    { ip: '10.0.0.2', status: 'offline' as const },
  ];
  const b2 = (second: 'online' | 'offline'): SubSpec[] => [
    { ip: '10.0.1.1', status: 'online', type: 'photo', location: LOC2, name: '东门 抓拍机' },
    { ip: '10.0.1.2', status: second, name: 'lobby, "main"', extra: second === 'offline' ? { ep_detail: '拉流失败: timeout' } : {} },
  ];
  const c3 = [
    { ip: '10.0.2.1', status: 'online' as const },
    { ip: '10.0.2.2', status: 'offline' as const },
  ];
  const d4 = [
    { ip: '10.0.3.1', status: 'online' as const, location: LOC2 },
    { ip: '10.0.3.2', status: 'online' as const },
  ];
  const version = { gateway_ext_data: { sw_version: '2.1.0' } };
  await send(store, 'CCC3', c3, ago(6));
  await send(store, 'AAA1', a1, ago(5));
  await send(store, 'BBB2', b2('online'), ago(5));
  await send(store, 'DDD4', d4, ago(5), version);
  await send(store, 'DDD4', d4.slice(0, 1), ago(4), version);
  await send(store, 'BBB2', b2('offline'), ago(3));
  // Everyone but CCC3 reports again a minute ago; CCC3 was declared offline two hours ago.
  await send(store, 'AAA1', a1, ago(1 / 60));
  await send(store, 'BBB2', b2('offline'), ago(1 / 60));
  await send(store, 'DDD4', d4.slice(0, 1), ago(1 / 60), version);
  assert.equal((await store.markSilentBoxesOffline(ago(2.5), ago(2))).length, 1);
  await store.updateCode('BBB2', { name: 'Gate "A", east\nside', location: 'Building 3' }, NOW);
  await store.updateCode('AAA1', { name: '一号楼 box', location: LOC1 }, NOW);
  await store.putLocation(LOC1, { name: '一号楼 Building 1' }, NOW);
}

for (const backend of backends()) {
  describe(`console API (${backend.name})`, () => {
    let fresh: FreshStore;
    let store: Store;
    let app: FastifyInstance;
    let base: string;
    const get = async (path: string) => {
      const res = await fetch(`${base}${path}`);
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, body: text.startsWith('{') ? JSON.parse(text) : undefined };
    };
    const ids = (rows: FleetSubDevice[]) => rows.map((r) => r.ep_id);

    before(async () => {
      fresh = await backend.fresh();
      store = fresh.store;
      await fillFleet(store);
      // The same ajv options as the receiver's (an unknown parameter is an error, not dropped).
      app = Fastify({ ajv: { customOptions: { removeAdditional: false } } });
      await registerConsoleRoutes(app, store);
      base = await app.listen({ host: '127.0.0.1', port: 0 });
    });
    after(async () => {
      await app?.close();
      await store?.close();
      await fresh?.cleanup();
    });

    it('counts that add up: the summary and the list agree, an offline box makes its cameras unknown', async () => {
      const s = await store.summary();
      assert.deepEqual(s.boxes, { total: 4, online: 3, offline: 1 });
      assert.deepEqual(s.sub_devices, { total: 7, online: 3, offline: 2, unknown: 2, removed: 1 });
      for (const status of ['online', 'offline', 'unknown', 'removed'] as const) {
        const page = await get(`/api/sub-devices?status=${status}`);
        assert.equal(page.body.total, s.sub_devices[status], status);
        assert.equal(page.body.sub_devices.length, s.sub_devices[status], `${status}: the rows themselves`);
        assert.ok(page.body.sub_devices.every((r: FleetSubDevice) => r.status === status));
      }
      const all = await get('/api/sub-devices');
      assert.equal(all.body.total, s.sub_devices.total + s.sub_devices.removed);
      assert.equal(all.body.sub_devices.length, all.body.total);
      // A filter beyond status is counted on the rows (not from the counters).
      assert.equal((await get('/api/sub-devices?status=unknown,online&type=rtsp')).body.total, 4);
      const unknown = all.body.sub_devices.filter((r: FleetSubDevice) => r.dev_sno === 'CCC3');
      assert.deepEqual(unknown.map((r: FleetSubDevice) => [r.status, r.last_reported_status, r.since, r.reason, r.box_status]), [
        ['unknown', 'online', new Date(ago(2)).toISOString(), 'report_timeout', 'offline'],
        ['unknown', 'offline', new Date(ago(2)).toISOString(), 'report_timeout', 'offline'],
      ]);
    });

    it('lists problems longest down first, with names, places, reason, detail and a clean stream URL', async () => {
      const { body } = await get('/api/sub-devices?status=problems&sort=down_since');
      assert.deepEqual(ids(body.sub_devices), ['AAA1__10.0.0.2', 'BBB2__10.0.1.2', 'CCC3__10.0.2.1', 'CCC3__10.0.2.2']);
      assert.equal(body.next_cursor, null);
      const [a, b] = body.sub_devices as FleetSubDevice[];
      assert.deepEqual(
        { since: a!.since, reason: a!.reason, box_name: a!.box_name, location_id: a!.location_id, location_name: a!.location_name },
        { since: new Date(ago(5)).toISOString(), reason: 'first_seen', box_name: '一号楼 box', location_id: LOC1, location_name: '一号楼 Building 1' },
      );
      assert.deepEqual(
        { status: b!.status, since: b!.since, reason: b!.reason, detail: b!.detail, box_name: b!.box_name, box_location: b!.box_location },
        { status: 'offline', since: new Date(ago(3)).toISOString(), reason: 'report', detail: '拉流失败: timeout', box_name: 'Gate "A", east\nside', box_location: 'Building 3' },
      );
      const cam = (await get('/api/sub-devices?box=AAA1&q=10.0.0.1')).body.sub_devices[0] as FleetSubDevice;
      assert.equal(cam.stream_url, 'rtsp://10.0.0.1:554/live');
      assert.equal(cam.ep_id, 'AAA1__rtsp://admin:s3cret@10.0.0.1:554/live');
      // Everything else after the problems, still by since.
      const every = (await get('/api/sub-devices?sort=down_since')).body.sub_devices as FleetSubDevice[];
      assert.deepEqual(ids(every).slice(0, 4), ids(body.sub_devices));
    });

    it('filters by status (several), type, location, box and text', async () => {
      const list = async (q: string) => ids((await get(`/api/sub-devices?${q}`)).body.sub_devices).sort();
      assert.deepEqual(await list('status=offline,removed'), ['AAA1__10.0.0.2', 'BBB2__10.0.1.2', 'DDD4__10.0.3.2']);
      assert.deepEqual(await list('status=offline&status=removed'), await list('status=offline,removed'));
      assert.deepEqual(await list('type=photo'), ['BBB2__10.0.1.1']);
      assert.deepEqual(await list(`location=${LOC2}`), ['BBB2__10.0.1.1', 'DDD4__10.0.3.1']);
      assert.deepEqual(await list('box=CCC3'), ['CCC3__10.0.2.1', 'CCC3__10.0.2.2']);
      assert.deepEqual(await list(`q=${encodeURIComponent('东门')}`), ['BBB2__10.0.1.1']);
      assert.deepEqual(await list('q=GATE%20%22a'), ['BBB2__10.0.1.1', 'BBB2__10.0.1.2']); // box name, any ASCII case
      assert.deepEqual(await list('q=10.0.1.'), ['BBB2__10.0.1.1', 'BBB2__10.0.1.2']); // ep_ip, ep_id
      assert.deepEqual(await list('q=%25'), []); // LIKE's wildcards are plain characters
      assert.deepEqual(await list('q=A_1'), []); // (as a wildcard, _ would match AAA1)
      assert.deepEqual(await list('status=online&type=rtsp&box=DDD4'), ['DDD4__10.0.3.1']);
    });

    it('keeps a location directory that names ep_location ids', async () => {
      const put = (id: string, body: unknown) =>
        fetch(`${base}/api/locations/${encodeURIComponent(id)}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const created = await put(LOC2, { name: '停车场 Car park', lat: 31.23, lon: 121.47 });
      assert.equal(created.status, 201);
      const loc = await created.json();
      assert.deepEqual([loc.id, loc.name, loc.parent_id, loc.lat, loc.lon], [LOC2, '停车场 Car park', null, 31.23, 121.47]);
      const replaced = await put(LOC2, { name: '停车场 B', parent_id: 'SITE-1' });
      assert.equal(replaced.status, 200);
      assert.deepEqual(
        (({ name, parent_id, lat }) => ({ name, parent_id, lat }))(await replaced.json()),
        { name: '停车场 B', parent_id: 'SITE-1', lat: null },
      );
      assert.deepEqual((await get('/api/locations')).body.locations.map((l: { id: string }) => l.id).sort(), [LOC1, LOC2].sort());
      assert.equal((await get(`/api/locations/${LOC2}`)).body.name, '停车场 B');
      const rows = (await get(`/api/sub-devices?location=${LOC2}`)).body.sub_devices as FleetSubDevice[];
      assert.ok(rows.length === 2 && rows.every((r) => r.location_name === '停车场 B'));

      const bad = await put(LOC2, { name: 'x', lat: 91 });
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).field, 'lat');
      const self = await put(LOC2, { name: 'x', parent_id: LOC2 });
      assert.equal((await self.json()).field, 'parent_id');
      const typo = await put(LOC2, { nmae: 'x' });
      assert.equal(typo.status, 400);

      assert.equal((await fetch(`${base}/api/locations/${LOC2}`, { method: 'DELETE' })).status, 204);
      assert.equal((await fetch(`${base}/api/locations/${LOC2}`, { method: 'DELETE' })).status, 404);
      assert.equal((await get(`/api/locations/${LOC2}`)).status, 404);
      const unnamed = (await get(`/api/sub-devices?location=${LOC2}`)).body.sub_devices as FleetSubDevice[];
      assert.ok(unnamed.every((r) => r.location_name === null));
    });

    it('sorts and filters the box list by status since, location and version', async () => {
      const boxes = async (q: string) => (await get(`/api/devices?${q}`)).body.boxes.map((b: { dev_sno: string }) => b.dev_sno);
      // Ties (three boxes came online at -5 h) in dev_sno order; CCC3 went offline last (-2 h).
      assert.deepEqual(await boxes('sort=status_since'), ['AAA1', 'BBB2', 'DDD4', 'CCC3']);
      assert.deepEqual(await boxes('sort=status_since&order=desc'), ['CCC3', 'DDD4', 'BBB2', 'AAA1']);
      assert.deepEqual(await boxes('status=offline'), ['CCC3']);
      assert.deepEqual(await boxes('version=2.1.0'), ['DDD4']);
      assert.deepEqual(await boxes('version=9'), []);
      assert.deepEqual(await boxes(`location=${LOC2}`), ['BBB2', 'DDD4']); // a camera there
      assert.deepEqual(await boxes('location=Building%203'), ['BBB2']); // the registry location
      assert.deepEqual(await boxes('sort=name&limit=2'), ['CCC3', 'DDD4']); // unnamed ('') first
      assert.deepEqual(await boxes('sort=last_report&order=desc&limit=1&offset=3'), ['CCC3']);
      assert.equal((await get('/api/devices?status=broken')).body.field, 'status');
    });

    it('pages history back by id and filters it by sub-device and time', async () => {
      const all = (await get('/api/history?limit=1000')).body.entries as Array<{ id: number; at: string; ep_id: string | null }>;
      const walked: number[] = [];
      let before: number | null = null;
      do {
        const page: { body: { entries: Array<{ id: number }>; next_before: number | null } } = await get(`/api/history?limit=3${before ? `&before=${before}` : ''}`);
        walked.push(...page.body.entries.map((e) => e.id));
        before = page.body.next_before;
      } while (before);
      assert.deepEqual(walked, all.map((e) => e.id));

      const from = new Date(ago(4.5)).toISOString();
      const to = new Date(ago(2.5)).toISOString();
      const ranged = (await get(`/api/history?from=${from}&to=${to}`)).body.entries as typeof all;
      assert.deepEqual(ranged, all.filter((e) => e.at >= from && e.at < to));
      assert.ok(ranged.length >= 2);
      const box = (await get(`/api/devices/BBB2/history?ep_id=BBB2__10.0.1.2&from=${new Date(ago(4)).toISOString()}`)).body;
      assert.deepEqual(box.entries.map((e: { to_status: string; reason: string }) => [e.to_status, e.reason]), [['offline', 'report']]);
      const fleetByBox = (await get('/api/history?dev_sno=CCC3')).body.entries;
      assert.equal(fleetByBox[0].reason, 'report_timeout');
      assert.equal((await get('/api/devices/NOPE/history')).status, 404);
    });

    it('lists outages with durations, ongoing ones without an end', async () => {
      const { body } = await get('/api/devices/CCC3/outages');
      const box = body.outages.find((o: { ep_id: string | null }) => o.ep_id === null);
      assert.deepEqual([box.start, box.end, box.clipped], [new Date(ago(2)).toISOString(), null, false]);
      assert.ok(Math.abs(box.duration_ms - 2 * H) < 60_000);
      // The offline camera was down from its first report, and still is (its box went quiet).
      const cam = (await get('/api/devices/CCC3/outages?ep_id=CCC3__10.0.2.2')).body.outages;
      assert.deepEqual(cam.map((o: { start: string; end: string | null }) => [o.start, o.end]), [[new Date(ago(6)).toISOString(), null]]);
      const past = (await get(`/api/devices/BBB2/outages?from=${new Date(ago(4)).toISOString()}&to=${new Date(ago(2)).toISOString()}`)).body;
      assert.deepEqual(past.outages.map((o: { ep_id: string; start: string; end: string; duration_ms: number }) => [o.ep_id, o.start, o.end, o.duration_ms]), [
        ['BBB2__10.0.1.2', new Date(ago(3)).toISOString(), new Date(ago(2)).toISOString(), H],
      ]);
      assert.equal((await get('/api/devices/NOPE/outages')).status, 404);
    });

    it('computes availability per box and camera over a window', async () => {
      const near = (a: number, b: number) => Math.abs(a - b) < 0.001;
      const c3 = (await get('/api/devices/CCC3/availability?window=24h')).body;
      assert.ok(near(c3.box.availability, 4 / 6), `CCC3 up 4 h of 6: ${c3.box.availability}`);
      const byId = Object.fromEntries(c3.sub_devices.map((s: { ep_id: string; availability: number }) => [s.ep_id, s.availability]));
      assert.ok(near(byId['CCC3__10.0.2.1'], 4 / 6));
      assert.equal(byId['CCC3__10.0.2.2'], 0);
      const b2 = (await get('/api/devices/BBB2/availability?window=7d')).body;
      assert.equal(b2.window, '7d');
      assert.ok(near(b2.sub_devices.find((s: { ep_id: string }) => s.ep_id === 'BBB2__10.0.1.2').availability, 2 / 5));
      const d4 = (await get('/api/devices/DDD4/availability')).body;
      const removed = d4.sub_devices.find((s: { ep_id: string }) => s.ep_id === 'DDD4__10.0.3.2');
      assert.ok(Math.abs(removed.observed_ms - H) < 1000, 'only the hour before it was removed counts');
    });

    it('exports CSV with a BOM, an English header and RFC 4180 quoting', async () => {
      const res = await fetch(`${base}/api/export/problems.csv`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type')!, /^text\/csv; charset=utf-8/);
      assert.match(res.headers.get('content-disposition')!, /attachment; filename="problems.csv"/);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
      const text = bytes.subarray(3).toString('utf8');
      const lines = text.split('\r\n');
      assert.equal(lines[0], 'dev_sno,box_name,box_location,box_status,ep_id,ep_name,ep_type,ep_ip,stream_url,location_id,location_name,status,last_reported_status,since,reason,detail,last_seen_at');
      assert.ok(text.includes('"Gate ""A"", east\nside"'), 'quotes, comma and newline in a field');
      assert.ok(text.includes('"lobby, ""main"""'));
      assert.ok(text.includes('拉流失败: timeout'));
      assert.ok(text.startsWith('dev_sno,') && text.endsWith('\r\n'));
      assert.equal(text.match(/^AAA1,|^BBB2,|^CCC3,/gm)?.length, 4);

      const subs = await (await fetch(`${base}/api/export/sub-devices.csv?box=DDD4`)).text();
      assert.equal(subs.trim().split('\r\n').length, 1 + 2);
      const history = await (await fetch(`${base}/api/export/history.csv?dev_sno=CCC3`)).text();
      // (fetch's text() drops the BOM.)
      assert.ok(history.startsWith('id,at,dev_sno,ep_id,from_status,to_status,reason,detail\r\n'), history.slice(0, 80));
      assert.equal(history.trim().split('\r\n').length, 1 + (await store.history('CCC3', { limit: 1000 })).length);
    });

    it('pages with cursors in every sort, without repeats or gaps, while boxes are added', async () => {
      for (const sort of ['box', 'name', 'type', 'location', 'down_since']) {
        const whole = ids((await get(`/api/sub-devices?sort=${sort}&limit=1000`)).body.sub_devices);
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page: { status: number; body: { sub_devices: FleetSubDevice[]; next_cursor: string | null } } = await get(
            `/api/sub-devices?sort=${sort}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          );
          assert.equal(page.status, 200);
          if (cursor) assert.equal((page.body as { total?: unknown }).total, null, 'counted on the first page only');
          seen.push(...ids(page.body.sub_devices));
          cursor = page.body.next_cursor;
          // A new box arrives between the first and second page: it never disturbs the walk.
          if (++pages === 1) await send(store, `NEW${sort}`, [{ ip: '10.9.9.9', status: 'offline', name: 'aaa' }], NOW);
        } while (cursor);
        assert.equal(new Set(seen).size, seen.length, `${sort}: no repeats`);
        const original = seen.filter((id) => !id.startsWith('NEW'));
        assert.deepEqual(original, whole.filter((id) => !id.startsWith('NEW')), `${sort}: every row once, in order`);
      }
    });

    it('answers 400 naming the parameter for every bad query', async () => {
      const cursor = (await get('/api/sub-devices?limit=1&sort=name')).body.next_cursor;
      const cases: Array<[string, string]> = [
        ['/api/sub-devices?limit=1e20', 'limit'],
        ['/api/sub-devices?limit=0', 'limit'],
        ['/api/sub-devices?limit=ten', 'limit'],
        ['/api/sub-devices?cursor=not-a-cursor', 'cursor'],
        ['/api/sub-devices?cursor=%25%25', 'cursor'],
        [`/api/sub-devices?cursor=${cursor}&sort=type`, 'cursor'],
        ['/api/sub-devices?status=down', 'status'],
        ['/api/sub-devices?type=vhs', 'type'],
        ['/api/sub-devices?sort=age', 'sort'],
        ['/api/sub-devices?stauts=offline', 'stauts'],
        ['/api/devices?limit=5000', 'limit'],
        ['/api/devices?sort=size', 'sort'],
        ['/api/devices?offset=-1', 'offset'],
        ['/api/history?before=abc', 'before'],
        ['/api/history?from=yesterday', 'from'],
        [`/api/history?from=${new Date(ago(1)).toISOString()}&to=${new Date(ago(2)).toISOString()}`, 'to'],
        ['/api/devices/BBB2/history?to=2026-13-45T00:00:00Z', 'to'],
        ['/api/devices/BBB2/availability?window=1y', 'window'],
        ['/api/devices/BBB2/outages?from=1700000000', 'from'],
        ['/api/export/problems.csv?status=online', 'status'],
      ];
      for (const [path, field] of cases) {
        const res = await get(path);
        assert.equal(res.status, 400, `${path}: ${res.text}`);
        assert.equal(res.body.error, 'bad_request', path);
        assert.equal(res.body.field, field, `${path}: ${res.text}`);
        assert.ok(res.body.reason.length > 0);
      }
      assert.match((await get('/api/sub-devices?status=down')).body.reason, /online, offline, unknown, removed, problems/);
      assert.equal((await get(`/api/sub-devices?cursor=${cursor}&sort=name`)).status, 200);
    });
  });
}

for (const backend of backends()) {
  describe(`console API: the reason of a status, found by its time (${backend.name})`, () => {
    it('names the transition that set each camera\'s status, however many its neighbours had since', async () => {
      const fresh = await backend.fresh();
      const store = fresh.store;
      const app = Fastify({ ajv: { customOptions: { removeAdditional: false } } });
      try {
        const cams = (flapping: 'online' | 'offline', withFourth: boolean): SubSpec[] => [
          { ip: '10.0.9.1', status: 'offline' },
          { ip: '10.0.9.2', status: flapping },
          { ip: '10.0.9.3', status: 'online' },
          ...(withFourth ? [{ ip: '10.0.9.4', status: 'online' as const }] : []),
        ];
        // .1 first seen offline 10 h ago and never changed; .4 is dropped from the reports 9 h ago
        // (removed); then .2 flaps 60 times. The transitions that set .1 and .4 are deep in the
        // box's history, behind every flap of .2.
        await send(store, 'EEE5', cams('online', true), ago(10));
        await send(store, 'EEE5', cams('online', false), ago(9));
        for (let i = 0; i < 60; i++) await send(store, 'EEE5', cams(i % 2 ? 'offline' : 'online', false), ago(8) + i * 60_000);
        // One report, three transitions in the same millisecond with three reasons: .2 comes
        // back, .3 is left out (removed), .5 is new.
        const last = ago(1);
        await send(store, 'EEE5', [
          { ip: '10.0.9.1', status: 'offline' },
          { ip: '10.0.9.2', status: 'online' },
          { ip: '10.0.9.5', status: 'online' },
        ], last);
        await registerConsoleRoutes(app, store);
        const base = await app.listen({ host: '127.0.0.1', port: 0 });
        const body = await (await fetch(`${base}/api/sub-devices?box=EEE5&status=online,offline,removed`)).json();
        assert.deepEqual(
          (body.sub_devices as FleetSubDevice[]).map((r) => [r.ep_id, r.status, r.reason, r.since]),
          [
            ['EEE5__10.0.9.1', 'offline', 'first_seen', new Date(ago(10)).toISOString()],
            ['EEE5__10.0.9.2', 'online', 'report', new Date(last).toISOString()],
            ['EEE5__10.0.9.3', 'removed', 'missing_from_report', new Date(last).toISOString()],
            ['EEE5__10.0.9.4', 'removed', 'missing_from_report', new Date(ago(9)).toISOString()],
            ['EEE5__10.0.9.5', 'online', 'first_seen', new Date(last).toISOString()],
          ],
        );
        // The history keeps no (dev_sno, ep_id) index: each transition there cost a random page.
        const indexes =
          backend.name === 'sqlite'
            ? (new Database((store as unknown as { db: { name: string } }).db.name, { readonly: true })
                .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'history' ORDER BY name")
                .all() as Array<{ name: string }>)
            : (
                await (store as unknown as { pool: { query: (sql: string) => Promise<{ rows: Array<{ name: string }> }> } }).pool.query(
                  "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'history' ORDER BY indexname",
                )
              ).rows;
        assert.deepEqual(
          indexes.map((r) => r.name).filter((n) => !n.startsWith('sqlite_autoindex')),
          ['history_at', 'history_box', ...(backend.name === 'postgres' ? ['history_pkey'] : [])],
        );
      } finally {
        await app.close();
        await store.close();
        await fresh.cleanup();
      }
    });
  });
}

describe('console API inside the receiver', () => {
  it('sits behind the admin token like every /api route', async () => {
    const fresh = await backends()[0]!.fresh();
    const app = await buildServer({ store: fresh.store, adminToken: 'tok-123', dashboardDir: false, offline: false, metrics: false });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      await send(fresh.store, 'AUTH1', [{ ip: '10.0.0.1', status: 'offline' }], NOW);
      for (const path of ['/api/sub-devices', '/api/locations', '/api/export/problems.csv', '/api/devices/AUTH1/availability']) {
        assert.equal((await fetch(`${base}${path}`)).status, 401, path);
      }
      const ok = await fetch(`${base}/api/sub-devices?status=problems`, { headers: { authorization: 'Bearer tok-123' } });
      assert.equal(ok.status, 200);
      assert.equal((await ok.json()).total, 1);
      const bad = await fetch(`${base}/api/sub-devices?limit=1e20`, { headers: { authorization: 'Bearer tok-123' } });
      assert.deepEqual(await bad.json(), { error: 'bad_request', field: 'limit', reason: 'must be <= 1000', message: 'limit: must be <= 1000' });
    } finally {
      await app.close();
      await fresh.store.close();
      await fresh.cleanup();
    }
  });
});
