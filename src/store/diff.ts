// What one report changes, worked out apart from any database so both backends apply the
// very same rules: a backend reads the box's current rows, calls planIngest, writes the plan.
import type { Report, SubDevice } from '../protocol/index.js';
import { epDetailOf } from './platform-fields.js';
import type { BoxStatus, SubDeviceStatus, Transition } from './types.js';

/** The parts of the stored rows the diff needs (times in ms since the epoch). */
export interface PriorBox {
  status: BoxStatus;
}
export interface PriorSubDevice {
  ep_id: string;
  ep_status: SubDeviceStatus;
}

export interface SubDeviceWrite {
  sub: SubDevice;
  /** true when the row does not exist yet. */
  isNew: boolean;
  /** true when status_changed_at must be set to now. */
  statusChanged: boolean;
}

export interface IngestPlan {
  box: { isNew: boolean; statusChanged: boolean; subOnline: number; subOffline: number };
  writes: SubDeviceWrite[];
  /** ep_ids that were not in this report and are now `removed`. */
  removals: string[];
  transitions: Transition[];
}

export function planIngest(
  report: Report,
  prior: { box: PriorBox | null; subDevices: PriorSubDevice[] },
  now: number,
): IngestPlan {
  const at = new Date(now).toISOString();
  const dev_sno = report.dev_sno;
  const transitions: Transition[] = [];

  const boxIsNew = prior.box === null;
  const boxChanged = boxIsNew || prior.box?.status !== 'online';
  if (boxChanged) {
    transitions.push({
      at,
      dev_sno,
      ep_id: null,
      from_status: prior.box?.status ?? null,
      to_status: 'online',
      reason: boxIsNew ? 'first_seen' : 'report',
    });
  }

  const priorById = new Map(prior.subDevices.map((s) => [s.ep_id, s]));
  const writes: SubDeviceWrite[] = [];
  let subOnline = 0;
  let subOffline = 0;
  for (const sub of report.sub_devices) {
    if (sub.ep_status === 'online') subOnline++;
    else subOffline++;
    const before = priorById.get(sub.ep_id);
    priorById.delete(sub.ep_id);
    const statusChanged = !before || before.ep_status !== sub.ep_status;
    if (statusChanged) {
      const t: Transition = {
        at,
        dev_sno,
        ep_id: sub.ep_id,
        from_status: before?.ep_status ?? null,
        to_status: sub.ep_status,
        reason: before ? 'report' : 'first_seen',
      };
      // Why it went offline, as the box says: kept with the transition (history row, alerts).
      if (sub.ep_status === 'offline') {
        const detail = epDetailOf(sub);
        if (detail !== undefined) t.detail = detail;
      }
      transitions.push(t);
    }
    writes.push({ sub, isNew: !before, statusChanged });
  }

  const removals: string[] = [];
  for (const left of priorById.values()) {
    if (left.ep_status === 'removed') continue;
    removals.push(left.ep_id);
    transitions.push({
      at,
      dev_sno,
      ep_id: left.ep_id,
      from_status: left.ep_status,
      to_status: 'removed',
      reason: 'missing_from_report',
    });
  }

  return {
    box: { isNew: boxIsNew, statusChanged: boxChanged, subOnline, subOffline },
    writes,
    removals,
    transitions,
  };
}

/** What a box's silence records: one report_timeout transition per box, in the order given. */
export function timeoutTransitions(devSnos: string[], now: number): Transition[] {
  const at = new Date(now).toISOString();
  return devSnos.map((dev_sno) => ({
    at,
    dev_sno,
    ep_id: null,
    from_status: 'online',
    to_status: 'offline',
    reason: 'report_timeout',
  }));
}

/**
 * Whether a stored sub-device row already holds what this report says of it (extras as the
 * stored JSON text): a row whose status did not change either is left alone, not rewritten.
 */
export function sameSubFields(
  row: { ep_ip: string; ep_location: string; ep_type: string; ep_name: string; extra: string },
  sub: SubDevice,
  extra: string,
): boolean {
  return (
    row.ep_ip === sub.ep_ip &&
    row.ep_location === sub.ep_location &&
    row.ep_type === sub.ep_type &&
    row.ep_name === sub.ep_name &&
    row.extra === extra
  );
}
