// Leadership and messages between the processes sharing one database: the rules both stores'
// versions share (sqlite/coordination.ts in one process, postgres/coordination.ts across
// processes). Both check channels and payloads the same way, so code that works on one works
// on the other.
import { MAX_CHANNEL_BYTES, MAX_MESSAGE_BYTES } from './types.js';

/** Where a store reports trouble it recovers from by itself (pino fits). */
export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export function checkChannel(channel: string): void {
  if (typeof channel !== 'string' || channel.length === 0) throw new Error('channel name must be a non-empty string');
  if (Buffer.byteLength(channel) > MAX_CHANNEL_BYTES) {
    throw new Error(`channel name "${channel}" is longer than ${MAX_CHANNEL_BYTES} bytes`);
  }
}

/** The payload as it travels: JSON, small enough for a PostgreSQL NOTIFY. */
export function encodeMessage(channel: string, payload: object): string {
  checkChannel(channel);
  if (payload === null || typeof payload !== 'object') throw new Error('message payload must be an object or array');
  const json = JSON.stringify(payload);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new Error(
      `message on channel "${channel}" is ${bytes} bytes; at most ${MAX_MESSAGE_BYTES} fit ` +
        '(publish a small hint such as ids or counts and let subscribers read the rest from the store)',
    );
  }
  return json;
}

/** A subscriber that throws must not break delivery to the others, nor crash the process. */
export function deliver(onMessage: (payload: unknown) => void, payload: unknown): void {
  try {
    onMessage(payload);
  } catch (e) {
    process.emitWarning(`devstatus: a message subscriber threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  }
}
