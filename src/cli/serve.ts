import pino from 'pino';
import { buildServer, DEFAULTS } from '../server/app.js';
import { describeDatabaseUrl, openStore } from '../store/index.js';

/** The leadership for fleet-wide jobs (offline detection…): one receiver among those sharing a database. */
export const SERVE_LEADERSHIP = 'devstatus-serve';

export interface ServeOptions {
  host: string;
  port: number;
  path: string;
  db: string;
  /** PostgreSQL; when set, `db` is not used. */
  databaseUrl?: string;
  bodyLimit: number;
  logLevel: string;
}

export async function serve(opts: ServeOptions): Promise<void> {
  const databaseUrl = opts.databaseUrl || undefined;
  // Where the data goes, for logs: never the password.
  const database = databaseUrl ? describeDatabaseUrl(databaseUrl).display : opts.db;
  const storeLog = pino({ level: opts.logLevel }).child({ component: 'store' });
  const store = await openStore({ databaseUrl, dbFile: opts.db, log: storeLog });
  const app = await buildServer({
    store,
    path: opts.path,
    bodyLimit: opts.bodyLimit,
    logger: { level: opts.logLevel },
  });
  const leadership = await store.acquireLeadership(SERVE_LEADERSHIP);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    leadership.off('change', announce);
    await leadership.release();
    await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  const announce = (leader: boolean) =>
    app.log.info(
      { leader },
      leader
        ? 'this receiver is the leader for fleet-wide jobs'
        : 'another receiver sharing the database is the leader for fleet-wide jobs; standing by',
    );
  leadership.on('change', announce);
  const address = await app.listen({ host: opts.host, port: opts.port });
  app.log.info({ address, path: opts.path, store: store.kind, database }, `devstatus receiver listening on ${address}${opts.path}`);
  announce(leadership.isLeader());
}

export { DEFAULTS };
