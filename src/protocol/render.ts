// A normalized report back on the wire, in the dialect it came in: the echo answers a box in
// its own words. Today's dialect is rendered by toWire, exactly as before.
import { legacyExtData, richExtData } from './health.js';
import type { Report } from './schema.js';
import { subDeviceToWire, toWire } from './validate.js';

/** Drops undefined values so an absent field stays absent on the wire. */
function present(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

/** The report in the dialect it came in (report.dialect); today's when it has none. */
export function toDialectWire(report: Report): Record<string, unknown> {
  switch (report.dialect) {
    case 'rich':
      return toRichWire(report);
    case 'legacy':
      return toLegacyWire(report);
    default:
      return toWire(report);
  }
}

export function toRichWire(report: Report): Record<string, unknown> {
  const g = report.gateway ?? {};
  return {
    dev_sno: report.dev_sno,
    ...present({
      gateway_sn: g.sn,
      gateway_ip: g.ip,
      gateway_name: g.name,
      gateway_status: g.status,
      gateway_ext_data: richExtData(report.health, g.ext_extra),
    }),
    sub_devices: report.sub_devices.map(subDeviceToWire),
    ...report.extra,
  };
}

export function toLegacyWire(report: Report): Record<string, unknown> {
  return {
    gateway_sn: report.dev_sno,
    ...present({ gateway_ext_data: legacyExtData(report.health, report.gateway?.ext_extra) }),
    sub_devices: report.sub_devices.map(subDeviceToWire),
    ...report.extra,
  };
}
