// Edge agent benchmark (`npm run bench:agent`): `devstatus agent` as its own process, probing 64
// RTSP channels behind ONE GStreamer RTSP server with a listen backlog of 5 (like an NVR), all
// on 127.0.0.1, reporting to a local HTTP receiver that goes away for a while and comes back.
// Prints: round times and their ratio to the round limit (probe_timeout_s), channels found
// offline (all are up: any is a false offline), the agent's peak and steady RSS (from
// /proc/<pid>/status) next to a bare node process measured in the same run and the 60 MiB
// target, the queue's size on disk per report, the drain delay after the receiver is back, and
// how long SIGTERM takes. About a minute. --login: the agent logs in first (login_url: the receiver
// hands out its address and the period) and so sends the rich dialect with its own health.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRtspServer } from '../test/support/peers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = process.env.BENCH_AGENT_CLI ?? join(root, 'dist', 'cli', 'main.js');

const { values: args } = parseArgs({
  options: {
    channels: { type: 'string', default: '64' },
    backlog: { type: 'string', default: '5' },
    interval: { type: 'string', default: '2' },
    warm: { type: 'string', default: '16' },
    outage: { type: 'string', default: '20' },
    after: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
    login: { type: 'boolean', default: false },
  },
});
const CHANNELS = Number(args.channels);
const INTERVAL_S = Number(args.interval);
const PROBE_TIMEOUT_S = 3;
const TARGET_MIB = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;

/** VmRSS and VmHWM (peak) of a process, in KiB. */
function memory(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return null;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : NaN;
};

/** A bare node process: what any node program costs on this machine (the baseline). */
async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await sleep(1000);
  const m = memory(child.pid!);
  child.kill();
  await once(child, 'exit');
  return m?.rss ?? NaN;
}

interface Arrival {
  at: number;
  reportTime: number;
}

/** The platform: answers 200 and notes when each report arrived; can go away and come back. */
function receiver(port: number) {
  const arrivals: Arrival[] = [];
  let server: Server | null = null;
  return {
    arrivals,
    async start(): Promise<number> {
      server = createServer((req, res) => {
        if (req.method === 'GET' && req.url?.startsWith('/login?')) {
          const answer = { token: 'bench', deviceMonitorAddr: '/DeviceStatus', deviceMonitorPeriod: Math.max(1, Math.round(INTERVAL_S)) };
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
          return;
        }
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { report_time: string };
          arrivals.push({ at: Date.now(), reportTime: Date.parse(body.report_time) });
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":0,"message":"ok"}');
        });
      });
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
      // Comes back at the same address.
      port = (server.address() as { port: number }).port;
      return port;
    },
    async stop(): Promise<void> {
      if (!server) return;
      const s = server;
      server = null;
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    },
  };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'devstatus-bench-agent-'));
  const baseline = await bareNodeRss();
  const nvr = await startRtspServer('digest', { channels: CHANNELS, backlog: Number(args.backlog) });
  const platform = receiver(0);
  const port = await platform.start();
  const config = {
    dev_sno: 'BENCH0001',
    ...(args.login
      ? { login_url: `http://127.0.0.1:${port}/login`, mac: '02:00:00:00:be:01' }
      : { report_url: `http://127.0.0.1:${port}/DeviceStatus` }),
    interval_s: INTERVAL_S,
    probe_timeout_s: PROBE_TIMEOUT_S,
    include_report_time: true,
    queue: { dir: join(dir, 'queue') },
    sub_devices: Array.from({ length: CHANNELS }, (_, i) => ({
      type: 'rtsp',
      url: nvr.url(`/ch${i + 1}`),
      ep_location: '95274d2c-0941-4d96-b032-ab200f81362c',
      ep_name: `NVR channel ${i + 1}`,
    })),
  };
  writeFileSync(join(dir, 'agent.json'), JSON.stringify(config));

  let agent: ChildProcess | null = null;
  try {
    agent = spawn(process.execPath, [CLI, 'agent', '--config', join(dir, 'agent.json'), '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    agent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    agent.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const pid = agent.pid!;
    const samples: Array<{ t: number; rss: number }> = [];
    let peak = 0;
    const sampler = setInterval(() => {
      const m = memory(pid);
      if (!m) return;
      samples.push({ t: Date.now(), rss: m.rss });
      peak = Math.max(peak, m.hwm);
    }, 100);

    const phase = (label: string) => ({ label, from: Date.now(), to: 0 });
    const warm = phase('before the outage');
    await sleep(Number(args.warm) * 1000);
    warm.to = Date.now();
    await platform.stop();
    const outageFrom = Date.now();
    await sleep(Number(args.outage) * 1000);
    const backAt = Date.now();
    await platform.start();
    // Reports built during the outage: the first to arrive after the platform is back is the drain.
    const deadline = Date.now() + 90_000;
    while (!platform.arrivals.some((a) => a.at >= backAt) && Date.now() < deadline) await sleep(20);
    const drainDelay = (platform.arrivals.find((a) => a.at >= backAt)?.at ?? NaN) - backAt;
    while (!platform.arrivals.some((a) => a.at >= backAt && a.reportTime >= backAt) && Date.now() < deadline) await sleep(20);
    const drainedAt = platform.arrivals.find((a) => a.reportTime >= backAt)?.at ?? NaN;
    const after = phase('after the drain');
    await sleep(Number(args.after) * 1000);
    after.to = Date.now();
    clearInterval(sampler);
    const final = memory(pid);
    if (final) peak = Math.max(peak, final.hwm);

    const stopAt = Date.now();
    agent.kill('SIGTERM');
    await once(agent, 'exit');
    const stopMs = Date.now() - stopAt;

    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const rounds = lines.filter((l) => typeof l.round_ms === 'number');
    const roundMs = rounds.map((l) => Number(l.round_ms));
    const falseOffline = rounds.reduce((n, l) => n + Number(l.offline), 0);
    const queuedLines = lines.filter((l) => l.msg === 'report queued');
    const maxQueued = queuedLines.reduce((m, l) => Math.max(m, Number(l.queued)), 0);
    const maxQueueBytes = queuedLines.reduce((m, l) => Math.max(m, Number(l.queue_bytes)), 0);
    const steady = (p: { from: number; to: number }) => median(samples.filter((s) => s.t >= p.from + (p.to - p.from) / 2 && s.t <= p.to).map((s) => s.rss));
    const inOrder = platform.arrivals.every((a, i, all) => i === 0 || all[i - 1]!.reportTime < a.reportTime);
    const result = {
      channels: CHANNELS,
      backlog: Number(args.backlog),
      rounds: roundMs.length,
      round_ms: { median: median(roundMs), p95: quantile(roundMs, 0.95), max: Math.max(...roundMs) },
      round_limit_ms: PROBE_TIMEOUT_S * 1000,
      round_to_limit: { median: median(roundMs) / (PROBE_TIMEOUT_S * 1000), max: Math.max(...roundMs) / (PROBE_TIMEOUT_S * 1000) },
      false_offline: falseOffline,
      rss_mib: {
        bare_node: mib(baseline),
        peak: mib(peak),
        steady_before_outage: mib(steady(warm)),
        steady_after_drain: mib(steady(after)),
        peak_to_target: Math.round((mib(peak) / TARGET_MIB) * 100) / 100,
        peak_to_bare_node: Math.round((peak / baseline) * 100) / 100,
      },
      queue: { max_reports: maxQueued, max_bytes: maxQueueBytes, bytes_per_report: maxQueued ? Math.round(maxQueueBytes / maxQueued) : null },
      outage_s: Math.round((backAt - outageFrom) / 100) / 10,
      drain_delay_ms: drainDelay,
      drain_delay_to_interval: Math.round((drainDelay / (INTERVAL_S * 1000)) * 100) / 100,
      drained_ms: drainedAt - backAt,
      reports_received: platform.arrivals.length,
      received_in_order: inOrder,
      stop_ms: stopMs,
    };
    if (process.env.BENCH_AGENT_LOG) writeFileSync(process.env.BENCH_AGENT_LOG, out);
    if (args.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const r = result;
    process.stdout.write(
      [
        `devstatus agent: ${CHANNELS} RTSP channels behind one GStreamer RTSP server (listen backlog ${r.backlog}), interval ${INTERVAL_S} s`,
        `  rounds ${r.rounds}: median ${r.round_ms.median} ms, p95 ${r.round_ms.p95} ms, max ${r.round_ms.max} ms; ` +
          `round / limit (${r.round_limit_ms} ms): median ${r.round_to_limit.median.toFixed(2)}, max ${r.round_to_limit.max.toFixed(2)}`,
        `  channels reported offline (all are up): ${r.false_offline}`,
        `  RSS: peak ${r.rss_mib.peak} MiB (target ${TARGET_MIB} MiB: ${r.rss_mib.peak_to_target}x), steady ${r.rss_mib.steady_before_outage} MiB before the outage, ` +
          `${r.rss_mib.steady_after_drain} MiB after the drain; a bare node process: ${r.rss_mib.bare_node} MiB (peak ${r.rss_mib.peak_to_bare_node}x)`,
        `  queue during a ${r.outage_s} s outage: up to ${r.queue.max_reports} reports, ${r.queue.max_bytes} bytes (${r.queue.bytes_per_report} bytes per report)`,
        `  drain: first queued report ${r.drain_delay_ms} ms after the platform was back (${r.drain_delay_to_interval} intervals); ` +
          `queue empty after ${r.drained_ms} ms; ${r.reports_received} reports received, ${r.received_in_order ? 'in order' : 'OUT OF ORDER'}`,
        `  SIGTERM to exit: ${r.stop_ms} ms`,
      ].join('\n') + '\n',
    );
  } finally {
    if (agent && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    await platform.stop();
    await nvr.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
