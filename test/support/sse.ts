// A minimal Server-Sent Events reader for tests of /api/events. node:http rather than fetch:
// undici opens a spare connection next to a streaming one, which then holds up server.close().
import { get, type IncomingMessage } from 'node:http';
export interface SseEvent {
  event: string;
  data: string;
}

export interface SseClient {
  status: number;
  headers: IncomingMessage['headers'];
  /** Every event and comment so far (comments as event ':'). */
  events: SseEvent[];
  /** Resolves with the first event (from `from` on) that `match` accepts. */
  waitFor(match: (e: SseEvent) => boolean, timeoutMs?: number, from?: number): Promise<SseEvent>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    get(url, { headers: { accept: 'text/event-stream', ...headers } }, resolve).once('error', reject);
  });
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  {
    void (async () => {
      const decoder = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of res as AsyncIterable<Buffer>) {
          buf += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buf.indexOf('\n\n')) !== -1) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) events.push({ event: ':', data: line.slice(1).trim() });
              else if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            if (data.length) events.push({ event, data: data.join('\n') });
            for (const w of waiters) w();
          }
        }
      } catch {
        /* aborted */
      }
    })();
  }
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    events,
    waitFor(match, timeoutMs = 5000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.slice(from).find(match);
          if (found) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => res.destroy(),
  };
}
