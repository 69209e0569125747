// What the agent says about the box it runs on, read from the OS: its main network interface
// (MAC and address, for the login and gateway_ip), CPU use between two rounds, memory, the disk
// its queue lives on, and the devstatus version. Sent in the richer dialect (gateway_*); the
// units are the protocol's (BoxHealth: percentages and bytes; the wire's MB come from render.ts).
import { readFileSync, statfsSync, type StatsFs } from 'node:fs';
import { dirname } from 'node:path';
import { cpus, freemem, hostname, networkInterfaces, totalmem, type NetworkInterfaceInfo } from 'node:os';
import { BYTES_PER_MB } from '../protocol/health.js';
import type { BoxHealth, GatewayInfo } from '../protocol/schema.js';

export interface MainInterface {
  name: string;
  /** aa:bb:cc:dd:ee:ff */
  mac: string;
  /** Its IPv4 address (else IPv6), when it has one. */
  ip?: string;
}

const NO_MAC = '00:00:00:00:00:00';

/** The interface of the default route, from /proc/net/route (Linux); undefined elsewhere. */
function defaultRouteInterface(): string | undefined {
  try {
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const [iface, destination, , , , , , mask] = line.trim().split(/\s+/);
      if (iface && destination === '00000000' && mask === '00000000') return iface;
    }
  } catch {
    // not Linux, or /proc not mounted
  }
  return undefined;
}

/**
 * The box's main interface: the one the default route goes out of, else the first (by name) that
 * is not loopback and has a MAC. undefined when there is none (a container without a network).
 */
export function mainInterface(interfaces = networkInterfaces(), routeIface = defaultRouteInterface()): MainInterface | undefined {
  const usable = (addrs: NetworkInterfaceInfo[] | undefined) => (addrs ?? []).filter((a) => !a.internal && a.mac && a.mac !== NO_MAC);
  const names = Object.keys(interfaces).sort();
  const name = routeIface && usable(interfaces[routeIface]).length ? routeIface : names.find((n) => usable(interfaces[n]).length > 0);
  if (!name) return undefined;
  const addrs = usable(interfaces[name]);
  const ip = addrs.find((a) => a.family === 'IPv4') ?? addrs[0];
  return { name, mac: addrs[0]!.mac, ...(ip ? { ip: ip.address } : {}) };
}

/** The box's serial number where the board publishes it (ARM boards' device tree); else undefined. */
export function boardSerial(): string | undefined {
  try {
    const sn = readFileSync('/proc/device-tree/serial-number', 'utf8').replace(/\0/g, '').trim();
    return sn || undefined;
  } catch {
    return undefined;
  }
}

/** devstatus's version (package.json two folders up from dist/agent, dist/cli and src/agent alike). */
export function devstatusVersion(): string | undefined {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** The file system holding `dir`, or its nearest existing parent (the queue folder may not exist yet). */
function statfsOf(dir: string): StatsFs | undefined {
  for (let d = dir; ; d = dirname(d)) {
    try {
      return statfsSync(d);
    } catch {
      if (dirname(d) === d) return undefined;
    }
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;
/** Whole MB (2^20 bytes), so the wire's MB figures are whole numbers. */
const wholeMb = (bytes: number) => Math.round(bytes / BYTES_PER_MB) * BYTES_PER_MB;

interface CpuTimes {
  busy: number;
  total: number;
}

function cpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  return { busy, total };
}

export interface BoxInfoOptions {
  /** Where the agent keeps its data (the queue): the disk figures are of its file system. */
  dataDir: string;
  gatewaySn?: string;
  gatewayName?: string;
  /** The MAC to report (config), else the main interface's. */
  mac?: string;
  sdkVersion?: string;
}

/**
 * Reads the box's health each round. CPU use is the share of busy time of all cores since the
 * previous reading (the first reading: since the agent started), so it describes the last
 * interval, not the time since boot.
 */
export class BoxInfo {
  private lastCpu: CpuTimes = cpuTimes();
  private readonly version = devstatusVersion();
  private readonly iface = mainInterface();
  private readonly serial: string | undefined;

  constructor(private readonly opts: BoxInfoOptions) {
    this.serial = opts.gatewaySn ?? boardSerial();
  }

  /** The MAC the box logs in with: the configured one, else its main interface's. */
  get mac(): string | undefined {
    return this.opts.mac ?? this.iface?.mac;
  }

  gateway(): GatewayInfo {
    return {
      ...(this.serial ? { sn: this.serial } : {}),
      ...(this.iface?.ip ? { ip: this.iface.ip } : {}),
      name: this.opts.gatewayName ?? hostname(),
      // The box is up: it is the one reporting.
      status: 'online',
    };
  }

  health(): BoxHealth {
    const h: BoxHealth = {};
    const now = cpuTimes();
    const total = now.total - this.lastCpu.total;
    if (total > 0) h.cpu_pct = round1(Math.min(100, Math.max(0, (100 * (now.busy - this.lastCpu.busy)) / total)));
    this.lastCpu = now;
    const memTotal = totalmem();
    if (memTotal > 0) {
      h.mem_total_bytes = wholeMb(memTotal);
      // freemem() is MemAvailable on Linux: what programs can still get, caches included.
      h.mem_pct = round1(100 * (1 - freemem() / memTotal));
    }
    const fs = statfsOf(this.opts.dataDir);
    if (fs) {
      // bavail, not bfree: what the agent (not root) can still write.
      h.disk_total_bytes = wholeMb(fs.blocks * fs.bsize);
      h.disk_free_bytes = wholeMb(fs.bavail * fs.bsize);
    }
    if (this.version) h.sw_version = this.version;
    if (this.opts.sdkVersion) h.sdk_version = this.opts.sdkVersion;
    const mac = this.mac;
    if (mac) h.mac = mac;
    return h;
  }
}
