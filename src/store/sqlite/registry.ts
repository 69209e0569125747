// The device registry on SQLite: codes and who may report (rules in ../registry.ts).
import type Database from 'better-sqlite3';
import { PLATFORM_DEFAULTS } from '../../defaults.js';
import { codeListEntryFromRow, codeListSql, registryFromRow, type CodeListRow, type RegistryRow } from '../rows.js';
import type { CodeListEntry, ListCodesQuery, NewCode, RegistryEntry, CodeStatus } from '../types.js';
import type { WalSync } from './durability.js';
import type { KnownBoxes } from './known-boxes.js';

export class SqliteRegistry {
  constructor(
    private readonly db: Database.Database,
    private readonly sync: WalSync,
    private readonly known: KnownBoxes,
  ) {}

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
    await this.sync.durable();
    return registryFromRow(this.codeRow(code.dev_sno)!);
  }

  async getCode(devSno: string): Promise<RegistryEntry | null> {
    await this.sync.settled();
    const row = this.codeRow(devSno);
    return row ? registryFromRow(row) : null;
  }

  async listCodes(query: ListCodesQuery): Promise<CodeListEntry[]> {
    await this.sync.settled();
    const { columns, joins } = codeListSql('@fleet');
    const where = query.status ? 'WHERE r.status = @status' : '';
    const rows = this.db
      .prepare(`SELECT ${columns} FROM registry r ${joins} ${where} ORDER BY r.dev_sno`)
      .all({ fleet: query.fleet_period_s ?? PLATFORM_DEFAULTS.reportPeriodS, ...(query.status ? { status: query.status } : {}) }) as CodeListRow[];
    return rows.map(codeListEntryFromRow);
  }

  async setCodeStatus(devSno: string, status: CodeStatus, now: number): Promise<RegistryEntry | null> {
    // A remembered box is one with an active code: its next report must see the change.
    this.known.forget(devSno);
    const res = this.db
      .prepare(
        `UPDATE registry SET status = @status, updated_at = @now,
           revoked_at = CASE WHEN @status = 'revoked' THEN COALESCE(revoked_at, @now) ELSE NULL END
         WHERE dev_sno = @dev_sno`,
      )
      .run({ dev_sno: devSno, status, now });
    if (res.changes === 0) return null;
    await this.sync.durable();
    return this.getCode(devSno);
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
    if (res.changes === 0) return null;
    await this.sync.durable();
    return this.getCode(devSno);
  }
}
