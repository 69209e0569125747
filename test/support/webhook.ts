// A real HTTP webhook receiver on 127.0.0.1 for alert tests.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  requests: ReceivedHook[];
  /** Status answered to the n-th request (0-based); change it any time. */
  respond: (n: number) => number;
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedHook[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(respond: (n: number) => number = () => 200): Promise<WebhookReceiver> {
  const requests: ReceivedHook[] = [];
  let n = 0;
  const recv: WebhookReceiver = {
    url: '',
    requests,
    respond,
    waitFor: (count, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const check = () => {
          if (requests.length >= count) return resolve(requests.slice());
          if (Date.now() - started > timeoutMs) {
            return reject(new Error(`webhook got ${requests.length} requests, expected ${count}`));
          }
          setTimeout(check, 20);
        };
        check();
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = recv.respond(n++);
      requests.push({ headers: req.headers, body, json: JSON.parse(body) as Record<string, unknown>, at: Date.now() });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  recv.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return recv;
}

/** Polls `fn` until it returns a truthy value. */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
