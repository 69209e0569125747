// What the SQLite store remembers of online boxes: the last report each one sent, so that a
// repeat of it (the usual case) needs no read of the database and no diff.
import type { Report } from '../../protocol/index.js';
import { REPEAT_MEMORY_BYTES } from '../../defaults.js';
import { ownCopy } from '../../util/own-copy.js';

/**
 * What an online box's last report said: the bytes it came in (when the caller passed them, the
 * usual case) or else its fingerprint. Either is exact: equal means the same report.
 */
export type KnownBox = Buffer | string;

function isEmpty(o: Record<string, unknown>): boolean {
  for (const _ in o) return false;
  return true;
}

/** A report's (or sub-device's) extra fields as stored: '{}' when there are none. */
export const jsonOf = (o: Record<string, unknown>) => (isEmpty(o) ? '{}' : JSON.stringify(o));

/**
 * Everything a report says about its sub-devices (order included), kept whole rather than hashed:
 * comparing it is exact, so no two different reports can ever pass for a repeat.
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

/** Everything a report says, as one exact string, for callers that have no bytes to give. */
function reportFingerprint(report: Report): string {
  return `${report.dev_sno.length}:${report.dev_sno}${jsonOf(report.extra)}\n${subsFingerprint(report)}`;
}

/** How a report is recognized: its bytes (as they are, not yet copied) or its fingerprint. */
export function identityOf(report: Report, source: Uint8Array | undefined): KnownBox {
  return source === undefined
    ? reportFingerprint(report)
    : Buffer.isBuffer(source)
      ? source
      : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
}

export function sameReport(known: KnownBox, now: KnownBox): boolean {
  return typeof known === 'string' ? known === now : typeof now !== 'string' && known.equals(now);
}

/** What to keep of an identity: bytes get memory of their own (see ownCopy). */
export const keepable = (k: KnownBox): KnownBox => (typeof k === 'string' ? k : ownCopy(k));

const sizeOf = (k: KnownBox) => (typeof k === 'string' ? 2 * k.length : k.length) + 128;

/**
 * Online boxes (with an active code) and what their last report said. Only ever true of the
 * database: an entry is added after the commit that made it so, and dropped before anything
 * that could make it false (a different report, the box going offline, its code changing).
 * That holds because no other process writes the file (see lockForThisProcess).
 */
export class KnownBoxes {
  private readonly boxes = new Map<string, KnownBox>();
  /** Memory in use, roughly; `limit` is what it may grow to. */
  private size = 0;

  constructor(private readonly limit: number = REPEAT_MEMORY_BYTES) {}

  get(devSno: string): KnownBox | undefined {
    return this.boxes.get(devSno);
  }

  remember(devSno: string, k: KnownBox): void {
    // Re-inserted at the end, so the first entry is the one least recently changed.
    this.forget(devSno);
    this.boxes.set(devSno, k);
    this.size += sizeOf(k);
    while (this.size > this.limit && this.boxes.size > 0) this.forget(this.boxes.keys().next().value!);
  }

  forget(devSno: string): void {
    const k = this.boxes.get(devSno);
    if (k === undefined) return;
    this.boxes.delete(devSno);
    this.size -= sizeOf(k);
  }
}
