// The receiver's live stream (/api/events, Server-Sent Events). EventSource reconnects by
// itself; after any (re)connect the views refetch, since messages sent meanwhile are lost.
import type { HistoryEntry } from './api.js';

export interface LiveReport {
  dev_sno: string;
  at: string;
  online: number;
  offline: number;
}

export interface LiveHandlers {
  reports(reports: LiveReport[]): void;
  transitions(transitions: HistoryEntry[], dropped: number): void;
  /** Connected (again): whatever was missed must be fetched. */
  connected(): void;
  state(state: 'live' | 'connecting' | 'down'): void;
  /** The stream was refused; probably the login expired. */
  refused(): void;
}

export class LiveConnection {
  private source: EventSource | null = null;
  private retryTimer: number | null = null;
  private closed = false;

  constructor(private readonly handlers: LiveHandlers) {}

  open(): void {
    this.closed = false;
    this.handlers.state('connecting');
    const source = new EventSource('/api/events');
    this.source = source;
    source.addEventListener('open', () => {
      this.handlers.state('live');
      this.handlers.connected();
    });
    source.addEventListener('reports', (ev) => {
      this.handlers.reports((JSON.parse((ev as MessageEvent<string>).data) as { reports: LiveReport[] }).reports);
    });
    source.addEventListener('transitions', (ev) => {
      const data = JSON.parse((ev as MessageEvent<string>).data) as { transitions: HistoryEntry[]; dropped?: number };
      this.handlers.transitions(data.transitions, data.dropped ?? 0);
    });
    source.addEventListener('error', () => {
      if (this.closed) return;
      if (source.readyState === EventSource.CONNECTING) {
        this.handlers.state('connecting');
        return;
      }
      // CLOSED: the server answered with something other than a stream (401, 5xx).
      this.handlers.state('down');
      source.close();
      this.source = null;
      void fetch('/api/summary', { credentials: 'same-origin' })
        .then((res) => (res.status === 401 ? this.handlers.refused() : this.retryLater()))
        .catch(() => this.retryLater());
    });
  }

  private retryLater(): void {
    if (this.closed || this.retryTimer !== null) return;
    this.retryTimer = window.setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed) this.open();
    }, 3000);
  }

  close(): void {
    this.closed = true;
    this.source?.close();
    this.source = null;
    if (this.retryTimer !== null) window.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
