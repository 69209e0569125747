// One probe round: every sub-device probed, all within the round's time limit
// (probe_timeout_s), with at most `probe_connections_per_host` connections to any one
// host:port at a time. An NVR serving many channels on one port has a short listen queue
// (GStreamer's default is 5): 64 simultaneous connections overflow it, the dropped SYNs are
// resent only after 1 s, and healthy channels time out. RTSP channels of one server share a
// few connections, one DESCRIBE after another; other probes of one host:port queue for a slot.
import { probeFile, probeServer, probeSip, probeTcp, type ProbeResult } from '../probe/index.js';
import { parseRtspUrl } from '../probe/rtsp.js';
import type { AgentConfig, SubDeviceSpec } from './config.js';

export interface ProbedSubDevice {
  spec: SubDeviceSpec;
  result: ProbeResult;
}

export interface RoundOptions {
  /** Ends the round early (the agent is stopping): what has not answered is offline. */
  signal?: AbortSignal;
}

type Limits = Pick<AgentConfig, 'probeTimeoutMs' | 'probeConnectionsPerHost'>;

const hostPort = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/** The probe of one non-RTSP sub-device with `timeoutMs` left. */
function probeOne(spec: SubDeviceSpec, timeoutMs: number): Promise<ProbeResult> {
  const t = spec.target;
  switch (t.type) {
    case 'photo':
      return probeTcp({ host: t.host, port: t.port }, { timeoutMs });
    case 'gb28181':
      return probeSip({ host: t.host, port: t.port, ...(t.sipId ? { sipId: t.sipId } : {}) }, { timeoutMs });
    case 'file':
      return probeFile({ path: t.path }, { timeoutMs });
    case 'rtsp':
      return probeServer([t.url], { timeoutMs, deadline: Date.now() + timeoutMs, connections: 1 }).then((r) => r[0]!);
  }
}

async function safely(spec: SubDeviceSpec, run: () => Promise<ProbeResult>): Promise<ProbeResult> {
  try {
    return await run();
  } catch (err) {
    return { online: false, detail: `${spec.label}: probe failed: ${(err as Error).message}` };
  }
}

/** Probes of one host:port, at most `limit` at a time, each given the time left in the round. */
async function probeQueued(specs: SubDeviceSpec[], limits: Limits, deadline: number, where: string, signal?: AbortSignal): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < specs.length) {
      const i = next++;
      const spec = specs[i]!;
      const left = deadline - Date.now();
      if (signal?.aborted) {
        results[i] = { online: false, detail: `${spec.label}: probe stopped (agent shutting down)` };
      } else if (left <= 0) {
        const waiting = specs.length - i;
        results[i] = { online: false, detail: `${spec.label}: not probed within ${limits.probeTimeoutMs} ms: ${waiting} probe(s) of ${where} still waiting` };
      } else {
        results[i] = await safely(spec, () => probeOne(spec, left));
      }
    }
  };
  const lanes = Math.max(1, Math.min(limits.probeConnectionsPerHost, specs.length));
  await Promise.all(Array.from({ length: lanes }, worker));
  return results;
}

/** Probes every sub-device; never throws (a probe that throws counts as offline). */
export async function probeAll(config: AgentConfig, opts: RoundOptions = {}): Promise<ProbedSubDevice[]> {
  const deadline = Date.now() + config.probeTimeoutMs;
  const results: ProbeResult[] = new Array<ProbeResult>(config.subDevices.length);
  // Sub-devices by the server they connect to; files need no connection and all run at once.
  const groups = new Map<string, { rtsp: boolean; where: string; indexes: number[] }>();
  const work: Array<Promise<void>> = [];
  config.subDevices.forEach((spec, i) => {
    const t = spec.target;
    let key: string;
    let where: string;
    if (t.type === 'file') {
      work.push(safely(spec, () => probeOne(spec, config.probeTimeoutMs)).then((r) => void (results[i] = r)));
      return;
    } else if (t.type === 'rtsp') {
      const p = parseRtspUrl(t.url);
      where = hostPort(p.host, p.port);
      key = `tcp ${where}`;
    } else {
      where = hostPort(t.host, t.port);
      key = `${t.type === 'gb28181' ? 'udp' : 'tcp'} ${where}`;
    }
    const rtsp = t.type === 'rtsp';
    // RTSP and plain TCP probes of one host:port (rare) are kept apart: each keeps its limit.
    const groupKey = `${key} ${rtsp ? 'rtsp' : 'other'}`;
    const group = groups.get(groupKey) ?? { rtsp, where, indexes: [] };
    group.indexes.push(i);
    groups.set(groupKey, group);
  });
  for (const group of groups.values()) {
    const specs = group.indexes.map((i) => config.subDevices[i]!);
    const run = group.rtsp
      ? probeServer(
          specs.map((s) => (s.target as { url: string }).url),
          { timeoutMs: config.probeTimeoutMs, deadline, connections: config.probeConnectionsPerHost, ...(opts.signal ? { signal: opts.signal } : {}) },
        )
      : probeQueued(specs, config, deadline, group.where, opts.signal);
    work.push(
      run.then(
        (rs) => rs.forEach((r, k) => (results[group.indexes[k]!] = r)),
        (err: Error) => group.indexes.forEach((i) => (results[i] = { online: false, detail: `probe failed: ${err.message}` })),
      ),
    );
  }
  await Promise.all(work);
  return config.subDevices.map((spec, i) => ({ spec, result: results[i]! }));
}
