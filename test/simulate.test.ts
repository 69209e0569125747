import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { parseReport, EP_TYPES } from '../src/protocol/index.js';
import { buildFleet, reportFor } from '../src/sim/fleet.js';
import { Simulation, type SimulationOptions, type SimulationSummary } from '../src/sim/simulation.js';
import type { Store } from '../src/store/types.js';
import { runCli } from './support/cli.js';
import { backends, withFreshServer, withFreshServerForSuite, type RunningServer } from './support/server.js';

const base = (url: string): SimulationOptions => ({
  url,
  boxes: 10,
  subDevices: 4,
  intervalS: 0.2,
  seed: 7,
  flap: 0,
  silence: 0,
  silenceForS: 1,
  concurrency: 16,
  timeoutS: 10,
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

describe('simulated fleet', () => {
  it('is deterministic from the seed, with vendor-like codes and every report valid', () => {
    const a = buildFleet({ boxes: 200, subDevices: 8, seed: 42 });
    const b = buildFleet({ boxes: 200, subDevices: 8, seed: 42 });
    const c = buildFleet({ boxes: 200, subDevices: 8, seed: 43 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      a.map((x) => x.dev_sno),
      c.map((x) => x.dev_sno),
    );
    assert.equal(new Set(a.map((x) => x.dev_sno)).size, 200, 'dev_snos are unique');
    for (const box of a) assert.match(box.dev_sno, /^ZKZC[A-Z]{2}\d{18}$/);
    const types = new Set<string>();
    for (const box of a) {
      const statuses = box.subDevices.map((_, j) => (j % 3 ? ('online' as const) : ('offline' as const)));
      const report = reportFor(box, statuses, true);
      assert.equal(report.sub_devices.length, 8);
      assert.equal(new Set(report.sub_devices.map((s) => s.ep_id)).size, 8);
      for (const s of report.sub_devices) {
        types.add(s.ep_type);
        assert.match(s.ep_location, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.ok(s.ep_name.length > 0);
        if (s.ep_type === 'rtsp') assert.match(s.ep_id, /__rtsp:\/\/\d+\.\d+\.\d+\.\d+:554\//);
        if (s.ep_type === 'file') assert.equal(s.ep_ip, '');
        else assert.match(s.ep_ip, /^\d+\.\d+\.\d+\.\d+$/);
      }
      // What goes on the wire is what the receiver's validation accepts.
      assert.doesNotThrow(() => parseReport(JSON.parse(JSON.stringify({ dev_sno: report.dev_sno, sub_devices: report.sub_devices }))));
    }
    assert.deepEqual([...types].sort(), [...EP_TYPES].sort());
  });
});

for (const backend of backends()) {
  describe(`simulate against the real receiver (${backend.name})`, () => {
    let server: RunningServer;
    let store: Store;
    withFreshServerForSuite(backend, {}, (s) => {
      server = s;
      store = s.store;
    });

    it('every report is accepted and stored; flaps become history; silent boxes stop and come back', async () => {
      const sim = new Simulation({
        ...base(`${server.url}/DeviceStatus`),
        boxes: 20,
        subDevices: 6,
        seed: 11,
        flap: 0.1,
        silence: 0.08,
        silenceForS: 0.6,
        durationS: 3,
      });
      const summary = await sim.start().done;
      assert.equal(summary.stopped_by, 'duration');
      assert.ok(summary.sent > 100, `sent ${summary.sent}`);
      assert.equal(summary.ok, summary.sent);
      assert.equal(summary.errors.total, 0);
      assert.ok(summary.flaps > 0 && summary.silences > 0, JSON.stringify(summary));

      const list = await (await server.get('/api/devices?limit=1000')).json();
      const simBoxes = new Set(sim.fleet.map((b) => b.dev_sno));
      const stored = list.boxes.filter((b: { dev_sno: string }) => simBoxes.has(b.dev_sno));
      assert.equal(stored.length, 20);
      const byBox = new Map(sim.tallies().map((t) => [t.dev_sno, t]));
      let historyFlaps = 0;
      for (const box of stored) {
        const tally = byBox.get(box.dev_sno)!;
        // Nothing lost, nothing counted twice: the store saw exactly the reports acknowledged.
        assert.equal(box.report_count, tally.ok, box.dev_sno);
        assert.equal(box.sub_devices_online + box.sub_devices_offline, 6);
        const detail = await (await server.get(`/api/devices/${encodeURIComponent(box.dev_sno)}`)).json();
        assert.equal(detail.sub_devices.length, 6);
        const hist = await (await server.get(`/api/devices/${encodeURIComponent(box.dev_sno)}/history?limit=1000`)).json();
        const flaps = hist.entries.filter((e: { ep_id: string | null; reason: string }) => e.ep_id !== null && e.reason === 'report');
        assert.equal(flaps.length, tally.flaps, `${box.dev_sno}: every status change sent is in the history`);
        historyFlaps += flaps.length;
      }
      assert.equal(historyFlaps, summary.flaps);

      const tallies = sim.tallies();
      const silenced = tallies.filter((t) => t.silences > 0);
      const steady = tallies.filter((t) => t.silences === 0);
      assert.ok(silenced.length > 0 && steady.length > 0, 'some boxes went silent, some did not');
      assert.ok(
        Math.min(...silenced.map((t) => t.sent)) < Math.max(...steady.map((t) => t.sent)),
        'a silent box sends fewer reports',
      );
      assert.ok(
        tallies.some((t) => t.resumed > 0),
        'silent boxes come back',
      );
    });

    it('a box that is silent sends nothing', async () => {
      const sim = new Simulation({ ...base(`${server.url}/DeviceStatus`), boxes: 5, silence: 1, silenceForS: 60, durationS: 1 });
      const summary = await sim.start().done;
      assert.equal(summary.sent, 0);
      assert.equal(summary.silences, 5);
    });

    it('--reports stops after that many reports', async () => {
      const summary = await new Simulation({ ...base(`${server.url}/DeviceStatus`), intervalS: 0.05, maxReports: 25 }).start().done;
      assert.equal(summary.stopped_by, 'reports');
      assert.equal(summary.sent, 25);
      assert.equal(summary.ok, 25);
    });

    it('runs as `devstatus simulate` and prints the summary as JSON', async () => {
      const proc = runCli([
        'simulate',
        '--url',
        `${server.url}/DeviceStatus`,
        '--boxes',
        '5',
        '--subdevices',
        '3',
        '--interval',
        '0.2',
        '--duration',
        '1.5',
        '--seed',
        '99',
        '--json',
        '--progress-every',
        '0.3',
      ]);
      const code = await new Promise<number | null>((resolve) => proc.child.on('exit', resolve));
      assert.equal(code, 0, proc.output());
      const out = proc.output();
      const jsonLine = out.split('\n').find((l) => l.startsWith('{'));
      assert.ok(jsonLine, out);
      const summary = JSON.parse(jsonLine) as SimulationSummary;
      assert.deepEqual(Object.keys(summary).sort(), [
        'boxes',
        'dialect',
        'dropped',
        'elapsed_s',
        'errors',
        'flaps',
        'interval_s',
        'latency_ms',
        'logins',
        'ok',
        'pending',
        'reports_per_s',
        'resent',
        'seed',
        'sent',
        'silences',
        'skipped',
        'stopped_by',
        'sub_devices_per_box',
        'url',
      ]);
      assert.deepEqual(Object.keys(summary.latency_ms).sort(), ['max', 'mean', 'p50', 'p95', 'p99']);
      assert.equal(summary.boxes, 5);
      assert.ok(summary.sent >= 20, out);
      assert.equal(summary.ok, summary.sent);
      assert.deepEqual(summary.errors, { total: 0, by_kind: {} });
      assert.ok(summary.latency_ms.p50 > 0 && summary.latency_ms.p50 <= summary.latency_ms.p99);
      // Progress lines go to stderr as plain lines when it is not a terminal.
      assert.match(out, /\d+\.\ds {2}sent \d+ {2}ok \d+ {2}errors 0/);
      const boxes = await (await server.get('/api/devices?q=ZKZC&limit=1000')).json();
      const fleet = buildFleet({ boxes: 5, subDevices: 3, seed: 99 }).map((b) => b.dev_sno);
      for (const devSno of fleet) {
        const box = boxes.boxes.find((b: { dev_sno: string }) => b.dev_sno === devSno);
        assert.ok(box, `${devSno} stored`);
        assert.equal(box.sub_devices_online + box.sub_devices_offline, 3);
      }
    });

    it('stops cleanly on SIGINT and prints the summary', async () => {
      const proc = runCli(['simulate', '--url', `${server.url}/DeviceStatus`, '--boxes', '3', '--interval', '0.1', '--progress-every', '0.2']);
      await proc.waitFor(/sent [1-9]\d* {2}ok/);
      const code = await proc.stop('SIGINT');
      assert.equal(code, 0, proc.output());
      const out = proc.output();
      assert.match(out, /stopped by signal/);
      // The summary's lines, not a progress line printed while requests were still in flight.
      const sent = Number(out.match(/^ {2}sent +(\d+)$/m)![1]);
      const ok = Number(out.match(/^ {2}ok +(\d+)$/m)![1]);
      assert.ok(sent > 0);
      assert.equal(ok, sent);
      assert.match(out, /latency +p50 [\d.]+ ms {2}p95 [\d.]+ ms {2}p99 [\d.]+ ms {2}max [\d.]+ ms/);
    });
  });
}

describe('devstatus simulate errors', () => {
  it('counts network errors by kind and exits 1 when reports fail', async () => {
    const port = await freePort();
    const proc = runCli(['simulate', '--url', `http://127.0.0.1:${port}/DeviceStatus`, '--boxes', '2', '--reports', '4', '--interval', '0.05', '--json', '--quiet']);
    const code = await new Promise<number | null>((resolve) => proc.child.on('exit', resolve));
    assert.equal(code, 1);
    const summary = JSON.parse(proc.output().trim().split('\n').at(-1)!) as SimulationSummary;
    assert.equal(summary.sent, 4);
    assert.equal(summary.ok, 0);
    assert.deepEqual(summary.errors, { total: 4, by_kind: { ECONNREFUSED: 4 } });
  });

  it('counts HTTP errors by status', async () => {
    await withFreshServer(backends()[0]!, { path: '/Other' }, async (server) => {
      const summary = await new Simulation({ ...base(`${server.url}/DeviceStatus`), boxes: 2, intervalS: 0.05, maxReports: 3 }).start().done;
      assert.deepEqual(summary.errors, { total: 3, by_kind: { 'http 404': 3 } });
    });
  });

  it('rejects bad flags with a clear message', async () => {
    for (const [args, message] of [
      [['--url', 'ftp://127.0.0.1/x'], /--url must be an http:\/\/ or https:\/\/ URL/],
      [['--boxes', '0'], /boxes must be a whole number from 1/],
      [['--flap', '2'], /flap must be a number from 0 to 1/],
    ] as const) {
      const proc = runCli(['simulate', ...args, '--reports', '1']);
      const code = await new Promise<number | null>((resolve) => proc.child.on('exit', resolve));
      assert.notEqual(code, 0);
      assert.match(proc.output(), message);
    }
  });
});
