// Drives a simulated fleet against a receiver: every box reports on its own jittered clock,
// sub-devices flap, boxes go silent for a while and come back. HTTP keep-alive, a cap on
// requests in flight, and latency kept in an HDR histogram.
import http from 'node:http';
import https from 'node:https';
import * as hdr from 'hdr-histogram-js';
import { toWire, type EpStatus } from '../protocol/index.js';
import { buildFleet, createRng, reportFor, type Rng, type SimBox } from './fleet.js';

export interface SimulationOptions {
  url: string;
  boxes: number;
  subDevices: number;
  /** Seconds between two reports of one box (each box jitters it by ±10%). */
  intervalS: number;
  seed: number;
  /** Chance that a sub-device changes status in a report. */
  flap: number;
  /** Chance, at each of its report times, that a box goes silent. */
  silence: number;
  /** Mean length of a silence, in seconds (each lasts 0.5x to 1.5x this). */
  silenceForS: number;
  /** Stop after this many seconds. */
  durationS?: number;
  /** Stop after this many reports have been sent. */
  maxReports?: number;
  /** Most requests in flight at once. */
  concurrency: number;
  timeoutS: number;
}

export type StopReason = 'duration' | 'reports' | 'signal' | 'stopped';

export interface BoxTally {
  dev_sno: string;
  sent: number;
  ok: number;
  silences: number;
  /** Reports sent right after a silence (the box came back). */
  resumed: number;
  /** Sub-device status changes this box sent. */
  flaps: number;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface SimulationSummary {
  url: string;
  boxes: number;
  sub_devices_per_box: number;
  interval_s: number;
  seed: number;
  elapsed_s: number;
  stopped_by: StopReason;
  /** Reports whose request went out (= ok + errors once the run is over). */
  sent: number;
  ok: number;
  errors: { total: number; by_kind: Record<string, number> };
  /** Report times skipped because the box's previous report was still waiting or in flight. */
  skipped: number;
  /** Sub-device status changes sent. */
  flaps: number;
  /** Times a box went silent. */
  silences: number;
  latency_ms: LatencySummary;
  reports_per_s: number;
}

export interface Progress {
  elapsed_s: number;
  sent: number;
  in_flight: number;
  ok: number;
  errors: number;
  silent_now: number;
  latency_ms: { p50: number; p99: number };
}

interface BoxState {
  box: SimBox;
  statuses: EpStatus[];
  /** Statuses of the last report sent, to count the changes a report carries. */
  lastSent: EpStatus[] | null;
  silentUntil: number;
  wasSilent: boolean;
  busy: boolean;
  checked: boolean;
  timer?: NodeJS.Timeout;
  tally: BoxTally;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export class Simulation {
  readonly fleet: SimBox[];
  private readonly boxes: BoxState[];
  private readonly rng: Rng;
  private readonly agent: http.Agent;
  private readonly target: URL;
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
  private readonly queue: BoxState[] = [];
  private readonly errorKinds: Record<string, number> = {};
  private inFlight = 0;
  private sent = 0;
  private ok = 0;
  private errors = 0;
  private skipped = 0;
  private flaps = 0;
  private silences = 0;
  private startedAt = 0;
  private stoppedAt = 0;
  private stopReason: StopReason | null = null;
  private stopTimer?: NodeJS.Timeout;
  private resolveDone!: (s: SimulationSummary) => void;
  /** Resolves with the summary once the run has stopped and every request has finished. */
  readonly done: Promise<SimulationSummary>;

  constructor(readonly opts: SimulationOptions) {
    this.target = new URL(opts.url);
    if (this.target.protocol !== 'http:' && this.target.protocol !== 'https:') {
      throw new Error(`--url must be an http:// or https:// URL, got ${opts.url}`);
    }
    const Agent = this.target.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
    this.rng = createRng(opts.seed);
    this.fleet = buildFleet({ boxes: opts.boxes, subDevices: opts.subDevices, seed: opts.seed });
    this.boxes = this.fleet.map((box) => ({
      box,
      // Most sub-devices start online; a few are already down when the run begins.
      statuses: box.subDevices.map(() => (this.rng() < 0.05 ? 'offline' : 'online')),
      lastSent: null,
      silentUntil: 0,
      wasSilent: false,
      busy: false,
      checked: false,
      tally: { dev_sno: box.dev_sno, sent: 0, ok: 0, silences: 0, resumed: 0, flaps: 0 },
    }));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  start(): this {
    this.startedAt = performance.now();
    const intervalMs = this.opts.intervalS * 1000;
    // Spread the first reports over one interval so the fleet does not fire in lockstep.
    for (const b of this.boxes) b.timer = setTimeout(() => this.tick(b), this.rng() * intervalMs);
    if (this.opts.durationS !== undefined) {
      this.stopTimer = setTimeout(() => this.stop('duration'), this.opts.durationS * 1000);
    }
    return this;
  }

  /** Stops sending; reports already in flight are waited for. */
  stop(reason: StopReason = 'stopped'): Promise<SimulationSummary> {
    if (this.stopReason) return this.done;
    this.stopReason = reason;
    this.stoppedAt = performance.now();
    clearTimeout(this.stopTimer);
    for (const b of this.boxes) clearTimeout(b.timer);
    // Queued reports never left: they are not counted as sent.
    for (const b of this.queue.splice(0)) b.busy = false;
    this.maybeFinish();
    return this.done;
  }

  tallies(): BoxTally[] {
    return this.boxes.map((b) => ({ ...b.tally }));
  }

  progress(): Progress {
    const now = Date.now();
    return {
      elapsed_s: round(((this.stopReason ? this.stoppedAt : performance.now()) - this.startedAt) / 1000, 1),
      sent: this.sent,
      in_flight: this.inFlight,
      ok: this.ok,
      errors: this.errors,
      silent_now: this.boxes.filter((b) => b.silentUntil > now).length,
      latency_ms: { p50: this.percentileMs(50), p99: this.percentileMs(99) },
    };
  }

  summary(): SimulationSummary {
    const end = this.stopReason ? this.stoppedAt : performance.now();
    const elapsed = (end - this.startedAt) / 1000;
    return {
      url: this.opts.url,
      boxes: this.opts.boxes,
      sub_devices_per_box: this.opts.subDevices,
      interval_s: this.opts.intervalS,
      seed: this.opts.seed,
      elapsed_s: round(elapsed),
      stopped_by: this.stopReason ?? 'stopped',
      sent: this.sent,
      ok: this.ok,
      errors: { total: this.errors, by_kind: { ...this.errorKinds } },
      skipped: this.skipped,
      flaps: this.flaps,
      silences: this.silences,
      latency_ms: {
        p50: this.percentileMs(50),
        p95: this.percentileMs(95),
        p99: this.percentileMs(99),
        max: this.histogram.totalCount ? round(this.histogram.maxValue / 1000, 3) : 0,
        mean: this.histogram.totalCount ? round(this.histogram.mean / 1000, 3) : 0,
      },
      reports_per_s: elapsed > 0 ? round((this.ok + this.errors) / elapsed, 1) : 0,
    };
  }

  private percentileMs(p: number): number {
    return this.histogram.totalCount ? round(this.histogram.getValueAtPercentile(p) / 1000, 3) : 0;
  }

  private tick(b: BoxState): void {
    if (this.stopReason) return;
    const intervalMs = this.opts.intervalS * 1000;
    b.timer = setTimeout(() => this.tick(b), intervalMs * (0.9 + 0.2 * this.rng()));
    const now = Date.now();
    if (b.silentUntil > now) return;
    if (this.opts.silence > 0 && this.rng() < this.opts.silence) {
      b.silentUntil = now + this.opts.silenceForS * 1000 * (0.5 + this.rng());
      b.wasSilent = true;
      b.tally.silences++;
      this.silences++;
      return;
    }
    if (b.busy) {
      this.skipped++;
      return;
    }
    for (let j = 0; j < b.statuses.length; j++) {
      if (this.opts.flap > 0 && this.rng() < this.opts.flap) b.statuses[j] = b.statuses[j] === 'online' ? 'offline' : 'online';
    }
    b.busy = true;
    if (this.inFlight < this.opts.concurrency) this.send(b);
    else this.queue.push(b);
  }

  private send(b: BoxState): void {
    if (this.opts.maxReports !== undefined && this.sent >= this.opts.maxReports) {
      b.busy = false;
      void this.stop('reports');
      return;
    }
    // The first report of every box goes through the protocol's own validation.
    const report = reportFor(b.box, b.statuses, !b.checked);
    b.checked = true;
    if (b.lastSent) {
      const changes = b.statuses.filter((st, j) => st !== b.lastSent![j]).length;
      b.tally.flaps += changes;
      this.flaps += changes;
    }
    b.lastSent = [...b.statuses];
    if (b.wasSilent) {
      b.wasSilent = false;
      b.tally.resumed++;
    }
    const body = JSON.stringify(toWire(report));
    this.sent++;
    b.tally.sent++;
    this.inFlight++;
    if (this.opts.maxReports !== undefined && this.sent >= this.opts.maxReports) void this.stop('reports');
    const started = performance.now();
    const client = this.target.protocol === 'https:' ? https : http;
    let settled = false;
    const finish = (error: string | null) => {
      if (settled) return;
      settled = true;
      this.inFlight--;
      b.busy = false;
      this.histogram.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
      if (error === null) {
        this.ok++;
        b.tally.ok++;
      } else {
        this.errors++;
        this.errorKinds[error] = (this.errorKinds[error] ?? 0) + 1;
      }
      this.next();
      this.maybeFinish();
    };
    const req = client.request(this.target, {
      method: 'POST',
      agent: this.agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.setTimeout(this.opts.timeoutS * 1000, () => {
      finish('timeout');
      req.destroy();
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode === 200 ? null : `http ${res.statusCode}`));
      res.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? 'network'));
    });
    req.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? 'network'));
    req.end(body);
  }

  private next(): void {
    while (!this.stopReason && this.inFlight < this.opts.concurrency && this.queue.length) this.send(this.queue.shift()!);
  }

  private maybeFinish(): void {
    if (!this.stopReason || this.inFlight > 0) return;
    this.agent.destroy();
    this.resolveDone(this.summary());
  }
}

export async function simulate(opts: SimulationOptions): Promise<SimulationSummary> {
  return new Simulation(opts).start().done;
}
