// The box's health in one set of units, whichever dialect it came in, and back.
// Vendor units as this platform reads them (docs/protocol-dialects.md): cpu_usage, memory_usage,
// cpu_use, memory_use and disk_use are percentages; memory_size, disk_size and disk_free_size
// are megabytes of 2^20 bytes (what Linux tools print as MB/MiB).
import { ReportValidationError } from './errors.js';
import { pickExtra } from './validate.js';
import { KNOWN_LEGACY_EXT_FIELDS, KNOWN_RICH_EXT_FIELDS, type LegacyReportWire, type RichReportWire } from './dialect-schema.js';
import type { BoxHealth, GatewayInfo } from './schema.js';

export const BYTES_PER_MB = 1024 * 1024;

type Figure = number | string | null | undefined;

/**
 * A vendor figure as a number: undefined when the box did not know it ("" or null), a validation
 * error naming the field when it is not a number at all.
 */
export function readFigure(value: Figure, field: string, unit: 'percent' | 'MB'): number | undefined {
  if (value === undefined || value === null) return undefined;
  let n: number;
  if (typeof value === 'number') n = value;
  else {
    const t = value.trim();
    if (t === '') return undefined;
    const stripped = unit === 'percent' ? t.replace(/\s*%$/, '') : t.replace(/\s*(MB|M|MiB)$/i, '');
    n = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(stripped) ? Number(stripped) : NaN;
  }
  if (!Number.isFinite(n) || n < 0) {
    const what = unit === 'percent' ? 'a percentage (0-100)' : 'a size in MB, 0 or more';
    throw new ReportValidationError(field, `must be ${what}, got ${JSON.stringify(value)}`);
  }
  return n;
}

const mbToBytes = (mb: number | undefined) => (mb === undefined ? undefined : Math.round(mb * BYTES_PER_MB));
const bytesToMb = (bytes: number) => bytes / BYTES_PER_MB;
const round1 = (n: number) => Math.round(n * 10) / 10;

/** Copies the defined fields only, so an absent figure stays absent (not a key set to undefined). */
function defined<T extends object>(o: T): T {
  const out = {} as T;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

const isEmpty = (o: object) => Object.keys(o).length === 0;

/** Health and gateway info of a richer-dialect body. */
export function richHealth(wire: RichReportWire): { health?: BoxHealth; gateway?: GatewayInfo } {
  const ext = wire.gateway_ext_data;
  let health: BoxHealth | undefined;
  let extExtra: Record<string, unknown> | undefined;
  if (ext) {
    const at = (f: string) => `gateway_ext_data.${f}`;
    const diskTotal = mbToBytes(readFigure(ext.disk_size, at('disk_size'), 'MB'));
    const diskFree = mbToBytes(readFigure(ext.disk_free_size, at('disk_free_size'), 'MB'));
    health = defined<BoxHealth>({
      cpu_pct: readFigure(ext.cpu_usage, at('cpu_usage'), 'percent'),
      mem_pct: readFigure(ext.memory_usage, at('memory_usage'), 'percent'),
      mem_total_bytes: mbToBytes(readFigure(ext.memory_size, at('memory_size'), 'MB')),
      // The richer dialect sends the disk's size and free space; the share in use follows.
      disk_pct: diskTotal && diskFree !== undefined ? round1(Math.max(0, 100 * (1 - diskFree / diskTotal))) : undefined,
      disk_total_bytes: diskTotal,
      disk_free_bytes: diskFree,
      sw_version: ext.sw_version,
      sdk_version: ext.sdk_version,
      mac: ext.gateway_mac,
    });
    const rest = pickExtra(ext, KNOWN_RICH_EXT_FIELDS as Set<string>, 'gateway_ext_data');
    if (!isEmpty(rest)) extExtra = rest;
  }
  const gateway = defined<GatewayInfo>({
    sn: wire.gateway_sn,
    ip: wire.gateway_ip,
    name: wire.gateway_name,
    status: wire.gateway_status,
    ext_extra: extExtra,
  });
  return { ...(health ? { health } : {}), ...(isEmpty(gateway) ? {} : { gateway }) };
}

/** Health of an older-dialect body. */
export function legacyHealth(wire: LegacyReportWire): { health?: BoxHealth; gateway: GatewayInfo } {
  const gateway: GatewayInfo = { sn: wire.gateway_sn };
  const ext = wire.gateway_ext_data;
  if (!ext) return { gateway };
  const at = (f: string) => `gateway_ext_data.${f}`;
  const health = defined<BoxHealth>({
    cpu_pct: readFigure(ext.cpu_use, at('cpu_use'), 'percent'),
    mem_pct: readFigure(ext.memory_use, at('memory_use'), 'percent'),
    disk_pct: readFigure(ext.disk_use, at('disk_use'), 'percent'),
    status_code: ext.status ?? undefined,
    status_desc: ext.status_desc ?? undefined,
  });
  const rest = pickExtra(ext, KNOWN_LEGACY_EXT_FIELDS as Set<string>, 'gateway_ext_data');
  if (!isEmpty(rest)) gateway.ext_extra = rest;
  return { health, gateway };
}

/** gateway_ext_data of the richer dialect, from health; undefined when there is nothing to say. */
export function richExtData(health: BoxHealth | undefined, extExtra: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const h = health ?? {};
  const ext = defined<Record<string, unknown>>({
    sw_version: h.sw_version,
    sdk_version: h.sdk_version,
    gateway_mac: h.mac,
    cpu_usage: h.cpu_pct,
    memory_size: h.mem_total_bytes === undefined ? undefined : bytesToMb(h.mem_total_bytes),
    memory_usage: h.mem_pct,
    disk_size: h.disk_total_bytes === undefined ? undefined : bytesToMb(h.disk_total_bytes),
    disk_free_size: h.disk_free_bytes === undefined ? undefined : bytesToMb(h.disk_free_bytes),
  });
  const all = { ...ext, ...extExtra };
  return isEmpty(all) && !health ? undefined : all;
}

/** gateway_ext_data of the older dialect, from health. */
export function legacyExtData(health: BoxHealth | undefined, extExtra: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!health && !extExtra) return undefined;
  const h = health ?? {};
  return {
    ...defined<Record<string, unknown>>({
      cpu_use: h.cpu_pct,
      memory_use: h.mem_pct,
      disk_use: h.disk_pct,
      status: h.status_code,
      status_desc: h.status_desc,
    }),
    ...extExtra,
  };
}
