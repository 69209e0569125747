// The storage interface shared by the SQLite and PostgreSQL backends.
import type { EventEmitter } from 'node:events';
import type { EpType, Report } from '../protocol/index.js';

export type BoxStatus = 'online' | 'offline';
/** `removed`: the sub-device was missing from a later report of its box. */
export type SubDeviceStatus = 'online' | 'offline' | 'removed';

export interface BoxState {
  dev_sno: string;
  status: BoxStatus;
  first_seen_at: string;
  last_report_at: string;
  status_changed_at: string;
  report_count: number;
  sub_devices_online: number;
  sub_devices_offline: number;
  extra: Record<string, unknown>;
}

export interface SubDeviceState {
  dev_sno: string;
  ep_id: string;
  ep_ip: string;
  ep_status: SubDeviceStatus;
  ep_location: string;
  ep_type: EpType;
  ep_name: string;
  extra: Record<string, unknown>;
  first_seen_at: string;
  last_seen_at: string;
  status_changed_at: string;
}

export type HistoryReason = 'first_seen' | 'report' | 'missing_from_report' | 'report_timeout';

export interface HistoryEntry {
  id: number;
  at: string;
  dev_sno: string;
  /** null when the entry is about the box itself. */
  ep_id: string | null;
  from_status: string | null;
  to_status: string;
  reason: HistoryReason;
}

export type Transition = Omit<HistoryEntry, 'id'>;

export interface IngestResult {
  transitions: Transition[];
}

export interface ListBoxesQuery {
  status?: BoxStatus;
  /** Substring of dev_sno. */
  q?: string;
  limit?: number;
  offset?: number;
}

export interface HistoryQuery {
  ep_id?: string;
  /** Only entries with an id below this (cursor for paging back). */
  before?: number;
  limit?: number;
}

export interface FleetSummary {
  boxes: { total: number; online: number; offline: number };
  sub_devices: { total: number; online: number; offline: number };
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Stores one validated report atomically and returns the status transitions it caused. */
  ingest(report: Report, receivedAt: number): Promise<IngestResult>;
  listBoxes(query?: ListBoxesQuery): Promise<{ total: number; boxes: BoxState[] }>;
  getBox(devSno: string): Promise<{ box: BoxState; sub_devices: SubDeviceState[] } | null>;
  history(devSno: string, query?: HistoryQuery): Promise<HistoryEntry[]>;
  summary(): Promise<FleetSummary>;
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
