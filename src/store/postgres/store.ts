// PostgreSQL store: several `devstatus serve` processes can share one database. This class puts
// the parts together: ingest.ts (group-commit pipeline, with ingest-write.ts and ingest-session.ts), reads.ts,
// registry.ts, alerts-outbox.ts, coordination.ts (leadership with session advisory locks,
// messages with LISTEN/NOTIFY), connection.ts, migrations.ts.
// Fleet monitoring is safe with several receivers at once: the registry check share-locks the
// code inside the report's transaction, timeouts and the de-duplication state are decided on
// locked rows, and deliveries are claimed with SKIP LOCKED and a lease.
import pg from 'pg';
import type { Report } from '../../protocol/index.js';
import { storeClosed } from '../batch.js';
import { PlatformStore, type SilenceRule } from '../platform.js';
import { encodeMessage, type StoreLogger } from '../coordination.js';
import { Accounts } from '../accounts.js';
import type * as api from '../types.js';
import type { Digest } from '../../util/body-digest.js';
import { PgAlerting } from './alerting.js';
import * as outbox from './alerts-outbox.js';
import { describeDatabaseUrl, explainConnectError, isConnectionProblem, stderrLogger, type DatabaseTarget } from './connection.js';
import { PgBus, PgLeadership } from './coordination.js';
import { PgIngest, type IngestPaths } from './ingest.js';
import { upkeepTables, type TableUpkeep } from './maintenance.js';
import { KnownRows } from './known-rows.js';
import * as locations from './locations.js';
import { migrate } from './migrations.js';
import { markSilentByOwnPeriod, pgRunner } from './platform.js';
import * as reads from './reads.js';
import * as registry from './registry.js';

/**
 * Ingest transactions in flight at once (ingest.ts): a batch is planned and written while the
 * previous ones' COMMITs are flushed.
 */
const DEFAULT_INGEST_LANES = 3;

export interface PostgresStoreOptions {
  /** postgres://user[:password]@host[:port]/database */
  url: string;
  /** Most reports written in one transaction. */
  maxBatch?: number;
  /** Batches being written at the same time (each on its own connection; a box's reports are applied in order). */
  ingestLanes?: number;
  /** Connections for ingest and reads together: ingestLanes of them write reports, the rest (at least 2) read. */
  poolSize?: number;
  /** How often a follower retries for the leadership and a leader checks its connection. */
  leaderRetryMs?: number;
  /** Shown in pg_stat_activity; the leadership and LISTEN connections get -leader / -listen. */
  applicationName?: string;
  log?: StoreLogger;
  /**
   * Memory for the last report written of each box (about 64 bytes a box), so that its repeats
   * take the short path (known-rows.ts). Default REPEAT_MEMORY_BYTES (src/defaults.ts); 0: none.
   */
  knownBytes?: number;
}

export class PostgresStore implements api.Store {
  readonly kind = 'postgres' as const;
  readonly target: DatabaseTarget;
  private readonly pool: pg.Pool;
  /** Ingest's own connections (one per lane), set up for it (ingest-session.ts). */
  private readonly ingestPool: pg.Pool;
  private readonly clientConfig: pg.ClientConfig;
  private readonly writer: PgIngest;
  readonly alerting: PgAlerting;
  private readonly leaderRetryMs: number;
  private readonly log: StoreLogger;
  private readonly applicationName: string;
  private readonly leaderships = new Set<PgLeadership>();
  private readonly bus: PgBus;
  private closed = false;
  readonly accounts: Accounts;
  readonly platform: PlatformStore;

  /** Connects, applies pending migrations and returns the store; errors say what to check. */
  static async open(opts: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(opts);
    try {
      await migrate(store.pool, store.target.display);
    } catch (e) {
      await Promise.all([store.pool.end().catch(() => {}), store.ingestPool.end().catch(() => {})]);
      if (isConnectionProblem(e)) throw explainConnectError(e, opts.url);
      throw e;
    }
    return store;
  }

  private constructor(opts: PostgresStoreOptions) {
    this.target = describeDatabaseUrl(opts.url);
    this.log = opts.log ?? stderrLogger;
    this.clientConfig = { connectionString: opts.url, connectionTimeoutMillis: 10_000, keepAlive: true };
    this.applicationName = opts.applicationName ?? 'devstatus';
    const lanes = Math.max(1, opts.ingestLanes ?? DEFAULT_INGEST_LANES);
    this.pool = new pg.Pool({
      ...this.clientConfig,
      application_name: this.applicationName,
      max: Math.max(2, (opts.poolSize ?? 10) - lanes),
    });
    this.ingestPool = new pg.Pool({ ...this.clientConfig, application_name: this.applicationName, max: lanes });
    // An idle pooled connection that breaks (server restart) is replaced on next use.
    for (const pool of [this.pool, this.ingestPool]) {
      pool.on('error', (err) => {
        if (!this.closed) this.log.warn({ err: err.message }, 'PostgreSQL connection lost; it will be reopened');
      });
    }
    this.alerting = new PgAlerting(this.pool);
    this.platform = new PlatformStore(pgRunner(this.pool), 'postgres');
    this.writer = new PgIngest(this.pool, this.ingestPool, opts.maxBatch ?? 1024, lanes, new KnownRows(opts.knownBytes));
    this.leaderRetryMs = opts.leaderRetryMs ?? 2000;
    // The shared SQL uses ? placeholders; PostgreSQL numbers them.
    const numbered = (sql: string) => {
      let n = 0;
      return sql.replace(/\?/g, () => `$${++n}`);
    };
    this.accounts = new Accounts({
      all: async <T>(sql: string, params: unknown[]) => (await this.pool.query(numbered(sql), params)).rows as T[],
      run: async (sql: string, params: unknown[]) => (await this.pool.query(numbered(sql), params)).rowCount ?? 0,
    });
    this.bus = new PgBus({ ...this.clientConfig, application_name: `${this.applicationName}-listen` }, this.log);
  }

  ingest(report: Report, receivedAt: number, opts: api.IngestOptions = {}): Promise<api.IngestResult> {
    return this.writer.ingest(report, receivedAt, opts);
  }

  ingestRepeat(devSno: string, digest: Digest, receivedAt: number): Promise<boolean> | undefined {
    return this.writer.ingestRepeat(devSno, digest, receivedAt);
  }

  /** How the reports this receiver wrote went: known path (no read) or full path (ingest.ts). */
  get ingestPaths(): Readonly<IngestPaths> {
    return this.writer.paths;
  }

  upkeepTables(): Promise<TableUpkeep> {
    return upkeepTables(this.pool);
  }

  markSilentBoxesOffline(cutoffMs: number, now: number): Promise<api.Transition[]> {
    return this.writer.markSilentBoxesOffline(cutoffMs, now);
  }

  async markSilentBoxesOfflineByPeriod(rule: SilenceRule, now: number): Promise<api.Transition[]> {
    // A cutoff no report is before: waits for the reports already received, marks nobody.
    await this.writer.markSilentBoxesOffline(Number.MIN_SAFE_INTEGER, now);
    return markSilentByOwnPeriod(this.pool, rule, now);
  }

  listBoxes(query: api.ListBoxesQuery = {}): Promise<{ total: number; boxes: api.BoxState[] }> {
    return reads.listBoxes(this.pool, query);
  }

  getBox(devSno: string): Promise<{ box: api.BoxState; sub_devices: api.SubDeviceState[] } | null> {
    return reads.getBox(this.pool, devSno);
  }

  history(devSno: string, query: api.HistoryQuery = {}): Promise<api.HistoryEntry[]> {
    return reads.history(this.pool, devSno, query);
  }

  fleetHistory(query: api.FleetHistoryQuery = {}): Promise<api.HistoryEntry[]> {
    return reads.fleetHistory(this.pool, query);
  }

  summary(): Promise<api.FleetSummary> {
    return reads.summary(this.pool);
  }

  listSubDevices(query: api.SubDeviceQuery = {}): Promise<api.SubDevicePage> {
    return reads.listSubDevices(this.pool, query);
  }

  statusChanges(devSno: string, from: number, to: number): Promise<api.StatusChange[]> {
    return reads.statusChanges(this.pool, devSno, from, to);
  }

  listLocations(): Promise<api.Location[]> {
    return locations.listLocations(this.pool);
  }

  getLocation(id: string): Promise<api.Location | null> {
    return locations.getLocation(this.pool, id);
  }

  putLocation(id: string, fields: api.LocationFields, now: number): Promise<{ location: api.Location; created: boolean }> {
    return locations.putLocation(this.pool, id, fields, now);
  }

  deleteLocation(id: string): Promise<boolean> {
    return locations.deleteLocation(this.pool, id);
  }

  addCode(code: api.NewCode, now: number): Promise<api.RegistryEntry | null> {
    return registry.addCode(this.pool, code, now);
  }

  getCode(devSno: string): Promise<api.RegistryEntry | null> {
    return registry.getCode(this.pool, devSno);
  }

  listCodes(query: api.ListCodesQuery = {}): Promise<api.CodeListEntry[]> {
    return registry.listCodes(this.pool, query);
  }

  setCodeStatus(devSno: string, status: api.CodeStatus, now: number): Promise<api.RegistryEntry | null> {
    return registry.setCodeStatus(this.pool, devSno, status, now);
  }

  updateCode(devSno: string, fields: { name?: string | null; location?: string | null }, now: number): Promise<api.RegistryEntry | null> {
    return registry.updateCode(this.pool, devSno, fields, now);
  }

  queueAlerts(transitions: api.Transition[], opts: api.AlertQueueOptions): Promise<{ queued: number; held: number }> {
    return outbox.queueAlerts(this.pool, transitions, opts);
  }

  releaseHeldAlerts(opts: api.AlertQueueOptions): Promise<number> {
    return outbox.releaseHeldAlerts(this.pool, opts);
  }

  claimDueDeliveries(now: number, leaseUntil: number, limit: number): Promise<api.AlertDelivery[]> {
    return outbox.claimDueDeliveries(this.pool, now, leaseUntil, limit);
  }

  recordDeliveryResult(id: number, r: api.DeliveryResult): Promise<void> {
    return outbox.recordDeliveryResult(this.pool, id, r);
  }

  listDeliveries(query: api.DeliveryQuery = {}): Promise<api.AlertDelivery[]> {
    return outbox.listDeliveries(this.pool, query);
  }

  deliveryCounts(): Promise<Record<api.DeliveryStatus, number>> {
    return outbox.deliveryCounts(this.pool);
  }

  pruneDeliveries(before: number): Promise<number> {
    return outbox.pruneDeliveries(this.pool, before);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async acquireLeadership(name: string): Promise<api.Leadership> {
    if (this.closed) throw storeClosed();
    const leadership = new PgLeadership(
      name,
      { ...this.clientConfig, application_name: `${this.applicationName}-leader` },
      this.leaderRetryMs,
      this.log,
      () => this.leaderships.delete(leadership),
    );
    this.leaderships.add(leadership);
    await leadership.start();
    return leadership;
  }

  async publish(channel: string, payload: object): Promise<void> {
    const json = encodeMessage(channel, payload);
    await this.pool.query('SELECT pg_notify($1, $2)', [channel, json]);
  }

  subscribe(channel: string, onMessage: (payload: unknown) => void): Promise<() => Promise<void>> {
    if (this.closed) return Promise.reject(storeClosed());
    return this.bus.subscribe(channel, onMessage);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Reports already accepted are written before the pool goes away.
    await this.writer.close();
    await Promise.all([...this.leaderships].map((l) => l.release()));
    await this.bus.close();
    await Promise.all([this.pool.end(), this.ingestPool.end()]);
  }
}

export { describeDatabaseUrl, explainConnectError, type DatabaseTarget } from './connection.js';
export { PG_MIGRATIONS } from './migrations.js';
export type { StoreLogger };
