// A status storm written straight into a store, without HTTP: what the store alone can take.
// `npm run bench` measures the whole receiver against bare node:http; this shows how much of a
// storm report's time is the store's (its own ceiling in reports/s, CPU per report) and how its
// group commit behaves with many reports in flight (64 by default, as the HTTP bench's
// connections). The driver parses each body as the receiver does, so its CPU is counted too.
//
//   node --import tsx bench/store-storm.ts [--boxes 10000] [--store sqlite,postgres] [--reports 40000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { parseReport } from '../src/protocol/index.js';
import { PostgresStore } from '../src/store/postgres/store.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import type { Store } from '../src/store/types.js';
import { BenchFleet } from './fleet-bodies.js';
import { checkPostgresDatabase, checkSqliteFile } from './loss-check.js';
import { walPosition } from './pg-tables.js';
import { CpuMeter } from './processes.js';

const { values: args } = parseArgs({
  options: {
    boxes: { type: 'string', default: '10000' },
    store: { type: 'string', default: 'sqlite,postgres' },
    reports: { type: 'string', default: '40000' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '64' },
    'pg-url': { type: 'string', default: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const positive = (name: string, text: string | undefined): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`bad --${name}: ${text} (a whole number above 0)`);
  return n;
};
const BOXES = positive('boxes', args.boxes);
const REPORTS = positive('reports', args.reports);
const ROUNDS = positive('rounds', args.rounds);
const CONCURRENCY = positive('concurrency', args.concurrency);
const STORES = (args.store ?? '').split(',').map((s) => s.trim());
for (const s of STORES) if (s !== 'sqlite' && s !== 'postgres') throw new Error(`bad --store: ${s} (sqlite, postgres or both)`);

interface Opened {
  store: Store;
  meter: CpuMeter;
  /** Bytes the store made durable so far: SQLite's disk writes, PostgreSQL's WAL. */
  written(): Promise<number>;
  batches(): number | undefined;
  /** Whether every box's stored rows say what its last acknowledged report said (loss-check.ts). */
  check(fleet: BenchFleet): Promise<string>;
  close(): Promise<void>;
}

async function openSqlite(): Promise<Opened> {
  const dir = mkdtempSync(join(tmpdir(), 'devstatus-store-storm-'));
  const file = join(dir, 'storm.db');
  const store = new SqliteStore({ file });
  const meter = new CpuMeter([process.pid]);
  const start = meter.snapshot();
  return {
    store,
    meter,
    written: async () => meter.diskSince(start),
    batches: () => undefined,
    async check(fleet) {
      return checkSqliteFile(fleet, file, 'in the file');
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openPostgres(): Promise<Opened> {
  const admin = new pg.Client({ connectionString: args['pg-url'] });
  await admin.connect();
  const dbName = `devstatus_store_storm_${process.pid}_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(args['pg-url']!);
  url.pathname = `/${dbName}`;
  const store = await PostgresStore.open({ url: url.toString() });
  return {
    store,
    meter: new CpuMeter([process.pid], dbName),
    written: () => walPosition(url.toString()),
    batches: () => store.ingestPaths.batches,
    check: (fleet) => checkPostgresDatabase(fleet, url.toString()),
    async close() {
      await store.close();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** Sends reports from CONCURRENCY callers, each waiting for its answer, until `limit` are stored. */
async function drive(store: Store, fleet: BenchFleet, fillOnly: boolean, limit: number): Promise<number> {
  let sent = 0;
  const caller = async () => {
    while (sent < limit) {
      const i = fleet.next('storm', 0, fillOnly);
      if (i < 0) return;
      sent++;
      const mask = fleet.nextMask[i]!;
      const body = Buffer.from(fleet.body(i, mask));
      await store.ingest(parseReport(JSON.parse(body.toString())), Date.now(), { source: body });
      fleet.acknowledged(i, mask);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, caller));
  return sent;
}

const fleet = new BenchFleet(BOXES);
console.log(`store storm: ${BOXES} boxes x 8 sub-devices, every report changes one; ${CONCURRENCY} reports in flight; ${ROUNDS === 1 ? "1 round" : `${ROUNDS} rounds`} of ${REPORTS} reports`);
console.log('store      round  reports/s  CPU us/report  of which PG  bytes/report (SQLite disk, PG WAL)  reports/batch');
for (const kind of STORES) {
  fleet.reset();
  const s = kind === 'sqlite' ? await openSqlite() : await openPostgres();
  try {
    await drive(s.store, fleet, true, Infinity);
    await drive(s.store, fleet, false, BOXES);
    for (let round = 1; round <= ROUNDS; round++) {
      const cpu = s.meter.snapshot();
      const bytes = await s.written();
      const batches = s.batches();
      const t0 = performance.now();
      const n = await drive(s.store, fleet, false, REPORTS);
      const seconds = (performance.now() - t0) / 1000;
      const used = s.meter.since(cpu);
      const wrote = (await s.written()) - bytes;
      const after = s.batches();
      const perBatch = batches === undefined || after === undefined ? '-' : (n / (after - batches)).toFixed(1);
      const pgUs = kind === 'postgres' ? ((used.pg / n) * 1e6).toFixed(0) : '-';
      console.log(
        `${kind.padEnd(10)} ${String(round).padStart(5)}  ${(n / seconds).toFixed(0).padStart(9)}  ${(((used.receivers + used.pg) / n) * 1e6).toFixed(0).padStart(13)}  ${pgUs.padStart(11)}  ${(wrote / n).toFixed(0).padStart(34)}  ${perBatch.padStart(13)}`,
      );
    }
    console.log(`${kind.padEnd(10)} ${await s.check(fleet)}`);
  } finally {
    await s.close();
  }
}
