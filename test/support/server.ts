// Starts the real receiver on a loopback port for a test, with a fresh store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerOptions } from '../../src/server/app.js';
import { PostgresStore, SqliteStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';
import { createTestDatabase } from './pg.js';

export interface Backend {
  name: string;
  /** Opens a store on fresh, empty storage. */
  fresh(): Promise<{ store: Store; reopen: () => Promise<Store>; cleanup: () => Promise<void> }>;
}

export const sqliteBackend: Backend = {
  name: 'sqlite',
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'devstatus-test-'));
    const file = join(dir, 'devstatus.db');
    return {
      store: new SqliteStore({ file }),
      reopen: async () => new SqliteStore({ file }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

// Quiet: the tests break connections on purpose.
const quiet = { info: () => {}, warn: () => {} };

export const postgresBackend: Backend = {
  name: 'postgres',
  async fresh() {
    const db = await createTestDatabase();
    const open = () => PostgresStore.open({ url: db.url, log: quiet, leaderRetryMs: 200 });
    return { store: await open(), reopen: open, cleanup: db.drop };
  },
};

/** Every store backend: each suite that loops over these runs against SQLite and PostgreSQL. */
export function backends(): Backend[] {
  return [sqliteBackend, postgresBackend];
}

export type FreshStore = Awaited<ReturnType<Backend['fresh']>>;

/** Runs `fn` against a fresh store of `backend`, then closes and removes it whatever happens. */
export async function withFreshStore(backend: Backend, fn: (fresh: FreshStore) => Promise<void>): Promise<void> {
  const fresh = await backend.fresh();
  try {
    await fn(fresh);
  } finally {
    await fresh.store.close();
    await fresh.cleanup();
  }
}

/** Runs `fn` against a receiver on a fresh store of `backend`, then tears both down whatever happens. */
export async function withFreshServer(
  backend: Backend,
  opts: Omit<ServerOptions, 'store'>,
  fn: (server: RunningServer, fresh: FreshStore) => Promise<void>,
): Promise<void> {
  await withFreshStore(backend, async (fresh) => {
    const server = await startServer(fresh.store, opts);
    try {
      await fn(server, fresh);
    } finally {
      await server.close();
    }
  });
}

/**
 * Holds a `with…` helper open for a whole describe block: set up in `before` (handing its
 * values to `ready`), torn down by the helper itself in `after`.
 */
function forSuite<T extends unknown[]>(run: (fn: (...values: T) => Promise<void>) => Promise<void>, ready: (...values: T) => void): void {
  let release: () => void = () => {};
  let running: Promise<void> = Promise.resolve();
  before(
    () =>
      new Promise<void>((started, failed) => {
        running = run(
          (...values) =>
            new Promise<void>((done) => {
              release = done;
              ready(...values);
              started();
            }),
        );
        running.catch(failed);
      }),
  );
  after(async () => {
    release();
    await running;
  });
}

/** withFreshServer for a whole describe block: one receiver on one fresh store for all its tests. */
export function withFreshServerForSuite(
  backend: Backend,
  opts: Omit<ServerOptions, 'store'>,
  ready: (server: RunningServer, fresh: FreshStore) => void,
): void {
  forSuite<[RunningServer, FreshStore]>((fn) => withFreshServer(backend, opts, fn), ready);
}

/** withFreshStore for a whole describe block. */
export function withFreshStoreForSuite(backend: Backend, ready: (fresh: FreshStore) => void): void {
  forSuite<[FreshStore]>((fn) => withFreshStore(backend, fn), ready);
}

export interface RunningServer {
  app: FastifyInstance;
  store: Store;
  url: string;
  post(body: unknown, init?: { path?: string; headers?: Record<string, string>; raw?: boolean }): Promise<Response>;
  get(path: string): Promise<Response>;
  close(): Promise<void>;
}

export async function startServer(store: Store, opts: Omit<ServerOptions, 'store'> = {}): Promise<RunningServer> {
  const app = await buildServer({ store, ...opts });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const reportPath = opts.path ?? '/DeviceStatus';
  return {
    app,
    store,
    url: address,
    post: (body, init = {}) =>
      fetch(`${address}${init.path ?? reportPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...init.headers },
        body: init.raw ? (body as string) : JSON.stringify(body),
      }),
    get: (path) => fetch(`${address}${path}`),
    close: () => app.close(),
  };
}

/** A well-formed report for box `devSno` with the given sub-devices (ip -> status). */
export function report(devSno: string, subs: Record<string, 'online' | 'offline'>, type = 'rtsp') {
  return {
    dev_sno: devSno,
    sub_devices: Object.entries(subs).map(([ip, status]) => ({
      ep_id: `${devSno}__${ip}`,
      ep_ip: ip,
      ep_status: status,
      ep_location: '95274d2c-0941-4d96-b032-ab200f81362c',
      ep_type: type,
      ep_name: `cam ${ip}`,
    })),
  };
}
