// The systems the bench loads, each in its own process(es) on 127.0.0.1: bare node:http (the
// baseline), `devstatus serve` on a fresh SQLite file, and one or more `devstatus serve` on a
// fresh PostgreSQL database. Each knows how to check that nothing acknowledged was lost.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { BenchFleet } from './fleet-bodies.js';
import { checkPostgresDatabase, checkSqliteFile, checkViaApi } from './loss-check.js';
import { CpuMeter } from './processes.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'dist', 'cli', 'main.js');
const BARE = join(root, 'bench', 'bare-server.ts');

/** A store that cannot run here (not built, server unreachable): printed, not a failure. */
export class Unavailable extends Error {}

export interface ServerSettings {
  adminToken: string;
  /** Seconds between a box's reports, as told to the receiver: long enough that no box goes offline mid-bench. */
  reportInterval: number;
  pgAdminUrl: string;
}

export interface Running {
  store: Target['store'];
  urls: string[];
  cpu: CpuMeter;
  /** Checks every acknowledged report; kills the receiver when `final` (then reads what is on disk). */
  check?: (fleet: BenchFleet, final: boolean) => Promise<string>;
  /** PostgreSQL only: the database, for diagnostics. */
  pgUrl?: string;
  stop(): Promise<void>;
}

export interface Target {
  name: string;
  store: 'bare' | 'sqlite' | 'postgres';
  receivers: number;
  start(settings: ServerSettings): Promise<Running>;
}

function spawnServer(cmd: string[], env: Record<string, string | undefined>, adminToken: string): Promise<{ child: ChildProcess; url: string }> {
  const merged: NodeJS.ProcessEnv = { ...process.env, DEVSTATUS_ADMIN_TOKEN: adminToken };
  for (const [k, v] of Object.entries(env)) {
    // undefined means: not set at all for this server (e.g. no DATABASE_URL for the SQLite run).
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  const profDir = process.env.BENCH_CPU_PROF_DIR;
  const prof = profDir && !cmd.includes('tsx') ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const child = spawn(process.execPath, [...prof, ...cmd], { cwd: root, env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${out}`)), 30_000);
    const onData = (d: Buffer) => {
      // Keep only the head of the output: it is drained all run long.
      if (out.length < 20_000) out += d.toString();
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)\/DeviceStatus/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
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

const serveArgs = (s: ServerSettings) => [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--report-interval', String(s.reportInterval)];

export const bare: Target = {
  name: 'bare node:http',
  store: 'bare',
  receivers: 1,
  async start(s) {
    const server = await spawnServer(['--import', 'tsx', BARE], {}, s.adminToken);
    return { store: 'bare', urls: [server.url], cpu: new CpuMeter([server.child.pid!]), stop: () => stopChild(server.child) };
  },
};

export const sqlite: Target = {
  name: 'devstatus sqlite',
  store: 'sqlite',
  receivers: 1,
  async start(s) {
    const dir = mkdtempSync(join(tmpdir(), 'devstatus-bench-'));
    const db = join(dir, 'bench.db');
    let server;
    try {
      server = await spawnServer([...serveArgs(s), '--db', db], { DATABASE_URL: undefined }, s.adminToken);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    const { child, url } = server;
    return {
      store: 'sqlite',
      urls: [url],
      cpu: new CpuMeter([child.pid!]),
      async check(fleet, final) {
        const viaApi = await checkViaApi(fleet, url, s.adminToken);
        if (!final) return `${viaApi}; ${checkSqliteFile(fleet, db, 'in the file')}`;
        // Kill it hard and read the file: what was acknowledged must be on disk already.
        await stopChild(child, 'SIGKILL');
        return `${viaApi}; ${checkSqliteFile(fleet, db, 'after SIGKILL, in the file')}`;
      },
      async stop() {
        await stopChild(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

function postgres(receivers: number): Target {
  return {
    name: receivers === 1 ? 'devstatus postgres' : `devstatus postgres x${receivers}`,
    store: 'postgres',
    receivers,
    async start(s) {
      const help = spawnSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' });
      if (!/database-url/i.test(help.stdout + help.stderr)) throw new Unavailable('PostgreSQL store not available');
      const admin = new pg.Client({ connectionString: s.pgAdminUrl });
      try {
        await admin.connect();
      } catch (e) {
        throw new Unavailable(`PostgreSQL not reachable at ${s.pgAdminUrl} (${(e as Error).message})`);
      }
      // A fresh database per run: nothing left from an earlier run, no settings but the server's.
      const dbName = `devstatus_bench_${process.pid}_${Date.now()}`;
      await admin.query(`CREATE DATABASE ${dbName}`);
      const dbUrl = new URL(s.pgAdminUrl);
      dbUrl.pathname = `/${dbName}`;
      const children: ChildProcess[] = [];
      const dropDb = async () => {
        for (const c of children) await stopChild(c);
        // FORCE: a receiver killed half-way may leave sessions behind for a moment.
        await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
        await admin.end();
      };
      const urls: string[] = [];
      try {
        // One after the other: the first creates the schema, the others find it.
        for (let r = 0; r < receivers; r++) {
          const server = await spawnServer(serveArgs(s), { DATABASE_URL: dbUrl.toString() }, s.adminToken);
          children.push(server.child);
          urls.push(server.url);
        }
      } catch (e) {
        await dropDb();
        throw e;
      }
      return {
        store: 'postgres',
        urls,
        pgUrl: dbUrl.toString(),
        cpu: new CpuMeter(
          children.map((c) => c.pid!),
          dbName,
        ),
        async check(fleet) {
          const viaApi = await checkViaApi(fleet, urls[0]!, s.adminToken);
          return `${viaApi}; ${await checkPostgresDatabase(fleet, dbUrl.toString())}`;
        },
        stop: dropDb,
      };
    },
  };
}

export const pgOne = postgres(1);
export const pgTwo = postgres(2);
