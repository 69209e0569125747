// Per-channel send budgets (chat bots' rate limits). The grouper asks how many messages a
// channel may take now and folds the overflow into one digest, or waits for the budget.
import { ENGINE_DEFAULTS, type RateLimit } from './defaults.js';

export interface ChannelBudget {
  /** How many notifications the channel may take at `now`. */
  available(channel: string, now: number): number;
  take(channel: string, now: number): void;
  /** Earliest time at which available() may be ≥ n again (n = 1: any budget at all). */
  availableAt(channel: string, now: number, n?: number): number;
}

/** Limits by channel type: the part of the channel id before ':' (dingtalk:ops → dingtalk). */
export function defaultLimitsFor(channel: string): RateLimit[] {
  const type = channel.split(':', 1)[0] ?? channel;
  return ENGINE_DEFAULTS.rateLimits[type] ?? [];
}

/** Sliding-window budget; its state (send times) is part of the engine snapshot. */
export class SlidingWindowBudget implements ChannelBudget {
  private readonly sent: Map<string, number[]>;

  constructor(
    private readonly limitsFor: (channel: string) => RateLimit[] = defaultLimitsFor,
    state: Record<string, number[]> = {},
  ) {
    this.sent = new Map(Object.entries(state).map(([k, v]) => [k, [...v]]));
  }

  private recent(channel: string, now: number): number[] {
    const longest = Math.max(0, ...this.limitsFor(channel).map((l) => l.per_ms));
    const list = (this.sent.get(channel) ?? []).filter((t) => t > now - longest);
    this.sent.set(channel, list);
    return list;
  }

  available(channel: string, now: number): number {
    const limits = this.limitsFor(channel);
    if (limits.length === 0) return Number.POSITIVE_INFINITY;
    const list = this.recent(channel, now);
    return Math.max(0, Math.min(...limits.map((l) => l.max - list.filter((t) => t > now - l.per_ms).length)));
  }

  take(channel: string, now: number): void {
    if (this.limitsFor(channel).length === 0) return;
    this.recent(channel, now).push(now);
  }

  availableAt(channel: string, now: number, n = 1): number {
    let at = now;
    const list = this.recent(channel, now);
    for (const l of this.limitsFor(channel)) {
      const inWindow = list.filter((t) => t > now - l.per_ms);
      // n slots are free once this many of the oldest sends have left the window.
      const leaving = inWindow.length - (l.max - n);
      if (leaving <= 0) continue;
      const last = inWindow[Math.min(leaving, inWindow.length) - 1];
      if (last !== undefined) at = Math.max(at, last + l.per_ms);
    }
    return at;
  }

  snapshot(): Record<string, number[]> {
    return Object.fromEntries([...this.sent].filter(([, v]) => v.length > 0).map(([k, v]) => [k, [...v]]));
  }
}
