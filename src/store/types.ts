// The storage interface shared by the SQLite and PostgreSQL backends.
import type { EventEmitter } from 'node:events';
import type { Report } from '../protocol/index.js';
import type { EpType } from '../protocol/schema.js';
import type {
  BoxState,
  BoxStatus,
  FleetSummary,
  HistoryEntry,
  Location,
  SubDevicePage,
  SubDevicePresence,
  SubDeviceState,
  Transition,
} from './api-types.js';
import type { Accounts } from './accounts.js';
import type { Digest } from '../util/body-digest.js';
import type { AlertingStore } from './alerting-rows.js';
import type { CodeListEntry, CodeSource, CodeStatus, RegistryEntry } from './api-types.js';
import type { PlatformStore, SilenceRule } from './platform.js';

// The shapes the read API answers with live in api-types.ts (no Node imports), so the
// dashboard type-checks against the very same definitions.
export * from './api-types.js';

export interface IngestResult {
  transitions: Transition[];
}

export type BoxSort = 'dev_sno' | 'name' | 'location' | 'status_since' | 'last_report';

export interface ListBoxesQuery {
  status?: BoxStatus;
  /** Substring of dev_sno. */
  q?: string;
  /** The registry location, or a location id one of the box's sub-devices reports. */
  location?: string;
  /** The software version of the box's latest health (sw_version), exactly; boxes that send none never match. */
  version?: string;
  /** Boxes whose disk is at least this full (percent, latest health); boxes that send none never match. */
  disk_min?: number;
  /** Leave these boxes out (before paging): e.g. those whose problem is acknowledged or silenced. */
  exclude_dev_snos?: string[];
  /** Default dev_sno; ties are ordered by dev_sno. */
  sort?: BoxSort;
  order?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
}

/** Time range of history queries, ms since the epoch: from <= at < to. */
export interface TimeRange {
  from?: number;
  to?: number;
}

export interface HistoryQuery extends TimeRange {
  ep_id?: string;
  /** Only entries with an id below this (cursor for paging back). */
  before?: number;
  limit?: number;
}

export interface FleetHistoryQuery extends TimeRange {
  dev_sno?: string;
  ep_id?: string;
  /** Only entries with an id below this (cursor for paging back). */
  before?: number;
  limit?: number;
}

export type SubDeviceSort = 'down_since' | 'location' | 'type' | 'box' | 'name';

/** GET /api/sub-devices: every filter narrows (several values of one filter: any of them). */
export interface SubDeviceQuery {
  status?: SubDevicePresence[];
  type?: EpType[];
  location?: string[];
  dev_sno?: string;
  /** Part of ep_name, ep_id, ep_ip, the box's or the location's name; case-insensitive (ASCII). */
  q?: string;
  /** Leave these sub-devices out (before paging): e.g. those whose problem is acknowledged or silenced. */
  exclude_ep_ids?: string[];
  /** Default box (dev_sno, ep_id). */
  sort?: SubDeviceSort;
  /** From the previous page's next_cursor (decoded by paging.ts; must be of the same sort). */
  after?: unknown[];
  limit?: number;
}

/** One status change as availability and outages need it (oldest first). */
export interface StatusChange {
  id: number;
  at: number;
  ep_id: string | null;
  to_status: string;
}

export interface LocationFields {
  name: string;
  parent_id?: string | null;
  lat?: number | null;
  lon?: number | null;
}


// ---- device registry (dev_sno = authorization code issued by the platform)

/** open: unknown dev_sno are registered on their first report; strict: they get 403. */
export type RegistryMode = 'open' | 'strict';

export interface ListCodesQuery {
  status?: CodeStatus;
  /** The period a box is told when neither it nor its group has one (the receiver's setting). */
  fleet_period_s?: number;
}

export interface NewCode {
  dev_sno: string;
  source: Exclude<CodeSource, 'auto'>;
  name?: string | null;
  location?: string | null;
}

/** Thrown by ingest when the registry refuses the report; nothing is stored. */
export class RegistryRejectedError extends Error {
  constructor(
    readonly devSno: string,
    readonly reason: 'unknown_code' | 'revoked_code',
  ) {
    super(reason === 'unknown_code' ? `dev_sno ${devSno} is not a registered code` : `dev_sno ${devSno} has been revoked`);
    this.name = 'RegistryRejectedError';
  }
}

export interface IngestOptions {
  /** Default open. A revoked code is refused in both modes. */
  registryMode?: RegistryMode;
  /**
   * The exact bytes the report was parsed from, if there were any. Parsing is deterministic, so
   * the same bytes again are the same report: a store may use that to recognize a repeat cheaply.
   */
  source?: Uint8Array;
}

// ---- alerts (durable webhook outbox)

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One alert queued for one webhook URL. */
export interface AlertDelivery {
  id: number;
  url: string;
  subject: string;
  /** The exact JSON body sent (so a retry re-sends the same bytes and signature). */
  body: string;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  last_http_status: number | null;
  created_at: string;
  updated_at: string;
  next_attempt_at: string | null;
  delivered_at: string | null;
}

export interface DeliveryQuery {
  status?: DeliveryStatus;
  before?: number;
  limit?: number;
}

export interface AlertQueueOptions {
  now: number;
  /** Per subject, at most one alert per window; later transitions are held and coalesced. */
  dedupMs: number;
  urls: string[];
}

export interface DeliveryResult {
  ok: boolean;
  httpStatus: number | null;
  error: string | null;
  now: number;
  /** When to try again; null = give up (failed) unless ok. */
  retryAt: number | null;
}

/** Where a delivery stands after an attempt with this result. */
export function deliveryStatusAfter(r: DeliveryResult): DeliveryStatus {
  return r.ok ? 'delivered' : r.retryAt === null ? 'failed' : 'pending';
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Operator accounts, sessions, API keys, the audit log, history retention (accounts.ts). */
  readonly accounts: Accounts;
  /** Box logins, report periods and health series (issue 11), on the same database. */
  readonly platform: PlatformStore;
  /**
   * Stores one validated report atomically and returns the status transitions it caused. The
   * report must come from the protocol's validation (parseReport): stores rely on its rules
   * (e.g. no NUL characters, which PostgreSQL text cannot hold).
   */
  ingest(report: Report, receivedAt: number, opts?: IngestOptions): Promise<IngestResult>;
  /**
   * Optional short path for a byte-for-byte repeat, known only by the digest of its bytes (see
   * util/body-digest.ts): stores it as ingest would store the report those bytes parse to, and
   * resolves true, when the store knows that report to be exactly what its rows already say
   * (passed earlier to ingest with those bytes as `source`). Returns undefined right away when
   * it does not know that; resolves false when it learned otherwise before writing (a revoked
   * code, the box gone offline): nothing was stored then, and the caller ingests the report.
   */
  ingestRepeat?(devSno: string, digest: Digest, receivedAt: number): Promise<boolean> | undefined;
  listBoxes(query?: ListBoxesQuery): Promise<{ total: number; boxes: BoxState[] }>;
  getBox(devSno: string): Promise<{ box: BoxState; sub_devices: SubDeviceState[] } | null>;
  history(devSno: string, query?: HistoryQuery): Promise<HistoryEntry[]>;
  /** Transitions of every box and sub-device, newest first. */
  fleetHistory(query?: FleetHistoryQuery): Promise<HistoryEntry[]>;
  summary(): Promise<FleetSummary>;
  /** Sub-devices of the whole fleet, filtered, sorted and paged by cursor (keyset). */
  listSubDevices(query?: SubDeviceQuery): Promise<SubDevicePage>;
  /**
   * The status changes of a box and its sub-devices that decide their state from `from` on:
   * for each, the last change before `from`, then every change up to `to`; oldest first.
   */
  statusChanges(devSno: string, from: number, to: number): Promise<StatusChange[]>;
  listLocations(): Promise<Location[]>;
  getLocation(id: string): Promise<Location | null>;
  /** Creates or replaces a location; `created` tells which. */
  putLocation(id: string, fields: LocationFields, now: number): Promise<{ location: Location; created: boolean }>;
  /** false when there was no such location. */
  deleteLocation(id: string): Promise<boolean>;
  /**
   * Atomically marks offline every online box whose last report is older than cutoffMs,
   * records a 'report_timeout' history entry for each, and returns those transitions.
   */
  markSilentBoxesOffline(cutoffMs: number, now: number): Promise<Transition[]>;
  /**
   * As markSilentBoxesOffline, but each box judged by its own timeout: the report period it was
   * told at its last login x misses, else the default (issue 11; src/store/platform.ts).
   */
  markSilentBoxesOfflineByPeriod(rule: SilenceRule, now: number): Promise<Transition[]>;
  /**
   * Vacuums the tables ingest rewrites when the database server does not (PostgreSQL with
   * autovacuum off; postgres/maintenance.ts). Absent where nothing needs it (SQLite).
   */
  upkeepTables?(): Promise<{ vacuumed: string[] }>;

  /** Adds a code; null when the dev_sno is already in the registry. */
  addCode(code: NewCode, now: number): Promise<RegistryEntry | null>;
  getCode(devSno: string): Promise<RegistryEntry | null>;
  /** Every code with its effective report period, worked out in the same query (no per-row lookups). */
  listCodes(query?: ListCodesQuery): Promise<CodeListEntry[]>;
  /** Sets status active/revoked; null when unknown. */
  setCodeStatus(devSno: string, status: CodeStatus, now: number): Promise<RegistryEntry | null>;
  /** Updates name/location (undefined = keep, null = clear); null when unknown. */
  updateCode(devSno: string, fields: { name?: string | null; location?: string | null }, now: number): Promise<RegistryEntry | null>;

  /**
   * Turns transitions into queued deliveries (one per URL) under the de-duplication rule
   * (see alerts/plan.ts). Returns how many alerts were queued and how many transitions held.
   */
  queueAlerts(transitions: Transition[], opts: AlertQueueOptions): Promise<{ queued: number; held: number }>;
  /** Queues the coalesced alert of every subject whose window has ended with transitions held. */
  releaseHeldAlerts(opts: AlertQueueOptions): Promise<number>;
  /** Pending deliveries due by now, leased until leaseUntil so a concurrent claim skips them. */
  claimDueDeliveries(now: number, leaseUntil: number, limit: number): Promise<AlertDelivery[]>;
  recordDeliveryResult(id: number, result: DeliveryResult): Promise<void>;
  listDeliveries(query?: DeliveryQuery): Promise<AlertDelivery[]>;
  deliveryCounts(): Promise<Record<DeliveryStatus, number>>;
  /** Deletes delivered and failed deliveries last updated before `before` (ms); returns how many. */
  pruneDeliveries(before: number): Promise<number>;

  /** Alerting (issue 12): channels, rules, silences, engine steps, notifications outbox. */
  readonly alerting: AlertingStore;

  /** Cheap round trip to the database, for /healthz. */
  ping(): Promise<void>;
  /**
   * Competes for the leadership called `name` among every process sharing this database
   * (and every other acquisition in this one): at most one holder at a time. A follower keeps
   * trying, so when the leader releases it or its process dies another takes over within seconds.
   * Resolves after the first attempt; watch 'change' for what happens next.
   */
  acquireLeadership(name: string): Promise<Leadership>;
  /**
   * Sends a small JSON message (at most MAX_MESSAGE_BYTES once encoded) to every subscriber of
   * `channel` in every process sharing this database, this one included. Best effort: a
   * subscriber that is disconnected at that moment misses it, so send hints ("box X changed"),
   * not data that exists nowhere else.
   */
  publish(channel: string, payload: object): Promise<void>;
  /** Resolves once messages on `channel` are being received; the result unsubscribes. */
  subscribe(channel: string, onMessage: (payload: unknown) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface LeadershipEvents {
  /** Fired whenever isLeader() flips. */
  change: [isLeader: boolean];
}

export interface Leadership extends EventEmitter<LeadershipEvents> {
  readonly name: string;
  isLeader(): boolean;
  /** Gives the leadership up (if held) and stops competing for it. */
  release(): Promise<void>;
}

/** PostgreSQL's NOTIFY payload limit is 8000 bytes; both backends enforce the same bound. */
export const MAX_MESSAGE_BYTES = 7999;
/** PostgreSQL identifiers (LISTEN channels) are at most 63 bytes. */
export const MAX_CHANNEL_BYTES = 63;

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit) || limit <= 0) return DEFAULT_PAGE;
  return Math.min(Math.floor(limit), MAX_PAGE);
}
