// The grouped notification every channel renders: one message about a group of status
// changes (a location, a rule, a digest window), with the counts people read first.
import type { EpType } from '../../protocol/index.js';
import type { Lang } from '../channels/types.js';

export type { Lang };
export type SubjectKind = 'box' | 'sub_device';
export type Status = 'online' | 'offline' | 'unknown';
export type ChangeReason = 'first_seen' | 'report' | 'missing_from_report' | 'report_timeout';

export interface ChangeEntry {
  subject: SubjectKind;
  dev_sno: string;
  /** The box's name from the registry. */
  box_name: string | null;
  /** Sub-device only: its ep_name. */
  camera_name?: string | null;
  ep_type?: EpType | null;
  /** ep_ip or stream URL; credentials are stripped when rendered. */
  address?: string | null;
  /** ep_location for a sub-device, the registry location for a box. */
  location?: string | null;
  from: Status | null;
  to: Status;
  /** When the new status began (ISO). */
  since: string;
  /** When the previous status began (ISO), for "back online after 12 min offline". */
  from_since?: string | null;
  reason: ChangeReason;
  /** A camera gone offline: why, as its box said (ep_detail: "ECONNREFUSED", "DESCRIBE 401 …"). */
  detail?: string | null;
  /** Transitions folded into this entry; more than 1 means the subject flapped. */
  transitions?: number;
  /** The dashboard page of this box / camera. */
  link?: string | null;
}

export interface GroupedNotification {
  kind: 'alert' | 'test';
  group: {
    key: string;
    /** What the group is called for people, e.g. a location or rule name. */
    label: string;
  };
  changes: ChangeEntry[];
  /** When the notification is rendered (ISO); durations are measured to it. */
  at: string;
  /** The n-th reminder about problems that are still open. */
  reminder?: { count: number } | null;
  /** Escalated to a wider audience after staying unresolved. */
  escalation?: { level: number } | null;
  /** The dashboard page for this group. */
  link: string;
}

export interface NotificationCounts {
  camerasOffline: number;
  /** Boxes the offline cameras belong to. */
  boxesWithOfflineCameras: number;
  boxesOffline: number;
  /** Cameras whose state is unknown (their box stopped reporting them), apart from offline ones. */
  camerasUnknown: number;
  camerasRecovered: number;
  boxesRecovered: number;
  flapping: number;
}

/** Whether anything in the notification is a problem (rather than only recoveries). */
export function hasProblems(c: NotificationCounts): boolean {
  return c.camerasOffline + c.camerasUnknown + c.boxesOffline > 0;
}

export function countChanges(changes: readonly ChangeEntry[]): NotificationCounts {
  const boxesOfCameras = new Set<string>();
  const c: NotificationCounts = {
    camerasOffline: 0,
    boxesWithOfflineCameras: 0,
    boxesOffline: 0,
    camerasUnknown: 0,
    camerasRecovered: 0,
    boxesRecovered: 0,
    flapping: 0,
  };
  for (const e of changes) {
    if ((e.transitions ?? 1) > 1) c.flapping++;
    const down = e.to !== 'online';
    if (e.subject === 'sub_device') {
      if (e.to === 'offline') {
        c.camerasOffline++;
        boxesOfCameras.add(e.dev_sno);
      } else if (e.to === 'unknown') c.camerasUnknown++;
      else c.camerasRecovered++;
    } else if (down) c.boxesOffline++;
    else c.boxesRecovered++;
  }
  c.boxesWithOfflineCameras = boxesOfCameras.size;
  return c;
}

/** Problems first (boxes, then cameras), then recoveries; oldest first within each. */
export function orderChanges(changes: readonly ChangeEntry[]): { down: ChangeEntry[]; up: ChangeEntry[] } {
  const bySubjectThenTime = (a: ChangeEntry, b: ChangeEntry) =>
    (a.subject === b.subject ? 0 : a.subject === 'box' ? -1 : 1) || a.since.localeCompare(b.since);
  return {
    down: changes.filter((e) => e.to !== 'online').sort(bySubjectThenTime),
    up: changes.filter((e) => e.to === 'online').sort(bySubjectThenTime),
  };
}
