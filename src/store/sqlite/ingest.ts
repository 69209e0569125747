// Ingest on SQLite: reports that arrive together are written in one transaction (group commit),
// and answered once the WAL sync that covers that commit is done (durability.ts). The next
// batch is parsed and written while the disk works.
import type Database from 'better-sqlite3';
import type { Report } from '../../protocol/index.js';
import { asError, pendingReport, storeClosed, type PendingReport } from '../batch.js';
import { planIngest, sameSubFields, timeoutTransitions, type PriorSubDevice } from '../diff.js';
import { admitReport } from '../registry.js';
import type { BoxStatus, CodeStatus, IngestOptions, IngestResult, Transition } from '../types.js';
import type { WalSync } from './durability.js';
import type { Digest } from '../../util/body-digest.js';
import { identityOf, jsonOf, planStatusChange, shapeOf, type Shape } from '../report-shape.js';
import type { KnownBoxes } from './known-boxes.js';

/** A byte-for-byte repeat, known by its digest only (see Store.ingestRepeat). */
interface PendingRepeat {
  devSno: string;
  digest: Digest;
  receivedAt: number;
  resolve: (stored: boolean) => void;
  reject: (e: unknown) => void;
}

type Pending = PendingReport | PendingRepeat;
/** What writing one pending report gave: a repeat is stored (true) or was not known any more (false). */
type Written = IngestResult | boolean;

const isRepeat = (p: Pending): p is PendingRepeat => (p as Partial<PendingReport>).report === undefined;

/** What the diff needs plus the fields that decide whether a row must be rewritten. */
interface PriorSubRow extends PriorSubDevice {
  ep_ip: string;
  ep_location: string;
  ep_type: string;
  ep_name: string;
  extra: string;
}

/** Finds a box's prior sub-device rows by ep_id: a scan for the usual handful, a Map past that. */
function priorLookup(prior: PriorSubRow[]): (epId: string) => PriorSubRow | undefined {
  if (prior.length > 16) {
    const byId = new Map(prior.map((r) => [r.ep_id, r]));
    return (epId) => byId.get(epId);
  }
  return (epId) => {
    for (const r of prior) if (r.ep_id === epId) return r;
    return undefined;
  };
}


function prepareStatements(db: Database.Database) {
  return {
    // The box and its registry entry in one statement: this runs for every report.
    boxAndCode: db.prepare<[string], { code_status: CodeStatus | null; status: BoxStatus | null; last_report_at: number }>(
      `SELECT r.status AS code_status, b.status, b.last_report_at
       FROM (SELECT ? AS dev_sno) k
       LEFT JOIN registry r ON r.dev_sno = k.dev_sno
       LEFT JOIN boxes b ON b.dev_sno = k.dev_sno`,
    ),
    // status is left out of SET on purpose: the boxes_status index is then not touched.
    repeatBox: db.prepare<[number, string]>(
      `UPDATE boxes SET last_report_at = ?, report_count = report_count + 1 WHERE dev_sno = ?`,
    ),
    subs: db.prepare<[string], PriorSubRow>(
      'SELECT ep_id, ep_status, ep_ip, ep_location, ep_type, ep_name, extra FROM sub_devices WHERE dev_sno = ?',
    ),
    insertBox: db.prepare(
      `INSERT INTO boxes (dev_sno, status, first_seen_at, last_report_at, status_changed_at, report_count, sub_online, sub_offline, extra)
       VALUES (@dev_sno, 'online', @now, @now, @now, 1, @on, @off, @extra)`,
    ),
    // A box back online: its status changes (and with it the boxes_status index).
    reviveBox: db.prepare<[number, number, number, number, string, string]>(
      `UPDATE boxes SET status = 'online', last_report_at = ?, report_count = report_count + 1,
         status_changed_at = ?, sub_online = ?, sub_offline = ?, extra = ?
       WHERE dev_sno = ?`,
    ),
    // Only the counts change (a report that changes statuses only, see writeStatusChanges).
    updateBoxCounts: db.prepare<[number, number, number, string]>(
      `UPDATE boxes SET last_report_at = ?, report_count = report_count + 1, sub_online = ?, sub_offline = ? WHERE dev_sno = ?`,
    ),
    // A box that was online already, the usual case: status left out, the index is not touched.
    updateBox: db.prepare<[number, number, number, string, string]>(
      `UPDATE boxes SET last_report_at = ?, report_count = report_count + 1, sub_online = ?, sub_offline = ?, extra = ?
       WHERE dev_sno = ?`,
    ),
    insertSub: db.prepare<[string, string, string, string, string, string, string, string, number, number, number]>(
      `INSERT INTO sub_devices (dev_sno, ep_id, ep_ip, ep_status, ep_location, ep_type, ep_name, extra, first_seen_at, last_seen_at, status_changed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // A row that exists (an UPDATE, not an INSERT that fails into ON CONFLICT: half the work).
    updateSub: db.prepare<[string, string, string, string, string, string, number, number, number, string, string]>(
      `UPDATE sub_devices SET ep_ip = ?, ep_status = ?, ep_location = ?, ep_type = ?, ep_name = ?, extra = ?,
         last_seen_at = ?, status_changed_at = CASE WHEN ? THEN ? ELSE status_changed_at END
       WHERE dev_sno = ? AND ep_id = ?`,
    ),
    // A status change alone, the usual change (a storm): the columns of sub_devices_name and
    // sub_devices_location are left out of SET, so SQLite leaves those indexes alone.
    updateSubStatus: db.prepare<[string, number, number, string, string]>(
      `UPDATE sub_devices SET ep_status = ?, last_seen_at = ?, status_changed_at = ? WHERE dev_sno = ? AND ep_id = ?`,
    ),
    removeSub: db.prepare(
      `UPDATE sub_devices SET ep_status = 'removed', status_changed_at = @now, last_seen_at = @seen WHERE dev_sno = @dev_sno AND ep_id = @ep_id`,
    ),
    // A box's timeout: no reason from a box.
    insertHistory: db.prepare(
      `INSERT INTO history (at, dev_sno, ep_id, from_status, to_status, reason)
       VALUES (@at, @dev_sno, @ep_id, @from_status, @to_status, @reason)`,
    ),
    /** HISTORY_ROWS_PER_INSERT history rows in one statement (see HistoryRows). */
    insertHistoryRows: db.prepare(
      `INSERT INTO history (at, dev_sno, ep_id, from_status, to_status, reason, detail) VALUES ${Array(HISTORY_ROWS_PER_INSERT)
        .fill('(?, ?, ?, ?, ?, ?, ?)')
        .join(', ')}`,
    ),
    insertHistoryRow: db.prepare<[number, string, string | null, string | null, string, string, string | null]>(
      `INSERT INTO history (at, dev_sno, ep_id, from_status, to_status, reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    autoRegister: db.prepare(
      `INSERT INTO registry (dev_sno, status, source, created_at, updated_at) VALUES (?, 'active', 'auto', ?, ?)`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

const HISTORY_ROWS_PER_INSERT = 32;
const HISTORY_COLUMNS = 7;

/**
 * The history rows of a batch, written together at its end: a storm gives one or more per
 * report, and one statement of 32 rows costs far less than 32 statements of one.
 */
class HistoryRows {
  /** Column values, row after row: at, dev_sno, ep_id, from_status, to_status, reason, detail. */
  values: Array<string | number | null> = [];

  add(at: number, t: Transition): void {
    this.values.push(at, t.dev_sno, t.ep_id, t.from_status, t.to_status, t.reason, t.detail ?? null);
  }

  append(other: HistoryRows): void {
    for (const v of other.values) this.values.push(v);
  }

  write(s: Statements): void {
    const v = this.values;
    const full = HISTORY_ROWS_PER_INSERT * HISTORY_COLUMNS;
    let i = 0;
    for (; i + full <= v.length; i += full) s.insertHistoryRows.run(v.slice(i, i + full));
    for (; i < v.length; i += HISTORY_COLUMNS) {
      s.insertHistoryRow.run(v[i] as number, v[i + 1] as string, v[i + 2] as string | null, v[i + 3] as string | null, v[i + 4] as string, v[i + 5] as string, v[i + 6] as string | null);
    }
  }
}

/** What a batch's reports leave for after their writes: history to insert, boxes to remember. */
interface BatchOutput {
  history: HistoryRows;
  /** What may be remembered once the transaction has committed. */
  learned: Array<[string, Digest, Shape | undefined]>;
}

const batchOutput = (): BatchOutput => ({ history: new HistoryRows(), learned: [] });

/**
 * Writes a batch of reports in one transaction and returns each one's result (an Error for a
 * report that was refused and rolled back alone). Boxes whose rows now say what their report
 * says are remembered once the transaction has committed.
 */
function batchWriter(db: Database.Database, s: Statements, known: KnownBoxes) {
  /**
   * A report that differs from the box's last one in statuses only (see KnownBoxes.statusesOf):
   * the box is online with an active code and its rows hold the report's fields, so nothing is
   * read; the rows of the sub-devices whose status changed and the box's counts are written.
   */
  const writeStatusChanges = (p: PendingReport, identity: Digest, shape: Shape, offlineBits: number, out: BatchOutput): IngestResult => {
    const { report, receivedAt: now } = p;
    const devSno = report.dev_sno;
    const plan = planStatusChange(report, offlineBits, now);
    s.updateBoxCounts.run(now, plan.box.subOnline, plan.box.subOffline, devSno);
    for (const w of plan.writes) if (w.statusChanged) s.updateSubStatus.run(w.sub.ep_status, now, now, devSno, w.sub.ep_id);
    for (const t of plan.transitions) out.history.add(now, t);
    out.learned.push([devSno, identity, shape]);
    return { transitions: plan.transitions };
  };

  const writeOne = (p: Pending, out: BatchOutput): Written => {
    if (isRepeat(p)) {
      // Still known (nothing since the lookup made the box's rows differ): one update.
      if (!known.matches(p.devSno, p.digest)) return false;
      s.repeatBox.run(p.receivedAt, p.devSno);
      return true;
    }
    const { report, receivedAt: now, mode } = p;
    const devSno = report.dev_sno;
    const identity = identityOf(report, p.source);
    if (known.matches(devSno, identity)) {
      // Same sub-devices, same statuses as the box's last report, and the box is online with
      // an active code (see KnownBoxes): nothing to read, nothing to diff, no transition.
      s.repeatBox.run(now, devSno);
      return { transitions: [] };
    }
    const shape = shapeOf(report);
    const offlineBits = shape ? known.statusesOf(devSno, shape) : -1;
    // From here on the rows change; what is remembered is stale until the commit.
    known.forget(devSno);
    if (offlineBits >= 0) return writeStatusChanges(p, identity, shape!, offlineBits, out);
    const extraJson = jsonOf(report.extra);
    const row = s.boxAndCode.get(devSno)!;
    const code = row.code_status === null ? null : { status: row.code_status };
    if (admitReport(devSno, code, mode) === 'register') {
      s.autoRegister.run(devSno, now, now);
    }
    const box = row.status === null ? null : { status: row.status, last_report_at: row.last_report_at };
    const prior = box ? s.subs.all(devSno) : [];
    const plan = planIngest(report, { box, subDevices: prior }, now);
    const priorOf = priorLookup(prior);
    const { subOnline, subOffline } = plan.box;
    if (plan.box.isNew) {
      s.insertBox.run({ dev_sno: devSno, now, on: subOnline, off: subOffline, extra: extraJson });
    } else if (plan.box.statusChanged) s.reviveBox.run(now, now, subOnline, subOffline, extraJson, devSno);
    else s.updateBox.run(now, subOnline, subOffline, extraJson, devSno);
    for (const w of plan.writes) {
      const sub = w.sub;
      const extra = jsonOf(sub.extra);
      if (w.isNew) {
        s.insertSub.run(devSno, sub.ep_id, sub.ep_ip, sub.ep_status, sub.ep_location, sub.ep_type, sub.ep_name, extra, now, now, now);
        continue;
      }
      // An unchanged row is left alone: its last_seen_at is the box's last_report_at (see getBox).
      const sameFields = sameSubFields(priorOf(sub.ep_id)!, sub, extra);
      if (!w.statusChanged && sameFields) continue;
      if (sameFields) {
        s.updateSubStatus.run(sub.ep_status, now, now, devSno, sub.ep_id);
        continue;
      }
      s.updateSub.run(sub.ep_ip, sub.ep_status, sub.ep_location, sub.ep_type, sub.ep_name, extra, now, w.statusChanged ? 1 : 0, now, devSno, sub.ep_id);
    }
    // A sub-device missing now was last seen in the box's previous report.
    for (const ep_id of plan.removals) s.removeSub.run({ dev_sno: devSno, ep_id, now, seen: box!.last_report_at });
    for (const t of plan.transitions) out.history.add(now, t);
    // The box is online now, with an active code, and its rows say what this report says.
    out.learned.push([devSno, identity, shape]);
    return { transitions: plan.transitions };
  };
  const ingestOne = db.transaction(writeOne);

  // One transaction = one commit (one fsync) for the whole batch. Reports do not fail in
  // practice (they are validated before), so the batch is first written without a savepoint
  // per report; if one does fail (a refused code, a disk error), the batch is rolled back whole
  // and written again with each report in its own savepoint, so the bad one rolls back alone
  // and the others still commit.
  const fastBatch = db.transaction((batch: Pending[], out: BatchOutput) => {
    const results = batch.map((p) => writeOne(p, out));
    out.history.write(s);
    return results;
  });
  const safeBatch = db.transaction((batch: Pending[], out: BatchOutput) => {
    const results = batch.map((p) => {
      const mine = batchOutput();
      try {
        const r = ingestOne(p, mine);
        out.history.append(mine.history);
        for (const l of mine.learned) out.learned.push(l);
        return r;
      } catch (e) {
        return asError(e);
      }
    });
    out.history.write(s);
    return results;
  });
  return (batch: Pending[]): Array<Written | Error> => {
    let out = batchOutput();
    let results: Array<Written | Error>;
    try {
      results = fastBatch(batch, out);
    } catch {
      out = batchOutput();
      results = safeBatch(batch, out);
    }
    // Committed: remember, in order, so a box's last report in the batch wins.
    for (const [devSno, k, shape] of out.learned) known.remember(devSno, k, shape);
    return results;
  };
}

/** The reports waiting for their batch, and the writing of each batch. */
export class SqliteIngest {
  private pending: Pending[] = [];
  private flushScheduled = false;
  private flushAfterSync = false;
  private closed = false;
  private readonly stmts: Statements;
  private readonly writeBatch: (batch: Pending[]) => Array<Written | Error>;

  constructor(
    private readonly db: Database.Database,
    private readonly sync: WalSync,
    private readonly known: KnownBoxes,
    private readonly maxBatch: number,
    /**
     * Asked before each batch is written: true holds the batches until `resume` is called (the
     * WAL checkpointer's holdWrites).
     */
    private readonly holdWrites: (resume: () => void) => boolean = () => false,
  ) {
    this.stmts = prepareStatements(db);
    this.writeBatch = batchWriter(db, this.stmts, known);
  }

  ingest(report: Report, receivedAt: number, opts: IngestOptions): Promise<IngestResult> {
    if (this.closed) return Promise.reject(storeClosed());
    return new Promise((resolve, reject) => this.enqueue(pendingReport(report, receivedAt, opts, resolve, reject)));
  }

  /** See Store.ingestRepeat: undefined unless the box's last report had this digest. */
  ingestRepeat(devSno: string, digest: Digest, receivedAt: number): Promise<boolean> | undefined {
    if (this.closed || !this.known.matches(devSno, digest)) return undefined;
    return new Promise((resolve, reject) => this.enqueue({ devSno, digest, receivedAt, resolve, reject }));
  }

  private enqueue(p: Pending): void {
    this.pending.push(p);
    if (this.pending.length >= this.maxBatch) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      // setImmediate lets every request already parsed in this tick join the batch.
      setImmediate(() => this.flushUnlessSyncing());
    }
  }

  /** Called once a sync is done: the reports that waited for it go in one commit now. */
  afterSync(): void {
    if (this.flushAfterSync) {
      this.flushAfterSync = false;
      // After the answers to what just reached the disk have gone out (they are sent as the
      // sync's callback returns): the boxes waiting on them get them a commit's time sooner.
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is waiting; accepts nothing more. */
  close(): void {
    this.flush(true);
    this.closed = true;
  }

  /**
   * While a sync is under way, a commit would only wait for the next one: the reports wait
   * instead, and go in one bigger commit as soon as the disk is free (see afterSync).
   */
  private flushUnlessSyncing(): void {
    if (this.sync.syncing) this.flushAfterSync = true;
    else this.flush();
  }

  /** Writes what is waiting, unless the WAL checkpointer holds the writes (force: even then). */
  private flush(force = false): void {
    this.flushScheduled = false;
    while (this.pending.length > 0) {
      if (!force && this.holdWrites(this.resume)) return;
      const batch = this.pending.splice(0, this.maxBatch);
      const failure = this.sync.failure;
      if (failure) {
        for (const p of batch) p.reject(failure);
        continue;
      }
      let results: Array<Written | Error>;
      try {
        results = this.writeBatch(batch);
      } catch (e) {
        for (const p of batch) p.reject(e);
        continue;
      }
      // Refused reports were rolled back: nothing of theirs waits for the disk.
      const stored: Pending[] = [];
      const written: Written[] = [];
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i]!;
        const r = results[i]!;
        if (r instanceof Error) p.reject(r);
        else {
          stored.push(p);
          written.push(r);
        }
      }
      if (stored.length === 0) continue;
      this.sync.durable().then(
        () => {
          for (let i = 0; i < stored.length; i++) (stored[i]!.resolve as (r: Written) => void)(written[i]!);
        },
        (e: unknown) => {
          for (const p of stored) p.reject(e);
        },
      );
    }
  }

  private readonly resume = () => this.flush();

  markSilentBoxesOffline(cutoffMs: number, now: number): Promise<Transition[]> {
    // Reports already received but not yet written would otherwise look silent.
    this.flush(true);
    const run = this.db.transaction(() => {
      const gone = this.db
        .prepare(
          `UPDATE boxes SET status = 'offline', status_changed_at = @now
           WHERE status = 'online' AND last_report_at < @cutoff RETURNING dev_sno`,
        )
        .all({ now, cutoff: cutoffMs }) as Array<{ dev_sno: string }>;
      for (const { dev_sno } of gone) this.known.forget(dev_sno);
      const transitions = timeoutTransitions(gone.map((r) => r.dev_sno), now);
      for (const t of transitions) this.stmts.insertHistory.run({ ...t, at: now });
      return transitions;
    });
    return this.sync.afterCommit(run(), (ts) => ts.length > 0);
  }
}
