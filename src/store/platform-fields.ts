// What the richer dialects add to a report, kept without touching the ingest code of either store:
// the fields ride in the `extra` JSON the stores already write (a sub-device's extra and the
// box's extra), under names no box sends, and are lifted back out when rows are read.
//
// - A sub-device's ep_detail, ep_url, ep_type_code and ep_ext_data go into its row's extra. The
//   stores compare extra to decide whether a row must be rewritten, so a new offline reason is
//   written at once, and an unchanged one costs nothing.
// - The box's dialect, gateway info and latest health go into the box's extra under DEVSTATUS_KEY.
//   The stores rewrite the box's extra with every report that differs from the last, so the
//   latest health is stored with the report that carried it, for no extra statement.
// Reads lift both back out (liftSubFields, liftBoxFields): `extra` shows only what the box sent
// that no dialect defines, as before.
import { redactUrl, type BoxHealth, type Dialect, type GatewayInfo, type Report, type SubDevice, type SubDeviceExtData } from '../protocol/index.js';

/** The box extra key holding what devstatus knows of the box beyond today's report. */
export const DEVSTATUS_KEY = '$devstatus';
/** Sub-device extra keys holding the richer fields (a box's own extra keys never start with $). */
const SUB_KEYS = { ep_detail: '$ep_detail', ep_url: '$ep_url', ep_type_code: '$ep_type_code', ep_ext_data: '$ep_ext_data' } as const;

export interface BoxPlatformFields {
  dialect?: Dialect;
  gateway?: GatewayInfo;
  health?: BoxHealth;
}

export interface SubPlatformFields {
  ep_detail?: string;
  /** Shown with credentials hidden (redactUrl). */
  ep_url?: string;
  ep_type_code?: number;
  ep_ext_data?: SubDeviceExtData;
}

function foldSub(s: SubDevice): SubDevice {
  if (s.ep_detail === undefined && s.ep_url === undefined && s.ep_type_code === undefined && s.ep_ext_data === undefined) return s;
  const extra: Record<string, unknown> = { ...s.extra };
  if (s.ep_detail !== undefined) extra[SUB_KEYS.ep_detail] = s.ep_detail;
  if (s.ep_url !== undefined) extra[SUB_KEYS.ep_url] = s.ep_url;
  if (s.ep_type_code !== undefined) extra[SUB_KEYS.ep_type_code] = s.ep_type_code;
  if (s.ep_ext_data !== undefined) extra[SUB_KEYS.ep_ext_data] = s.ep_ext_data;
  return { ...s, extra };
}

/**
 * The report as the stores keep it: the richer fields folded into extras (see above). A report
 * in today's dialect with none of them is returned as it is (the same object).
 */
export function storedFormOf(report: Report): Report {
  const subs = report.sub_devices.map(foldSub);
  const changedSubs = subs.some((s, i) => s !== report.sub_devices[i]);
  const box: BoxPlatformFields = {};
  if (report.dialect && report.dialect !== 'current') box.dialect = report.dialect;
  if (report.gateway) box.gateway = report.gateway;
  if (report.health) box.health = report.health;
  const hasBox = Object.keys(box).length > 0;
  if (!changedSubs && !hasBox) return report;
  return {
    ...report,
    sub_devices: changedSubs ? subs : report.sub_devices,
    extra: hasBox ? { ...report.extra, [DEVSTATUS_KEY]: box } : report.extra,
  };
}

/** Splits a stored sub-device extra into what the box sent unknown and the richer fields. */
export function liftSubFields(stored: Record<string, unknown>): { extra: Record<string, unknown>; fields: SubPlatformFields } {
  let extra = stored;
  const fields: SubPlatformFields = {};
  for (const [name, key] of Object.entries(SUB_KEYS)) {
    if (!(key in stored)) continue;
    if (extra === stored) extra = { ...stored };
    const v = extra[key];
    delete extra[key];
    if (name === 'ep_url') fields.ep_url = redactUrl(String(v));
    else (fields as Record<string, unknown>)[name] = v;
  }
  return { extra, fields };
}

/** Splits a stored box extra into what the box sent unknown and the dialect, gateway and health. */
export function liftBoxFields(stored: Record<string, unknown>): { extra: Record<string, unknown>; fields: BoxPlatformFields } {
  if (!(DEVSTATUS_KEY in stored)) return { extra: stored, fields: {} };
  const { [DEVSTATUS_KEY]: fields, ...extra } = stored;
  return { extra, fields: (fields ?? {}) as BoxPlatformFields };
}

/**
 * The reason a box gave for a sub-device (ep_detail), whether the report is as parsed or in the
 * stored form (the reason folded into extra). The diff puts it on the sub-device's transition to
 * offline, so it is in the history row, the events, the log and the alerts.
 */
export function epDetailOf(s: SubDevice): string | undefined {
  const detail = s.ep_detail ?? s.extra[SUB_KEYS.ep_detail];
  return typeof detail === 'string' ? detail : undefined;
}
