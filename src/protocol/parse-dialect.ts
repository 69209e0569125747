// Reports in any of the three dialects, normalized into the one Report model. Today's dialect
// goes through parseReportDetailed first (the receiver's fast path, unchanged); the richer and
// the older dialect, and today's with vendor ep_type codes or the new sub-device fields, go
// through the general path here.
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import {
  CurrentAnySchema,
  detectDialect,
  KNOWN_ANY_SUB_FIELDS,
  KNOWN_FIELDS,
  LegacyReportSchema,
  RichReportSchema,
  type AnySubDeviceWire,
  type LegacyReportWire,
  type RichReportWire,
} from './dialect-schema.js';
import { ReportValidationError } from './errors.js';
import { legacyHealth, richHealth } from './health.js';
import { redactText } from './redact.js';
import {
  boundDetail,
  EP_ID_SEPARATOR,
  epTypeOfCode,
  REPORT_EP_TYPES,
  VENDOR_EP_TYPES,
  type Dialect,
  type Report,
  type SubDevice,
  type SubDeviceExtData,
} from './schema.js';
import {
  describeValueError,
  normalizeInPlace,
  parseReportDetailed,
  pickExtra,
  pointerToField,
  REASONS,
  shallowCopy,
  type ParsedReport,
} from './validate.js';

const checkers: Record<Dialect, ReturnType<typeof TypeCompiler.Compile<TSchema>>> = {
  current: TypeCompiler.Compile(CurrentAnySchema),
  rich: TypeCompiler.Compile(RichReportSchema),
  legacy: TypeCompiler.Compile(LegacyReportSchema),
};

/** Fields the general path lifts out of a sub-device's extras into the model. */
const LIFTED = ['ep_url', 'ep_detail', 'ep_ext_data'] as const;

const EP_TYPE_REASON = `must be one of: ${REPORT_EP_TYPES.join(', ')}, or a vendor code 0-${VENDOR_EP_TYPES.length - 1}`;

export interface ParsedAnyReport extends ParsedReport {
  dialect: Dialect;
}

/**
 * Validates a parsed JSON body in whichever dialect it is and returns the normalized report
 * (report.dialect says which). Throws ReportValidationError naming the first bad field.
 * `normalized` false means the body's own bytes can serve as the echo (today's dialect only).
 */
export function parseAnyReport(body: unknown): ParsedAnyReport {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ReportValidationError('(body)', 'must be a JSON object');
  }
  const dialect = detectDialect(body as Record<string, unknown>);
  if (dialect !== 'current') return parseDialect(body as Record<string, unknown>, dialect);
  let parsed: ParsedReport;
  try {
    parsed = parseReportDetailed(body);
  } catch (e) {
    // A vendor code or vendor name for ep_type is not today's wording but is accepted here.
    if (e instanceof ReportValidationError && e.field.endsWith('.ep_type')) return parseDialect(body as Record<string, unknown>, 'current');
    throw e;
  }
  for (const s of parsed.report.sub_devices) {
    for (const k in s.extra) if ((LIFTED as readonly string[]).includes(k)) return parseDialect(body as Record<string, unknown>, 'current');
  }
  parsed.report.dialect = 'current';
  return { ...parsed, dialect: 'current' };
}

const trimIfString = (o: Record<string, unknown>, k: string) => {
  if (typeof o[k] === 'string') o[k] = (o[k] as string).trim();
};

function parseDialect(body: Record<string, unknown>, dialect: Dialect): ParsedAnyReport {
  const copy = shallowCopy(body);
  normalizeInPlace(copy);
  trimIfString(copy, 'gateway_sn');
  trimIfString(copy, 'gateway_ip');
  trimIfString(copy, 'gateway_name');
  if (typeof copy.gateway_status === 'string') copy.gateway_status = copy.gateway_status.trim().toLowerCase();
  if (Array.isArray(copy.sub_devices)) {
    for (const s of copy.sub_devices) {
      if (s === null || typeof s !== 'object' || Array.isArray(s)) continue;
      trimIfString(s as Record<string, unknown>, 'ep_url');
      trimIfString(s as Record<string, unknown>, 'ep_detail');
    }
  }
  const checker = checkers[dialect];
  if (!checker.Check(copy)) {
    const first = checker.Errors(copy).First();
    if (!first) throw new ReportValidationError('(body)', 'does not match the report schema');
    const field = pointerToField(first.path);
    throw new ReportValidationError(field, /\.ep_type$/.test(field) && first.value !== undefined ? EP_TYPE_REASON : describeValueError(first));
  }

  const devSno = dialect === 'legacy' ? (copy as LegacyReportWire).gateway_sn : (copy as RichReportWire).dev_sno;
  const idField = dialect === 'legacy' ? 'gateway_sn' : 'dev_sno';
  if (devSno.includes('\u0000')) throw new ReportValidationError(idField, REASONS.nul);
  const subDevices = subDevicesOf(devSno, (copy as RichReportWire).sub_devices);
  const report: Report = { dev_sno: devSno, sub_devices: subDevices, extra: pickExtra(copy, KNOWN_FIELDS[dialect] as Set<string>), dialect };
  if (dialect === 'rich') Object.assign(report, richHealth(copy as RichReportWire));
  if (dialect === 'legacy') Object.assign(report, legacyHealth(copy as LegacyReportWire));
  for (const f of ['gateway_sn', 'gateway_ip', 'gateway_name'] as const) {
    const v = (copy as RichReportWire)[f];
    if (v?.includes('\u0000')) throw new ReportValidationError(f, REASONS.nul);
  }
  // The general path always renders its echo anew (in the dialect it came in).
  return { report, normalized: true, dialect };
}

const NO_FIELDS = new Set<string>();
const TEXT_FIELDS = ['ep_id', 'ep_ip', 'ep_location', 'ep_name', 'ep_url', 'ep_detail'] as const;

function subDevicesOf(devSno: string, subs: AnySubDeviceWire[]): SubDevice[] {
  const prefix = devSno + EP_ID_SEPARATOR;
  const seen = new Set<string>();
  const out: SubDevice[] = [];
  for (let i = 0; i < subs.length; i++) {
    const sub = subs[i]!;
    const field = (name: string) => `sub_devices[${i}].${name}`;
    for (const f of TEXT_FIELDS) if (sub[f]?.includes('\u0000')) throw new ReportValidationError(field(f), REASONS.nul);
    if (!sub.ep_id.startsWith(prefix)) throw new ReportValidationError(field('ep_id'), REASONS.epIdPrefix(devSno));
    if (sub.ep_id.length === prefix.length) throw new ReportValidationError(field('ep_id'), REASONS.epIdMissing);
    if (seen.has(sub.ep_id)) throw new ReportValidationError(field('ep_id'), REASONS.repeated);
    seen.add(sub.ep_id);
    const code = typeof sub.ep_type === 'number' ? sub.ep_type : undefined;
    const type = code === undefined ? (sub.ep_type as SubDevice['ep_type']) : epTypeOfCode(code)!;
    if (sub.ep_ip === '' && type !== 'file') throw new ReportValidationError(field('ep_ip'), REASONS.ipEmpty(type));
    const s: SubDevice = {
      ep_id: sub.ep_id,
      ep_ip: sub.ep_ip,
      ep_status: sub.ep_status,
      ep_location: sub.ep_location,
      ep_type: type,
      ep_name: sub.ep_name ?? '',
      extra: pickExtra(sub, KNOWN_ANY_SUB_FIELDS as Set<string>, `sub_devices[${i}]`),
    };
    if (code !== undefined) s.ep_type_code = code;
    if (sub.ep_url !== undefined) s.ep_url = sub.ep_url;
    if (sub.ep_detail !== undefined) s.ep_detail = boundDetail(redactText(sub.ep_detail));
    if (sub.ep_ext_data !== undefined) {
      // Kept as sent, every field held to the nesting bound of unknown fields.
      s.ep_ext_data = pickExtra(sub.ep_ext_data, NO_FIELDS, field('ep_ext_data')) as SubDeviceExtData;
    }
    out.push(s);
  }
  return out;
}
