// How stored rows become API objects: shared by the SQLite and PostgreSQL stores, which keep
// the same columns (times in ms since the epoch) so that both answer with identical objects.
import type { AlertSubjectState } from './alert-plan.js';
import { liftBoxFields, liftSubFields } from './platform-fields.js';
import { presentSubDevice } from './present.js';
import type {
  AlertDelivery,
  BoxState,
  BoxStatus,
  CodeListEntry,
  CodeStatus,
  DeliveryStatus,
  FleetSummary,
  HistoryEntry,
  RegistryEntry,
  SubDeviceState,
  SubDeviceStatus,
  Transition,
} from './types.js';

export interface BoxRow {
  dev_sno: string;
  status: BoxStatus;
  first_seen_at: number;
  last_report_at: number;
  status_changed_at: number;
  report_count: number;
  sub_online: number;
  sub_offline: number;
  extra: string;
  name?: string | null;
  location?: string | null;
}

export interface RegistryRow {
  dev_sno: string;
  status: CodeStatus;
  source: RegistryEntry['source'];
  name: string | null;
  location: string | null;
  created_at: number;
  updated_at: number;
  revoked_at: number | null;
  last_report_at: number | null;
}

export interface DeliveryRow {
  id: number;
  alert_id: string;
  subject: string;
  url: string;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  last_http_status: number | null;
  created_at: number;
  updated_at: number;
  next_attempt_at: number | null;
  delivered_at: number | null;
}

/** The de-duplication state as stored: the held transition as JSON text. */
export type SubjectRow = Omit<AlertSubjectState, 'held'> & { held: string | null };

export interface SubRow {
  dev_sno: string;
  ep_id: string;
  ep_ip: string;
  ep_status: SubDeviceStatus;
  ep_location: string;
  ep_type: SubDeviceState['ep_type'];
  ep_name: string;
  extra: string;
  first_seen_at: number;
  last_seen_at: number;
  status_changed_at: number;
}

export interface HistoryRow {
  id: number;
  at: number;
  dev_sno: string;
  ep_id: string | null;
  from_status: string | null;
  to_status: string;
  reason: HistoryEntry['reason'];
  detail: string | null;
}

export const iso = (ms: number) => new Date(ms).toISOString();
export const isoOrNull = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : iso(Number(ms)));

export function boxFromRow(r: BoxRow): BoxState {
  // The dialect, gateway and health ride in the stored extra (platform-fields.ts).
  const { extra, fields } = liftBoxFields(typeof r.extra === 'string' ? JSON.parse(r.extra) : r.extra);
  return {
    dev_sno: r.dev_sno,
    status: r.status,
    first_seen_at: iso(Number(r.first_seen_at)),
    last_report_at: iso(Number(r.last_report_at)),
    status_changed_at: iso(Number(r.status_changed_at)),
    report_count: Number(r.report_count),
    sub_devices_online: Number(r.sub_online),
    sub_devices_offline: Number(r.sub_offline),
    extra,
    name: r.name ?? null,
    location: r.location ?? null,
    ...fields,
  };
}

export function subFromRow(r: SubRow, boxStatus: BoxStatus = 'online'): SubDeviceState {
  // ep_detail, ep_url, ep_type_code and ep_ext_data ride in the stored extra (platform-fields.ts).
  const { extra, fields } = liftSubFields(typeof r.extra === 'string' ? JSON.parse(r.extra) : r.extra);
  return presentSubDevice({
    dev_sno: r.dev_sno,
    ep_id: r.ep_id,
    ep_ip: r.ep_ip,
    ep_status: r.ep_status,
    ep_location: r.ep_location,
    ep_type: r.ep_type,
    ep_name: r.ep_name,
    extra,
    first_seen_at: iso(Number(r.first_seen_at)),
    last_seen_at: iso(Number(r.last_seen_at)),
    status_changed_at: iso(Number(r.status_changed_at)),
    ...fields,
  }, boxStatus);
}

/** When a registry entry or a delivery was made and last changed. */
function createdUpdated(r: { created_at: number; updated_at: number }): { created_at: string; updated_at: string } {
  return { created_at: iso(Number(r.created_at)), updated_at: iso(Number(r.updated_at)) };
}

/** A codes-list row: the registry row plus the report period columns of CODE_PERIOD_SQL. */
export interface CodeListRow extends RegistryRow {
  group_name: string | null;
  box_period_s: number | string | null;
  effective_period_s: number | string;
  period_source: CodeListEntry['period_source'];
}

/**
 * The codes list's select and joins (both stores: plain SQL), with `fleetParam` the placeholder of
 * the fleet default period: a box's own period wins, then its group's, then the fleet's.
 */
export function codeListSql(fleetParam: string): { columns: string; joins: string } {
  return {
    columns: `r.*, b.last_report_at, s.group_name, s.report_period_s AS box_period_s,
      COALESCE(s.report_period_s, g.report_period_s, ${fleetParam}) AS effective_period_s,
      CASE WHEN s.report_period_s IS NOT NULL THEN 'box' WHEN g.report_period_s IS NOT NULL THEN 'group' ELSE 'fleet' END AS period_source`,
    joins: `LEFT JOIN boxes b ON b.dev_sno = r.dev_sno
      LEFT JOIN box_settings s ON s.dev_sno = r.dev_sno
      LEFT JOIN box_groups g ON g.name = s.group_name`,
  };
}

export function codeListEntryFromRow(r: CodeListRow): CodeListEntry {
  return {
    ...registryFromRow(r),
    group: r.group_name,
    report_period_s: r.box_period_s === null ? null : Number(r.box_period_s),
    effective_period_s: Number(r.effective_period_s),
    period_source: r.period_source,
  };
}

export function registryFromRow(r: RegistryRow): RegistryEntry {
  return {
    dev_sno: r.dev_sno,
    status: r.status,
    source: r.source,
    name: r.name,
    location: r.location,
    ...createdUpdated(r),
    revoked_at: isoOrNull(r.revoked_at),
    last_report_at: isoOrNull(r.last_report_at),
  };
}

export function deliveryFromRow(r: DeliveryRow): AlertDelivery {
  return {
    id: Number(r.id),
    url: r.url,
    subject: r.subject,
    body: r.body,
    status: r.status,
    attempts: Number(r.attempts),
    last_error: r.last_error,
    last_http_status: r.last_http_status === null ? null : Number(r.last_http_status),
    ...createdUpdated(r),
    next_attempt_at: isoOrNull(r.next_attempt_at),
    delivered_at: isoOrNull(r.delivered_at),
  };
}

export function subjectFromRow(r: SubjectRow): AlertSubjectState {
  return {
    subject: r.subject,
    dev_sno: r.dev_sno,
    ep_id: r.ep_id,
    last_sent_at: Number(r.last_sent_at),
    last_sent_status: r.last_sent_status,
    held_count: Number(r.held_count),
    held: r.held ? (JSON.parse(r.held) as Transition) : null,
  };
}

export function historyFromRow(r: HistoryRow): HistoryEntry {
  return {
    id: Number(r.id),
    at: iso(Number(r.at)),
    dev_sno: r.dev_sno,
    ep_id: r.ep_id,
    from_status: r.from_status,
    to_status: r.to_status,
    reason: r.reason,
    detail: r.detail ?? null,
  };
}

/** The fleet's counts as both stores read them (numbers or numeric text): sub-devices of an
 * offline box count as unknown. */
export function summaryFromCounts(
  r: Record<'total' | 'online' | 'sub_online' | 'sub_offline' | 'sub_unknown' | 'sub_removed', number | string>,
): FleetSummary {
  const total = Number(r.total);
  const online = Number(r.online);
  const sub = { online: Number(r.sub_online), offline: Number(r.sub_offline), unknown: Number(r.sub_unknown) };
  return {
    boxes: { total, online, offline: total - online },
    // removed: no longer in their box's reports, so not in total (which the other three add up to).
    sub_devices: { total: sub.online + sub.offline + sub.unknown, ...sub, removed: Number(r.sub_removed) },
  };
}

/** Deliveries per status, every status present (0 when none). */
export function deliveryCountsFromRows(rows: Array<{ status: DeliveryStatus; n: number | string }>): Record<DeliveryStatus, number> {
  const counts: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, failed: 0 };
  for (const r of rows) counts[r.status] = Number(r.n);
  return counts;
}
