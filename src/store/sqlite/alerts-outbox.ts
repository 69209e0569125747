// The alert outbox on SQLite: de-duplication state per subject and one delivery row per alert
// and webhook URL, written in the transaction that decides them (rules in ../alert-plan.ts).
import type Database from 'better-sqlite3';
import { alertBody, planAlerts, planReleases, type AlertDecision } from '../alert-plan.js';
import { deliveryCountsFromRows, deliveryFromRow, subjectFromRow, type DeliveryRow, type SubjectRow } from '../rows.js';
import { clampLimit, deliveryStatusAfter } from '../types.js';
import type * as api from '../types.js';
import type { WalSync } from './durability.js';

function prepareStatements(db: Database.Database) {
  return {
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
}

export class SqliteOutbox {
  private readonly stmts;

  constructor(
    private readonly db: Database.Database,
    private readonly sync: WalSync,
  ) {
    this.stmts = prepareStatements(db);
  }

  /** Writes each decision's subject state and, for an alert sent, one delivery per URL, in order. */
  private writeDecisions(decisions: AlertDecision[], urls: string[], now: number): void {
    for (const d of decisions) {
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
      if (!d.send) continue;
      const body = alertBody(d.send, this.stmts.codeDetails.get(st.dev_sno) ?? null);
      for (const url of urls) {
        this.stmts.insertDelivery.run({ alert_id: d.send.alert_id, subject: st.subject, url, body, now });
      }
    }
  }

  async queueAlerts(transitions: api.Transition[], opts: api.AlertQueueOptions): Promise<{ queued: number; held: number }> {
    if (opts.urls.length === 0) return { queued: 0, held: 0 };
    const run = this.db.transaction(() => {
      const stored = (subject: string) => {
        const row = this.stmts.subject.get(subject);
        return row ? subjectFromRow(row) : null;
      };
      const { decisions, queued, held } = planAlerts(transitions, stored, opts.now, opts.dedupMs);
      this.writeDecisions(decisions, opts.urls, opts.now);
      return { queued, held };
    });
    return this.sync.afterCommit(run(), (r) => r.queued + r.held > 0);
  }

  async releaseHeldAlerts(opts: api.AlertQueueOptions): Promise<number> {
    if (opts.urls.length === 0) return 0;
    const run = this.db.transaction(() => {
      const rows = this.db
        .prepare('SELECT * FROM alert_subjects WHERE held_count > 0 AND last_sent_at <= ?')
        .all(opts.now - opts.dedupMs) as SubjectRow[];
      const decisions = planReleases(rows.map(subjectFromRow), opts.now, opts.dedupMs);
      this.writeDecisions(decisions, opts.urls, opts.now);
      return decisions.length;
    });
    return this.sync.afterCommit(run(), (n) => n > 0);
  }

  async claimDueDeliveries(now: number, leaseUntil: number, limit: number): Promise<api.AlertDelivery[]> {
    const run = this.db.transaction(() => {
      const rows = this.db
        .prepare(`SELECT * FROM alert_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?`)
        .all(now, limit) as DeliveryRow[];
      const lease = this.db.prepare('UPDATE alert_deliveries SET next_attempt_at = ? WHERE id = ?');
      for (const r of rows) lease.run(leaseUntil, r.id);
      return rows.map(deliveryFromRow);
    });
    return this.sync.afterCommit(run(), (rows) => rows.length > 0);
  }

  async recordDeliveryResult(id: number, r: api.DeliveryResult): Promise<void> {
    const status = deliveryStatusAfter(r);
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
    if (res.changes > 0) await this.sync.durable();
  }

  async listDeliveries(query: api.DeliveryQuery): Promise<api.AlertDelivery[]> {
    await this.sync.settled();
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

  async deliveryCounts(): Promise<Record<api.DeliveryStatus, number>> {
    await this.sync.settled();
    const rows = this.db.prepare('SELECT status, COUNT(*) AS n FROM alert_deliveries GROUP BY status').all() as Array<{
      status: api.DeliveryStatus;
      n: number;
    }>;
    return deliveryCountsFromRows(rows);
  }

  async pruneDeliveries(before: number): Promise<number> {
    const { changes } = this.db
      .prepare(`DELETE FROM alert_deliveries WHERE status IN ('delivered', 'failed') AND updated_at < ?`)
      .run(before);
    if (changes > 0) await this.sync.durable();
    return changes;
  }
}
