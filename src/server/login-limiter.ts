// Login rate limiting: failures are counted per account name and per client address in a
// sliding window; past the limit, logins from there (or for that name) are refused with a 429
// until the window moves on, right password or not. In memory: a restart forgets, which is fine
// for slowing down guessing.
import { LOGIN_LIMITS } from '../defaults.js';

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly o: { maxFailures: number; windowMs: number } = LOGIN_LIMITS) {}

  private recent(key: string, now: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((t) => t > now - this.o.windowMs);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }

  /** Seconds to wait when `keys` (account, address) are blocked; 0 when a try is allowed. */
  blockedFor(keys: string[], now = Date.now()): number {
    let wait = 0;
    for (const key of keys) {
      const list = this.recent(key, now);
      if (list.length >= this.o.maxFailures) wait = Math.max(wait, Math.ceil((list[0]! + this.o.windowMs - now) / 1000));
    }
    return wait;
  }

  failed(keys: string[], now = Date.now()): void {
    for (const key of keys) this.failures.set(key, [...this.recent(key, now), now]);
    // Bound memory under a flood of made-up names.
    if (this.failures.size > 100_000) for (const k of [...this.failures.keys()].slice(0, 50_000)) this.failures.delete(k);
  }

  succeeded(account: string): void {
    this.failures.delete(account);
  }
}
