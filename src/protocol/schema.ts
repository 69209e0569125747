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

/**
 * Named forms of the vendor's numeric ep_type codes (richer and older dialects). 'gate' and
 * 'snapshot' are the two kinds today's 'photo' covers; the two IPC kinds are cameras whose
 * stream address is fixed (static) or handed out by a platform (dynamic).
 */
export const VENDOR_EP_TYPES = ['gate', 'snapshot', 'ipc_static', 'ipc_dynamic', 'access_control'] as const;
export type VendorEpType = (typeof VENDOR_EP_TYPES)[number];
/** The vendor's code for each named vendor type: the index in VENDOR_EP_TYPES. */
export const EP_TYPE_CODES: Readonly<Record<VendorEpType, number>> = { gate: 0, snapshot: 1, ipc_static: 2, ipc_dynamic: 3, access_control: 4 };
/** Every ep_type a report may carry by name: today's four, then the vendor kinds. */
export const REPORT_EP_TYPES = [...EP_TYPES, ...VENDOR_EP_TYPES] as const;
export type ReportEpType = EpType | VendorEpType;

/** The named type of a vendor code, or undefined for a code the vendor does not define. */
export function epTypeOfCode(code: number): VendorEpType | undefined {
  return Number.isInteger(code) ? VENDOR_EP_TYPES[code] : undefined;
}

export const LIMITS = {
  devSnoMaxLength: 128,
  fieldMaxLength: 2048,
  subDevicesMax: 4096,
  /** ep_detail is a short reason; a longer one is cut to this many characters (ending in …). */
  epDetailMaxLength: 256,
  /** How deep an unknown field may nest objects and arrays (a deeper one is refused by name). */
  extraMaxDepth: 32,
} as const;

/**
 * Cuts a reason (ep_detail) to LIMITS.epDetailMaxLength, marking the cut; counts code points so no
 * surrogate is split. A long reason never costs the box its report.
 */
export function boundDetail(detail: string): string {
  const max = LIMITS.epDetailMaxLength;
  if (detail.length <= max) return detail;
  const chars = Array.from(detail);
  return chars.length <= max ? detail : `${chars.slice(0, max - 1).join('')}…`;
}

/** The three shapes of the status report this platform accepts (see docs/protocol-dialects.md). */
export const DIALECTS = ['current', 'rich', 'legacy'] as const;
export type Dialect = (typeof DIALECTS)[number];

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

/** The older dialect's per-sub-device block. */
export interface SubDeviceExtData {
  sw_version?: string;
  group_name?: string;
  /** Further fields of ep_ext_data, kept as sent. */
  [field: string]: unknown;
}

/** A sub-device after normalization: ep_name always present, unknown fields split off. */
export interface SubDevice {
  ep_id: string;
  ep_ip: string;
  ep_status: EpStatus;
  ep_location: string;
  ep_type: ReportEpType;
  ep_name: string;
  /** Set when the box sent ep_type as the vendor's number: the echo sends the number back. */
  ep_type_code?: number;
  /** The stream address as sent, credentials included: show it through redactUrl. */
  ep_url?: string;
  /** Why the sub-device is offline ("DESCRIBE 401 credentials rejected", "ECONNREFUSED", "timeout"). */
  ep_detail?: string;
  ep_ext_data?: SubDeviceExtData;
  /** Fields the protocol does not define, kept as sent. */
  extra: Record<string, unknown>;
}

/**
 * The box's own health, in one set of units whatever the dialect: percentages 0-100 (a box that
 * counts every core as 100% may send more; that is kept as sent), sizes in bytes.
 */
export interface BoxHealth {
  cpu_pct?: number;
  mem_pct?: number;
  mem_total_bytes?: number;
  disk_pct?: number;
  disk_total_bytes?: number;
  disk_free_bytes?: number;
  sw_version?: string;
  sdk_version?: string;
  /** The box's MAC address as sent (gateway_mac). */
  mac?: string;
  /** The older dialect's status code and its description, as sent. */
  status_code?: string | number;
  status_desc?: string;
}

/** What the richer dialect says about the box itself. */
export interface GatewayInfo {
  /** The box's serial number (gateway_sn), apart from its authorization code dev_sno. */
  sn?: string;
  ip?: string;
  name?: string;
  status?: EpStatus;
  /** Fields of gateway_ext_data no dialect defines, kept as sent. */
  ext_extra?: Record<string, unknown>;
}

export interface Report {
  dev_sno: string;
  sub_devices: SubDevice[];
  extra: Record<string, unknown>;
  /** The dialect the report came in (absent: built here, sent as the current dialect). */
  dialect?: Dialect;
  health?: BoxHealth;
  gateway?: GatewayInfo;
}

/** ep_id as the protocol defines it: `<dev_sno>__<ip or rtsp url>`. */
export function makeEpId(devSno: string, ipOrUrl: string): string {
  return `${devSno}${EP_ID_SEPARATOR}${ipOrUrl}`;
}
