// The wire format of the richer and the older report dialects, and the superset sub-device they
// share with today's (see docs/protocol-dialects.md). Today's dialect alone is in schema.ts; the
// receiver's fast path checks that one first.
import { Type, type Static } from '@sinclair/typebox';
import { EP_STATUSES, LIMITS, REPORT_EP_TYPES, VENDOR_EP_TYPES, type Dialect } from './schema.js';

const text = (opts: { minLength?: number; maxLength?: number } = {}) =>
  Type.String({ maxLength: LIMITS.fieldMaxLength, ...opts });

/** A vendor figure: a number, or a number in a string ("12.5", "12.5%"); "" and null mean not known. */
const figure = Type.Union([Type.Number(), Type.String({ maxLength: 64 }), Type.Null()]);

const status = Type.Union(EP_STATUSES.map((s) => Type.Literal(s)));

/** ep_type by name (today's four or the vendor kinds) or by the vendor's code. */
export const EpTypeWireSchema = Type.Union([
  ...REPORT_EP_TYPES.map((t) => Type.Literal(t)),
  Type.Integer({ minimum: 0, maximum: VENDOR_EP_TYPES.length - 1 }),
]);

export const SubDeviceExtDataSchema = Type.Object(
  { sw_version: Type.Optional(text()), group_name: Type.Optional(text()) },
  { additionalProperties: true },
);

/** A sub-device in any dialect: today's fields, plus the ones the other dialects add. */
export const AnySubDeviceSchema = Type.Object(
  {
    ep_id: text({ minLength: 1 }),
    ep_ip: text(),
    ep_status: status,
    ep_location: text(),
    ep_type: EpTypeWireSchema,
    ep_name: Type.Optional(text()),
    ep_url: Type.Optional(text()),
    // Longer reasons are cut to LIMITS.epDetailMaxLength, not refused: the status still counts.
    ep_detail: Type.Optional(Type.String({ maxLength: LIMITS.fieldMaxLength })),
    ep_ext_data: Type.Optional(SubDeviceExtDataSchema),
  },
  { additionalProperties: true },
);

export const RichExtDataSchema = Type.Object(
  {
    sw_version: Type.Optional(text()),
    sdk_version: Type.Optional(text()),
    gateway_mac: Type.Optional(text()),
    cpu_usage: Type.Optional(figure),
    memory_size: Type.Optional(figure),
    memory_usage: Type.Optional(figure),
    disk_size: Type.Optional(figure),
    disk_free_size: Type.Optional(figure),
  },
  { additionalProperties: true },
);

export const LegacyExtDataSchema = Type.Object(
  {
    cpu_use: Type.Optional(figure),
    memory_use: Type.Optional(figure),
    disk_use: Type.Optional(figure),
    status: Type.Optional(Type.Union([Type.String({ maxLength: LIMITS.fieldMaxLength }), Type.Number(), Type.Null()])),
    status_desc: Type.Optional(Type.Union([text(), Type.Null()])),
  },
  { additionalProperties: true },
);

const devSno = Type.String({ minLength: 1, maxLength: LIMITS.devSnoMaxLength });
const subDevices = Type.Array(AnySubDeviceSchema, { maxItems: LIMITS.subDevicesMax });

/** Today's dialect with the superset sub-device (vendor ep_type codes and names, ep_url, ep_detail). */
export const CurrentAnySchema = Type.Object({ dev_sno: devSno, sub_devices: subDevices }, { additionalProperties: true });

/** The richer dialect: today's report plus what the box says about itself. */
export const RichReportSchema = Type.Object(
  {
    dev_sno: devSno,
    gateway_sn: Type.Optional(text()),
    gateway_ip: Type.Optional(text()),
    gateway_name: Type.Optional(text()),
    gateway_status: Type.Optional(status),
    gateway_ext_data: Type.Optional(RichExtDataSchema),
    sub_devices: subDevices,
  },
  { additionalProperties: true },
);

/** The older dialect: the box is named by its serial number only. */
export const LegacyReportSchema = Type.Object(
  {
    gateway_sn: devSno,
    gateway_ext_data: Type.Optional(LegacyExtDataSchema),
    sub_devices: subDevices,
  },
  { additionalProperties: true },
);

export type AnySubDeviceWire = Static<typeof AnySubDeviceSchema>;
export type RichReportWire = Static<typeof RichReportSchema>;
export type LegacyReportWire = Static<typeof LegacyReportSchema>;

/** Top-level fields each dialect defines; the rest of a body is kept as extra. */
export const KNOWN_FIELDS: Record<Dialect, ReadonlySet<string>> = {
  current: new Set(['dev_sno', 'sub_devices']),
  rich: new Set(['dev_sno', 'gateway_sn', 'gateway_ip', 'gateway_name', 'gateway_status', 'gateway_ext_data', 'sub_devices']),
  legacy: new Set(['gateway_sn', 'gateway_ext_data', 'sub_devices']),
};

export const KNOWN_ANY_SUB_FIELDS: ReadonlySet<string> = new Set(Object.keys(AnySubDeviceSchema.properties));
export const KNOWN_RICH_EXT_FIELDS: ReadonlySet<string> = new Set(Object.keys(RichExtDataSchema.properties));
export const KNOWN_LEGACY_EXT_FIELDS: ReadonlySet<string> = new Set(Object.keys(LegacyExtDataSchema.properties));

const RICH_MARKERS = ['gateway_sn', 'gateway_ip', 'gateway_name', 'gateway_status', 'gateway_ext_data'] as const;

/**
 * Which dialect a parsed body is in: no dev_sno but a gateway_sn is the older one; dev_sno with
 * any gateway_* field is the richer one; anything else is today's (and is checked as such, so a
 * body with neither name is told dev_sno is required).
 */
export function detectDialect(body: Record<string, unknown>): Dialect {
  if (body.dev_sno === undefined) return body.gateway_sn !== undefined ? 'legacy' : 'current';
  for (const k of RICH_MARKERS) if (body[k] !== undefined) return 'rich';
  return 'current';
}
