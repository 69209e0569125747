// Alerting (issue 12) on PostgreSQL: configuration, the engine step in one transaction (with a
// version check, so a receiver that lost the leadership mid-step cannot overwrite the new
// leader's state), and the notifications outbox claimed with FOR UPDATE SKIP LOCKED + a lease.
import type pg from 'pg';
import { parseState, serializeState, type AlertEngineState, type Rule, type Silence } from '../../alerts/engine/index.js';
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
import { transaction } from './connection.js';

export class PgAlerting implements AlertingStore {
  constructor(private readonly pool: pg.Pool) {}

  async listChannels(): Promise<StoredChannel[]> {
    const { rows } = await this.pool.query<ChannelRow>('SELECT * FROM alert_channels ORDER BY id');
    return rows.map(channelFromRow);
  }

  async getChannel(id: string): Promise<StoredChannel | null> {
    const { rows } = await this.pool.query<ChannelRow>('SELECT * FROM alert_channels WHERE id = $1', [id]);
    return rows[0] ? channelFromRow(rows[0]) : null;
  }

  async putChannel(c: StoredChannel): Promise<void> {
    await this.pool.query(
      `INSERT INTO alert_channels (id, kind, name, config, enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, config = excluded.config,
         enabled = excluded.enabled, updated_at = excluded.updated_at`,
      [c.id, c.kind, c.name, JSON.stringify(c.config), c.enabled ? 1 : 0, c.created_at, c.updated_at],
    );
  }

  async deleteChannel(id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM alert_channels WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async listRules(): Promise<Rule[]> {
    const { rows } = await this.pool.query<{ rule: string }>('SELECT rule FROM alert_rules ORDER BY position, id');
    return rows.map((r) => JSON.parse(r.rule) as Rule);
  }

  async putRule(rule: Rule, position: number, now: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO alert_rules (id, position, rule, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT (id) DO UPDATE SET position = excluded.position, rule = excluded.rule, updated_at = excluded.updated_at`,
      [rule.id, position, JSON.stringify(rule), now],
    );
  }

  async deleteRule(id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM alert_rules WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async listSilences(): Promise<Silence[]> {
    const { rows } = await this.pool.query<{ silence: string }>('SELECT silence FROM alert_silences ORDER BY created_at, id');
    return rows.map((r) => JSON.parse(r.silence) as Silence);
  }

  async putSilence(s: Silence, now: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO alert_silences (id, silence, created_at, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET silence = excluded.silence, updated_at = excluded.updated_at`,
      [s.id, JSON.stringify(s), s.created_at, now],
    );
  }

  async deleteSilence(id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM alert_silences WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async historyEventsAfter(afterId: number, limit: number): Promise<HistoryEventRow[]> {
    const { rows } = await this.pool.query(`${HISTORY_EVENTS_SQL} WHERE h.id > $1 ORDER BY h.id LIMIT $2`, [afterId, limit]);
    return rows.map(historyEventFromRow);
  }

  async historyByIds(ids: number[]): Promise<HistoryEventRow[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query(`${HISTORY_EVENTS_SQL} WHERE h.id = ANY($1::bigint[]) ORDER BY h.id`, [ids]);
    return rows.map(historyEventFromRow);
  }

  async lastHistoryId(): Promise<number> {
    const { rows } = await this.pool.query<{ id: string | null }>('SELECT MAX(id) AS id FROM history');
    return Number(rows[0]?.id ?? 0);
  }

  async loadEngine(): Promise<{ version: number; cursor: number; state: AlertEngineState } | null> {
    const { rows } = await this.pool.query<{ version: string; cursor: string; state: string }>(
      "SELECT version, cursor, state FROM alert_engine WHERE name = 'main'",
    );
    const r = rows[0];
    return r ? { version: Number(r.version), cursor: Number(r.cursor), state: parseState(r.state) } : null;
  }

  saveEngineStep(step: EngineStep): Promise<number> {
    return transaction(this.pool, async (c) => {
      const version = step.expectedVersion + 1;
      const state = serializeState(step.state);
      const r =
        step.expectedVersion === 0
          ? await c.query(
              "INSERT INTO alert_engine (name, version, cursor, state, updated_at) VALUES ('main', 1, $1, $2, $3) ON CONFLICT (name) DO NOTHING",
              [step.cursor, state, step.now],
            )
          : await c.query(
              "UPDATE alert_engine SET version = $1, cursor = $2, state = $3, updated_at = $4 WHERE name = 'main' AND version = $5",
              [version, step.cursor, state, step.now, step.expectedVersion],
            );
      if ((r.rowCount ?? 0) === 0) throw new EngineVersionConflict();
      if (step.notifications.length) {
        const ns = step.notifications.map((n) => notificationInsert(n, step.now));
        await c.query(
          `INSERT INTO alert_notifications (id, channel, rule_id, kind, severity, group_key, body, transitions, status, attempts, next_at, created_at, updated_at)
           SELECT u.id, u.channel, u.rule_id, u.kind, u.severity, u.group_key, u.body, u.transitions, 'pending', 0, $9, $9, $9
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[])
             AS u(id, channel, rule_id, kind, severity, group_key, body, transitions)`,
          [
            ns.map((n) => n.id),
            ns.map((n) => n.channel),
            ns.map((n) => n.rule_id),
            ns.map((n) => n.kind),
            ns.map((n) => n.severity),
            ns.map((n) => n.group_key),
            ns.map((n) => n.body),
            ns.map((n) => n.transitions),
            step.now,
          ],
        );
      }
      if (step.suppressed.length) {
        const ss = step.suppressed.map(suppressedInsert);
        await c.query(
          `INSERT INTO alert_suppressed (history_id, subject, reason, channel, silence_id, covered_by, at)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])`,
          [
            ss.map((s) => s.history_id),
            ss.map((s) => s.subject),
            ss.map((s) => s.reason),
            ss.map((s) => s.channel),
            ss.map((s) => s.silence_id),
            ss.map((s) => s.covered_by),
            ss.map((s) => s.at),
          ],
        );
      }
      if (step.acks.length) {
        await c.query(
          `UPDATE alert_acks a SET applied_at = $3, result = u.result FROM unnest($1::bigint[], $2::text[]) AS u(id, result) WHERE a.id = u.id`,
          [step.acks.map((a) => a.id), step.acks.map((a) => a.result), step.now],
        );
      }
      return version;
    });
  }

  async requestAck(r: Omit<AckRequest, 'id'>): Promise<number> {
    const { rows } = await this.pool.query<{ id: string }>(
      'INSERT INTO alert_acks (subject, action, by_user, note, at) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [r.subject, r.action, r.by, r.note, r.at],
    );
    return Number(rows[0]!.id);
  }

  async pendingAcks(): Promise<AckRequest[]> {
    const { rows } = await this.pool.query<{ id: string; subject: string; action: string; by_user: string; note: string | null; at: string }>(
      'SELECT id, subject, action, by_user, note, at FROM alert_acks WHERE applied_at IS NULL ORDER BY id',
    );
    return rows.map((r) => ({
      id: Number(r.id),
      subject: r.subject,
      action: r.action as AckRequest['action'],
      by: r.by_user,
      note: r.note,
      at: Number(r.at),
    }));
  }

  async claimDueNotifications(now: number, leaseUntil: number, limit: number): Promise<StoredNotification[]> {
    const { rows } = await this.pool.query<NotificationRow>(
      `UPDATE alert_notifications SET lease_until = $2 WHERE id IN (
         SELECT id FROM alert_notifications
         WHERE status = 'pending' AND next_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
         ORDER BY next_at, created_at LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING ${NOTIFICATION_COLUMNS}`,
      [now, leaseUntil, limit],
    );
    return rows.map(notificationFromRow).sort((a, b) => (a.next_at ?? 0) - (b.next_at ?? 0) || a.created_at - b.created_at);
  }

  async recordNotificationResult(id: string, attempts: number, o: DeliveryOutcome): Promise<void> {
    await this.pool.query(
      `UPDATE alert_notifications SET status = $1, attempts = $2, next_at = $3, lease_until = NULL, last_error = $4,
         updated_at = $5, delivered_at = CASE WHEN $1 = 'delivered' THEN $5 ELSE delivered_at END WHERE id = $6`,
      [o.status, attempts, o.next_at, o.error, o.now, id],
    );
  }

  async listNotifications(q: NotificationQuery = {}): Promise<StoredNotification[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (q.status) add('status = ?', q.status);
    if (q.channel) add('channel = ?', q.channel);
    if (q.before !== undefined && q.beforeId !== undefined) {
      // Rows of one engine step share created_at: the id settles where the page ended.
      args.push(q.before, q.beforeId);
      where.push(`(created_at < $${args.length - 1} OR (created_at = $${args.length - 1} AND id < $${args.length}))`);
    } else if (q.before !== undefined) add('created_at < ?', q.before);
    args.push(clampLimit(q.limit));
    const { rows } = await this.pool.query<NotificationRow>(
      `SELECT ${NOTIFICATION_COLUMNS} FROM alert_notifications ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map(notificationFromRow);
  }

  async listSuppressed(q: SuppressedQuery = {}): Promise<StoredSuppressed[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (q.reason) add('reason = ?', q.reason);
    if (q.silence_id) add('silence_id = ?', q.silence_id);
    if (q.before !== undefined) add('id < ?', q.before);
    args.push(clampLimit(q.limit));
    const { rows } = await this.pool.query(
      `SELECT * FROM alert_suppressed ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map(suppressedFromRow);
  }

  async notificationCounts(): Promise<Record<NotificationStatus, number>> {
    const out: Record<NotificationStatus, number> = { pending: 0, delivered: 0, failed: 0 };
    const { rows } = await this.pool.query<{ status: string; n: string }>('SELECT status, COUNT(*) AS n FROM alert_notifications GROUP BY status');
    for (const r of rows) if (r.status in out) out[r.status as NotificationStatus] = Number(r.n);
    return out;
  }

  async pruneAlerting(before: number): Promise<number> {
    let n = 0;
    for (const sql of [
      "DELETE FROM alert_notifications WHERE status <> 'pending' AND updated_at < $1",
      'DELETE FROM alert_suppressed WHERE at < $1',
      'DELETE FROM alert_acks WHERE applied_at < $1',
    ]) {
      n += (await this.pool.query(sql, [before])).rowCount ?? 0;
    }
    return n;
  }

  async loadCursor(name: string): Promise<number | null> {
    const { rows } = await this.pool.query<{ cursor: string }>('SELECT cursor FROM alert_engine WHERE name = $1', [`cursor:${name}`]);
    return rows[0] ? Number(rows[0].cursor) : null;
  }

  async saveCursor(name: string, cursor: number, now: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO alert_engine (name, version, cursor, state, updated_at) VALUES ($1, 0, $2, '{}', $3)
       ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`,
      [`cursor:${name}`, cursor, now],
    );
  }
}
