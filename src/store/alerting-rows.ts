// What both stores keep for alerting (issue 12) and the one interface they implement: channel,
// rule and silence configuration; history rows with names for the engine; the engine step
// (snapshot + cursor + notifications + suppressed events + applied acks) in ONE transaction;
// the notifications outbox, claimed with leases. Row <-> object conversions live here so the
// SQLite and PostgreSQL files only hold SQL.
import type { HistoryRow } from './rows.js';
import type { AlertEngineState, Notification, Rule, Silence, SuppressedEvent } from '../alerts/engine/index.js';

export interface StoredChannel {
  /** `<kind>:<slug>`: the engine's channel id (the prefix picks the chat rate limit). */
  id: string;
  kind: string;
  name: string;
  /** The channel's config, secrets included: never hand this out through the API. */
  config: Record<string, unknown>;
  enabled: boolean;
  created_at: number;
  updated_at: number;
}

/** A transition from the history table with the names a message needs. */
export interface HistoryEventRow extends Omit<HistoryRow, 'reason'> {
  reason: string;
  box_name: string | null;
  box_location: string | null;
  ep_name: string | null;
  ep_type: string | null;
  ep_ip: string | null;
  ep_location: string | null;
  /** Name of the location from the directory (the box's registry location, else the camera's). */
  location_name: string | null;
}

export interface AckRequest {
  id: number;
  subject: string;
  action: 'ack' | 'unack';
  by: string;
  note: string | null;
  at: number;
}

export interface AppliedAck {
  id: number;
  /** applied | not_open (the subject had no open problem when the engine looked). */
  result: string;
}

export interface EngineStep {
  /** The version loaded (or 0 when none was stored): the save fails when someone else saved since. */
  expectedVersion: number;
  state: AlertEngineState;
  cursor: number;
  notifications: Notification[];
  suppressed: SuppressedEvent[];
  acks: AppliedAck[];
  now: number;
}

export type NotificationStatus = 'pending' | 'delivered' | 'failed';

export interface StoredNotification {
  id: string;
  channel: string;
  rule_id: string;
  kind: string;
  severity: string;
  group_key: string;
  notification: Notification;
  transitions: number;
  status: NotificationStatus;
  attempts: number;
  next_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

export interface DeliveryOutcome {
  now: number;
  status: NotificationStatus;
  /** pending: when to try again. */
  next_at: number | null;
  error: string | null;
}

export interface StoredSuppressed {
  id: number;
  history_id: number;
  subject: string;
  reason: string;
  channel: string | null;
  silence_id: string | null;
  covered_by: string | null;
  at: number;
}

export interface NotificationQuery {
  status?: NotificationStatus;
  channel?: string;
  /** Only rows created before this (ms), for paging back. */
  before?: number;
  /** With `before`: also rows created at `before` whose id sorts before this one (the last row shown). */
  beforeId?: string;
  limit?: number;
}

export interface SuppressedQuery {
  reason?: string;
  silence_id?: string;
  before?: number;
  limit?: number;
}

export class EngineVersionConflict extends Error {
  constructor() {
    super('the alert engine state was saved by another receiver meanwhile');
    this.name = 'EngineVersionConflict';
  }
}

export interface AlertingStore {
  listChannels(): Promise<StoredChannel[]>;
  getChannel(id: string): Promise<StoredChannel | null>;
  /** Inserts or replaces. */
  putChannel(c: StoredChannel): Promise<void>;
  deleteChannel(id: string): Promise<boolean>;

  /** In order (position). */
  listRules(): Promise<Rule[]>;
  putRule(rule: Rule, position: number, now: number): Promise<void>;
  deleteRule(id: string): Promise<boolean>;

  listSilences(): Promise<Silence[]>;
  putSilence(s: Silence, now: number): Promise<void>;
  deleteSilence(id: string): Promise<boolean>;

  /** Transitions with id > afterId, oldest first, with names from the registry and sub-devices. */
  historyEventsAfter(afterId: number, limit: number): Promise<HistoryEventRow[]>;
  historyByIds(ids: number[]): Promise<HistoryEventRow[]>;
  /** The highest history id (0 when none): where a fresh engine starts. */
  lastHistoryId(): Promise<number>;

  loadEngine(): Promise<{ version: number; cursor: number; state: AlertEngineState } | null>;
  /** Saves one step in one transaction; throws EngineVersionConflict when another saved since. Returns the new version. */
  saveEngineStep(step: EngineStep): Promise<number>;

  requestAck(r: Omit<AckRequest, 'id'>): Promise<number>;
  pendingAcks(): Promise<AckRequest[]>;

  /** Pending notifications due by now, leased until leaseUntil (SKIP LOCKED on PostgreSQL). */
  claimDueNotifications(now: number, leaseUntil: number, limit: number): Promise<StoredNotification[]>;
  recordNotificationResult(id: string, attempts: number, o: DeliveryOutcome): Promise<void>;
  listNotifications(q?: NotificationQuery): Promise<StoredNotification[]>;
  listSuppressed(q?: SuppressedQuery): Promise<StoredSuppressed[]>;
  notificationCounts(): Promise<Record<NotificationStatus, number>>;
  /** A named history cursor kept apart from the engine's (the --webhook flags' feed). */
  loadCursor(name: string): Promise<number | null>;
  saveCursor(name: string, cursor: number, now: number): Promise<void>;
  /** Deletes delivered/failed notifications, suppressed events and applied acks older than `before` (ms). */
  pruneAlerting(before: number): Promise<number>;
}

// ---- rows

export interface ChannelRow {
  id: string;
  kind: string;
  name: string;
  config: string;
  enabled: number | boolean;
  created_at: number | string;
  updated_at: number | string;
}

export function channelFromRow(r: ChannelRow): StoredChannel {
  return {
    id: r.id,
    kind: r.kind,
    name: r.name,
    config: JSON.parse(r.config) as Record<string, unknown>,
    enabled: Boolean(r.enabled),
    created_at: Number(r.created_at),
    updated_at: Number(r.updated_at),
  };
}

/** The row as a driver returns it: the notification as JSON text, times maybe as strings (bigint). */
export interface NotificationRow extends Pick<StoredNotification, 'id' | 'channel' | 'rule_id' | 'kind' | 'severity' | 'group_key' | 'transitions'> {
  body: string;
  status: string;
  attempts: number;
  next_at: number | string | null;
  last_error: string | null;
  created_at: number | string;
  updated_at: number | string;
  delivered_at: number | string | null;
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

export function notificationFromRow(r: NotificationRow): StoredNotification {
  return {
    id: r.id,
    channel: r.channel,
    rule_id: r.rule_id,
    kind: r.kind,
    severity: r.severity,
    group_key: r.group_key,
    notification: JSON.parse(r.body) as Notification,
    transitions: r.transitions,
    status: r.status as NotificationStatus,
    attempts: r.attempts,
    next_at: num(r.next_at),
    last_error: r.last_error,
    created_at: Number(r.created_at),
    updated_at: Number(r.updated_at),
    delivered_at: num(r.delivered_at),
  };
}

/** The outbox row of a new notification: pending, due at once. */
export function notificationInsert(n: Notification, now: number) {
  return {
    id: n.id,
    channel: n.channel,
    rule_id: n.rule_id,
    kind: n.kind,
    severity: n.severity,
    group_key: n.group_key,
    body: JSON.stringify(n),
    transitions: n.covered_event_ids.length,
    now,
  };
}

export function suppressedInsert(s: SuppressedEvent) {
  return {
    history_id: Number(s.event_id),
    subject: s.subject,
    reason: s.reason,
    channel: s.channel,
    silence_id: s.silence_id ?? null,
    covered_by: s.covered_by ?? null,
    at: s.at,
  };
}

export function suppressedFromRow(r: Record<string, unknown>): StoredSuppressed {
  return {
    id: Number(r.id),
    history_id: Number(r.history_id),
    subject: String(r.subject),
    reason: String(r.reason),
    channel: (r.channel as string | null) ?? null,
    silence_id: (r.silence_id as string | null) ?? null,
    covered_by: (r.covered_by as string | null) ?? null,
    at: Number(r.at),
  };
}

export function historyEventFromRow(r: Record<string, unknown>): HistoryEventRow {
  return {
    id: Number(r.id),
    at: Number(r.at),
    dev_sno: String(r.dev_sno),
    ep_id: (r.ep_id as string | null) ?? null,
    from_status: (r.from_status as string | null) ?? null,
    to_status: String(r.to_status),
    reason: String(r.reason),
    detail: (r.detail as string | null) ?? null,
    box_name: (r.box_name as string | null) ?? null,
    box_location: (r.box_location as string | null) ?? null,
    ep_name: (r.ep_name as string | null) ?? null,
    ep_type: (r.ep_type as string | null) ?? null,
    ep_ip: (r.ep_ip as string | null) ?? null,
    ep_location: (r.ep_location as string | null) ?? null,
    location_name: (r.location_name as string | null) ?? null,
  };
}

/** History with names (registry, sub-devices); {where} is filled in by each query. */
export const HISTORY_EVENTS_SQL = `SELECT h.id, h.at, h.dev_sno, h.ep_id, h.from_status, h.to_status, h.reason, h.detail,
    r.name AS box_name, r.location AS box_location, s.ep_name, s.ep_type, s.ep_ip, s.ep_location,
    l.name AS location_name
  FROM history h
  LEFT JOIN registry r ON r.dev_sno = h.dev_sno
  LEFT JOIN sub_devices s ON s.dev_sno = h.dev_sno AND s.ep_id = h.ep_id
  LEFT JOIN locations l ON l.id = COALESCE(r.location, s.ep_location)`;

export const NOTIFICATION_COLUMNS =
  'id, channel, rule_id, kind, severity, group_key, body, transitions, status, attempts, next_at, last_error, created_at, updated_at, delivered_at';
