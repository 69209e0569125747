// Smoke run of `npm run bench` with tiny settings, so the benchmark keeps working: every server
// it can run answers, CPU and memory are measured, and the check that no acknowledged report was
// lost passes; and that check does catch a lost or wrong report.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BenchFleet } from '../bench/fleet-bodies.js';
import { checkRows } from '../bench/loss-check.js';
import { runBenchScript } from './support/bench.js';

interface BenchRow {
  boxes: number;
  scenario: string;
  server: string;
  reports_per_s?: number;
  ratio?: number;
  cpu_us?: number;
  pg_cpu_us?: number;
  peak_rss_mib?: number;
  disk_bytes?: number;
  note?: string;
  pair_ratios?: number[];
}

describe('ingest benchmark', () => {
  it('runs every server and scenario it can and finds no acknowledged report missing', { timeout: 180_000 }, async () => {
    const { code, out, err } = await runBenchScript('bench/ingest.ts', [
      ...['--boxes', '200', '--duration', '1', '--warmup', '0.5', '--connections', '16', '--receivers', '1,2', '--json'],
    ]);
    assert.equal(code, 0, err);
    const result = JSON.parse(out) as {
      rows: BenchRow[];
      fills: Array<{ boxes: number; server: string; complete: boolean }>;
      targets: Array<{ what: string; ok: boolean }>;
    };
    const servers = ['bare node:http', 'devstatus sqlite', 'devstatus postgres', 'devstatus postgres x2'];
    assert.deepEqual(
      result.rows.map((r) => `${r.scenario} ${r.server}`),
      servers.flatMap((s) => [`rest ${s}`, `storm ${s}`]),
    );
    assert.deepEqual(
      result.fills.map((f) => [f.server, f.boxes, f.complete]),
      servers.map((s) => [s, 200, true]),
    );
    for (const r of result.rows) {
      const at = `${r.server} ${r.scenario}: ${JSON.stringify(r)}`;
      assert.ok(r.reports_per_s! > 0 && r.ratio! > 0, at);
      assert.ok(r.cpu_us! > 0 && r.peak_rss_mib! > 0, at);
      if (r.server === 'bare node:http') assert.equal(r.ratio, 1, at);
      if (r.server.startsWith('devstatus postgres')) {
        // PostgreSQL's own processes are counted in the CPU per report.
        assert.ok(r.pg_cpu_us! > 0 && r.pg_cpu_us! < r.cpu_us!, at);
        assert.match(r.note!, /^via the API: (\d+) acknowledged, \1 stored; in the database: \1 reports, 1600 sub-device statuses as last acknowledged$/, at);
      }
    }
    const sqlite = result.rows.filter((r) => r.server === 'devstatus sqlite');
    // What the SQLite receiver wrote to storage per report (/proc/<pid>/io); for PostgreSQL the
    // WAL the server generated, which every round of changes makes.
    for (const r of sqlite) assert.ok(Number.isFinite(r.disk_bytes) && r.disk_bytes! >= 0, JSON.stringify(r));
    for (const r of result.rows.filter((x) => x.server.startsWith('devstatus postgres'))) assert.ok(r.disk_bytes! > 0, JSON.stringify(r));
    assert.match(sqlite[0]!.note!, /^via the API: (\d+) acknowledged, \1 stored; in the file: \1 reports, 1600 sub-device statuses as last acknowledged$/);
    // After the last scenario the receiver is SIGKILLed before its file is read.
    assert.match(sqlite[1]!.note!, /^via the API: (\d+) acknowledged, \1 stored; after SIGKILL, in the file: \1 reports, 1600 sub-device/);
    assert.ok(result.targets.some((t) => /^devstatus postgres x2 vs one receiver, rest, 200 boxes$/.test(t.what)));
  });

  it('with --pairs keeps the pair whose ratio is the median, and loses nothing over the extra rounds', { timeout: 120_000 }, async () => {
    const { code, out, err } = await runBenchScript('bench/ingest.ts', [
      ...['--boxes', '200', '--duration', '0.5', '--warmup', '0.2', '--connections', '16', '--scenario', 'storm', '--only', 'sqlite', '--pairs', '3', '--json'],
    ]);
    assert.equal(code, 0, err);
    const rows = (JSON.parse(out) as { rows: BenchRow[] }).rows;
    const row = rows.find((r) => r.server === 'devstatus sqlite')!;
    assert.equal(row.pair_ratios?.length, 3, JSON.stringify(row));
    const median = [...row.pair_ratios!].sort((a, b) => a - b)[1]!;
    assert.ok(Math.abs(row.ratio! - median) <= 0.011, JSON.stringify(row));
    // Three storm rounds, each after a bare round that put the fleet's state back: the receiver
    // still holds exactly what it acknowledged.
    assert.match(row.note!, /^via the API: (\d+) acknowledged, \1 stored; after SIGKILL, in the file: \1 reports, 1600 sub-device/);
    assert.equal(rows.find((r) => r.server === 'bare node:http')!.pair_ratios, undefined);
  });

  it('store-storm writes a storm straight into each store and finds nothing acknowledged missing', { timeout: 120_000 }, async () => {
    const { code, out, err } = await runBenchScript('bench/store-storm.ts', ['--boxes', '100', '--reports', '400', '--rounds', '1']);
    assert.equal(code, 0, err);
    const row = (store: string) => out.split('\n').find((l) => new RegExp(`^${store} +1 `).test(l))?.trim().split(/ +/);
    const sqlite = row('sqlite');
    const postgres = row('postgres');
    assert.ok(sqlite && postgres, out);
    // reports/s, CPU per report (PostgreSQL's own part of it), bytes made durable per report.
    assert.ok(Number(sqlite[2]) > 0 && Number(sqlite[3]) > 0 && Number(sqlite[5]) > 0, out);
    assert.ok(Number(postgres[2]) > 0 && Number(postgres[4]) > 0 && Number(postgres[4]) < Number(postgres[3]) && Number(postgres[5]) > 0, out);
    // 64 reports in flight, shared among the ingest connections: several reports a batch.
    assert.ok(Number(postgres[6]) > 1, out);
    // Fill (100), warm-up (100) and the round (400): every box as last acknowledged.
    assert.match(out, /^sqlite +in the file: 600 reports, 800 sub-device statuses as last acknowledged$/m);
    assert.match(out, /^postgres +in the database: 600 reports, 800 sub-device statuses as last acknowledged$/m);
  });

  it('the loss check names a box whose report or status is missing', () => {
    const fleet = new BenchFleet(4);
    for (let n = 0; n < 8; n++) {
      const i = fleet.next('storm', 0, false);
      fleet.acknowledged(i, fleet.nextMask[i]!);
    }
    const boxes = fleet.boxes.map((b) => ({ dev_sno: b.dev_sno, report_count: 2 }));
    const subs = fleet.boxes.flatMap((b, i) =>
      b.ep_ids.map((ep_id, j) => ({ dev_sno: b.dev_sno, ep_id, ep_status: fleet.ackedMask[i]! & (1 << j) ? 'offline' : 'online' })),
    );
    assert.match(checkRows(fleet, boxes, subs, 'here'), /^here: 8 reports, 32 sub-device statuses as last acknowledged$/);
    const box1 = fleet.boxes[1]!.dev_sno;
    assert.throws(
      () => checkRows(fleet, boxes.map((b) => (b.dev_sno === box1 ? { ...b, report_count: 1 } : b)), subs, 'here'),
      new RegExp(`LOST OR WRONG \\(here\\): 1 mismatches, e\\.g\\. ${box1}: 2 acknowledged, 1 stored`),
    );
    const flipped = subs.map((s, k) => (k === 9 ? { ...s, ep_status: s.ep_status === 'online' ? 'offline' : 'online' } : s));
    assert.throws(() => checkRows(fleet, boxes, flipped, 'here'), new RegExp(`${box1}/${subs[9]!.ep_id}: last acknowledged`));
    assert.throws(() => checkRows(fleet, boxes, subs.slice(1), 'here'), /32 sub-devices reported, 31 stored/);
  });
});
