// Ingest benchmark (`npm run bench`): the same keep-alive load, from the same generator, against
// (a) a bare node:http server that only parses the JSON and echoes it, (b) `devstatus serve` on
// SQLite, (c) `devstatus serve` on PostgreSQL when that store exists. Every server runs in its
// own process on 127.0.0.1; the load is one box with 8 sub-devices per request, rotating over
// many boxes with occasional status flips. After each devstatus run it checks that every
// acknowledged report is in the store.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import pg from 'pg';
import { toWire, type EpStatus } from '../src/protocol/index.js';
import { buildFleet, reportFor } from '../src/sim/fleet.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'dist', 'cli', 'main.js');
const BARE = join(root, 'bench', 'bare-server.ts');

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: process.env.BENCH_DURATION ?? '8' },
    warmup: { type: 'string', default: process.env.BENCH_WARMUP ?? '2' },
    connections: { type: 'string', default: process.env.BENCH_CONNECTIONS ?? '64' },
    boxes: { type: 'string', default: '1000' },
    flip: { type: 'string', default: '0.01' },
    rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '1' },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
    'pg-url': { type: 'string', default: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
const BOXES = Number(args.boxes);
const FLIP = Number(args.flip);
const ROUNDS = Math.max(1, Math.floor(Number(args.rounds)));
const SUBS = 8;
for (const [name, v] of Object.entries({ DURATION, WARMUP, CONNECTIONS, BOXES, FLIP, ROUNDS })) {
  if (!Number.isFinite(v) || v < 0) throw new Error(`bad --${name.toLowerCase()}: ${String(v)}`);
}

// Bodies are built before the run so the generator spends its CPU on HTTP, not on JSON.
const fleet = buildFleet({ boxes: BOXES, subDevices: SUBS, seed: 2024 });
const bodies = fleet.map((box, i) => {
  const steady: EpStatus[] = box.subDevices.map((_, j) => (j === 7 && i % 10 === 0 ? 'offline' : 'online'));
  const flipped = steady.map((s, j) => (j === i % SUBS ? (s === 'online' ? 'offline' : 'online') : s));
  return [steady, flipped].map((st) => JSON.stringify(toWire(reportFor(box, st, true))));
});
const variant = new Uint8Array(BOXES);
let cursor = 0;
let flipState = 12345;
function nextBody(): string {
  const i = cursor++ % BOXES;
  flipState = (flipState * 1103515245 + 12345) & 0x7fffffff;
  if (flipState / 0x7fffffff < FLIP) variant[i] = variant[i]! ^ 1;
  return bodies[i]![variant[i]!]!;
}

// CPU time a server process used (user + system, all threads), from /proc: it says what a report
// costs the server even when other work on the machine skews the throughput.
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

interface Target {
  name: string;
  start(): Promise<{ child: ChildProcess; url: string; stop: () => Promise<void>; check?: (acked: number) => Promise<string> }>;
}

// The receivers' read API needs the admin token; the bench sets its own.
const ADMIN_TOKEN = randomBytes(18).toString('hex');

function spawnServer(cmd: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const merged: NodeJS.ProcessEnv = { ...process.env, DEVSTATUS_ADMIN_TOKEN: ADMIN_TOKEN, ...env };
  // undefined means: not set at all for this server (e.g. no DATABASE_URL for the SQLite run).
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
  const child = spawn(process.execPath, cmd, { cwd: root, env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${out}`)), 30_000);
    const onData = (d: Buffer) => {
      // Keep only the head of the output: it is drained all run long, logs included.
      if (out.length < 20_000) out += d.toString();
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)\/DeviceStatus/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${out}`));
    });
  });
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

async function storedReports(url: string): Promise<number> {
  let total = 0;
  for (let offset = 0; ; offset += 1000) {
    const res = await fetch(`${url}/api/devices?limit=1000&offset=${offset}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    if (!res.ok) throw new Error(`GET /api/devices answered ${res.status}: ${await res.text()}`);
    const page = (await res.json()) as {
      total: number;
      boxes: Array<{ report_count: number }>;
    };
    total += page.boxes.reduce((n, b) => n + b.report_count, 0);
    if (offset + 1000 >= page.total) return total;
  }
}

function lossCheck(acked: number, stored: number, where: string): string {
  // Requests cut off by the end of a run may be stored without their answer being counted:
  // at most one per connection per run (warm-up and measurement).
  if (stored < acked) throw new Error(`LOST REPORTS (${where}): ${acked} acknowledged, only ${stored} stored`);
  if (stored > acked + 2 * CONNECTIONS) throw new Error(`${where}: ${stored} stored but only ${acked} acknowledged`);
  return `${where}: ${acked} acknowledged, ${stored} stored`;
}

const targets: Target[] = [
  {
    name: 'bare node:http',
    async start() {
      const s = await spawnServer(['--import', 'tsx', BARE], {});
      return { child: s.child, url: s.url, stop: () => stopChild(s.child) };
    },
  },
  {
    name: 'devstatus sqlite',
    async start() {
      const dir = mkdtempSync(join(tmpdir(), 'devstatus-bench-'));
      const db = join(dir, 'bench.db');
      const s = await spawnServer([CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--db', db], { DATABASE_URL: undefined });
      return {
        child: s.child,
        url: s.url,
        async check(acked) {
          const viaApi = lossCheck(acked, await storedReports(s.url), 'via the API');
          // Kill it hard and read the file: what was acknowledged must be on disk already.
          await stopChild(s.child, 'SIGKILL');
          const file = new Database(db, { readonly: true });
          const row = file.prepare('SELECT COALESCE(SUM(report_count), 0) AS n FROM boxes').get() as { n: number };
          file.close();
          return `${viaApi}; ${lossCheck(acked, row.n, 'after SIGKILL, from the file')}`;
        },
        async stop() {
          await stopChild(s.child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'devstatus postgres',
    async start() {
      const help = spawnSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' });
      if (!/database-url/i.test(help.stdout + help.stderr)) throw new Unavailable('PostgreSQL store not available');
      const admin = new pg.Client({ connectionString: args['pg-url'] });
      try {
        await admin.connect();
      } catch (e) {
        throw new Unavailable(`PostgreSQL not reachable at ${args['pg-url']} (${(e as Error).message})`);
      }
      const dbName = `devstatus_bench_${process.pid}_${Date.now()}`;
      await admin.query(`CREATE DATABASE ${dbName}`);
      const dbUrl = new URL(args['pg-url']!);
      dbUrl.pathname = `/${dbName}`;
      const dropDb = async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
        await admin.end();
      };
      let s;
      try {
        s = await spawnServer([CLI, 'serve', '--host', '127.0.0.1', '--port', '0'], { DATABASE_URL: dbUrl.toString() });
      } catch (e) {
        await dropDb();
        throw e;
      }
      const server = s;
      return {
        child: server.child,
        url: server.url,
        check: async (acked) => lossCheck(acked, await storedReports(server.url), 'via the API'),
        async stop() {
          await stopChild(server.child);
          await dropDb();
        },
      };
    },
  },
];

class Unavailable extends Error {}

interface Row {
  server: string;
  reports_per_s?: number;
  p50_ms?: number;
  p99_ms?: number;
  ratio?: number;
  /** Server CPU time per report, in microseconds. */
  cpu_us?: number;
  /** bare server's CPU per report / this server's: the share of the bare server's efficiency. */
  cpu_ratio?: number;
  note?: string;
}

async function load(url: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}/DeviceStatus`,
    connections: CONNECTIONS,
    duration: seconds,
    pipelining: 1,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: nextBody() }),
      },
    ],
  });
}

// autocannon keeps latencies in whole milliseconds.
const ms = (v: number | undefined) => (v === undefined ? '-' : v === 0 ? '<1' : String(v));

async function main(): Promise<void> {
  const only = args.only ? new RegExp(args.only, 'i') : null;
  console.error(
    `ingest benchmark: ${CONNECTIONS} keep-alive connections, ${WARMUP}s warm-up + ${DURATION}s measured per server, ` +
      `1 box x ${SUBS} sub-devices per report over ${BOXES} boxes; a sub-device flips in ${Math.round(FLIP * 1000) / 10}% of reports, ` +
      `the others repeat their box's previous report byte for byte; ` +
      `${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}`,
  );
  // Rounds go through the servers in turn, so a burst of load from elsewhere on the machine does
  // not land on one server only; each server's best round is reported.
  const best = new Map<string, Row>();
  const unavailable = new Set<string>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const target of targets) {
      if ((only && !only.test(target.name)) || unavailable.has(target.name)) continue;
      const tag = ROUNDS > 1 ? `${target.name} (round ${round}/${ROUNDS})` : target.name;
      let running;
      try {
        running = await target.start();
      } catch (e) {
        unavailable.add(target.name);
        const message = e instanceof Error ? e.message : String(e);
        // Not built yet is a fact to print; failing to start is a failure of the run.
        if (!(e instanceof Unavailable)) process.exitCode = 1;
        best.set(target.name, { server: target.name, note: e instanceof Unavailable ? message : `failed to start: ${message.split('\n')[0]}` });
        console.error(`${target.name}: ${message}`);
        continue;
      }
      try {
        console.error(`${tag}: warming up...`);
        const warm = await load(running.url, WARMUP);
        console.error(`${tag}: measuring...`);
        const cpuBefore = cpuSeconds(running.child.pid);
        const r = await load(running.url, DURATION);
        const cpuAfter = cpuSeconds(running.child.pid);
        const bad = r.non2xx + r.errors + r.timeouts + warm.non2xx + warm.errors + warm.timeouts;
        if (bad) throw new Error(`${tag}: ${bad} failed requests (non-2xx ${r.non2xx + warm.non2xx}, errors ${r.errors + warm.errors}, timeouts ${r.timeouts + warm.timeouts})`);
        const row: Row = {
          server: target.name,
          reports_per_s: Math.round(r['2xx'] / r.duration),
          p50_ms: r.latency.p50,
          p99_ms: r.latency.p99,
        };
        if (cpuBefore !== null && cpuAfter !== null && r['2xx'] > 0) row.cpu_us = Math.round(((cpuAfter - cpuBefore) * 1e6) / r['2xx']);
        if (running.check) row.note = await running.check(warm['2xx'] + r['2xx']);
        console.error(`${tag}: ${row.reports_per_s} reports/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, server CPU ${row.cpu_us ?? '?'} us/report${row.note ? ` (${row.note})` : ''}`);
        const prev = best.get(target.name);
        if (!prev || (prev.reports_per_s ?? 0) < row.reports_per_s!) best.set(target.name, row);
      } finally {
        await running.stop();
      }
    }
  }
  const rows = targets.map((t) => best.get(t.name)).filter((r): r is Row => r !== undefined);
  const bareRow = rows.find((r) => r.server === 'bare node:http');
  const bare = bareRow?.reports_per_s;
  for (const r of rows) {
    if (bare && r.reports_per_s) r.ratio = Math.round((r.reports_per_s / bare) * 100) / 100;
    if (bareRow?.cpu_us && r.cpu_us) r.cpu_ratio = Math.round((bareRow.cpu_us / r.cpu_us) * 100) / 100;
  }

  if (args.json) {
    console.log(JSON.stringify({ connections: CONNECTIONS, duration_s: DURATION, warmup_s: WARMUP, rounds: ROUNDS, rows }));
    return;
  }
  const table = [
    ['server', 'reports/s', 'p50 ms', 'p99 ms', 'vs bare', 'CPU us/report', 'CPU vs bare'],
    ...rows.map((r) =>
      r.reports_per_s === undefined
        ? [r.server, r.note ?? '-', '', '', '']
        : [
            r.server,
            String(r.reports_per_s),
            ms(r.p50_ms),
            ms(r.p99_ms),
            r.ratio === undefined ? '-' : `${r.ratio.toFixed(2)}x`,
            r.cpu_us === undefined ? '-' : String(r.cpu_us),
            r.cpu_ratio === undefined ? '-' : `${r.cpu_ratio.toFixed(2)}x`,
          ],
    ),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.filter((row) => row[2] !== '' || c === 0).map((row) => row[c]!.length)));
  console.log('');
  for (const row of table) {
    console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : row[2] === '' ? cell : cell.padStart(widths[c]!))).join('  '));
  }
  const sqlite = rows.find((r) => r.server === 'devstatus sqlite');
  if (sqlite?.ratio !== undefined) {
    console.log(
      `\ndevstatus with SQLite reaches ${sqlite.ratio.toFixed(2)}x the bare server's reports/s (target 0.70x)` +
        (sqlite.cpu_ratio !== undefined ? `; counted in server CPU per report, it is ${sqlite.cpu_ratio.toFixed(2)}x as efficient as the bare server` : ''),
    );
    console.log('reports/s depend on what else runs on the machine; CPU per report much less so.');
  }
}

main().catch((e: unknown) => {
  console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
