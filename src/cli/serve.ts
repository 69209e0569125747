import { dirname, join, relative, isAbsolute } from 'node:path';
import { RETENTION_DEFAULTS } from '../defaults.js';
import { buildServer } from '../server/app.js';
import { resolveAdminToken } from '../server/routes/auth.js';
import { describeDatabaseUrl, openStore } from '../store/index.js';
import { dbOpenError } from './db-path.js';
import { createCliLogger, type LogFormat } from './logger.js';

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
  logFormat?: LogFormat;
  reportInterval: number;
  offlineMisses: number;
  registryMode: 'open' | 'strict';
  loginPath?: string;
  /** The receiver's address as boxes and people reach it: login answers, links in alert messages. */
  publicUrl?: string;
  reportPeriod?: number;
  webhook: string[];
  webhookSecret?: string;
  alertDedupS: number;
  webhookMaxAttempts: number;
  adminToken?: string;
  adminTokenFile?: string;
  retentionDays?: number;
  bodyBudget?: number;
  /** Seconds. */
  bodyTimeout?: number;
}

/** The generated admin token lives next to the database unless told otherwise. */
export function defaultAdminTokenFile(dbFile: string): string {
  return join(dirname(dbFile), 'admin-token');
}

function dashboardUrl(address: string, host: string): string {
  const url = new URL(address);
  // A wildcard address is not something to type into a browser.
  if (host === '0.0.0.0' || host === '::' || host === '') url.hostname = 'localhost';
  return `${url.origin}/`;
}

/** http://<host>:<port> of this receiver, a wildcard address shown as localhost. */
function publicUrlOf(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

export async function serve(opts: ServeOptions): Promise<void> {
  const log = await createCliLogger(opts);
  const databaseUrl = opts.databaseUrl || undefined;
  // Where the data goes, for logs: never the password.
  const database = databaseUrl ? describeDatabaseUrl(databaseUrl).display : opts.db;
  const store = await openStore({ databaseUrl, dbFile: opts.db, log: log.child({ component: 'store' }) }).catch((err: unknown) => {
    throw databaseUrl ? err : dbOpenError(opts.db, err);
  });
  let admin: ReturnType<typeof resolveAdminToken>;
  try {
    admin = resolveAdminToken(opts.adminToken, opts.adminTokenFile ?? defaultAdminTokenFile(opts.db));
  } catch (err) {
    await store.close();
    throw err;
  }
  // Fleet-wide jobs (offline detection) run in one receiver at a time among those sharing the database.
  const leadership = await store.acquireLeadership(SERVE_LEADERSHIP);
  const app = await buildServer({
    store,
    leadership,
    path: opts.path,
    bodyLimit: opts.bodyLimit,
    bodyBudgetBytes: opts.bodyBudget,
    bodyTimeoutMs: opts.bodyTimeout === undefined ? undefined : opts.bodyTimeout * 1000,
    logger: log,
    registryMode: opts.registryMode,
    loginPath: opts.loginPath,
    publicUrl: opts.publicUrl || undefined,
    reportPeriodS: opts.reportPeriod,
    offline: { reportIntervalMs: opts.reportInterval * 1000, misses: opts.offlineMisses },
    alerts: {
      urls: opts.webhook,
      secret: opts.webhookSecret || undefined,
      dedupMs: opts.alertDedupS * 1000,
      maxAttempts: opts.webhookMaxAttempts,
      // 0 keeps everything: a century is for ever here.
      retentionMs: (opts.retentionDays === 0 ? 36_500 : (opts.retentionDays ?? RETENTION_DEFAULTS.days)) * 86_400_000,
    },
    retention: opts.retentionDays === 0 ? false : { maxAgeMs: (opts.retentionDays ?? RETENTION_DEFAULTS.days) * 86_400_000 },
    adminToken: admin.token,
    alerting: { publicUrl: opts.publicUrl || publicUrlOf(opts.host, opts.port) },
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    // Whatever clients or the database do, the process (and its SQLite lock) goes within seconds.
    setTimeout(() => {
      app.log.error('shutdown did not finish in 10 s; exiting anyway');
      process.exit(1);
    }, 10_000).unref();
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
  app.log.info(
    {
      address,
      path: opts.path,
      store: store.kind,
      database,
      registry_mode: opts.registryMode,
      offline_after_s: opts.reportInterval * opts.offlineMisses,
      webhooks: opts.webhook.length,
    },
    `devstatus receiver listening on ${address}${opts.path}`,
  );

  const dashboard = dashboardUrl(address, opts.host);
  if (admin.source === 'option') {
    app.log.info({ dashboard }, `dashboard at ${dashboard} (admin token: the one given by --admin-token / DEVSTATUS_ADMIN_TOKEN)`);
  } else {
    const shown = isAbsolute(admin.file!) ? admin.file! : relative(process.cwd(), admin.file!) || admin.file!;
    app.log.info({ dashboard, admin_token_file: shown }, `dashboard at ${dashboard} (admin token in ${shown}: cat ${shown})`);
    if (admin.generated) {
      // The token itself never goes to the log (logs are collected and shared): only where it is.
      app.log.info({ admin_token_file: shown }, `new admin token generated and kept in ${shown} (readable by this user only)`);
    }
  }
  announce(leadership.isLeader());
}
