// The device registry on PostgreSQL: codes and who may report (rules in ../registry.ts).
import type pg from 'pg';
import { PLATFORM_DEFAULTS } from '../../defaults.js';
import { codeListEntryFromRow, codeListSql, registryFromRow, type CodeListRow, type RegistryRow } from '../rows.js';
import type { CodeListEntry, CodeStatus, ListCodesQuery, NewCode, RegistryEntry } from '../types.js';

async function codeRow(pool: pg.Pool, devSno: string): Promise<RegistryRow | undefined> {
  const { rows } = await pool.query<RegistryRow>(
    'SELECT r.*, b.last_report_at FROM registry r LEFT JOIN boxes b ON b.dev_sno = r.dev_sno WHERE r.dev_sno = $1',
    [devSno],
  );
  return rows[0];
}

export async function addCode(pool: pg.Pool, code: NewCode, now: number): Promise<RegistryEntry | null> {
  const res = await pool.query(
    `INSERT INTO registry (dev_sno, status, source, name, location, created_at, updated_at)
     VALUES ($1, 'active', $2, $3, $4, $5::bigint, $5::bigint) ON CONFLICT (dev_sno) DO NOTHING`,
    [code.dev_sno, code.source, code.name ?? null, code.location ?? null, now],
  );
  if (res.rowCount === 0) return null;
  return getCode(pool, code.dev_sno);
}

export async function getCode(pool: pg.Pool, devSno: string): Promise<RegistryEntry | null> {
  const row = await codeRow(pool, devSno);
  return row ? registryFromRow(row) : null;
}

export async function listCodes(pool: pg.Pool, query: ListCodesQuery): Promise<CodeListEntry[]> {
  const { columns, joins } = codeListSql('$1::integer');
  const where = query.status ? 'WHERE r.status = $2' : '';
  const fleet = query.fleet_period_s ?? PLATFORM_DEFAULTS.reportPeriodS;
  const { rows } = await pool.query<CodeListRow>(
    `SELECT ${columns} FROM registry r ${joins} ${where} ORDER BY r.dev_sno`,
    query.status ? [fleet, query.status] : [fleet],
  );
  return rows.map(codeListEntryFromRow);
}

export async function setCodeStatus(
  pool: pg.Pool,
  devSno: string,
  status: CodeStatus,
  now: number,
): Promise<RegistryEntry | null> {
  // Waits for ingest transactions holding the row share-locked: once this returns, every
  // receiver refuses the revoked code. The box's row gets a new version too (same values): a
  // receiver's repeat of the box's last report applies only to the version it wrote
  // (known-rows.ts), and one holding the row is waited for, so repeats see the change as well.
  const res = await pool.query(
    `WITH code AS (
       UPDATE registry SET status = $2::text, updated_at = $3::bigint,
         revoked_at = CASE WHEN $2::text = 'revoked' THEN COALESCE(revoked_at, $3::bigint) ELSE NULL END
       WHERE dev_sno = $1 RETURNING dev_sno),
     touched AS (UPDATE boxes b SET status = b.status FROM code WHERE b.dev_sno = code.dev_sno)
     SELECT dev_sno FROM code`,
    [devSno, status, now],
  );
  return res.rowCount === 0 ? null : getCode(pool, devSno);
}

export async function updateCode(
  pool: pg.Pool,
  devSno: string,
  fields: { name?: string | null; location?: string | null },
  now: number,
): Promise<RegistryEntry | null> {
  const res = await pool.query(
    `UPDATE registry SET updated_at = $2,
       name = CASE WHEN $3::boolean THEN $4::text ELSE name END,
       location = CASE WHEN $5::boolean THEN $6::text ELSE location END
     WHERE dev_sno = $1`,
    [devSno, now, fields.name !== undefined, fields.name ?? null, fields.location !== undefined, fields.location ?? null],
  );
  return res.rowCount === 0 ? null : getCode(pool, devSno);
}

