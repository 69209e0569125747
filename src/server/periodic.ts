// A job that runs again a fixed time after each run ends (never two runs at once) until it is
// stopped: the shape of the leader's housekeeping (retention.ts, table-upkeep.ts). A run that
// fails is reported and the next one comes all the same.

export interface PeriodicOptions {
  /** Between the end of one run and the start of the next. */
  intervalMs: number;
  /** Before the first run (default intervalMs). */
  firstDelayMs?: number;
  /** The job's timers never keep the process alive. */
  unref?: boolean;
  onError: (err: unknown) => void;
}

export class Periodic {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private isStopped = false;

  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly o: PeriodicOptions,
  ) {}

  /** True once stop was called: a long run may end early. */
  get stopped(): boolean {
    return this.isStopped;
  }

  start(): void {
    this.schedule(this.o.firstDelayMs ?? this.o.intervalMs);
  }

  /** No run after this; resolves once the run under way, if any, has ended. */
  async stop(): Promise<void> {
    this.isStopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => this.tick(), ms);
    if (this.o.unref) this.timer.unref();
  }

  private tick(): void {
    if (this.isStopped) return;
    this.running = this.run()
      .then(() => undefined)
      .catch(this.o.onError)
      .finally(() => {
        this.running = null;
        if (!this.isStopped) this.schedule(this.o.intervalMs);
      });
  }
}
