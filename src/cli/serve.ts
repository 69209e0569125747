import { buildServer, DEFAULTS } from '../server/app.js';
import { openStore } from '../store/index.js';

export interface ServeOptions {
  host: string;
  port: number;
  path: string;
  db: string;
  bodyLimit: number;
  logLevel: string;
  reportInterval: number;
  offlineMisses: number;
  registryMode: 'open' | 'strict';
  webhook: string[];
  webhookSecret?: string;
  alertDedupS: number;
  webhookMaxAttempts: number;
}

export async function serve(opts: ServeOptions): Promise<void> {
  const store = await openStore({ dbFile: opts.db });
  const app = await buildServer({
    store,
    path: opts.path,
    bodyLimit: opts.bodyLimit,
    logger: { level: opts.logLevel },
    registryMode: opts.registryMode,
    offline: { reportIntervalMs: opts.reportInterval * 1000, misses: opts.offlineMisses },
    alerts: {
      urls: opts.webhook,
      secret: opts.webhookSecret || undefined,
      dedupMs: opts.alertDedupS * 1000,
      maxAttempts: opts.webhookMaxAttempts,
    },
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
  app.log.info(
    {
      address,
      path: opts.path,
      store: store.kind,
      db: opts.db,
      registry_mode: opts.registryMode,
      offline_after_s: opts.reportInterval * opts.offlineMisses,
      webhooks: opts.webhook.length,
    },
    `devstatus receiver listening on ${address}${opts.path}`,
  );
}

export { DEFAULTS };
