// The edge agent: every interval it probes each sub-device (see probing.ts), builds the status
// report and POSTs it to the platform. Reports the platform could not take (down, timeout, 5xx)
// go to the durable queue and are resent in order, oldest first. Backoff paces the retries
// only while nothing gets through: each round's fresh report is a free check of the platform,
// so the queue starts draining within one interval of the platform coming back.
// With login_url, where and how often to report comes from the platform (session.ts); reports
// made while the agent has no address wait in the same queue.
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
// The protocol's modules themselves, not its index: the index brings the receiver's validators
// (dialects, login, events), each compiled when loaded, into the agent's bundle and memory.
import { toRichWire } from '../protocol/render.js';
import { boundDetail, type BoxHealth, type EpStatus, type GatewayInfo, type ReportWire } from '../protocol/schema.js';
import { parseReport, toWire } from '../protocol/validate.js';
import { BoxInfo } from './box-info.js';
import { AgentConfigError, type AgentConfig, type SubDeviceSpec } from './config.js';
import { closePostConnections, postReport } from './post.js';
import { probeAll } from './probing.js';
import { describeQueue, DurableQueue } from './queue.js';
import { backoffDelay, PlatformSession } from './session.js';

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

export { postReport, type PostOutcome } from './post.js';
export { probeAll, type ProbedSubDevice } from './probing.js';

export { backoffDelay } from './session.js';

export type ReportBody = ReportWire & Record<string, unknown>;

/** One sub-device's status in a round; `detail` (the probe's finding) is sent as ep_detail when offline. */
export interface RoundStatus {
  spec: SubDeviceSpec;
  status: EpStatus;
  detail?: string;
}

/**
 * The probe's finding as a short reason for ep_detail: without the address in front (the
 * platform knows the sub-device), e.g. `ECONNREFUSED`, `DESCRIBE 401 Unauthorized (credentials
 * rejected)`, `no answer within 3000 ms`.
 */
export function reasonOf(detail: string): string {
  return boundDetail(detail.replace(/^(?:TCP )?\S+: /, '').trim() || detail);
}

/**
 * Builds the wire report, checked by the same validation the receiver uses. In the richer
 * dialect (config.dialect) it carries the box's gateway info and health, rendered by the
 * protocol's own serializer. An offline sub-device carries its reason (ep_detail) in either.
 */
export function buildReport(
  config: AgentConfig,
  statuses: RoundStatus[],
  probedAt: Date,
  box?: { gateway: GatewayInfo; health: BoxHealth },
): ReportBody {
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
  statuses.forEach(({ status, detail }, i) => {
    if (status === 'offline' && detail) report.sub_devices[i]!.ep_detail = reasonOf(detail);
  });
  let body: ReportBody;
  if (config.dialect === 'rich') {
    report.dialect = 'rich';
    if (box) {
      report.gateway = box.gateway;
      report.health = box.health;
    }
    body = toRichWire(report) as ReportBody;
  } else body = toWire(report);
  if (config.includeReportTime) body.report_time = probedAt.toISOString();
  return body;
}

export interface AgentOptions {
  config: AgentConfig;
  logger: Logger;
}

/** How long stop() lets a POST in flight finish before cutting it (its report stays queued). */
const STOP_GRACE_MS = 400;

export class Agent {
  private readonly config: AgentConfig;
  private readonly log: Logger;
  private readonly guard: FlapGuard;
  private readonly box: BoxInfo;
  private readonly session: PlatformSession;
  /** Refusals (401/403) in a row since the last delivered report: past the first, retries back off. */
  private refusals = 0;
  private queue: DurableQueue | null = null;
  private stopping = false;
  /** Ends the probes of a round in progress when the agent stops. */
  private readonly stopProbes = new AbortController();
  /** Cuts a POST in flight once the stop grace is over. */
  private readonly stopPosts = new AbortController();
  /** Ends the wait between rounds (stop). */
  private wakeRound: (() => void) | null = null;
  /** Ends the drain's backoff wait (stop, or a new round: try the platform now). */
  private wakeDrain: (() => void) | null = null;
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
    const c = opts.config;
    this.box = new BoxInfo({
      dataDir: c.queue.dir,
      ...(c.gatewaySn ? { gatewaySn: c.gatewaySn } : {}),
      ...(c.gatewayName ? { gatewayName: c.gatewayName } : {}),
      ...(c.mac ? { mac: c.mac } : {}),
      ...(c.sdkVersion ? { sdkVersion: c.sdkVersion } : {}),
    });
    if (c.loginUrl !== undefined && !this.box.mac) {
      throw new AgentConfigError(c.source, [{ field: 'mac', reason: 'is needed to log in: this machine has no network interface with a MAC address; set mac' }]);
    }
    this.session = new PlatformSession({
      config: c,
      ...(this.box.mac ? { mac: this.box.mac } : {}),
      log: this.log,
      onPeriod: (periodMs, previousMs) => {
        this.log.info({ period_s: periodMs / 1000, previous_s: previousMs / 1000 }, `report period is now ${periodMs / 1000} s (was ${previousMs / 1000} s)`);
        // The wait under way is measured again with the new period.
        this.wakeRound?.();
      },
    });
    // One abort listener per server probed in a round (64 cameras: 64 listeners) is expected.
    setMaxListeners(0, this.stopProbes.signal, this.stopPosts.signal);
  }

  start(): void {
    const c = this.config;
    this.queue = DurableQueue.open(c.queue.dir, { maxReports: c.queue.maxReports });
    const where = c.loginUrl !== undefined ? `logging in at ${c.loginUrl}` : `reporting to ${c.reportUrl} every ${c.intervalMs / 1000} s`;
    this.log.info(
      {
        dev_sno: c.devSno,
        ...(c.loginUrl !== undefined ? { login_url: c.loginUrl, mac: this.box.mac } : { report_url: c.reportUrl, interval_s: c.intervalMs / 1000 }),
        dialect: c.dialect,
        sub_devices: c.subDevices.length,
        queue_dir: c.queue.dir,
        ...this.queueFields(),
      },
      `devstatus agent started: ${c.subDevices.length} sub-device(s), ${where}`,
    );
    this.session.start();
    for (const problem of this.queue.openProblems) this.log.warn({ queue_dir: c.queue.dir }, `queue: ${problem}`);
    if (this.queue.size > 0) {
      this.log.info(this.queueFields(), `${this.queue.size} report(s) left in the queue from before (${this.queueSummary()}); sending them first`);
      this.outage = true;
      this.kickDrain(0);
    }
    this.loop = this.run();
  }

  /**
   * Stops probing, gives a send in flight a moment to finish (queueing its report if it does
   * not) and closes the queue: it returns within about half a second even while the platform
   * hangs, so Ctrl-C / SIGTERM never waits out post_timeout_s or a backoff.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopProbes.abort();
    this.wakeRound?.();
    this.wakeDrain?.();
    const grace = setTimeout(() => this.stopPosts.abort(), STOP_GRACE_MS);
    // A login in flight or waiting is cut at once: nothing is lost, reports wait in the queue.
    const sessionStopped = this.session.stop();
    await this.loop;
    // A finishing send may hand over to a drain: wait until no sender is left.
    for (let s = this.sender; ; s = this.sender) {
      await s;
      if (s === this.sender) break;
    }
    await sessionStopped;
    clearTimeout(grace);
    closePostConnections();
    const { queued: _size, ...left } = this.queueFields(); // `queued` here is the count of reports queued
    this.queue?.close();
    this.log.info({ ...this.stats, ...this.session.stats, left_in_queue: this.queue?.size ?? 0, ...left }, 'devstatus agent stopped');
  }

  /** The queue's size and age, for log lines. */
  private queueFields(): Record<string, number> {
    const q = this.queue;
    if (!q) return {};
    const s = q.stats();
    return {
      queued: s.reports,
      queue_bytes: s.bytes,
      ...(s.oldestQueuedAt !== null ? { oldest_queued_s: Math.round((Date.now() - s.oldestQueuedAt) / 100) / 10 } : {}),
    };
  }

  private queueSummary(): string {
    return this.queue ? describeQueue(this.queue.stats()) : 'no queue';
  }

  private sleep(ms: number, slot: 'round' | 'drain'): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping) return resolve();
      const done = () => {
        clearTimeout(timer);
        if (slot === 'round' && this.wakeRound === done) this.wakeRound = null;
        if (slot === 'drain' && this.wakeDrain === done) this.wakeDrain = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (slot === 'round') this.wakeRound = done;
      else this.wakeDrain = done;
    });
  }

  private async run(): Promise<void> {
    // With login_url the first round waits for the first login (at most post_timeout_s): its
    // report then goes straight to the address given, not through the queue.
    await this.session.firstAttempt;
    while (!this.stopping) {
      const started = Date.now();
      try {
        await this.round(new Date(started));
      } catch (err) {
        // A bug or a full disk must not end the loop: the next round tries again.
        this.log.error({ err: (err as Error).message }, `report round failed: ${(err as Error).message}`);
      }
      // Measured again when woken early: the platform may have told a new period meanwhile.
      for (let left = this.nextRoundIn(started); left > 0 && !this.stopping; left = this.nextRoundIn(started)) {
        await this.sleep(left, 'round');
      }
    }
  }

  private nextRoundIn(started: number): number {
    return Math.max(0, started + this.session.intervalMs - Date.now());
  }

  private async round(probedAt: Date): Promise<void> {
    const probed = await probeAll(this.config, { signal: this.stopProbes.signal });
    // A round cut short by stop() would report devices offline that were not really probed.
    if (this.stopping) return;
    this.stats.rounds++;
    const roundMs = Date.now() - probedAt.getTime();
    const online = probed.filter((p) => p.result.online).length;
    this.log.debug(
      { round_ms: roundMs, round_limit_ms: this.config.probeTimeoutMs, online, offline: probed.length - online },
      `probe round: ${probed.length} sub-device(s) in ${roundMs} ms, ${online} online`,
    );
    const statuses: RoundStatus[] = probed.map(({ spec, result }) => {
      const { status, changed, failures } = this.guard.update(spec.epId, result.online);
      const fields = { ep_id: spec.epId, ep_type: spec.type, target: spec.label, detail: result.detail };
      if (changed) this.log.info({ ...fields, ep_status: status }, `${spec.label} is ${status}: ${result.detail}`);
      else if (!result.online && status === 'online') {
        this.log.warn({ ...fields, failures }, `${spec.label} failed a probe (${failures} of ${this.config.failuresBeforeOffline} before offline): ${result.detail}`);
      }
      return { spec, status, detail: result.detail };
    });
    const box = this.config.dialect === 'rich' ? { gateway: this.box.gateway(), health: this.box.health() } : undefined;
    const body = buildReport(this.config, statuses, probedAt, box);
    // A login waiting out its backoff tries now: the round is a free check of the platform.
    this.session.tick();
    this.submit(this.queue!.reserve(), body);
  }

  /** Sends now when nothing is ahead of this report; otherwise it waits its turn in the queue. */
  private submit(seq: number, body: ReportBody): void {
    const url = this.session.reportUrl;
    // No address (not logged in yet, or refused): the report waits; the drain logs in first.
    if (this.sending || this.queue!.size > 0 || url === null) {
      this.enqueue(seq, body);
      // The fresh report is a free check of the platform: a drain waiting out its backoff tries
      // the oldest report now, so a platform that is back is drained within one interval.
      if (this.wakeDrain) this.wakeDrain();
      else this.kickDrain(0);
      return;
    }
    this.sending = true;
    this.sender = (async () => {
      const outcome = await postReport(url, body, this.config.postTimeoutMs, this.stopPosts.signal);
      this.sending = false;
      if (outcome.kind === 'delivered') {
        this.delivered(seq, outcome.status);
      } else if (outcome.kind === 'rejected' && this.session.refusesSession(outcome.status)) {
        // Not this report's fault: the platform wants a new login. It waits in the queue.
        this.enqueue(seq, body);
        this.refusals++;
        this.session.invalidate(outcome.reason);
      } else if (outcome.kind === 'rejected') {
        this.rejected(seq, outcome.reason);
      } else {
        this.enqueue(seq, body);
        if (this.stopping) return; // cut by stop(): queued, not an outage
        this.startOutage(outcome.reason);
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
    this.log.debug({ seq, ...this.queueFields() }, 'report queued');
    if (dropped > 0) {
      this.stats.dropped += dropped;
      this.log.warn(
        { dropped, dropped_total: this.queue!.droppedTotal, max_reports: this.queue!.maxReports, ...this.queueFields() },
        `queue full (${this.queue!.maxReports} reports): dropped the ${dropped} oldest; ${this.queue!.droppedTotal} dropped so far`,
      );
    }
  }

  private delivered(seq: number, status: number): void {
    this.stats.delivered++;
    this.attempt = 0;
    this.refusals = 0;
    this.log.debug({ seq, status }, 'report delivered');
  }

  private rejected(seq: number, reason: string): void {
    this.stats.rejected++;
    this.log.error({ seq, reason }, `platform rejected report ${seq}, not retrying: ${reason}`);
  }

  private startOutage(reason: string): void {
    if (!this.outage) {
      this.outage = true;
      this.log.warn(
        { reason, report_url: this.session.reportUrl, ...this.queueFields() },
        `platform unreachable (${reason}); queueing reports in ${this.config.queue.dir}`,
      );
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
    if (delayMs > 0) await this.sleep(delayMs, 'drain');
    let sent = 0;
    while (!this.stopping) {
      const item = queue.peek((seq, err) => this.log.error({ seq, err: err.message }, `queued report ${seq} is unreadable; skipping it`));
      if (!item) break;
      // Logs in first when the agent has no address (retrying with backoff); null: stopping.
      const url = await this.session.url();
      if (url === null) break;
      const outcome = await postReport(url, item.body, this.config.postTimeoutMs, this.stopPosts.signal);
      if (outcome.kind === 'rejected' && this.session.refusesSession(outcome.status)) {
        // Logged in again and refused again: something is wrong on the platform (a revoked
        // code?); back off instead of logging in as fast as it answers. The report stays queued.
        this.refusals++;
        this.session.invalidate(outcome.reason);
        if (this.refusals > 1) await this.sleep(backoffDelay(this.refusals - 1, this.config.backoff.initialMs, this.config.backoff.maxMs), 'drain');
        continue;
      }
      if (outcome.kind === 'retry') {
        if (this.stopping) break;
        this.startOutage(outcome.reason);
        this.attempt++;
        const wait = backoffDelay(this.attempt, this.config.backoff.initialMs, this.config.backoff.maxMs);
        this.log.warn(
          { attempt: this.attempt, retry_in_ms: wait, reason: outcome.reason, ...this.queueFields() },
          `platform still unreachable (${outcome.reason}); ${this.queueSummary()}; retrying in ${wait} ms or at the next report`,
        );
        await this.sleep(wait, 'drain');
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
