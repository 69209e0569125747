// What the SQLite store remembers of online boxes: a digest of the last report each one sent
// (about 64 bytes a box, see util/digest-memory.ts), so that a repeat of it (the usual case)
// needs no read of the database and no diff; and a digest of that report with its statuses left
// out, with the statuses as bits beside it (another 64 bytes a box), so that a report that only
// changes statuses (a storm) needs no read of the database either.
import { REPEAT_MEMORY_BYTES } from '../../defaults.js';
import type { Digest } from '../../util/body-digest.js';
import { DigestMemory } from '../../util/digest-memory.js';
import type { Shape } from '../report-shape.js';

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
