// Whether the store is taking writes, as the report path last found out: /healthz answers 503
// with the reason while reports fail to be stored (a full disk…), and 200 again after one succeeds.
export class WriteHealth {
  private failure: { reason: string; since: number } | null = null;

  failed(err: Error, now = Date.now()): void {
    this.failure = { reason: err.message, since: this.failure?.since ?? now };
  }

  succeeded(): void {
    this.failure = null;
  }

  /** The last failure while writes have been failing; null when the last write succeeded. */
  get problem(): { reason: string; since: number } | null {
    return this.failure;
  }
}
