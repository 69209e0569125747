// The wire format of the device status report (see shared/seeds/device-status-report.md).
// This file is the one source of truth: the receiver validates with it, the agent and the
// simulator build reports with its types.
import { Type, type Static } from '@sinclair/typebox';

export const EP_STATUSES = ['online', 'offline'] as const;
export const EP_TYPES = ['photo', 'rtsp', 'file', 'gb28181'] as const;
export type EpStatus = (typeof EP_STATUSES)[number];
export type EpType = (typeof EP_TYPES)[number];

/** Separator between dev_sno and the ip / rtsp url inside ep_id. */
export const EP_ID_SEPARATOR = '__';

export const LIMITS = {
  devSnoMaxLength: 128,
  fieldMaxLength: 2048,
  subDevicesMax: 4096,
} as const;

const text = (opts: { minLength?: number; maxLength?: number } = {}) =>
  Type.String({ maxLength: LIMITS.fieldMaxLength, ...opts });

// Extra, unknown fields are allowed (and kept) on both levels: newer box firmware may add some.
export const SubDeviceSchema = Type.Object(
  {
    ep_id: text({ minLength: 1 }),
    ep_ip: text(),
    ep_status: Type.Union(EP_STATUSES.map((s) => Type.Literal(s))),
    ep_location: text(),
    ep_type: Type.Union(EP_TYPES.map((t) => Type.Literal(t))),
    ep_name: Type.Optional(text()),
  },
  { additionalProperties: true },
);

export const ReportSchema = Type.Object(
  {
    dev_sno: Type.String({ minLength: 1, maxLength: LIMITS.devSnoMaxLength }),
    sub_devices: Type.Array(SubDeviceSchema, { maxItems: LIMITS.subDevicesMax }),
  },
  { additionalProperties: true },
);

export type SubDeviceWire = Static<typeof SubDeviceSchema>;
export type ReportWire = Static<typeof ReportSchema>;

/** A sub-device after normalization: ep_name always present, unknown fields split off. */
export interface SubDevice {
  ep_id: string;
  ep_ip: string;
  ep_status: EpStatus;
  ep_location: string;
  ep_type: EpType;
  ep_name: string;
  /** Fields the protocol does not define, kept as sent. */
  extra: Record<string, unknown>;
}

export interface Report {
  dev_sno: string;
  sub_devices: SubDevice[];
  extra: Record<string, unknown>;
}

/** ep_id as the protocol defines it: `<dev_sno>__<ip or rtsp url>`. */
export function makeEpId(devSno: string, ipOrUrl: string): string {
  return `${devSno}${EP_ID_SEPARATOR}${ipOrUrl}`;
}
