// Every threshold of the alert engine in one place (docs/alerts-engine.md explains each).

export interface RateLimit {
  max: number;
  per_ms: number;
}

export const ENGINE_DEFAULTS = {
  /** Rule defaults (Alertmanager-style). */
  groupBy: 'box' as const,
  groupWaitS: 10,
  groupIntervalS: 60,
  /** Statuses that open a problem; `online` closes it. */
  problemStatuses: ['offline', 'unknown'] as readonly string[],
  /** Flapping: this many changes of one subject within flapWindowMs... */
  flapChanges: 4,
  flapWindowMs: 10 * 60_000,
  /** ...and it counts as settled after this long without a change. */
  flapSettleMs: 10 * 60_000,
  /** With this few messages left in a channel's budget, due groups are gathered into digests... */
  digestReserve: 2,
  /** ...held this long to gather more before the digest goes out. */
  digestHoldMs: 5_000,
  /** Chat bots' documented limits, by channel type (the part of the channel id before ':'). */
  rateLimits: {
    dingtalk: [{ max: 20, per_ms: 60_000 }],
    wecom: [{ max: 20, per_ms: 60_000 }],
    feishu: [
      { max: 5, per_ms: 1_000 },
      { max: 100, per_ms: 60_000 },
    ],
  } as Record<string, RateLimit[]>,
} as const;

export type EngineDefaults = typeof ENGINE_DEFAULTS;
