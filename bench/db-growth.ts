// Database growth per 1,000 boxes per day (docs/operations.md): a fleet of 1,000 boxes with 8
// sub-devices each reports every 5 s for `--rounds` rounds (simulated time), with each
// sub-device changing status with probability `--flip` per report; the on-disk size before and
// after (SQLite: the file after a checkpoint; PostgreSQL: the history table with its indexes) is scaled to a day.
// Run: node --import tsx bench/db-growth.ts [--rounds 360] [--flip 0.001] [--postgres]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { parseReport, type Report } from '../src/protocol/index.js';
import { PostgresStore, SqliteStore } from '../src/store/index.js';
import type { Store } from '../src/store/types.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '360' },
    flip: { type: 'string', default: '0.001' },
    boxes: { type: 'string', default: '1000' },
    postgres: { type: 'boolean', default: false },
  },
});
const BOXES = Number(args.boxes);
const SUBS = 8;
const ROUNDS = Number(args.rounds);
const FLIP = Number(args.flip);
const INTERVAL_MS = 5000;
const ROUNDS_PER_DAY = 86_400_000 / INTERVAL_MS;

let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const status: boolean[][] = Array.from({ length: BOXES }, () => Array.from({ length: SUBS }, () => true));

function reportOf(b: number): Report {
  const dev = `EDGE-BENCH-${String(b).padStart(5, '0')}`;
  return parseReport({
    dev_sno: dev,
    sub_devices: status[b]!.map((on, i) => ({
      ep_id: `${dev}__192.168.${b % 250}.${i + 10}`,
      ep_ip: `192.168.${b % 250}.${i + 10}`,
      ep_status: on ? 'online' : 'offline',
      ep_location: '95274d2c-0941-4d96-b032-ab200f81362c',
      ep_type: 'rtsp',
      ep_name: `camera ${i + 1}`,
    })),
  });
}

async function round(store: Store, t: number, flip: number): Promise<void> {
  const pending: Promise<unknown>[] = [];
  for (let b = 0; b < BOXES; b++) {
    for (let i = 0; i < SUBS; i++) if (random() < flip) status[b]![i] = !status[b]![i];
    pending.push(store.ingest(reportOf(b), t));
  }
  await Promise.all(pending);
}

async function measure(name: string, open: () => Promise<Store>, size: () => Promise<number>): Promise<void> {
  let store = await open();
  const t0 = Date.now();
  await round(store, t0, 0);
  await store.close();
  const before = await size();
  store = await open();
  let transitions = 0;
  for (let r = 1; r <= ROUNDS; r++) await round(store, t0 + r * INTERVAL_MS, FLIP);
  transitions = (await store.fleetHistory({ limit: 1 }))[0]?.id ?? 0;
  await store.close();
  const after = await size();
  const perDay = ((after - before) / ROUNDS) * ROUNDS_PER_DAY * (1000 / BOXES);
  console.log(
    `${name}: ${ROUNDS} rounds of ${BOXES} boxes x ${SUBS} sub-devices, flip ${FLIP}: ` +
      `${(before / 1e6).toFixed(1)} MB -> ${(after / 1e6).toFixed(1)} MB, ${transitions} history entries in all; ` +
      `growth per 1,000 boxes per day: ${(perDay / 1e6).toFixed(1)} MB ` +
      `(${((after - before) / Math.max(1, transitions - BOXES * (SUBS + 1))).toFixed(0)} bytes per status change)`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'devstatus-growth-'));
try {
  const file = join(dir, 'growth.db');
  await measure(
    'sqlite',
    async () => new SqliteStore({ file }),
    async () => statSync(file).size,
  );
  if (args.postgres) {
    const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
    await admin.connect();
    const name = `devstatus_growth_${process.pid}`;
    await admin.query(`CREATE DATABASE ${name}`);
    const url = `postgres://postgres@127.0.0.1:5432/${name}`;
    try {
      await measure(
        'postgres',
        () => PostgresStore.open({ url, log: { info: () => {}, warn: () => {} } }),
        async () => {
          const c = new pg.Client({ connectionString: url });
          await c.connect();
          // The history table: what grows. The rows updated at every report (boxes, sub_devices)
          // leave dead versions that autovacuum makes reusable; they do not grow with time.
          await c.query('VACUUM history');
          const { rows } = await c.query<{ n: string }>("SELECT pg_total_relation_size('history') AS n");
          await c.end();
          return Number(rows[0]!.n);
        },
      );
    } finally {
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.end();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
