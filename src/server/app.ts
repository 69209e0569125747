// The receiver's composition root: a drop-in for the vendor's sample server (POST /DeviceStatus
// on :9528, echoes the report) that validates strictly, stores durably and serves a read API.
// This file only wires the parts together; each route family, the event bus and the error
// bodies have their own module.
import { createServer } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { AlertDispatcher, type AlertOptions } from '../alerts/dispatcher.js';
import { PLATFORM_DEFAULTS, REPEAT_MEMORY_BYTES, SERVER_DEFAULTS } from '../defaults.js';
import { ReportValidationError } from '../protocol/index.js';
import type { Leadership, RegistryMode, Store } from '../store/types.js';
import { apiErrorHandler } from './errors.js';
import { FleetEvents } from './events.js';
import { feedFromFleetEvents, registerLiveEvents, type LiveFeed, type LiveOptions } from './live.js';
import { feedFromStore, publishFleetEvents } from './live-bridge.js';
import { BoxHealthSeries, installHealthMetrics, registerHealthRoutes } from './box-health.js';
import { installMetrics } from './metrics.js';
import { OfflineDetector } from './offline.js';
import { RepeatCache } from './repeat-cache.js';
import { createReportEndpoint, registerReportPathHint } from './report-endpoint.js';
import { registerAdminRoutes } from './routes/admin-api.js';
import { registerAdminAuth } from './routes/auth.js';
import { DEFAULT_DASHBOARD_DIR, registerDashboard } from './routes/dashboard.js';
import { registerPlatformRoutes } from './routes/platform-api.js';
import { registerReadApi } from './routes/read-api.js';

export interface ServerOptions {
  store: Store;
  path?: string;
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'] | FastifyServerOptions['loggerInstance'];
  events?: FleetEvents;
  /** open (default): unknown dev_sno are registered on first report; strict: 403. */
  registryMode?: RegistryMode;
  /** Box-offline detection (default: OFFLINE_DEFAULTS); false turns it off. */
  offline?: { reportIntervalMs?: number; misses?: number } | false;
  /** Webhook alerts; off without URLs. */
  alerts?: AlertOptions;
  /** GET /metrics (default true). */
  metrics?: boolean;
  /** When set, /api/* needs this token (bearer or login cookie). Unset: nothing is protected. */
  adminToken?: string;
  /** Built dashboard to serve at /; false serves none. Default: web/dist of this package. */
  dashboardDir?: string | false;
  /** Source of /api/events; default: `events` of this process. */
  liveFeed?: LiveFeed;
  live?: Omit<LiveOptions, 'feed'>;
  /**
   * Share live updates with every receiver on the same database (through the store's
   * publish/subscribe). Default: on for PostgreSQL, off for SQLite (one process per file).
   */
  shareLive?: boolean;
  /** Several receivers on one database: fleet-wide jobs (offline detection) run only while this is held. */
  leadership?: Leadership;
  /**
   * Memory (bytes, default REPEAT_MEMORY_BYTES) for each box's last report body, so that a
   * byte-for-byte repeat is not parsed and validated again (see repeat-cache.ts); 0 turns that off.
   */
  repeatCacheBytes?: number;
  /** Where boxes log in (GET, default PLATFORM_DEFAULTS.loginPath). */
  loginPath?: string;
  /** The receiver's URL as boxes reach it (behind a proxy); default: from each login's Host header. */
  publicUrl?: string;
  /** The report period boxes are told at login when neither they nor their group has one (s). */
  reportPeriodS?: number;
}

function normalizePath(path: string): string {
  const p = path.startsWith('/') ? path : `/${path}`;
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

/** JSON bodies of the API, whatever content type (or none) they come with, as for reports. */
function parseApiBodiesAsJson(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = body.toString();
    // Admin actions like .../revoke need no body.
    if (text.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(new ReportValidationError('(body)', `is not valid JSON (${(e as Error).message})`));
    }
  });
}

/** Starts `start` when the server is ready and runs `stop` when it closes. */
function runWithServer(app: FastifyInstance, start: () => void, stop: () => Promise<void>): void {
  app.addHook('onReady', async () => start());
  app.addHook('onClose', async () => stop());
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const store = opts.store;
  const events = opts.events ?? new FleetEvents();
  const reportPath = normalizePath(opts.path ?? SERVER_DEFAULTS.path);
  const bodyLimit = opts.bodyLimit ?? SERVER_DEFAULTS.bodyLimit;

  const repeats = new RepeatCache(opts.repeatCacheBytes ?? REPEAT_MEMORY_BYTES);
  const reportEndpoint = createReportEndpoint({
    store,
    events,
    registryMode: opts.registryMode ?? 'open',
    bodyLimit,
    reportPath,
    log: () => app.log,
    repeats,
  });
  const logger = opts.logger ?? false;
  const app = Fastify({
    // Reports are answered before Fastify sees them (see report-endpoint.ts).
    serverFactory: (handler) => {
      const server = createServer((req, res) => {
        if (!reportEndpoint.handle(req, res)) handler(req, res);
      });
      // Fastify's own default, which it does not apply to a server it did not create. Node's 5 s
      // would close a box's idle connection just as its next report (every 5 s) goes out on it.
      server.keepAliveTimeout = 72_000;
      return server;
    },
    // A ready-made pino logger (the CLI's) is an instance; options or a boolean are Fastify's to build.
    ...(isLoggerInstance(logger) ? { loggerInstance: logger } : { logger }),
    bodyLimit,
    // Hundreds of boxes every few seconds: per-request lines would drown the transitions.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
    // Admin bodies: an unknown field (a typo) is an error, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
  }) as unknown as FastifyInstance;
  app.decorate('fleetEvents', events);
  if (opts.adminToken !== undefined) await registerAdminAuth(app, { token: opts.adminToken, reportPath });

  parseApiBodiesAsJson(app);
  app.setErrorHandler(apiErrorHandler(bodyLimit));

  registerReportPathHint(app, reportPath);
  registerReadApi(app, store);
  registerAdminRoutes(app, store);
  registerPlatformRoutes(app, store, {
    loginPath: normalizePath(opts.loginPath ?? PLATFORM_DEFAULTS.loginPath),
    reportPath,
    registryMode: opts.registryMode ?? 'open',
    publicUrl: opts.publicUrl,
    fleetPeriodS: opts.reportPeriodS ?? PLATFORM_DEFAULTS.reportPeriodS,
  });
  registerHealthRoutes(app, store);
  if (opts.metrics !== false) {
    const registry = installMetrics(app, { store, events, repeats });
    installHealthMetrics(registry, store);
    app.decorate('metricsRegistry', registry);
  }

  const detector =
    opts.offline === false
      ? null
      : new OfflineDetector({ store, events, ...opts.offline, log: app.log, leadership: opts.leadership });
  const alerts = new AlertDispatcher(store, events, opts.alerts ?? { urls: [] }, app.log);
  app.decorate('offlineDetector', detector);
  app.decorate('alertDispatcher', alerts);
  const health = new BoxHealthSeries(store, events, { log: app.log });
  runWithServer(
    app,
    () => {
      detector?.start();
      alerts.start();
      health.start();
    },
    async () => {
      health.stop();
      await detector?.stop();
      await alerts.stop();
    },
  );

  const shareLive = opts.shareLive ?? store.kind === 'postgres';
  if (shareLive) {
    let stopPublishing: (() => Promise<void>) | null = null;
    runWithServer(
      app,
      () => {
        stopPublishing = publishFleetEvents(events, store, { log: app.log });
      },
      async () => stopPublishing?.(),
    );
  }
  const liveFeed = opts.liveFeed ?? (shareLive ? feedFromStore(store, app.log) : feedFromFleetEvents(events));
  registerLiveEvents(app, { ...opts.live, feed: liveFeed });

  if (opts.dashboardDir !== false) {
    await registerDashboard(app, { dir: opts.dashboardDir ?? DEFAULT_DASHBOARD_DIR, reportPath });
  }

  return app;
}

function isLoggerInstance(logger: unknown): logger is NonNullable<FastifyServerOptions['loggerInstance']> {
  return typeof logger === 'object' && logger !== null && typeof (logger as { child?: unknown }).child === 'function';
}

declare module 'fastify' {
  interface FastifyInstance {
    fleetEvents: FleetEvents;
    /** null when offline detection is off. tick() may be called from outside (leader election). */
    offlineDetector: OfflineDetector | null;
    alertDispatcher: AlertDispatcher;
    metricsRegistry?: import('prom-client').Registry;
  }
}
