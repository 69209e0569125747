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

/** One RTSP control connection; requests go one at a time. */
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

  close() {
    this.socket.destroy();
  }
}

function summarizeSdp(sdp: string): string {
  const media = [...sdp.matchAll(/^m=(\w+)/gm)].map((m) => m[1]);
  return media.length ? `SDP with ${media.length} media (${media.join(', ')})` : 'SDP with no media';
}

async function run(target: ParsedRtspUrl, track: (s: Socket) => void): Promise<ProbeResult> {
  const where = target.publicUrl;
  let conn: RtspConnection | null = null;
  let authorizer: Authorizer | null = null;
  const hasCredentials = target.username !== '' || target.password !== '';

  // Sends a request, answering one auth challenge (reconnecting if the server hung up after its 401).
  const send = async (method: string, headers: Record<string, string> = {}): Promise<RtspResponse> => {
    for (let attempt = 0; ; attempt++) {
      if (!conn || conn.closed) {
        conn = await RtspConnection.open(target.host, target.port, track);
      }
      const h = { ...headers };
      if (authorizer) h.Authorization = authorizer.authorize(method, target.publicUrl);
      const res = await conn.request(method, target.publicUrl, h);
      if (res.status !== 401 || !hasCredentials || attempt >= 1) return res;
      const challenges = parseChallenges(res.headers.get('www-authenticate') ?? []);
      const next = makeAuthorizer(challenges, target.username, target.password);
      // A second 401 to fresh credentials means they are wrong, unless the nonce was just stale.
      if (!next || (authorizer && challenges.every((c) => c.params.stale?.toLowerCase() !== 'true'))) return res;
      authorizer = next;
    }
  };

  try {
    const options = await send('OPTIONS');
    if (options.status === 401) {
      return { online: false, detail: `${where}: OPTIONS 401 ${options.reason}${hasCredentials ? ' (credentials rejected)' : ' (credentials needed)'}` };
    }
    const describe = await send('DESCRIBE', { Accept: 'application/sdp' });
    const server = header(describe, 'server');
    const by = server ? ` from ${server}` : '';
    const authNote = authorizer ? ` (${(authorizer as Authorizer).scheme} auth)` : '';
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
  } finally {
    (conn as RtspConnection | null)?.close();
  }
}

export async function probe(target: RtspTarget, opts: ProbeOptions): Promise<ProbeResult> {
  let parsed: ParsedRtspUrl;
  try {
    parsed = parseRtspUrl(target.url);
  } catch (err) {
    return { online: false, detail: `bad rtsp url: ${(err as Error).message}` };
  }
  // Every socket the probe opens, so a timeout can end them all (even one still connecting).
  const sockets: Socket[] = [];
  let finished = false;
  const track = (s: Socket) => {
    if (finished) s.destroy();
    else sockets.push(s);
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeTimeout(opts.timeoutMs)), opts.timeoutMs);
  });
  try {
    return await Promise.race([run(parsed, track), timeout]);
  } catch (err) {
    return { online: false, detail: `${parsed.publicUrl}: ${describeError(err)}` };
  } finally {
    finished = true;
    clearTimeout(timer);
    for (const s of sockets) s.destroy();
  }
}
