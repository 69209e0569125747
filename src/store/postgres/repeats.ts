// Byte-for-byte repeats on PostgreSQL (see Store.ingestRepeat). A receiver remembers, per box,
// the digest of the last report it wrote and the version of the box's row that write left (the
// row's xmin: the transaction, or savepoint, that wrote it). A repeat of that report is then one
// row of a set-based UPDATE (ingest-session.ts, devstatus_repeat_batch) that only applies while
// the row is still that version, the box online and its code not revoked: whatever another
// receiver did to the box since (a report of its own, the box marked offline, its code's status
// changed) made a new version, and the repeat goes back to the caller, which parses it and
// writes it by the full path. What is remembered is only ever a hint; the database decides.
import { REPEAT_MEMORY_BYTES } from '../../defaults.js';
import { digestOfBytes, type Digest } from '../../util/body-digest.js';
import { DigestMemory } from '../../util/digest-memory.js';
import { integerArray, textArray } from './array-literals.js';
import type { BatchState } from './ingest-write.js';

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

/** Per box: the digest of the last report this receiver wrote, and the xmin its row got (~64 bytes a box). */
export class KnownRows {
  private readonly memory: DigestMemory;

  /** @param limit memory to use, about 64 bytes a box; 0 remembers nothing. */
  constructor(limit: number = REPEAT_MEMORY_BYTES) {
    this.memory = new DigestMemory(limit);
  }

  knows(devSno: string, d: Digest): boolean {
    return this.memory.find(devSno, d) >= 0;
  }

  /** The row version the box's report with this digest left, or -1. */
  versionOf(devSno: string, d: Digest): number {
    return this.memory.find(devSno, d);
  }

  /** A report parsed from these bytes was written; the box's row is now at version xmin. */
  wrote(devSno: string, source: Uint8Array, xmin: number): void {
    this.memory.remember(devSno, digestOfBytes(source), xmin);
  }

  /** A repeat of d was written; the box's row is now at version xmin. */
  repeated(devSno: string, d: Digest, xmin: number): void {
    this.memory.remember(devSno, d, xmin);
  }

  forget(devSno: string): void {
    this.memory.forget(devSno);
  }

  /** Forgets the box if what is remembered is still d at version xmin (nothing newer came since). */
  forgetStale(devSno: string, d: Digest, xmin: number): void {
    if (this.memory.find(devSno, d) === xmin) this.memory.forget(devSno);
  }
}

/** The repeats of one box in a batch: all of one report, the row version they expect. */
interface BoxRepeats {
  digest: Digest;
  xmin: number;
  items: PendingRepeat[];
  /** Settled already: handed back (false) or failed. */
  done: boolean;
}

/** A batch's repeats, by box, and the statement that writes them. */
export class RepeatGroup {
  private readonly boxes = new Map<string, BoxRepeats>();

  get size(): number {
    return this.boxes.size;
  }

  /** Takes the repeat into the batch; false if what the box's row says is not known to be its report. */
  add(p: PendingRepeat, known: KnownRows): boolean {
    const xmin = known.versionOf(p.devSno, p.digest);
    if (xmin < 0) return false;
    const box = this.boxes.get(p.devSno);
    if (box) box.items.push(p);
    else this.boxes.set(p.devSno, { digest: p.digest, xmin, items: [p], done: false });
    return true;
  }

  /** One call of devstatus_repeat_batch, boxes in dev_sno order (the order ingest locks rows in). */
  sql(): string {
    const snos = [...this.boxes.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const boxes = snos.map((s) => this.boxes.get(s)!);
    return (
      `SELECT * FROM pg_temp.devstatus_repeat_batch(${textArray(snos)}, ${textArray(boxes.map((b) => String(b.xmin)))}, ` +
      `${integerArray(boxes.map((b) => b.items[b.items.length - 1]!.receivedAt))}, ${integerArray(boxes.map((b) => b.items.length))})`
    );
  }

  /**
   * The statement's rows: the boxes it updated and their new xmin. Those are remembered at their
   * new version (the version is only ever compared with in the database, so remembering it before
   * the commit is safe: an uncommitted or rolled-back version matches nothing later). The others
   * are handed back to their callers now, to be parsed and written by the full path.
   */
  updated(rows: readonly unknown[][], known: KnownRows, state: BatchState): void {
    const updated = new Map<string, number>();
    for (const [sno, x] of rows as string[][]) updated.set(sno!, Number(x));
    for (const [devSno, box] of this.boxes) {
      const xmin = updated.get(devSno);
      if (xmin !== undefined) {
        known.repeated(devSno, box.digest, xmin);
        // A full report of the box later in this batch: its previous report is this repeat.
        const locked = state.boxes.get(devSno);
        if (locked) locked.lastReportAt = box.items[box.items.length - 1]!.receivedAt;
        continue;
      }
      known.forgetStale(devSno, box.digest, box.xmin);
      box.done = true;
      for (const p of box.items) p.resolve(false);
    }
  }

  /** Committed. */
  resolve(): void {
    for (const box of this.boxes.values()) if (!box.done) for (const p of box.items) p.resolve(true);
  }

  /** The transaction failed: nothing of it is stored. */
  reject(e: unknown): void {
    for (const box of this.boxes.values()) if (!box.done) for (const p of box.items) p.reject(e);
  }
}
