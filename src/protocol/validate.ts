// Normalization and validation of an incoming report. Every rejection names the field
// (as a readable path like `sub_devices[2].ep_status`) and the reason.
import { isUtf8 } from 'node:buffer';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { checkNestingDepth } from './depth.js';
import { ReportValidationError } from './errors.js';
import {
  EP_ID_SEPARATOR,
  EP_STATUSES,
  EP_TYPES,
  LIMITS,
  ReportSchema,
  type Report,
  type ReportWire,
  type SubDevice,
} from './schema.js';

const compiled = TypeCompiler.Compile(ReportSchema);

const KNOWN_SUB_FIELDS = new Set(['ep_id', 'ep_ip', 'ep_status', 'ep_location', 'ep_type', 'ep_name']);
const KNOWN_REPORT_FIELDS = new Set(['dev_sno', 'sub_devices']);
const STRING_FIELDS = ['ep_id', 'ep_ip', 'ep_location', 'ep_name'] as const;

/** `/sub_devices/2/ep_status` -> `sub_devices[2].ep_status` */
export function pointerToField(pointer: string): string {
  if (pointer === '' || pointer === '/') return '(body)';
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

/** How a schema error reads in a message; the agent's config calls lists and mappings by those names. */
export interface ErrorWords {
  array: string;
  object: string;
}

const WIRE_WORDS: ErrorWords = { array: 'must be an array', object: 'must be an object' };

/** A TypeBox error as a short reason to put after the field's name. */
export function describeValueError(error: ValueError, words: ErrorWords = WIRE_WORDS): string {
  const schema = error.schema as Record<string, unknown>;
  if (error.value === undefined) return 'is required';
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.ObjectAdditionalProperties:
      return 'is not a known setting';
    case ValueErrorType.String:
      return 'must be a string';
    case ValueErrorType.StringMinLength:
      return 'must not be empty';
    case ValueErrorType.StringMaxLength:
      return `must be at most ${String(schema.maxLength)} characters`;
    case ValueErrorType.Number:
      return 'must be a number';
    case ValueErrorType.Integer:
      return 'must be a whole number';
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum:
      return `must be at least ${String(schema.minimum)}`;
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMaximum:
      return `must be at most ${String(schema.maximum)}`;
    case ValueErrorType.Boolean:
      return 'must be true or false';
    case ValueErrorType.Array:
      return words.array;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${String(schema.maxItems)} items`;
    case ValueErrorType.Object:
      return words.object;
    case ValueErrorType.Union: {
      const anyOf = (schema.anyOf ?? []) as Array<{ const?: unknown }>;
      const values = anyOf.map((s) => s.const).filter((v) => typeof v === 'string');
      return values.length ? `must be one of: ${values.join(', ')}` : error.message;
    }
    default:
      return error.message;
  }
}

/** Trim strings and lowercase the enum fields, leaving non-strings for the validator to reject. */
export function normalizeInPlace(body: Record<string, unknown>): void {
  if (typeof body.dev_sno === 'string') body.dev_sno = body.dev_sno.trim();
  if (!Array.isArray(body.sub_devices)) return;
  for (const sub of body.sub_devices) {
    if (sub === null || typeof sub !== 'object' || Array.isArray(sub)) continue;
    const s = sub as Record<string, unknown>;
    for (const f of STRING_FIELDS) if (typeof s[f] === 'string') s[f] = (s[f] as string).trim();
    if (typeof s.ep_status === 'string') s.ep_status = s.ep_status.trim().toLowerCase();
    if (typeof s.ep_type === 'string') s.ep_type = s.ep_type.trim().toLowerCase();
  }
}

// Only a string that starts or ends with a space, a control or a non-ASCII character can have
// something to trim; for the rest (nearly every field) trim() would only copy.
const maybeSpace = (c: number) => c <= 32 || c >= 0x80;
const trimmed = (v: unknown) =>
  typeof v !== 'string' ||
  v.length === 0 ||
  !(maybeSpace(v.charCodeAt(0)) || maybeSpace(v.charCodeAt(v.length - 1))) ||
  v.trim() === v;

/** True when a body that passed the schema check has nothing left to normalize. */
function isNormalized(body: ReportWire): boolean {
  if (!trimmed(body.dev_sno)) return false;
  for (const s of body.sub_devices) {
    // The schema check already pinned ep_status and ep_type to their exact lower-case values.
    if (!trimmed(s.ep_id) || !trimmed(s.ep_ip) || !trimmed(s.ep_location) || !trimmed(s.ep_name)) return false;
  }
  return true;
}

/** The fields of obj that are not in known, each checked for nesting depth. */
export function pickExtra(obj: Record<string, unknown>, known: Set<string>, at = ''): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) {
    if (known.has(k)) continue;
    const value = obj[k];
    if (value !== null && typeof value === 'object') checkNestingDepth(value, at ? `${at}.${k}` : k);
    // A plain assignment to "__proto__" would set the prototype instead of keeping the field.
    if (k === '__proto__') Object.defineProperty(extra, k, { value, enumerable: true, writable: true, configurable: true });
    else extra[k] = value;
  }
  return extra;
}

/** The fields of a sub-device the protocol does not define; most reports have none. */
function subExtra(sub: Record<string, unknown>, index: number): Record<string, unknown> {
  for (const k in sub) if (!KNOWN_SUB_FIELDS.has(k)) return pickExtra(sub, KNOWN_SUB_FIELDS, `sub_devices[${index}]`);
  return {};
}

function repeatsAnEarlierId(subDevices: SubDevice[], epId: string): boolean {
  for (const s of subDevices) if (s.ep_id === epId) return true;
  return false;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function shallowCopy(body: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...body };
  if (Array.isArray(body.sub_devices)) copy.sub_devices = body.sub_devices.map((s: unknown) => (isObject(s) ? { ...s } : s));
  return copy;
}

/**
 * Validates a parsed JSON body and returns the normalized report.
 * Throws ReportValidationError naming the first bad field.
 */
export function parseReport(body: unknown): Report {
  return parseReportDetailed(body).report;
}

export interface ParsedReport {
  report: Report;
  /**
   * false when the body was already in normal form, ep_name included: the report then says
   * exactly what the body says, and the body's own text can serve as the echo.
   */
  normalized: boolean;
}

const TEXT_FIELDS = ['ep_id', 'ep_ip', 'ep_location', 'ep_name'] as const;

/** The rules every dialect shares, in words (the dialect parser words its refusals the same). */
export const REASONS = {
  // No real device name or address holds U+0000, and PostgreSQL text cannot store it: one rule
  // for every store.
  nul: 'must not contain the NUL character (\\u0000)',
  epIdPrefix: (devSno: string) => `must be "<dev_sno>${EP_ID_SEPARATOR}<ip or rtsp url>" with dev_sno "${devSno}"`,
  epIdMissing: `is missing the ip or rtsp url after "${EP_ID_SEPARATOR}"`,
  repeated: 'is repeated in this report',
  ipEmpty: (type: string) => `must not be empty for ep_type ${type}`,
} as const;

export function parseReportDetailed(body: unknown): ParsedReport {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ReportValidationError('(body)', 'must be a JSON object');
  }
  let wire: ReportWire;
  let normalized: boolean;
  // Check() is the compiled fast path. Boxes almost always send a clean report, which needs no
  // copy and no normalization; anything else is copied, normalized and checked again.
  if (compiled.Check(body) && isNormalized(body)) {
    wire = body;
    normalized = false;
  } else {
    // Work on a copy so the caller's object is never half-normalized. Normalization only rewrites
    // strings on the top object and on each sub-device, so copying those two levels is enough.
    const copy = shallowCopy(body as Record<string, unknown>);
    normalizeInPlace(copy);
    if (!compiled.Check(copy)) {
      // Walking Errors() is only worth it for a bad report.
      const first = compiled.Errors(copy).First();
      throw first
        ? new ReportValidationError(pointerToField(first.path), describeValueError(first))
        : new ReportValidationError('(body)', 'does not match the report schema');
    }
    wire = copy;
    normalized = true;
  }

  if (wire.dev_sno.includes('\u0000')) throw new ReportValidationError('dev_sno', REASONS.nul);
  const prefix = wire.dev_sno + EP_ID_SEPARATOR;
  const subs = wire.sub_devices;
  // A handful of sub-devices (the usual 8) is checked for repeats by comparing, a long list by a set.
  const seen = subs.length > 16 ? new Set<string>() : null;
  const subDevices: SubDevice[] = [];
  for (let i = 0; i < subs.length; i++) {
    const sub = subs[i]!;
    const field = (name: string) => `sub_devices[${i}].${name}`;
    for (const f of TEXT_FIELDS) {
      if (sub[f]?.includes('\u0000')) throw new ReportValidationError(field(f), REASONS.nul);
    }
    if (!sub.ep_id.startsWith(prefix)) {
      throw new ReportValidationError(field('ep_id'), REASONS.epIdPrefix(wire.dev_sno));
    }
    if (sub.ep_id.length === prefix.length) {
      throw new ReportValidationError(field('ep_id'), REASONS.epIdMissing);
    }
    if (seen ? seen.has(sub.ep_id) : repeatsAnEarlierId(subDevices, sub.ep_id)) {
      throw new ReportValidationError(field('ep_id'), REASONS.repeated);
    }
    seen?.add(sub.ep_id);
    // A local file has no address of its own; every other kind of device has one.
    if (sub.ep_ip === '' && sub.ep_type !== 'file') {
      throw new ReportValidationError(field('ep_ip'), REASONS.ipEmpty(sub.ep_type));
    }
    if (sub.ep_name === undefined) normalized = true;
    subDevices.push({
      ep_id: sub.ep_id,
      ep_ip: sub.ep_ip,
      ep_status: sub.ep_status,
      ep_location: sub.ep_location,
      ep_type: sub.ep_type,
      ep_name: sub.ep_name ?? '',
      extra: subExtra(sub as Record<string, unknown>, i),
    });
  }
  return {
    report: { dev_sno: wire.dev_sno, sub_devices: subDevices, extra: pickExtra(wire, KNOWN_REPORT_FIELDS) },
    normalized,
  };
}

/** A sub-device as it goes on the wire: the protocol's fields in their order, then the extras. */
export function subDeviceToWire(s: SubDevice): Record<string, unknown> {
  const known: Record<string, unknown> = {
    ep_id: s.ep_id,
    ep_ip: s.ep_ip,
    ep_status: s.ep_status,
    ep_location: s.ep_location,
    ep_type: s.ep_type_code ?? s.ep_type,
    ep_name: s.ep_name,
  };
  if (s.ep_url !== undefined) known.ep_url = s.ep_url;
  if (s.ep_detail !== undefined) known.ep_detail = s.ep_detail;
  if (s.ep_ext_data !== undefined) known.ep_ext_data = s.ep_ext_data;
  // Spread (not assign) so an extra named "__proto__" stays a field.
  return { ...known, ...s.extra };
}

/**
 * The report in the current dialect (extras flattened back in), used for the echo and by
 * senders. toDialectWire renders a report in the dialect it came in.
 */
export function toWire(report: Report): ReportWire & Record<string, unknown> {
  // Typed as today's wire: a report built or accepted in the current dialect carries its four names.
  return {
    dev_sno: report.dev_sno,
    sub_devices: report.sub_devices.map(subDeviceToWire),
    ...report.extra,
  } as ReportWire & Record<string, unknown>;
}

export { EP_STATUSES, EP_TYPES, LIMITS, ReportValidationError };
