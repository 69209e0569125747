// A small fleet for the operator console's browser tests: cameras down for different lengths of
// time (ingested with past timestamps), a box that went silent, names and locations to set.
import { parseReport } from '../../src/protocol/index.js';
import { buildServer, type ServerOptions } from '../../src/server/app.js';
import { registerConsoleRoutes } from '../../src/server/routes/console-api.js';
import type { Store } from '../../src/store/types.js';
import { report, sqliteBackend, type RunningServer } from './server.js';

export const LOCATION_ID = '95274d2c-0941-4d96-b032-ab200f81362c';
/** Disk use (percent) the boxes that keep reporting send: one nearly full, one not; EDGE-FLIP sends none. */
export const DISK_USE: Record<string, number> = { 'EDGE-OLD': 93, 'EDGE-NEW': 41 };
const MIN = 60_000;

/** Stores a report as if it had arrived at `at` (ms). */
async function ingestAt(store: Store, body: unknown, at: number): Promise<void> {
  await store.ingest(parseReport(body), at);
}

/** What the boxes that keep reporting say; tests change it to make things happen live. */
export type FleetState = Record<string, Record<string, 'online' | 'offline'>>;

export interface ConsoleFleet {
  server: RunningServer;
  store: Store;
  state: FleetState;
  close(): Promise<void>;
}

/** Like startServer, adding the console API if the receiver does not register it itself (yet). */
async function startServerWithConsole(store: Store, opts: Omit<ServerOptions, 'store'>): Promise<RunningServer> {
  const app = await buildServer({ store, ...opts });
  if (!app.hasRoute({ method: 'GET', url: '/api/sub-devices' })) await registerConsoleRoutes(app, store, { readRoutes: false });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    store,
    url,
    post: (body) => fetch(`${url}/DeviceStatus`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    get: (path) => fetch(`${url}${path}`),
    close: () => app.close(),
  };
}

/** Waits until `check` holds (the store answers); throws after 10 s. */
export async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startConsoleFleet(token: string): Promise<ConsoleFleet> {
  const fresh = await sqliteBackend.fresh();
  const store = fresh.store;
  const now = Date.now();
  // EDGE-OLD: a camera down for 3 hours. EDGE-SILENT: the box went silent 30 minutes ago.
  // EDGE-NEW: a camera down for 10 minutes. EDGE-FLIP: a camera that flapped (history pages).
  await ingestAt(store, report('EDGE-OLD', { '10.1.0.1': 'offline', '10.1.0.2': 'online', '10.1.0.3': 'online' }), now - 180 * MIN);
  await ingestAt(store, report('EDGE-OLD', { '10.1.0.1': 'offline', '10.1.0.2': 'online', '10.1.0.3': 'online' }), now - 40 * MIN);
  await ingestAt(store, report('EDGE-SILENT', { '10.3.0.1': 'online', '10.3.0.2': 'online' }), now - 60 * MIN);
  for (let i = 0; i < 130; i++) {
    await ingestAt(store, report('EDGE-FLIP', { '10.4.0.1': i % 2 ? 'offline' : 'online', '10.4.0.2': 'online' }), now - 120 * MIN + i * 10_000);
  }
  await store.markSilentBoxesOffline(now - 50 * MIN, now - 30 * MIN);
  const newer = report('EDGE-NEW', { '10.2.0.1': 'offline', '10.2.0.2': 'online' });
  newer.sub_devices[0]!.ep_ip = 'rtsp://admin:secret@10.2.0.1:554/stream1';
  await ingestAt(store, newer, now - 10 * MIN);

  const server = await startServerWithConsole(store, { adminToken: token, offline: { reportIntervalMs: 500, misses: 4 } });
  const state: FleetState = {
    'EDGE-OLD': { '10.1.0.1': 'offline', '10.1.0.2': 'online', '10.1.0.3': 'online' },
    'EDGE-NEW': { '10.2.0.1': 'offline', '10.2.0.2': 'online' },
    // 10.4.0.2 is no longer in EDGE-FLIP's reports: removed.
    'EDGE-FLIP': { '10.4.0.1': 'offline' },
  };
  const keepReporting = async () => {
    for (const [dev, subs] of Object.entries(state)) {
      const body = report(dev, subs);
      if (dev === 'EDGE-NEW') body.sub_devices[0]!.ep_ip = 'rtsp://admin:secret@10.2.0.1:554/stream1';
      const disk = DISK_USE[dev];
      // These bodies are the richer dialect: it sends the disk's size and free space (MB).
      await server.post(disk === undefined ? body : { ...body, gateway_ext_data: { disk_size: 1000, disk_free_size: 10 * (100 - disk) } });
    }
  };
  await keepReporting();
  const chatter = setInterval(() => void keepReporting().catch(() => {}), 300);
  return {
    server,
    store,
    state,
    async close() {
      clearInterval(chatter);
      await server.close();
      await store.close();
      await fresh.cleanup();
    },
  };
}
