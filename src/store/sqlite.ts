// Embedded default store: one SQLite file (WAL, synchronous=FULL so an acknowledged report
// survives a power cut). Reports that arrive together are written in one transaction
// (group commit), each inside its own savepoint, so one fsync covers many reports.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Report } from '../protocol/index.js';
import { planIngest, type PriorSubDevice } from './diff.js';
import {
  clampLimit,
  type BoxState,
  type BoxStatus,
  type FleetSummary,
  type HistoryEntry,
  type HistoryQuery,
  type IngestResult,
  type ListBoxesQuery,
  type Store,
  type SubDeviceState,
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
  // Fingerprint of the sub-devices of the box's last report: a report that repeats it (the
  // usual case) changes nothing but the box's counters, and is written with one UPDATE.
  `ALTER TABLE boxes ADD COLUMN subs_fingerprint TEXT`,
];

interface BoxRow {
  dev_sno: string;
  status: BoxStatus;
  first_seen_at: number;
  last_report_at: number;
  status_changed_at: number;
  report_count: number;
  sub_online: number;
  sub_offline: number;
  extra: string;
}

interface SubRow {
  dev_sno: string;
  ep_id: string;
  ep_ip: string;
  ep_status: SubDeviceState['ep_status'];
  ep_location: string;
  ep_type: SubDeviceState['ep_type'];
  ep_name: string;
  extra: string;
  first_seen_at: number;
  last_seen_at: number;
  status_changed_at: number;
}

/** What the diff needs plus the fields that decide whether a row must be rewritten. */
interface PriorSubRow extends PriorSubDevice {
  ep_ip: string;
  ep_location: string;
  ep_type: string;
  ep_name: string;
  extra: string;
}

/** Everything a report says about its sub-devices, hashed (order included). */
function subsFingerprint(report: Report): string {
  let text = '';
  for (const s of report.sub_devices) {
    // Free-text fields carry their length, so no choice of characters can make two reports alike.
    text += s.ep_id.length + ':' + s.ep_id + s.ep_ip.length + ':' + s.ep_ip + s.ep_status + '\0';
    text += s.ep_location.length + ':' + s.ep_location + s.ep_type + '\0' + s.ep_name.length + ':' + s.ep_name;
    text += (isEmpty(s.extra) ? '' : JSON.stringify(s.extra)) + '\n';
  }
  return createHash('sha1').update(text).digest('base64');
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

interface HistoryRow {
  id: number;
  at: number;
  dev_sno: string;
  ep_id: string | null;
  from_status: string | null;
  to_status: string;
  reason: HistoryEntry['reason'];
}

const iso = (ms: number) => new Date(ms).toISOString();

export function boxFromRow(r: BoxRow): BoxState {
  return {
    dev_sno: r.dev_sno,
    status: r.status,
    first_seen_at: iso(Number(r.first_seen_at)),
    last_report_at: iso(Number(r.last_report_at)),
    status_changed_at: iso(Number(r.status_changed_at)),
    report_count: Number(r.report_count),
    sub_devices_online: Number(r.sub_online),
    sub_devices_offline: Number(r.sub_offline),
    extra: typeof r.extra === 'string' ? JSON.parse(r.extra) : r.extra,
  };
}

export function subFromRow(r: SubRow): SubDeviceState {
  return {
    dev_sno: r.dev_sno,
    ep_id: r.ep_id,
    ep_ip: r.ep_ip,
    ep_status: r.ep_status,
    ep_location: r.ep_location,
    ep_type: r.ep_type,
    ep_name: r.ep_name,
    extra: typeof r.extra === 'string' ? JSON.parse(r.extra) : r.extra,
    first_seen_at: iso(Number(r.first_seen_at)),
    last_seen_at: iso(Number(r.last_seen_at)),
    status_changed_at: iso(Number(r.status_changed_at)),
  };
}

export function historyFromRow(r: HistoryRow): HistoryEntry {
  return {
    id: Number(r.id),
    at: iso(Number(r.at)),
    dev_sno: r.dev_sno,
    ep_id: r.ep_id,
    from_status: r.from_status,
    to_status: r.to_status,
    reason: r.reason,
  };
}

interface Pending {
  report: Report;
  receivedAt: number;
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
  private readonly stmts;
  private readonly writeBatch: (batch: Pending[]) => Array<IngestResult | Error>;

  constructor(opts: SqliteStoreOptions) {
    if (opts.file !== ':memory:') mkdirSync(dirname(opts.file), { recursive: true });
    this.db = new Database(opts.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.maxBatch = opts.maxBatch ?? 256;
    this.migrate();

    const db = this.db;
    this.stmts = {
      box: db.prepare<[string], { status: BoxStatus; last_report_at: number; subs_fingerprint: string | null }>(
        'SELECT status, last_report_at, subs_fingerprint FROM boxes WHERE dev_sno = ?',
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
    };

    const writeOne = (report: Report, now: number): IngestResult => {
      const s = this.stmts;
      const box = s.box.get(report.dev_sno) ?? null;
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
        on: plan.box.subOnline,
        off: plan.box.subOffline,
        extra: JSON.stringify(report.extra),
        changed: plan.box.statusChanged ? 1 : 0,
        fingerprint,
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
    // per report; if one does fail, the batch is rolled back whole and written again with each
    // report in its own savepoint, so the bad one rolls back alone and the others still commit.
    const fastBatch = db.transaction((batch: Pending[]) => batch.map((p) => writeOne(p.report, p.receivedAt)));
    const safeBatch = db.transaction((batch: Pending[]) =>
      batch.map((p) => {
        try {
          return ingestOne(p.report, p.receivedAt);
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

  ingest(report: Report, receivedAt: number): Promise<IngestResult> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ report, receivedAt, resolve, reject });
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
      where.push('status = @status');
      params.status = query.status;
    }
    if (query.q) {
      where.push("instr(lower(dev_sno), lower(@q)) > 0");
      params.q = query.q;
    }
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM boxes ${whereSql}`).get(params) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT * FROM boxes ${whereSql} ORDER BY dev_sno LIMIT @limit OFFSET @offset`)
      .all({ ...params, limit: clampLimit(query.limit), offset: Math.max(0, query.offset ?? 0) }) as BoxRow[];
    return { total, boxes: rows.map(boxFromRow) };
  }

  async getBox(devSno: string) {
    const box = this.db.prepare('SELECT * FROM boxes WHERE dev_sno = ?').get(devSno) as BoxRow | undefined;
    if (!box) return null;
    const subs = this.db
      .prepare('SELECT * FROM sub_devices WHERE dev_sno = ? ORDER BY ep_id')
      .all(devSno) as SubRow[];
    // Rows are only rewritten when something in them changes, so the stored last_seen_at of a
    // sub-device still in the box's reports is stale: it was seen in the latest report.
    for (const sub of subs) if (sub.ep_status !== 'removed') sub.last_seen_at = box.last_report_at;
    return { box: boxFromRow(box), sub_devices: subs.map(subFromRow) };
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

  async summary(): Promise<FleetSummary> {
    const r = this.db
      .prepare(
        `SELECT COUNT(*) AS total,
                COALESCE(SUM(status = 'online'), 0) AS online,
                COALESCE(SUM(sub_online), 0) AS sub_online,
                COALESCE(SUM(sub_offline), 0) AS sub_offline
         FROM boxes`,
      )
      .get() as { total: number; online: number; sub_online: number; sub_offline: number };
    return {
      boxes: { total: r.total, online: r.online, offline: r.total - r.online },
      sub_devices: { total: r.sub_online + r.sub_offline, online: r.sub_online, offline: r.sub_offline },
    };
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }
}
