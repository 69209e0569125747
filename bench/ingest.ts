// Ingest benchmark (`npm run bench`; `npm run bench:full` for everything): the same keep-alive
// load from the same generator against bare node:http (parses the JSON and echoes it: the
// baseline), `devstatus serve` on SQLite and `devstatus serve` on PostgreSQL (optionally two
// receivers on one database), each in its own process on 127.0.0.1.
//
// Per fleet size (distinct boxes, 8 sub-devices each) and server: every box sends its first
// report once (measured apart: it creates the rows), then each scenario gets a warm-up and a
// measured round. "rest": boxes repeat their last report byte for byte (a sub-device flips in
// --flip of them); "storm": every report changes one sub-device's status. CPU per report counts
// the whole system under test: the receiver(s) and PostgreSQL's processes working for its
// database. After every devstatus round each box's report count and last acknowledged statuses
// are checked through the API and in the store's own rows; at the end SQLite is SIGKILLed first.
import { randomBytes } from 'node:crypto';
import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { BenchFleet, type Scenario } from './fleet-bodies.js';
import { runLoad, type LoadResult } from './load.js';
import { repeatStats } from './receiver-metrics.js';
import { describeActivity, readTableStats, tableActivity, walPosition, type TableStats } from './pg-tables.js';
import { checkTargets, fillRatios, printRows, printTargets, type FillRow, type Row } from './report.js';
import { bare, pgOne, pgTwo, sqlite, Unavailable, type Running, type Target } from './servers.js';

const { values: args } = parseArgs({
  options: {
    boxes: { type: 'string', default: '10000' },
    scenario: { type: 'string', default: 'rest,storm' },
    receivers: { type: 'string', default: '1' },
    duration: { type: 'string', default: process.env.BENCH_DURATION ?? '6' },
    warmup: { type: 'string', default: process.env.BENCH_WARMUP ?? '2' },
    pairs: { type: 'string', default: process.env.BENCH_PAIRS ?? '1' },
    connections: { type: 'string', default: process.env.BENCH_CONNECTIONS ?? '64' },
    flip: { type: 'string', default: '0.01' },
    'report-interval': { type: 'string', default: '300' },
    'fill-limit': { type: 'string', default: '150' },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
    'pg-url': { type: 'string', default: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});

function numbers(name: string, text: string | undefined): number[] {
  const list = (text ?? '').split(',').map((s) => Number(s.trim().replace(/_/g, '')));
  if (!list.length || list.some((n) => !Number.isFinite(n) || n <= 0)) throw new Error(`bad --${name}: ${text} (positive numbers, comma-separated)`);
  return list;
}
const number = (name: string, text: string | undefined, min = 0) => {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) throw new Error(`bad --${name}: ${text}`);
  return n;
};

const FLEETS = numbers('boxes', args.boxes).map(Math.floor);
const SCENARIOS = (args.scenario ?? '').split(',').map((s) => s.trim()) as Scenario[];
for (const s of SCENARIOS) if (s !== 'rest' && s !== 'storm') throw new Error(`bad --scenario: ${s} (rest, storm or rest,storm)`);
const RECEIVERS = numbers('receivers', args.receivers);
for (const r of RECEIVERS) if (r !== 1 && r !== 2) throw new Error(`bad --receivers: ${r} (1, 2 or 1,2)`);
const DURATION = number('duration', args.duration, 0.1);
const WARMUP = number('warmup', args.warmup);
const PAIRS = Math.floor(number('pairs', args.pairs, 1));
const CONNECTIONS = Math.floor(number('connections', args.connections, 1));
const FLIP = number('flip', args.flip);
const REPORT_INTERVAL = number('report-interval', args['report-interval'], 1);
const FILL_LIMIT = number('fill-limit', args['fill-limit']);

const TARGETS: Target[] = [bare, sqlite, ...(RECEIVERS.includes(1) ? [pgOne] : []), ...(RECEIVERS.includes(2) ? [pgTwo] : [])];
const only = args.only ? new RegExp(args.only, 'i') : null;
const settings = {
  adminToken: randomBytes(18).toString('hex'),
  reportInterval: REPORT_INTERVAL,
  pgAdminUrl: args['pg-url']!,
};

const startedAt = performance.now();
const log = (line: string) => console.error(`[${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const mib = (bytes: number | null) => (bytes === null ? undefined : Math.round(bytes / 1048576));

function assertAllAnswered(r: LoadResult, what: string): void {
  if (r.failed) throw new Error(`${what}: ${r.failed} failed requests, first: ${r.firstFailure}`);
}

async function load(running: Running, fleet: BenchFleet, scenario: Scenario, seconds: number, fillOnly = false): Promise<LoadResult> {
  let nextProgress = 10;
  return runLoad({
    fleet,
    urls: running.urls,
    path: '/DeviceStatus',
    connections: CONNECTIONS,
    scenario,
    flip: FLIP,
    seconds,
    fillOnly,
    onProgress: (answered, elapsed) => {
      // Once every 10 s while the first reports go (they take minutes on a slow store).
      if (fillOnly && elapsed >= nextProgress) {
        log(`  ... ${answered} of ${fleet.size} first reports after ${elapsed.toFixed(0)} s`);
        nextProgress += 10;
      }
    },
  });
}

async function measure(
  running: Running,
  fleet: BenchFleet,
  scenario: Scenario,
  seconds: number,
  fillOnly: boolean,
): Promise<{
  r: LoadResult;
  cpuUs?: number;
  pgCpuUs?: number;
  pgSharedUs?: number;
  tables?: ReturnType<typeof tableActivity>;
  repeatShare?: number;
  repeatCacheMib?: number;
  diskBytes?: number;
}> {
  const repeatsBefore = running.store === 'bare' ? undefined : await repeatStats(running.urls);
  const tablesBefore: TableStats | undefined = running.pgUrl ? await readTableStats(running.pgUrl) : undefined;
  const walBefore = running.pgUrl ? await walPosition(running.pgUrl) : undefined;
  const cpuBefore = running.cpu.snapshot();
  const r = await load(running, fleet, scenario, seconds, fillOnly);
  const cpu = running.cpu.since(cpuBefore);
  // SQLite: what the receiver wrote to disk; PostgreSQL: the WAL the server generated.
  const disk = running.pgUrl ? (await walPosition(running.pgUrl)) - walBefore! : running.cpu.diskSince(cpuBefore);
  const tables = tablesBefore && running.pgUrl ? tableActivity(tablesBefore, await readTableStats(running.pgUrl)) : undefined;
  const repeatsAfter = repeatsBefore && (await repeatStats(running.urls));
  assertAllAnswered(r, `${scenario}${fillOnly ? ' first reports' : ''}`);
  if (!r.ok) return { r, tables };
  return {
    r,
    repeatShare: repeatsBefore && repeatsAfter ? (repeatsAfter.repeated - repeatsBefore.repeated) / r.ok : undefined,
    repeatCacheMib: repeatsAfter ? mib(repeatsAfter.cacheBytes) : undefined,
    cpuUs: ((cpu.receivers + cpu.pg) * 1e6) / r.ok,
    diskBytes: disk / r.ok,
    pgCpuUs: running.pgUrl ? (cpu.pg * 1e6) / r.ok : undefined,
    pgSharedUs: running.pgUrl ? (cpu.pgShared * 1e6) / r.ok : undefined,
    tables,
  };
}

/**
 * A round of bare node:http right before a devstatus round, the same scenario and length, on a
 * bare server kept running beside it: the baseline that round's ratios are taken against. The
 * fleet's state is put back afterwards, so the devstatus server's next round and its loss check
 * go on from its own last answers.
 */
async function bareRoundBefore(bareServer: Running | null, fleet: BenchFleet, scenario: Scenario): Promise<{ rate: number; cpuUs?: number } | undefined> {
  if (!bareServer) return undefined;
  const restore = fleet.snapshot();
  try {
    if (WARMUP > 0) assertAllAnswered(await load(bareServer, fleet, scenario, Math.min(WARMUP, 1)), `bare ${scenario} warm-up`);
    const m = await measure(bareServer, fleet, scenario, DURATION, false);
    return { rate: Math.round(m.r.reportsPerS), cpuUs: m.cpuUs === undefined ? undefined : Math.round(m.cpuUs) };
  } finally {
    restore();
  }
}

async function benchServer(target: Target, fleet: BenchFleet, rows: Row[], fills: FillRow[], bareServer: Running | null): Promise<void> {
  const boxes = fleet.size;
  const tag = `[${boxes} boxes] ${target.name}`;
  const base = { boxes, server: target.name, store: target.store, receivers: target.receivers };
  fleet.reset();
  let running: Running;
  try {
    running = await target.start(settings);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // Not built or no PostgreSQL here is a fact to print; failing to start is a failure of the run.
    if (!(e instanceof Unavailable)) process.exitCode = 1;
    const note = e instanceof Unavailable ? message : `failed to start: ${message.split('\n')[0]}`;
    for (const scenario of SCENARIOS) rows.push({ ...base, scenario, note });
    log(`${tag}: ${message}`);
    return;
  }
  try {
    log(`${tag}: started (${running.urls.join(', ')}); sending every box's first report...`);
    const fill = await measure(running, fleet, 'rest', FILL_LIMIT, true);
    const complete = fill.r.ok === boxes;
    fills.push({
      boxes,
      server: target.name,
      reports_per_s: fill.r.reportsPerS,
      p99_ms: fill.r.p99Ms,
      cpu_us: fill.cpuUs,
      pg_cpu_us: fill.pgCpuUs,
      complete,
    });
    log(`${tag}: first reports ${fill.r.reportsPerS.toFixed(0)}/s (${fill.r.ok} in ${fill.r.elapsedS.toFixed(1)} s), CPU ${fill.cpuUs?.toFixed(0)} us/report`);
    if (fill.tables) log(`${tag}: PostgreSQL during first reports:\n    ${describeActivity(fill.tables, fill.r.ok)}`);
    if (!complete) {
      // A store this slow would keep the bench running for an hour: say so instead of measuring.
      let note = `too slow: first reports of only ${fill.r.ok} of ${boxes} boxes in ${FILL_LIMIT} s (--fill-limit)`;
      log(`${tag}: ${note}`);
      if (running.check) note += `; ${await running.check(fleet, true)}`;
      for (const scenario of SCENARIOS) rows.push({ ...base, scenario, note });
      return;
    }
    for (const [n, scenario] of SCENARIOS.entries()) {
      if (WARMUP > 0) {
        log(`${tag} ${scenario}: warming up ${WARMUP} s...`);
        assertAllAnswered(await load(running, fleet, scenario, WARMUP), `${scenario} warm-up`);
      }
      // Pairs of rounds, bare then devstatus: the VM's speed can change by half between two
      // rounds a minute apart, so with --pairs N the pair whose ratio is the median is kept.
      type Pair = { bareThen?: { rate: number; cpuUs?: number }; m: Awaited<ReturnType<typeof measure>> };
      const ratioOf = (x: Pair) => (x.bareThen ? x.m.r.reportsPerS / x.bareThen.rate : x.m.r.reportsPerS);
      const pairs: Pair[] = [];
      for (let k = 0; k < PAIRS; k++) {
        const bareThen = await bareRoundBefore(bareServer, fleet, scenario);
        if (bareThen) log(`${tag} ${scenario}: bare node:http just before: ${bareThen.rate} reports/s, CPU ${bareThen.cpuUs ?? '?'} us/report`);
        log(`${tag} ${scenario}: measuring ${DURATION} s${PAIRS > 1 ? ` (pair ${k + 1} of ${PAIRS})` : ''}...`);
        const m = await measure(running, fleet, scenario, DURATION, false);
        pairs.push({ bareThen, m });
        if (PAIRS > 1) log(`${tag} ${scenario}: ${Math.round(m.r.reportsPerS)} reports/s, p99 ${m.r.p99Ms.toFixed(1)} ms${bareThen ? `: ${ratioOf({ bareThen, m }).toFixed(2)}x bare` : ''}`);
      }
      const { bareThen, m } = [...pairs].sort((a, b) => ratioOf(a) - ratioOf(b))[Math.floor((pairs.length - 1) / 2)]!;
      const row: Row = {
        ...base,
        scenario,
        reports_per_s: Math.round(m.r.reportsPerS),
        p50_ms: Math.round(m.r.p50Ms * 100) / 100,
        p99_ms: Math.round(m.r.p99Ms * 100) / 100,
        bare_then_reports_per_s: bareThen?.rate,
        bare_then_cpu_us: bareThen?.cpuUs,
        pair_ratios: PAIRS > 1 && pairs.every((x) => x.bareThen) ? pairs.map((x) => Math.round(ratioOf(x) * 100) / 100) : undefined,
        cpu_us: m.cpuUs === undefined ? undefined : Math.round(m.cpuUs),
        pg_cpu_us: m.pgCpuUs === undefined ? undefined : Math.round(m.pgCpuUs),
        pg_shared_cpu_us: m.pgSharedUs === undefined ? undefined : Math.round(m.pgSharedUs),
        peak_rss_mib: mib(running.cpu.peakRss()),
        disk_bytes: m.diskBytes === undefined ? undefined : Math.round(m.diskBytes),
        generator_busy: Math.round(m.r.generatorBusy * 100) / 100,
        repeats_recognized: m.repeatShare === undefined ? undefined : Math.round(m.repeatShare * 1000) / 1000,
        repeat_cache_mib: m.repeatCacheMib,
        pg_tables: m.tables,
      };
      log(
        `${tag} ${scenario}: ${row.reports_per_s} reports/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, ` +
          `CPU ${row.cpu_us ?? '?'} us/report` +
          (row.pg_cpu_us !== undefined ? ` (PostgreSQL ${row.pg_cpu_us}, of which its shared WAL/checkpoint writers ${row.pg_shared_cpu_us})` : '') +
          `, ` +
          (running.store === 'sqlite' ? `${row.disk_bytes ?? '?'} bytes written to disk per report, ` : '') +
          (running.store === 'postgres' ? `${row.disk_bytes ?? '?'} bytes of WAL per report, ` : '') +
          `peak RSS ${row.peak_rss_mib ?? '?'} MiB, generator ${Math.round(m.r.generatorBusy * 100)}% of a core` +
          (m.repeatShare === undefined ? '' : `; receiver recognized ${(m.repeatShare * 100).toFixed(1)}% as repeats (cache ${m.repeatCacheMib} MiB)`),
      );
      if (m.tables) log(`${tag} ${scenario}: PostgreSQL during the round:\n    ${describeActivity(m.tables, m.r.ok)}`);
      if (running.check) {
        log(`${tag} ${scenario}: checking that every acknowledged report is stored...`);
        const checkStart = performance.now();
        row.note = await running.check(fleet, n === SCENARIOS.length - 1);
        log(`${tag} ${scenario}: ${row.note} (checked in ${((performance.now() - checkStart) / 1000).toFixed(1)} s)`);
      }
      rows.push(row);
    }
  } finally {
    await running.stop();
  }
}

async function main(): Promise<void> {
  log(
    `ingest benchmark: fleets of ${FLEETS.join(', ')} boxes x 8 sub-devices; scenarios ${SCENARIOS.join(', ')}; ` +
      `${CONNECTIONS} keep-alive connections, ${WARMUP} s warm-up + ${DURATION} s measured per scenario` +
      (PAIRS > 1 ? ` in ${PAIRS} pairs with bare (the median pair kept)` : '') +
      '; ' +
      `rest flips a sub-device in ${FLIP * 100}% of reports; receivers told --report-interval ${REPORT_INTERVAL} s; ` +
      `first reports of a fleet may take ${FILL_LIMIT} s at most; ` +
      `${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}`,
  );
  const rows: Row[] = [];
  const fills: FillRow[] = [];
  for (const boxes of FLEETS) {
    log(`[${boxes} boxes] building the fleet's report bodies...`);
    const fleet = new BenchFleet(boxes);
    // A second bare server for the rounds right before each devstatus round (bareRoundBefore).
    const bareServer = await bare.start(settings);
    try {
      for (const target of TARGETS) {
        if (only && target.store !== 'bare' && !only.test(target.name)) continue;
        await benchServer(target, fleet, rows, fills, target.store === 'bare' ? null : bareServer);
      }
    } finally {
      await bareServer.stop();
    }
  }
  fillRatios(rows);
  const targets = checkTargets(rows, fills, CONNECTIONS);
  if (args.json) {
    console.log(
      JSON.stringify({ connections: CONNECTIONS, duration_s: DURATION, warmup_s: WARMUP, pairs: PAIRS, flip: FLIP, report_interval_s: REPORT_INTERVAL, rows, fills, targets }),
    );
    return;
  }
  printRows(rows, fills);
  printTargets(targets);
  log('done');
}

main().catch((e: unknown) => {
  console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
