// The alert outbox on PostgreSQL, safe with several receivers at once: the de-duplication state
// is decided on locked rows and deliveries are claimed with SKIP LOCKED and a lease (rules in
// ../alert-plan.ts).
import type pg from 'pg';
import { alertBody, alertSubject, isAlertable, planAlerts, planReleases, type AlertDecision, type AlertSubjectState } from '../alert-plan.js';
import { deliveryCountsFromRows, deliveryFromRow, subjectFromRow, type DeliveryRow, type SubjectRow } from '../rows.js';
import { clampLimit, deliveryStatusAfter } from '../types.js';
import type * as api from '../types.js';
import { transaction } from './connection.js';

/**
 * Writes the decisions about subjects whose rows this transaction holds locked: their new
 * de-duplication state and, for each alert sent, one delivery per URL (in decision order).
 */
async function writeDecisions(c: pg.PoolClient, decisions: AlertDecision[], urls: string[], now: number): Promise<void> {
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

export async function queueAlerts(
  pool: pg.Pool,
  transitions: api.Transition[],
  opts: api.AlertQueueOptions,
): Promise<{ queued: number; held: number }> {
  if (opts.urls.length === 0) return { queued: 0, held: 0 };
  const alertable = transitions.filter(isAlertable);
  if (alertable.length === 0) return { queued: 0, held: 0 };
  const subjects = new Map<string, api.Transition>();
  for (const t of alertable) subjects.set(alertSubject(t), t);
  const keys = [...subjects.keys()].sort();
  return transaction(pool, async (c) => {
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
    const stored = (subject: string) => state.get(subject) ?? null;
    const { decisions, queued, held } = planAlerts(alertable, stored, opts.now, opts.dedupMs);
    await writeDecisions(c, decisions, opts.urls, opts.now);
    return { queued, held };
  });
}

export async function releaseHeldAlerts(pool: pg.Pool, opts: api.AlertQueueOptions): Promise<number> {
  if (opts.urls.length === 0) return 0;
  return transaction(pool, async (c) => {
    // A subject another receiver is queueing or releasing right now is skipped: its window
    // is looked at again on the next pass.
    const { rows } = await c.query<SubjectRow>({
      name: 'devstatus_alert_release',
      text: `SELECT * FROM alert_subjects WHERE held_count > 0 AND last_sent_at <= $1
             ORDER BY subject FOR UPDATE SKIP LOCKED`,
      values: [opts.now - opts.dedupMs],
    });
    const decisions = planReleases(rows.map(subjectFromRow), opts.now, opts.dedupMs);
    await writeDecisions(c, decisions, opts.urls, opts.now);
    return decisions.length;
  });
}

export async function claimDueDeliveries(
  pool: pg.Pool,
  now: number,
  leaseUntil: number,
  limit: number,
): Promise<api.AlertDelivery[]> {
  // SKIP LOCKED: two dispatchers claiming at once get disjoint deliveries; a row another one
  // has just leased is re-checked once unlocked and is no longer due.
  const { rows } = await pool.query<DeliveryRow>({
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

export async function recordDeliveryResult(pool: pg.Pool, id: number, r: api.DeliveryResult): Promise<void> {
  const status = deliveryStatusAfter(r);
  await pool.query(
    `UPDATE alert_deliveries SET status = $2::text, attempts = attempts + 1, updated_at = $3::bigint,
       last_error = $4::text, last_http_status = $5::integer, next_attempt_at = $6::bigint,
       delivered_at = CASE WHEN $7::boolean THEN $3::bigint ELSE NULL END
     WHERE id = $1`,
    [id, status, r.now, r.ok ? null : r.error, r.httpStatus, status === 'pending' ? r.retryAt : null, r.ok],
  );
}

export async function listDeliveries(pool: pg.Pool, query: api.DeliveryQuery): Promise<api.AlertDelivery[]> {
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
  const { rows } = await pool.query<DeliveryRow>(
    `SELECT * FROM alert_deliveries ${whereSql} ORDER BY id DESC LIMIT $1`,
    params,
  );
  return rows.map(deliveryFromRow);
}

export async function deliveryCounts(pool: pg.Pool): Promise<Record<api.DeliveryStatus, number>> {
  const { rows } = await pool.query<{ status: api.DeliveryStatus; n: string }>(
    'SELECT status, COUNT(*) AS n FROM alert_deliveries GROUP BY status',
  );
  return deliveryCountsFromRows(rows);
}

export async function pruneDeliveries(pool: pg.Pool, before: number): Promise<number> {
  const res = await pool.query(
    `DELETE FROM alert_deliveries WHERE status IN ('delivered', 'failed') AND updated_at < $1`,
    [before],
  );
  return res.rowCount ?? 0;
}
