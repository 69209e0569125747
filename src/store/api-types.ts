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
}

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
}

export type Transition = Omit<HistoryEntry, 'id'> & {
  /** A sub-device gone offline: the reason its box gave (ep_detail). In events, not in history rows. */
  detail?: string;
};

export interface FleetSummary {
  boxes: { total: number; online: number; offline: number };
  /** Sub-devices in the latest report of each box; those of offline boxes count as unknown. */
  sub_devices: { total: number; online: number; offline: number; unknown: number };
}
