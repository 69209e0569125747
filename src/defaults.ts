// Every default of devstatus that more than one place needs (the code that applies it and the
// CLI help that shows it): one value, one home.

/** The receiver: a drop-in for the vendor's sample server (POST /DeviceStatus on :9528). */
export const SERVER_DEFAULTS = {
  host: '0.0.0.0',
  port: 9528,
  path: '/DeviceStatus',
  bodyLimit: 1024 * 1024,
  /** Bytes of report bodies held in memory at once, all connections together; more is a 503. */
  bodyBudgetBytes: 64 * 1024 * 1024,
  /** A body (or headers) that makes no progress for this long is dropped (408). */
  bodyTimeoutMs: 15_000,
  /** At shutdown, requests in flight get this long to be answered before connections are cut. */
  shutdownGraceMs: 3000,
} as const;

/** Dashboard logins: a session lasts this long (server-side; logout and password change end it). */
export const SESSION_DEFAULTS = { maxAgeMs: 7 * 24 * 3600_000 } as const;

/** Login attempts: at most this many failures per account and per address in the window. */
export const LOGIN_LIMITS = { maxFailures: 5, windowMs: 15 * 60_000 } as const;

/** History and delivered alerts older than this are deleted, a small batch at a time. */
export const RETENTION_DEFAULTS = { days: 90, batchRows: 500, intervalMs: 60_000 } as const;

/** How often the leader looks whether tables need the vacuum the database server does not do. */
export const TABLE_UPKEEP_DEFAULTS = { intervalMs: 60_000 } as const;

/** SQLite database file of `devstatus serve` when neither --db nor DATABASE_URL is given. */
export const DEFAULT_DB_FILE = './data/devstatus.db';

/** Box-offline detection: no report for reportIntervalMs x misses. */
export const OFFLINE_DEFAULTS = { reportIntervalMs: 5000, misses: 3 } as const;

/**
 * The management platform's side of the protocol (issue 11): where boxes log in, the report
 * period they are told (the vendor's default, 20 s) unless their own or their group's is set,
 * and how box health is kept. Boxes that never logged in are judged by OFFLINE_DEFAULTS.
 */
export const PLATFORM_DEFAULTS = {
  loginPath: '/login',
  reportPeriodS: 20,
  /** One health point per box per bucket, kept this long. */
  healthBucketMs: 5 * 60_000,
  healthKeepMs: 24 * 3600_000,
} as const;

/** Webhook alerts. */
export const ALERT_DEFAULTS = {
  dedupMs: 60_000,
  maxAttempts: 10,
  retryBaseMs: 1000,
  retryMaxMs: 5 * 60_000,
  timeoutMs: 5000,
  pollMs: 1000,
  /** Delivered and failed deliveries are kept this long for the API, then deleted. */
  retentionMs: 30 * 24 * 3600_000,
} as const;

/**
 * Memory for recognizing each box's byte-for-byte repeats (a digest of its last report, about 64
 * bytes a box: 64 MiB holds a million boxes), in the receiver and again in the SQLite store.
 */
export const REPEAT_MEMORY_BYTES = 64 * 1024 * 1024;

/** Config file of `devstatus agent` / `devstatus report`. */
export const DEFAULT_AGENT_CONFIG = 'agent.yaml';

/** `devstatus simulate`. */
export const SIM_DEFAULTS = {
  url: 'http://127.0.0.1:9528/DeviceStatus',
  boxes: 10,
  subDevices: 8,
  intervalS: 5,
  seed: 1,
  flap: 0.02,
  silence: 0.01,
  silenceForS: 30,
  concurrency: 64,
  timeoutS: 10,
  offlineShare: 0.05,
  dialect: 'current',
  queueMax: 1000,
} as const;

/** Report dialects the simulator sends (the older one is only ever received). */
export const SIM_DIALECTS = ['current', 'rich'] as const;
