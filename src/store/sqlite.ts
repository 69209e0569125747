// Embedded default store: one SQLite file in WAL mode. Reports that arrive together are written
// in one transaction (group commit), and nothing is acknowledged before the disk has it: SQLite
// writes each commit to the WAL without waiting (synchronous=NORMAL), and the store fdatasyncs
// the WAL itself, off the event loop, before it resolves the writes that commit holds. The
// next batch is parsed and written while the disk works, and one sync covers every commit made
// before it started.
import { closeSync, fdatasync, fdatasyncSync, fstatSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Report } from '../protocol/index.js';
import {
  alertBody,
  alertSubject,
  isAlertable,
  planAlert,
  releaseHeld,
  type AlertDecision,
} from './alert-plan.js';
import { ownCopy } from '../util/own-copy.js';
import { LocalCoordinator } from './coordination.js';
import { planIngest, type PriorSubDevice } from './diff.js';
import { admitReport } from './registry.js';
import {
  boxFromRow,
  deliveryFromRow,
  historyFromRow,
  iso,
  registryFromRow,
  subFromRow,
  subjectFromRow,
  type BoxRow,
  type DeliveryRow,
  type HistoryRow,
  type RegistryRow,
  type SubjectRow,
  type SubRow,
} from './rows.js';
import {
  clampLimit,
  type AlertDelivery,
  type AlertQueueOptions,
  type BoxState,
  type BoxStatus,
  type CodeStatus,
  type DeliveryQuery,
  type DeliveryResult,
  type DeliveryStatus,
  type FleetHistoryQuery,
  type FleetSummary,
  type HistoryEntry,
  type HistoryQuery,
  type IngestOptions,
  type IngestResult,
  type Leadership,
  type ListBoxesQuery,
  type NewCode,
  type RegistryEntry,
  type RegistryMode,
  type Store,
  type Transition,
} from './types.js';

const MIGRATIONS: string[] = [
  `CREATE TABLE boxes (
     dev_sno TEXT PRIMARY KEY,
     status TEXT NOT NULL,
     first_seen_at INTEGER NOT NULL,
     last_report_at INTEGER NOT NULL,
     status_changed_at INTEGER NOT NULL,
     report_count INTEGER NOT NULL DEFAULT 0,
     sub_online INTEGER NOT NULL DEFAULT 0,
     sub_offline INTEGER NOT NULL DEFAULT 0,
     extra TEXT NOT NULL DEFAULT '{}'
   );
   CREATE INDEX boxes_status ON boxes(status);
   CREATE TABLE sub_devices (
     dev_sno TEXT NOT NULL REFERENCES boxes(dev_sno),
     ep_id TEXT NOT NULL,
     ep_ip TEXT NOT NULL,
     ep_status TEXT NOT NULL,
     ep_location TEXT NOT NULL,
     ep_type TEXT NOT NULL,
     ep_name TEXT NOT NULL,
     extra TEXT NOT NULL DEFAULT '{}',
     first_seen_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL,
     status_changed_at INTEGER NOT NULL,
     PRIMARY KEY (dev_sno, ep_id)
   ) WITHOUT ROWID;
   CREATE TABLE history (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     dev_sno TEXT NOT NULL,
     ep_id TEXT,
     from_status TEXT,
     to_status TEXT NOT NULL,
     reason TEXT NOT NULL
   );
   CREATE INDEX history_box ON history(dev_sno, id);
   CREATE INDEX history_ep ON history(dev_sno, ep_id, id);`,
  // 2: device registry; boxes that reported before it existed are registered as auto.
  `CREATE TABLE registry (
     dev_sno TEXT PRIMARY KEY,
     status TEXT NOT NULL,
     source TEXT NOT NULL,
     name TEXT,
     location TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     revoked_at INTEGER
   );
   INSERT INTO registry (dev_sno, status, source, created_at, updated_at)
     SELECT dev_sno, 'active', 'auto', first_seen_at, first_seen_at FROM boxes;`,
  // 3: alert outbox (one row per alert and webhook URL) and per-subject de-duplication state.
  `CREATE TABLE alert_deliveries (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     alert_id TEXT NOT NULL,
     subject TEXT NOT NULL,
     url TEXT NOT NULL,
     body TEXT NOT NULL,
     status TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     last_error TEXT,
     last_http_status INTEGER,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     next_attempt_at INTEGER,
     delivered_at INTEGER
   );
   CREATE INDEX alert_deliveries_due ON alert_deliveries(status, next_attempt_at);
   CREATE TABLE alert_subjects (
     subject TEXT PRIMARY KEY,
     dev_sno TEXT NOT NULL,
     ep_id TEXT,
     last_sent_at INTEGER NOT NULL,
     last_sent_status TEXT NOT NULL,
     held_count INTEGER NOT NULL DEFAULT 0,
     held TEXT
   );
   CREATE INDEX alert_subjects_held ON alert_subjects(held_count, last_sent_at);`,
  // 4: fingerprint of the sub-devices of the box's last report: a report that repeats it (the
  // usual case) changes nothing but the box's counters, and is written with one UPDATE.
  `ALTER TABLE boxes ADD COLUMN subs_fingerprint TEXT`,
  // 5: the fingerprints moved to memory (SqliteStore.known): kept in the row they made it six
  // times larger, and every report rewrites that row.
  `ALTER TABLE boxes DROP COLUMN subs_fingerprint`,
];

/** What the diff needs plus the fields that decide whether a row must be rewritten. */
interface PriorSubRow extends PriorSubDevice {
  ep_ip: string;
  ep_location: string;
  ep_type: string;
  ep_name: string;
  extra: string;
}

/**
 * Everything a report says about its sub-devices (order included), kept whole rather than hashed:
 * comparing it is exact, so no two different reports can ever pass for a repeat.
 */
function subsFingerprint(report: Report): string {
  let text = '';
  for (const s of report.sub_devices) {
    // Free-text fields carry their length, so no choice of characters can make two reports alike.
    text += s.ep_id.length + ':' + s.ep_id + s.ep_ip.length + ':' + s.ep_ip + s.ep_status + '\0';
    text += s.ep_location.length + ':' + s.ep_location + s.ep_type + '\0' + s.ep_name.length + ':' + s.ep_name;
    text += (isEmpty(s.extra) ? '' : JSON.stringify(s.extra)) + '\n';
  }
  return text;
}

function isEmpty(o: Record<string, unknown>): boolean {
  for (const _ in o) return false;
  return true;
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

/**
 * What an online box's last report said, so that a repeat of it needs no read of the database:
 * the bytes it came in (when the caller passed them, the usual case) or else its fingerprint.
 * Either is exact: equal means the same report.
 */
type KnownBox = Buffer | string;

function sameReport(known: KnownBox, now: KnownBox): boolean {
  return typeof known === 'string' ? known === now : typeof now !== 'string' && known.equals(now);
}

const sizeOf = (k: KnownBox) => (typeof k === 'string' ? 2 * k.length : k.length) + 128;

const jsonOf = (o: Record<string, unknown>) => (isEmpty(o) ? '{}' : JSON.stringify(o));

/** Everything a report says, as one exact string, for callers that have no bytes to give. */
function reportFingerprint(report: Report): string {
  return `${report.dev_sno.length}:${report.dev_sno}${jsonOf(report.extra)}\n${subsFingerprint(report)}`;
}

interface SyncWaiter {
  /** The commit this waiter needs on disk. */
  seq: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface Pending {
  report: Report;
  receivedAt: number;
  mode: RegistryMode;
  source: Uint8Array | undefined;
  resolve: (r: IngestResult) => void;
  reject: (e: unknown) => void;
}

/**
 * One process per SQLite file: what the store keeps in memory (`known`, leadership, live
 * messages) is only right if no other process writes the file. The lock is an exclusive lock on
 * a small file beside it, held for the life of the store (the OS drops it if the process dies);
 * the database itself stays open to readers such as the sqlite3 shell.
 */
function lockForThisProcess(file: string): Database.Database {
  const lock = new Database(`${file}.lock`, { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE; COMMIT');
    return lock;
  } catch (e) {
    lock.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY') {
      throw new Error(
        `${file} is in use by another devstatus process: one receiver per SQLite file (several receivers need PostgreSQL, DATABASE_URL)`,
      );
    }
    throw e;
  }
}

export interface SqliteStoreOptions {
  /** Path of the database file; ':memory:' for a throwaway store. */
  file: string;
  /** Most reports written in one transaction. */
  maxBatch?: number;
  /**
   * Memory (bytes) for remembering the last report of online boxes, about 2 kB per box of 8
   * sub-devices; a box that does not fit is read from the database at each report instead.
   */
  knownBytes?: number;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly maxBatch: number;
  private pending: Pending[] = [];
  private flushScheduled = false;
  private flushAfterSync = false;
  private closed = false;
  // One process per SQLite file: leadership and messages stay in this process.
  private readonly local = new LocalCoordinator();
  private readonly stmts;
  private readonly writeBatch: (batch: Pending[]) => Array<IngestResult | Error>;
  /**
   * Online boxes (with an active code) and what their last report said. Only ever true of the
   * database: an entry is added after the commit that made it so, and dropped before anything
   * that could make it false (a different report, the box going offline, its code changing).
   * That holds because no other process writes the file (see the lock below).
   */
  private readonly known = new Map<string, KnownBox>();
  private knownSize = 0;
  private readonly knownLimit: number;
  private readonly processLock: Database.Database | null;
  // Durability (see the top of the file): commits are numbered; a sync covers every commit
  // numbered before it started.
  private readonly walPath: string | null;
  private walFd: number | null = null;
  private commitSeq = 0;
  // One sync at a time: a second one started meanwhile would only queue behind it in the disk.
  private syncing = false;
  /** Highest commit known to be on disk. */
  private syncedUpTo = 0;
  private syncWaiters: SyncWaiter[] = [];
  /** Set when an fdatasync failed: after that the kernel may have dropped the unsynced data, so
   * nothing more is accepted (as PostgreSQL does on an fsync failure). */
  private storageFailure: Error | null = null;

  constructor(opts: SqliteStoreOptions) {
    const onDisk = opts.file !== ':memory:' && opts.file !== '';
    if (onDisk) mkdirSync(dirname(opts.file), { recursive: true });
    this.processLock = onDisk ? lockForThisProcess(opts.file) : null;
    this.db = new Database(opts.file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL: SQLite keeps the WAL consistent (it syncs around checkpoints) but does not wait
    // for the disk at each commit; durable() does that, off the event loop.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    // Checkpoints run inside a commit, on the thread serving reports, and fsync the main file:
    // doing them ten times less often (WAL up to ~40 MB) keeps that off most reports.
    this.db.pragma('wal_autocheckpoint = 10000');
    this.maxBatch = opts.maxBatch ?? 256;
    this.knownLimit = opts.knownBytes ?? 64 * 1024 * 1024;
    this.migrate();
    this.walPath = onDisk ? `${this.db.name}-wal` : null;
    if (this.walPath) {
      // Whatever the migrations (or an earlier, crashed run) left in the WAL goes to disk first.
      this.walFd = openSync(this.walPath, 'r');
      fdatasyncSync(this.walFd);
    }

    const db = this.db;
    this.stmts = {
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
      codeDetails: db.prepare<[string], { name: string | null; location: string | null }>(
        'SELECT name, location FROM registry WHERE dev_sno = ?',
      ),
      subject: db.prepare<[string], SubjectRow>('SELECT * FROM alert_subjects WHERE subject = ?'),
      upsertSubject: db.prepare(
        `INSERT INTO alert_subjects (subject, dev_sno, ep_id, last_sent_at, last_sent_status, held_count, held)
         VALUES (@subject, @dev_sno, @ep_id, @last_sent_at, @last_sent_status, @held_count, @held)
         ON CONFLICT (subject) DO UPDATE SET last_sent_at = excluded.last_sent_at,
           last_sent_status = excluded.last_sent_status, held_count = excluded.held_count, held = excluded.held`,
      ),
      insertDelivery: db.prepare(
        `INSERT INTO alert_deliveries (alert_id, subject, url, body, status, attempts, created_at, updated_at, next_attempt_at)
         VALUES (@alert_id, @subject, @url, @body, 'pending', 0, @now, @now, @now)`,
      ),
    };

    // `learned`: what the caller may remember once this report's writes are committed.
    const writeOne = (p: Pending, learned: Array<[string, KnownBox]>): IngestResult => {
      const { report, receivedAt: now, mode } = p;
      const s = this.stmts;
      const source = p.source;
      const identity: KnownBox =
        source === undefined
          ? reportFingerprint(report)
          : Buffer.isBuffer(source)
            ? source
            : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
      const known = this.known.get(report.dev_sno);
      if (known !== undefined && sameReport(known, identity)) {
        // Same sub-devices, same statuses as the box's last report, and the box is online with
        // an active code (see `known`): nothing to read, nothing to diff, no transition.
        s.repeatBox.run(now, report.dev_sno);
        return { transitions: [] };
      }
      // From here on the rows change; what is remembered is stale until the commit.
      if (known !== undefined) this.forget(report.dev_sno);
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
      learned.push([report.dev_sno, typeof identity === 'string' ? identity : ownCopy(identity)]);
      return { transitions: plan.transitions };
    };
    const ingestOne = db.transaction(writeOne);

    // One transaction = one commit (one fsync) for the whole batch. Reports do not fail in
    // practice (they are validated before), so the batch is first written without a savepoint
    // per report; if one does fail (a refused code, a disk error), the batch is rolled back whole
    // and written again with each report in its own savepoint, so the bad one rolls back alone
    // and the others still commit.
    const fastBatch = db.transaction((batch: Pending[], learned: Array<[string, KnownBox]>) =>
      batch.map((p) => writeOne(p, learned)),
    );
    const safeBatch = db.transaction((batch: Pending[], learned: Array<[string, KnownBox]>) =>
      batch.map((p) => {
        const mine: Array<[string, KnownBox]> = [];
        try {
          const r = ingestOne(p, mine);
          learned.push(...mine);
          return r;
        } catch (e) {
          return e instanceof Error ? e : new Error(String(e));
        }
      }),
    );
    this.writeBatch = (batch) => {
      let learned: Array<[string, KnownBox]> = [];
      let results: Array<IngestResult | Error>;
      try {
        results = fastBatch(batch, learned);
      } catch {
        learned = [];
        results = safeBatch(batch, learned);
      }
      // Committed: remember, in order, so a box's last report in the batch wins.
      for (const [devSno, k] of learned) this.remember(devSno, k);
      return results;
    };
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    const current = row.v ?? 0;
    const apply = this.db.transaction((version: number, sql: string) => {
      this.db.exec(sql);
      this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, Date.now());
    });
    MIGRATIONS.forEach((sql, i) => {
      if (i + 1 > current) apply(i + 1, sql);
    });
  }

  private remember(devSno: string, k: KnownBox): void {
    // Re-inserted at the end, so the first entry is the one least recently changed.
    this.forget(devSno);
    this.known.set(devSno, k);
    this.knownSize += sizeOf(k);
    while (this.knownSize > this.knownLimit && this.known.size > 0) this.forget(this.known.keys().next().value!);
  }

  private forget(devSno: string): void {
    const k = this.known.get(devSno);
    if (k === undefined) return;
    this.known.delete(devSno);
    this.knownSize -= sizeOf(k);
  }

  ingest(report: Report, receivedAt: number, opts: IngestOptions = {}): Promise<IngestResult> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    const mode = opts.registryMode ?? 'open';
    return new Promise((resolve, reject) => {
      this.pending.push({ report, receivedAt, mode, source: opts.source, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        // setImmediate lets every request already parsed in this tick join the batch.
        setImmediate(() => this.flushUnlessSyncing());
      }
    });
  }

  /**
   * While a sync is under way, a commit would only wait for the next one: the reports wait
   * instead, and go in one bigger commit as soon as the disk is free (see startSync).
   */
  private flushUnlessSyncing(): void {
    if (this.syncing) this.flushAfterSync = true;
    else this.flush();
  }

  private flush(): void {
    this.flushScheduled = false;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      if (this.storageFailure) {
        for (const p of batch) p.reject(this.storageFailure);
        continue;
      }
      let results: Array<IngestResult | Error>;
      try {
        results = this.writeBatch(batch);
      } catch (e) {
        for (const p of batch) p.reject(e);
        continue;
      }
      // Refused reports were rolled back: nothing of theirs waits for the disk.
      const stored: Array<[Pending, IngestResult]> = [];
      batch.forEach((p, i) => {
        const r = results[i]!;
        if (r instanceof Error) p.reject(r);
        else stored.push([p, r]);
      });
      if (stored.length === 0) continue;
      this.durable().then(
        () => {
          for (const [p, r] of stored) p.resolve(r);
        },
        (e: unknown) => {
          for (const [p] of stored) p.reject(e);
        },
      );
    }
  }

  /**
   * Resolves once everything committed so far is on disk. Call it right after a commit, before
   * telling anyone the write happened.
   */
  private durable(): Promise<void> {
    return this.synced(++this.commitSeq);
  }

  /**
   * Resolves once everything committed so far is on disk. Reads wait for it: what the API shows
   * can no longer be lost, and its alerts and live updates are on their way.
   */
  private settled(): Promise<void> {
    return this.synced(this.commitSeq);
  }

  private synced(seq: number): Promise<void> {
    if (this.storageFailure) return Promise.reject(this.storageFailure);
    if (this.walFd === null || seq <= this.syncedUpTo) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push({ seq, resolve, reject });
      this.startSync();
    });
  }

  private failStorage(err: Error): void {
    this.storageFailure = new Error(`the database's write-ahead log could not be synced to disk: ${err.message}`);
    for (const w of this.syncWaiters) w.reject(this.storageFailure);
    this.syncWaiters = [];
  }

  /** A write's result, handed over once the write is on disk (if it wrote anything). */
  private async afterCommit<T>(result: T, wrote: (result: T) => boolean): Promise<T> {
    if (wrote(result)) await this.durable();
    return result;
  }

  private startSync(): void {
    if (this.syncing || this.commitSeq <= this.syncedUpTo || this.walFd === null) return;
    let fd = this.walFd;
    try {
      // The WAL is only deleted when the last connection closes, and this one is open; should it
      // be gone all the same, its content was checkpointed into the main file (SQLite syncs that
      // file after a checkpoint), and the new WAL is the one to sync from now on.
      if (fstatSync(fd).nlink === 0) {
        closeSync(fd);
        fd = this.walFd = openSync(this.walPath!, 'r');
      }
    } catch (e) {
      this.failStorage(e as Error);
      return;
    }
    const upTo = this.commitSeq;
    this.syncing = true;
    fdatasync(fd, (err) => {
      this.syncing = false;
      if (err) {
        this.failStorage(err);
        return;
      }
      this.syncedUpTo = upTo;
      const done: SyncWaiter[] = [];
      const later: SyncWaiter[] = [];
      for (const w of this.syncWaiters) (w.seq <= upTo ? done : later).push(w);
      this.syncWaiters = later;
      for (const w of done) w.resolve();
      if (this.flushAfterSync) {
        this.flushAfterSync = false;
        // After the answers to what just reached the disk have gone out (they are sent as this
        // callback returns): the boxes waiting on them get them a commit's time sooner.
        setImmediate(() => this.flush());
      }
      this.startSync();
    });
  }

  async listBoxes(query: ListBoxesQuery = {}): Promise<{ total: number; boxes: BoxState[] }> {
    await this.settled();
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (query.status) {
      where.push('b.status = @status');
      params.status = query.status;
    }
    if (query.q) {
      where.push("(instr(lower(b.dev_sno), lower(@q)) > 0 OR instr(lower(COALESCE(r.name, '')), lower(@q)) > 0)");
      params.q = query.q;
    }
    const from = 'FROM boxes b LEFT JOIN registry r ON r.dev_sno = b.dev_sno';
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT COUNT(*) AS n ${from} ${whereSql}`).get(params) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT b.*, r.name, r.location ${from} ${whereSql} ORDER BY b.dev_sno LIMIT @limit OFFSET @offset`)
      .all({ ...params, limit: clampLimit(query.limit), offset: Math.max(0, query.offset ?? 0) }) as BoxRow[];
    return { total, boxes: rows.map(boxFromRow) };
  }

  async getBox(devSno: string) {
    await this.settled();
    const box = this.db
      .prepare('SELECT b.*, r.name, r.location FROM boxes b LEFT JOIN registry r ON r.dev_sno = b.dev_sno WHERE b.dev_sno = ?')
      .get(devSno) as BoxRow | undefined;
    if (!box) return null;
    const subs = this.db
      .prepare('SELECT * FROM sub_devices WHERE dev_sno = ? ORDER BY ep_id')
      .all(devSno) as SubRow[];
    // Rows are only rewritten when something in them changes, so the stored last_seen_at of a
    // sub-device still in the box's reports is stale: it was seen in the latest report.
    for (const sub of subs) if (sub.ep_status !== 'removed') sub.last_seen_at = box.last_report_at;
    return { box: boxFromRow(box), sub_devices: subs.map((r) => subFromRow(r, box.status)) };
  }

  async history(devSno: string, query: HistoryQuery = {}): Promise<HistoryEntry[]> {
    await this.settled();
    const where = ['dev_sno = @dev_sno'];
    const params: Record<string, unknown> = { dev_sno: devSno, limit: clampLimit(query.limit) };
    if (query.ep_id !== undefined) {
      where.push('ep_id = @ep_id');
      params.ep_id = query.ep_id;
    }
    if (query.before !== undefined) {
      where.push('id < @before');
      params.before = query.before;
    }
    const rows = this.db
      .prepare(`SELECT * FROM history WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`)
      .all(params) as HistoryRow[];
    return rows.map(historyFromRow);
  }

  async fleetHistory(query: FleetHistoryQuery = {}): Promise<HistoryEntry[]> {
    await this.settled();
    const params: Record<string, unknown> = { limit: clampLimit(query.limit) };
    let where = '';
    if (query.before !== undefined) {
      where = 'WHERE id < @before';
      params.before = query.before;
    }
    const rows = this.db.prepare(`SELECT * FROM history ${where} ORDER BY id DESC LIMIT @limit`).all(params) as HistoryRow[];
    return rows.map(historyFromRow);
  }

  async summary(): Promise<FleetSummary> {
    await this.settled();
    const r = this.db
      .prepare(
        `SELECT COUNT(*) AS total,
                COALESCE(SUM(CASE WHEN status = 'online' THEN 1 ELSE 0 END), 0) AS online,
                COALESCE(SUM(CASE WHEN status = 'online' THEN sub_online ELSE 0 END), 0) AS sub_online,
                COALESCE(SUM(CASE WHEN status = 'online' THEN sub_offline ELSE 0 END), 0) AS sub_offline,
                COALESCE(SUM(CASE WHEN status = 'online' THEN 0 ELSE sub_online + sub_offline END), 0) AS sub_unknown
         FROM boxes`,
      )
      .get() as { total: number; online: number; sub_online: number; sub_offline: number; sub_unknown: number };
    return {
      boxes: { total: r.total, online: r.online, offline: r.total - r.online },
      sub_devices: {
        total: r.sub_online + r.sub_offline + r.sub_unknown,
        online: r.sub_online,
        offline: r.sub_offline,
        unknown: r.sub_unknown,
      },
    };
  }

  async markSilentBoxesOffline(cutoffMs: number, now: number): Promise<Transition[]> {
    // Reports already received but not yet written would otherwise look silent.
    this.flush();
    const run = this.db.transaction(() => {
      const gone = this.db
        .prepare(
          `UPDATE boxes SET status = 'offline', status_changed_at = @now
           WHERE status = 'online' AND last_report_at < @cutoff RETURNING dev_sno`,
        )
        .all({ now, cutoff: cutoffMs }) as Array<{ dev_sno: string }>;
      for (const { dev_sno } of gone) this.forget(dev_sno);
      const at = iso(now);
      const transitions: Transition[] = gone.map(({ dev_sno }) => ({
        at,
        dev_sno,
        ep_id: null,
        from_status: 'online',
        to_status: 'offline',
        reason: 'report_timeout',
      }));
      for (const t of transitions) this.stmts.insertHistory.run({ ...t, at: now });
      return transitions;
    });
    return this.afterCommit(run(), (ts) => ts.length > 0);
  }

  // ---- registry

  private codeRow(devSno: string): RegistryRow | undefined {
    return this.db
      .prepare(
        `SELECT r.*, b.last_report_at FROM registry r LEFT JOIN boxes b ON b.dev_sno = r.dev_sno WHERE r.dev_sno = ?`,
      )
      .get(devSno) as RegistryRow | undefined;
  }

  async addCode(code: NewCode, now: number): Promise<RegistryEntry | null> {
    const res = this.db
      .prepare(
        `INSERT INTO registry (dev_sno, status, source, name, location, created_at, updated_at)
         VALUES (@dev_sno, 'active', @source, @name, @location, @now, @now) ON CONFLICT (dev_sno) DO NOTHING`,
      )
      .run({ dev_sno: code.dev_sno, source: code.source, name: code.name ?? null, location: code.location ?? null, now });
    if (res.changes === 0) return null;
    await this.durable();
    return registryFromRow(this.codeRow(code.dev_sno)!);
  }

  async getCode(devSno: string): Promise<RegistryEntry | null> {
    await this.settled();
    const row = this.codeRow(devSno);
    return row ? registryFromRow(row) : null;
  }

  async listCodes(query: { status?: CodeStatus } = {}): Promise<RegistryEntry[]> {
    await this.settled();
    const where = query.status ? 'WHERE r.status = @status' : '';
    const rows = this.db
      .prepare(
        `SELECT r.*, b.last_report_at FROM registry r LEFT JOIN boxes b ON b.dev_sno = r.dev_sno ${where} ORDER BY r.dev_sno`,
      )
      .all(query.status ? { status: query.status } : {}) as RegistryRow[];
    return rows.map(registryFromRow);
  }

  async setCodeStatus(devSno: string, status: CodeStatus, now: number): Promise<RegistryEntry | null> {
    // A remembered box is one with an active code: its next report must see the change.
    this.forget(devSno);
    const res = this.db
      .prepare(
        `UPDATE registry SET status = @status, updated_at = @now,
           revoked_at = CASE WHEN @status = 'revoked' THEN COALESCE(revoked_at, @now) ELSE NULL END
         WHERE dev_sno = @dev_sno`,
      )
      .run({ dev_sno: devSno, status, now });
    if (res.changes === 0) return null;
    await this.durable();
    return this.getCode(devSno);
  }

  async updateCode(
    devSno: string,
    fields: { name?: string | null; location?: string | null },
    now: number,
  ): Promise<RegistryEntry | null> {
    const res = this.db
      .prepare(
        `UPDATE registry SET updated_at = @now,
           name = CASE WHEN @setName THEN @name ELSE name END,
           location = CASE WHEN @setLocation THEN @location ELSE location END
         WHERE dev_sno = @dev_sno`,
      )
      .run({
        dev_sno: devSno,
        now,
        setName: fields.name !== undefined ? 1 : 0,
        name: fields.name ?? null,
        setLocation: fields.location !== undefined ? 1 : 0,
        location: fields.location ?? null,
      });
    if (res.changes === 0) return null;
    await this.durable();
    return this.getCode(devSno);
  }

  // ---- alerts

  private writeDecision(d: AlertDecision, urls: string[], now: number): boolean {
    const st = d.state;
    this.stmts.upsertSubject.run({
      subject: st.subject,
      dev_sno: st.dev_sno,
      ep_id: st.ep_id,
      last_sent_at: st.last_sent_at,
      last_sent_status: st.last_sent_status,
      held_count: st.held_count,
      held: st.held ? JSON.stringify(st.held) : null,
    });
    if (!d.send) return false;
    const box = this.stmts.codeDetails.get(st.dev_sno) ?? null;
    const body = alertBody(d.send, box);
    for (const url of urls) {
      this.stmts.insertDelivery.run({ alert_id: d.send.alert_id, subject: st.subject, url, body, now });
    }
    return true;
  }

  async queueAlerts(transitions: Transition[], opts: AlertQueueOptions): Promise<{ queued: number; held: number }> {
    if (opts.urls.length === 0) return { queued: 0, held: 0 };
    const run = this.db.transaction(() => {
      let queued = 0;
      let held = 0;
      for (const t of transitions) {
        if (!isAlertable(t)) continue;
        const row = this.stmts.subject.get(alertSubject(t));
        const d = planAlert(row ? subjectFromRow(row) : null, t, opts.now, opts.dedupMs);
        if (this.writeDecision(d, opts.urls, opts.now)) queued++;
        else held++;
      }
      return { queued, held };
    });
    return this.afterCommit(run(), (r) => r.queued + r.held > 0);
  }

  async releaseHeldAlerts(opts: AlertQueueOptions): Promise<number> {
    if (opts.urls.length === 0) return 0;
    const run = this.db.transaction(() => {
      const rows = this.db
        .prepare('SELECT * FROM alert_subjects WHERE held_count > 0 AND last_sent_at <= ?')
        .all(opts.now - opts.dedupMs) as SubjectRow[];
      let queued = 0;
      for (const row of rows) {
        const d = releaseHeld(subjectFromRow(row), opts.now, opts.dedupMs);
        if (d && this.writeDecision(d, opts.urls, opts.now)) queued++;
      }
      return queued;
    });
    return this.afterCommit(run(), (n) => n > 0);
  }

  async claimDueDeliveries(now: number, leaseUntil: number, limit: number): Promise<AlertDelivery[]> {
    const run = this.db.transaction(() => {
      const rows = this.db
        .prepare(
          `SELECT * FROM alert_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?`,
        )
        .all(now, limit) as DeliveryRow[];
      const lease = this.db.prepare('UPDATE alert_deliveries SET next_attempt_at = ? WHERE id = ?');
      for (const r of rows) lease.run(leaseUntil, r.id);
      return rows.map(deliveryFromRow);
    });
    return this.afterCommit(run(), (rows) => rows.length > 0);
  }

  async recordDeliveryResult(id: number, r: DeliveryResult): Promise<void> {
    const status: DeliveryStatus = r.ok ? 'delivered' : r.retryAt === null ? 'failed' : 'pending';
    const res = this.db
      .prepare(
        `UPDATE alert_deliveries SET status = @status, attempts = attempts + 1, updated_at = @now,
           last_error = @error, last_http_status = @httpStatus, next_attempt_at = @next,
           delivered_at = CASE WHEN @ok THEN @now ELSE NULL END
         WHERE id = @id`,
      )
      .run({
        id,
        status,
        now: r.now,
        error: r.ok ? null : r.error,
        httpStatus: r.httpStatus,
        next: status === 'pending' ? r.retryAt : null,
        ok: r.ok ? 1 : 0,
      });
    if (res.changes > 0) await this.durable();
  }

  async listDeliveries(query: DeliveryQuery = {}): Promise<AlertDelivery[]> {
    await this.settled();
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: clampLimit(query.limit) };
    if (query.status) {
      where.push('status = @status');
      params.status = query.status;
    }
    if (query.before !== undefined) {
      where.push('id < @before');
      params.before = query.before;
    }
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const rows = this.db
      .prepare(`SELECT * FROM alert_deliveries ${whereSql} ORDER BY id DESC LIMIT @limit`)
      .all(params) as DeliveryRow[];
    return rows.map(deliveryFromRow);
  }

  async deliveryCounts(): Promise<Record<DeliveryStatus, number>> {
    await this.settled();
    const counts: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, failed: 0 };
    const rows = this.db.prepare('SELECT status, COUNT(*) AS n FROM alert_deliveries GROUP BY status').all() as Array<{
      status: DeliveryStatus;
      n: number;
    }>;
    for (const r of rows) counts[r.status] = Number(r.n);
    return counts;
  }

  async pruneDeliveries(before: number): Promise<number> {
    const { changes } = this.db
      .prepare(`DELETE FROM alert_deliveries WHERE status IN ('delivered', 'failed') AND updated_at < ?`)
      .run(before);
    if (changes > 0) await this.durable();
    return changes;
  }

  async ping(): Promise<void> {
    if (this.storageFailure) throw this.storageFailure;
    this.db.prepare('SELECT 1').get();
  }

  acquireLeadership(name: string): Promise<Leadership> {
    return this.local.acquireLeadership(name);
  }

  publish(channel: string, payload: object): Promise<void> {
    return this.local.publish(channel, payload);
  }

  subscribe(channel: string, onMessage: (payload: unknown) => void): Promise<() => Promise<void>> {
    return this.local.subscribe(channel, onMessage);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    // Writes already committed are answered (or failed) before the file goes away.
    await this.settled().catch(() => {});
    await this.local.close();
    if (this.walFd !== null) closeSync(this.walFd);
    this.walFd = null;
    this.db.close();
    this.processLock?.close();
  }
}
