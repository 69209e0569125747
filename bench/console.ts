// Operator console benchmark (`npm run bench:console`): a fleet of 10,000 boxes x 8 cameras on
// SQLite (filled through the store directly; some boxes silent, some cameras down for different
// lengths of time), then (a) GET /api/sub-devices?status=problems and the problems view's own
// requests, timed over several runs, and (b) the problems view's first paint in Chromium (first
// contentful paint, and until the first problem row shows). The same is measured on a fleet of
// 100 boxes in the same run, and the ratios printed. No assertions on time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseReport } from '../src/protocol/index.js';
import { buildServer } from '../src/server/app.js';
import { registerConsoleRoutes } from '../src/server/routes/console-api.js';
import { SqliteStore } from '../src/store/index.js';
import type { Store } from '../src/store/types.js';
import { launchChromium } from '../test/support/browser.js';

const { values: args } = parseArgs({
  options: {
    boxes: { type: 'string', default: '10000' },
    cameras: { type: 'string', default: '8' },
    baseline: { type: 'string', default: '100' },
    runs: { type: 'string', default: '7' },
  },
});
const CAMERAS = Number(args.cameras);
const RUNS = Number(args.runs);
const MIN = 60_000;

function boxReport(i: number, downCameras: number) {
  const devSno = `BENCH-${String(i).padStart(6, '0')}`;
  return parseReport({
    dev_sno: devSno,
    sub_devices: Array.from({ length: CAMERAS }, (_, c) => {
      const ip = `10.${(i >> 8) & 255}.${i & 255}.${c + 1}`;
      return {
        ep_id: `${devSno}__rtsp://admin:pw@${ip}:554/s${c}`,
        ep_ip: ip,
        ep_status: c < downCameras ? 'offline' : 'online',
        ep_location: `site-${i % 50}`,
        ep_type: 'rtsp',
        ep_name: `cam ${c + 1}`,
      };
    }),
  });
}

/** Every box reports once; 3 % have cameras down since various times, 2 % go silent. */
async function fill(store: Store, boxes: number): Promise<void> {
  const now = Date.now();
  const chunk = 500;
  for (let start = 0; start < boxes; start += chunk) {
    const batch: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(boxes, start + chunk); i++) {
      const down = i % 33 === 0 ? 1 + (i % 3) : 0;
      // Spread "since" over the last 3 hours; silent boxes reported last 2 hours ago.
      const at = i % 50 === 7 ? now - 120 * MIN : now - ((i * 7919) % (180 * MIN));
      batch.push(store.ingest(boxReport(i, down), at));
    }
    await Promise.all(batch);
  }
  await store.markSilentBoxesOffline(now - 90 * MIN, now - 60 * MIN);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeGet(url: string): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    times.push(performance.now() - t0);
  }
  return median(times);
}

interface Result {
  boxes: number;
  fillMs: number;
  problemsApiMs: number;
  offlineSortedMs: number;
  offlineBoxesMs: number;
  summaryMs: number;
  fcpMs: number;
  firstRowMs: number;
}

async function measure(boxes: number): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'devstatus-bench-console-'));
  const store = new SqliteStore({ file: join(dir, 'devstatus.db') });
  try {
    const t0 = performance.now();
    await fill(store, boxes);
    const fillMs = performance.now() - t0;
    const app = await buildServer({ store, offline: false, metrics: false });
    // A receiver that does not register the console API itself yet gets it here.
    if (!app.hasRoute({ method: 'GET', url: '/api/sub-devices' })) await registerConsoleRoutes(app, store, { readRoutes: false });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const problemsApiMs = await timeGet(`${url}/api/sub-devices?status=problems&sort=down_since&limit=100`);
      const offlineSortedMs = await timeGet(`${url}/api/sub-devices?status=offline&sort=down_since&limit=100`);
      const offlineBoxesMs = await timeGet(`${url}/api/devices?status=offline&limit=100&offset=0`);
      const summaryMs = await timeGet(`${url}/api/summary`);
      const browser = await launchChromium({ viewport: { width: 1440, height: 900 } });
      const fcp: number[] = [];
      const firstRow: number[] = [];
      try {
        for (let r = 0; r < Math.max(3, Math.ceil(RUNS / 2)); r++) {
          const page = await browser.context.newPage();
          await page.goto(`${url}/#/`);
          const rowAt = await page.waitForFunction(() => (document.querySelector('tr.problem-row') ? performance.now() : 0), undefined, { timeout: 60_000, polling: 'raf' });
          firstRow.push((await rowAt.jsonValue()) as number);
          fcp.push(await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN));
          await page.close();
        }
      } finally {
        await browser.close();
      }
      return { boxes, fillMs, problemsApiMs, offlineSortedMs, offlineBoxesMs, summaryMs, fcpMs: median(fcp), firstRowMs: median(firstRow) };
    } finally {
      await app.close();
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const base = await measure(Number(args.baseline));
const big = await measure(Number(args.boxes));
const rows: [string, keyof Result][] = [
  ['fill (store.ingest, ms)', 'fillMs'],
  ['GET /api/sub-devices?status=problems (ms, median)', 'problemsApiMs'],
  ['GET /api/sub-devices?status=offline&sort=down_since (ms)', 'offlineSortedMs'],
  ['GET /api/devices?status=offline (ms)', 'offlineBoxesMs'],
  ['GET /api/summary (ms)', 'summaryMs'],
  ['problems view: first contentful paint (ms)', 'fcpMs'],
  ['problems view: first problem row shown (ms)', 'firstRowMs'],
];
console.log(`\nOperator console, ${big.boxes} boxes x ${CAMERAS} cameras vs ${base.boxes} boxes (same run, SQLite, loopback)`);
console.log(`${'measure'.padEnd(58)}${String(base.boxes).padStart(10)}${String(big.boxes).padStart(10)}${'ratio'.padStart(9)}`);
for (const [label, key] of rows) {
  const a = base[key];
  const b = big[key];
  console.log(`${label.padEnd(58)}${a.toFixed(1).padStart(10)}${b.toFixed(1).padStart(10)}${(b / a).toFixed(2).padStart(9)}`);
}
