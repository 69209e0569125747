// Drives a simulated fleet against a receiver: every box reports on its own jittered clock,
// sub-devices flap (and mostly come back), boxes go silent for a while and come back. Like real
// boxes, a report that did not get through stays queued and is sent again, oldest first; with
// a login URL each box first asks the platform where and how often to report. HTTP keep-alive,
// a cap on requests in flight, and latency kept in an HDR histogram.
import http from 'node:http';
import https from 'node:https';
import * as hdr from 'hdr-histogram-js';
import { SIM_DEFAULTS, type SIM_DIALECTS } from '../defaults.js';
import { toDialectWire, toWire, type EpStatus } from '../protocol/index.js';
import { flapRates, healthOf, initialHealth, nextHealth, offlineReason, stepStatuses, type FlapRates, type HealthState } from './behaviour.js';
import { buildFleet, createRng, reportFor, richReportFor, type Rng, type SimBox } from './fleet.js';
import { login, LoginError } from './login.js';

/** Report dialects the simulator sends (the older one is only ever received). */
export type SimDialect = (typeof SIM_DIALECTS)[number];

export interface SimulationOptions {
  url: string;
  boxes: number;
  subDevices: number;
  /** Seconds between two reports of one box (each box jitters it by ±10%). */
  intervalS: number;
  seed: number;
  /** Chance that a sub-device changes status in a report (on average over the fleet). */
  flap: number;
  /** Share of sub-devices offline in the long run (default 0.05): failed cameras mostly come back. */
  offlineShare?: number;
  /** 'rich' sends the richer dialect: box health and identity, stream addresses, offline reasons. */
  dialect?: SimDialect;
  /** Log in here first (GET ?dev_sno=&hex_mac=) and report where and as often as the answer says. */
  loginUrl?: string;
  /** Reports a box keeps for resending at most; the oldest is dropped beyond that. */
  queueMax?: number;
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
  /** Reports the box made (each is sent until it gets through, or dropped). */
  reports: number;
  /** Reports still queued for sending when the run stopped. */
  pending: number;
  /** Reports given up: refused for good (4xx) or pushed out of a full queue. */
  dropped: number;
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
  dialect: SimDialect;
  /** Requests that went out (= ok + errors once the run is over), resends included. */
  sent: number;
  ok: number;
  errors: { total: number; by_kind: Record<string, number> };
  /** Report times skipped because the box's previous report was still waiting or in flight. */
  skipped: number;
  /** Sub-device status changes sent. */
  flaps: number;
  /** Times a box went silent. */
  silences: number;
  /** Requests that sent a report again after it failed. */
  resent: number;
  /** Reports still queued for sending when the run stopped. */
  pending: number;
  /** Reports given up: refused for good (4xx) or pushed out of a full queue. */
  dropped: number;
  /** With a login URL: logins that got an answer, and failed tries by kind. */
  logins: { ok: number; errors: { total: number; by_kind: Record<string, number> } };
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
  /** Reports queued for sending again. */
  pending: number;
}

interface PendingReport {
  body: string;
  attempts: number;
}

interface BoxState {
  box: SimBox;
  statuses: EpStatus[];
  /** Why each sub-device is offline (richer dialect). */
  details: Array<string | undefined>;
  health?: HealthState;
  silentUntil: number;
  wasSilent: boolean;
  /** A request of this box is in flight or waiting for a free slot. */
  busy: boolean;
  checked: boolean;
  timer?: NodeJS.Timeout;
  /** Reports not yet through, oldest first. */
  pending: PendingReport[];
  /** Where the box reports: null until its login is answered. */
  target: URL | null;
  intervalMs: number;
  tally: BoxTally;
}

/** Failures a real box tries again: the receiver was away, busy or broken, not the report. */
function isRetryable(kind: string): boolean {
  const status = /^http (\d+)$/.exec(kind);
  if (!status) return true;
  const code = Number(status[1]);
  return code >= 500 || code === 408 || code === 429;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export class Simulation {
  readonly fleet: SimBox[];
  private readonly boxes: BoxState[];
  private readonly rng: Rng;
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly target: URL | null;
  private readonly rates: FlapRates;
  private readonly dialect: SimDialect;
  private readonly queueMax: number;
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
  private readonly queue: BoxState[] = [];
  private readonly errorKinds: Record<string, number> = {};
  private readonly loginErrorKinds: Record<string, number> = {};
  private inFlight = 0;
  private loginsInFlight = 0;
  private sent = 0;
  private ok = 0;
  private errors = 0;
  private skipped = 0;
  private flaps = 0;
  private silences = 0;
  private resent = 0;
  private dropped = 0;
  private logins = 0;
  private loginErrors = 0;
  private startedAt = 0;
  private stoppedAt = 0;
  private stopReason: StopReason | null = null;
  private stopTimer?: NodeJS.Timeout;
  private resolveDone!: (s: SimulationSummary) => void;
  /** Resolves with the summary once the run has stopped and every request has finished. */
  readonly done: Promise<SimulationSummary>;

  constructor(readonly opts: SimulationOptions) {
    const checkUrl = (flag: string, value: string) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw new Error(`${flag} must be an http:// or https:// URL, got ${value}`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${flag} must be an http:// or https:// URL, got ${value}`);
      return url;
    };
    if (opts.loginUrl !== undefined) checkUrl('--login-url', opts.loginUrl);
    this.target = opts.loginUrl === undefined ? checkUrl('--url', opts.url) : null;
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: opts.concurrency }),
      https: new https.Agent({ keepAlive: true, maxSockets: opts.concurrency }),
    };
    this.rng = createRng(opts.seed);
    this.dialect = opts.dialect ?? SIM_DEFAULTS.dialect;
    this.queueMax = opts.queueMax ?? SIM_DEFAULTS.queueMax;
    const offlineShare = opts.offlineShare ?? SIM_DEFAULTS.offlineShare;
    this.rates = flapRates(opts.flap, offlineShare);
    this.fleet = buildFleet({ boxes: opts.boxes, subDevices: opts.subDevices, seed: opts.seed });
    this.boxes = this.fleet.map((box) => {
      // The run starts in the steady state: about offlineShare of the sub-devices are down.
      const statuses: EpStatus[] = box.subDevices.map(() => (this.rng() < offlineShare ? 'offline' : 'online'));
      return {
        box,
        statuses,
        details: box.subDevices.map((sub, j) => (statuses[j] === 'offline' ? offlineReason(sub.ep_type, this.rng) : undefined)),
        ...(this.dialect === 'rich' ? { health: initialHealth(this.rng, box.mac) } : {}),
        silentUntil: 0,
        wasSilent: false,
        busy: false,
        checked: false,
        pending: [],
        target: this.target,
        intervalMs: opts.intervalS * 1000,
        tally: { dev_sno: box.dev_sno, sent: 0, ok: 0, silences: 0, resumed: 0, flaps: 0, reports: 0, pending: 0, dropped: 0 },
      };
    });
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  start(): this {
    this.startedAt = performance.now();
    const intervalMs = this.opts.intervalS * 1000;
    // Spread the first reports (or logins) over one interval so the fleet does not fire in lockstep.
    for (const b of this.boxes) {
      const first = this.rng() * intervalMs;
      b.timer = setTimeout(() => (this.opts.loginUrl === undefined ? this.tick(b) : this.login(b)), first);
    }
    if (this.opts.durationS !== undefined) {
      this.stopTimer = setTimeout(() => this.stop('duration'), this.opts.durationS * 1000);
    }
    return this;
  }

  /** Stops sending; requests already in flight are waited for. */
  stop(reason: StopReason = 'stopped'): Promise<SimulationSummary> {
    if (this.stopReason) return this.done;
    this.stopReason = reason;
    this.stoppedAt = performance.now();
    clearTimeout(this.stopTimer);
    for (const b of this.boxes) clearTimeout(b.timer);
    // Requests still waiting for a slot never left: they are not counted as sent.
    for (const b of this.queue.splice(0)) b.busy = false;
    this.maybeFinish();
    return this.done;
  }

  tallies(): BoxTally[] {
    return this.boxes.map((b) => ({ ...b.tally, pending: b.pending.length }));
  }

  /** Reports waiting to be sent (again), over the whole fleet. */
  pendingReports(): number {
    let n = 0;
    for (const b of this.boxes) n += b.pending.length;
    return n;
  }

  /** Where each box reports and how often (after its login, if any). */
  targets(): Array<{ dev_sno: string; url: string | null; interval_s: number }> {
    return this.boxes.map((b) => ({ dev_sno: b.box.dev_sno, url: b.target?.href ?? null, interval_s: b.intervalMs / 1000 }));
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
      pending: this.pendingReports(),
    };
  }

  summary(): SimulationSummary {
    const end = this.stopReason ? this.stoppedAt : performance.now();
    const elapsed = (end - this.startedAt) / 1000;
    return {
      url: this.opts.loginUrl ?? this.opts.url,
      boxes: this.opts.boxes,
      sub_devices_per_box: this.opts.subDevices,
      interval_s: this.opts.intervalS,
      seed: this.opts.seed,
      elapsed_s: round(elapsed),
      stopped_by: this.stopReason ?? 'stopped',
      dialect: this.dialect,
      sent: this.sent,
      ok: this.ok,
      errors: { total: this.errors, by_kind: { ...this.errorKinds } },
      skipped: this.skipped,
      flaps: this.flaps,
      silences: this.silences,
      resent: this.resent,
      pending: this.pendingReports(),
      dropped: this.dropped,
      logins: { ok: this.logins, errors: { total: this.loginErrors, by_kind: { ...this.loginErrorKinds } } },
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

  private login(b: BoxState): void {
    if (this.stopReason) return;
    this.loginsInFlight++;
    login(this.opts.loginUrl!, b.box.dev_sno, b.box.mac, { timeoutMs: this.opts.timeoutS * 1000 })
      .then(
        (answer) => {
          this.logins++;
          b.target = new URL(answer.reportUrl);
          b.intervalMs = answer.reportPeriodS * 1000;
          // The first report goes right after the login; the period applies from then on.
          if (!this.stopReason) b.timer = setTimeout(() => this.tick(b), this.rng() * Math.min(b.intervalMs, 200));
        },
        (e: unknown) => {
          const kind = e instanceof LoginError ? e.kind : 'network';
          this.loginErrors++;
          this.loginErrorKinds[kind] = (this.loginErrorKinds[kind] ?? 0) + 1;
          // Try again one interval later, as a box does.
          if (!this.stopReason) b.timer = setTimeout(() => this.login(b), this.opts.intervalS * 1000 * (0.9 + 0.2 * this.rng()));
        },
      )
      .finally(() => {
        this.loginsInFlight--;
        this.maybeFinish();
      });
  }

  private tick(b: BoxState): void {
    if (this.stopReason) return;
    b.timer = setTimeout(() => this.tick(b), b.intervalMs * (0.9 + 0.2 * this.rng()));
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
    this.makeReport(b);
    b.busy = true;
    this.dispatch(b);
  }

  /** The box's next report, queued behind any that have not got through yet. */
  private makeReport(b: BoxState): void {
    const before = [...b.statuses];
    const changes = stepStatuses(b.statuses, this.rates, this.rng);
    for (let j = 0; j < b.statuses.length; j++) {
      if (b.statuses[j] === before[j]) continue;
      b.details[j] = b.statuses[j] === 'offline' ? offlineReason(b.box.subDevices[j]!.ep_type, this.rng) : undefined;
    }
    // The first report of a box is all first sightings; its changes are not status changes.
    if (b.tally.reports > 0) {
      b.tally.flaps += changes;
      this.flaps += changes;
    }
    if (b.wasSilent) {
      b.wasSilent = false;
      b.tally.resumed++;
    }
    // The first report of every box goes through the protocol's own validation.
    let body: string;
    if (b.health) {
      nextHealth(b.health, this.rng);
      body = JSON.stringify(toDialectWire(richReportFor(b.box, b.statuses, healthOf(b.health), b.details, !b.checked)));
    } else body = JSON.stringify(toWire(reportFor(b.box, b.statuses, !b.checked)));
    b.checked = true;
    b.tally.reports++;
    b.pending.push({ body, attempts: 0 });
    if (b.pending.length > this.queueMax) {
      b.pending.shift();
      b.tally.dropped++;
      this.dropped++;
    }
  }

  private dispatch(b: BoxState): void {
    if (this.inFlight < this.opts.concurrency) this.send(b);
    else this.queue.push(b);
  }

  private send(b: BoxState): void {
    if (this.opts.maxReports !== undefined && this.sent >= this.opts.maxReports) {
      b.busy = false;
      void this.stop('reports');
      return;
    }
    const report = b.pending[0];
    const target = b.target;
    if (!report || !target) {
      b.busy = false;
      return;
    }
    if (report.attempts > 0) this.resent++;
    report.attempts++;
    const body = report.body;
    this.sent++;
    b.tally.sent++;
    this.inFlight++;
    if (this.opts.maxReports !== undefined && this.sent >= this.opts.maxReports) void this.stop('reports');
    const started = performance.now();
    const client = target.protocol === 'https:' ? https : http;
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
        b.pending.shift();
      } else {
        this.errors++;
        this.errorKinds[error] = (this.errorKinds[error] ?? 0) + 1;
        if (!isRetryable(error)) {
          // Sending it again would be refused again: the box moves on.
          b.pending.shift();
          b.tally.dropped++;
          this.dropped++;
        }
      }
      // A box that got through sends what it still holds right away, oldest first; after a
      // failure it waits for its next report time.
      if (error === null && b.pending.length && !this.stopReason) {
        b.busy = true;
        this.dispatch(b);
      }
      this.next();
      this.maybeFinish();
    };
    const req = client.request(target, {
      method: 'POST',
      agent: target.protocol === 'https:' ? this.agents.https : this.agents.http,
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
    if (!this.stopReason || this.inFlight > 0 || this.loginsInFlight > 0) return;
    this.agents.http.destroy();
    this.agents.https.destroy();
    this.resolveDone(this.summary());
  }
}

export async function simulate(opts: SimulationOptions): Promise<SimulationSummary> {
  return new Simulation(opts).start().done;
}
