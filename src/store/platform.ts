// The management platform's own records (issue 11), apart from report ingest: box logins (the
// MACs each code logged in from), report periods per box and per group, and a small series of
// box health points. One implementation for both stores over a tiny SQL runner: the statements
// are written with ?1, ?2 ... placeholders, which SQLite reads as they are and PostgreSQL as $1...
import { LOGIN_DEFAULTS } from '../protocol/index.js';
import type { BoxHealth } from '../protocol/index.js';
import type { Dialect } from './schema.js';
import type { BoxGroup, BoxLogin, BoxSettings, PeriodSource } from './api-types.js';

/** The platform's tables, appended as one migration at the end of each store's list. */
// IF NOT EXISTS: a database taken back to an older version (as tests do) can run it again.
export function platformMigration(d: Dialect): string {
  return `-- Platform side of the protocol (issue 11): box logins, report periods, box health series.
   CREATE TABLE IF NOT EXISTS box_logins (
     dev_sno ${d.key} PRIMARY KEY,
     mac ${d.text} NOT NULL,
     macs ${d.text} NOT NULL,
     login_count ${d.count} NOT NULL,
     first_login_at ${d.ms} NOT NULL,
     last_login_at ${d.ms} NOT NULL,
     period_s ${d.int} NOT NULL
   );
   CREATE TABLE IF NOT EXISTS box_groups (
     name ${d.key} PRIMARY KEY,
     report_period_s ${d.int},
     updated_at ${d.ms} NOT NULL
   );
   CREATE TABLE IF NOT EXISTS box_settings (
     dev_sno ${d.key} PRIMARY KEY,
     group_name ${d.key},
     report_period_s ${d.int},
     updated_at ${d.ms} NOT NULL
   );
   CREATE TABLE IF NOT EXISTS box_health_points (
     dev_sno ${d.key} NOT NULL,
     at ${d.ms} NOT NULL,
     cpu_x10 ${d.int},
     mem_x10 ${d.int},
     disk_x10 ${d.int},
     PRIMARY KEY (dev_sno, at)
   )${d.keyed};`;
}

/** Runs SQL written with ?1, ?2 ... placeholders. Writes are durable when `run` resolves. */
export interface SqlRunner {
  all<T>(sql: string, params: unknown[]): Promise<T[]>;
  run(sql: string, params: unknown[]): Promise<number>;
}

/** How many distinct MACs a code's login record keeps (oldest dropped first). */
const MACS_KEPT = 8;

export type { BoxGroup, BoxLogin, BoxSettings, PeriodSource };

export interface HealthPoint {
  at: string;
  cpu_pct: number | null;
  mem_pct: number | null;
  disk_pct: number | null;
}

interface LoginRow {
  dev_sno: string;
  mac: string;
  macs: string;
  login_count: number | string;
  first_login_at: number | string;
  last_login_at: number | string;
  period_s: number | string;
}

const iso = (ms: number | string) => new Date(Number(ms)).toISOString();
const x10 = (n: number | undefined) => (n === undefined ? null : Math.round(n * 10));
const fromX10 = (n: number | string | null) => (n === null ? null : Number(n) / 10);

function loginFromRow(r: LoginRow): BoxLogin {
  const macs = JSON.parse(r.macs) as string[];
  return {
    dev_sno: r.dev_sno,
    mac: r.mac,
    macs,
    mac_conflict: macs.length > 1,
    login_count: Number(r.login_count),
    first_login_at: iso(r.first_login_at),
    last_login_at: iso(r.last_login_at),
    period_s: Number(r.period_s),
  };
}

export interface FleetHealth {
  /** Boxes per software version (of their last report that said one). */
  by_sw_version: Array<{ sw_version: string; boxes: number }>;
  /** Boxes whose last health says the disk is at least `diskFullPct` used. */
  disk_full: number;
}

/** A field of the box's latest health (platform-fields.ts keeps it in the box's extra), as text. */
function healthField(kind: 'sqlite' | 'postgres', field: string): string {
  return kind === 'sqlite' ? `json_extract(extra, '$."$devstatus".health.${field}')` : `(extra #>> '{$devstatus,health,${field}}')`;
}

export class PlatformStore {
  constructor(
    private readonly sql: SqlRunner,
    private readonly kind: 'sqlite' | 'postgres',
    /** The period a box is told when neither it nor its group has one. */
    private readonly fleetPeriodS: number = LOGIN_DEFAULTS.deviceMonitorPeriodS,
  ) {}

  withFleetPeriod(periodS: number): PlatformStore {
    return new PlatformStore(this.sql, this.kind, periodS);
  }

  /** Registers an unknown code as `auto` (open mode), as a first report does. */
  async autoRegister(devSno: string, now: number): Promise<void> {
    await this.sql.run(
      `INSERT INTO registry (dev_sno, status, source, created_at, updated_at) VALUES (?1, 'active', 'auto', ?2, ?2)
       ON CONFLICT (dev_sno) DO NOTHING`,
      [devSno, now],
    );
  }

  async getLogin(devSno: string): Promise<BoxLogin | null> {
    const rows = await this.sql.all<LoginRow>('SELECT * FROM box_logins WHERE dev_sno = ?1', [devSno]);
    return rows[0] ? loginFromRow(rows[0]) : null;
  }

  /** Records a login from `mac` (normalized) told to report every `periodS`. */
  async recordLogin(devSno: string, mac: string, periodS: number, now: number): Promise<BoxLogin> {
    const prior = await this.getLogin(devSno);
    const macs = (prior?.macs ?? []).filter((m) => m !== mac);
    macs.push(mac);
    while (macs.length > MACS_KEPT) macs.shift();
    await this.sql.run(
      `INSERT INTO box_logins (dev_sno, mac, macs, login_count, first_login_at, last_login_at, period_s)
       VALUES (?1, ?2, ?3, 1, ?4, ?4, ?5)
       ON CONFLICT (dev_sno) DO UPDATE SET mac = excluded.mac, macs = excluded.macs,
         login_count = box_logins.login_count + 1, last_login_at = excluded.last_login_at, period_s = excluded.period_s`,
      [devSno, mac, JSON.stringify(macs), now, periodS],
    );
    return (await this.getLogin(devSno))!;
  }

  /** The shortest report period any box was told at its last login; null when none logged in. */
  async shortestToldPeriodS(): Promise<number | null> {
    const rows = await this.sql.all<{ p: number | string | null }>('SELECT MIN(period_s) AS p FROM box_logins', []);
    const p = rows[0]?.p;
    return p === null || p === undefined ? null : Number(p);
  }

  async getSettings(devSno: string): Promise<BoxSettings> {
    const rows = await this.sql.all<{ group_name: string | null; box_period: number | null; group_period: number | null }>(
      `SELECT s.group_name, s.report_period_s AS box_period, g.report_period_s AS group_period
       FROM box_settings s LEFT JOIN box_groups g ON g.name = s.group_name WHERE s.dev_sno = ?1`,
      [devSno],
    );
    const r = rows[0];
    const boxPeriod = r?.box_period == null ? null : Number(r.box_period);
    const groupPeriod = r?.group_period == null ? null : Number(r.group_period);
    const [effective, source]: [number, PeriodSource] =
      boxPeriod !== null ? [boxPeriod, 'box'] : groupPeriod !== null ? [groupPeriod, 'group'] : [this.fleetPeriodS, 'fleet'];
    return { dev_sno: devSno, group: r?.group_name ?? null, report_period_s: boxPeriod, effective_period_s: effective, period_source: source };
  }

  /** Sets a box's own period and group (undefined = keep, null = clear). */
  async setSettings(devSno: string, fields: { report_period_s?: number | null; group?: string | null }, now: number): Promise<BoxSettings> {
    const before = await this.getSettings(devSno);
    const group = fields.group === undefined ? before.group : fields.group;
    const period = fields.report_period_s === undefined ? before.report_period_s : fields.report_period_s;
    await this.sql.run(
      `INSERT INTO box_settings (dev_sno, group_name, report_period_s, updated_at) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT (dev_sno) DO UPDATE SET group_name = excluded.group_name, report_period_s = excluded.report_period_s, updated_at = excluded.updated_at`,
      [devSno, group, period, now],
    );
    return this.getSettings(devSno);
  }

  async setGroup(name: string, fields: { report_period_s: number | null }, now: number): Promise<BoxGroup> {
    await this.sql.run(
      `INSERT INTO box_groups (name, report_period_s, updated_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (name) DO UPDATE SET report_period_s = excluded.report_period_s, updated_at = excluded.updated_at`,
      [name, fields.report_period_s, now],
    );
    return (await this.listGroups()).find((g) => g.name === name)!;
  }

  async listGroups(): Promise<BoxGroup[]> {
    const rows = await this.sql.all<{ name: string; report_period_s: number | null; boxes: number | string }>(
      `SELECT g.name, g.report_period_s, (SELECT COUNT(*) FROM box_settings s WHERE s.group_name = g.name) AS boxes
       FROM box_groups g ORDER BY g.name`,
      [],
    );
    return rows.map((r) => ({ name: r.name, report_period_s: r.report_period_s === null ? null : Number(r.report_period_s), boxes: Number(r.boxes) }));
  }

  /** One health point at `bucketAt` (a later one in the same bucket replaces it). */
  async recordHealthPoint(devSno: string, bucketAt: number, h: BoxHealth): Promise<void> {
    await this.sql.run(
      `INSERT INTO box_health_points (dev_sno, at, cpu_x10, mem_x10, disk_x10) VALUES (?1, ?2, ?3, ?4, ?5)
       ON CONFLICT (dev_sno, at) DO UPDATE SET cpu_x10 = excluded.cpu_x10, mem_x10 = excluded.mem_x10, disk_x10 = excluded.disk_x10`,
      [devSno, bucketAt, x10(h.cpu_pct), x10(h.mem_pct), x10(h.disk_pct)],
    );
  }

  async healthPoints(devSno: string, sinceMs: number): Promise<HealthPoint[]> {
    const rows = await this.sql.all<{ at: number | string; cpu_x10: number | null; mem_x10: number | null; disk_x10: number | null }>(
      'SELECT at, cpu_x10, mem_x10, disk_x10 FROM box_health_points WHERE dev_sno = ?1 AND at >= ?2 ORDER BY at',
      [devSno, sinceMs],
    );
    return rows.map((r) => ({ at: iso(r.at), cpu_pct: fromX10(r.cpu_x10), mem_pct: fromX10(r.mem_x10), disk_pct: fromX10(r.disk_x10) }));
  }

  async fleetHealth(diskFullPct: number): Promise<FleetHealth> {
    const version = healthField(this.kind, 'sw_version');
    const disk = this.kind === 'sqlite' ? healthField(this.kind, 'disk_pct') : `${healthField(this.kind, 'disk_pct')}::float8`;
    const [versions, full] = await Promise.all([
      this.sql.all<{ sw_version: string; boxes: number | string }>(
        `SELECT ${version} AS sw_version, COUNT(*) AS boxes FROM boxes WHERE ${version} IS NOT NULL GROUP BY 1 ORDER BY 1`,
        [],
      ),
      this.sql.all<{ n: number | string }>(`SELECT COUNT(*) AS n FROM boxes WHERE ${disk} >= ?1`, [diskFullPct]),
    ]);
    return { by_sw_version: versions.map((v) => ({ sw_version: String(v.sw_version), boxes: Number(v.boxes) })), disk_full: Number(full[0]?.n ?? 0) };
  }

  /** The boxes whose latest health says this software version, by dev_sno (at most `limit`). */
  async boxesOnVersion(swVersion: string, limit: number): Promise<string[]> {
    const rows = await this.sql.all<{ dev_sno: string }>(
      `SELECT dev_sno FROM boxes WHERE ${healthField(this.kind, 'sw_version')} = ?1 ORDER BY dev_sno LIMIT ?2`,
      [swVersion, limit],
    );
    return rows.map((r) => r.dev_sno);
  }

  /** Deletes health points older than `beforeMs`; returns how many. */
  async pruneHealth(beforeMs: number): Promise<number> {
    return this.sql.run('DELETE FROM box_health_points WHERE at < ?1', [beforeMs]);
  }
}

/** How a box's silence is judged: its own told period when it logged in, else the default. */
export interface SilenceRule {
  /** Silence after which a box that never logged in is offline (report interval x misses). */
  defaultTimeoutMs: number;
  /** Reports missed in a row before a box that logged in is offline (its period x misses). */
  misses: number;
  /** Since when the receiver has been listening: no box is judged before its timeout has passed since then. */
  watchingSince: number;
}

/**
 * The SQL condition, on boxes b, of a box silent past its own timeout: the period it was told at
 * its last login (box_logins) x misses, else the default. ?1 now, ?2 default ms, ?3 misses,
 * ?4 watching since. Placeholders as in SqlRunner.
 */
export const SILENT_PAST_OWN_TIMEOUT = `b.status = 'online' AND b.last_report_at < ?1 - COALESCE(
    (SELECT l.period_s * 1000 * ?3 FROM box_logins l WHERE l.dev_sno = b.dev_sno), ?2)
  AND ?4 <= ?1 - COALESCE((SELECT l.period_s * 1000 * ?3 FROM box_logins l WHERE l.dev_sno = b.dev_sno), ?2)`;
