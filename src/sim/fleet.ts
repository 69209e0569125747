// A made-up but plausible fleet of boxes, deterministic from a seed: the same seed gives the
// same dev_snos, sub-devices and addresses, so a run can be repeated against a platform.
import {
  EP_ID_SEPARATOR,
  makeEpId,
  parseAnyReport,
  parseReport,
  toDialectWire,
  type BoxHealth,
  type EpStatus,
  type EpType,
  type Report,
  type SubDevice,
} from '../protocol/index.js';

/** mulberry32: small, fast, good enough for test data (not for anything secret). */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rng = () => number;

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

const LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ';

function uuid(rng: Rng): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rng() * 16).toString(16));
  hex[12] = '4';
  hex[16] = '89ab'[Math.floor(rng() * 4)]!;
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * Authorization code shaped like the vendor's (`ZKZCPI000120190807142601`): `ZKZC`, two letters,
 * a 4-digit batch, and a yyyymmddhhmmss issue time. The issue time grows with the index, so
 * codes are unique within a fleet.
 */
export function devSnoFor(index: number, seed: number): string {
  const rng = createRng(seed ^ 0x5eed);
  const letters = pick(rng, LETTERS.split('')) + pick(rng, LETTERS.split(''));
  const batch = 1 + Math.floor(index / 10_000);
  const base = Date.UTC(2019, 0, 1) + Math.floor(rng() * 365) * 86_400_000;
  const t = new Date(base + index * 37_000);
  const stamp =
    pad(t.getUTCFullYear(), 4) +
    pad(t.getUTCMonth() + 1, 2) +
    pad(t.getUTCDate(), 2) +
    pad(t.getUTCHours(), 2) +
    pad(t.getUTCMinutes(), 2) +
    pad(t.getUTCSeconds(), 2);
  return `ZKZC${letters}${pad(batch % 10_000, 4)}${stamp}`;
}

// Field mix seen on real sites: mostly RTSP cameras, then gates/snapshot cameras.
const TYPE_WEIGHTS: Array<[EpType, number]> = [
  ['rtsp', 0.5],
  ['photo', 0.25],
  ['gb28181', 0.15],
  ['file', 0.1],
];

function pickType(rng: Rng): EpType {
  let r = rng();
  for (const [type, w] of TYPE_WEIGHTS) {
    if (r < w) return type;
    r -= w;
  }
  return 'rtsp';
}

const PLACES = ['东门', '西门', '北门', '南门', '大厅', '停车场', '仓库', '电梯厅', '走廊', 'gate', 'lobby', 'yard'];
const RTSP_PATHS = ['/h264/ch1/main/av_stream', '/Streaming/Channels/101', '/cam/realmonitor?channel=1&subtype=0', '/live/main'];

export interface SimSubDevice {
  ep_id: string;
  ep_ip: string;
  ep_location: string;
  ep_type: EpType;
  ep_name: string;
}

export interface SimBox {
  index: number;
  dev_sno: string;
  subDevices: SimSubDevice[];
  /** What the richer dialect and the login say about the box itself. */
  mac: string;
  serial: string;
  ip: string;
  name: string;
  /** The camera account the box's stream addresses carry (made up). */
  streamCredentials: string;
}

function subDevicesFor(devSno: string, count: number, rng: Rng): SimSubDevice[] {
  // Each box sits on its own site LAN; addresses repeat across boxes, as they do in the field.
  const lan = pick(rng, ['192.168.1', '192.168.0', '192.168.10', '10.0.0', '172.16.1']);
  const locations = Array.from({ length: Math.max(1, Math.ceil(count / 4)) }, () => uuid(rng));
  const subs: SimSubDevice[] = [];
  for (let j = 0; j < count; j++) {
    const type = pickType(rng);
    const host = 100 + (j % 150);
    const ip = j < 150 ? `${lan}.${host}` : `10.${1 + Math.floor(j / 150 / 250)}.${Math.floor(j / 150) % 250}.${host}`;
    const place = pick(rng, PLACES);
    const n = j + 1;
    let ep_ip = ip;
    let address = ip;
    let ep_name: string;
    switch (type) {
      case 'rtsp':
        address = `rtsp://${ip}:554${pick(rng, RTSP_PATHS)}`;
        ep_name = `${place} camera ${n}`;
        break;
      case 'photo':
        ep_name = `${place} 抓拍机 ${n}`;
        break;
      case 'gb28181':
        ep_name = `${place} GB 3402000000132${pad(n, 7)}`;
        break;
      case 'file':
        ep_ip = '';
        address = `/system/data/videos/${place}-${pad(n, 3)}.mp4`;
        ep_name = `recording ${n}`;
        break;
    }
    subs.push({ ep_id: makeEpId(devSno, address), ep_ip, ep_location: pick(rng, locations), ep_type: type, ep_name });
  }
  return subs;
}

const hex = (rng: Rng, digits: number) => Array.from({ length: digits }, () => Math.floor(rng() * 16).toString(16)).join('');

/** The box itself: from its own random stream, so the sub-devices stay what they were before. */
function identityFor(index: number, subDevices: SimSubDevice[], seed: number) {
  const rng = createRng(seed * 104_729 + index + 1);
  // Sophon boxes' MACs start with the vendor's prefix; the rest is the box's own.
  const mac = `e0a509${hex(rng, 6)}`;
  const lan = subDevices.find((s) => s.ep_ip)?.ep_ip.split('.').slice(0, 3).join('.') ?? '192.168.1';
  return {
    mac,
    serial: `SE3A${pad(2100 + Math.floor(rng() * 400), 4)}${pad(index % 1_000_000, 6)}`,
    ip: `${lan}.${2 + Math.floor(rng() * 50)}`,
    name: `${pick(rng, PLACES)} AI 盒子 ${index + 1}`,
    streamCredentials: `admin:${hex(rng, 8)}`,
  };
}

export function buildFleet(opts: { boxes: number; subDevices: number; seed: number }): SimBox[] {
  const fleet: SimBox[] = [];
  for (let i = 0; i < opts.boxes; i++) {
    const dev_sno = devSnoFor(i, opts.seed);
    const subDevices = subDevicesFor(dev_sno, opts.subDevices, createRng(opts.seed * 7919 + i));
    fleet.push({ index: i, dev_sno, subDevices, ...identityFor(i, subDevices, opts.seed) });
  }
  return fleet;
}

/** The report a box sends with the given sub-device statuses, checked against the protocol. */
export function reportFor(box: SimBox, statuses: readonly EpStatus[], check = false): Report {
  const sub_devices: SubDevice[] = box.subDevices.map((s, j) => ({ ...s, ep_status: statuses[j] ?? 'online', extra: {} }));
  const report: Report = { dev_sno: box.dev_sno, sub_devices, extra: {} };
  // parseReport throws if the simulator ever builds something a strict receiver would refuse.
  return check ? parseReport({ dev_sno: report.dev_sno, sub_devices: sub_devices.map(({ extra: _e, ...s }) => s) }) : report;
}

/** The stream address a box would hold for an RTSP sub-device, camera account included. */
export function streamUrlFor(box: SimBox, sub: SimSubDevice): string | undefined {
  if (sub.ep_type !== 'rtsp') return undefined;
  const address = sub.ep_id.slice(box.dev_sno.length + EP_ID_SEPARATOR.length);
  return address.replace('rtsp://', `rtsp://${box.streamCredentials}@`);
}

/**
 * The report in the richer dialect: the box's health and identity, stream addresses, and why
 * each offline sub-device is offline (details[j], when known).
 */
export function richReportFor(
  box: SimBox,
  statuses: readonly EpStatus[],
  health: BoxHealth,
  details: ReadonlyArray<string | undefined> = [],
  check = false,
): Report {
  const sub_devices: SubDevice[] = box.subDevices.map((s, j) => {
    const status = statuses[j] ?? 'online';
    const sub: SubDevice = { ...s, ep_status: status, extra: {} };
    const url = streamUrlFor(box, s);
    if (url) sub.ep_url = url;
    const detail = details[j];
    if (status === 'offline' && detail) sub.ep_detail = detail;
    return sub;
  });
  const report: Report = {
    dev_sno: box.dev_sno,
    sub_devices,
    extra: {},
    dialect: 'rich',
    gateway: { sn: box.serial, ip: box.ip, name: box.name, status: 'online' },
    health,
  };
  // As for reportFor: what the simulator builds must be what a strict receiver accepts.
  return check ? parseAnyReport(JSON.parse(JSON.stringify(toDialectWire(report)))).report : report;
}
