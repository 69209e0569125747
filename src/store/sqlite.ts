// Embedded default store: one SQLite file (WAL, synchronous=FULL so an acknowledged report
// survives a power cut). Reports that arrive together are written in one transaction
// (group commit), each inside its own savepoint, so one fsync covers many reports.
import { mkdirSync } from 'node:fs';
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

interface Pending {
  report: Report;
  receivedAt: number;
  mode: RegistryMode;
  resolve: (r: IngestResult) => void;
  reject: (e: unknown) => void;
}

export interface SqliteStoreOptions {
  /** Path of the database file; ':memory:' for a throwaway store. */
  file: string;
  /** Most reports written in one transaction. */
  maxBatch?: number;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly maxBatch: number;
  private pending: Pending[] = [];
  private flushScheduled = false;
  private closed = false;
  // One process per SQLite file: leadership and messages stay in this process.
  private readonly local = new LocalCoordinator();
  private readonly stmts;
  private readonly writeBatch: (batch: Pending[]) => Array<IngestResult | Error>;

  constructor(opts: SqliteStoreOptions) {
    if (opts.file !== ':memory:') mkdirSync(dirname(opts.file), { recursive: true });
    this.db = new Database(opts.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    // Checkpoints run inside a commit, on the thread serving reports, and fsync the main file:
    // doing them ten times less often (WAL up to ~40 MB) keeps that off most reports.
    this.db.pragma('wal_autocheckpoint = 10000');
    this.maxBatch = opts.maxBatch ?? 256;
    this.migrate();

    const db = this.db;
    this.stmts = {
      // The box and its registry entry in one statement: this runs for every report.
      boxAndCode: db.prepare<
        [string],
        { code_status: CodeStatus | null; status: BoxStatus | null; last_report_at: number; subs_fingerprint: string | null }
      >(
        `SELECT r.status AS code_status, b.status, b.last_report_at, b.subs_fingerprint
         FROM (SELECT ? AS dev_sno) k
         LEFT JOIN registry r ON r.dev_sno = k.dev_sno
         LEFT JOIN boxes b ON b.dev_sno = k.dev_sno`,
      ),
      // status is left out of SET on purpose: the boxes_status index is then not touched.
      repeatBox: db.prepare(
        `UPDATE boxes SET last_report_at = @now, report_count = report_count + 1, extra = @extra WHERE dev_sno = @dev_sno`,
      ),
      subs: db.prepare<[string], PriorSubRow>(
        'SELECT ep_id, ep_status, ep_ip, ep_location, ep_type, ep_name, extra FROM sub_devices WHERE dev_sno = ?',
      ),
      insertBox: db.prepare(
        `INSERT INTO boxes (dev_sno, status, first_seen_at, last_report_at, status_changed_at, report_count, sub_online, sub_offline, extra, subs_fingerprint)
         VALUES (@dev_sno, 'online', @now, @now, @now, 1, @on, @off, @extra, @fingerprint)`,
      ),
      updateBox: db.prepare(
        `UPDATE boxes SET status = 'online', last_report_at = @now, report_count = report_count + 1,
           status_changed_at = CASE WHEN @changed THEN @now ELSE status_changed_at END,
           sub_online = @on, sub_offline = @off, extra = @extra, subs_fingerprint = @fingerprint
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

    const writeOne = (report: Report, now: number, mode: RegistryMode): IngestResult => {
      const s = this.stmts;
      const row = s.boxAndCode.get(report.dev_sno)!;
      const code = row.code_status === null ? null : { status: row.code_status };
      if (admitReport(report.dev_sno, code, mode) === 'register') {
        s.autoRegister.run(report.dev_sno, now, now);
      }
      const box = row.status === null ? null : { status: row.status, last_report_at: row.last_report_at, subs_fingerprint: row.subs_fingerprint };
      const fingerprint = subsFingerprint(report);
      if (box && box.status === 'online' && box.subs_fingerprint === fingerprint) {
        // Same sub-devices, same statuses as last time: nothing to diff, no transition.
        s.repeatBox.run({ dev_sno: report.dev_sno, now, extra: JSON.stringify(report.extra) });
        return { transitions: [] };
      }
      const prior = box ? s.subs.all(report.dev_sno) : [];
      const plan = planIngest(report, { box, subDevices: prior }, now);
      const priorById = new Map(prior.map((r) => [r.ep_id, r]));
      const boxParams = {
        dev_sno: report.dev_sno,
        now,
        fingerprint,
        on: plan.box.subOnline,
        off: plan.box.subOffline,
        extra: JSON.stringify(report.extra),
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
      return { transitions: plan.transitions };
    };
    const ingestOne = db.transaction(writeOne);

    // One transaction = one commit (one fsync) for the whole batch. Reports do not fail in
    // practice (they are validated before), so the batch is first written without a savepoint
    // per report; if one does fail (a refused code, a disk error), the batch is rolled back whole
    // and written again with each report in its own savepoint, so the bad one rolls back alone
    // and the others still commit.
    const fastBatch = db.transaction((batch: Pending[]) => batch.map((p) => writeOne(p.report, p.receivedAt, p.mode)));
    const safeBatch = db.transaction((batch: Pending[]) =>
      batch.map((p) => {
        try {
          return ingestOne(p.report, p.receivedAt, p.mode);
        } catch (e) {
          return e instanceof Error ? e : new Error(String(e));
        }
      }),
    );
    this.writeBatch = (batch) => {
      try {
        return fastBatch(batch);
      } catch {
        return safeBatch(batch);
      }
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

  ingest(report: Report, receivedAt: number, opts: IngestOptions = {}): Promise<IngestResult> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    const mode = opts.registryMode ?? 'open';
    return new Promise((resolve, reject) => {
      this.pending.push({ report, receivedAt, mode, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        // setImmediate lets every request already parsed in this tick join the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      let results: Array<IngestResult | Error>;
      try {
        results = this.writeBatch(batch);
      } catch (e) {
        for (const p of batch) p.reject(e);
        continue;
      }
      batch.forEach((p, i) => {
        const r = results[i]!;
        if (r instanceof Error) p.reject(r);
        else p.resolve(r);
      });
    }
  }

  async listBoxes(query: ListBoxesQuery = {}): Promise<{ total: number; boxes: BoxState[] }> {
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
    return run();
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
    return registryFromRow(this.codeRow(code.dev_sno)!);
  }

  async getCode(devSno: string): Promise<RegistryEntry | null> {
    const row = this.codeRow(devSno);
    return row ? registryFromRow(row) : null;
  }

  async listCodes(query: { status?: CodeStatus } = {}): Promise<RegistryEntry[]> {
    const where = query.status ? 'WHERE r.status = @status' : '';
    const rows = this.db
      .prepare(
        `SELECT r.*, b.last_report_at FROM registry r LEFT JOIN boxes b ON b.dev_sno = r.dev_sno ${where} ORDER BY r.dev_sno`,
      )
      .all(query.status ? { status: query.status } : {}) as RegistryRow[];
    return rows.map(registryFromRow);
  }

  async setCodeStatus(devSno: string, status: CodeStatus, now: number): Promise<RegistryEntry | null> {
    const res = this.db
      .prepare(
        `UPDATE registry SET status = @status, updated_at = @now,
           revoked_at = CASE WHEN @status = 'revoked' THEN COALESCE(revoked_at, @now) ELSE NULL END
         WHERE dev_sno = @dev_sno`,
      )
      .run({ dev_sno: devSno, status, now });
    return res.changes === 0 ? null : this.getCode(devSno);
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
    return res.changes === 0 ? null : this.getCode(devSno);
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
    return run();
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
    return run();
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
    return run();
  }

  async recordDeliveryResult(id: number, r: DeliveryResult): Promise<void> {
    const status: DeliveryStatus = r.ok ? 'delivered' : r.retryAt === null ? 'failed' : 'pending';
    this.db
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
  }

  async listDeliveries(query: DeliveryQuery = {}): Promise<AlertDelivery[]> {
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
    const counts: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, failed: 0 };
    const rows = this.db.prepare('SELECT status, COUNT(*) AS n FROM alert_deliveries GROUP BY status').all() as Array<{
      status: DeliveryStatus;
      n: number;
    }>;
    for (const r of rows) counts[r.status] = Number(r.n);
    return counts;
  }

  async pruneDeliveries(before: number): Promise<number> {
    return this.db
      .prepare(`DELETE FROM alert_deliveries WHERE status IN ('delivered', 'failed') AND updated_at < ?`)
      .run(before).changes;
  }

  async ping(): Promise<void> {
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
    await this.local.close();
    this.db.close();
  }
}
