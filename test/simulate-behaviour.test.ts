// The simulator behaves like a fleet of real boxes: cameras that fail mostly come back, reports
// that did not get through are sent again (none lost across a receiver restart), the richer
// dialect carries plausible health, and boxes can log in first.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { parseAnyReport, parseLoginQuery, type EpStatus } from '../src/protocol/index.js';
import { buildServer } from '../src/server/app.js';
import { flapRates, healthOf, initialHealth, nextHealth, stepStatuses } from '../src/sim/behaviour.js';
import { createRng } from '../src/sim/fleet.js';
import { Simulation, type SimulationOptions } from '../src/sim/simulation.js';
import { runCli } from './support/cli.js';
import { sqliteBackend, withFreshServer } from './support/server.js';

const base = (url: string): SimulationOptions => ({
  url,
  boxes: 6,
  subDevices: 4,
  intervalS: 0.1,
  seed: 5,
  flap: 0,
  silence: 0,
  silenceForS: 1,
  concurrency: 16,
  timeoutS: 5,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Stops a receiver the way a graceful shutdown does. node:http's close() only closes the
 * connections idle at that moment, and the report path (served ahead of Fastify) does not answer
 * `connection: close` while closing, so boxes that report more often than the keep-alive timeout
 * would hold app.close() open for as long as they send. Here each connection is closed the moment
 * it is idle between two requests: a request is either answered or never read, so nothing is
 * stored twice.
 */
async function closeDraining(app: Awaited<ReturnType<typeof buildServer>>): Promise<void> {
  const closing = app.close();
  const drain = setInterval(() => app.server.closeIdleConnections(), 2);
  try {
    await closing;
  } finally {
    clearInterval(drain);
  }
}

/** A loopback HTTP server for the test's fakes. */
async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const srv = createServer(handler);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => srv.close(() => resolve())) };
}

describe('sub-device flapping', () => {
  for (const [flap, share] of [
    [0.02, 0.05],
    [0.1, 0.2],
    [0.5, 0.05],
  ] as const) {
    it(`keeps the share offline near ${share} over many rounds, and failed cameras come back (flap ${flap})`, () => {
      const rng = createRng(99);
      const rates = flapRates(flap, share);
      const statuses: EpStatus[] = Array.from({ length: 4000 }, () => (rng() < share ? 'offline' : 'online'));
      const offlineFor = new Array<number>(statuses.length).fill(0);
      const outages: number[] = [];
      let offlineSum = 0;
      let changes = 0;
      const rounds = 400;
      for (let round = 0; round < rounds; round++) {
        changes += stepStatuses(statuses, rates, rng);
        let offline = 0;
        statuses.forEach((s, j) => {
          if (s === 'offline') {
            offline++;
            offlineFor[j]!++;
          } else if (offlineFor[j]! > 0) {
            outages.push(offlineFor[j]!);
            offlineFor[j] = 0;
          }
        });
        offlineSum += offline / statuses.length;
      }
      const meanShare = offlineSum / rounds;
      assert.ok(Math.abs(meanShare - share) < share * 0.15, `mean share offline ${meanShare}, wanted ${share}`);
      // Symmetric flipping would drift to half the cameras offline.
      assert.ok(meanShare < 0.3);
      const stillOut = offlineFor.filter((n) => n > 50).length;
      assert.ok(stillOut < statuses.length * 0.01, `${stillOut} sub-devices offline for 50+ rounds`);
      assert.ok(outages.length > 100, 'cameras went offline and came back');
      // In the steady state as many come back as fail: 2 x share x recover changes per report.
      const wantedChanges = Math.min(flap, 2 * share);
      const perReport = changes / (rounds * statuses.length);
      assert.ok(Math.abs(perReport - wantedChanges) < wantedChanges * 0.15, `changes per report ${perReport}, wanted ${wantedChanges}`);
    });
  }

  it('with no flapping nothing changes', () => {
    const statuses: EpStatus[] = ['online', 'offline', 'online'];
    assert.equal(stepStatuses(statuses, flapRates(0, 0.05), createRng(1)), 0);
    assert.deepEqual(statuses, ['online', 'offline', 'online']);
  });
});

describe('simulated box health', () => {
  it('wanders within plausible bounds while the disk fills up', () => {
    const rng = createRng(3);
    const h = initialHealth(rng, 'e0a509000001');
    const start = h.diskFreeMb;
    let rotated = false;
    let previousFree = h.diskFreeMb;
    for (let i = 0; i < 20_000; i++) {
      nextHealth(h, rng);
      const health = healthOf(h);
      assert.ok(health.cpu_pct! >= 5 && health.cpu_pct! <= 60, `cpu ${health.cpu_pct}`);
      assert.ok(health.mem_pct! >= 20 && health.mem_pct! <= 90);
      assert.ok(health.disk_free_bytes! <= health.disk_total_bytes!);
      if (h.diskFreeMb > previousFree) rotated = true;
      previousFree = h.diskFreeMb;
      if (i === 100) assert.ok(h.diskFreeMb < start, 'the disk fills up');
    }
    assert.ok(rotated, 'old recordings are rotated out before the disk is full');
  });
});

describe('simulate in the richer dialect', () => {
  it('sends health, identity, stream addresses and offline reasons the protocol accepts', async () => {
    const bodies: unknown[] = [];
    const collector = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(200).end('{}');
      });
    });
    try {
      const sim = new Simulation({ ...base(`${collector.url}/DeviceStatus`), dialect: 'rich', flap: 0.3, offlineShare: 0.3, maxReports: 40, intervalS: 0.05 });
      const summary = await sim.start().done;
      assert.equal(summary.ok, 40);
      assert.equal(summary.dialect, 'rich');
      let details = 0;
      let urls = 0;
      for (const body of bodies) {
        const { report, dialect } = parseAnyReport(body);
        assert.equal(dialect, 'rich');
        const h = report.health!;
        assert.ok(h.cpu_pct! >= 5 && h.cpu_pct! <= 60);
        assert.ok(h.mem_total_bytes! >= 2048 * 2 ** 20 && h.disk_total_bytes! > h.disk_free_bytes!);
        assert.match(h.sw_version!, /^\d+\.\d+\.\d+$/);
        assert.match(h.mac!, /^e0a509[0-9a-f]{6}$/);
        assert.equal(report.gateway!.status, 'online');
        for (const s of report.sub_devices) {
          if (s.ep_detail) details++;
          assert.ok(!s.ep_detail || s.ep_status === 'offline', 'only offline sub-devices say why');
          if (s.ep_url) {
            urls++;
            assert.match(s.ep_url, /^rtsp:\/\/admin:[0-9a-f]{8}@/);
          }
        }
      }
      assert.ok(details > 0 && urls > 0);
    } finally {
      await collector.close();
    }
  });
});

describe('reports that did not get through', () => {
  it('are queued and sent again: none lost across a receiver restart', { timeout: 120_000 }, async () => {
    const fresh = await sqliteBackend.fresh();
    let store = fresh.store;
    let app = await buildServer({ store });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const port = Number(new URL(address).port);
    const sim = new Simulation({ ...base(`${address}/DeviceStatus`), flap: 0.2 });
    let up = true;
    try {
      sim.start();
      await until('first reports', () => sim.progress().ok >= 12);
      await closeDraining(app);
      await store.close();
      up = false;
      // The receiver is away: the boxes keep what they cannot send.
      await until('reports to pile up', () => sim.pendingReports() >= 12);
      store = await fresh.reopen();
      app = await buildServer({ store });
      await app.listen({ host: '127.0.0.1', port });
      up = true;
      await until('the backlog to drain', () => sim.pendingReports() === 0 && sim.progress().ok >= 60);
      const summary = await sim.stop();
      assert.ok(summary.errors.total > 0, 'reports failed while the receiver was away');
      assert.ok(summary.resent > 0, 'and were sent again');
      assert.equal(summary.dropped, 0);
      const res = await app.inject({ method: 'GET', url: '/api/devices?limit=100' });
      const stored = new Map((res.json().boxes as Array<{ dev_sno: string; report_count: number }>).map((b) => [b.dev_sno, b.report_count]));
      for (const t of sim.tallies()) {
        assert.equal(t.reports, t.ok + t.pending, `${t.dev_sno}: every report made is stored or still queued`);
        assert.equal(stored.get(t.dev_sno), t.ok, `${t.dev_sno}: the store holds every report acknowledged`);
      }
    } finally {
      await sim.stop();
      if (up) {
        await closeDraining(app);
        await store.close();
      }
      await fresh.cleanup();
    }
  });

  it('are not sent again when the receiver refuses them for good', async () => {
    await withFreshServer(sqliteBackend, { path: '/Other' }, async (server) => {
      const summary = await new Simulation({ ...base(`${server.url}/DeviceStatus`), boxes: 2, intervalS: 0.05, maxReports: 6 }).start().done;
      assert.deepEqual(summary.errors.by_kind, { 'http 404': 6 });
      assert.equal(summary.resent, 0);
      assert.equal(summary.dropped, 6);
    });
  });
});

describe('login first', () => {
  it('logs each box in, then reports where and as often as the answer says', { timeout: 120_000 }, async () => {
    await withFreshServer(sqliteBackend, { path: '/Monitor/Status' }, async (server) => {
      const logins: Array<{ dev_sno: string; mac: string }> = [];
      let refusedOnce = false;
      // A fake of the platform's login: it checks what the real one checks, the box's code and MAC.
      const platform = await listen((req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (req.method !== 'GET' || url.pathname !== '/login') return void res.writeHead(404).end();
        let query;
        try {
          query = parseLoginQuery(url.searchParams);
        } catch (e) {
          return void res.writeHead(400).end(JSON.stringify({ error: (e as Error).message }));
        }
        // The platform is briefly unavailable for the first box that asks.
        if (!refusedOnce) {
          refusedOnce = true;
          return void res.writeHead(503).end('{}');
        }
        logins.push(query);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token: `t-${query.dev_sno}`, deviceMonitorAddr: `${server.url}/Monitor/Status`, deviceMonitorPeriod: 3600 }));
      });
      try {
        // Without the login the boxes would report every 0.05 s; the answer says once an hour.
        const sim = new Simulation({ ...base('http://127.0.0.1:9/unused'), boxes: 4, intervalS: 0.05, loginUrl: `${platform.url}/login` });
        sim.start();
        await until('every box to report once', () => sim.progress().ok >= 4);
        await sleep(500);
        const summary = await sim.stop();
        assert.equal(summary.logins.ok, 4);
        assert.deepEqual(summary.logins.errors.by_kind, { 'http 503': 1 });
        assert.equal(summary.sent, 4, 'one report per box: the period from the login is used');
        assert.deepEqual(new Set(logins.map((l) => l.dev_sno)), new Set(sim.fleet.map((b) => b.dev_sno)));
        for (const l of logins) assert.equal(l.mac, sim.fleet.find((b) => b.dev_sno === l.dev_sno)!.mac);
        for (const t of sim.targets()) {
          assert.equal(t.url, `${server.url}/Monitor/Status`);
          assert.equal(t.interval_s, 3600);
        }
        const list = await (await server.get('/api/devices?limit=100')).json();
        assert.equal(list.boxes.length, 4);
      } finally {
        await platform.close();
      }
    });
  });

  it('runs as `devstatus simulate --login-url` and refuses a bad one', async () => {
    const proc = runCli(['simulate', '--login-url', 'ftp://127.0.0.1/login', '--reports', '1']);
    const code = await new Promise<number | null>((resolve) => proc.child.on('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(proc.output(), /--login-url must be an http:\/\/ or https:\/\/ URL/);
  });
});
