// POST of one report to the platform with node:http (https loaded only for an https:// URL):
// fetch() (undici) alone adds ~40 MB to the agent's memory, more than all the rest of it.
// One kept-alive connection is reused from one report to the next.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';

export type PostOutcome =
  | { kind: 'delivered'; status: number; body: string }
  /** Worth trying again later: platform unreachable, timed out, 5xx, 408, 429, stopped. */
  | { kind: 'retry'; status?: number; reason: string }
  /** The platform refused this report (4xx): sending it again will not help. */
  | { kind: 'rejected'; status: number; reason: string };

/** The most of an answer kept (for messages): the platform's answer to a report is short. */
const MAX_ANSWER_BYTES = 64 * 1024;

function platformError(text: string): string {
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const msg = j.message ?? j.error ?? j.reason;
    if (typeof msg === 'string' && msg) return msg;
  } catch {
    // not JSON: fall through to the raw text
  }
  const t = text.trim().replace(/\s+/g, ' ');
  return t.length > 300 ? `${t.slice(0, 300)}...` : t || '(empty answer)';
}

type Requester = typeof httpRequest;
const clients = new Map<string, Promise<{ request: Requester; agent: HttpAgent }>>();

function client(protocol: string) {
  let c = clients.get(protocol);
  if (!c) {
    c =
      protocol === 'https:'
        ? import('node:https').then((https) => ({ request: https.request as Requester, agent: new https.Agent({ keepAlive: true, maxSockets: 1 }) }))
        : Promise.resolve({ request: httpRequest, agent: new HttpAgent({ keepAlive: true, maxSockets: 1 }) });
    clients.set(protocol, c);
  }
  return c;
}

class PostTimeout extends Error {}
class PostStopped extends Error {}

async function once(url: URL, payload: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<{ status: number; text: string; reused: boolean }> {
  const { request, agent } = await client(url.protocol);
  return new Promise((resolve, reject) => {
    let req: ClientRequest;
    const timer = setTimeout(() => req.destroy(new PostTimeout()), timeoutMs);
    const onAbort = () => req.destroy(new PostStopped());
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    req = request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': payload.length, 'user-agent': 'devstatus-agent' },
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => {
      done();
      reject(Object.assign(err, { reused: req.reusedSocket }));
    });
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_ANSWER_BYTES) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        done();
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), reused: req.reusedSocket });
      });
      res.on('error', (err) => {
        done();
        reject(err);
      });
    });
    if (signal?.aborted) onAbort();
    else req.end(payload);
  });
}

/** POSTs a report (an object, or its JSON text as queued) and sorts the answer. Never throws. */
export async function postReport(url: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<PostOutcome> {
  const payload = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const target = new URL(url);
  let answer: { status: number; text: string };
  try {
    try {
      answer = await once(target, payload, timeoutMs, signal);
    } catch (err) {
      // A kept-alive connection the platform closed meanwhile: once more on a new one.
      const e = err as NodeJS.ErrnoException & { reused?: boolean };
      if (!e.reused || e instanceof PostTimeout || e instanceof PostStopped) throw err;
      answer = await once(target, payload, timeoutMs, signal);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason =
      e instanceof PostTimeout ? `no answer within ${timeoutMs} ms` : e instanceof PostStopped ? 'stopped (agent shutting down)' : (e.code ?? e.message);
    return { kind: 'retry', reason };
  }
  const { status, text } = answer;
  if (status >= 200 && status < 300) return { kind: 'delivered', status, body: text };
  const reason = `HTTP ${status}: ${platformError(text)}`;
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { kind: 'rejected', status, reason };
  return { kind: 'retry', status, reason };
}

/** Closes kept-alive connections (so the process can exit at once). */
export function closePostConnections(): void {
  for (const c of clients.values()) void c.then(({ agent }) => agent.destroy());
  clients.clear();
}
