// The box's side of the login exchange: GET the login URL with its code and MAC, then report
// where and as often as the answer says.
import http from 'node:http';
import https from 'node:https';
import { loginUrlFor, parseLoginResponse, ReportValidationError, type LoginAnswer } from '../protocol/index.js';

export class LoginError extends Error {
  constructor(
    /** Short kind for the tally: `http 503`, `ECONNREFUSED`, `timeout`, `bad answer`. */
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = 'LoginError';
  }
}

/** Logs one box in; rejects with a LoginError saying what went wrong. */
export function login(loginUrl: string, devSno: string, mac: string, opts: { timeoutMs: number; agent?: http.Agent }): Promise<LoginAnswer> {
  const url = loginUrlFor(loginUrl, devSno, mac);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { agent: opts.agent, headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e: NodeJS.ErrnoException) => reject(new LoginError(e.code ?? 'network', e.message)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new LoginError(`http ${res.statusCode}`, `login answered ${res.statusCode}: ${text.slice(0, 200)}`));
        try {
          resolve(parseLoginResponse(JSON.parse(text), url));
        } catch (e) {
          const why = e instanceof ReportValidationError ? e.message : `not JSON (${(e as Error).message})`;
          reject(new LoginError('bad answer', `login answer ${why}`));
        }
      });
    });
    req.setTimeout(opts.timeoutMs, () => {
      req.destroy();
      reject(new LoginError('timeout', `login did not answer within ${opts.timeoutMs} ms`));
    });
    req.on('error', (e: NodeJS.ErrnoException) => reject(new LoginError(e.code ?? 'network', e.message)));
  });
}
