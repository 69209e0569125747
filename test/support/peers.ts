// Real peers for the probe and agent tests, all on 127.0.0.1 with ports picked at run time:
// GStreamer's RTSP server (test/fixtures/rtsp_server.py) and kamailio as a SIP device
// (test/fixtures/kamailio.cfg). scripts/install-test-deps.sh installs them (npm pretest).
// A peer that cannot start throws: the test fails, it is never skipped.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export interface Peer {
  port: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function capture(child: ChildProcess) {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return () => out;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot bind port 0). */
export async function freeTcpPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const port = socket.address().port;
  await new Promise<void>((r) => socket.close(() => r()));
  return port;
}

export const RTSP_USER = 'admin';
export const RTSP_PASSWORD = 's3cret:p@ss';

export interface RtspPeer extends Peer {
  /** rtsp URL of `path` (`/live` is open, `/secure` needs credentials). */
  url(path: string, credentials?: { user: string; password: string }): string;
}

export interface RtspServerOptions {
  /** Open mounts /ch1 ... /chN besides /live and /secure (an NVR's channels on one port). */
  channels?: number;
  /** The listen queue (GStreamer's default: 5). */
  backlog?: number;
}

/** GStreamer's RTSP server with one open mount (/live) and one behind `auth` (/secure). */
export async function startRtspServer(auth: 'basic' | 'digest', opts: RtspServerOptions = {}): Promise<RtspPeer> {
  const child = spawn(
    '/usr/bin/python3',
    [
      join(FIXTURES, 'rtsp_server.py'),
      '--auth',
      auth,
      '--user',
      RTSP_USER,
      '--password',
      RTSP_PASSWORD,
      ...(opts.channels ? ['--channels', String(opts.channels)] : []),
      ...(opts.backlog ? ['--backlog', String(opts.backlog)] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = capture(child);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`RTSP test server did not start in 15 s:\n${output()}`)), 15_000);
    child.on('error', (err) => reject(new Error(`cannot run the RTSP test server (${err.message}); run scripts/install-test-deps.sh`)));
    child.on('exit', (code) => reject(new Error(`RTSP test server exited (${code}):\n${output()}`)));
    child.stdout!.on('data', () => {
      const m = output().match(/READY (\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return {
    port,
    child,
    output,
    url: (path, credentials) =>
      `rtsp://${credentials ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@` : ''}127.0.0.1:${port}${path}`,
    stop: () => stopChild(child),
  };
}

/** Sends a bare SIP OPTIONS and resolves true on any answer (readiness check, independent of src/probe). */
async function sipAnswers(port: number, timeoutMs: number): Promise<boolean> {
  const socket = createSocket('udp4');
  try {
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    const local = socket.address().port;
    const msg = [
      `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bKready${Date.now()}`,
      'Max-Forwards: 70',
      `From: <sip:ready@127.0.0.1:${local}>;tag=ready`,
      `To: <sip:127.0.0.1:${port}>`,
      `Call-ID: ready-${Date.now()}@test`,
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const answered = new Promise<boolean>((resolve) => {
      socket.once('message', () => resolve(true));
      setTimeout(() => resolve(false), timeoutMs);
    });
    socket.send(msg, port, '127.0.0.1');
    return await answered;
  } finally {
    socket.close();
  }
}

/** kamailio on a free loopback UDP port, answering OPTIONS with 200 like a GB28181 device. */
export async function startSipServer(): Promise<Peer> {
  const port = await freeUdpPort();
  const dir = mkdtempSync(join(tmpdir(), 'devstatus-kamailio-'));
  const child = spawn(
    'kamailio',
    ['-f', join(FIXTURES, 'kamailio.cfg'), '-DD', '-E', '-m', '16', '-M', '4', '-l', `udp:127.0.0.1:${port}`, '-P', join(dir, 'kamailio.pid'), '-Y', dir, '-w', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = capture(child);
  let exited = false;
  let spawnError: Error | null = null;
  child.on('error', (err) => (spawnError = err));
  child.on('exit', () => (exited = true));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (spawnError) throw new Error(`cannot run kamailio (${(spawnError as Error).message}); run scripts/install-test-deps.sh`);
    if (exited) throw new Error(`kamailio exited before answering:\n${output()}`);
    if (await sipAnswers(port, 300)) break;
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`kamailio did not answer SIP OPTIONS on 127.0.0.1:${port} within 15 s:\n${output()}`);
    }
  }
  return {
    port,
    child,
    output,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
