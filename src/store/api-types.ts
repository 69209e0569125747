// What the read API answers with: shared by the stores (src/store/types.ts re-exports it) and
// the dashboard (web/src/api.ts), so the two cannot drift apart. Type-only, no Node imports.
import type { BoxHealth, Dialect, GatewayInfo, ReportEpType } from '../protocol/schema.js';

export type BoxStatus = 'online' | 'offline';
/** `removed`: the sub-device was missing from a later report of its box. */
export type SubDeviceStatus = 'online' | 'offline' | 'removed';
/** What the read API shows: `unknown` while the box itself is offline (nobody can tell). */
export type SubDevicePresence = SubDeviceStatus | 'unknown';

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
  /** From the device registry (null when not set). */
  name: string | null;
  location: string | null;
  /** The dialect of the box's last report, when not today's (see docs/protocol-dialects.md). */
  dialect?: Dialect;
  /** What the box said about itself in its last report (richer and older dialects). */
  gateway?: GatewayInfo;
  /** The box's health as of its last report that carried any. */
  health?: BoxHealth;
  /** GET /api/devices: the alert state of the box's open problem (null: none open). */
  alert?: AlertState | null;
}

/** Where alerting stands on a box or camera that is down (its open alert problem). */
export interface AlertState {
  /** `box:<dev_sno>` or `sub:<ep_id>`: what POST /api/problems/ack takes. */
  subject: string;
  acknowledged: { by: string; at: string; note: string | null } | null;
  /** The silence that holds its notifications back now, and until when (null: no end). */
  silenced: { silence_id: string; until: string | null } | null;
}

/**
 * An operator changed what alerting says about problems: acknowledged or withdrew them, or made,
 * changed or ended a silence. Sent to the live views so that lists update the rows at once.
 */
export type AlertStateChange =
  /** These subjects are acknowledged now (`acknowledged`), or no longer (null). */
  | { kind: 'ack'; subjects: string[]; acknowledged: { by: string; at: string; note: string | null } | null }
  /** This silence holds these subjects' open problems now, until `until` (null: no end). */
  | { kind: 'silence'; silence_id: string; subjects: string[]; until: string | null }
  /** This silence holds nothing any more (ended, deleted, or changed: a `silence` change follows). */
  | { kind: 'silence_ended'; silence_id: string };

export interface SubDeviceState {
  dev_sno: string;
  ep_id: string;
  ep_ip: string;
  /** `unknown` while the box is offline; the stored status is in last_reported_status. */
  ep_status: SubDevicePresence;
  last_reported_status: SubDeviceStatus;
  ep_location: string;
  ep_type: ReportEpType;
  ep_name: string;
  extra: Record<string, unknown>;
  /** Why the box says the sub-device is offline, as of its last report. */
  ep_detail?: string;
  /** The stream address with credentials hidden. */
  ep_url?: string;
  /** The vendor's ep_type number, when the box sent one. */
  ep_type_code?: number;
  ep_ext_data?: Record<string, unknown>;
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
  /** A sub-device gone offline: the reason its box gave (ep_detail) in that report; else null. */
  detail: string | null;
}

export type Transition = Omit<HistoryEntry, 'id' | 'detail'> & {
  /** A sub-device gone offline: the reason its box gave (ep_detail); stored in its history row. */
  detail?: string;
};

export interface FleetSummary {
  boxes: { total: number; online: number; offline: number };
  /** Sub-devices in the latest report of each box; those of offline boxes count as unknown.
   * `removed` ones (missing from their box's latest report) are counted apart, not in total. */
  sub_devices: SubDeviceCounts;
}

// ---- Operator console (issue 13)

/** A fleet summary's sub-device counts; `removed` is apart: total = online + offline + unknown. */
export interface SubDeviceCounts {
  total: number;
  online: number;
  offline: number;
  unknown: number;
  /** Missing from their box's latest report; not in total. */
  removed: number;
}

/** One sub-device in the fleet-wide list (GET /api/sub-devices): names, not only ids. */
export interface FleetSubDevice {
  dev_sno: string;
  /** Registry name and location of the box (null when not set). */
  box_name: string | null;
  box_location: string | null;
  box_status: BoxStatus;
  ep_id: string;
  ep_name: string;
  ep_type: ReportEpType;
  ep_ip: string;
  /** The stream's URL (from ep_id or ep_ip) without user name or password; null if none. */
  stream_url: string | null;
  /** ep_location as the box sends it, and its name in the location directory (null if unnamed). */
  location_id: string;
  location_name: string | null;
  /** `unknown` while the box is offline. */
  status: SubDevicePresence;
  last_reported_status: SubDeviceStatus;
  /** Since when `status` holds: the sub-device's last change, or the box's going offline for unknown. */
  since: string;
  /** Reason of the transition that started `status` (the box's for unknown); null if none recorded. */
  reason: HistoryReason | null;
  /** The box's own explanation (sub-device extra field ep_detail) when it sends one. */
  detail: string | null;
  last_seen_at: string;
  /** The alert state of its open problem (null: none open). */
  alert?: AlertState | null;
}

export interface SubDevicePage {
  /** Rows the filters match; on the first page only (null with a cursor: counting again costs). */
  total: number | null;
  sub_devices: FleetSubDevice[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

/** An entry of the location directory. */
export interface Location {
  id: string;
  name: string;
  parent_id: string | null;
  lat: number | null;
  lon: number | null;
  created_at: string;
  updated_at: string;
}

/** Availability of one box or camera over a window. */
export interface AvailabilityFigures {
  /** online time / observed time, 0..1; null when nothing was observed in the window. */
  availability: number | null;
  up_ms: number;
  down_ms: number;
  observed_ms: number;
}

export interface Availability {
  dev_sno: string;
  window: string;
  from: string;
  to: string;
  box: AvailabilityFigures;
  sub_devices: Array<AvailabilityFigures & { ep_id: string; ep_name: string }>;
}

/** A time a box (ep_id null) or camera was down: offline, or its box was. */
export interface Outage {
  dev_sno: string;
  ep_id: string | null;
  start: string;
  /** null while it lasts. */
  end: string | null;
  duration_ms: number;
  /** The outage began before the range asked for; start is the range's start. */
  clipped: boolean;
}

/** How a box last logged in to the platform (GET /login; src/store/platform.ts). */
export interface BoxLogin {
  dev_sno: string;
  /** The MAC of the last login (12 lower-case hex digits). */
  mac: string;
  /** Every MAC the code logged in from, oldest first (at most 8). */
  macs: string[];
  /** More than one MAC: the code may be in use on a cloned box. */
  mac_conflict: boolean;
  login_count: number;
  first_login_at: string;
  last_login_at: string;
  /** The report period handed out at the last login. */
  period_s: number;
}

// ---- The device registry (codes) and report periods: the admin API's answers.

export type CodeStatus = 'active' | 'revoked';
/** issued: generated by the platform; registered: an existing code entered by an admin; auto: first report in open mode. */
export type CodeSource = 'issued' | 'registered' | 'auto';

export interface RegistryEntry {
  dev_sno: string;
  status: CodeStatus;
  source: CodeSource;
  name: string | null;
  location: string | null;
  created_at: string;
  updated_at: string;
  revoked_at: string | null;
  /** Last report of the box, null if it never reported. */
  last_report_at: string | null;
}

/** A code as the codes list shows it: with its group and the report period it is told at login. */
export interface CodeListEntry extends RegistryEntry {
  group: string | null;
  /** The box's own period; null when it has none. */
  report_period_s: number | null;
  /** The period the box is told at login (its own, else its group's, else the fleet default) and which one that is. */
  effective_period_s: number;
  period_source: PeriodSource;
}

export type PeriodSource = 'box' | 'group' | 'fleet';

export interface BoxSettings {
  dev_sno: string;
  group: string | null;
  report_period_s: number | null;
  /** The period the box is told at login, and where it comes from. */
  effective_period_s: number;
  period_source: PeriodSource;
}

export interface BoxGroup {
  name: string;
  report_period_s: number | null;
  boxes: number;
}
