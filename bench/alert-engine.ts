// Alert engine storm benchmark (`node --import tsx bench/alert-engine.ts`): 2,000 cameras at
// 250 boxes flip offline within 10 s. Measures the engine's CPU per report (ingest, and all
// flushes of the storm) against a baseline measured in the same run: validating the same
// reports with the protocol module, which ingest does anyway. Prints ratios, asserts nothing
// about speed; it does check the storm's outcome (chat limit kept, every transition covered).
import { parseArgs } from 'node:util';
import { AlertEngine, type AlertEvent, type Notification } from '../src/alerts/engine/index.js';
import { parseReport } from '../src/protocol/index.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } } });
const rounds = Number(args.rounds);
const T0 = Date.parse('2026-11-25T02:00:00Z');
const BOXES = 250;
const CAMS = 8;

function reports(round: number) {
  return Array.from({ length: BOXES }, (_, b) => ({
    dev_sno: `R${round}B${b}`,
    sub_devices: Array.from({ length: CAMS }, (_, c) => ({
      ep_id: `R${round}B${b}__10.0.${b % 250}.${c + 1}`,
      ep_ip: `10.0.${b % 250}.${c + 1}`,
      ep_status: 'offline',
      ep_location: `site ${b % 5}`,
      ep_type: 'rtsp',
      ep_name: `Camera ${c + 1}`,
    })),
  }));
}

function eventsOf(r: ReturnType<typeof reports>[number], at: number, seq: { n: number }): AlertEvent[] {
  return r.sub_devices.map((s) => ({
    id: String(++seq.n),
    kind: 'sub_device',
    dev_sno: r.dev_sno,
    box_name: null,
    ep_id: s.ep_id,
    ep_name: s.ep_name,
    ep_type: s.ep_type,
    address: s.ep_ip,
    location_id: s.ep_location,
    location_name: s.ep_location,
    group: null,
    from: 'online',
    to: 'offline',
    at,
    reason: 'report',
  }));
}

function runStorm(round: number) {
  const bodies = reports(round).map((r) => JSON.stringify(r));
  let t = performance.now();
  for (const b of bodies) parseReport(JSON.parse(b));
  const baseMs = performance.now() - t;

  const engine = new AlertEngine({ rules: [{ id: 'all', channels: ['dingtalk:ops', 'webhook:main'] }] });
  const seq = { n: 0 };
  const sent: Notification[] = [];
  let ingestMs = 0;
  let flushMs = 0;
  const flushUntil = (now: number) => {
    for (let w = engine.nextWakeAt(); w !== null && w <= now; w = engine.nextWakeAt()) {
      const f = performance.now();
      sent.push(...engine.flush(w).notifications);
      flushMs += performance.now() - f;
    }
  };
  for (const [b, body] of bodies.entries()) {
    const at = T0 + b * 40;
    flushUntil(at);
    const r = JSON.parse(body) as ReturnType<typeof reports>[number];
    t = performance.now();
    engine.ingest(eventsOf(r, at, seq), at);
    ingestMs += performance.now() - t;
  }
  flushUntil(T0 + 10 * 60_000);
  const ding = sent.filter((n) => n.channel === 'dingtalk:ops');
  const perMinute = Math.max(...ding.map((n) => ding.filter((m) => m.created_at >= n.created_at && m.created_at < n.created_at + 60_000).length));
  const covered = new Set(sent.flatMap((n) => n.covered_event_ids.map((id) => `${n.channel}|${id}`))).size;
  if (perMinute > 20) throw new Error(`DingTalk got ${perMinute} messages within a minute`);
  if (covered !== 2 * BOXES * CAMS) throw new Error(`${covered} of ${2 * BOXES * CAMS} (event, channel) pairs covered`);
  return { baseMs, ingestMs, flushMs, dingtalk: ding.length, webhook: sent.length - ding.length };
}

runStorm(-1); // warm-up
const results = Array.from({ length: rounds }, (_, i) => runStorm(i));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(results.map((r) => r.baseMs));
const ingest = median(results.map((r) => r.ingestMs));
const flush = median(results.map((r) => r.flushMs));
const summary = {
  reports: BOXES,
  transitions: BOXES * CAMS,
  validate_ms_per_report: base / BOXES,
  engine_ingest_ms_per_report: ingest / BOXES,
  engine_flush_ms_per_report: flush / BOXES,
  ingest_ratio_to_validation: ingest / base,
  ingest_and_flush_ratio_to_validation: (ingest + flush) / base,
  dingtalk_messages: results[0]!.dingtalk,
  webhook_messages: results[0]!.webhook,
};
if (args.json) console.log(JSON.stringify(summary));
else {
  console.log(`storm: ${BOXES} reports, ${BOXES * CAMS} camera transitions, median of ${rounds} rounds`);
  for (const [k, v] of Object.entries(summary)) console.log(`  ${k.padEnd(40)} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : v}`);
}
