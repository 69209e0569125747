// PostgreSQL's side of leadership and messages between the receivers sharing one database:
// session advisory locks and LISTEN/NOTIFY, each on a dedicated connection.
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { checkChannel, deliver, type StoreLogger } from '../coordination.js';
import type { Leadership, LeadershipEvents } from '../types.js';

const LOCK_NS_LEADERSHIP = 0x64737402;

/** 32-bit FNV-1a, as a signed int4 for the advisory lock id. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/**
 * A session advisory lock held on a connection of its own: the lock lives exactly as long as
 * that session, so a leader that dies (process killed, connection cut) frees it at once and a
 * follower, retrying every few seconds, takes over.
 */
export class PgLeadership extends EventEmitter<LeadershipEvents> implements Leadership {
  private client: pg.Client | null = null;
  private leader = false;
  private released = false;
  private timer: NodeJS.Timeout | null = null;
  private attempting: Promise<void> | null = null;
  private readonly key: number;

  constructor(
    readonly name: string,
    private readonly config: pg.ClientConfig,
    private readonly retryMs: number,
    private readonly log: StoreLogger,
    private readonly onRelease: () => void,
  ) {
    super();
    this.key = hash32(name);
  }

  isLeader(): boolean {
    return this.leader;
  }

  async start(): Promise<void> {
    await this.attempt();
  }

  private setLeader(leader: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    this.emit('change', leader);
  }

  private schedule(ms: number): void {
    if (this.released) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.attempt(), ms);
  }

  private attempt(): Promise<void> {
    if (this.released) return Promise.resolve();
    if (this.attempting) return this.attempting;
    this.attempting = (async () => {
      try {
        const client = this.client ?? (await this.connect());
        if (this.leader) {
          await client.query('SELECT 1'); // still our session?
        } else {
          const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
            LOCK_NS_LEADERSHIP,
            this.key,
          ]);
          if (rows[0]?.ok) {
            if (this.released) return; // release() will end the session, and the lock with it
            this.setLeader(true);
          }
        }
      } catch (e) {
        if (this.client) this.lost(this.client, e);
      } finally {
        this.attempting = null;
        this.schedule(this.retryMs);
      }
    })();
    return this.attempting;
  }

  private async connect(): Promise<pg.Client> {
    // query_timeout: a leader cut off from the server must notice and step down, not hang.
    const client = new pg.Client({ ...this.config, query_timeout: Math.max(5000, this.retryMs * 2) });
    client.on('error', (e) => this.lost(client, e));
    client.on('end', () => this.lost(client));
    this.client = client;
    await client.connect();
    return client;
  }

  private lost(client: pg.Client, e?: unknown): void {
    if (this.client !== client) return;
    this.client = null;
    client.end().catch(() => {});
    if (this.leader) {
      this.log.warn({ leadership: this.name, err: (e as Error | undefined)?.message }, 'leadership lost with its connection');
    }
    this.setLeader(false);
    this.schedule(Math.min(this.retryMs, 1000));
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearTimeout(this.timer);
    await this.attempting;
    const client = this.client;
    this.client = null;
    // Ending the session releases its advisory locks.
    if (client) await client.end().catch(() => {});
    this.onRelease();
    this.setLeader(false);
  }
}

/** LISTEN on one connection per store, reconnected (and re-LISTENed) if it drops. */
export class PgBus {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private readonly channels = new Map<string, Set<(payload: unknown) => void>>();
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs = 250;
  private closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly log: StoreLogger,
  ) {}

  async subscribe(channel: string, onMessage: (payload: unknown) => void): Promise<() => Promise<void>> {
    checkChannel(channel);
    const entry = (payload: unknown) => deliver(onMessage, payload);
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(entry);
    try {
      const client = await this.connection();
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (e) {
      this.remove(channel, entry);
      throw e;
    }
    return async () => {
      if (this.remove(channel, entry) && this.client) {
        await this.client.query(`UNLISTEN ${this.client.escapeIdentifier(channel)}`).catch(() => {});
      }
    };
  }

  /** true when that was the channel's last subscriber. */
  private remove(channel: string, entry: (payload: unknown) => void): boolean {
    const set = this.channels.get(channel);
    if (!set) return false;
    set.delete(entry);
    if (set.size > 0) return false;
    this.channels.delete(channel);
    return true;
  }

  private connection(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client(this.config);
      client.on('error', (e) => this.lost(client, e));
      client.on('end', () => this.lost(client));
      client.on('notification', (msg) => {
        const set = this.channels.get(msg.channel);
        if (!set) return;
        let payload: unknown;
        try {
          payload = JSON.parse(msg.payload ?? 'null');
        } catch {
          return; // not one of ours
        }
        for (const entry of [...set]) entry(payload);
      });
      try {
        await client.connect();
        for (const channel of this.channels.keys()) await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
      } catch (e) {
        client.end().catch(() => {});
        throw e;
      }
      if (this.closed) {
        await client.end().catch(() => {});
        throw new Error('store is closed');
      }
      this.client = client;
      this.retryMs = 250;
      return client;
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private lost(client: pg.Client, e?: unknown): void {
    if (this.client !== client) return;
    this.client = null;
    client.end().catch(() => {});
    this.log.warn({ err: (e as Error | undefined)?.message }, 'PostgreSQL LISTEN connection lost; reconnecting');
    this.reconnect();
  }

  private reconnect(): void {
    if (this.closed || this.retryTimer || this.channels.size === 0) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.closed || this.client) return;
      this.connection().then(
        () => this.log.info({}, 'PostgreSQL LISTEN connection restored'),
        () => {
          this.retryMs = Math.min(this.retryMs * 2, 5000);
          this.reconnect();
        },
      );
    }, this.retryMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.channels.clear();
    await this.connecting?.catch(() => {});
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => {});
  }
}
