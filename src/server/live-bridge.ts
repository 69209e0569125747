// Live updates across receivers that share one database: each receiver publishes what it
// received (coalesced, in messages small enough for a PostgreSQL NOTIFY) and every receiver's
// SSE stream is fed from the store's subscription, so a browser sees the whole fleet whichever
// receiver it is connected to.
import type { FastifyBaseLogger } from 'fastify';
import type { Store, Transition } from '../store/types.js';
import { MAX_MESSAGE_BYTES } from '../store/types.js';
import type { AlertStateChange, FleetEvents } from './events.js';
import { feedFromFleetEvents, type LiveFeed, type LiveMessage, type LiveReport } from './live.js';
import type { LiveDemand } from './live-demand.js';

export const LIVE_CHANNEL = 'devstatus_live';
/**
 * Acknowledgements and silence changes, on a channel of their own: they are rare, and every
 * receiver's alerting listens to them all the time (to take a change made elsewhere at once),
 * while the busy live channel is listened to only while a browser watches.
 */
export const ALERT_STATE_CHANNEL = 'devstatus_alert_state';

type WireMessage = { r: LiveReport[] } | { t: Transition[] } | { a: AlertStateChange };

/**
 * An alert state change as messages that each fit: one with many subjects (an acknowledgement of
 * thousands of cameras) is split into changes of the same kind, each naming some of them.
 */
export function alertChangeMessages(change: AlertStateChange): WireMessage[] {
  if (change.kind === 'silence_ended') return [{ a: change }];
  const { subjects, ...rest } = change;
  const wrap = (part: string[]): WireMessage => ({ a: { ...rest, subjects: part } as AlertStateChange });
  // What every part repeats (who, the note, the silence) counts against each message.
  const overhead = Buffer.byteLength(JSON.stringify(wrap([]))) + 8;
  const parts = chunkMessages(subjects, wrap, overhead);
  return parts.length ? parts : [{ a: change }];
}

/** Splits items into messages that each encode within the store's message limit. */
export function chunkMessages<T>(items: T[], wrap: (part: T[]) => WireMessage, overhead = 64): WireMessage[] {
  const out: WireMessage[] = [];
  let part: T[] = [];
  let size = 0;
  const budget = MAX_MESSAGE_BYTES - overhead;
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
 * (only the latest report of a box per window). Reports and transitions only while some
 * receiver has a browser watching (`demand`, live-demand.ts); alert state changes always, every
 * receiver's alerting takes them. Returns the function that stops it.
 */
export function publishFleetEvents(
  events: FleetEvents,
  store: Store,
  opts: { coalesceMs?: number; log?: FastifyBaseLogger; demand?: LiveDemand } = {},
): () => Promise<void> {
  const coalesceMs = opts.coalesceMs ?? 200;
  const local = feedFromFleetEvents(events);
  let reports = new Map<string, LiveReport>();
  let transitions: Transition[] = [];
  let alertChanges: AlertStateChange[] = [];
  let timer: NodeJS.Timeout | null = null;
  let sending: Promise<unknown> = Promise.resolve();

  const flush = () => {
    timer = null;
    const wanted = opts.demand?.wanted ?? true;
    const messages = wanted
      ? [...chunkMessages(transitions, (t) => ({ t })), ...chunkMessages([...reports.values()], (r) => ({ r }))]
      : [];
    const alertMessages = alertChanges.flatMap(alertChangeMessages);
    reports = new Map();
    transitions = [];
    alertChanges = [];
    const publish = (channel: string, m: WireMessage) =>
      store.publish(channel, m).catch((err: unknown) => opts.log?.warn({ err }, 'could not publish a live update'));
    sending = Promise.all([
      ...messages.map((m) => publish(LIVE_CHANNEL, m)),
      // One after another: a silence's end and its changed replacement arrive in that order.
      alertMessages.reduce<Promise<unknown>>((prev, m) => prev.then(() => publish(ALERT_STATE_CHANNEL, m)), Promise.resolve()),
    ]);
  };
  const unsubscribe = local.subscribe((m: LiveMessage) => {
    if (m.kind === 'report') reports.set(m.report.dev_sno, m.report);
    else if (m.kind === 'alert') alertChanges.push(m.change);
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

/**
 * A LiveFeed of everything published on the store's channel, by every receiver; while it has a
 * subscriber (a browser watching here), `demand` tells the other receivers to publish.
 */
export function feedFromStore(store: Store, log?: FastifyBaseLogger, demand?: LiveDemand): LiveFeed {
  return {
    subscribe(listener) {
      let active = true;
      demand?.watchStarted();
      const onPayload = (payload: unknown) => {
        if (!active) return;
        const m = payload as Partial<{ r: LiveReport[]; t: Transition[]; a: AlertStateChange }>;
        if (Array.isArray(m.t)) listener({ kind: 'transitions', transitions: m.t });
        if (m.a && typeof m.a === 'object') listener({ kind: 'alert', change: m.a });
        if (Array.isArray(m.r)) for (const report of m.r) listener({ kind: 'report', report });
      };
      const pending = [LIVE_CHANNEL, ALERT_STATE_CHANNEL].map((channel) =>
        store.subscribe(channel, onPayload).catch((err: unknown) => {
          log?.error({ err }, 'could not subscribe to live updates');
          return null;
        }),
      );
      return () => {
        if (active) demand?.watchEnded();
        active = false;
        for (const p of pending) void p.then((unsubscribe) => unsubscribe?.());
      };
    },
  };
}

/**
 * Acknowledgements and silence changes made on any receiver (this one's too), as they are
 * published: `onChange` lets this receiver's alerting take them at once. Returns the function
 * that stops listening.
 */
export async function listenAlertChanges(store: Store, onChange: (change: AlertStateChange) => void): Promise<() => Promise<void>> {
  return store.subscribe(ALERT_STATE_CHANNEL, (payload) => {
    const m = payload as Partial<{ a: AlertStateChange }>;
    if (m.a && typeof m.a === 'object') onChange(m.a);
  });
}
