// The sub-device change event: a box tells the platform it added (action 1) or deleted
// (action 2) sub-devices. The box is named by dev_sno, or by gateway_sn alone in the older
// dialect. A deleted sub-device needs only its ep_id; the other fields are checked when sent.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { EpTypeWireSchema, SubDeviceExtDataSchema } from './dialect-schema.js';
import { ReportValidationError } from './errors.js';
import { EP_ID_SEPARATOR, EP_STATUSES, epTypeOfCode, LIMITS, type EpStatus, type ReportEpType, type SubDeviceExtData } from './schema.js';
import { describeValueError, pickExtra, pointerToField, REASONS } from './validate.js';

export const SUB_DEVICE_ACTIONS = { 1: 'add', 2: 'delete' } as const;
export type SubDeviceAction = (typeof SUB_DEVICE_ACTIONS)[keyof typeof SUB_DEVICE_ACTIONS];

const text = (opts: { minLength?: number } = {}) => Type.String({ maxLength: LIMITS.fieldMaxLength, ...opts });

export const EventSubDeviceSchema = Type.Object(
  {
    ep_id: text({ minLength: 1 }),
    ep_ip: Type.Optional(text()),
    ep_status: Type.Optional(Type.Union(EP_STATUSES.map((s) => Type.Literal(s)))),
    ep_location: Type.Optional(text()),
    ep_type: Type.Optional(EpTypeWireSchema),
    ep_name: Type.Optional(text()),
    ep_url: Type.Optional(text()),
    ep_ext_data: Type.Optional(SubDeviceExtDataSchema),
  },
  { additionalProperties: true },
);

export const SubDeviceEventSchema = Type.Object(
  {
    dev_sno: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.devSnoMaxLength })),
    gateway_sn: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.devSnoMaxLength })),
    action: Type.Union([Type.Literal(1), Type.Literal(2)]),
    sub_devices: Type.Array(EventSubDeviceSchema, { minItems: 1, maxItems: LIMITS.subDevicesMax }),
  },
  { additionalProperties: true },
);

export type SubDeviceEventWire = Static<typeof SubDeviceEventSchema>;

export interface EventSubDevice {
  ep_id: string;
  ep_ip?: string;
  ep_status?: EpStatus;
  ep_location?: string;
  ep_type?: ReportEpType;
  ep_type_code?: number;
  ep_name?: string;
  ep_url?: string;
  ep_ext_data?: SubDeviceExtData;
  extra: Record<string, unknown>;
}

export interface SubDeviceEvent {
  /** dev_sno, or gateway_sn when the box sent only that. */
  dev_sno: string;
  /** Which name the box used for itself, to answer in kind. */
  named_by: 'dev_sno' | 'gateway_sn';
  /** gateway_sn when sent next to dev_sno. */
  gateway_sn?: string;
  action: SubDeviceAction;
  sub_devices: EventSubDevice[];
  extra: Record<string, unknown>;
}

const check = TypeCompiler.Compile(SubDeviceEventSchema);
const KNOWN_EVENT = new Set(['dev_sno', 'gateway_sn', 'action', 'sub_devices']);
const KNOWN_SUB = new Set(Object.keys(EventSubDeviceSchema.properties));
const OPTIONAL_TEXT = ['ep_ip', 'ep_location', 'ep_name', 'ep_url'] as const;

/** Validates a parsed event body. Throws ReportValidationError naming the first bad field. */
export function parseSubDeviceEvent(body: unknown): SubDeviceEvent {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ReportValidationError('(body)', 'must be a JSON object');
  }
  const b = { ...(body as Record<string, unknown>) };
  if (typeof b.action === 'string' && /^\s*[12]\s*$/.test(b.action)) b.action = Number(b.action);
  for (const k of ['dev_sno', 'gateway_sn'] as const) if (typeof b[k] === 'string') b[k] = (b[k] as string).trim();
  if (b.dev_sno === undefined && b.gateway_sn === undefined) throw new ReportValidationError('dev_sno', 'is required (or gateway_sn)');
  if (!check.Check(b)) {
    const first = check.Errors(b).First();
    const field = first ? pointerToField(first.path) : '(body)';
    const reason =
      field === 'action' ? 'must be 1 (sub-devices added) or 2 (sub-devices deleted)' : first ? describeValueError(first) : 'does not match the event schema';
    throw new ReportValidationError(field, reason);
  }
  const namedBy = b.dev_sno !== undefined ? 'dev_sno' : 'gateway_sn';
  const devSno = (b.dev_sno ?? b.gateway_sn)!;
  if (devSno.includes('\u0000')) throw new ReportValidationError(namedBy, REASONS.nul);
  const prefix = devSno + EP_ID_SEPARATOR;
  const seen = new Set<string>();
  const subs = b.sub_devices.map((s, i): EventSubDevice => {
    const field = (name: string) => `sub_devices[${i}].${name}`;
    const id = s.ep_id.trim();
    if (id.includes('\u0000')) throw new ReportValidationError(field('ep_id'), REASONS.nul);
    if (!id.startsWith(prefix)) throw new ReportValidationError(field('ep_id'), REASONS.epIdPrefix(devSno));
    if (id.length === prefix.length) throw new ReportValidationError(field('ep_id'), REASONS.epIdMissing);
    if (seen.has(id)) throw new ReportValidationError(field('ep_id'), REASONS.repeated);
    seen.add(id);
    const out: EventSubDevice = { ep_id: id, extra: pickExtra(s, KNOWN_SUB, `sub_devices[${i}]`) };
    for (const f of OPTIONAL_TEXT) {
      const v = s[f];
      if (v === undefined) continue;
      if (v.includes('\u0000')) throw new ReportValidationError(field(f), REASONS.nul);
      out[f] = v.trim();
    }
    if (s.ep_status !== undefined) out.ep_status = s.ep_status;
    if (typeof s.ep_type === 'number') {
      out.ep_type = epTypeOfCode(s.ep_type);
      out.ep_type_code = s.ep_type;
    } else if (s.ep_type !== undefined) out.ep_type = s.ep_type;
    if (s.ep_ext_data !== undefined) out.ep_ext_data = pickExtra(s.ep_ext_data, new Set(), field('ep_ext_data')) as SubDeviceExtData;
    return out;
  });
  const event: SubDeviceEvent = {
    dev_sno: devSno,
    named_by: namedBy,
    action: SUB_DEVICE_ACTIONS[b.action],
    sub_devices: subs,
    extra: pickExtra(b, KNOWN_EVENT),
  };
  if (b.dev_sno !== undefined && b.gateway_sn !== undefined) event.gateway_sn = b.gateway_sn;
  return event;
}

/** The event on the wire, naming the box as it named itself. */
export function toEventWire(event: SubDeviceEvent): Record<string, unknown> {
  const code = event.action === 'add' ? 1 : 2;
  const subs = event.sub_devices.map(({ extra, ep_type_code, ep_type, ...known }) => ({
    ...known,
    ...(ep_type !== undefined ? { ep_type: ep_type_code ?? ep_type } : {}),
    ...extra,
  }));
  return {
    [event.named_by]: event.dev_sno,
    ...(event.gateway_sn !== undefined ? { gateway_sn: event.gateway_sn } : {}),
    action: code,
    sub_devices: subs,
    ...event.extra,
  };
}
