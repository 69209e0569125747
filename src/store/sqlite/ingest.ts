// Ingest on SQLite: reports that arrive together are written in one transaction (group commit),
// and answered once the WAL sync that covers that commit is done (durability.ts). The next
// batch is parsed and written while the disk works.
import type Database from 'better-sqlite3';
import type { Report } from '../../protocol/index.js';
import { asError, pendingReport, storeClosed, type PendingReport } from '../batch.js';
import { planIngest, timeoutTransitions, type PriorSubDevice } from '../diff.js';
import { admitReport } from '../registry.js';
import type { BoxStatus, CodeStatus, IngestOptions, IngestResult, Transition } from '../types.js';
import type { WalSync } from './durability.js';
import type { Digest } from '../../util/body-digest.js';
import { identityOf, jsonOf, type KnownBoxes } from './known-boxes.js';

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

function sameFields(row: PriorSubRow, sub: Report['sub_devices'][number], extra: string): boolean {
  return (
    row.ep_ip === sub.ep_ip &&
    row.ep_location === sub.ep_location &&
    row.ep_type === sub.ep_type &&
    row.ep_name === sub.ep_name &&
    row.extra === extra
  );
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
    updateBox: db.prepare(
      `UPDATE boxes SET status = 'online', last_report_at = @now, report_count = report_count + 1,
         status_changed_at = CASE WHEN @changed THEN @now ELSE status_changed_at END,
         sub_online = @on, sub_offline = @off, extra = @extra
       WHERE dev_sno = @dev_sno`,
    ),
    upsertSub: db.prepare(
      `INSERT INTO sub_devices (dev_sno, ep_id, ep_ip, ep_status, ep_location, ep_type, ep_name, extra, first_seen_at, last_seen_at, status_changed_at)
       VALUES (@dev_sno, @ep_id, @ep_ip, @ep_status, @ep_location, @ep_type, @ep_name, @extra, @now, @now, @now)
       ON CONFLICT (dev_sno, ep_id) DO UPDATE SET
         ep_ip = excluded.ep_ip, ep_status = excluded.ep_status, ep_location = excluded.ep_location,
         ep_type = excluded.ep_type, ep_name = excluded.ep_name, extra = excluded.extra,
         last_seen_at = excluded.last_seen_at,
         status_changed_at = CASE WHEN @changed THEN excluded.status_changed_at ELSE sub_devices.status_changed_at END`,
    ),
    removeSub: db.prepare(
      `UPDATE sub_devices SET ep_status = 'removed', status_changed_at = @now, last_seen_at = @seen WHERE dev_sno = @dev_sno AND ep_id = @ep_id`,
    ),
    insertHistory: db.prepare(
      `INSERT INTO history (at, dev_sno, ep_id, from_status, to_status, reason)
       VALUES (@at, @dev_sno, @ep_id, @from_status, @to_status, @reason)`,
    ),
    autoRegister: db.prepare(
      `INSERT INTO registry (dev_sno, status, source, created_at, updated_at) VALUES (?, 'active', 'auto', ?, ?)`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/**
 * Writes a batch of reports in one transaction and returns each one's result (an Error for a
 * report that was refused and rolled back alone). Boxes whose rows now say what their report
 * says are remembered once the transaction has committed.
 */
function batchWriter(db: Database.Database, s: Statements, known: KnownBoxes) {
  // `learned`: what the caller may remember once this report's writes are committed.
  const writeOne = (p: Pending, learned: Array<[string, Digest]>): Written => {
    if (isRepeat(p)) {
      // Still known (nothing since the lookup made the box's rows differ): one update.
      if (!known.matches(p.devSno, p.digest)) return false;
      s.repeatBox.run(p.receivedAt, p.devSno);
      return true;
    }
    const { report, receivedAt: now, mode } = p;
    const identity = identityOf(report, p.source);
    if (known.matches(report.dev_sno, identity)) {
      // Same sub-devices, same statuses as the box's last report, and the box is online with
      // an active code (see KnownBoxes): nothing to read, nothing to diff, no transition.
      s.repeatBox.run(now, report.dev_sno);
      return { transitions: [] };
    }
    // From here on the rows change; what is remembered is stale until the commit.
    known.forget(report.dev_sno);
    const extraJson = jsonOf(report.extra);
    const row = s.boxAndCode.get(report.dev_sno)!;
    const code = row.code_status === null ? null : { status: row.code_status };
    if (admitReport(report.dev_sno, code, mode) === 'register') {
      s.autoRegister.run(report.dev_sno, now, now);
    }
    const box = row.status === null ? null : { status: row.status, last_report_at: row.last_report_at };
    const prior = box ? s.subs.all(report.dev_sno) : [];
    const plan = planIngest(report, { box, subDevices: prior }, now);
    const priorById = new Map(prior.map((r) => [r.ep_id, r]));
    const boxParams = {
      dev_sno: report.dev_sno,
      now,
      on: plan.box.subOnline,
      off: plan.box.subOffline,
      extra: extraJson,
      changed: plan.box.statusChanged ? 1 : 0,
    };
    if (plan.box.isNew) {
      const { changed: _changed, ...insertParams } = boxParams;
      s.insertBox.run(insertParams);
    } else s.updateBox.run(boxParams);
    for (const w of plan.writes) {
      const extra = JSON.stringify(w.sub.extra);
      const before = priorById.get(w.sub.ep_id);
      // An unchanged row is left alone: its last_seen_at is the box's last_report_at (see getBox).
      if (!w.isNew && !w.statusChanged && before && sameFields(before, w.sub, extra)) continue;
      s.upsertSub.run({
        dev_sno: report.dev_sno,
        ep_id: w.sub.ep_id,
        ep_ip: w.sub.ep_ip,
        ep_status: w.sub.ep_status,
        ep_location: w.sub.ep_location,
        ep_type: w.sub.ep_type,
        ep_name: w.sub.ep_name,
        extra,
        now,
        changed: w.statusChanged ? 1 : 0,
      });
    }
    // A sub-device missing now was last seen in the box's previous report.
    for (const ep_id of plan.removals) s.removeSub.run({ dev_sno: report.dev_sno, ep_id, now, seen: box!.last_report_at });
    for (const t of plan.transitions) s.insertHistory.run({ ...t, at: now });
    // The box is online now, with an active code, and its rows say what this report says.
    learned.push([report.dev_sno, identity]);
    return { transitions: plan.transitions };
  };
  const ingestOne = db.transaction(writeOne);

  // One transaction = one commit (one fsync) for the whole batch. Reports do not fail in
  // practice (they are validated before), so the batch is first written without a savepoint
  // per report; if one does fail (a refused code, a disk error), the batch is rolled back whole
  // and written again with each report in its own savepoint, so the bad one rolls back alone
  // and the others still commit.
  const fastBatch = db.transaction((batch: Pending[], learned: Array<[string, Digest]>) =>
    batch.map((p) => writeOne(p, learned)),
  );
  const safeBatch = db.transaction((batch: Pending[], learned: Array<[string, Digest]>) =>
    batch.map((p) => {
      const mine: Array<[string, Digest]> = [];
      try {
        const r = ingestOne(p, mine);
        learned.push(...mine);
        return r;
      } catch (e) {
        return asError(e);
      }
    }),
  );
  return (batch: Pending[]): Array<Written | Error> => {
    let learned: Array<[string, Digest]> = [];
    let results: Array<Written | Error>;
    try {
      results = fastBatch(batch, learned);
    } catch {
      learned = [];
      results = safeBatch(batch, learned);
    }
    // Committed: remember, in order, so a box's last report in the batch wins.
    for (const [devSno, k] of learned) known.remember(devSno, k);
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
    this.flush();
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

  private flush(): void {
    this.flushScheduled = false;
    while (this.pending.length > 0) {
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

  markSilentBoxesOffline(cutoffMs: number, now: number): Promise<Transition[]> {
    // Reports already received but not yet written would otherwise look silent.
    this.flush();
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
