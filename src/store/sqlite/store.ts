// Embedded default store: one SQLite file in WAL mode, served by one process. This class puts
// the parts together: ingest.ts (group commit), durability.ts (WAL sync off the event loop, the
// process lock), known-boxes.ts (repeats without a read), reads.ts, registry.ts,
// alerts-outbox.ts, coordination.ts, migrations.ts.
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Report } from '../../protocol/index.js';
import { Accounts } from '../accounts.js';
import type { Digest } from '../../util/body-digest.js';
import { PlatformStore, type SilenceRule } from '../platform.js';
import type * as api from '../types.js';
import { SqliteAlerting } from './alerting.js';
import { SqliteOutbox } from './alerts-outbox.js';
import { WalCheckpointer } from './checkpointer.js';
import { LocalCoordinator } from './coordination.js';
import { lockForThisProcess, WalSync } from './durability.js';
import { SqliteIngest } from './ingest.js';
import { KnownBoxes } from './known-boxes.js';
import { SqliteLocations } from './locations.js';
import { migrate } from './migrations.js';
import { markSilentByOwnPeriod, sqliteRunner } from './platform.js';
import * as reads from './reads.js';
import { SqliteRegistry } from './registry.js';

/**
 * SQLite page cache of the store's connection (KiB). Not larger: a commit that split a b-tree
 * page (a storm's history inserts do, every batch) ends with a walk over every hash bucket of
 * the cache (balance_nonroot parks a page under the pending-byte page number, far above the
 * database's size, and pager_end_transaction then truncates the cache above that size). With
 * 64 MiB that walk was ~5% of the thread serving reports; 16 MiB gave the storm 8-17% fewer
 * CPU µs a report at 10k and 100k boxes, rest unchanged (docs/benchmarks-ingest.md).
 */
const PAGE_CACHE_KIB = 16 * 1024;

export interface SqliteStoreOptions {
  /** Path of the database file; ':memory:' for a throwaway store. */
  file: string;
  /** Most reports written in one transaction. */
  maxBatch?: number;
  /**
   * Memory (bytes) for remembering the last report of online boxes, for each of its two digests
   * (the whole report's, and its shape's with the statuses: about 64 bytes a box each); a box
   * that does not fit is read from the database at each report instead.
   * Default REPEAT_MEMORY_BYTES (src/defaults.ts).
   */
  knownBytes?: number;
  /**
   * false: do not take the one-process lock (for short CLI tasks such as `devstatus user`, which
   * only touch tables the receiver reads afresh at every use). Default true.
   */
  lock?: boolean;
}

/**
 * The database holds password hashes and the fleet: readable by its owner only. SQLite gives the
 * -wal and -shm files the main file's mode, so creating it 0600 covers them.
 */
function ownerOnly(file: string): void {
  try {
    closeSync(openSync(file, 'a', 0o600));
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  } catch {
    /* not ours to change: SQLite will say what is wrong with the file */
  }
}

export class SqliteStore implements api.Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly processLock: Database.Database | null;
  private readonly sync: WalSync;
  private readonly checkpointer: WalCheckpointer | null;
  private readonly writer: SqliteIngest;
  private readonly registry: SqliteRegistry;
  private readonly outbox: SqliteOutbox;
  private readonly locations: SqliteLocations;
  readonly alerting: SqliteAlerting;
  // One process per SQLite file: leadership and messages stay in this process.
  private readonly local = new LocalCoordinator();
  private closed = false;
  readonly accounts: Accounts;
  readonly platform: PlatformStore;
  private readonly known: KnownBoxes;

  constructor(opts: SqliteStoreOptions) {
    const onDisk = opts.file !== ':memory:' && opts.file !== '';
    if (onDisk) {
      mkdirSync(dirname(opts.file), { recursive: true });
      ownerOnly(opts.file);
    }
    this.processLock = onDisk && opts.lock !== false ? lockForThisProcess(opts.file) : null;
    const db = (this.db = new Database(opts.file));
    db.pragma('journal_mode = WAL');
    // NORMAL: SQLite keeps the WAL consistent (it syncs around checkpoints) but does not wait
    // for the disk at each commit; WalSync does that, off the event loop.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // SQLite's checkpoints run inside a commit, on the thread serving reports, and fsync the
    // main file: on disk a worker thread does them instead (checkpointer.ts).
    db.pragma(`wal_autocheckpoint = ${onDisk ? 0 : 10000}`);
    // SQLite's default page cache is 2 MB: a fleet's rows are soon larger, and then every report
    // reads its box's pages back from the OS (a system call a page). 16 MiB holds the boxes rows
    // of 100,000 boxes and the indexes' hot pages (see PAGE_CACHE_KIB for why not more); memory
    // is only taken as pages are used.
    db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    migrate(db);
    this.checkpointer = onDisk ? new WalCheckpointer(db.name) : null;
    const known = (this.known = new KnownBoxes(opts.knownBytes));
    this.sync = new WalSync(onDisk ? `${db.name}-wal` : null, () => this.writer.afterSync());
    const checkpointer = this.checkpointer;
    this.writer = new SqliteIngest(db, this.sync, known, opts.maxBatch ?? 256, checkpointer ? (resume) => checkpointer.holdWrites(db, resume) : undefined);
    this.registry = new SqliteRegistry(db, this.sync, known);
    this.outbox = new SqliteOutbox(db, this.sync);
    this.locations = new SqliteLocations(db, this.sync);
    this.accounts = new Accounts({
      all: async <T>(sql: string, params: unknown[]) => {
        await this.sync.settled();
        return db.prepare(sql).all(...params) as T[];
      },
      run: async (sql: string, params: unknown[]) => {
        const { changes } = db.prepare(sql).run(...params);
        if (changes > 0) await this.sync.durable();
        return changes;
      },
    });
    this.alerting = new SqliteAlerting(db, this.sync);
    this.platform = new PlatformStore(sqliteRunner(db, this.sync), 'sqlite');
  }

  ingest(report: Report, receivedAt: number, opts: api.IngestOptions = {}): Promise<api.IngestResult> {
    return this.writer.ingest(report, receivedAt, opts);
  }

  ingestRepeat(devSno: string, digest: Digest, receivedAt: number): Promise<boolean> | undefined {
    return this.writer.ingestRepeat(devSno, digest, receivedAt);
  }

  markSilentBoxesOffline(cutoffMs: number, now: number): Promise<api.Transition[]> {
    return this.writer.markSilentBoxesOffline(cutoffMs, now);
  }

  async markSilentBoxesOfflineByPeriod(rule: SilenceRule, now: number): Promise<api.Transition[]> {
    // A cutoff no report is before: writes the reports already received, marks nobody.
    await this.writer.markSilentBoxesOffline(Number.MIN_SAFE_INTEGER, now);
    const transitions = markSilentByOwnPeriod(this.db, rule, now, (d) => this.known.forget(d));
    return this.sync.afterCommit(transitions, (ts) => ts.length > 0);
  }

  async listBoxes(query: api.ListBoxesQuery = {}): Promise<{ total: number; boxes: api.BoxState[] }> {
    await this.sync.settled();
    return reads.listBoxes(this.db, query);
  }

  async getBox(devSno: string): Promise<{ box: api.BoxState; sub_devices: api.SubDeviceState[] } | null> {
    await this.sync.settled();
    return reads.getBox(this.db, devSno);
  }

  async history(devSno: string, query: api.HistoryQuery = {}): Promise<api.HistoryEntry[]> {
    await this.sync.settled();
    return reads.history(this.db, devSno, query);
  }

  async fleetHistory(query: api.FleetHistoryQuery = {}): Promise<api.HistoryEntry[]> {
    await this.sync.settled();
    return reads.fleetHistory(this.db, query);
  }

  async summary(): Promise<api.FleetSummary> {
    await this.sync.settled();
    return reads.summary(this.db);
  }

  async listSubDevices(query: api.SubDeviceQuery = {}): Promise<api.SubDevicePage> {
    await this.sync.settled();
    return reads.listSubDevices(this.db, query);
  }

  async statusChanges(devSno: string, from: number, to: number): Promise<api.StatusChange[]> {
    await this.sync.settled();
    return reads.statusChanges(this.db, devSno, from, to);
  }

  listLocations(): Promise<api.Location[]> {
    return this.locations.list();
  }

  getLocation(id: string): Promise<api.Location | null> {
    return this.locations.get(id);
  }

  putLocation(id: string, fields: api.LocationFields, now: number): Promise<{ location: api.Location; created: boolean }> {
    return this.locations.put(id, fields, now);
  }

  deleteLocation(id: string): Promise<boolean> {
    return this.locations.delete(id);
  }

  addCode(code: api.NewCode, now: number): Promise<api.RegistryEntry | null> {
    return this.registry.addCode(code, now);
  }

  getCode(devSno: string): Promise<api.RegistryEntry | null> {
    return this.registry.getCode(devSno);
  }

  listCodes(query: api.ListCodesQuery = {}): Promise<api.CodeListEntry[]> {
    return this.registry.listCodes(query);
  }

  setCodeStatus(devSno: string, status: api.CodeStatus, now: number): Promise<api.RegistryEntry | null> {
    return this.registry.setCodeStatus(devSno, status, now);
  }

  updateCode(devSno: string, fields: { name?: string | null; location?: string | null }, now: number): Promise<api.RegistryEntry | null> {
    return this.registry.updateCode(devSno, fields, now);
  }

  queueAlerts(transitions: api.Transition[], opts: api.AlertQueueOptions): Promise<{ queued: number; held: number }> {
    return this.outbox.queueAlerts(transitions, opts);
  }

  releaseHeldAlerts(opts: api.AlertQueueOptions): Promise<number> {
    return this.outbox.releaseHeldAlerts(opts);
  }

  claimDueDeliveries(now: number, leaseUntil: number, limit: number): Promise<api.AlertDelivery[]> {
    return this.outbox.claimDueDeliveries(now, leaseUntil, limit);
  }

  recordDeliveryResult(id: number, r: api.DeliveryResult): Promise<void> {
    return this.outbox.recordDeliveryResult(id, r);
  }

  listDeliveries(query: api.DeliveryQuery = {}): Promise<api.AlertDelivery[]> {
    return this.outbox.listDeliveries(query);
  }

  deliveryCounts(): Promise<Record<api.DeliveryStatus, number>> {
    return this.outbox.deliveryCounts();
  }

  pruneDeliveries(before: number): Promise<number> {
    return this.outbox.pruneDeliveries(before);
  }

  async ping(): Promise<void> {
    if (this.sync.failure) throw this.sync.failure;
    this.db.prepare('SELECT 1').get();
  }

  acquireLeadership(name: string): Promise<api.Leadership> {
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
    this.closed = true;
    this.writer.close();
    // Writes already committed are answered (or failed) before the file goes away.
    await this.sync.settled().catch(() => {});
    await this.local.close();
    await this.checkpointer?.stop();
    this.sync.close();
    this.db.close();
    this.processLock?.close();
  }
}
