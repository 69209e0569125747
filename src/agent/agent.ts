// The edge agent: every interval it probes each sub-device (concurrently, each with a timeout),
// builds the status report and POSTs it to the platform. Reports the platform could not take
// (down, timeout, 5xx) go to the durable queue and are resent in order with backoff.
import type { Logger } from 'pino';
import { parseReport, toWire, type EpStatus, type ReportWire } from '../protocol/index.js';
import type { AgentConfig, SubDeviceSpec } from './config.js';
import { probeAll } from './probing.js';
import { DurableQueue } from './queue.js';

/**
 * Flapping guard: an online sub-device is reported offline only after `threshold` failed
 * probes in a row; one success brings it back. The first probe of a device is taken as is.
 */
export class FlapGuard {
  private readonly state = new Map<string, { status: EpStatus; failures: number }>();
  constructor(private readonly threshold: number) {}

  update(epId: string, online: boolean): { status: EpStatus; changed: boolean; failures: number } {
    const prev = this.state.get(epId);
    let status: EpStatus;
    const failures = online ? 0 : (prev?.failures ?? 0) + 1;
    if (online) status = 'online';
    else if (!prev || failures >= this.threshold) status = 'offline';
    else status = prev.status;
    this.state.set(epId, { status, failures });
    return { status, changed: prev?.status !== status, failures };
  }
}

export type ReportBody = ReportWire & Record<string, unknown>;

/** Builds the wire report, checked by the same validation the receiver uses. */
export function buildReport(config: AgentConfig, statuses: Array<{ spec: SubDeviceSpec; status: EpStatus }>, probedAt: Date): ReportBody {
  const report = parseReport({
    dev_sno: config.devSno,
    sub_devices: statuses.map(({ spec, status }) => ({
      ep_id: spec.epId,
      ep_ip: spec.epIp,
      ep_status: status,
      ep_location: spec.epLocation,
      ep_type: spec.type,
      ep_name: spec.epName,
    })),
  });
  const body: ReportBody = toWire(report);
  if (config.includeReportTime) body.report_time = probedAt.toISOString();
  return body;
}

export type PostOutcome =
  | { kind: 'delivered'; status: number; body: string }
  /** Worth trying again later: platform unreachable, timed out, 5xx, 408, 429. */
  | { kind: 'retry'; status?: number; reason: string }
  /** The platform refused this report (4xx): sending it again will not help. */
  | { kind: 'rejected'; status: number; reason: string };

function platformError(text: string): string {
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const msg = j.message ?? j.error ?? j.reason;
    if (typeof msg === 'string' && msg) return msg;
  } catch {
    // not JSON: fall through to the raw text
  }
  const t = text.trim().replace(/\s+/g, ' ');
  return t.length > 300 ? `${t.slice(0, 300)}...` : t || '(empty answer)';
}

export async function postReport(url: string, body: unknown, timeoutMs: number): Promise<PostOutcome> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await res.text();
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const reason =
      e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { kind: 'retry', reason };
  }
  if (res.status >= 200 && res.status < 300) return { kind: 'delivered', status: res.status, body: text };
  const reason = `HTTP ${res.status}: ${platformError(text)}`;
  if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
    return { kind: 'rejected', status: res.status, reason };
  }
  return { kind: 'retry', status: res.status, reason };
}

/** Exponential backoff with full jitter: uniform in (0, min(max, initial * 2^(attempt-1))]. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  // A small floor keeps a zero draw from turning into a tight loop.
  return Math.max(Math.min(initialMs, 10), Math.round(ceiling * random()));
}

export interface AgentOptions {
  config: AgentConfig;
  logger: Logger;
}

export class Agent {
  private readonly config: AgentConfig;
  private readonly log: Logger;
  private readonly guard: FlapGuard;
  private queue: DurableQueue | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  /** True while a report is on its way to the platform (direct send or queue drain). */
  private sending = false;
  private sender: Promise<void> = Promise.resolve();
  private attempt = 0;
  private outage = false;
  private drainScheduled = false;

  readonly stats = { rounds: 0, delivered: 0, queued: 0, rejected: 0, dropped: 0 };

  constructor(opts: AgentOptions) {
    this.config = opts.config;
    this.log = opts.logger;
    this.guard = new FlapGuard(opts.config.failuresBeforeOffline);
  }

  start(): void {
    const c = this.config;
    this.queue = DurableQueue.open(c.queue.dir, { maxReports: c.queue.maxReports });
    this.log.info(
      {
        dev_sno: c.devSno,
        report_url: c.reportUrl,
        interval_s: c.intervalMs / 1000,
        sub_devices: c.subDevices.length,
        queue_dir: c.queue.dir,
        queued: this.queue.size,
      },
      `devstatus agent started: ${c.subDevices.length} sub-device(s), reporting to ${c.reportUrl} every ${c.intervalMs / 1000} s`,
    );
    if (this.queue.size > 0) {
      this.log.info({ queued: this.queue.size }, `${this.queue.size} report(s) left in the queue from before; sending them first`);
      this.outage = true;
      this.kickDrain(0);
    }
    this.loop = this.run();
  }

  /** Stops probing, lets a send in flight finish (queueing it if it fails) and closes the queue. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    // A finishing send may hand over to a drain: wait until no sender is left.
    for (let s = this.sender; ; s = this.sender) {
      await s;
      if (s === this.sender) break;
    }
    this.queue?.close();
    this.log.info({ ...this.stats, left_in_queue: this.queue?.size ?? 0 }, 'devstatus agent stopped');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const started = Date.now();
      try {
        await this.round(new Date(started));
      } catch (err) {
        // A bug or a full disk must not end the loop: the next round tries again.
        this.log.error({ err: (err as Error).message }, `report round failed: ${(err as Error).message}`);
      }
      await this.sleep(Math.max(0, started + this.config.intervalMs - Date.now()));
    }
  }

  private async round(probedAt: Date): Promise<void> {
    const probed = await probeAll(this.config);
    this.stats.rounds++;
    const statuses = probed.map(({ spec, result }) => {
      const { status, changed, failures } = this.guard.update(spec.epId, result.online);
      const fields = { ep_id: spec.epId, ep_type: spec.type, target: spec.label, detail: result.detail };
      if (changed) this.log.info({ ...fields, ep_status: status }, `${spec.label} is ${status}: ${result.detail}`);
      else if (!result.online && status === 'online') {
        this.log.warn({ ...fields, failures }, `${spec.label} failed a probe (${failures} of ${this.config.failuresBeforeOffline} before offline): ${result.detail}`);
      }
      return { spec, status };
    });
    const body = buildReport(this.config, statuses, probedAt);
    this.submit(this.queue!.reserve(), body);
  }

  /** Sends now when nothing is ahead of this report; otherwise it waits its turn in the queue. */
  private submit(seq: number, body: ReportBody): void {
    if (this.sending || this.queue!.size > 0) {
      this.enqueue(seq, body);
      this.kickDrain(0);
      return;
    }
    this.sending = true;
    this.sender = (async () => {
      const outcome = await postReport(this.config.reportUrl, body, this.config.postTimeoutMs);
      this.sending = false;
      if (outcome.kind === 'delivered') {
        this.delivered(seq, outcome.status);
      } else if (outcome.kind === 'rejected') {
        this.rejected(seq, outcome.reason);
      } else {
        this.startOutage(outcome.reason);
        this.enqueue(seq, body);
        this.attempt = 1;
        this.kickDrain(backoffDelay(1, this.config.backoff.initialMs, this.config.backoff.maxMs));
        return;
      }
      if (this.queue!.size > 0) this.kickDrain(0);
    })();
  }

  private enqueue(seq: number, body: ReportBody): void {
    let dropped: number;
    try {
      ({ dropped } = this.queue!.put(seq, body));
    } catch (err) {
      this.log.error({ seq, err: (err as Error).message }, `could not queue report ${seq} (${(err as Error).message}); it is lost`);
      return;
    }
    this.stats.queued++;
    this.log.debug({ seq, queued: this.queue!.size }, 'report queued');
    if (dropped > 0) {
      this.stats.dropped += dropped;
      this.log.warn(
        { dropped, dropped_total: this.queue!.droppedTotal, max_reports: this.queue!.maxReports },
        `queue full (${this.queue!.maxReports} reports): dropped the ${dropped} oldest; ${this.queue!.droppedTotal} dropped so far`,
      );
    }
  }

  private delivered(seq: number, status: number): void {
    this.stats.delivered++;
    this.attempt = 0;
    this.log.debug({ seq, status }, 'report delivered');
  }

  private rejected(seq: number, reason: string): void {
    this.stats.rejected++;
    this.log.error({ seq, reason }, `platform rejected report ${seq}, not retrying: ${reason}`);
  }

  private startOutage(reason: string): void {
    if (!this.outage) {
      this.outage = true;
      this.log.warn({ reason, report_url: this.config.reportUrl }, `platform unreachable (${reason}); queueing reports in ${this.config.queue.dir}`);
    }
  }

  private kickDrain(delayMs: number): void {
    if (this.sending || this.drainScheduled || this.stopping) return;
    this.drainScheduled = true;
    this.sending = true;
    this.sender = this.drain(delayMs).finally(() => {
      this.drainScheduled = false;
      this.sending = false;
    });
  }

  /** Sends queued reports oldest first, one at a time, backing off while the platform fails. */
  private async drain(delayMs: number): Promise<void> {
    const queue = this.queue!;
    if (delayMs > 0) await this.sleep(delayMs);
    let sent = 0;
    while (!this.stopping) {
      const item = queue.peek((seq, err) => this.log.error({ seq, err: err.message }, `queued report ${seq} is unreadable; skipping it`));
      if (!item) break;
      const outcome = await postReport(this.config.reportUrl, item.body, this.config.postTimeoutMs);
      if (outcome.kind === 'retry') {
        this.startOutage(outcome.reason);
        this.attempt++;
        const wait = backoffDelay(this.attempt, this.config.backoff.initialMs, this.config.backoff.maxMs);
        this.log.warn({ attempt: this.attempt, retry_in_ms: wait, queued: queue.size, reason: outcome.reason }, `platform still unreachable (${outcome.reason}); ${queue.size} report(s) queued, retrying in ${wait} ms`);
        await this.sleep(wait);
        continue;
      }
      queue.remove(item.seq);
      if (outcome.kind === 'delivered') {
        sent++;
        this.delivered(item.seq, outcome.status);
      } else {
        this.rejected(item.seq, outcome.reason);
      }
    }
    if (queue.size === 0 && this.outage) {
      this.outage = false;
      this.log.info({ delivered: sent }, `platform reachable again: delivered ${sent} queued report(s); queue empty`);
    }
  }
}
