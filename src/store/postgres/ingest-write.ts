// What one ingest transaction on PostgreSQL does with its batch: lock the boxes' rows and read
// them (one round trip), plan each report against the box as the batch has it so far (rules in
// ../diff.ts, ../registry.ts), and write the plans in one statement per wave (usually one).
import type pg from 'pg';
import type { Report, SubDevice } from '../../protocol/index.js';
import { asError, type PendingReport } from '../batch.js';
import { planIngest, type IngestPlan, type SubDeviceWrite } from '../diff.js';
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
    if (!w.isNew && !w.statusChanged && before && sameFields(before, w.sub, extra)) continue;
    subWrites.push({ w, extra });
  }
  return { source: p, report: p.report, now: p.receivedAt, register, plan: ingestPlan, previousReportAt: box.lastReportAt, subWrites };
}

function sameFields(row: SubInBatch, sub: SubDevice, extra: string): boolean {
  return (
    row.ep_ip === sub.ep_ip &&
    row.ep_location === sub.ep_location &&
    row.ep_type === sub.ep_type &&
    row.ep_name === sub.ep_name &&
    row.extra === extra
  );
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
 * The whole batch in a few statements: wave k holds the k-th report of each box, so no
 * statement touches a row twice; a box's reports are applied in order.
 */
export async function writeInWaves(c: pg.ClientBase, batch: PendingReport[], state: BatchState): Promise<Array<IngestResult | Error>> {
  const waves: PendingReport[][] = [];
  const seen = new Map<string, number>();
  for (const p of batch) {
    const k = seen.get(p.report.dev_sno) ?? 0;
    seen.set(p.report.dev_sno, k + 1);
    (waves[k] ??= []).push(p);
  }
  const results = new Map<PendingReport, IngestResult | Error>();
  for (const wave of waves) {
    const planned: Planned[] = [];
    for (const p of wave) {
      try {
        planned.push(plan(p, state));
      } catch (e) {
        // Refused by the registry before anything was written: fails alone, no redo needed.
        results.set(p, asError(e));
      }
    }
    if (planned.length === 0) continue;
    await writePlans(c, planned);
    for (const pl of planned) {
      advance(state, pl);
      results.set(pl.source, { transitions: pl.plan.transitions });
    }
  }
  return batch.map((p) => results.get(p)!);
}

interface LockRow {
  k: 'c' | 'b' | 's';
  sno: string;
  st: string;
  fresh: boolean | null;
  seen: string | null;
  ep: string | null;
  ip: string | null;
  loc: string | null;
  typ: string | null;
  nm: string | null;
  ext: string | null;
}

/**
 * Share-locks the registry rows of the batch's dev_snos, then locks the rows of every box that
 * may be admitted (creating the new ones), in dev_sno order as every ingest transaction of
 * every process does, so ingest never deadlocks with ingest; then reads what the reports will
 * be compared with. One round trip (ingest-session.ts). A receiver ingesting the same boxes
 * at the same time waits until this transaction ends.
 */
export async function lockBoxes(c: pg.ClientBase, batch: PendingReport[]): Promise<BatchState> {
  const firstSeen = new Map<string, { at: number; open: boolean }>();
  for (const p of batch) {
    const seen = firstSeen.get(p.report.dev_sno);
    if (!seen) firstSeen.set(p.report.dev_sno, { at: p.receivedAt, open: p.mode === 'open' });
    else if (p.mode === 'open') seen.open = true;
  }
  const devSnos = [...firstSeen.keys()];
  const firsts = [...firstSeen.values()];
  const { rows } = await c.query<LockRow>({
    name: 'devstatus_lock_batch',
    text: 'SELECT * FROM pg_temp.devstatus_lock_batch($1::text[], $2::bigint[], $3::boolean[])',
    values: [devSnos, firsts.map((f) => f.at), firsts.map((f) => f.open)],
  });
  const codes = new Map<string, { status: CodeStatus } | null>(devSnos.map((d) => [d, null]));
  const boxes = new Map<string, BoxInBatch>();
  for (const r of rows) {
    if (r.k === 'c') codes.set(r.sno, { status: r.st as CodeStatus });
    else if (r.k === 'b') boxes.set(r.sno, { status: r.fresh ? null : (r.st as BoxStatus), lastReportAt: Number(r.seen), subs: new Map() });
    else {
      boxes.get(r.sno)!.subs.set(r.ep!, {
        ep_status: r.st as SubDeviceStatus,
        ep_ip: r.ip!,
        ep_location: r.loc!,
        ep_type: r.typ!,
        ep_name: r.nm!,
        extra: r.ext!,
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

/** Writes planned reports of distinct boxes in one statement. */
export async function writePlans(c: pg.ClientBase, planned: Planned[]): Promise<void> {
  const added = planned.flatMap((p) => p.subWrites.filter((s) => s.w.isNew).map((s) => ({ p, ...s })));
  const kept = planned.flatMap((p) => p.subWrites.filter((s) => !s.w.isNew).map((s) => ({ p, ...s })));
  const removed = planned.flatMap((p) => p.plan.removals.map((epId) => ({ p, epId })));
  const history = planned.flatMap((p) => p.plan.transitions.map((t) => ({ p, t })));
  const registering = planned.filter((p) => p.register);
  const subColumns = (rows: typeof added) => [
    rows.map((r) => r.p.report.dev_sno),
    rows.map((r) => r.p.now),
    rows.map((r) => r.w.sub.ep_id),
    rows.map((r) => r.w.sub.ep_ip),
    rows.map((r) => r.w.sub.ep_status),
    rows.map((r) => r.w.sub.ep_location),
    rows.map((r) => r.w.sub.ep_type),
    rows.map((r) => r.w.sub.ep_name),
    rows.map((r) => r.extra),
  ];
  await c.query({
    name: 'devstatus_ingest_write',
    text: `WITH
      box AS (
        UPDATE boxes b SET status = 'online', last_report_at = u.now, report_count = b.report_count + 1,
          status_changed_at = CASE WHEN u.changed THEN u.now ELSE b.status_changed_at END,
          first_seen_at = CASE WHEN u.is_new THEN u.now ELSE b.first_seen_at END,
          sub_online = u.sub_online, sub_offline = u.sub_offline, extra = u.extra::json
        FROM unnest($1::text[], $2::bigint[], $3::boolean[], $4::boolean[], $5::int[], $6::int[], $7::text[])
          AS u(dev_sno, now, changed, is_new, sub_online, sub_offline, extra)
        WHERE b.dev_sno = u.dev_sno),
      added AS (
        INSERT INTO sub_devices (dev_sno, ep_id, ep_ip, ep_status, ep_location, ep_type, ep_name, extra,
                                 first_seen_at, last_seen_at, status_changed_at)
        SELECT s.dev_sno, s.ep_id, s.ep_ip, s.ep_status, s.ep_location, s.ep_type, s.ep_name, s.extra::json,
               s.now, s.now, s.now
        FROM unnest($8::text[], $9::bigint[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],
                    $15::text[], $16::text[])
          AS s(dev_sno, now, ep_id, ep_ip, ep_status, ep_location, ep_type, ep_name, extra)),
      kept AS (
        UPDATE sub_devices d SET ep_ip = s.ep_ip, ep_status = s.ep_status, ep_location = s.ep_location,
          ep_type = s.ep_type, ep_name = s.ep_name, extra = s.extra::json, last_seen_at = s.now,
          status_changed_at = CASE WHEN s.changed THEN s.now ELSE d.status_changed_at END
        FROM unnest($17::text[], $18::bigint[], $19::text[], $20::text[], $21::text[], $22::text[], $23::text[],
                    $24::text[], $25::text[], $26::boolean[])
          AS s(dev_sno, now, ep_id, ep_ip, ep_status, ep_location, ep_type, ep_name, extra, changed)
        WHERE d.dev_sno = s.dev_sno AND d.ep_id = s.ep_id),
      removed AS (
        UPDATE sub_devices d SET ep_status = 'removed', status_changed_at = r.now, last_seen_at = r.seen
        FROM unnest($27::text[], $28::bigint[], $29::text[], $38::bigint[]) AS r(dev_sno, now, ep_id, seen)
        WHERE d.dev_sno = r.dev_sno AND d.ep_id = r.ep_id),
      hist AS (
        INSERT INTO history (at, dev_sno, ep_id, from_status, to_status, reason)
        SELECT h.at, h.dev_sno, h.ep_id, h.from_status, h.to_status, h.reason
        FROM unnest($30::bigint[], $31::text[], $32::text[], $33::text[], $34::text[], $35::text[]) WITH ORDINALITY
          AS h(at, dev_sno, ep_id, from_status, to_status, reason, ord)
        ORDER BY h.ord),
      reg AS (
        INSERT INTO registry (dev_sno, status, source, created_at, updated_at)
        SELECT r.dev_sno, 'active', 'auto', r.now, r.now FROM unnest($36::text[], $37::bigint[]) AS r(dev_sno, now)
        ON CONFLICT (dev_sno) DO NOTHING)
      SELECT 1`,
    values: [
      planned.map((p) => p.report.dev_sno),
      planned.map((p) => p.now),
      planned.map((p) => p.plan.box.statusChanged),
      planned.map((p) => p.plan.box.isNew),
      planned.map((p) => p.plan.box.subOnline),
      planned.map((p) => p.plan.box.subOffline),
      planned.map((p) => JSON.stringify(p.report.extra)),
      ...subColumns(added),
      ...subColumns(kept),
      kept.map((r) => r.w.statusChanged),
      removed.map((r) => r.p.report.dev_sno),
      removed.map((r) => r.p.now),
      removed.map((r) => r.epId),
      history.map((h) => h.p.now),
      history.map((h) => h.p.report.dev_sno),
      history.map((h) => h.t.ep_id),
      history.map((h) => h.t.from_status),
      history.map((h) => h.t.to_status),
      history.map((h) => h.t.reason),
      registering.map((p) => p.report.dev_sno),
      registering.map((p) => p.now),
      removed.map((r) => r.p.previousReportAt),
    ],
  });
}
