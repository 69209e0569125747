// Memory for report bodies in flight, shared by every connection. A flood of uploads that send a
// large Content-Length and then stall would otherwise pin up to the body limit each (1,000 of them
// took a receiver past 1 GB): past the budget, bodies are refused with a 503 instead. Large bodies
// may use only part of it, so the small reports every box sends still get through a flood.
export class BodyBudget {
  private inFlight = 0;

  /**
   * @param totalBytes the budget
   * @param smallBodyBytes a body up to this size may use the whole budget; a larger one only
   *   `largeShare` of it
   */
  constructor(
    readonly totalBytes: number,
    private readonly smallBodyBytes = 64 * 1024,
    private readonly largeShare = 0.75,
  ) {}

  /** Bytes held by bodies now. */
  get used(): number {
    return this.inFlight;
  }

  /** Takes `more` bytes for a body that holds `held` already; false (nothing taken) when they do not fit. */
  take(held: number, more: number): boolean {
    const after = this.inFlight + more;
    const limit = held + more > this.smallBodyBytes ? this.totalBytes * this.largeShare : this.totalBytes;
    if (after > limit) return false;
    this.inFlight = after;
    return true;
  }

  release(bytes: number): void {
    this.inFlight = Math.max(0, this.inFlight - bytes);
  }
}
