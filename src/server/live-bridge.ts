// Live updates across receivers that share one database: each receiver publishes what it
// received (coalesced, in messages small enough for a PostgreSQL NOTIFY) and every receiver's
// SSE stream is fed from the store's subscription, so a browser sees the whole fleet whichever
// receiver it is connected to.
import type { FastifyBaseLogger } from 'fastify';
import type { Store, Transition } from '../store/types.js';
import { MAX_MESSAGE_BYTES } from '../store/types.js';
import type { FleetEvents } from './events.js';
import { feedFromFleetEvents, type LiveFeed, type LiveMessage, type LiveReport } from './live.js';

export const LIVE_CHANNEL = 'devstatus_live';

type WireMessage = { r: LiveReport[] } | { t: Transition[] };

/** Splits items into messages that each encode within the store's message limit. */
export function chunkMessages<T>(items: T[], wrap: (part: T[]) => WireMessage): WireMessage[] {
  const out: WireMessage[] = [];
  let part: T[] = [];
  let size = 0;
  const budget = MAX_MESSAGE_BYTES - 64;
  for (const item of items) {
    const len = Buffer.byteLength(JSON.stringify(item)) + 1;
    // An item too large on its own (a huge ep_id) is not worth a message: the page refetches.
    if (len > budget) continue;
    if (size + len > budget && part.length) {
      out.push(wrap(part));
      part = [];
      size = 0;
    }
    part.push(item);
    size += len;
  }
  if (part.length) out.push(wrap(part));
  return out;
}

/**
 * Forwards this process's FleetEvents to the store's channel, gathered over `coalesceMs`
 * (only the latest report of a box per window). Returns the function that stops it.
 */
export function publishFleetEvents(
  events: FleetEvents,
  store: Store,
  opts: { coalesceMs?: number; log?: FastifyBaseLogger } = {},
): () => Promise<void> {
  const coalesceMs = opts.coalesceMs ?? 200;
  const local = feedFromFleetEvents(events);
  let reports = new Map<string, LiveReport>();
  let transitions: Transition[] = [];
  let timer: NodeJS.Timeout | null = null;
  let sending: Promise<unknown> = Promise.resolve();

  const flush = () => {
    timer = null;
    const messages = [
      ...chunkMessages(transitions, (t) => ({ t })),
      ...chunkMessages([...reports.values()], (r) => ({ r })),
    ];
    reports = new Map();
    transitions = [];
    sending = Promise.all(
      messages.map((m) =>
        store.publish(LIVE_CHANNEL, m).catch((err: unknown) => opts.log?.warn({ err }, 'could not publish a live update')),
      ),
    );
  };
  const unsubscribe = local.subscribe((m: LiveMessage) => {
    if (m.kind === 'report') reports.set(m.report.dev_sno, m.report);
    else transitions.push(...m.transitions);
    if (!timer) timer = setTimeout(flush, coalesceMs);
  });
  return async () => {
    unsubscribe();
    if (timer) {
      clearTimeout(timer);
      flush();
    }
    await sending;
  };
}

/** A LiveFeed of everything published on the store's channel, by every receiver. */
export function feedFromStore(store: Store, log?: FastifyBaseLogger): LiveFeed {
  return {
    subscribe(listener) {
      let active = true;
      const pending = store
        .subscribe(LIVE_CHANNEL, (payload) => {
          if (!active) return;
          const m = payload as Partial<{ r: LiveReport[]; t: Transition[] }>;
          if (Array.isArray(m.t)) listener({ kind: 'transitions', transitions: m.t });
          if (Array.isArray(m.r)) for (const report of m.r) listener({ kind: 'report', report });
        })
        .catch((err: unknown) => {
          log?.error({ err }, 'could not subscribe to live updates');
          return null;
        });
      return () => {
        active = false;
        void pending.then((unsubscribe) => unsubscribe?.());
      };
    },
  };
}
