// The box's side of the login exchange (docs/protocol-dialects.md#the-login-exchange): GET the
// login URL with the box's code and MAC, and read where and how often to report from the answer.
// One client for the agent and the simulator; the wire format (query, answer, its checks) is the
// protocol module's. node:http, not fetch (undici alone costs the agent ~40 MB); https is loaded
// only for an https:// login URL.
import http from 'node:http';
import { ReportValidationError } from '../protocol/errors.js';
// The module itself, not the protocol's index: the index compiles every dialect's validator.
import { loginUrlFor, parseLoginResponse, type LoginAnswer } from '../protocol/login.js';

export class LoginError extends Error {
  constructor(
    /** Short kind for tallies and logs: `http 503`, `ECONNREFUSED`, `timeout`, `bad answer`, `stopped`. */
    readonly kind: string,
    message: string,
    /** The HTTP status when the platform answered (403: the code is refused). */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'LoginError';
  }
}

export interface LoginOptions {
  timeoutMs: number;
  /** Connection pool to use (the simulator shares one among its boxes). */
  agent?: http.Agent;
  /** Ends the request at once (the agent is stopping): rejects with kind `stopped`. */
  signal?: AbortSignal;
}

/** The most of a login answer read: it is a few hundred bytes. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Logs one box in; rejects with a LoginError saying what went wrong. */
export async function login(loginUrl: string, devSno: string, mac: string, opts: LoginOptions): Promise<LoginAnswer> {
  const url = loginUrlFor(loginUrl, devSno, mac);
  const get = url.protocol === 'https:' ? (await import('node:https')).get : http.get;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: LoginError) => {
      if (settled) return;
      settled = true;
      cleanup();
      req.destroy();
      reject(e);
    };
    const onAbort = () => fail(new LoginError('stopped', 'login stopped (agent shutting down)'));
    const timer = setTimeout(() => fail(new LoginError('timeout', `login did not answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    const req = get(url, { agent: opts.agent, headers: { accept: 'application/json', 'user-agent': 'devstatus-agent' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_ANSWER_BYTES) chunks.push(c);
        size += c.length;
      });
      res.on('error', (e: NodeJS.ErrnoException) => fail(new LoginError(e.code ?? 'network', e.code ?? e.message)));
      res.on('end', () => {
        if (settled) return;
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status !== 200) return fail(new LoginError(`http ${status}`, `login answered ${status}: ${text.slice(0, 200)}`, status));
        try {
          const answer = parseLoginResponse(JSON.parse(text), url);
          settled = true;
          cleanup();
          resolve(answer);
        } catch (e) {
          const why = e instanceof ReportValidationError ? e.message : `not JSON (${(e as Error).message})`;
          fail(new LoginError('bad answer', `login answer ${why}`, status));
        }
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => fail(new LoginError(e.code ?? 'network', e.code ?? e.message)));
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
