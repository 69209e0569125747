// What one ingest transaction on PostgreSQL does with its batch: lock the boxes' rows, plan each
// report against the box as the batch has it so far (rules in ../diff.ts, ../registry.ts), and
// write the plans in a few multi-row statements.
import type pg from 'pg';
import type { Report } from '../../protocol/index.js';
import { asError, type PendingReport } from '../batch.js';
import { planIngest, type IngestPlan } from '../diff.js';
import { admitReport } from '../registry.js';
import type { BoxStatus, CodeStatus, IngestResult, SubDeviceStatus } from '../types.js';

/** A box as this batch sees it; status null while it is new (claimed, not yet written). */
interface BoxInBatch {
  status: BoxStatus | null;
  subs: Map<string, SubDeviceStatus>;
}

/** What the batch's transaction has read and locked, moved on as its reports are written. */
export interface BatchState {
  /** Only boxes that may be admitted are claimed and locked. */
  boxes: Map<string, BoxInBatch>;
  /** Registry row of every dev_sno in the batch (null: not registered), share-locked. */
  codes: Map<string, { status: CodeStatus } | null>;
}

export interface Planned {
  source: PendingReport;
  report: Report;
  now: number;
  /** Open registry, unknown dev_sno: register it (source auto) with this report. */
  register: boolean;
  plan: IngestPlan;
}

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
    subDevices: [...box.subs].map(([ep_id, ep_status]) => ({ ep_id, ep_status })),
  };
  return { source: p, report: p.report, now: p.receivedAt, register, plan: planIngest(p.report, prior, p.receivedAt) };
}

/** Moves the batch's view of the box (and its code) on, once the report is written. */
export function advance(state: BatchState, planned: Planned): void {
  const box = state.boxes.get(planned.report.dev_sno)!;
  box.status = 'online';
  for (const w of planned.plan.writes) box.subs.set(w.sub.ep_id, w.sub.ep_status);
  for (const epId of planned.plan.removals) box.subs.set(epId, 'removed');
  if (planned.register) state.codes.set(planned.report.dev_sno, { status: 'active' });
}

/**
 * The whole batch in a few statements: wave k holds the k-th report of each box, so no
 * statement touches a row twice; a box's reports are applied in order.
 */
export async function writeInWaves(c: pg.PoolClient, batch: PendingReport[], state: BatchState): Promise<Array<IngestResult | Error>> {
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

/**
 * Locks the rows of every box in the batch (creating the new ones), in dev_sno order as every
 * ingest transaction of every process does, so ingest never deadlocks with ingest; then
 * reads what the reports will be compared with. A receiver ingesting the same boxes at the
 * same time waits here until this transaction ends.
 */
export async function lockBoxes(c: pg.PoolClient, batch: PendingReport[]): Promise<BatchState> {
  // The registry rows first, share-locked: a code revoked by any process either committed
  // before this (and the report is refused) or waits until this transaction has ended.
  const allDevSnos = [...new Set(batch.map((p) => p.report.dev_sno))];
  const registered = await c.query<{ dev_sno: string; status: CodeStatus }>({
    name: 'devstatus_registry_share',
    text: 'SELECT dev_sno, status FROM registry WHERE dev_sno = ANY($1::text[]) ORDER BY dev_sno FOR SHARE',
    values: [allDevSnos],
  });
  const codes = new Map<string, { status: CodeStatus } | null>(allDevSnos.map((d) => [d, null]));
  for (const r of registered.rows) codes.set(r.dev_sno, { status: r.status });
  // Boxes every report of which the registry refuses are neither created nor locked.
  const admissible = new Set<string>();
  for (const p of batch) {
    const code = codes.get(p.report.dev_sno) ?? null;
    if (code ? code.status !== 'revoked' : p.mode === 'open') admissible.add(p.report.dev_sno);
  }
  const boxes = new Map<string, BoxInBatch>();
  if (admissible.size === 0) return { boxes, codes };

  const firstSeen = new Map<string, number>();
  for (const p of batch) {
    if (admissible.has(p.report.dev_sno) && !firstSeen.has(p.report.dev_sno)) firstSeen.set(p.report.dev_sno, p.receivedAt);
  }
  const devSnos = [...firstSeen.keys()];
  const claimed = await c.query<{ dev_sno: string }>({
    name: 'devstatus_boxes_claim',
    text: `INSERT INTO boxes (dev_sno, status, first_seen_at, last_report_at, status_changed_at, report_count)
           SELECT n.dev_sno, 'online', n.at, n.at, n.at, 0 FROM unnest($1::text[], $2::bigint[]) AS n(dev_sno, at)
           ORDER BY n.dev_sno COLLATE "C"
           ON CONFLICT (dev_sno) DO NOTHING RETURNING dev_sno`,
    values: [devSnos, devSnos.map((d) => firstSeen.get(d))],
  });
  const locked = await c.query<{ dev_sno: string; status: BoxStatus }>({
    name: 'devstatus_boxes_lock',
    text: 'SELECT dev_sno, status FROM boxes WHERE dev_sno = ANY($1::text[]) ORDER BY dev_sno FOR UPDATE',
    values: [devSnos],
  });
  // A separate statement, so it sees what the previous lock holders committed.
  const subs = await c.query<{ dev_sno: string; ep_id: string; ep_status: SubDeviceStatus }>({
    name: 'devstatus_boxes_subs',
    text: 'SELECT dev_sno, ep_id, ep_status FROM sub_devices WHERE dev_sno = ANY($1::text[])',
    values: [devSnos],
  });
  const isNew = new Set(claimed.rows.map((r) => r.dev_sno));
  for (const r of locked.rows) boxes.set(r.dev_sno, { status: isNew.has(r.dev_sno) ? null : r.status, subs: new Map() });
  if (boxes.size !== devSnos.length) throw Object.assign(new Error('a box vanished while locking it'), { code: '40001' });
  for (const r of subs.rows) boxes.get(r.dev_sno)!.subs.set(r.ep_id, r.ep_status);
  return { boxes, codes };
}

/** Writes planned reports of distinct boxes in one statement. */
export async function writePlans(c: pg.PoolClient, planned: Planned[]): Promise<void> {
  const added = planned.flatMap((p) => p.plan.writes.filter((w) => w.isNew).map((w) => ({ p, w })));
  const kept = planned.flatMap((p) => p.plan.writes.filter((w) => !w.isNew).map((w) => ({ p, w })));
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
    rows.map((r) => JSON.stringify(r.w.sub.extra)),
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
        UPDATE sub_devices d SET ep_status = 'removed', status_changed_at = r.now
        FROM unnest($27::text[], $28::bigint[], $29::text[]) AS r(dev_sno, now, ep_id)
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
    ],
  });
}
