// Leadership and messages for the SQLite store: one process per database file, so both stay
// within this process (rules shared with PostgreSQL's version in ../coordination.ts).
import { EventEmitter } from 'node:events';
import { checkChannel, deliver, encodeMessage } from '../coordination.js';
import type { Leadership, LeadershipEvents } from '../types.js';

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
