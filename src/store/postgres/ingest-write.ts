// What one ingest transaction on PostgreSQL does with its batch: lock the boxes' rows and read
// them (one round trip), plan each report against the box as the batch has it so far (rules in
// ../diff.ts, ../registry.ts), and write the plans in one statement per wave (usually one).
import type { Report } from '../../protocol/index.js';
import { asError, type PendingReport } from '../batch.js';
import { booleanArray, integerArray, textArray } from './array-literals.js';
import { planIngest, sameSubFields, type IngestPlan, type SubDeviceWrite } from '../diff.js';
import { admitReport } from '../registry.js';
import type { BoxStatus, CodeStatus, IngestResult, SubDeviceStatus } from '../types.js';

/** A sub-device row as the batch sees it: what decides whether a report rewrites it. */
interface SubInBatch {
  ep_status: SubDeviceStatus;
  ep_ip: string;
  ep_location: string;
  ep_type: string;
  ep_name: string;
  /** extra as stored (JSON text). */
  extra: string;
}

/** A box as this batch sees it; status null while it is new (claimed, not yet written). */
interface BoxInBatch {
  status: BoxStatus | null;
  lastReportAt: number;
  subs: Map<string, SubInBatch>;
}

/** What the batch's transaction has read and locked, moved on as its reports are written. */
export interface BatchState {
  /** Only boxes that may be admitted are claimed and locked. */
  boxes: Map<string, BoxInBatch>;
  /** Registry row of every dev_sno in the batch (null: not registered), share-locked. */
  codes: Map<string, { status: CodeStatus } | null>;
}

/** A sub-device row the report writes, with its extra as JSON text. */
interface SubWrite {
  w: SubDeviceWrite;
  extra: string;
}

export interface Planned {
  source: PendingReport;
  report: Report;
  now: number;
  /** Open registry, unknown dev_sno: register it (source auto) with this report. */
  register: boolean;
  plan: IngestPlan;
  /** The box's previous report: when a sub-device missing now was last seen. */
  previousReportAt: number;
  /**
   * The sub-device rows to write: new ones, and those whose status or fields changed. An
   * unchanged row is left alone: its last_seen_at is the box's last_report_at (see reads.ts).
   */
  subWrites: SubWrite[];
}

const jsonOf = (extra: Record<string, unknown>): string => {
  for (const _ in extra) return JSON.stringify(extra);
  return '{}';
};

/**
 * The registry's verdict (throws RegistryRejectedError) and what the report changes, against
 * the box as this batch has it so far. Writes nothing, so a refusal costs no savepoint.
 */
export function plan(p: PendingReport, state: BatchState): Planned {
  const devSno = p.report.dev_sno;
  const register = admitReport(devSno, state.codes.get(devSno) ?? null, p.mode) === 'register';
  const box = state.boxes.get(devSno)!;
  const prior = {
    box: box.status === null ? null : { status: box.status },
    subDevices: [...box.subs].map(([ep_id, s]) => ({ ep_id, ep_status: s.ep_status })),
  };
  const ingestPlan = planIngest(p.report, prior, p.receivedAt);
  const subWrites: SubWrite[] = [];
  for (const w of ingestPlan.writes) {
    const extra = jsonOf(w.sub.extra);
    const before = box.subs.get(w.sub.ep_id);
    if (!w.isNew && !w.statusChanged && before && sameSubFields(before, w.sub, extra)) continue;
    subWrites.push({ w, extra });
  }
  return { source: p, report: p.report, now: p.receivedAt, register, plan: ingestPlan, previousReportAt: box.lastReportAt, subWrites };
}


/** A copy to plan from again, as the batch was when its rows were locked. */
export function cloneState(state: BatchState): BatchState {
  const boxes = new Map<string, BoxInBatch>();
  for (const [devSno, b] of state.boxes) {
    boxes.set(devSno, { status: b.status, lastReportAt: b.lastReportAt, subs: new Map([...b.subs].map(([ep, s]) => [ep, { ...s }])) });
  }
  return { boxes, codes: new Map(state.codes) };
}

/** Moves the batch's view of the box (and its code) on, once the report is written. */
export function advance(state: BatchState, planned: Planned): void {
  const box = state.boxes.get(planned.report.dev_sno)!;
  box.status = 'online';
  box.lastReportAt = planned.now;
  for (const { w, extra } of planned.subWrites) {
    const s = w.sub;
    box.subs.set(s.ep_id, { ep_status: s.ep_status, ep_ip: s.ep_ip, ep_location: s.ep_location, ep_type: s.ep_type, ep_name: s.ep_name, extra });
  }
  for (const epId of planned.plan.removals) box.subs.get(epId)!.ep_status = 'removed';
  if (planned.register) state.codes.set(planned.report.dev_sno, { status: 'active' });
}

/**
 * Plans the whole batch in waves: wave k holds the k-th report of each box, so no statement
 * touches a row twice and a box's reports are applied in order. The state moves on as if every
 * wave were written; if a write fails, the caller rolls back and starts again from a new lock.
 */
export function planInWaves(batch: PendingReport[], state: BatchState): { waves: Planned[][]; results: Array<IngestResult | Error> } {
  const waves: Planned[][] = [];
  const seen = new Map<string, number>();
  const results: Array<IngestResult | Error> = [];
  for (const p of batch) {
    try {
      const planned = plan(p, state);
      advance(state, planned);
      const k = seen.get(p.report.dev_sno) ?? 0;
      seen.set(p.report.dev_sno, k + 1);
      (waves[k] ??= []).push(planned);
      results.push({ transitions: planned.plan.transitions });
    } catch (e) {
      // Refused by the registry before anything was written: fails alone, no redo needed.
      results.push(asError(e));
    }
  }
  return { waves, results };
}

/** The rows of boxes claimed for reports that all failed: they must not stay behind. */
export function orphansSql(state: BatchState): string | null {
  const orphans = [...state.boxes].filter(([, b]) => b.status === null).map(([devSno]) => devSno);
  return orphans.length ? `DELETE FROM boxes WHERE dev_sno = ANY(${textArray(orphans)}) AND report_count = 0` : null;
}

/** A row of devstatus_lock_batch, as an array (no object per row): k, sno, st, fresh, seen, ep, ip, loc, typ, nm, ext. */
type LockRow = [
  k: 'c' | 'b' | 's',
  sno: string,
  st: string,
  fresh: boolean | null,
  seen: string | null,
  ep: string | null,
  ip: string | null,
  loc: string | null,
  typ: string | null,
  nm: string | null,
  ext: string | null,
];

/** The dev_snos of a batch's full reports, and when and how each one first came in it. */
export type FirstSeen = Map<string, { at: number; open: boolean }>;

/**
 * The statement that share-locks the registry rows of the batch's dev_snos, then locks the rows
 * of every box that may be admitted (creating the new ones), in dev_sno order as every ingest
 * transaction of every process does, so ingest never deadlocks with ingest; then reads what the
 * reports will be compared with (ingest-session.ts; stateOfLocked reads its answer). A receiver
 * ingesting the same boxes at the same time waits until this transaction ends.
 */
export function lockSql(batch: PendingReport[]): { sql: string; firstSeen: FirstSeen } {
  const firstSeen: FirstSeen = new Map();
  for (const p of batch) {
    const seen = firstSeen.get(p.report.dev_sno);
    if (!seen) firstSeen.set(p.report.dev_sno, { at: p.receivedAt, open: p.mode === 'open' });
    else if (p.mode === 'open') seen.open = true;
  }
  const firsts = [...firstSeen.values()];
  const sql =
    `SELECT * FROM pg_temp.devstatus_lock_batch(${textArray([...firstSeen.keys()])}, ` +
    `${integerArray(firsts.map((f) => f.at))}, ${booleanArray(firsts.map((f) => f.open))})`;
  return { sql, firstSeen };
}

/** What the batch has locked and read, from the rows of lockSql's statement (rowMode array). */
export function stateOfLocked(rows: readonly unknown[][], firstSeen: FirstSeen): BatchState {
  const codes = new Map<string, { status: CodeStatus } | null>([...firstSeen.keys()].map((d) => [d, null]));
  const boxes = new Map<string, BoxInBatch>();
  for (const [k, sno, st, fresh, seen, ep, ip, loc, typ, nm, ext] of rows as LockRow[]) {
    if (k === 'c') codes.set(sno, { status: st as CodeStatus });
    else if (k === 'b') boxes.set(sno, { status: fresh ? null : (st as BoxStatus), lastReportAt: Number(seen), subs: new Map() });
    else {
      boxes.get(sno)!.subs.set(ep!, {
        ep_status: st as SubDeviceStatus,
        ep_ip: ip!,
        ep_location: loc!,
        ep_type: typ!,
        ep_name: nm!,
        extra: ext!,
      });
    }
  }
  let admissible = 0;
  for (const [devSno, f] of firstSeen) {
    const code = codes.get(devSno);
    if (code ? code.status !== 'revoked' : f.open) admissible++;
  }
  if (boxes.size !== admissible) throw Object.assign(new Error('a box vanished while locking it'), { code: '40001' });
  return { boxes, codes };
}

/** The statement that writes planned reports of distinct boxes (ingest-session.ts). */
export function writeSql(planned: Planned[]): string {
  const added = planned.flatMap((p) => p.subWrites.filter((s) => s.w.isNew).map((s) => ({ p, ...s })));
  const kept = planned.flatMap((p) => p.subWrites.filter((s) => !s.w.isNew).map((s) => ({ p, ...s })));
  const removed = planned.flatMap((p) => p.plan.removals.map((epId) => ({ p, epId })));
  const history = planned.flatMap((p) => p.plan.transitions.map((t) => ({ p, t })));
  const registering = planned.filter((p) => p.register);
  const subColumns = (rows: typeof added) => [
    textArray(rows.map((r) => r.p.report.dev_sno)),
    integerArray(rows.map((r) => r.p.now)),
    textArray(rows.map((r) => r.w.sub.ep_id)),
    textArray(rows.map((r) => r.w.sub.ep_ip)),
    textArray(rows.map((r) => r.w.sub.ep_status)),
    textArray(rows.map((r) => r.w.sub.ep_location)),
    textArray(rows.map((r) => r.w.sub.ep_type)),
    textArray(rows.map((r) => r.w.sub.ep_name)),
    textArray(rows.map((r) => r.extra)),
  ];
  const args = [
    textArray(planned.map((p) => p.report.dev_sno)),
    integerArray(planned.map((p) => p.now)),
    booleanArray(planned.map((p) => p.plan.box.statusChanged)),
    booleanArray(planned.map((p) => p.plan.box.isNew)),
    integerArray(planned.map((p) => p.plan.box.subOnline)),
    integerArray(planned.map((p) => p.plan.box.subOffline)),
    textArray(planned.map((p) => jsonOf(p.report.extra))),
    ...subColumns(added),
    ...subColumns(kept),
    booleanArray(kept.map((r) => r.w.statusChanged)),
    textArray(removed.map((r) => r.p.report.dev_sno)),
    integerArray(removed.map((r) => r.p.now)),
    textArray(removed.map((r) => r.epId)),
    integerArray(removed.map((r) => r.p.previousReportAt)),
    integerArray(history.map((h) => h.p.now)),
    textArray(history.map((h) => h.p.report.dev_sno)),
    textArray(history.map((h) => h.t.ep_id)),
    textArray(history.map((h) => h.t.from_status)),
    textArray(history.map((h) => h.t.to_status)),
    textArray(history.map((h) => h.t.reason)),
    textArray(history.map((h) => h.t.detail ?? null)),
    textArray(registering.map((p) => p.report.dev_sno)),
    integerArray(registering.map((p) => p.now)),
  ];
  return `SELECT * FROM pg_temp.devstatus_write_batch(${args.join(', ')})`;
}
