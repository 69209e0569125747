// How simulated boxes and their cameras behave over time: cameras that fail mostly come back, so
// the share offline stays near a set level; a box's CPU and memory wander, its disk fills up
// with recordings until they are rotated out.
import type { BoxHealth, EpStatus, EpType } from '../protocol/index.js';
import type { Rng } from './fleet.js';

export interface FlapRates {
  /** Chance per report that an online sub-device goes offline. */
  fail: number;
  /** Chance per report that an offline sub-device comes back. */
  recover: number;
}

/**
 * Per-report chances that give `flap` status changes per sub-device and report on average,
 * with `offlineShare` of the sub-devices offline in the long run: a two-state chain whose
 * steady state is fail / (fail + recover) = offlineShare, changing 2 x share x recover of the
 * time. A flap rate too high for the share is capped (an offline camera then comes back at its
 * very next report).
 */
export function flapRates(flap: number, offlineShare: number): FlapRates {
  if (flap <= 0 || offlineShare <= 0) return { fail: 0, recover: offlineShare <= 0 ? 1 : 0 };
  if (offlineShare >= 1) return { fail: 1, recover: 0 };
  const recover = Math.min(1, flap / (2 * offlineShare));
  return { fail: (recover * offlineShare) / (1 - offlineShare), recover };
}

/** Moves every sub-device one report ahead; returns how many changed status. */
export function stepStatuses(statuses: EpStatus[], rates: FlapRates, rng: Rng): number {
  let changes = 0;
  for (let j = 0; j < statuses.length; j++) {
    const online = statuses[j] === 'online';
    if (rng() < (online ? rates.fail : rates.recover)) {
      statuses[j] = online ? 'offline' : 'online';
      changes++;
    }
  }
  return changes;
}

/** Why a sub-device of this type is offline, as a box's probe would put it. */
export function offlineReason(type: EpType, rng: Rng): string {
  const reasons: Record<EpType, readonly string[]> = {
    rtsp: ['DESCRIBE 401 credentials rejected', 'ECONNREFUSED', 'timeout', 'EHOSTUNREACH'],
    photo: ['ECONNREFUSED', 'timeout', 'EHOSTUNREACH'],
    gb28181: ['REGISTER expired', 'timeout', 'SIP 403 forbidden'],
    file: ['ENOENT'],
  };
  const list = reasons[type];
  return list[Math.floor(rng() * list.length)]!;
}

export interface HealthState {
  cpuPct: number;
  memPct: number;
  memTotalMb: number;
  diskTotalMb: number;
  diskFreeMb: number;
  swVersion: string;
  sdkVersion: string;
  mac: string;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round1 = (n: number) => Math.round(n * 10) / 10;

/** A box's starting health: its fixed sizes and versions, and where its load starts. */
export function initialHealth(rng: Rng, mac: string): HealthState {
  const diskTotalMb = [30_720, 61_440, 122_880][Math.floor(rng() * 3)]!;
  return {
    cpuPct: 5 + rng() * 40,
    memPct: 30 + rng() * 30,
    memTotalMb: [2048, 4096, 8192][Math.floor(rng() * 3)]!,
    diskTotalMb,
    diskFreeMb: Math.round(diskTotalMb * (0.3 + rng() * 0.5)),
    swVersion: ['2.3.1', '2.4.0', '2.4.1'][Math.floor(rng() * 3)]!,
    sdkVersion: ['3.0.0', '3.1.2'][Math.floor(rng() * 2)]!,
    mac,
  };
}

/**
 * One report later: CPU wanders within 5-60%, memory within 20-90%, the disk loses a little
 * free space to recordings and gets half of itself back when old ones are rotated out at 3% free.
 */
export function nextHealth(h: HealthState, rng: Rng): void {
  h.cpuPct = clamp(h.cpuPct + (rng() - 0.5) * 10, 5, 60);
  h.memPct = clamp(h.memPct + (rng() - 0.5) * 4, 20, 90);
  h.diskFreeMb = Math.max(0, h.diskFreeMb - Math.round(h.diskTotalMb * 0.0002 * (0.5 + rng())));
  if (h.diskFreeMb < h.diskTotalMb * 0.03) h.diskFreeMb = Math.round(h.diskTotalMb * 0.5);
}

/** The health as the protocol model carries it (bytes, percentages). */
export function healthOf(h: HealthState): BoxHealth {
  const mb = 1024 * 1024;
  return {
    cpu_pct: round1(h.cpuPct),
    mem_pct: round1(h.memPct),
    mem_total_bytes: h.memTotalMb * mb,
    disk_pct: round1(100 * (1 - h.diskFreeMb / h.diskTotalMb)),
    disk_total_bytes: h.diskTotalMb * mb,
    disk_free_bytes: h.diskFreeMb * mb,
    sw_version: h.swVersion,
    sdk_version: h.sdkVersion,
    mac: h.mac,
  };
}
