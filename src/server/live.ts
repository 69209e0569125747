// Live updates for the dashboard: GET /api/events, a Server-Sent Events stream.
// Everything the stream says comes from one `LiveFeed`; today that is the process's FleetEvents,
// later it can be a store's publish/subscribe (reports received by other processes) without
// touching the endpoint. Bursts are coalesced: hundreds of boxes reporting every few seconds
// become one small message per window, shared by every connected browser.
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Transition } from '../store/types.js';
import type { AlertStateChange, FleetEvents, StoredReport } from './events.js';

/** What the dashboard needs to know about one received report. */
export interface LiveReport {
  dev_sno: string;
  at: string;
  online: number;
  offline: number;
}

export type LiveMessage =
  | { kind: 'report'; report: LiveReport }
  | { kind: 'transitions'; transitions: Transition[] }
  | { kind: 'alert'; change: AlertStateChange };

/** A source of live messages; returns the function that unsubscribes. */
export interface LiveFeed {
  subscribe(listener: (msg: LiveMessage) => void): () => void;
}

/** The adapter from this process's FleetEvents. */
export function feedFromFleetEvents(events: FleetEvents): LiveFeed {
  return {
    subscribe(listener) {
      const onReport = (report: StoredReport, receivedAt: number) => {
        listener({
          kind: 'report',
          report: { dev_sno: report.dev_sno, at: new Date(receivedAt).toISOString(), online: report.online, offline: report.offline },
        });
      };
      const onTransitions = (transitions: Transition[]) => listener({ kind: 'transitions', transitions });
      const onAlertState = (change: AlertStateChange) => listener({ kind: 'alert', change });
      events.on('report', onReport);
      events.on('transitions', onTransitions);
      events.on('alertState', onAlertState);
      return () => {
        events.off('report', onReport);
        events.off('transitions', onTransitions);
        events.off('alertState', onAlertState);
      };
    },
  };
}

export interface LiveOptions {
  feed: LiveFeed;
  /** How long messages are gathered before one is sent (ms). */
  coalesceMs?: number;
  /** Interval of the keep-alive comments (ms). */
  heartbeatMs?: number;
  /** Most transitions in one message; the rest is dropped and counted (the page refetches). */
  maxTransitions?: number;
  /** A client whose unsent output exceeds this is disconnected (it reconnects and refetches). */
  maxBufferedBytes?: number;
}

export const LIVE_DEFAULTS = {
  coalesceMs: 250,
  heartbeatMs: 15_000,
  maxTransitions: 500,
  maxBufferedBytes: 1024 * 1024,
} as const;

/** Fans one feed out to every connected SSE client, a batch per coalescing window. */
class LiveHub {
  private readonly clients = new Set<ServerResponse>();
  private unsubscribe: (() => void) | null = null;
  private reports = new Map<string, LiveReport>();
  private transitions: Transition[] = [];
  private droppedTransitions = 0;
  /** In the order they were made: a silence's end and its changed replacement must not swap. */
  private alertChanges: AlertStateChange[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly o: Required<Omit<LiveOptions, 'feed'>> & { feed: LiveFeed };

  constructor(opts: LiveOptions) {
    this.o = { ...LIVE_DEFAULTS, ...opts };
  }

  get size(): number {
    return this.clients.size;
  }

  add(res: ServerResponse): void {
    this.clients.add(res);
    // Listen to the feed only while someone is watching.
    if (!this.unsubscribe) this.unsubscribe = this.o.feed.subscribe((m) => this.onMessage(m));
    if (!this.heartbeatTimer) {
      this.heartbeatTimer = setInterval(() => this.broadcast(': ping\n\n'), this.o.heartbeatMs);
      this.heartbeatTimer.unref();
    }
  }

  remove(res: ServerResponse): void {
    if (!this.clients.delete(res)) return;
    if (this.clients.size === 0) this.stop();
  }

  /** Ends every stream (server shutdown). */
  closeAll(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.stop();
  }

  private stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.heartbeatTimer = this.flushTimer = null;
    this.reports.clear();
    this.transitions = [];
    this.droppedTransitions = 0;
    this.alertChanges = [];
  }

  private onMessage(m: LiveMessage): void {
    if (m.kind === 'alert') {
      this.alertChanges.push(m.change);
    } else if (m.kind === 'report') {
      // Only the latest report of a box in a window matters.
      this.reports.delete(m.report.dev_sno);
      this.reports.set(m.report.dev_sno, m.report);
    } else {
      const room = this.o.maxTransitions - this.transitions.length;
      this.transitions.push(...m.transitions.slice(0, Math.max(0, room)));
      this.droppedTransitions += Math.max(0, m.transitions.length - Math.max(0, room));
    }
    if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), this.o.coalesceMs);
  }

  private flush(): void {
    this.flushTimer = null;
    let out = '';
    if (this.transitions.length || this.droppedTransitions) {
      out += sseEvent('transitions', { transitions: this.transitions, dropped: this.droppedTransitions });
    }
    if (this.reports.size) out += sseEvent('reports', { reports: [...this.reports.values()] });
    if (this.alertChanges.length) out += sseEvent('alert-state', { changes: this.alertChanges });
    this.alertChanges = [];
    this.reports = new Map();
    this.transitions = [];
    this.droppedTransitions = 0;
    if (out) this.broadcast(out);
  }

  private broadcast(chunk: string): void {
    for (const res of this.clients) {
      if (res.writableLength > this.o.maxBufferedBytes) {
        // A browser that cannot keep up: cut it loose rather than buffer without bound.
        res.destroy();
        this.remove(res);
        continue;
      }
      res.write(chunk);
    }
  }
}

function sseEvent(name: string, data: unknown): string {
  // JSON.stringify escapes newlines, so the data always fits on one `data:` line.
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function registerLiveEvents(app: FastifyInstance, opts: LiveOptions): void {
  const hub = new LiveHub(opts);
  app.decorate('liveClients', () => hub.size);
  // Open streams would otherwise keep app.close() waiting forever.
  app.addHook('preClose', async () => hub.closeAll());

  app.get('/api/events', (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies (nginx) must not hold the stream back.
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n: connected\n\n');
    hub.add(res);
    const cleanup = () => hub.remove(res);
    req.raw.once('close', cleanup);
    res.once('close', cleanup);
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Number of connected live-event clients. */
    liveClients: () => number;
  }
}
