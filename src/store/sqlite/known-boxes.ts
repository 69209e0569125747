// What the SQLite store remembers of online boxes: a digest of the last report each one sent
// (about 64 bytes a box, see util/digest-memory.ts), so that a repeat of it (the usual case)
// needs no read of the database and no diff; and a digest of that report with its statuses left
// out, with the statuses as bits beside it (another 64 bytes a box), so that a report that only
// changes statuses (a storm) needs no read of the database either.
import type { Report } from '../../protocol/index.js';
import { REPEAT_MEMORY_BYTES } from '../../defaults.js';
import { digestOfBytes, digestOfText, type Digest } from '../../util/body-digest.js';
import { DigestMemory } from '../../util/digest-memory.js';

function isEmpty(o: Record<string, unknown>): boolean {
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
 * Online boxes (with an active code) and the digest of what their last report said. Only ever
 * true of the database: an entry is added after the commit that made it so, and dropped before
 * anything that could make it false (a different report, the box going offline, its code
 * changing). That holds because no other process writes the file (see lockForThisProcess).
 */
export class KnownBoxes {
  private readonly memory: DigestMemory;
  private readonly shapes: DigestMemory;

  /** @param limit memory to use for each of the two digests, about 64 bytes a box; 0 remembers nothing. */
  constructor(limit: number = REPEAT_MEMORY_BYTES) {
    this.memory = new DigestMemory(limit);
    this.shapes = new DigestMemory(limit);
  }

  /** True when d is the digest of the box's last report and its rows say what that report says. */
  matches(devSno: string, d: Digest): boolean {
    return this.memory.find(devSno, d) >= 0;
  }

  /**
   * The statuses of the box's last report (bit i set = sub-device i offline) when it had this
   * shape: the box is online with an active code, and its rows hold what a report of this shape
   * says with those statuses (and `removed` for sub-devices not in it). -1 otherwise.
   */
  statusesOf(devSno: string, shape: Shape): number {
    return this.shapes.find(devSno, shape.digest);
  }

  /** After the commit that stored a report (its identity, and its shape if it has one). */
  remember(devSno: string, d: Digest, shape: Shape | undefined): void {
    this.memory.remember(devSno, d);
    if (shape) this.shapes.remember(devSno, shape.digest, shape.offlineBits);
    else this.shapes.forget(devSno);
  }

  forget(devSno: string): void {
    this.memory.forget(devSno);
    this.shapes.forget(devSno);
  }
}
