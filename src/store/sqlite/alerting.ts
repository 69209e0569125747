// Alerting (issue 12) on SQLite: configuration, the engine step in one transaction, and the
// notifications outbox. One process per file, so claims need no lock beyond the lease column.
import type Database from 'better-sqlite3';
import { parseState, serializeState, type Rule, type Silence } from '../../alerts/engine/index.js';
import {
  channelFromRow,
  EngineVersionConflict,
  HISTORY_EVENTS_SQL,
  historyEventFromRow,
  NOTIFICATION_COLUMNS,
  notificationFromRow,
  notificationInsert,
  suppressedFromRow,
  suppressedInsert,
  type AckRequest,
  type AlertingStore,
  type ChannelRow,
  type DeliveryOutcome,
  type EngineStep,
  type HistoryEventRow,
  type NotificationQuery,
  type NotificationRow,
  type NotificationStatus,
  type StoredChannel,
  type StoredNotification,
  type StoredSuppressed,
  type SuppressedQuery,
} from '../alerting-rows.js';
import { clampLimit } from '../types.js';
import type { WalSync } from './durability.js';

export class SqliteAlerting implements AlertingStore {
  constructor(
    private readonly db: Database.Database,
    private readonly sync: WalSync,
  ) {}

  /** Runs `work` in a transaction; answers once it is on disk, when `wrote` says it wrote anything. */
  private async write<T>(work: () => T, wrote: (result: T) => boolean = () => true): Promise<T> {
    return this.sync.afterCommit(this.db.transaction(work)(), wrote);
  }

  private async read<T>(work: () => T): Promise<T> {
    await this.sync.settled();
    return work();
  }

  listChannels(): Promise<StoredChannel[]> {
    return this.read(() => (this.db.prepare('SELECT * FROM alert_channels ORDER BY id').all() as ChannelRow[]).map(channelFromRow));
  }

  getChannel(id: string): Promise<StoredChannel | null> {
    return this.read(() => {
      const r = this.db.prepare('SELECT * FROM alert_channels WHERE id = ?').get(id) as ChannelRow | undefined;
      return r ? channelFromRow(r) : null;
    });
  }

  putChannel(c: StoredChannel): Promise<void> {
    return this.write(() => {
      this.db
        .prepare(
          `INSERT INTO alert_channels (id, kind, name, config, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, config = excluded.config,
             enabled = excluded.enabled, updated_at = excluded.updated_at`,
        )
        .run(c.id, c.kind, c.name, JSON.stringify(c.config), c.enabled ? 1 : 0, c.created_at, c.updated_at);
    });
  }

  deleteChannel(id: string): Promise<boolean> {
    return this.write(() => this.db.prepare('DELETE FROM alert_channels WHERE id = ?').run(id).changes > 0);
  }

  listRules(): Promise<Rule[]> {
    return this.read(() =>
      (this.db.prepare('SELECT rule FROM alert_rules ORDER BY position, id').all() as { rule: string }[]).map((r) => JSON.parse(r.rule) as Rule),
    );
  }

  putRule(rule: Rule, position: number, now: number): Promise<void> {
    return this.write(() => {
      this.db
        .prepare(
          `INSERT INTO alert_rules (id, position, rule, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET position = excluded.position, rule = excluded.rule, updated_at = excluded.updated_at`,
        )
        .run(rule.id, position, JSON.stringify(rule), now, now);
    });
  }

  deleteRule(id: string): Promise<boolean> {
    return this.write(() => this.db.prepare('DELETE FROM alert_rules WHERE id = ?').run(id).changes > 0);
  }

  listSilences(): Promise<Silence[]> {
    return this.read(() =>
      (this.db.prepare('SELECT silence FROM alert_silences ORDER BY created_at, id').all() as { silence: string }[]).map(
        (r) => JSON.parse(r.silence) as Silence,
      ),
    );
  }

  putSilence(s: Silence, now: number): Promise<void> {
    return this.write(() => {
      this.db
        .prepare(
          `INSERT INTO alert_silences (id, silence, created_at, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET silence = excluded.silence, updated_at = excluded.updated_at`,
        )
        .run(s.id, JSON.stringify(s), s.created_at, now);
    });
  }

  deleteSilence(id: string): Promise<boolean> {
    return this.write(() => this.db.prepare('DELETE FROM alert_silences WHERE id = ?').run(id).changes > 0);
  }

  historyEventsAfter(afterId: number, limit: number): Promise<HistoryEventRow[]> {
    return this.read(() =>
      (this.db.prepare(`${HISTORY_EVENTS_SQL} WHERE h.id > ? ORDER BY h.id LIMIT ?`).all(afterId, limit) as Record<string, unknown>[]).map(
        historyEventFromRow,
      ),
    );
  }

  historyByIds(ids: number[]): Promise<HistoryEventRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.read(() => {
      const out: HistoryEventRow[] = [];
      const stmt = this.db.prepare(`${HISTORY_EVENTS_SQL} WHERE h.id IN (SELECT value FROM json_each(?)) ORDER BY h.id`);
      for (let i = 0; i < ids.length; i += 5000) {
        out.push(...(stmt.all(JSON.stringify(ids.slice(i, i + 5000))) as Record<string, unknown>[]).map(historyEventFromRow));
      }
      return out;
    });
  }

  lastHistoryId(): Promise<number> {
    return this.read(() => (this.db.prepare('SELECT MAX(id) AS id FROM history').get() as { id: number | null }).id ?? 0);
  }

  loadEngine(): Promise<{ version: number; cursor: number; state: ReturnType<typeof parseState> } | null> {
    return this.read(() => {
      const r = this.db.prepare("SELECT version, cursor, state FROM alert_engine WHERE name = 'main'").get() as
        | { version: number; cursor: number; state: string }
        | undefined;
      return r ? { version: r.version, cursor: r.cursor, state: parseState(r.state) } : null;
    });
  }

  saveEngineStep(step: EngineStep): Promise<number> {
    return this.write(() => {
      const version = step.expectedVersion + 1;
      const state = serializeState(step.state);
      if (step.expectedVersion === 0) {
        const r = this.db
          .prepare("INSERT INTO alert_engine (name, version, cursor, state, updated_at) VALUES ('main', 1, ?, ?, ?) ON CONFLICT (name) DO NOTHING")
          .run(step.cursor, state, step.now);
        if (r.changes === 0) throw new EngineVersionConflict();
      } else {
        const r = this.db
          .prepare("UPDATE alert_engine SET version = ?, cursor = ?, state = ?, updated_at = ? WHERE name = 'main' AND version = ?")
          .run(version, step.cursor, state, step.now, step.expectedVersion);
        if (r.changes === 0) throw new EngineVersionConflict();
      }
      const insertN = this.db.prepare(
        `INSERT INTO alert_notifications (id, channel, rule_id, kind, severity, group_key, body, transitions, status, attempts, next_at, created_at, updated_at)
         VALUES (@id, @channel, @rule_id, @kind, @severity, @group_key, @body, @transitions, 'pending', 0, @now, @now, @now)`,
      );
      for (const n of step.notifications) insertN.run(notificationInsert(n, step.now));
      const insertS = this.db.prepare(
        `INSERT INTO alert_suppressed (history_id, subject, reason, channel, silence_id, covered_by, at)
         VALUES (@history_id, @subject, @reason, @channel, @silence_id, @covered_by, @at)`,
      );
      for (const s of step.suppressed) insertS.run(suppressedInsert(s));
      const applyAck = this.db.prepare('UPDATE alert_acks SET applied_at = ?, result = ? WHERE id = ?');
      for (const a of step.acks) applyAck.run(step.now, a.result, a.id);
      return version;
    });
  }

  requestAck(r: Omit<AckRequest, 'id'>): Promise<number> {
    return this.write(
      () =>
        Number(
          this.db
            .prepare('INSERT INTO alert_acks (subject, action, by_user, note, at) VALUES (?, ?, ?, ?, ?)')
            .run(r.subject, r.action, r.by, r.note, r.at).lastInsertRowid,
        ),
    );
  }

  pendingAcks(): Promise<AckRequest[]> {
    return this.read(() =>
      (
        this.db.prepare('SELECT id, subject, action, by_user, note, at FROM alert_acks WHERE applied_at IS NULL ORDER BY id').all() as {
          id: number;
          subject: string;
          action: string;
          by_user: string;
          note: string | null;
          at: number;
        }[]
      ).map((r) => ({ id: r.id, subject: r.subject, action: r.action as AckRequest['action'], by: r.by_user, note: r.note, at: r.at })),
    );
  }

  claimDueNotifications(now: number, leaseUntil: number, limit: number): Promise<StoredNotification[]> {
    return this.write(() => {
      const rows = this.db
        .prepare(
          `SELECT ${NOTIFICATION_COLUMNS} FROM alert_notifications
           WHERE status = 'pending' AND next_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
           ORDER BY next_at, created_at LIMIT ?`,
        )
        .all(now, now, limit) as NotificationRow[];
      const lease = this.db.prepare('UPDATE alert_notifications SET lease_until = ? WHERE id = ?');
      for (const r of rows) lease.run(leaseUntil, r.id);
      return rows.map(notificationFromRow);
      // Polled every tick: an empty claim wrote nothing and must not cost an fsync.
    }, (claimed) => claimed.length > 0);
  }

  recordNotificationResult(id: string, attempts: number, o: DeliveryOutcome): Promise<void> {
    return this.write(() => {
      this.db
        .prepare(
          `UPDATE alert_notifications SET status = ?, attempts = ?, next_at = ?, lease_until = NULL, last_error = ?,
             updated_at = ?, delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END WHERE id = ?`,
        )
        .run(o.status, attempts, o.next_at, o.error, o.now, o.status, o.now, id);
    });
  }

  listNotifications(q: NotificationQuery = {}): Promise<StoredNotification[]> {
    return this.read(() => {
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.status) {
        where.push('status = ?');
        args.push(q.status);
      }
      if (q.channel) {
        where.push('channel = ?');
        args.push(q.channel);
      }
      if (q.before !== undefined && q.beforeId !== undefined) {
        // Rows of one engine step share created_at: the id settles where the page ended.
        where.push('(created_at < ? OR (created_at = ? AND id < ?))');
        args.push(q.before, q.before, q.beforeId);
      } else if (q.before !== undefined) {
        where.push('created_at < ?');
        args.push(q.before);
      }
      const sql = `SELECT ${NOTIFICATION_COLUMNS} FROM alert_notifications ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id DESC LIMIT ?`;
      return (this.db.prepare(sql).all(...args, clampLimit(q.limit)) as NotificationRow[]).map(notificationFromRow);
    });
  }

  listSuppressed(q: SuppressedQuery = {}): Promise<StoredSuppressed[]> {
    return this.read(() => {
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.reason) {
        where.push('reason = ?');
        args.push(q.reason);
      }
      if (q.silence_id) {
        where.push('silence_id = ?');
        args.push(q.silence_id);
      }
      if (q.before !== undefined) {
        where.push('id < ?');
        args.push(q.before);
      }
      const sql = `SELECT * FROM alert_suppressed ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
      return (this.db.prepare(sql).all(...args, clampLimit(q.limit)) as Record<string, unknown>[]).map(suppressedFromRow);
    });
  }

  notificationCounts(): Promise<Record<NotificationStatus, number>> {
    return this.read(() => {
      const out: Record<NotificationStatus, number> = { pending: 0, delivered: 0, failed: 0 };
      for (const r of this.db.prepare('SELECT status, COUNT(*) AS n FROM alert_notifications GROUP BY status').all() as { status: string; n: number }[]) {
        if (r.status in out) out[r.status as NotificationStatus] = r.n;
      }
      return out;
    });
  }

  pruneAlerting(before: number): Promise<number> {
    return this.write(
      () =>
        this.db.prepare("DELETE FROM alert_notifications WHERE status <> 'pending' AND updated_at < ?").run(before).changes +
        this.db.prepare('DELETE FROM alert_suppressed WHERE at < ?').run(before).changes +
        this.db.prepare('DELETE FROM alert_acks WHERE applied_at < ?').run(before).changes,
      (n) => n > 0,
    );
  }

  loadCursor(name: string): Promise<number | null> {
    return this.read(() => {
      const r = this.db.prepare('SELECT cursor FROM alert_engine WHERE name = ?').get(`cursor:${name}`) as { cursor: number } | undefined;
      return r ? r.cursor : null;
    });
  }

  saveCursor(name: string, cursor: number, now: number): Promise<void> {
    return this.write(() => {
      this.db
        .prepare(
          `INSERT INTO alert_engine (name, version, cursor, state, updated_at) VALUES (?, 0, ?, '{}', ?)
           ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`,
        )
        .run(`cursor:${name}`, cursor, now);
    });
  }
}
