// The receiver's live stream (/api/events, Server-Sent Events) as signals: the connection's
// state, and a count of reconnects (after a gap, messages were lost: views refetch when it
// changes). Reports, transitions and alert state changes are events, delivered to the views that listen.
import { signal } from '@preact/signals';
import type { AlertStateChange } from '../../../src/store/api-types.js';
import type { HistoryEntry } from '../api.js';

export type { AlertStateChange };

export interface LiveReport {
  dev_sno: string;
  at: string;
  online: number;
  offline: number;
}

export type LiveState = 'connecting' | 'live' | 'down';

export interface LiveListener {
  reports?(reports: LiveReport[]): void;
  transitions?(transitions: HistoryEntry[], dropped: number): void;
  /** Acknowledgements and silences made or ended (by anyone, on any receiver), in order. */
  alertState?(changes: AlertStateChange[]): void;
}

export const liveState = signal<LiveState>('connecting');
/** Whether the stream has connected before (the badge says "Reconnecting…" then). */
export const everConnected = signal(false);
/** Bumped on every reconnect after the first connect: whatever was missed must be fetched. */
export const reconnects = signal(0);

const listeners = new Set<LiveListener>();

/** Listens to live messages until the returned function is called. */
export function listen(listener: LiveListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export class LiveConnection {
  private source: EventSource | null = null;
  private retryTimer: number | null = null;
  private closed = false;

  /** `refused`: the stream was refused, probably because the login expired. */
  constructor(private readonly refused: () => void) {}

  open(): void {
    this.closed = false;
    liveState.value = 'connecting';
    const source = new EventSource('/api/events');
    this.source = source;
    source.addEventListener('open', () => {
      liveState.value = 'live';
      // The first open follows the page's own fetch; later ones follow a gap.
      if (everConnected.value) reconnects.value++;
      everConnected.value = true;
    });
    source.addEventListener('reports', (ev) => {
      const { reports } = JSON.parse((ev as MessageEvent<string>).data) as { reports: LiveReport[] };
      for (const l of listeners) l.reports?.(reports);
    });
    source.addEventListener('transitions', (ev) => {
      const data = JSON.parse((ev as MessageEvent<string>).data) as { transitions: HistoryEntry[]; dropped?: number };
      for (const l of listeners) l.transitions?.(data.transitions, data.dropped ?? 0);
    });
    source.addEventListener('alert-state', (ev) => {
      const { changes } = JSON.parse((ev as MessageEvent<string>).data) as { changes: AlertStateChange[] };
      for (const l of listeners) l.alertState?.(changes);
    });
    source.addEventListener('error', () => {
      if (this.closed) return;
      if (source.readyState === EventSource.CONNECTING) {
        liveState.value = 'connecting';
        return;
      }
      // CLOSED: the server answered with something other than a stream (401, 5xx).
      liveState.value = 'down';
      source.close();
      this.source = null;
      void fetch('/api/summary', { credentials: 'same-origin' })
        .then((res) => (res.status === 401 ? this.refused() : this.retryLater()))
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
