// Alert storm benchmark (`npm run bench:alerts`), end to end through a real receiver (SQLite,
// in this process) with channels pointed at local fakes (DingTalk, Feishu, a webhook):
// 250 boxes x 8 cameras report continuously; within the first 10 s all 2,000 cameras flip
// offline. Prints notifications per channel per group interval, the highest rate each fake saw
// against its limit, transitions covered vs stored, and reports/s with alerting vs without
// (runs of the same load in this one process: without, with, without) as a ratio. Speed is printed, never asserted;
// the outcome checks (limits kept, every transition accounted for) exit non-zero when broken.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { StoredNotification } from '../src/store/alerting-rows.js';
import { buildServer } from '../src/server/app.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { startFakeDingTalk } from '../test/support/fakes/dingtalk.js';
import { startFakeFeishu } from '../test/support/fakes/feishu.js';
import { startWebhookReceiver } from '../test/support/webhook.js';

const { values: args } = parseArgs({
  options: {
    boxes: { type: 'string', default: '250' },
    cameras: { type: 'string', default: '8' },
    'storm-s': { type: 'string', default: '10' },
    'run-s': { type: 'string', default: '15' },
    'settle-s': { type: 'string', default: '180' },
    connections: { type: 'string', default: '16' },
  },
});
const BOXES = Number(args.boxes);
const CAMS = Number(args.cameras);
const STORM_MS = Number(args['storm-s']) * 1000;
const RUN_MS = Number(args['run-s']) * 1000;
const SETTLE_MS = Number(args['settle-s']) * 1000;
const CONNECTIONS = Number(args.connections);
const TOTAL = BOXES * CAMS;

const devSno = (b: number) => `STORM${String(b).padStart(4, '0')}`;
function body(b: number, offline: (c: number) => boolean): string {
  return JSON.stringify({
    dev_sno: devSno(b),
    sub_devices: Array.from({ length: CAMS }, (_, c) => ({
      ep_id: `${devSno(b)}__10.${b >> 8}.${b & 255}.${c + 1}`,
      ep_ip: `10.${b >> 8}.${b & 255}.${c + 1}`,
      ep_status: offline(c) ? 'offline' : 'online',
      ep_location: `site-${b % 10}`,
      ep_type: 'rtsp',
      ep_name: `Camera ${c + 1}`,
    })),
  });
}

interface Run {
  reportsPerS: number;
  historyFrom: number;
  store: SqliteStore;
  close(): Promise<void>;
}

/** One receiver on a fresh file; `setup` configures it; then the storm load. */
async function runLoad(label: string, alerting: boolean, setup: (url: string) => Promise<void>): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'devstatus-storm-'));
  const store = new SqliteStore({ file: join(dir, 'devstatus.db') });
  const app = await buildServer({ store, offline: false, dashboardDir: false, alerting: alerting ? { publicUrl: 'http://devstatus.local' } : false });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  await setup(url);
  const post = async (text: string) => {
    const res = await fetch(`${url}/DeviceStatus`, { method: 'POST', body: text, headers: { 'content-type': 'application/json' } });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`report answered ${res.status}`);
  };
  // Every box once, all online (not news), before the clock starts.
  for (let b = 0; b < BOXES; b += CONNECTIONS) {
    await Promise.all(Array.from({ length: Math.min(CONNECTIONS, BOXES - b) }, (_, i) => post(body(b + i, () => false))));
  }
  await new Promise((r) => setTimeout(r, 500));
  const historyFrom = await store.alerting.lastHistoryId();
  const start = performance.now();
  let sent = 0;
  let next = 0;
  // Camera i (of TOTAL) is offline from i/TOTAL * STORM_MS on: all of them within the storm.
  const worker = async () => {
    for (;;) {
      const t = performance.now() - start;
      if (t >= RUN_MS) return;
      const b = next++ % BOXES;
      await post(body(b, (c) => ((b * CAMS + c) / TOTAL) * STORM_MS <= t));
      sent++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const reportsPerS = sent / ((performance.now() - start) / 1000);
  console.log(`${label}: ${sent} reports in ${(RUN_MS / 1000).toFixed(0)} s = ${reportsPerS.toFixed(0)} reports/s`);
  return {
    reportsPerS,
    historyFrom,
    store,
    close: async () => {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Most items of `times` within any window of `ms`. */
function maxInWindow(times: number[], ms: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

async function allNotifications(run: Run): Promise<StoredNotification[]> {
  const out: StoredNotification[] = [];
  for (let before: number | undefined; ; ) {
    const page = await run.store.alerting.listNotifications({ before, limit: 1000 });
    out.push(...page);
    if (page.length < 1000) return out;
    before = page[page.length - 1]!.created_at;
  }
}

async function main(): Promise<void> {
  const ding = await startFakeDingTalk({ storm: { secret: 'SECstorm0123456789' } });
  const feishu = await startFakeFeishu({ storm: {} });
  const hook = await startWebhookReceiver();
  let failed = false;
  const check = (ok: boolean, what: string) => {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    if (!ok) failed = true;
  };
  try {
    // Without, with, without again: the machine's load drifts; the ratio uses both baselines.
    const without1 = await runLoad('without alerting', false, async () => {});
    await without1.close();
    const withAlerts = await runLoad('with alerting   ', true, async (url) => {
      for (const [name, config] of [
        ['ops', { kind: 'dingtalk', access_token: 'storm', secret: 'SECstorm0123456789', base_url: ding.baseUrl }],
        ['ops', { kind: 'feishu', hook_token: 'storm', base_url: feishu.baseUrl }],
        ['main', { kind: 'webhook', url: hook.url }],
      ] as const) {
        const res = await fetch(`${url}/api/alert-channels`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, config }) });
        if (res.status !== 201) throw new Error(`channel ${name}: ${res.status} ${await res.text()}`);
      }
    });
    const without2 = await runLoad('without alerting', false, async () => {});
    await without2.close();
    const baseline = (without1.reportsPerS + without2.reportsPerS) / 2;
    console.log(`ingest with alerting / without (mean of both): ${(withAlerts.reportsPerS / baseline).toFixed(2)} (target >= 0.80)`);

    // Let the engine and the deliveries finish (DingTalk's 20/min stretches the storm out).
    const deadline = Date.now() + SETTLE_MS;
    let ns: StoredNotification[] = [];
    for (;;) {
      await new Promise((r) => setTimeout(r, 2000));
      ns = await allNotifications(withAlerts);
      const history = await withAlerts.store.alerting.historyEventsAfter(withAlerts.historyFrom, 100_000);
      const pending = ns.filter((n) => n.status === 'pending').length;
      // Done when every channel covered every transition (DingTalk's 20/min can take minutes).
      const done = ['dingtalk:ops', 'feishu:ops', 'webhook:main'].every((ch) => {
        const covered = new Set(ns.filter((n) => n.channel === ch).flatMap((n) => n.notification.covered_event_ids));
        return history.every((h) => covered.has(String(h.id)));
      });
      if ((pending === 0 && done) || Date.now() > deadline) break;
    }
    const history = await withAlerts.store.alerting.historyEventsAfter(withAlerts.historyFrom, 100_000);
    const suppressed = await withAlerts.store.alerting.listSuppressed({ limit: 1000 });
    const storm = new Set(history.map((h) => String(h.id)));
    console.log(`transitions stored during the storm: ${history.length} (cameras flipped: ${TOTAL})`);

    const limits: Record<string, { windows: [number, number][] }> = {
      dingtalk: { windows: [[60_000, 20]] },
      feishu: { windows: [[1000, 5], [60_000, 100]] },
      webhook: { windows: [] },
    };
    for (const channel of ['dingtalk:ops', 'feishu:ops', 'webhook:main']) {
      const mine = ns.filter((n) => n.channel === channel);
      const delivered = mine.filter((n) => n.status === 'delivered');
      const covered = new Set(mine.flatMap((n) => n.notification.covered_event_ids));
      const accounted = new Set([...covered, ...suppressed.filter((s) => s.channel === null || s.channel === channel).map((s) => String(s.history_id))]);
      const coveredStorm = [...storm].filter((id) => accounted.has(id)).length;
      // At most one notification per group per channel per group interval (60 s).
      const byGroup = new Map<string, number[]>();
      for (const n of mine) byGroup.set(n.group_key, [...(byGroup.get(n.group_key) ?? []), n.created_at]);
      const perGroup = Math.max(0, ...[...byGroup.entries()].filter(([g]) => g !== 'digest').map(([, times]) => maxInWindow(times, 60_000)));
      const digests = byGroup.get('digest')?.length ?? 0;
      console.log(
        `${channel}: ${mine.length} notifications (${delivered.length} delivered, ${digests} digests), ` +
          `${byGroup.size} groups, most per group per 60 s: ${perGroup}; transitions covered ${coveredStorm}/${storm.size}`,
      );
      check(perGroup <= 1, `${channel}: at most one notification per group per group interval`);
      check(coveredStorm === storm.size, `${channel}: every stored transition accounted for`);
      check(delivered.length === mine.length, `${channel}: every notification delivered`);
      const kind = channel.split(':')[0]!;
      const times = delivered.map((n) => n.updated_at);
      for (const [ms, max] of limits[kind]!.windows) {
        const seen = maxInWindow(times, ms);
        console.log(`  max ${seen} per ${ms / 1000} s (limit ${max})`);
        check(seen <= max, `${channel}: within ${max} per ${ms / 1000} s`);
      }
    }
    check(ding.requests.length === ding.delivered.length, `DingTalk fake refused nothing (${ding.requests.length - ding.delivered.length} refused)`);
    check(feishu.requests.length === feishu.delivered.length, `Feishu fake refused nothing (${feishu.requests.length - feishu.delivered.length} refused)`);
    await withAlerts.close();
  } finally {
    await Promise.all([ding.close(), feishu.close(), hook.close()]);
  }
  if (failed) process.exitCode = 1;
}

await main();
