// Client-side sending limits of the chat robots (DingTalk and WeCom: 20 a minute; Feishu: 5 a
// second and 100 a minute). Going over makes the service refuse messages (DingTalk even mutes
// the robot for 10 minutes), so a message over the limit is not sent: the caller gets
// retry-later with the wait and folds it into its next digest.
import { createHash } from 'node:crypto';

export interface RateWindow {
  max: number;
  perMs: number;
}

/** Sliding-window log over several windows; a send needs room in every one. */
export class SlidingWindowLimiter {
  /** Send times, oldest first, as long as the longest window. */
  private readonly sent: number[] = [];
  private readonly longestMs: number;
  /** Set when the service itself said "too fast": nothing goes out before this. */
  private pausedUntil = 0;

  constructor(private readonly windows: readonly RateWindow[]) {
    this.longestMs = Math.max(...windows.map((w) => w.perMs));
  }

  /** Takes a slot at `now`, or says how long until one frees up. */
  take(now = Date.now()): { ok: true } | { ok: false; retryAfterMs: number; paused: boolean } {
    if (now < this.pausedUntil) return { ok: false, retryAfterMs: this.pausedUntil - now, paused: true };
    while (this.sent.length && this.sent[0]! <= now - this.longestMs) this.sent.shift();
    let wait = 0;
    for (const w of this.windows) {
      const inWindow = this.countSince(now - w.perMs);
      if (inWindow >= w.max) {
        // Room comes back when the max-th newest send leaves the window.
        const freeing = this.sent[this.sent.length - w.max]!;
        wait = Math.max(wait, freeing + w.perMs - now);
      }
    }
    if (wait > 0) return { ok: false, retryAfterMs: wait, paused: false };
    this.sent.push(now);
    return { ok: true };
  }

  /** The service throttled this robot (others may share it): hold everything until `until`. */
  pause(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }

  private countSince(t: number): number {
    let n = 0;
    for (let i = this.sent.length - 1; i >= 0 && this.sent[i]! > t; i--) n++;
    return n;
  }
}

const limiters = new Map<string, SlidingWindowLimiter>();

/**
 * One limiter per robot, shared by every channel object that posts to it (two rules naming the
 * same robot share its quota). Keyed by a hash so the credential is not kept as a map key.
 */
export function robotLimiter(kind: string, credential: string, windows: readonly RateWindow[]): SlidingWindowLimiter {
  const id = `${kind}:${createHash('sha256').update(credential).digest('hex')}`;
  let limiter = limiters.get(id);
  if (!limiter) {
    limiter = new SlidingWindowLimiter(windows);
    limiters.set(id, limiter);
  }
  return limiter;
}
