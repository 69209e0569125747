// rtsp sub-devices (IP cameras, NVR channels): RTSP OPTIONS then DESCRIBE over TCP, answering
// Basic or Digest (RFC 2617 / RFC 7616) challenges with the credentials in the URL. Online only
// when DESCRIBE answers 200 with an SDP: a camera that accepts TCP but has no stream is offline.
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { describeError, ProbeTimeout, type ProbeOptions, type ProbeResult } from './types.js';

export const DEFAULT_RTSP_PORT = 554;

export interface RtspTarget {
  /** rtsp://[user:password@]host[:port]/path; credentials are used for auth, never reported. */
  url: string;
}

export interface ParsedRtspUrl {
  /** The URL with the credentials removed: what goes into requests, reports and logs. */
  publicUrl: string;
  host: string;
  port: number;
  username: string;
  password: string;
}

export function parseRtspUrl(raw: string): ParsedRtspUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('is not a valid URL');
  }
  if (url.protocol !== 'rtsp:') throw new Error(`must be an rtsp:// URL (got ${url.protocol}//)`);
  if (!url.hostname) throw new Error('has no host');
  const port = url.port ? Number(url.port) : DEFAULT_RTSP_PORT;
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const username = decode(url.username);
  const password = decode(url.password);
  url.username = '';
  url.password = '';
  return {
    publicUrl: url.toString(),
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    username,
    password,
  };
}

/** The URL without user and password (for ep_id, reports and logs). */
export function stripCredentials(raw: string): string {
  return parseRtspUrl(raw).publicUrl;
}

export interface RtspResponse {
  status: number;
  reason: string;
  headers: Map<string, string[]>;
  body: string;
}

const header = (res: RtspResponse, name: string) => res.headers.get(name.toLowerCase())?.[0];

/** Parses one response from the front of `buf`; returns it and the bytes it used, or null if incomplete. */
export function parseResponse(buf: Buffer): { response: RtspResponse; used: number } | null {
  let start = 0;
  // Interleaved RTP ($, channel, 16-bit length, data) may precede a response on a busy connection.
  while (buf[start] === 0x24) {
    if (buf.length < start + 4) return null;
    start += 4 + buf.readUInt16BE(start + 2);
    if (buf.length < start) return null;
  }
  const end = buf.indexOf('\r\n\r\n', start);
  if (end < 0) return null;
  const lines = buf.subarray(start, end).toString('latin1').split('\r\n');
  const statusLine = lines.shift() ?? '';
  const m = statusLine.match(/^RTSP\/\d\.\d\s+(\d{3})\s*(.*)$/);
  if (!m) throw new Error(`not an RTSP response: ${JSON.stringify(statusLine.slice(0, 80))}`);
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const list = headers.get(name) ?? [];
    list.push(line.slice(i + 1).trim());
    headers.set(name, list);
  }
  const length = Number(headers.get('content-length')?.[0] ?? 0) || 0;
  const bodyStart = end + 4;
  if (buf.length < bodyStart + length) return null;
  return {
    response: { status: Number(m[1]), reason: m[2] ?? '', headers, body: buf.subarray(bodyStart, bodyStart + length).toString('utf8') },
    used: bodyStart + length,
  };
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Splits WWW-Authenticate header values into challenges (several may share one header line). */
export function parseChallenges(values: string[]): Challenge[] {
  const out: Challenge[] = [];
  for (const value of values) {
    for (const part of value.split(/,\s*(?=(?:Basic|Digest|Bearer|Negotiate)\b)/i)) {
      const m = part.trim().match(/^(\S+)\s*(.*)$/s);
      if (!m) continue;
      const params: Record<string, string> = {};
      const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
      for (const p of (m[2] ?? '').matchAll(re)) {
        params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
      }
      out.push({ scheme: m[1]!.toLowerCase(), params });
    }
  }
  return out;
}

const HASHES: Record<string, string> = { md5: 'md5', 'sha-256': 'sha256', 'sha-512-256': 'sha512-256' };

/** Builds the Authorization header value for a request, or null if no challenge is usable. */
export function makeAuthorizer(challenges: Challenge[], username: string, password: string, makeCnonce = () => randomBytes(8).toString('hex')) {
  const digest = challenges.find((c) => c.scheme === 'digest' && HASHES[(c.params.algorithm ?? 'MD5').toLowerCase().replace(/-sess$/, '')]);
  if (digest) {
    const p = digest.params;
    const algorithm = p.algorithm ?? 'MD5';
    const hashName = HASHES[algorithm.toLowerCase().replace(/-sess$/, '')]!;
    const sess = /-sess$/i.test(algorithm);
    const H = (s: string) => createHash(hashName).update(s).digest('hex');
    const qop = p.qop
      ?.split(',')
      .map((q) => q.trim())
      .includes('auth')
      ? 'auth'
      : undefined;
    let nc = 0;
    return {
      scheme: 'Digest',
      authorize(method: string, uri: string): string {
        nc += 1;
        const ncHex = nc.toString(16).padStart(8, '0');
        const cnonce = makeCnonce();
        let ha1 = H(`${username}:${p.realm ?? ''}:${password}`);
        if (sess) ha1 = H(`${ha1}:${p.nonce ?? ''}:${cnonce}`);
        const ha2 = H(`${method}:${uri}`);
        const response = qop ? H(`${ha1}:${p.nonce ?? ''}:${ncHex}:${cnonce}:${qop}:${ha2}`) : H(`${ha1}:${p.nonce ?? ''}:${ha2}`);
        const q = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;
        const fields = [
          `username=${q(username)}`,
          `realm=${q(p.realm ?? '')}`,
          `nonce=${q(p.nonce ?? '')}`,
          `uri=${q(uri)}`,
          `response=${q(response)}`,
        ];
        if (p.algorithm) fields.push(`algorithm=${p.algorithm}`);
        if (p.opaque !== undefined) fields.push(`opaque=${q(p.opaque)}`);
        if (qop) fields.push(`qop=${qop}`, `nc=${ncHex}`, `cnonce=${q(cnonce)}`);
        return `Digest ${fields.join(', ')}`;
      },
    };
  }
  if (challenges.some((c) => c.scheme === 'basic')) {
    const token = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
    return { scheme: 'Basic', authorize: () => `Basic ${token}` };
  }
  return null;
}

type Authorizer = NonNullable<ReturnType<typeof makeAuthorizer>>;

/** One RTSP control connection; requests go one at a time (several URLs may share it). */
class RtspConnection {
  private buffer = Buffer.alloc(0);
  private waiter: { resolve: (r: RtspResponse) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private cseq = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.deliver();
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  static open(host: string, port: number, track: (s: Socket) => void): Promise<RtspConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      track(socket);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RtspConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.failure !== null;
  }

  private deliver() {
    if (!this.waiter) return;
    try {
      const parsed = parseResponse(this.buffer);
      if (!parsed) return;
      this.buffer = this.buffer.subarray(parsed.used);
      const w = this.waiter;
      this.waiter = null;
      w.resolve(parsed.response);
    } catch (err) {
      this.fail(err as Error);
      this.socket.destroy();
    }
  }

  private fail(err: Error) {
    this.failure ??= err;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.failure);
  }

  request(method: string, uri: string, headers: Record<string, string> = {}): Promise<RtspResponse> {
    if (this.failure) return Promise.reject(this.failure);
    this.cseq += 1;
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${this.cseq}`, 'User-Agent: devstatus-agent'];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.deliver();
    });
  }

  /** Requests sent so far: a connection that already served one may have been closed meanwhile. */
  get used(): number {
    return this.cseq;
  }

  close() {
    this.fail(new Error('connection closed'));
    this.socket.destroy();
  }
}

function summarizeSdp(sdp: string): string {
  const media = [...sdp.matchAll(/^m=(\w+)/gm)].map((m) => m[1]);
  return media.length ? `SDP with ${media.length} media (${media.join(', ')})` : 'SDP with no media';
}

/**
 * One connection's worth of state, reused for the URLs probed over it one after the other:
 * the open connection and the authorizer of each set of credentials (a Digest nonce is good
 * for every URL of the server, so one challenge is answered once, not once per channel).
 */
interface Lane {
  host: string;
  port: number;
  conn: RtspConnection | null;
  authorizers: Map<string, Authorizer>;
  optionsDone: boolean;
  track: (s: Socket) => void;
}

const credentialsKey = (t: ParsedRtspUrl) => `${t.username}\0${t.password}`;

/** Sends a request for `target` on the lane, (re)connecting and answering one auth challenge. */
async function send(lane: Lane, target: ParsedRtspUrl, method: string, headers: Record<string, string> = {}): Promise<{ res: RtspResponse; authorizer: Authorizer | null }> {
  const hasCredentials = target.username !== '' || target.password !== '';
  const key = credentialsKey(target);
  let answeredChallenge = false;
  let staleRetried = false;
  let reconnected = false;
  for (;;) {
    let conn = lane.conn;
    if (!conn || conn.closed) {
      conn = await RtspConnection.open(lane.host, lane.port, lane.track);
      lane.conn = conn;
    }
    const authorizer = lane.authorizers.get(key) ?? null;
    const h = { ...headers };
    if (authorizer) h.Authorization = authorizer.authorize(method, target.publicUrl);
    let res: RtspResponse;
    try {
      res = await conn.request(method, target.publicUrl, h);
    } catch (err) {
      // A kept connection the server has closed since (idle timeout, one request per
      // connection): try once more on a new one before calling the device offline.
      if (conn.used > 1 && !reconnected && !(err instanceof ProbeTimeout)) {
        reconnected = true;
        conn.close();
        lane.conn = null;
        continue;
      }
      throw err;
    }
    if (/\bclose\b/i.test(header(res, 'connection') ?? '')) conn.close();
    if (res.status !== 401 || !hasCredentials) return { res, authorizer };
    const challenges = parseChallenges(res.headers.get('www-authenticate') ?? []);
    // A second 401 to credentials just fitted to a challenge means they are wrong, unless the
    // nonce was stale. An authorizer made for another URL of the server gets one new try.
    const stale = challenges.some((c) => c.params.stale?.toLowerCase() === 'true');
    if (answeredChallenge && (!stale || staleRetried)) return { res, authorizer };
    const next = makeAuthorizer(challenges, target.username, target.password);
    if (!next) return { res, authorizer };
    lane.authorizers.set(key, next);
    if (answeredChallenge) staleRetried = true;
    answeredChallenge = true;
  }
}

async function probeOn(lane: Lane, target: ParsedRtspUrl): Promise<ProbeResult> {
  const where = target.publicUrl;
  const hasCredentials = target.username !== '' || target.password !== '';
  if (!lane.optionsDone) {
    const { res: options } = await send(lane, target, 'OPTIONS');
    if (options.status === 401) {
      return { online: false, detail: `${where}: OPTIONS 401 ${options.reason}${hasCredentials ? ' (credentials rejected)' : ' (credentials needed)'}` };
    }
    lane.optionsDone = true;
  }
  const { res: describe, authorizer } = await send(lane, target, 'DESCRIBE', { Accept: 'application/sdp' });
  const server = header(describe, 'server');
  const by = server ? ` from ${server}` : '';
  const authNote = authorizer ? ` (${authorizer.scheme} auth)` : '';
  if (describe.status === 401) {
    return {
      online: false,
      detail: `${where}: DESCRIBE 401 ${describe.reason}${hasCredentials ? ' (credentials rejected)' : ' (credentials needed)'}${by}`,
    };
  }
  if (describe.status !== 200) return { online: false, detail: `${where}: DESCRIBE ${describe.status} ${describe.reason}${by}` };
  const type = header(describe, 'content-type') ?? '';
  if (!/^application\/sdp\b/i.test(type) || !/^v=0/m.test(describe.body)) {
    return { online: false, detail: `${where}: DESCRIBE 200 but no SDP (content-type "${type}")${by}` };
  }
  return { online: true, detail: `${where}: DESCRIBE 200, ${summarizeSdp(describe.body)}${authNote}${by}` };
}

export interface RtspManyOptions {
  /** The round's time limit (for messages); everything ends at `deadline`. */
  timeoutMs: number;
  /** Date.now() by which every probe has an answer: unfinished ones are offline then. */
  deadline: number;
  /** Most connections open to the server at once (an NVR's listen queue is short). */
  connections: number;
  /** Ends the probes early (agent stopping); they are reported as not finished. */
  signal?: AbortSignal;
}

/**
 * Probes several stream URLs of ONE server (same host and port) over at most
 * `opts.connections` RTSP connections, each reused for one DESCRIBE after another, so that
 * 64 channels of an NVR neither overflow its listen backlog (SYNs dropped, resent after 1 s)
 * nor pay a TCP handshake and an auth challenge each. Results are in the order of `urls`.
 */
export async function probeServer(urls: string[], opts: RtspManyOptions): Promise<ProbeResult[]> {
  const results: Array<ProbeResult | undefined> = urls.map(() => undefined);
  const targets: Array<ParsedRtspUrl | null> = urls.map((url, i) => {
    try {
      return parseRtspUrl(url);
    } catch (err) {
      results[i] = { online: false, detail: `bad rtsp url: ${(err as Error).message}` };
      return null;
    }
  });
  const todo = targets.flatMap((t, i) => (t ? [i] : []));
  const first = targets[todo[0] ?? -1];
  if (!first) return results as ProbeResult[];
  const server = `${first.host.includes(':') ? `[${first.host}]` : first.host}:${first.port}`;

  // Every socket opened, so the deadline can end them all (even one still connecting).
  const sockets = new Set<Socket>();
  let finished = false;
  const track = (s: Socket) => {
    if (finished) return void s.destroy();
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const started = new Set<number>();
  let next = 0;
  const worker = async () => {
    const lane: Lane = { host: first.host, port: first.port, conn: null, authorizers: new Map(), optionsDone: false, track };
    try {
      while (!finished && next < todo.length) {
        const i = todo[next++]!;
        started.add(i);
        const target = targets[i]!;
        try {
          const r = await probeOn(lane, target);
          if (!finished) results[i] = r;
        } catch (err) {
          if (!finished) results[i] = { online: false, detail: `${target.publicUrl}: ${describeError(err)}` };
          lane.conn?.close();
          lane.conn = null;
        }
      }
    } finally {
      lane.conn?.close();
    }
  };
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const cutOff = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, opts.deadline - Date.now()));
    onAbort = () => resolve();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
  const lanes = Math.max(1, Math.min(opts.connections, todo.length));
  await Promise.race([Promise.all(Array.from({ length: lanes }, worker)), cutOff]);
  finished = true;
  clearTimeout(timer);
  if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
  for (const s of sockets) s.destroy();
  const why = opts.signal?.aborted ? 'probe stopped (agent shutting down)' : undefined;
  const waiting = todo.filter((i) => results[i] === undefined && !started.has(i)).length;
  return results.map((r, i) => {
    if (r) return r;
    const where = targets[i]!.publicUrl;
    if (why) return { online: false, detail: `${where}: ${why}` };
    if (started.has(i)) return { online: false, detail: `${where}: ${describeError(new ProbeTimeout(opts.timeoutMs))}` };
    return {
      online: false,
      detail: `${where}: not probed within ${opts.timeoutMs} ms: ${waiting} URL(s) of ${server} still waiting for one of ${lanes} connection(s)`,
    };
  });
}

/** Probes one stream URL (see probeServer for many on one server). */
export async function probe(target: RtspTarget, opts: ProbeOptions): Promise<ProbeResult> {
  const [result] = await probeServer([target.url], { timeoutMs: opts.timeoutMs, deadline: Date.now() + opts.timeoutMs, connections: 1 });
  return result!;
}
