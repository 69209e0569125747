// Leadership and messages between the processes sharing one database. The in-process version
// here serves the SQLite store (one process per file); PostgreSQL has its own
// (postgres-coordination.ts).
// Both check channels and payloads the same way, so code that works on one works on the other.
import { EventEmitter } from 'node:events';
import {
  MAX_CHANNEL_BYTES,
  MAX_MESSAGE_BYTES,
  type Leadership,
  type LeadershipEvents,
} from './types.js';

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

class LocalLeadership extends EventEmitter<LeadershipEvents> implements Leadership {
  leader = false;
  released = false;
  constructor(
    readonly name: string,
    private readonly onRelease: (l: LocalLeadership) => void,
  ) {
    super();
  }
  isLeader(): boolean {
    return this.leader;
  }
  setLeader(leader: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    this.emit('change', leader);
  }
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.onRelease(this);
    this.setLeader(false);
  }
}

/** Leadership and publish/subscribe within one process. */
export class LocalCoordinator {
  // name -> contenders in order of arrival; the first one leads.
  private readonly contenders = new Map<string, LocalLeadership[]>();
  private readonly bus = new EventEmitter();

  constructor() {
    this.bus.setMaxListeners(0);
  }

  async acquireLeadership(name: string): Promise<Leadership> {
    const queue = this.contenders.get(name) ?? [];
    this.contenders.set(name, queue);
    const leadership = new LocalLeadership(name, (l) => {
      const i = queue.indexOf(l);
      if (i >= 0) queue.splice(i, 1);
      // Hand over after the releaser has seen its own change, as with a real lock.
      const next = queue[0];
      if (i === 0 && next) setImmediate(() => !next.released && queue[0] === next && next.setLeader(true));
    });
    queue.push(leadership);
    leadership.leader = queue.length === 1;
    return leadership;
  }

  async publish(channel: string, payload: object): Promise<void> {
    const json = encodeMessage(channel, payload);
    // Asynchronous and through JSON, like NOTIFY: subscribers see the same thing on both stores.
    setImmediate(() => this.bus.emit(channel, json));
  }

  async subscribe(channel: string, onMessage: (payload: unknown) => void): Promise<() => Promise<void>> {
    checkChannel(channel);
    const listener = (json: string) => deliver(onMessage, JSON.parse(json));
    this.bus.on(channel, listener);
    return async () => {
      this.bus.off(channel, listener);
    };
  }

  async close(): Promise<void> {
    for (const queue of this.contenders.values()) for (const l of [...queue]) await l.release();
    this.bus.removeAllListeners();
  }
}
