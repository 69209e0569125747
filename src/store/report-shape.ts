// How a store recognizes what a report says without keeping it: the digest of its bytes (its
// identity), and the digest of everything it says but its sub-devices' statuses (its shape),
// with the statuses as bits beside it. Two reports of one box with the same shape differ in
// statuses at most, so a store that remembers the shape and statuses of the box's last report
// knows the box's rows without reading them (sqlite/known-boxes.ts, postgres/known-rows.ts).
import type { Report } from '../protocol/index.js';
import { planIngest, type IngestPlan, type PriorSubDevice } from './diff.js';
import { digestOfBytes, digestOfText, type Digest } from '../util/body-digest.js';

export function isEmpty(o: Record<string, unknown>): boolean {
  for (const _ in o) return false;
  return true;
}

/** A report's (or sub-device's) extra fields as stored: '{}' when there are none. */
export const jsonOf = (o: Record<string, unknown>) => (isEmpty(o) ? '{}' : JSON.stringify(o));

/**
 * Everything a report says about its sub-devices (order included), unambiguously: no two
 * different reports have the same fingerprint.
 */
function subsFingerprint(report: Report): string {
  let text = '';
  for (const s of report.sub_devices) {
    // Free-text fields carry their length, so no choice of characters can make two reports alike.
    text += s.ep_id.length + ':' + s.ep_id + s.ep_ip.length + ':' + s.ep_ip + s.ep_status + '\0';
    text += s.ep_location.length + ':' + s.ep_location + s.ep_type + '\0' + s.ep_name.length + ':' + s.ep_name;
    text += (isEmpty(s.extra) ? '' : JSON.stringify(s.extra)) + '\n';
  }
  return text;
}

/**
 * Everything a report says but its sub-devices' statuses, as one exact string: two reports with
 * the same shape differ in statuses at most, and then the stored rows of one hold the other's
 * fields already.
 */
function shapeFingerprint(report: Report): string {
  let text = `${report.dev_sno.length}:${report.dev_sno}${jsonOf(report.extra)}\n`;
  for (const s of report.sub_devices) {
    text += s.ep_id.length + ':' + s.ep_id + s.ep_ip.length + ':' + s.ep_ip + '\0';
    text += s.ep_location.length + ':' + s.ep_location + s.ep_type + '\0' + s.ep_name.length + ':' + s.ep_name;
    text += (isEmpty(s.extra) ? '' : JSON.stringify(s.extra)) + '\n';
  }
  return text;
}

/** Most sub-devices whose statuses fit in a shape's 32 bits. */
const SHAPE_MAX_SUBS = 32;

/** A report's shape (see shapeFingerprint) and its statuses: bit i set = sub-device i offline. */
export interface Shape {
  digest: Digest;
  offlineBits: number;
}

/** The shape of a report, or undefined for one with more sub-devices than the bits hold. */
export function shapeOf(report: Report): Shape | undefined {
  const subs = report.sub_devices;
  if (subs.length > SHAPE_MAX_SUBS) return undefined;
  let offlineBits = 0;
  for (let i = 0; i < subs.length; i++) if (subs[i]!.ep_status === 'offline') offlineBits |= 1 << i;
  return { digest: digestOfText(shapeFingerprint(report)), offlineBits: offlineBits >>> 0 };
}

/** Everything a report says, as one exact string, for callers that have no bytes to give. */
function reportFingerprint(report: Report): string {
  return `${report.dev_sno.length}:${report.dev_sno}${jsonOf(report.extra)}\n${subsFingerprint(report)}`;
}

/**
 * How a report is recognized: the digest of the bytes it was parsed from (the usual case), or
 * of its fingerprint for callers that have no bytes to give. Either is exact but for the
 * digest's 2^-64 (see body-digest.ts): equal means the same report.
 */
export function identityOf(report: Report, source: Uint8Array | undefined): Digest {
  return source === undefined ? digestOfText(reportFingerprint(report)) : digestOfBytes(source);
}

/**
 * The plan of a report whose box is online and whose rows hold a report of the same shape with
 * these statuses (bit i set: sub-device i offline): the same rules as any other report, and no
 * removal or box transition can come of it.
 */
export function planStatusChange(report: Report, offlineBits: number, now: number): IngestPlan {
  const prior: PriorSubDevice[] = report.sub_devices.map((sub, i) => ({
    ep_id: sub.ep_id,
    ep_status: offlineBits & (1 << i) ? 'offline' : 'online',
  }));
  return planIngest(report, { box: { status: 'online' }, subDevices: prior }, now);
}
