// The two translations around the engine: a history row (with registry and sub-device names)
// into the engine's AlertEvent, and the engine's Notification into the GroupedNotification the
// channels render (names, type, address, location, duration, reason, dashboard links).
import type { AlertEvent, Notification, NotificationItem } from './engine/index.js';
import type { HistoryEventRow } from '../store/alerting-rows.js';
import type { ChangeEntry, ChangeReason, GroupedNotification, Status } from './message/model.js';
import type { EpType } from '../protocol/index.js';

export function alertEventFromHistory(r: HistoryEventRow): AlertEvent {
  // The registry location (boxes) or the reported ep_location (cameras, often a UUID), named
  // from the location directory when it has an entry.
  const location = r.box_location ?? r.ep_location ?? null;
  return {
    id: String(r.id),
    kind: r.ep_id === null ? 'box' : 'sub_device',
    dev_sno: r.dev_sno,
    box_name: r.box_name,
    ep_id: r.ep_id,
    ep_name: r.ep_id === null ? null : r.ep_name || null,
    ep_type: r.ep_id === null ? null : r.ep_type,
    address: r.ep_id === null ? null : r.ep_ip,
    location_id: location,
    location_name: r.location_name ?? location,
    group: null,
    from: r.from_status,
    to: r.to_status,
    at: r.at,
    reason: r.reason,
    ep_detail: r.ep_id !== null && r.ep_location ? { ep_location: r.ep_location } : null,
    detail: r.detail,
  };
}

export function boxLink(base: string, devSno: string): string {
  return `${base.replace(/\/+$/, '')}/#/boxes/${encodeURIComponent(devSno)}`;
}

/** online/offline/unknown for the renderer; `removed` reads as unknown (nobody reports it). */
function status(s: string | null): Status | null {
  if (s === null) return null;
  return s === 'online' || s === 'offline' ? s : 'unknown';
}

function entry(i: NotificationItem, base: string): ChangeEntry {
  const e = i.event;
  const own = i.covered_event_ids.length - (i.cameras ?? []).reduce((n, c) => n + c.covered_event_ids.length, 0);
  return {
    subject: i.kind,
    dev_sno: e.dev_sno,
    box_name: e.box_name,
    camera_name: i.kind === 'sub_device' ? (e.ep_name ?? e.ep_id) : null,
    ep_type: (e.ep_type as EpType | null) ?? null,
    address: e.address,
    // The box's registry location reads better than a camera's raw ep_location (often an id).
    location: e.location_name,
    from: status(i.from),
    to: status(i.to) ?? 'unknown',
    since: new Date(i.since).toISOString(),
    from_since: null,
    reason: e.reason as ChangeReason,
    ...(e.detail ? { detail: e.detail } : {}),
    transitions: Math.max(1, own),
    link: boxLink(base, e.dev_sno),
  };
}

/** What the channels render from what the engine decided; `reminderCount` comes from the engine's problems. */
export function groupedFromNotification(n: Notification, opts: { base: string; now: number; reminderCount?: number }): GroupedNotification {
  const firstBox = n.items[0]?.event.dev_sno;
  const oneBox = firstBox !== undefined && n.items.every((i) => i.event.dev_sno === firstBox);
  return {
    kind: n.kind === 'test' ? 'test' : 'alert',
    group: { key: n.group_key, label: n.group_label },
    changes: n.items.map((i) => entry(i, opts.base)),
    at: new Date(opts.now).toISOString(),
    reminder: n.kind === 'reminder' ? { count: Math.max(1, opts.reminderCount ?? 1) } : null,
    escalation: n.kind === 'escalation' ? { level: 1 } : null,
    link: oneBox ? boxLink(opts.base, firstBox) : `${opts.base.replace(/\/+$/, '')}/#/`,
  };
}
