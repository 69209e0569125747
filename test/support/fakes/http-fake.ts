// A loopback HTTP server for the chat-robot fakes: parses JSON bodies, records every request,
// and answers with whatever the fake's handler decides.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  raw: string;
  json: Record<string, unknown> | null;
}

export interface FakeAnswer {
  status?: number;
  headers?: Record<string, string>;
  body: Record<string, unknown>;
}

export interface FakeHttpServer {
  baseUrl: string;
  /** Every request, accepted or not. */
  requests: FakeRequest[];
  close(): Promise<void>;
}

export async function startFakeHttp(handle: (req: FakeRequest) => FakeAnswer): Promise<FakeHttpServer> {
  const requests: FakeRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let json: Record<string, unknown> | null = null;
      try {
        const parsed: unknown = JSON.parse(raw);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
      } catch {
        // left null: the handler answers the service's "bad JSON" error
      }
      const fr: FakeRequest = { method: req.method ?? '', url: new URL(req.url ?? '/', 'http://127.0.0.1'), headers: req.headers, raw, json };
      requests.push(fr);
      const answer = handle(fr);
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json; charset=utf-8', ...answer.headers });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends accepted in the last `perMs`, oldest first; the real services count per robot like this. */
export class SendLog {
  private readonly times: number[] = [];
  countSince(t: number): number {
    return this.times.filter((x) => x > t).length;
  }
  add(t: number, n = 1): void {
    for (let i = 0; i < n; i++) this.times.push(t);
  }
}
