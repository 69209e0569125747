// Keep-alive load generator for the ingest bench: N sockets, one request on the wire per socket,
// each request the next box's report from the BenchFleet. Hand-written on node:net rather than
// autocannon because it must build a different body per request for 100,000 boxes, know which
// box each answer belongs to (the loss check needs every box's last acknowledged state), and end
// a round by letting what is on the wire finish instead of cutting it off: then "acknowledged"
// is an exact number, not one give or take a request per connection.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { BenchFleet, Scenario } from './fleet-bodies.js';

export interface LoadOptions {
  fleet: BenchFleet;
  /** http://127.0.0.1:port of each receiver; connection c and box i go to receiver c % n and i % n. */
  urls: string[];
  path: string;
  connections: number;
  scenario: Scenario;
  /** rest: the share of reports that flip a sub-device. */
  flip: number;
  /** Seconds to send for (with fillOnly: the most to wait for the fill, 0 = no limit). */
  seconds: number;
  /** Send every box's first report once, then stop. */
  fillOnly?: boolean;
  /** Called about once a second with the reports answered so far (for progress lines). */
  onProgress?: (answered: number, elapsedS: number) => void;
}

export interface LoadResult {
  ok: number;
  failed: number;
  firstFailure?: string;
  elapsedS: number;
  reportsPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU the generator itself used, as a share of one core: near 1 means it may be the bottleneck. */
  generatorBusy: number;
}

const CRLF2 = Buffer.from('\r\n\r\n');

class Connection {
  private socket: Socket;
  private pending: Buffer | null = null;
  private box = -1;
  private mask = 0;
  private sentAt = 0;
  closed = false;

  constructor(
    private readonly run: Run,
    private readonly host: string,
    private readonly port: number,
    /** Which receiver this connection goes to: its boxes are that receiver's. */
    private readonly lane: number,
  ) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('connect', () => this.sendNext());
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (e) => this.fail(`socket error: ${e.message}`));
    this.socket.on('close', () => {
      if (this.box >= 0) this.fail('connection closed with a request on the wire');
      this.closed = true;
      this.run.connectionDone();
    });
  }

  private sendNext(): void {
    const i = this.run.nextBox(this.lane);
    if (i < 0) {
      this.socket.end();
      return;
    }
    const fleet = this.run.opts.fleet;
    this.box = i;
    this.mask = fleet.nextMask[i]!;
    const body = fleet.body(i, this.mask);
    this.sentAt = performance.now();
    this.socket.write(
      `POST ${this.run.opts.path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\ncontent-type: application/json\r\n` +
        `content-length: ${fleet.bodyBytes(i, this.mask)}\r\n\r\n${body}`,
    );
  }

  private onData(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const headEnd = buf.indexOf(CRLF2);
    if (headEnd < 0) {
      this.pending = buf;
      return;
    }
    const head = buf.toString('latin1', 0, headEnd);
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!m) {
      this.fail(`answer without content-length: ${head.split('\r\n')[0]}`);
      return;
    }
    const end = headEnd + 4 + Number(m[1]);
    if (buf.length < end) {
      this.pending = buf;
      return;
    }
    if (buf.length > end) {
      this.fail('more bytes than one answer (the bench never pipelines)');
      return;
    }
    this.pending = null;
    const status = Number(head.slice(9, 12));
    const box = this.box;
    this.box = -1;
    if (status >= 200 && status < 300) {
      this.run.answered(box, this.mask, performance.now() - this.sentAt);
    } else {
      this.run.opts.fleet.failed(box);
      this.run.failure(`HTTP ${status}: ${buf.toString('utf8', headEnd + 4, Math.min(end, headEnd + 300))}`);
    }
    this.sendNext();
  }

  private fail(reason: string): void {
    if (this.box >= 0) this.run.opts.fleet.failed(this.box);
    this.box = -1;
    this.run.failure(reason);
    this.socket.destroy();
  }
}

class Run {
  private latencies = new Float64Array(1 << 16);
  private count = 0;
  failed = 0;
  firstFailure: string | undefined;
  private open: number;
  private stopping = false;
  /** Answers that came before the round's time was up: the rate is these over the round's length. */
  private inWindow = 0;
  private stoppedAt = 0;
  private lastAnswerAt = 0;
  readonly startedAt = performance.now();
  private resolveDone!: () => void;
  readonly done = new Promise<void>((r) => (this.resolveDone = r));

  constructor(readonly opts: LoadOptions) {
    this.open = opts.connections;
  }

  nextBox(lane: number): number {
    if (this.stopping) return -1;
    return this.opts.fleet.next(this.opts.scenario, this.opts.flip, this.opts.fillOnly ?? false, lane, this.opts.urls.length);
  }

  answered(box: number, mask: number, ms: number): void {
    this.opts.fleet.acknowledged(box, mask);
    if (!this.stopping) this.inWindow++;
    if (this.count === this.latencies.length) {
      const grown = new Float64Array(this.latencies.length * 2);
      grown.set(this.latencies);
      this.latencies = grown;
    }
    this.latencies[this.count++] = ms;
    this.lastAnswerAt = performance.now();
  }

  failure(reason: string): void {
    this.failed++;
    this.firstFailure ??= reason;
  }

  stop(): void {
    this.stopping = true;
    this.stoppedAt = performance.now();
  }

  connectionDone(): void {
    if (--this.open === 0) this.resolveDone();
  }

  result(cpuMicros: number): LoadResult {
    const lat = this.latencies.subarray(0, this.count).sort();
    const pct = (p: number) => (this.count ? lat[Math.min(this.count - 1, Math.floor((p / 100) * this.count))]! : 0);
    const elapsedS = ((this.lastAnswerAt || performance.now()) - this.startedAt) / 1000;
    return {
      ok: this.count,
      failed: this.failed,
      firstFailure: this.firstFailure,
      elapsedS,
      // A timed round: answers within its time over its time (the drain after it would understate
      // a slow server's rate). A fill: everything over the time it took.
      reportsPerS: this.stoppedAt
        ? this.inWindow / ((this.stoppedAt - this.startedAt) / 1000)
        : elapsedS > 0
          ? this.count / elapsedS
          : 0,
      p50Ms: pct(50),
      p99Ms: pct(99),
      maxMs: this.count ? lat[this.count - 1]! : 0,
      generatorBusy: elapsedS > 0 ? cpuMicros / 1e6 / elapsedS : 0,
    };
  }

  get answeredCount(): number {
    return this.count;
  }
}

/** Runs the load until `seconds` pass (or every box sent once with fillOnly) and what is on the wire is answered. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  if (opts.fleet.size < opts.connections * 2) {
    throw new Error(`the fleet (${opts.fleet.size} boxes) must be at least twice the connections (${opts.connections})`);
  }
  const cpuBefore = process.cpuUsage();
  const run = new Run(opts);
  const targets = opts.urls.map((u) => new URL(u));
  for (let c = 0; c < opts.connections; c++) {
    const t = targets[c % targets.length]!;
    new Connection(run, t.hostname, Number(t.port), c % targets.length);
  }
  const timers: NodeJS.Timeout[] = [];
  if (!opts.fillOnly || opts.seconds > 0) timers.push(setTimeout(() => run.stop(), opts.seconds * 1000));
  if (opts.onProgress) {
    const progress = opts.onProgress;
    timers.push(setInterval(() => progress(run.answeredCount, (performance.now() - run.startedAt) / 1000), 1000));
  }
  await run.done;
  for (const t of timers) clearTimeout(t);
  const cpu = process.cpuUsage(cpuBefore);
  return run.result(cpu.user + cpu.system);
}
