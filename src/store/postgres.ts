// PostgreSQL store: several `devstatus serve` processes can share one database. Reports that
// arrive together are committed in one transaction (group commit) that first locks the rows of
// their boxes, so receivers ingesting the same box never lose or duplicate a transition; if one
// report fails, the batch is redone with a savepoint per report so it fails alone.
// Fleet monitoring is safe with several receivers at once: the registry check share-locks the
// code inside the report's transaction, timeouts and the de-duplication state are decided on
// locked rows, and deliveries are claimed with SKIP LOCKED and a lease.
// Leadership uses session advisory locks, messages LISTEN/NOTIFY.
import pg from 'pg';
import { ReportValidationError, type Report } from '../protocol/index.js';
import {
  alertBody,
  alertSubject,
  isAlertable,
  planAlert,
  releaseHeld,
  type AlertDecision,
  type AlertSubjectState,
} from './alert-plan.js';
import { encodeMessage, type StoreLogger } from './coordination.js';
import { hash32, PgBus, PgLeadership } from './postgres-coordination.js';
import { planIngest, type IngestPlan } from './diff.js';
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
  type SubDeviceState,
  type SubDeviceStatus,
  type Transition,
} from './types.js';

/**
 * Versioned schema, applied in order at open. Append only: never edit a migration that has
 * shipped. Times are milliseconds since the epoch (as in the SQLite store); COLLATE "C"
 * makes ordering and lower() bytewise/ASCII-only, exactly like SQLite's defaults.
 */
export const PG_MIGRATIONS: string[] = [
  `CREATE TABLE boxes (
     dev_sno text COLLATE "C" PRIMARY KEY,
     status text NOT NULL,
     first_seen_at bigint NOT NULL,
     last_report_at bigint NOT NULL,
     status_changed_at bigint NOT NULL,
     report_count bigint NOT NULL DEFAULT 0,
     sub_online integer NOT NULL DEFAULT 0,
     sub_offline integer NOT NULL DEFAULT 0,
     extra json NOT NULL DEFAULT '{}'
   );
   CREATE INDEX boxes_status ON boxes(status);
   CREATE TABLE sub_devices (
     dev_sno text COLLATE "C" NOT NULL REFERENCES boxes(dev_sno),
     ep_id text COLLATE "C" NOT NULL,
     ep_ip text NOT NULL,
     ep_status text NOT NULL,
     ep_location text NOT NULL,
     ep_type text NOT NULL,
     ep_name text NOT NULL,
     extra json NOT NULL DEFAULT '{}',
     first_seen_at bigint NOT NULL,
     last_seen_at bigint NOT NULL,
     status_changed_at bigint NOT NULL,
     PRIMARY KEY (dev_sno, ep_id)
   );
   CREATE TABLE history (
     id bigserial PRIMARY KEY,
     at bigint NOT NULL,
     dev_sno text COLLATE "C" NOT NULL,
     ep_id text COLLATE "C",
     from_status text,
     to_status text NOT NULL,
     reason text NOT NULL
   );
   CREATE INDEX history_box ON history(dev_sno, id);
   CREATE INDEX history_ep ON history(dev_sno, ep_id, id);`,
  // 2: device registry (as SQLite's 2); boxes that reported before it existed are registered as auto.
  `CREATE TABLE registry (
     dev_sno text COLLATE "C" PRIMARY KEY,
     status text NOT NULL,
     source text NOT NULL,
     name text,
     location text,
     created_at bigint NOT NULL,
     updated_at bigint NOT NULL,
     revoked_at bigint
   );
   INSERT INTO registry (dev_sno, status, source, created_at, updated_at)
     SELECT dev_sno, 'active', 'auto', first_seen_at, first_seen_at FROM boxes;`,
  // 3: alert outbox (one row per alert and webhook URL) and per-subject de-duplication state
  // (as SQLite's 3). body and held are text: the exact bytes sent and signed.
  `CREATE TABLE alert_deliveries (
     id bigserial PRIMARY KEY,
     alert_id text NOT NULL,
     subject text COLLATE "C" NOT NULL,
     url text NOT NULL,
     body text NOT NULL,
     status text NOT NULL,
     attempts integer NOT NULL DEFAULT 0,
     last_error text,
     last_http_status integer,
     created_at bigint NOT NULL,
     updated_at bigint NOT NULL,
     next_attempt_at bigint,
     delivered_at bigint
   );
   CREATE INDEX alert_deliveries_due ON alert_deliveries(status, next_attempt_at);
   CREATE TABLE alert_subjects (
     subject text COLLATE "C" PRIMARY KEY,
     dev_sno text COLLATE "C" NOT NULL,
     ep_id text COLLATE "C",
     last_sent_at bigint NOT NULL,
     last_sent_status text NOT NULL,
     held_count integer NOT NULL DEFAULT 0,
     held text
   );
   CREATE INDEX alert_subjects_held ON alert_subjects(held_count, last_sent_at);`,
];

/** Most box + sub-device rows in one batch (a report has at most 4096 sub-devices). */
const MAX_BATCH_ROWS = 20_000;

// Advisory lock key, (namespace, id) form so it never collides with anyone's bigint keys.
const LOCK_NS_MIGRATIONS = 0x64737401;

const stderrLogger: StoreLogger = {
  info: () => {},
  warn: (obj, msg) => console.error(`devstatus: ${msg}`, obj),
};

export interface PostgresStoreOptions {
  /** postgres://user[:password]@host[:port]/database */
  url: string;
  /** Most reports written in one transaction. */
  maxBatch?: number;
  /** Transactions writing reports at the same time (each box always goes to the same one). */
  ingestLanes?: number;
  /** Pool size for ingest and reads. */
  poolSize?: number;
  /** How often a follower retries for the leadership and a leader checks its connection. */
  leaderRetryMs?: number;
  /** Shown in pg_stat_activity; the leadership and LISTEN connections get -leader / -listen. */
  applicationName?: string;
  log?: StoreLogger;
}

/** What the URL points at, without the password: for messages and logs. */
export interface DatabaseTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  /** postgres://user@host:port/database */
  display: string;
}

export function describeDatabaseUrl(url: string): DatabaseTarget {
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw new Error('the database URL must look like postgres://user[:password]@host[:port]/database');
  }
  // pg's own view of it, defaults and PG* environment variables included.
  const c = new pg.Client({ connectionString: url });
  const host = c.host;
  const port = c.port;
  const database = c.database ?? '';
  const user = c.user ?? '';
  const hostPart = host.includes(':') && !host.startsWith('/') ? `[${host}]` : host;
  return {
    host,
    port,
    database,
    user,
    display: `postgres://${encodeURIComponent(user)}@${hostPart}:${port}/${encodeURIComponent(database)}`,
  };
}

function passwordOf(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}

/** A message about a failure to reach the database that says where and what to check. */
export function explainConnectError(e: unknown, url: string): Error {
  const t = describeDatabaseUrl(url);
  const err = e as { code?: string; message?: string };
  const where = `PostgreSQL database "${t.database}" at ${t.host}:${t.port} as user "${t.user}"`;
  let why: string;
  let check: string;
  switch (err.code) {
    case 'ECONNREFUSED':
      why = 'connection refused';
      check = `check that PostgreSQL is running and listens on ${t.host} port ${t.port}`;
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      why = `host name "${t.host}" does not resolve`;
      check = 'check the host in the database URL';
      break;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      why = `no route or no answer (${err.code})`;
      check = 'check the host and port in the database URL and any firewall in between';
      break;
    case '28P01':
    case '28000':
      why = `the server refused the login (${err.message ?? err.code})`;
      check = "check the user and password in the database URL and the server's pg_hba.conf";
      break;
    case '3D000':
      why = `database "${t.database}" does not exist`;
      check = `create it (createdb -h ${t.host} -p ${t.port} -U ${t.user} ${t.database}) or fix the database name in the URL`;
      break;
    default:
      why = /timeout/i.test(err.message ?? '') ? 'no answer in time' : (err.message ?? String(e));
      check = 'check that PostgreSQL is running and that the database URL names the right host, port, database and user';
  }
  // pg's own messages never carry the password; this is in case some other layer's does.
  const password = passwordOf(url);
  if (password && password.length >= 4) why = why.split(password).join('***');
  const message = `cannot open the ${where}: ${why}; ${check} (--database-url / DATABASE_URL)`;
  return Object.assign(new Error(message), { code: err.code });
}

function isConnectionProblem(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return (
    /^(08|28|3D|57P)/.test(code) ||
    /^E[A-Z]+$/.test(code) ||
    /timeout|terminated|Connection/i.test((e as Error).message ?? '')
  );
}

/** Errors after which the same batch may simply be tried again. */
function isTransient(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === '40P01' || code === '40001' || code === '23505';
}

// PostgreSQL text cannot hold U+0000; say so as a bad field rather than fail with a 500.
function rejectNul(report: Report): void {
  const bad = (s: string) => s.includes('\u0000');
  const reason = 'must not contain the NUL character (\\u0000)';
  if (bad(report.dev_sno)) throw new ReportValidationError('dev_sno', reason);
  report.sub_devices.forEach((s, i) => {
    for (const f of ['ep_id', 'ep_ip', 'ep_location', 'ep_name'] as const) {
      if (bad(s[f])) throw new ReportValidationError(`sub_devices[${i}].${f}`, reason);
    }
  });
}

interface Pending {
  report: Report;
  receivedAt: number;
  mode: RegistryMode;
  resolve: (r: IngestResult) => void;
  reject: (e: unknown) => void;
}

/** A box as this batch sees it; status null while it is new (claimed, not yet written). */
interface BoxInBatch {
  status: BoxStatus | null;
  subs: Map<string, SubDeviceStatus>;
}

/** What the batch's transaction has read and locked, moved on as its reports are written. */
interface BatchState {
  /** Only boxes that may be admitted are claimed and locked. */
  boxes: Map<string, BoxInBatch>;
  /** Registry row of every dev_sno in the batch (null: not registered), share-locked. */
  codes: Map<string, { status: CodeStatus } | null>;
}

interface Lane {
  pending: Pending[];
  running: Promise<void> | null;
  /** Settles once every report this lane has accepted so far is written (or has failed). */
  last: Promise<unknown>;
}

interface Planned {
  source: Pending;
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
function plan(p: Pending, state: BatchState): Planned {
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
function advance(state: BatchState, planned: Planned): void {
  const box = state.boxes.get(planned.report.dev_sno)!;
  box.status = 'online';
  for (const w of planned.plan.writes) box.subs.set(w.sub.ep_id, w.sub.ep_status);
  for (const epId of planned.plan.removals) box.subs.set(epId, 'removed');
  if (planned.register) state.codes.set(planned.report.dev_sno, { status: 'active' });
}

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));

const byDevSno = (a: Pending, b: Pending) =>
  a.report.dev_sno < b.report.dev_sno ? -1 : a.report.dev_sno > b.report.dev_sno ? 1 : 0;

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly target: DatabaseTarget;
  private readonly pool: pg.Pool;
  private readonly clientConfig: pg.ClientConfig;
  private readonly maxBatch: number;
  private readonly lanes: Lane[];
  private readonly leaderRetryMs: number;
  private readonly log: StoreLogger;
  private readonly applicationName: string;
  private readonly leaderships = new Set<PgLeadership>();
  private readonly bus: PgBus;
  private closed = false;

  /** Connects, applies pending migrations and returns the store; errors say what to check. */
  static async open(opts: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(opts);
    try {
      await store.migrate();
    } catch (e) {
      await store.pool.end().catch(() => {});
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
    this.pool = new pg.Pool({
      ...this.clientConfig,
      application_name: this.applicationName,
      max: opts.poolSize ?? 10,
    });
    // An idle pooled connection that breaks (server restart) is replaced on next use.
    this.pool.on('error', (err) => {
      if (!this.closed) this.log.warn({ err: err.message }, 'PostgreSQL connection lost; it will be reopened');
    });
    this.maxBatch = opts.maxBatch ?? 256;
    this.lanes = Array.from({ length: Math.max(1, opts.ingestLanes ?? 4) }, () => ({
      pending: [],
      running: null,
      last: Promise.resolve(),
    }));
    this.leaderRetryMs = opts.leaderRetryMs ?? 2000;
    this.bus = new PgBus({ ...this.clientConfig, application_name: `${this.applicationName}-listen` }, this.log);
  }

  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Several receivers starting at once: the first migrates, the others wait and see it done.
      await client.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_NS_MIGRATIONS]);
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)',
      );
      const { rows } = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
      const current = rows[0]?.v ?? 0;
      if (current > PG_MIGRATIONS.length) {
        throw new Error(
          `the database ${this.target.display} has schema version ${current}, newer than this devstatus knows ` +
            `(${PG_MIGRATIONS.length}); upgrade devstatus`,
        );
      }
      for (let v = current + 1; v <= PG_MIGRATIONS.length; v++) {
        await client.query(PG_MIGRATIONS[v - 1]!);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [v, Date.now()]);
      }
      await client.query('COMMIT');
      client.release();
    } catch (e) {
      // Dropping the connection rolls back whatever was begun.
      client.release(e instanceof Error ? e : true);
      throw e;
    }
  }

  ingest(report: Report, receivedAt: number, opts: IngestOptions = {}): Promise<IngestResult> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    try {
      // Before it joins a batch: a NUL in dev_sno would fail every statement of the batch.
      rejectNul(report);
    } catch (e) {
      return Promise.reject(e);
    }
    const mode = opts.registryMode ?? 'open';
    // A box always goes to the same lane, so its reports are applied in the order they came.
    const lane = this.lanes[(hash32(report.dev_sno) >>> 0) % this.lanes.length]!;
    const result = new Promise<IngestResult>((resolve, reject) => {
      lane.pending.push({ report, receivedAt, mode, resolve, reject });
      if (!lane.running) {
        // setImmediate lets every request already parsed in this tick join the batch.
        lane.running = new Promise((done) => setImmediate(() => void this.drain(lane).finally(done)));
      }
    });
    // A lane writes its reports in order, so this one settling means all before it have.
    lane.last = result.catch(() => {});
    return result;
  }

  private async drain(lane: Lane): Promise<void> {
    while (lane.pending.length > 0) {
      // Bounded in reports and in rows, so one statement never carries a huge fleet at once.
      let n = 0;
      let rows = 0;
      while (n < lane.pending.length && n < this.maxBatch && rows < MAX_BATCH_ROWS) {
        rows += 1 + lane.pending[n]!.report.sub_devices.length;
        n++;
      }
      await this.writeBatch(lane.pending.splice(0, n));
    }
    lane.running = null;
  }

  /**
   * One transaction for the batch; nothing resolves before COMMIT. First without savepoints
   * (a few multi-row statements for the whole batch); if a report fails, the batch is rolled
   * back and written again with a savepoint per report, so only the failing one is lost.
   */
  private async writeBatch(batch: Pending[]): Promise<void> {
    // Grouped by box; the sort is stable, so a box's reports keep the order they came in.
    batch.sort(byDevSno);
    let client: pg.PoolClient | undefined;
    let results: Array<IngestResult | Error>;
    try {
      client = await this.pool.connect();
      results = (await this.tryBatch(client, batch, false)) ?? (await this.tryBatch(client, batch, true))!;
    } catch (e) {
      // The connection or the commit failed: no report of this batch is acknowledged.
      client?.release(e instanceof Error ? e : true);
      for (const p of batch) p.reject(e);
      return;
    }
    client.release();
    batch.forEach((p, i) => {
      const r = results[i]!;
      if (r instanceof Error) p.reject(r);
      else p.resolve(r);
    });
  }

  /** null: without savepoints a report failed and the transaction was rolled back. */
  private async tryBatch(
    c: pg.PoolClient,
    batch: Pending[],
    savepoints: boolean,
  ): Promise<Array<IngestResult | Error> | null> {
    for (let attempt = 1; ; attempt++) {
      await c.query('BEGIN');
      try {
        const state = await this.lockBoxes(c, batch);
        let results: Array<IngestResult | Error>;
        let pending = '';
        if (!savepoints) {
          try {
            results = await this.writeInWaves(c, batch, state);
          } catch {
            await c.query('ROLLBACK');
            return null;
          }
        } else {
          results = [];
          for (const p of batch) {
            let planned: Planned;
            try {
              planned = plan(p, state);
            } catch (e) {
              // Refused by the registry: nothing was written for it.
              results.push(asError(e));
              continue;
            }
            // The end of the previous report's savepoint travels with the next statement.
            await c.query(`${pending}SAVEPOINT report`);
            try {
              await this.writePlans(c, [planned]);
              advance(state, planned);
              results.push({ transitions: planned.plan.transitions });
              pending = 'RELEASE SAVEPOINT report; ';
            } catch (e) {
              pending = 'ROLLBACK TO SAVEPOINT report; RELEASE SAVEPOINT report; ';
              results.push(asError(e));
            }
          }
        }
        // A box claimed for reports that all failed must not stay behind.
        const orphans = [...state.boxes].filter(([, b]) => b.status === null).map(([devSno]) => devSno);
        if (orphans.length) {
          if (pending) await c.query(pending.trim());
          pending = '';
          await c.query('DELETE FROM boxes WHERE dev_sno = ANY($1::text[]) AND report_count = 0', [orphans]);
        }
        await c.query(`${pending}COMMIT`);
        return results;
      } catch (e) {
        await c.query('ROLLBACK');
        // Deadlock with another writer (not ingest: ingest locks in one order): try again.
        if (isTransient(e) && attempt < 3) continue;
        throw e;
      }
    }
  }

  /**
   * The whole batch in a few statements: wave k holds the k-th report of each box, so no
   * statement touches a row twice; a box's reports are applied in order.
   */
  private async writeInWaves(c: pg.PoolClient, batch: Pending[], state: BatchState): Promise<Array<IngestResult | Error>> {
    const waves: Pending[][] = [];
    const seen = new Map<string, number>();
    for (const p of batch) {
      const k = seen.get(p.report.dev_sno) ?? 0;
      seen.set(p.report.dev_sno, k + 1);
      (waves[k] ??= []).push(p);
    }
    const results = new Map<Pending, IngestResult | Error>();
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
      await this.writePlans(c, planned);
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
  private async lockBoxes(c: pg.PoolClient, batch: Pending[]): Promise<BatchState> {
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
  private async writePlans(c: pg.PoolClient, planned: Planned[]): Promise<void> {
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

  async listBoxes(query: ListBoxesQuery = {}): Promise<{ total: number; boxes: BoxState[] }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.status) {
      params.push(query.status);
      where.push(`b.status = $${params.length}`);
    }
    if (query.q) {
      params.push(query.q);
      // COLLATE "C": lower() folds ASCII only, as SQLite's does.
      const q = `lower($${params.length}::text COLLATE "C")`;
      where.push(`(strpos(lower(b.dev_sno), ${q}) > 0 OR strpos(lower(COALESCE(r.name, '') COLLATE "C"), ${q}) > 0)`);
    }
    const from = 'FROM boxes b LEFT JOIN registry r ON r.dev_sno = b.dev_sno';
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = await this.pool.query<{ n: string }>(`SELECT COUNT(*) AS n ${from} ${whereSql}`, params);
    const rows = await this.pool.query<BoxRow>(
      `SELECT b.*, r.name, r.location ${from} ${whereSql} ORDER BY b.dev_sno LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, clampLimit(query.limit), Math.max(0, Math.floor(query.offset ?? 0))],
    );
    return { total: Number(total.rows[0]!.n), boxes: rows.rows.map(boxFromRow) };
  }

  async getBox(devSno: string): Promise<{ box: BoxState; sub_devices: SubDeviceState[] } | null> {
    const box = await this.pool.query<BoxRow>(
      'SELECT b.*, r.name, r.location FROM boxes b LEFT JOIN registry r ON r.dev_sno = b.dev_sno WHERE b.dev_sno = $1',
      [devSno],
    );
    const row = box.rows[0];
    if (!row) return null;
    const subs = await this.pool.query<SubRow>('SELECT * FROM sub_devices WHERE dev_sno = $1 ORDER BY ep_id', [devSno]);
    return { box: boxFromRow(row), sub_devices: subs.rows.map((r) => subFromRow(r, row.status)) };
  }

  async history(devSno: string, query: HistoryQuery = {}): Promise<HistoryEntry[]> {
    const params: unknown[] = [devSno];
    const where = ['dev_sno = $1'];
    if (query.ep_id !== undefined) {
      params.push(query.ep_id);
      where.push(`ep_id = $${params.length}`);
    }
    if (query.before !== undefined) {
      params.push(query.before);
      where.push(`id < $${params.length}`);
    }
    params.push(clampLimit(query.limit));
    const { rows } = await this.pool.query<HistoryRow>(
      `SELECT * FROM history WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(historyFromRow);
  }

  async fleetHistory(query: FleetHistoryQuery = {}): Promise<HistoryEntry[]> {
    const params: unknown[] = [clampLimit(query.limit)];
    let where = '';
    if (query.before !== undefined) {
      params.push(query.before);
      where = 'WHERE id < $2';
    }
    const { rows } = await this.pool.query<HistoryRow>(`SELECT * FROM history ${where} ORDER BY id DESC LIMIT $1`, params);
    return rows.map(historyFromRow);
  }

  async summary(): Promise<FleetSummary> {
    const { rows } = await this.pool.query<Record<'total' | 'online' | 'sub_online' | 'sub_offline' | 'sub_unknown', string>>(
      `SELECT COUNT(*) AS total,
              COUNT(*) FILTER (WHERE status = 'online') AS online,
              COALESCE(SUM(sub_online) FILTER (WHERE status = 'online'), 0) AS sub_online,
              COALESCE(SUM(sub_offline) FILTER (WHERE status = 'online'), 0) AS sub_offline,
              COALESCE(SUM(sub_online + sub_offline) FILTER (WHERE status <> 'online'), 0) AS sub_unknown
       FROM boxes`,
    );
    const r = rows[0]!;
    const total = Number(r.total);
    const online = Number(r.online);
    const sub = { online: Number(r.sub_online), offline: Number(r.sub_offline), unknown: Number(r.sub_unknown) };
    return {
      boxes: { total, online, offline: total - online },
      sub_devices: { total: sub.online + sub.offline + sub.unknown, ...sub },
    };
  }

  async markSilentBoxesOffline(cutoffMs: number, now: number): Promise<Transition[]> {
    // Reports this process has received but not yet written would otherwise look silent.
    await Promise.all(this.lanes.map((l) => l.last));
    // One statement: the rows are locked in dev_sno order (as ingest locks them) and
    // re-checked once locked, so a box that another receiver has just marked offline, or
    // that has just reported, is left alone: each timeout is recorded once, by one receiver.
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
    const at = iso(now);
    return rows.map(({ dev_sno }) => ({
      at,
      dev_sno,
      ep_id: null,
      from_status: 'online',
      to_status: 'offline',
      reason: 'report_timeout',
    }));
  }

  // ---- registry

  private async codeRow(devSno: string): Promise<RegistryRow | undefined> {
    const { rows } = await this.pool.query<RegistryRow>(
      'SELECT r.*, b.last_report_at FROM registry r LEFT JOIN boxes b ON b.dev_sno = r.dev_sno WHERE r.dev_sno = $1',
      [devSno],
    );
    return rows[0];
  }

  async addCode(code: NewCode, now: number): Promise<RegistryEntry | null> {
    const res = await this.pool.query(
      `INSERT INTO registry (dev_sno, status, source, name, location, created_at, updated_at)
       VALUES ($1, 'active', $2, $3, $4, $5::bigint, $5::bigint) ON CONFLICT (dev_sno) DO NOTHING`,
      [code.dev_sno, code.source, code.name ?? null, code.location ?? null, now],
    );
    if (res.rowCount === 0) return null;
    return this.getCode(code.dev_sno);
  }

  async getCode(devSno: string): Promise<RegistryEntry | null> {
    const row = await this.codeRow(devSno);
    return row ? registryFromRow(row) : null;
  }

  async listCodes(query: { status?: CodeStatus } = {}): Promise<RegistryEntry[]> {
    const where = query.status ? 'WHERE r.status = $1' : '';
    const { rows } = await this.pool.query<RegistryRow>(
      `SELECT r.*, b.last_report_at FROM registry r LEFT JOIN boxes b ON b.dev_sno = r.dev_sno ${where} ORDER BY r.dev_sno`,
      query.status ? [query.status] : [],
    );
    return rows.map(registryFromRow);
  }

  async setCodeStatus(devSno: string, status: CodeStatus, now: number): Promise<RegistryEntry | null> {
    // Waits for ingest transactions holding the row share-locked: once this returns, every
    // receiver refuses the revoked code.
    const res = await this.pool.query(
      `UPDATE registry SET status = $2::text, updated_at = $3::bigint,
         revoked_at = CASE WHEN $2::text = 'revoked' THEN COALESCE(revoked_at, $3::bigint) ELSE NULL END
       WHERE dev_sno = $1`,
      [devSno, status, now],
    );
    return res.rowCount === 0 ? null : this.getCode(devSno);
  }

  async updateCode(
    devSno: string,
    fields: { name?: string | null; location?: string | null },
    now: number,
  ): Promise<RegistryEntry | null> {
    const res = await this.pool.query(
      `UPDATE registry SET updated_at = $2,
         name = CASE WHEN $3::boolean THEN $4::text ELSE name END,
         location = CASE WHEN $5::boolean THEN $6::text ELSE location END
       WHERE dev_sno = $1`,
      [devSno, now, fields.name !== undefined, fields.name ?? null, fields.location !== undefined, fields.location ?? null],
    );
    return res.rowCount === 0 ? null : this.getCode(devSno);
  }

  // ---- alerts

  /** Runs work in one transaction on one connection; a deadlock or serialization failure runs it again. */
  private async transaction<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    for (let attempt = 1; ; attempt++) {
      try {
        await c.query('BEGIN');
        const result = await work(c);
        await c.query('COMMIT');
        c.release();
        return result;
      } catch (e) {
        try {
          await c.query('ROLLBACK');
        } catch (broken) {
          c.release(asError(broken));
          throw e;
        }
        if (isTransient(e) && attempt < 3) continue;
        c.release();
        throw e;
      }
    }
  }

  /**
   * Writes the decisions about subjects whose rows this transaction holds locked: their new
   * de-duplication state and, for each alert sent, one delivery per URL (in decision order).
   */
  private async writeDecisions(c: pg.PoolClient, decisions: AlertDecision[], urls: string[], now: number): Promise<void> {
    if (decisions.length === 0) return;
    const states = new Map<string, AlertSubjectState>();
    for (const d of decisions) states.set(d.state.subject, d.state);
    const sent = decisions.filter((d) => d.send !== null);
    const details = new Map<string, { name: string | null; location: string | null }>();
    if (sent.length) {
      const { rows } = await c.query<{ dev_sno: string; name: string | null; location: string | null }>(
        'SELECT dev_sno, name, location FROM registry WHERE dev_sno = ANY($1::text[])',
        [[...new Set(sent.map((d) => d.state.dev_sno))]],
      );
      for (const r of rows) details.set(r.dev_sno, { name: r.name, location: r.location });
    }
    const deliveries = sent.flatMap((d) => {
      const body = alertBody(d.send!, details.get(d.state.dev_sno) ?? null);
      return urls.map((url) => ({ alertId: d.send!.alert_id, subject: d.state.subject, url, body }));
    });
    const st = [...states.values()];
    await c.query({
      name: 'devstatus_alert_write',
      text: `WITH
        subj AS (
          UPDATE alert_subjects s SET last_sent_at = u.last_sent_at, last_sent_status = u.last_sent_status,
            held_count = u.held_count, held = u.held
          FROM unnest($1::text[], $2::bigint[], $3::text[], $4::int[], $5::text[])
            AS u(subject, last_sent_at, last_sent_status, held_count, held)
          WHERE s.subject = u.subject),
        outbox AS (
          INSERT INTO alert_deliveries (alert_id, subject, url, body, status, attempts, created_at, updated_at, next_attempt_at)
          SELECT d.alert_id, d.subject, d.url, d.body, 'pending', 0, $10, $10, $10
          FROM unnest($6::text[], $7::text[], $8::text[], $9::text[]) WITH ORDINALITY AS d(alert_id, subject, url, body, ord)
          ORDER BY d.ord)
        SELECT 1`,
      values: [
        st.map((x) => x.subject),
        st.map((x) => x.last_sent_at),
        st.map((x) => x.last_sent_status),
        st.map((x) => x.held_count),
        st.map((x) => (x.held ? JSON.stringify(x.held) : null)),
        deliveries.map((d) => d.alertId),
        deliveries.map((d) => d.subject),
        deliveries.map((d) => d.url),
        deliveries.map((d) => d.body),
        now,
      ],
    });
  }

  async queueAlerts(transitions: Transition[], opts: AlertQueueOptions): Promise<{ queued: number; held: number }> {
    if (opts.urls.length === 0) return { queued: 0, held: 0 };
    const alertable = transitions.filter(isAlertable);
    if (alertable.length === 0) return { queued: 0, held: 0 };
    const subjects = new Map<string, Transition>();
    for (const t of alertable) subjects.set(alertSubject(t), t);
    const keys = [...subjects.keys()].sort();
    return this.transaction(async (c) => {
      // Every subject's row locked, in subject order (so two receivers never deadlock), before
      // any decision: a subject never alerted gets a placeholder row, inserted by exactly one
      // transaction (the others wait for it, then lock the row). The window rule then holds
      // across processes. Placeholders are always overwritten below, so none is ever committed.
      const fresh = await c.query<{ subject: string }>({
        name: 'devstatus_alert_subjects_claim',
        text: `INSERT INTO alert_subjects (subject, dev_sno, ep_id, last_sent_at, last_sent_status)
               SELECT n.subject, n.dev_sno, n.ep_id, 0, '' FROM unnest($1::text[], $2::text[], $3::text[])
                 AS n(subject, dev_sno, ep_id) ORDER BY n.subject
               ON CONFLICT (subject) DO NOTHING RETURNING subject`,
        values: [keys, keys.map((k) => subjects.get(k)!.dev_sno), keys.map((k) => subjects.get(k)!.ep_id)],
      });
      const locked = await c.query<SubjectRow>({
        name: 'devstatus_alert_subjects_lock',
        text: 'SELECT * FROM alert_subjects WHERE subject = ANY($1::text[]) ORDER BY subject FOR UPDATE',
        values: [keys],
      });
      const isPlaceholder = new Set(fresh.rows.map((r) => r.subject));
      const state = new Map<string, AlertSubjectState | null>();
      for (const r of locked.rows) state.set(r.subject, isPlaceholder.has(r.subject) ? null : subjectFromRow(r));
      let queued = 0;
      let held = 0;
      const decisions: AlertDecision[] = [];
      for (const t of alertable) {
        const subject = alertSubject(t);
        const d = planAlert(state.get(subject) ?? null, t, opts.now, opts.dedupMs);
        state.set(subject, d.state);
        decisions.push(d);
        if (d.send) queued++;
        else held++;
      }
      await this.writeDecisions(c, decisions, opts.urls, opts.now);
      return { queued, held };
    });
  }

  async releaseHeldAlerts(opts: AlertQueueOptions): Promise<number> {
    if (opts.urls.length === 0) return 0;
    return this.transaction(async (c) => {
      // A subject another receiver is queueing or releasing right now is skipped: its window
      // is looked at again on the next pass.
      const { rows } = await c.query<SubjectRow>({
        name: 'devstatus_alert_release',
        text: `SELECT * FROM alert_subjects WHERE held_count > 0 AND last_sent_at <= $1
               ORDER BY subject FOR UPDATE SKIP LOCKED`,
        values: [opts.now - opts.dedupMs],
      });
      const decisions: AlertDecision[] = [];
      for (const row of rows) {
        const d = releaseHeld(subjectFromRow(row), opts.now, opts.dedupMs);
        if (d) decisions.push(d);
      }
      await this.writeDecisions(c, decisions, opts.urls, opts.now);
      return decisions.filter((d) => d.send !== null).length;
    });
  }

  async claimDueDeliveries(now: number, leaseUntil: number, limit: number): Promise<AlertDelivery[]> {
    // SKIP LOCKED: two dispatchers claiming at once get disjoint deliveries; a row another one
    // has just leased is re-checked once unlocked and is no longer due.
    const { rows } = await this.pool.query<DeliveryRow>({
      name: 'devstatus_deliveries_claim',
      text: `WITH due AS (
               SELECT id, next_attempt_at FROM alert_deliveries
               WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED),
             leased AS (
               UPDATE alert_deliveries d SET next_attempt_at = $2 FROM due WHERE d.id = due.id
               RETURNING d.*, due.next_attempt_at AS due_at)
             SELECT id, alert_id, subject, url, body, status, attempts, last_error, last_http_status, created_at,
                    updated_at, due_at AS next_attempt_at, delivered_at
             FROM leased ORDER BY id`,
      values: [now, leaseUntil, limit],
    });
    return rows.map(deliveryFromRow);
  }

  async recordDeliveryResult(id: number, r: DeliveryResult): Promise<void> {
    const status: DeliveryStatus = r.ok ? 'delivered' : r.retryAt === null ? 'failed' : 'pending';
    await this.pool.query(
      `UPDATE alert_deliveries SET status = $2::text, attempts = attempts + 1, updated_at = $3::bigint,
         last_error = $4::text, last_http_status = $5::integer, next_attempt_at = $6::bigint,
         delivered_at = CASE WHEN $7::boolean THEN $3::bigint ELSE NULL END
       WHERE id = $1`,
      [id, status, r.now, r.ok ? null : r.error, r.httpStatus, status === 'pending' ? r.retryAt : null, r.ok],
    );
  }

  async listDeliveries(query: DeliveryQuery = {}): Promise<AlertDelivery[]> {
    const where: string[] = [];
    const params: unknown[] = [clampLimit(query.limit)];
    if (query.status) {
      params.push(query.status);
      where.push(`status = $${params.length}`);
    }
    if (query.before !== undefined) {
      params.push(query.before);
      where.push(`id < $${params.length}`);
    }
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const { rows } = await this.pool.query<DeliveryRow>(
      `SELECT * FROM alert_deliveries ${whereSql} ORDER BY id DESC LIMIT $1`,
      params,
    );
    return rows.map(deliveryFromRow);
  }

  async deliveryCounts(): Promise<Record<DeliveryStatus, number>> {
    const counts: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, failed: 0 };
    const { rows } = await this.pool.query<{ status: DeliveryStatus; n: string }>(
      'SELECT status, COUNT(*) AS n FROM alert_deliveries GROUP BY status',
    );
    for (const r of rows) counts[r.status] = Number(r.n);
    return counts;
  }

  async pruneDeliveries(before: number): Promise<number> {
    const res = await this.pool.query(
      `DELETE FROM alert_deliveries WHERE status IN ('delivered', 'failed') AND updated_at < $1`,
      [before],
    );
    return res.rowCount ?? 0;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async acquireLeadership(name: string): Promise<Leadership> {
    if (this.closed) throw new Error('store is closed');
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
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return this.bus.subscribe(channel, onMessage);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Reports already accepted are written before the pool goes away.
    await Promise.all(this.lanes.map((l) => l.running));
    await Promise.all([...this.leaderships].map((l) => l.release()));
    await this.bus.close();
    await this.pool.end();
  }
}

export type { StoreLogger };
