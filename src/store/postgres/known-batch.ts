// The reports of a batch that need no read (known-rows.ts): byte-for-byte repeats, and reports
// that change statuses only. They are written by one call of devstatus_known_batch
// (ingest-session.ts), boxes in dev_sno order (the order ingest locks rows in), in the same round
// trip as the batch's BEGIN; the boxes whose rows were not the version remembered are handed back
// to the full path.
import type { PendingReport } from '../batch.js';
import type { IngestPlan } from '../diff.js';
import { planStatusChange, type Shape } from '../report-shape.js';
import type { IngestResult, Transition } from '../types.js';
import type { Digest } from '../../util/body-digest.js';
import { integerArray, textArray } from './array-literals.js';
import type { BatchState } from './ingest-write.js';
import type { KnownRows, PendingRepeat } from './known-rows.js';

/** A full report whose shape the receiver knows: what it is recognized by. */
export interface KnownShape {
  identity: Digest;
  shape: Shape;
}

/** A status-only change of one box, planned from the statuses remembered. */
interface StatusChange {
  p: PendingReport;
  known: KnownShape;
  plan: IngestPlan;
}

/** One box's reports in the group: repeats of one report, or one status-only change. */
interface KnownBox {
  xmin: number;
  /** Repeats: the digest they share. */
  digest?: Digest;
  repeats: PendingRepeat[];
  change?: StatusChange;
  /** Settled already: handed back or failed. */
  done: boolean;
}

/**
 * Whether the statement can write the transition: a sub-device that was there flipped between
 * online and offline, reason 'report' (devstatus_known_batch makes the history row from that alone).
 */
function isFlip(t: Transition): boolean {
  return (
    t.ep_id !== null &&
    t.reason === 'report' &&
    ((t.from_status === 'online' && t.to_status === 'offline') || (t.from_status === 'offline' && t.to_status === 'online'))
  );
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** When the box's last report in the group came. */
const lastAt = (b: KnownBox) => (b.change ? b.change.p.receivedAt : b.repeats[b.repeats.length - 1]!.receivedAt);

/** A batch's reports that need no read, by box, and the statement that writes them. */
export class KnownGroup {
  private readonly boxes = new Map<string, KnownBox>();

  get size(): number {
    return this.boxes.size;
  }

  has(devSno: string): boolean {
    return this.boxes.has(devSno);
  }

  /** Takes the repeat into the batch; false if what the box's row says is not known to be its report. */
  addRepeat(p: PendingRepeat, known: KnownRows): boolean {
    const xmin = known.versionOf(p.devSno, p.digest);
    if (xmin < 0) return false;
    const box = this.boxes.get(p.devSno);
    if (box) {
      if (box.change) return false;
      box.repeats.push(p);
    } else this.boxes.set(p.devSno, { xmin, digest: p.digest, repeats: [p], done: false });
    return true;
  }

  /**
   * Takes a full report of a box not yet in the group, when the receiver knows the box's rows
   * hold a report of its shape; false otherwise (it takes the full path).
   */
  addChange(p: PendingReport, shape: KnownShape | undefined, known: KnownRows): boolean {
    const devSno = p.report.dev_sno;
    if (!shape || this.boxes.has(devSno)) return false;
    const statuses = known.statusesOf(devSno, shape.shape);
    if (!statuses) return false;
    const plan = planStatusChange(p.report, statuses.offlineBits, p.receivedAt);
    // Anything but flips (none is known today) is left to the full path.
    if (!plan.transitions.every(isFlip)) return false;
    this.boxes.set(devSno, { xmin: statuses.xmin, repeats: [], change: { p, known: shape, plan }, done: false });
    return true;
  }

  /** Takes a box's status-only change back out (a second full report of the box came in the batch). */
  takeBack(devSno: string): PendingReport | undefined {
    const box = this.boxes.get(devSno);
    if (!box?.change) return undefined;
    this.boxes.delete(devSno);
    return box.change.p;
  }

  /** One call of devstatus_known_batch. */
  sql(): string {
    const snos = [...this.boxes.keys()].sort(byKey);
    const boxes = snos.map((s) => this.boxes.get(s)!);
    const changes = boxes.flatMap((b) => (b.change ? [b.change] : []));
    // A status-only change's transitions are its changed sub-devices, one each, in order (flips: addChange).
    const subs = changes.flatMap((c) => c.plan.transitions.map((t) => ({ c, t })));
    const args = [
      textArray(snos),
      textArray(boxes.map((b) => String(b.xmin))),
      integerArray(boxes.map(lastAt)),
      integerArray(boxes.map((b) => (b.change ? 1 : b.repeats.length))),
      // -1: the counts stay (a repeat).
      integerArray(boxes.map((b) => (b.change ? b.change.plan.box.subOnline : -1))),
      integerArray(boxes.map((b) => (b.change ? b.change.plan.box.subOffline : -1))),
      textArray(subs.map((s) => s.c.p.report.dev_sno)),
      textArray(subs.map((s) => s.t.ep_id)),
      textArray(subs.map((s) => s.t.to_status)),
      integerArray(subs.map((s) => s.c.p.receivedAt)),
      textArray(subs.map((s) => s.t.detail ?? null)),
    ];
    return `SELECT * FROM pg_temp.devstatus_known_batch(${args.join(', ')})`;
  }

  /**
   * The statement's rows: the boxes it wrote and their new xmin. Those are remembered at their
   * new version (the version is only ever compared with in the database, so remembering it before
   * the commit is safe: an uncommitted or rolled-back version matches nothing later). The others
   * are handed back now: repeats to their callers (false: parse it and ingest it), status-only
   * changes to handBack, for the full path.
   */
  written(
    rows: readonly unknown[][],
    known: KnownRows,
    state: BatchState,
    handBack: (p: PendingReport) => void,
  ): { repeats: number; statusChanges: number; handedBack: number } {
    const counts = { repeats: 0, statusChanges: 0, handedBack: 0 };
    const updated = new Map<string, number>();
    for (const [sno, x] of rows as string[][]) updated.set(sno!, Number(x));
    for (const [devSno, box] of this.boxes) {
      const xmin = updated.get(devSno);
      if (xmin !== undefined) {
        if (box.change) counts.statusChanges++;
        else counts.repeats += box.repeats.length;
        if (box.change) known.wrote(devSno, box.change.known.identity, box.change.known.shape, xmin);
        else known.repeated(devSno, box.digest!, xmin);
        // A full report of the box later in this batch: its previous report is this one.
        const locked = state.boxes.get(devSno);
        if (locked) locked.lastReportAt = lastAt(box);
        continue;
      }
      box.done = true;
      counts.handedBack += box.change ? 1 : box.repeats.length;
      if (box.change) {
        if (known.statusesOf(devSno, box.change.known.shape)?.xmin === box.xmin) known.forget(devSno);
        handBack(box.change.p);
      } else {
        known.forgetStale(devSno, box.digest!, box.xmin);
        for (const p of box.repeats) p.resolve(false);
      }
    }
    return counts;
  }

  /** Committed. */
  resolve(): void {
    for (const box of this.boxes.values()) {
      if (box.done) continue;
      if (box.change) box.change.p.resolve({ transitions: box.change.plan.transitions } satisfies IngestResult);
      else for (const p of box.repeats) p.resolve(true);
    }
  }

  /** The transaction failed: nothing of it is stored. */
  reject(e: unknown): void {
    for (const box of this.boxes.values()) {
      if (box.done) continue;
      if (box.change) box.change.p.reject(e);
      else for (const p of box.repeats) p.reject(e);
    }
  }
}
