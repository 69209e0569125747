import { buildServer, DEFAULTS } from '../server/app.js';
import { openStore } from '../store/index.js';

export interface ServeOptions {
  host: string;
  port: number;
  path: string;
  db: string;
  bodyLimit: number;
  logLevel: string;
}

export async function serve(opts: ServeOptions): Promise<void> {
  const store = await openStore({ dbFile: opts.db });
  const app = await buildServer({
    store,
    path: opts.path,
    bodyLimit: opts.bodyLimit,
    logger: { level: opts.logLevel },
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  const address = await app.listen({ host: opts.host, port: opts.port });
  app.log.info({ address, path: opts.path, store: store.kind, db: opts.db }, `devstatus receiver listening on ${address}${opts.path}`);
}

export { DEFAULTS };
