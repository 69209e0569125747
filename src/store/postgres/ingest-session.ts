// The ingest connections of a PostgreSQL receiver: what each one is set up with when it opens.
// Plans must not depend on how fresh the table statistics are: a receiver often starts on an
// empty database, plans are cached on pooled connections, and autovacuum may be off, so a plan
// made (or estimated) for an empty table would scan the whole table for every batch once the
// fleet has filled it. Every ingest statement looks rows up by key (= ANY of the batch's keys,
// or a join probing the primary key per row), and on these connections sequential scans, hash
// and merge joins are disabled: an index lookup per key is the only plan left, whatever the
// statistics say. The lock function lives in pg_temp, so each receiver brings its own version
// of it and the schema stays the one both stores share.
import type pg from 'pg';

/**
 * What an ingest transaction reads and locks before it diffs its reports, in one round trip
 * (see ingest-write.ts lockBoxes). Each statement of a VOLATILE function takes a new snapshot,
 * so the sub-devices read after the boxes' locks see what the previous lock holders committed.
 *   p_dev_snos: the batch's distinct dev_snos; p_first: when each one's first report came;
 *   p_open: whether any of its reports may register it (open registry).
 * Rows: k = 'c' registry code (st = status), 'b' locked box (st, fresh = claimed by this call,
 * seen = last_report_at), 's' sub-device (st = ep_status, ext = extra as stored).
 */
const LOCK_BATCH_FUNCTION = `CREATE FUNCTION pg_temp.devstatus_lock_batch(p_dev_snos text[], p_first bigint[], p_open boolean[])
  RETURNS TABLE (k text, sno text, st text, fresh boolean, seen bigint,
                 ep text, ip text, loc text, typ text, nm text, ext text)
  LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  v_snos text[];
  v_first bigint[];
  v_open boolean[];
  v_codes text[];
  v_adm text[];
  v_adm_first bigint[];
  v_claimed text[];
BEGIN
  -- Registry rows share-locked in dev_sno order: a code revoked by any process either committed
  -- before this (the report is refused) or waits until this transaction has ended.
  SELECT array_agg(n.a ORDER BY n.a COLLATE "C"), array_agg(n.f ORDER BY n.a COLLATE "C"),
         array_agg(n.o ORDER BY n.a COLLATE "C"), array_agg(g.s ORDER BY n.a COLLATE "C")
    INTO v_snos, v_first, v_open, v_codes
    FROM (SELECT u.a, u.f, u.o FROM unnest(p_dev_snos, p_first, p_open) AS u(a, f, o)
          ORDER BY u.a COLLATE "C" OFFSET 0) n
    LEFT JOIN LATERAL (SELECT r.status AS s FROM registry r WHERE r.dev_sno = n.a FOR SHARE OFFSET 0) g ON true;
  RETURN QUERY SELECT 'c'::text, u.a, u.s, NULL::boolean, NULL::bigint,
                      NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text
    FROM unnest(v_snos, v_codes) AS u(a, s) WHERE u.s IS NOT NULL;
  -- Boxes every report of which the registry refuses are neither created nor locked.
  SELECT coalesce(array_agg(u.a), '{}'), coalesce(array_agg(u.f), '{}') INTO v_adm, v_adm_first
    FROM unnest(v_snos, v_first, v_open, v_codes) AS u(a, f, o, s)
    WHERE CASE WHEN u.s IS NULL THEN u.o ELSE u.s <> 'revoked' END;
  IF cardinality(v_adm) = 0 THEN
    RETURN;
  END IF;
  WITH claimed AS (
    INSERT INTO boxes (dev_sno, status, first_seen_at, last_report_at, status_changed_at, report_count)
    SELECT u.a, 'online', u.f, u.f, u.f, 0 FROM unnest(v_adm, v_adm_first) AS u(a, f)
    ORDER BY u.a COLLATE "C"
    ON CONFLICT (dev_sno) DO NOTHING RETURNING boxes.dev_sno)
  SELECT coalesce(array_agg(claimed.dev_sno), '{}') INTO v_claimed FROM claimed;
  -- In dev_sno order, as every ingest transaction of every process locks them: no deadlocks.
  RETURN QUERY SELECT 'b'::text, b.dev_sno::text, b.status, b.dev_sno = ANY(v_claimed), b.last_report_at,
                      NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text
    FROM boxes b WHERE b.dev_sno = ANY(v_adm) ORDER BY b.dev_sno FOR UPDATE;
  RETURN QUERY SELECT 's'::text, d.dev_sno::text, d.ep_status, NULL::boolean, NULL::bigint,
                      d.ep_id::text, d.ep_ip, d.ep_location, d.ep_type, d.ep_name, d.extra::text
    FROM sub_devices d WHERE d.dev_sno = ANY(v_adm);
END
$fn$`;

/**
 * Writes the planned reports of distinct boxes (one wave, see ingest-write.ts), each part a set:
 * the boxes' rows, new sub-device rows, changed ones, removed ones, history in the reports'
 * order, and auto-registrations. A function so its plan is cached on the connection while the
 * arrays travel as literals in the same simple query as the COMMIT (array-literals.ts). Rows:
 * the boxes written, with their rows' new xmin (what a repeat of the report is checked against).
 */
const WRITE_BATCH_FUNCTION = `CREATE FUNCTION pg_temp.devstatus_write_batch(
    text[], bigint[], boolean[], boolean[], int[], int[], text[],
    text[], bigint[], text[], text[], text[], text[], text[], text[], text[],
    text[], bigint[], text[], text[], text[], text[], text[], text[], text[], boolean[],
    text[], bigint[], text[], bigint[],
    bigint[], text[], text[], text[], text[], text[], text[],
    text[], bigint[])
  RETURNS TABLE (sno text, x text) LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  RETURN QUERY WITH
    box AS (
      UPDATE boxes b SET status = 'online', last_report_at = u.now, report_count = b.report_count + 1,
        status_changed_at = CASE WHEN u.changed THEN u.now ELSE b.status_changed_at END,
        first_seen_at = CASE WHEN u.is_new THEN u.now ELSE b.first_seen_at END,
        sub_online = u.sub_online, sub_offline = u.sub_offline, extra = u.extra::json
      FROM unnest($1, $2, $3, $4, $5, $6, $7) AS u(dev_sno, now, changed, is_new, sub_online, sub_offline, extra)
      WHERE b.dev_sno = u.dev_sno
      RETURNING b.dev_sno, b.xmin),
    added AS (
      INSERT INTO sub_devices (dev_sno, ep_id, ep_ip, ep_status, ep_location, ep_type, ep_name, extra,
                               first_seen_at, last_seen_at, status_changed_at)
      SELECT s.dev_sno, s.ep_id, s.ep_ip, s.ep_status, s.ep_location, s.ep_type, s.ep_name, s.extra::json,
             s.now, s.now, s.now
      FROM unnest($8, $9, $10, $11, $12, $13, $14, $15, $16)
        AS s(dev_sno, now, ep_id, ep_ip, ep_status, ep_location, ep_type, ep_name, extra)),
    kept AS (
      UPDATE sub_devices d SET ep_ip = s.ep_ip, ep_status = s.ep_status, ep_location = s.ep_location,
        ep_type = s.ep_type, ep_name = s.ep_name, extra = s.extra::json, last_seen_at = s.now,
        status_changed_at = CASE WHEN s.changed THEN s.now ELSE d.status_changed_at END
      FROM unnest($17, $18, $19, $20, $21, $22, $23, $24, $25, $26)
        AS s(dev_sno, now, ep_id, ep_ip, ep_status, ep_location, ep_type, ep_name, extra, changed)
      WHERE d.dev_sno = s.dev_sno AND d.ep_id = s.ep_id),
    removed AS (
      -- A sub-device missing now was last seen in the box's previous report.
      UPDATE sub_devices d SET ep_status = 'removed', status_changed_at = r.now, last_seen_at = r.seen
      FROM unnest($27, $28, $29, $30) AS r(dev_sno, now, ep_id, seen)
      WHERE d.dev_sno = r.dev_sno AND d.ep_id = r.ep_id),
    hist AS (
      INSERT INTO history (at, dev_sno, ep_id, from_status, to_status, reason, detail)
      SELECT h.at, h.dev_sno, h.ep_id, h.from_status, h.to_status, h.reason, h.detail
      FROM unnest($31, $32, $33, $34, $35, $36, $37) WITH ORDINALITY
        AS h(at, dev_sno, ep_id, from_status, to_status, reason, detail, ord)
      ORDER BY h.ord),
    reg AS (
      INSERT INTO registry (dev_sno, status, source, created_at, updated_at)
      SELECT r.dev_sno, 'active', 'auto', r.now, r.now FROM unnest($38, $39) AS r(dev_sno, now)
      ON CONFLICT (dev_sno) DO NOTHING)
  SELECT box.dev_sno::text, box.xmin::text FROM box;
END
$fn$`;

/**
 * Reports the receiver knows the box's rows for (known-batch.ts): byte-for-byte repeats of the
 * report it last wrote, and reports that change statuses only. Each box's row takes the report's
 * time, count and (for a status change) sub-device counts, provided the row is still the version
 * this receiver wrote (its xmin, the transaction that wrote it), the box online and its code not
 * revoked. Any other write of the box since (another receiver's report, the box marked offline,
 * its code's status changed: see registry.ts) made a new version, and such a box is left to the
 * full path; so are its sub-device and history rows here. The code is checked as well, so a
 * revocation is honoured even by a writer that does not touch the box's row. The box rows are
 * updated in the order given (dev_sno order). Rows: the boxes updated, with their new xmin.
 *   boxes: p_snos, p_xmins, p_now, p_n (reports of the box: repeats are counted together),
 *          p_on / p_off (the box's sub-device counts, -1: unchanged);
 *   changed sub-devices, in the reports' order: s_sno, s_ep, s_status (the new one), s_now,
 *          s_detail (why it went offline, as the box said). Each is one transition as well: a
 *          known box is online and the sub-device was there before, so the transition is the
 *          other status to this one, for reason 'report' (known-batch.ts takes no other), and its
 *          history row is made from the same arrays (half the bytes a storm sends).
 */
const KNOWN_BATCH_FUNCTION = `CREATE FUNCTION pg_temp.devstatus_known_batch(
    p_snos text[], p_xmins xid[], p_now bigint[], p_n int[], p_on int[], p_off int[],
    s_sno text[], s_ep text[], s_status text[], s_now bigint[], s_detail text[])
  RETURNS TABLE (sno text, x text) LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  RETURN QUERY WITH up AS (
    UPDATE boxes b SET last_report_at = u.now, report_count = b.report_count + u.n,
      sub_online = CASE WHEN u.on_ < 0 THEN b.sub_online ELSE u.on_ END,
      sub_offline = CASE WHEN u.off < 0 THEN b.sub_offline ELSE u.off END
    FROM unnest(p_snos, p_xmins, p_now, p_n, p_on, p_off) AS u(sno, x, now, n, on_, off)
    WHERE b.dev_sno = u.sno AND b.xmin = u.x AND b.status = 'online'
      AND EXISTS (SELECT 1 FROM registry r WHERE r.dev_sno = u.sno AND r.status <> 'revoked')
    RETURNING b.dev_sno, b.xmin),
  subs AS (
    UPDATE sub_devices d SET ep_status = s.status, last_seen_at = s.now, status_changed_at = s.now
    FROM unnest(s_sno, s_ep, s_status, s_now) AS s(sno, ep, status, now)
    WHERE d.dev_sno = s.sno AND d.ep_id = s.ep AND s.sno IN (SELECT up.dev_sno FROM up)),
  hist AS (
    INSERT INTO history (at, dev_sno, ep_id, from_status, to_status, reason, detail)
    SELECT h.now, h.sno, h.ep, CASE h.status WHEN 'online' THEN 'offline' ELSE 'online' END, h.status,
           'report', h.detail
    FROM unnest(s_sno, s_ep, s_status, s_now, s_detail) WITH ORDINALITY AS h(sno, ep, status, now, detail, ord)
    WHERE h.sno IN (SELECT up.dev_sno FROM up)
    ORDER BY h.ord)
  SELECT up.dev_sno::text, up.xmin::text FROM up;
END
$fn$`;

/** Run once on each new ingest connection, in one round trip. */
const SESSION_SETUP = [
  'SET standard_conforming_strings = on',
  'SET enable_seqscan = off',
  'SET enable_hashjoin = off',
  'SET enable_mergejoin = off',
  LOCK_BATCH_FUNCTION,
  WRITE_BATCH_FUNCTION,
  KNOWN_BATCH_FUNCTION,
].join(';\n');

const ready = new WeakSet<pg.ClientBase>();

/** Sets the connection up for ingest the first time it is used for it. */
export async function prepareIngestConnection(c: pg.ClientBase): Promise<void> {
  if (ready.has(c)) return;
  await c.query(SESSION_SETUP);
  ready.add(c);
}
