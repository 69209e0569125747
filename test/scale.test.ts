// A fleet of 100k boxes x 8 sub-devices in the store: the fleet summary, the box list (first,
// filtered, searched and deep pages), a box page and its history must stay fast. Prints the
// figures; asserts only generous bounds (the machine is small and shared). The operator
// console's routes are measured too, printed without a bound.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { EpStatus, Report } from '../src/protocol/index.js';
import { registerConsoleRoutes } from '../src/server/routes/console-api.js';
import { buildFleet, reportFor, type SimBox } from '../src/sim/fleet.js';
import type { Store } from '../src/store/types.js';
import { backends, startServer, type RunningServer } from './support/server.js';

const BOXES = Number(process.env.SCALE_BOXES ?? 100_000);
const SUBS = 8;
const BOUND_MS = Number(process.env.SCALE_BOUND_MS ?? 500);
const IN_FLIGHT = 2_000;

/** Sub-device j of box i is offline when this holds: a fixed, countable share of the fleet. */
const offline = (i: number, j: number) => (i * 7 + j) % 13 === 0;

async function fill(store: Store, fleet: SimBox[]): Promise<void> {
  const now = Date.now() - 60_000;
  let next = 0;
  // A few thousand reports in flight at once: the store writes them in large group commits.
  const worker = async () => {
    while (next < fleet.length) {
      const i = next++;
      const box = fleet[i]!;
      const statuses: EpStatus[] = box.subDevices.map((_, j) => (offline(i, j) ? 'offline' : 'online'));
      await store.ingest(reportFor(box, statuses), now + i);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

async function timed(server: Pick<RunningServer, 'get'>, path: string, runs = 3): Promise<{ ms: number; body: any }> {
  let best = Infinity;
  let body: unknown;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const res = await server.get(path);
    body = await res.json();
    best = Math.min(best, performance.now() - t0);
    assert.equal(res.status, 200, `${path}: ${JSON.stringify(body)}`);
  }
  return { ms: best, body };
}

for (const backend of backends()) {
  describe(`scale: ${BOXES} boxes x ${SUBS} sub-devices (${backend.name})`, { timeout: 600_000 }, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let server: RunningServer;
    let fleet: SimBox[];
    let expectedSubOffline = 0;

    before(async () => {
      const fresh = await backend.fresh();
      store = fresh.store;
      cleanup = fresh.cleanup;
      let t0 = performance.now();
      fleet = buildFleet({ boxes: BOXES, subDevices: SUBS, seed: 5 });
      const built = performance.now() - t0;
      for (let i = 0; i < BOXES; i++) for (let j = 0; j < SUBS; j++) if (offline(i, j)) expectedSubOffline++;
      t0 = performance.now();
      await fill(store, fleet);
      const filled = performance.now() - t0;
      console.log(
        `scale (${backend.name}): fleet built in ${(built / 1000).toFixed(1)} s; ${BOXES} reports stored in ${(filled / 1000).toFixed(1)} s ` +
          `(${Math.round(BOXES / (filled / 1000))} reports/s)`,
      );
      server = await startServer(store);
    });
    after(async () => {
      await server?.close();
      await store?.close();
      await cleanup?.();
    });

    it('answers the summary and box list fast', async () => {
      const figures: Array<[string, number]> = [];
      const summary = await timed(server, '/api/summary');
      figures.push(['GET /api/summary', summary.ms]);
      assert.deepEqual(summary.body.boxes, { total: BOXES, online: BOXES, offline: 0 });
      assert.deepEqual(summary.body.sub_devices, {
        total: BOXES * SUBS,
        online: BOXES * SUBS - expectedSubOffline,
        offline: expectedSubOffline,
        unknown: 0,
        removed: 0,
      });

      const first = await timed(server, '/api/devices?limit=100');
      figures.push(['GET /api/devices?limit=100', first.ms]);
      assert.equal(first.body.total, BOXES);
      assert.equal(first.body.boxes.length, 100);
      const sorted = fleet.map((b) => b.dev_sno).sort();
      assert.deepEqual(
        first.body.boxes.map((b: { dev_sno: string }) => b.dev_sno),
        sorted.slice(0, 100),
      );

      const online = await timed(server, '/api/devices?status=online&limit=100');
      figures.push(['GET /api/devices?status=online&limit=100', online.ms]);
      assert.equal(online.body.total, BOXES);
      const offlineBoxes = await timed(server, '/api/devices?status=offline&limit=100');
      figures.push(['GET /api/devices?status=offline&limit=100', offlineBoxes.ms]);
      assert.equal(offlineBoxes.body.total, 0);

      const deep = await timed(server, `/api/devices?limit=100&offset=${BOXES - 100}`);
      figures.push([`GET /api/devices?limit=100&offset=${BOXES - 100}`, deep.ms]);
      assert.deepEqual(
        deep.body.boxes.map((b: { dev_sno: string }) => b.dev_sno),
        sorted.slice(-100),
      );

      // A search that matches a handful of boxes: the tail of one code, in lower case.
      const needle = fleet[Math.floor(BOXES / 2)]!.dev_sno.slice(-9).toLowerCase();
      const expected = fleet.filter((b) => b.dev_sno.toLowerCase().includes(needle)).length;
      const search = await timed(server, `/api/devices?q=${needle}&limit=100`);
      figures.push([`GET /api/devices?q=${needle}`, search.ms]);
      assert.equal(search.body.total, expected);
      assert.ok(expected >= 1);

      print(backend.name, figures);
      for (const [what, ms] of figures) assert.ok(ms < BOUND_MS, `${what} took ${ms.toFixed(0)} ms (bound ${BOUND_MS} ms)`);
    });

    it('answers a box page and its history fast', async () => {
      const i = Math.floor(BOXES * 0.77);
      const box = fleet[i]!;
      // Give the box some history: a few reports with a sub-device flapping.
      for (let k = 1; k <= 6; k++) {
        const statuses: EpStatus[] = box.subDevices.map((_, j) => (j === 0 ? (k % 2 ? 'offline' : 'online') : offline(i, j) ? 'offline' : 'online'));
        const report: Report = reportFor(box, statuses);
        await store.ingest(report, Date.now());
      }
      const figures: Array<[string, number]> = [];
      const page = await timed(server, `/api/devices/${box.dev_sno}`);
      figures.push(['GET /api/devices/:dev_sno', page.ms]);
      assert.equal(page.body.box.dev_sno, box.dev_sno);
      assert.equal(page.body.box.report_count, 7);
      assert.equal(page.body.sub_devices.length, SUBS);

      const hist = await timed(server, `/api/devices/${box.dev_sno}/history`);
      figures.push(['GET /api/devices/:dev_sno/history', hist.ms]);
      // First report: the box and its 8 sub-devices; then 6 flips of sub-device 0.
      assert.equal(hist.body.entries.length, 1 + SUBS + 6);

      const epHist = await timed(server, `/api/devices/${box.dev_sno}/history?ep_id=${encodeURIComponent(box.subDevices[0]!.ep_id)}&limit=3`);
      figures.push(['GET /api/devices/:dev_sno/history?ep_id=&limit=3', epHist.ms]);
      assert.equal(epHist.body.entries.length, 3);
      assert.ok(epHist.body.entries.every((e: { ep_id: string }) => e.ep_id === box.subDevices[0]!.ep_id));

      print(backend.name, figures);
      for (const [what, ms] of figures) assert.ok(ms < BOUND_MS, `${what} took ${ms.toFixed(0)} ms (bound ${BOUND_MS} ms)`);
    });

    it('answers the operator console (fleet-wide sub-devices, sorted box list); times printed, not bounded', async () => {
      const console_ = await consoleApp(store);
      try {
        const figures: Array<[string, number]> = [];
        const measure = async (path: string) => {
          const r = await timed(console_, path);
          figures.push([`GET ${path.length > 60 ? `${path.slice(0, 57)}...` : path}`, r.ms]);
          return r.body;
        };
        const first = await measure('/api/sub-devices?limit=100');
        assert.equal(first.total, BOXES * SUBS);
        const problems = await measure('/api/sub-devices?status=problems&sort=down_since&limit=100');
        assert.equal(problems.total, expectedSubOffline);
        assert.equal(problems.sub_devices.length, Math.min(100, expectedSubOffline));
        if (problems.next_cursor) {
          const next = await measure(`/api/sub-devices?status=problems&sort=down_since&limit=100&cursor=${problems.next_cursor}`);
          assert.ok(next.sub_devices.every((s: { status: string }) => s.status === 'offline'));
        }
        await measure('/api/sub-devices?sort=name&limit=100');
        await measure('/api/sub-devices?sort=location&status=offline&limit=100');
        const box = fleet[Math.floor(BOXES / 3)]!;
        const inBox = await measure(`/api/sub-devices?box=${box.dev_sno}`);
        assert.equal(inBox.total, SUBS);
        const place = await measure(`/api/sub-devices?location=${box.subDevices[0]!.ep_location}`);
        assert.ok(place.total >= 1);
        const needle = box.dev_sno.slice(-9).toLowerCase();
        const found = await measure(`/api/sub-devices?q=${needle}&limit=100`);
        assert.ok(found.total >= SUBS);
        const sorted = await measure('/api/devices?sort=status_since&order=desc&limit=100');
        assert.equal(sorted.total, BOXES);
        await measure('/api/devices?sort=last_report&limit=100');
        await measure(`/api/devices?location=${box.subDevices[0]!.ep_location}`);
        await measure(`/api/devices/${box.dev_sno}/availability?window=30d`);
        print(backend.name, figures);
      } finally {
        await console_.app.close();
      }
    });
  });
}

/** The operator console's routes alone (src/server/routes/console-api.ts) on the same store. */
async function consoleApp(store: Store): Promise<{ app: FastifyInstance; get: (path: string) => Promise<Response> }> {
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false } } });
  await registerConsoleRoutes(app, store);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, get: (path) => fetch(`${base}${path}`) };
}

function print(backend: string, figures: Array<[string, number]>): void {
  for (const [what, ms] of figures) console.log(`scale (${backend}): ${what.padEnd(56)} ${ms.toFixed(1).padStart(7)} ms`);
}
