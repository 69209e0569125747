// Ingest on PostgreSQL: one group-commit pipeline per receiver. Reports that arrive while a batch
// is being written form the next batch, written in one transaction: first its boxes' rows are
// locked and read (ingest-write.ts, one round trip with the BEGIN), then every write of the batch
// goes with the COMMIT (a second round trip, one WAL flush). Batches run side by side, one per
// ingest connection (see pump for when one starts); a report whose box a batch is still locking
// waits until that batch holds the lock, then joins a batch that queues behind it on the row
// lock, so a box's reports are applied in the order they came, and receivers ingesting the same
// box never lose or duplicate a transition. If one
// report fails, the batch goes back to a savepoint taken after the locks (which it keeps) and is
// written again with a savepoint per report, so that report fails alone.
//
// A byte-for-byte repeat of a report this receiver wrote (the steady state of a fleet), known by
// its digest (Store.ingestRepeat), and a report that changes statuses only (a storm) need no
// read and no lock (known-rows.ts): they are written in the first round trip, with the BEGIN,
// by one set-based statement (known-batch.ts), provided the box's row is still the version this
// receiver wrote. Otherwise a repeat goes back to the caller, which parses it, and a status
// change is written by the full path in a second transaction of its batch (writeBatch).
import type pg from 'pg';
import type { Report } from '../../protocol/index.js';
import { asError, pendingReport, storeClosed, type PendingReport } from '../batch.js';
import { timeoutTransitions } from '../diff.js';
import type { IngestOptions, IngestResult, Transition } from '../types.js';
import type { Digest } from '../../util/body-digest.js';
import { isTransient } from './connection.js';
import { prepareIngestConnection } from './ingest-session.js';
import { advance, cloneState, lockSql, orphansSql, plan, planInWaves, stateOfLocked, writeSql, type BatchState, type Planned } from './ingest-write.js';
import { KnownGroup, type KnownShape } from './known-batch.js';
import { isRepeat, KnownRows, type PendingRepeat } from './known-rows.js';
import { identityOf, shapeOf } from '../report-shape.js';

/** Most box + sub-device rows in one batch (a report has at most 4096 sub-devices). */
const MAX_BATCH_ROWS = 20_000;
/** Fewest reports a batch takes when what waits is shared among free connections (startBatch). */
const MIN_SHARED_BATCH = 8;

/** A full report in the queue, with what it is recognized by. */
interface PendingFull extends PendingReport {
  /** Its identity and shape (undefined: too many sub-devices for a shape). */
  known: KnownShape | undefined;
}

type Pending = PendingFull | PendingRepeat;

const boxOf = (p: Pending) => (isRepeat(p) ? p.devSno : p.report.dev_sno);

const byDevSno = (a: PendingFull, b: PendingFull) =>
  a.report.dev_sno < b.report.dev_sno ? -1 : a.report.dev_sno > b.report.dev_sno ? 1 : 0;

/** The rows of one statement's answer, from a simple query of several statements (rowMode array). */
const rowsOf = (answer: unknown, i: number): unknown[][] => ((answer as pg.QueryResult[])[i]!.rows as unknown[][]);

/** How the reports written so far went (see Store.ingestPaths): counted when their transaction is sent. */
export interface IngestPaths {
  /** Byte-for-byte repeats written by the known path. */
  repeats: number;
  /** Status-only changes written by the known path. */
  statusChanges: number;
  /** Reports locked, read and diffed (the full path), handed-back ones included. */
  full: number;
  /** Repeats and status changes the known path handed back (the box's row was not the version remembered). */
  handedBack: number;
  /** Batches started (each one transaction, or two with reports handed back). */
  batches: number;
}

export class PgIngest {
  readonly paths: IngestPaths = { repeats: 0, statusChanges: 0, full: 0, handedBack: 0, batches: 0 };
  private pending: Pending[] = [];
  private closed = false;
  private scheduled = false;
  /**
   * The boxes of batches still taking their locks: a report of one of them waits until that
   * batch holds them (then it queues behind that batch on the row lock), so a box's reports are
   * applied in the order they came; batches of other boxes start at once.
   */
  private readonly locking = new Set<string>();
  /** A batch with full reports is taking its locks. */
  private fullLocking = false;
  /** Reports accepted so far, and taken into batches so far (batches take them in order). */
  private accepted = 0;
  private taken = 0;
  /** Batches being written, by the number of the first report in each. */
  private readonly running = new Set<number>();
  private waiters: Array<{ upTo: number; resolve: () => void }> = [];

  /**
   * pool: for the silent-box sweep; ingestPool: connections used for nothing but ingest
   * (ingest-session.ts sets them up), one per batch in flight.
   */
  constructor(
    private readonly pool: pg.Pool,
    private readonly ingestPool: pg.Pool,
    private readonly maxBatch: number,
    private readonly maxInFlight: number,
    /** The last report this receiver wrote of each box, and the version of the box's row it left. */
    private readonly known: KnownRows,
  ) {}

  ingest(report: Report, receivedAt: number, opts: IngestOptions): Promise<IngestResult> {
    if (this.closed) return Promise.reject(storeClosed());
    return new Promise<IngestResult>((resolve, reject) => {
      const p = pendingReport(report, receivedAt, opts, resolve, reject);
      const shape = shapeOf(report);
      this.enqueue({ ...p, known: shape && { identity: identityOf(report, p.source), shape } });
    });
  }

  /** Whether a full report may take the known path, as far as the queue can tell (writeBatch decides). */
  private mayTakeKnownPath(p: PendingFull): boolean {
    return p.known !== undefined && this.known.statusesOf(p.report.dev_sno, p.known.shape) !== undefined;
  }

  /** See Store.ingestRepeat: undefined unless this receiver's last write of the box had this digest. */
  ingestRepeat(devSno: string, digest: Digest, receivedAt: number): Promise<boolean> | undefined {
    if (this.closed || !this.known.knows(devSno, digest)) return undefined;
    return new Promise<boolean>((resolve, reject) => this.enqueue({ devSno, digest, receivedAt, resolve, reject }));
  }

  private enqueue(p: Pending): void {
    this.pending.push(p);
    this.accepted++;
    if (!this.scheduled) {
      this.scheduled = true;
      // setImmediate lets every request already parsed in this tick join the batch.
      setImmediate(() => {
        this.scheduled = false;
        this.pump();
      });
    }
  }

  /** Accepts nothing more; resolves once what was accepted is written. */
  async close(): Promise<void> {
    this.closed = true;
    await this.settled(this.accepted);
  }

  /**
   * Marks offline every online box silent since cutoffMs, once. One statement: the rows are
   * locked in dev_sno order (as ingest locks them) and re-checked once locked, so a box that
   * another receiver has just marked offline, or that has just reported, is left alone: each
   * timeout is recorded once, by one receiver.
   */
  async markSilentBoxesOffline(cutoffMs: number, now: number): Promise<Transition[]> {
    // Reports this process has received but not yet written would otherwise look silent.
    await this.settled(this.accepted);
    const { rows } = await this.pool.query<{ dev_sno: string }>({
      name: 'devstatus_mark_silent',
      text: `WITH due AS (
               SELECT dev_sno FROM boxes WHERE status = 'online' AND last_report_at < $1 ORDER BY dev_sno FOR UPDATE),
             gone AS (
               UPDATE boxes b SET status = 'offline', status_changed_at = $2 FROM due
               WHERE b.dev_sno = due.dev_sno RETURNING b.dev_sno),
             hist AS (
               INSERT INTO history (at, dev_sno, ep_id, from_status, to_status, reason)
               SELECT $2::bigint, dev_sno, NULL, 'online', 'offline', 'report_timeout' FROM gone ORDER BY dev_sno)
             SELECT dev_sno FROM gone ORDER BY dev_sno`,
      values: [cutoffMs, now],
    });
    return timeoutTransitions(rows.map((r) => r.dev_sno), now);
  }

  /** Resolves once the first upTo reports accepted have been written (or have failed). */
  private settled(upTo: number): Promise<void> {
    if (this.writtenBelow() >= upTo) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ upTo, resolve }));
  }

  /** Every report numbered below this has been written or has failed. */
  private writtenBelow(): number {
    let below = this.taken;
    for (const first of this.running) below = Math.min(below, first);
    return below;
  }

  /**
   * Starts batches while reports are waiting and connections are free. A batch takes the reports
   * up to the first one whose box a batch is still locking, and up to the first full report while
   * another batch with full reports is taking its locks. A full report costs its batch two
   * function calls whatever the batch's size, so those wait and go together (as they always did);
   * repeats cost one small statement and one round trip, so they go at once.
   */
  private pump(): void {
    while (this.pending.length > 0 && this.running.size < this.maxInFlight) {
      if (!this.startBatch()) return;
    }
  }

  /**
   * Starts one batch of what is waiting (see pump); false if none can start now. What is waiting
   * is shared among the free connections: one batch of everything would leave PostgreSQL working
   * on one core while the receiver waits, then the receiver answering and parsing while
   * PostgreSQL waits; batches side by side keep both busy (see docs/benchmarks-ingest.md).
   */
  private startBatch(): boolean {
    const free = this.maxInFlight - this.running.size;
    let share = Math.max(MIN_SHARED_BATCH, Math.ceil(this.pending.length / free));
    // No batch of a few left behind: it would only add a commit.
    if (this.pending.length - share < MIN_SHARED_BATCH) share = this.pending.length;
    // Bounded in reports and in rows, so one statement never carries a huge fleet at once.
    let n = 0;
    let rows = 0;
    let full = false;
    while (n < this.pending.length && n < this.maxBatch && n < share && rows < MAX_BATCH_ROWS) {
      const p = this.pending[n]!;
      if (this.locking.has(boxOf(p))) break;
      if (isRepeat(p)) rows += 1;
      else if (this.mayTakeKnownPath(p)) rows += 1 + p.report.sub_devices.length;
      else if (this.fullLocking) break;
      else {
        full = true;
        rows += 1 + p.report.sub_devices.length;
      }
      n++;
    }
    if (n === 0) return false;
    this.paths.batches++;
    const batch = this.pending.splice(0, n);
    const first = this.taken;
    this.taken += n;
    this.running.add(first);
    const boxes = new Set(batch.map(boxOf));
    for (const b of boxes) this.locking.add(b);
    if (full) this.fullLocking = true;
    let fullLocked = false;
    // keep: boxes the batch will lock later (handed back by the known path), still held.
    const onLocked = (keep?: ReadonlySet<string>) => {
      for (const b of boxes) {
        if (keep?.has(b)) continue;
        boxes.delete(b);
        this.locking.delete(b);
      }
      if (full && !fullLocked) {
        fullLocked = true;
        this.fullLocking = false;
      }
      this.pump();
    };
    void this.writeBatch(batch, onLocked).finally(() => {
      onLocked();
      this.running.delete(first);
      const below = this.writtenBelow();
      const ready = this.waiters.filter((w) => w.upTo <= below);
      if (ready.length) {
        this.waiters = this.waiters.filter((w) => w.upTo > below);
        for (const w of ready) w.resolve();
      }
      this.pump();
    });
    return true;
  }

  /**
   * One transaction for the batch; nothing resolves before COMMIT. Status changes the known path
   * handed back (their boxes' rows were not the version remembered) follow in a second
   * transaction on the same connection, by the full path; their boxes stay held meanwhile, so
   * each box's reports are still written in the order they came.
   */
  private async writeBatch(pending: Pending[], onLocked: (keep?: ReadonlySet<string>) => void): Promise<void> {
    // A repeat that comes after a full report of its box in the batch is not what the box's row
    // says yet: it is handed back at once, and parsed and written after that report.
    const batch: PendingFull[] = [];
    const withFull = new Set<string>();
    const group = new KnownGroup();
    for (const p of pending) {
      if (isRepeat(p)) {
        if (withFull.has(p.devSno) || !group.addRepeat(p, this.known)) p.resolve(false);
        continue;
      }
      const devSno = p.report.dev_sno;
      if (!withFull.has(devSno) && group.addChange(p, p.known, this.known)) {
        withFull.add(devSno);
        continue;
      }
      // A second full report of a box: both take the full path, in order.
      const earlier = group.takeBack(devSno);
      if (earlier) batch.push(earlier as PendingFull);
      batch.push(p);
      withFull.add(devSno);
    }
    const handedBack: PendingFull[] = [];
    let client: pg.PoolClient | undefined;
    try {
      client = await this.ingestPool.connect();
      await prepareIngestConnection(client);
      await this.writeTransaction(client, batch, group, onLocked, (p) => handedBack.push(p as PendingFull));
      if (handedBack.length) await this.writeTransaction(client, handedBack, new KnownGroup(), onLocked, () => {});
    } catch (e) {
      // The connection or a commit failed: no report not yet settled is acknowledged (settling
      // a report twice does nothing, so those of a committed transaction keep their answer).
      client?.release(e instanceof Error ? e : true);
      for (const p of batch) p.reject(e);
      for (const p of handedBack) p.reject(e);
      group.reject(e);
      return;
    }
    client.release();
  }

  /** One transaction: the full reports and the known group; each report is settled once it commits. */
  private async writeTransaction(
    c: pg.PoolClient,
    batch: PendingFull[],
    group: KnownGroup,
    onLocked: (keep?: ReadonlySet<string>) => void,
    handBack: (p: PendingReport) => void,
  ): Promise<void> {
    // Grouped by box; the sort is stable, so a box's reports keep the order they came in.
    batch.sort(byDevSno);
    const results = await this.lockAndWrite(c, batch, group, onLocked, handBack);
    group.resolve();
    batch.forEach((p, i) => {
      const r = results[i]!;
      if (r instanceof Error) p.reject(r);
      else p.resolve(r);
    });
  }

  private async lockAndWrite(
    c: pg.PoolClient,
    batch: PendingFull[],
    group: KnownGroup,
    onLocked: (keep?: ReadonlySet<string>) => void,
    handBack: (p: PendingReport) => void,
  ): Promise<Array<IngestResult | Error>> {
    let state: BatchState = { boxes: new Map(), codes: new Map() };
    // The full reports' boxes are locked (and read) first, then the known reports' rows are
    // written: both in dev_sno order, in one round trip with the BEGIN.
    const lock = batch.length ? lockSql(batch) : null;
    // Known reports alone: nothing to plan between their statement and the COMMIT, one round trip.
    const first = ['BEGIN', ...(lock ? [lock.sql] : []), ...(group.size ? [group.sql()] : []), ...(lock ? [] : ['COMMIT'])].join('; ');
    const handedBack = new Set<string>();
    this.paths.full += batch.length;
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await c.query({ text: first, rowMode: 'array' });
        if (lock) state = stateOfLocked(rowsOf(answer, 1), lock.firstSeen);
        if (group.size) {
          const counts = group.written(rowsOf(answer, lock ? 2 : 1), this.known, state, (p) => {
            handedBack.add(p.report.dev_sno);
            handBack(p);
          });
          this.paths.repeats += counts.repeats;
          this.paths.statusChanges += counts.statusChanges;
          this.paths.handedBack += counts.handedBack;
        }
        break;
      } catch (e) {
        await c.query('ROLLBACK');
        // Deadlock with another writer: try again.
        if (isTransient(e) && attempt < 3) continue;
        throw e;
      }
    }
    // This batch holds its rows until it commits: the next one may take its locks.
    onLocked(handedBack);
    if (!lock) return [];
    const locked = cloneState(state);
    const { waves, results } = planInWaves(batch, state);
    const statements = ['SAVEPOINT batch', ...waves.map(writeSql)];
    const orphans = orphansSql(state);
    if (orphans) statements.push(orphans);
    statements.push('COMMIT');
    let answer: unknown;
    try {
      answer = await c.query({ text: statements.join(';\n'), rowMode: 'array' });
    } catch {
      // A report failed (or the COMMIT did: then this throws too, and no report is acknowledged).
      await c.query('ROLLBACK TO SAVEPOINT batch');
      return this.writeOneByOne(c, batch, locked);
    }
    // Each box's rows now say what its last report in the batch said.
    const written = new Map<string, string>();
    for (let i = 1; i <= waves.length; i++) for (const [sno, x] of rowsOf(answer, i) as string[][]) written.set(sno!, x!);
    this.rememberWritten(batch, results, written);
    return results;
  }

  /** Remembers, for each box, its last report written (identity and shape), and the row version it left. */
  private rememberWritten(batch: PendingFull[], results: Array<IngestResult | Error>, xmins: Map<string, string>): void {
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      const x = xmins.get(p.report.dev_sno);
      if (results[i] instanceof Error || x === undefined) continue;
      const known = p.known ?? { identity: identityOf(p.report, p.source), shape: undefined };
      this.known.wrote(p.report.dev_sno, known.identity, known.shape, Number(x));
    }
  }

  /** The batch again on the rows it still holds, with a savepoint per report, then COMMIT. */
  private async writeOneByOne(c: pg.PoolClient, batch: PendingFull[], state: BatchState): Promise<Array<IngestResult | Error>> {
    const results: Array<IngestResult | Error> = [];
    const xmins = new Map<string, string>();
    let pending = '';
    for (const p of batch) {
      let planned: Planned;
      try {
        planned = plan(p, state);
      } catch (e) {
        // Refused by the registry: nothing was written for it.
        results.push(asError(e));
        continue;
      }
      // The end of the previous report's savepoint travels with this one's statements.
      try {
        const answer = (await c.query({ text: `${pending}SAVEPOINT report; ${writeSql([planned])}`, rowMode: 'array' })) as unknown as pg.QueryResult[];
        const rows = answer[answer.length - 1]!.rows as string[][];
        for (const [sno, x] of rows) xmins.set(sno!, x!);
        advance(state, planned);
        results.push({ transitions: planned.plan.transitions });
        pending = 'RELEASE SAVEPOINT report; ';
      } catch (e) {
        pending = 'ROLLBACK TO SAVEPOINT report; RELEASE SAVEPOINT report; ';
        results.push(asError(e));
      }
    }
    const orphans = orphansSql(state);
    await c.query(`${pending}${orphans ? `${orphans}; ` : ''}COMMIT`);
    this.rememberWritten(batch, results, xmins);
    return results;
  }
}
