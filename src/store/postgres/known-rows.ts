// What a PostgreSQL receiver knows of the boxes it wrote, without reading them. Per box it
// remembers the digest of the last report it wrote (its identity) and the shape and statuses of
// that report (../report-shape.ts), each with the version of the box's row that write left (the
// row's xmin: the transaction, or savepoint, that wrote it). With that, two kinds of report need
// no read and no lock round trip (known-batch.ts):
//   - a byte-for-byte repeat (the steady state of a fleet): the box's row takes the report's time
//     and count, nothing is parsed;
//   - a report that changes statuses only (a storm): the rows of the sub-devices whose status
//     changed, the box's counts and the history rows are written, planned from the statuses
//     remembered.
// Either applies only while the box's row is still that version, the box online and its code not
// revoked: whatever another receiver did to the box since (a report of its own, the box marked
// offline, its code's status changed) made a new version, and the report goes back to the full
// path (ingest-write.ts), which locks and reads the rows. Every write of a sub-device row comes
// with a write of its box's row, so the box's version stands for its sub-devices too. What is
// remembered is only ever a hint; the database decides.
import { REPEAT_MEMORY_BYTES } from '../../defaults.js';
import type { Digest } from '../../util/body-digest.js';
import { DigestMemory } from '../../util/digest-memory.js';
import type { Shape } from '../report-shape.js';

/** A byte-for-byte repeat, known by its digest only. */
export interface PendingRepeat {
  devSno: string;
  digest: Digest;
  receivedAt: number;
  /** true: stored; false: nothing stored, the caller ingests the report. */
  resolve: (stored: boolean) => void;
  reject: (e: unknown) => void;
}

export const isRepeat = (p: object): p is PendingRepeat => (p as { report?: unknown }).report === undefined;

/** The statuses of the box's last report written (bit i set: sub-device i offline) and its row's version. */
export interface KnownStatuses {
  offlineBits: number;
  xmin: number;
}

/** Per box: identity and shape of the last report this receiver wrote, with the row version it left (~130 bytes a box). */
export class KnownRows {
  private readonly identities: DigestMemory;
  private readonly shapes: DigestMemory;

  /** @param limit memory to use for each of the two digests, about 64 bytes a box; 0 remembers nothing. */
  constructor(limit: number = REPEAT_MEMORY_BYTES) {
    this.identities = new DigestMemory(limit);
    this.shapes = new DigestMemory(limit, true);
  }

  knows(devSno: string, d: Digest): boolean {
    return this.identities.find(devSno, d) >= 0;
  }

  /** The row version the box's report with this digest left, or -1. */
  versionOf(devSno: string, d: Digest): number {
    return this.identities.find(devSno, d);
  }

  /** The statuses and row version of the box's last report written, if it had this shape. */
  statusesOf(devSno: string, shape: Shape): KnownStatuses | undefined {
    const offlineBits = this.shapes.find(devSno, shape.digest);
    if (offlineBits < 0) return undefined;
    return { offlineBits, xmin: this.shapes.versionOf(devSno, shape.digest) };
  }

  /** A report (this identity, this shape if it has one) was written; the box's row is now at version xmin. */
  wrote(devSno: string, identity: Digest, shape: Shape | undefined, xmin: number): void {
    this.identities.remember(devSno, identity, xmin);
    if (shape) this.shapes.remember(devSno, shape.digest, shape.offlineBits, xmin);
    else this.shapes.forget(devSno);
  }

  /** A repeat of d was written; the box's row is now at version xmin. */
  repeated(devSno: string, d: Digest, xmin: number): void {
    this.identities.remember(devSno, d, xmin);
    this.shapes.setVersion(devSno, xmin);
  }

  forget(devSno: string): void {
    this.identities.forget(devSno);
    this.shapes.forget(devSno);
  }

  /** Forgets the box if its row is still remembered at version xmin (nothing newer was written since). */
  forgetStale(devSno: string, d: Digest, xmin: number): void {
    if (this.identities.find(devSno, d) === xmin) this.forget(devSno);
  }
}
