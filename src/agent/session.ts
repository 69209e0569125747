// Where the agent reports and how often. Without login_url that is the config's report_url and
// interval_s, for good. With login_url the platform says it: the agent logs in first
// (GET <login_url>?dev_sno=&hex_mac=), reports to deviceMonitorAddr every deviceMonitorPeriod
// seconds, and logs in again
//  - when the platform refuses a report with 401 or 403 (the address is not good any more):
//    reports wait in the queue until a login succeeds;
//  - every relogin_interval_s, so a period (or address) changed on the platform takes effect.
//    A re-login that fails keeps the address the agent has and is tried again after a backoff.
// A login that fails while the agent has no address is retried with backoff (full jitter, the
// config's backoff settings); each round wakes it, as it wakes the queue's drain, so a platform
// that is back is used within one interval. stop() cuts a login in flight at once.
import type { Logger } from 'pino';
import type { LoginAnswer } from '../protocol/login.js';
import type { AgentConfig } from './config.js';
import { login, LoginError } from './login.js';

/** Exponential backoff with full jitter: uniform in (0, min(max, initial * 2^(attempt-1))]. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  // A small floor keeps a zero draw from turning into a tight loop.
  return Math.max(Math.min(initialMs, 10), Math.round(ceiling * random()));
}

export interface SessionOptions {
  config: AgentConfig;
  /** The MAC the box logs in with (aa:bb:cc:dd:ee:ff); required with login_url. */
  mac?: string;
  log: Logger;
  /** The platform told a new period (ms); called after the login that says so. */
  onPeriod?: (periodMs: number, previousMs: number) => void;
}

interface Target {
  reportUrl: string;
  periodMs: number;
}

export class PlatformSession {
  private readonly config: AgentConfig;
  private readonly log: Logger;
  private target: Target | null;
  private periodMs: number;
  private running: Promise<void> | null = null;
  /** The next periodic re-login (or the retry of one that failed). */
  private reloginTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private stopping = false;
  private readonly stopLogin = new AbortController();
  private wakeBackoff: (() => void) | null = null;
  /** Resolves once the first login attempt is over (whatever its outcome), or at stop. */
  readonly firstAttempt: Promise<void>;
  private firstAttemptDone!: () => void;

  readonly stats = { logins: 0, login_failures: 0 };

  constructor(private readonly opts: SessionOptions) {
    this.config = opts.config;
    this.log = opts.log;
    this.periodMs = opts.config.intervalMs;
    this.target = opts.config.loginUrl === undefined ? { reportUrl: opts.config.reportUrl!, periodMs: opts.config.intervalMs } : null;
    this.firstAttempt = new Promise((resolve) => (this.firstAttemptDone = resolve));
    if (!this.usesLogin) this.firstAttemptDone();
  }

  get usesLogin(): boolean {
    return this.config.loginUrl !== undefined;
  }

  /** Where reports go now; null while the agent has no address (not logged in yet, or refused). */
  get reportUrl(): string | null {
    return this.target?.reportUrl ?? null;
  }

  /** Milliseconds between rounds: the platform's period once told, else interval_s. */
  get intervalMs(): number {
    return this.periodMs;
  }

  /** Logs in now (at start), unless no login is needed or one is under way. */
  start(): void {
    if (this.usesLogin) this.ensureLogin();
  }

  /**
   * The address to POST to, logging in first when there is none (retrying with backoff until it
   * works). null once the agent is stopping.
   */
  async url(): Promise<string | null> {
    while (!this.stopping) {
      if (this.target) return this.target.reportUrl;
      await this.ensureLogin();
    }
    return null;
  }

  /** Whether an answer of this status means "log in again" (401/403 with login_url). */
  refusesSession(status: number | undefined): boolean {
    return this.usesLogin && (status === 401 || status === 403);
  }

  /** The platform refused a report with 401/403: the address is not good; the next url() logs in. */
  invalidate(reason: string): void {
    if (!this.target) return;
    this.log.warn({ reason, report_url: this.target.reportUrl }, `platform refused a report (${reason}); logging in again`);
    this.target = null;
    this.ensureLogin();
  }

  /** Once a round: wakes a login waiting out its backoff (the round is a free check of the platform). */
  tick(): void {
    this.wakeBackoff?.();
  }

  /** Cuts a login in flight or waiting and resolves once none runs. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.reloginTimer) clearTimeout(this.reloginTimer);
    this.stopLogin.abort();
    this.wakeBackoff?.();
    this.firstAttemptDone();
    await this.running;
  }

  private ensureLogin(): Promise<void> {
    this.running ??= this.loginLoop().finally(() => (this.running = null));
    return this.running;
  }

  private async loginLoop(): Promise<void> {
    const c = this.config;
    while (!this.stopping) {
      let answer: LoginAnswer;
      try {
        answer = await login(c.loginUrl!, c.devSno, this.opts.mac!, { timeoutMs: c.postTimeoutMs, signal: this.stopLogin.signal });
      } catch (err) {
        this.firstAttemptDone();
        if (this.stopping) return;
        this.failures++;
        this.stats.login_failures++;
        const e = err as LoginError;
        const wait = backoffDelay(this.failures, c.backoff.initialMs, c.backoff.maxMs);
        const fields = { login_url: c.loginUrl, reason: e.message, kind: e.kind, attempt: this.failures, retry_in_ms: wait };
        if (this.target) {
          // A re-login that failed: the address the agent has still serves meanwhile.
          this.scheduleRelogin(wait);
          this.log.warn(fields, `login failed (${e.message}); still reporting to ${this.target.reportUrl}; trying again in ${wait} ms`);
          return;
        }
        this.log.warn(fields, `login failed (${e.message}); reports wait in the queue; trying again in ${wait} ms or at the next round`);
        await this.backoff(wait);
        continue;
      }
      this.accept(answer);
      this.firstAttemptDone();
      return;
    }
  }

  private accept(answer: LoginAnswer): void {
    const before = this.target;
    const periodMs = answer.reportPeriodS * 1000;
    const previousMs = this.periodMs;
    // The token is not kept: nothing devstatus knows of sends it back (docs/protocol.md).
    this.target = { reportUrl: answer.reportUrl, periodMs };
    this.periodMs = periodMs;
    this.failures = 0;
    this.stats.logins++;
    this.scheduleRelogin(this.config.reloginIntervalMs);
    const fields = { report_url: answer.reportUrl, period_s: answer.reportPeriodS, logins: this.stats.logins };
    if (!before || before.reportUrl !== answer.reportUrl || periodMs !== previousMs) {
      this.log.info(fields, `logged in: reporting to ${answer.reportUrl} every ${answer.reportPeriodS} s`);
    } else {
      this.log.debug(fields, 'logged in again: address and period unchanged');
    }
    if (periodMs !== previousMs) this.opts.onPeriod?.(periodMs, previousMs);
  }

  private scheduleRelogin(ms: number): void {
    if (this.reloginTimer) clearTimeout(this.reloginTimer);
    if (this.stopping) return;
    this.reloginTimer = setTimeout(() => {
      this.reloginTimer = null;
      void this.ensureLogin();
    }, ms);
  }

  private backoff(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping) return resolve();
      const done = () => {
        clearTimeout(timer);
        if (this.wakeBackoff === done) this.wakeBackoff = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeBackoff = done;
    });
  }
}
