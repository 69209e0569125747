// The receiver's composition root: a drop-in for the vendor's sample server (POST /DeviceStatus
// on :9528, echoes the report) that validates strictly, stores durably and serves a read API.
// This file only wires the parts together; each route family, the event bus and the error
// bodies have their own module.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { AlertingService, type AlertingOptions } from '../alerts/alerting-service.js';
import { AlertDispatcher, type AlertOptions } from '../alerts/dispatcher.js';
import { PLATFORM_DEFAULTS, REPEAT_MEMORY_BYTES, RETENTION_DEFAULTS, SERVER_DEFAULTS } from '../defaults.js';
import { decodeUtf8Strict, ReportValidationError } from '../protocol/index.js';
import type { Leadership, RegistryMode, Store, Transition } from '../store/types.js';
import { registerAuditLog } from './audit.js';
import { BodyBudget } from './body-budget.js';
import { apiErrorHandler, tooLargeBody } from './errors.js';
import { FleetEvents } from './events.js';
import { feedFromFleetEvents, registerLiveEvents, type LiveFeed, type LiveOptions } from './live.js';
import { feedFromStore, listenAlertChanges, publishFleetEvents } from './live-bridge.js';
import { LiveDemand, type LiveDemandOptions } from './live-demand.js';
import { BoxHealthSeries, installHealthMetrics, registerHealthRoutes } from './box-health.js';
import { installMetrics } from './metrics.js';
import { OfflineDetector } from './offline.js';
import { RepeatCache } from './repeat-cache.js';
import { TransitionLog } from './transition-log.js';
import { createReportEndpoint, registerReportPathHint } from './report-endpoint.js';
import { registerRequestGuard } from './request-guard.js';
import { registerAccountsApi } from './routes/accounts-api.js';
import { registerAdminRoutes } from './routes/admin-api.js';
import { registerAlertingApi } from './routes/alerting-api.js';
import { registerAdminAuth } from './routes/auth.js';
import { DEFAULT_DASHBOARD_DIR, registerDashboard } from './routes/dashboard.js';
import { registerConsoleRoutes } from './routes/console-api.js';
import { registerPlatformRoutes } from './routes/platform-api.js';
import { registerReadApi } from './routes/read-api.js';
import { RetentionJob, type RetentionOptions } from './retention.js';
import { TableUpkeepJob, type TableUpkeepOptions } from './table-upkeep.js';
import { WriteHealth } from './write-health.js';

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
  /**
   * Alerting from DB-configured channels (issue 12); publicUrl defaults to http://127.0.0.1:9528.
   * false: the engine and deliveries do not run (the API still edits the configuration).
   */
  alerting?: Partial<AlertingOptions> | false;
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
  /** How receivers tell each other that a browser watches (live-demand.ts); defaults for production. */
  liveDemand?: LiveDemandOptions;
  /** Several receivers on one database: fleet-wide jobs (offline detection) run only while this is held. */
  leadership?: Leadership;
  /**
   * Memory (bytes, default REPEAT_MEMORY_BYTES; about 64 a box) for a digest of each box's last
   * report body, so that a byte-for-byte repeat is not parsed and validated again (see
   * repeat-cache.ts); 0 turns that off.
   */
  repeatCacheBytes?: number;
  /** Bytes of report bodies held at once, all connections together (default SERVER_DEFAULTS). */
  bodyBudgetBytes?: number;
  /** Headers or a body that make no progress this long are dropped (default SERVER_DEFAULTS). */
  bodyTimeoutMs?: number;
  /** At close, requests in flight get this long before connections are cut (default SERVER_DEFAULTS). */
  shutdownGraceMs?: number;
  /** History retention (default RETENTION_DEFAULTS.days); false keeps everything. */
  retention?: RetentionOptions | false;
  /** Vacuum where the database server does not (PostgreSQL with autovacuum off). */
  tableUpkeep?: TableUpkeepOptions;
  /** Dashboard session lifetime (default SESSION_DEFAULTS). */
  sessionMaxAgeMs?: number;
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
  // Which content types get here is request-guard.ts's business (application/json or none).
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => {
    let text: string;
    try {
      text = decodeUtf8Strict(body as Buffer);
    } catch (e) {
      return done(e as Error);
    }
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
  const health = new WriteHealth();
  const bodyTimeoutMs = opts.bodyTimeoutMs ?? SERVER_DEFAULTS.bodyTimeoutMs;
  const bodyBudget = new BodyBudget(opts.bodyBudgetBytes ?? SERVER_DEFAULTS.bodyBudgetBytes);
  const reportEndpoint = createReportEndpoint({
    budget: bodyBudget,
    bodyTimeoutMs,
    health,
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
      const dispatch = (req: IncomingMessage, res: ServerResponse) => {
        if (!reportEndpoint.handle(req, res)) handler(req, res);
      };
      const server = createServer(
        {
          // Headers that never complete (slowloris, a silent connection) are dropped; bodies
          // have their own stall timer (report-endpoint.ts). Checked every second, not every 30.
          headersTimeout: bodyTimeoutMs,
          requestTimeout: Math.max(bodyTimeoutMs, 60_000),
          connectionsCheckingInterval: Math.min(1000, bodyTimeoutMs),
        },
        dispatch,
      );
      // Expect: 100-continue: a body that is too large is refused before the client sends it.
      server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
        if (Number(req.headers['content-length']) > bodyLimit) {
          const body = JSON.stringify(tooLargeBody(bodyLimit));
          res.writeHead(413, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
          res.end(body);
          return;
        }
        res.writeContinue();
        dispatch(req, res);
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
  app.decorate('writeHealth', health);
  // At close: idle connections go now; requests in flight get a grace period, then every
  // connection is cut (a client holding a half-sent request must not keep the process alive).
  app.addHook('preClose', async () => {
    app.server.closeIdleConnections();
    setTimeout(() => app.server.closeAllConnections(), opts.shutdownGraceMs ?? SERVER_DEFAULTS.shutdownGraceMs).unref();
  });
  registerRequestGuard(app);
  if (opts.adminToken !== undefined) {
    await registerAdminAuth(app, { token: opts.adminToken, reportPath, store, sessionMaxAgeMs: opts.sessionMaxAgeMs });
  }
  registerAuditLog(app, store);

  parseApiBodiesAsJson(app);
  app.setErrorHandler(apiErrorHandler(bodyLimit));

  registerReportPathHint(app, reportPath);
  registerReadApi(app, store, health);
  // Made before the routes: the console's lists show each row's alert state (acknowledged, silenced).
  const alerting = new AlertingService(store.alerting, { publicUrl: 'http://127.0.0.1:9528', ...(opts.alerting || {}) }, opts.leadership, app.log);
  await registerConsoleRoutes(app, store, { alertStates: (subjects) => alerting.subjectStates(subjects), handledSubjects: () => alerting.handledSubjects() });
  const fleetPeriodS = opts.reportPeriodS ?? PLATFORM_DEFAULTS.reportPeriodS;
  registerAdminRoutes(app, store, { fleetPeriodS });
  if (opts.adminToken !== undefined) registerAccountsApi(app, store);
  registerPlatformRoutes(app, store, {
    loginPath: normalizePath(opts.loginPath ?? PLATFORM_DEFAULTS.loginPath),
    reportPath,
    registryMode: opts.registryMode ?? 'open',
    publicUrl: opts.publicUrl,
    fleetPeriodS,
  });
  registerHealthRoutes(app, store);
  if (opts.metrics !== false) {
    const registry = installMetrics(app, { store, events, repeats, bodyBudget });
    installHealthMetrics(registry, store);
    app.decorate('metricsRegistry', registry);
  }

  const detector =
    opts.offline === false
      ? null
      : new OfflineDetector({ store, events, ...opts.offline, log: app.log, leadership: opts.leadership });
  const alerts = new AlertDispatcher(store, events, opts.alerts ?? { urls: [] }, app.log, opts.leadership);
  app.addHook('onReady', () => alerts.prepare());
  const retention =
    opts.retention === false
      ? null
      : new RetentionJob(store, opts.retention ?? { maxAgeMs: RETENTION_DEFAULTS.days * 86_400_000 }, app.log, opts.leadership);
  const tableUpkeep = new TableUpkeepJob(store, opts.tableUpkeep ?? {}, app.log, opts.leadership);
  app.decorate('offlineDetector', detector);
  app.decorate('alertDispatcher', alerts);
  app.decorate('retention', retention);
  // Every transition announced (reports, offline detection) reaches the log through here.
  const transitionLog = new TransitionLog(() => app.log);
  const logTransitions = (ts: Transition[]) => transitionLog.add(ts);
  events.on('transitions', logTransitions);
  app.decorate('alerting', alerting);
  registerAlertingApi(app, store, alerting, events);
  const boxHealth = new BoxHealthSeries(store, events, { log: app.log });
  runWithServer(
    app,
    () => {
      detector?.start();
      alerts.start();
      retention?.start();
      tableUpkeep.start();
      if (opts.alerting !== false) alerting.start();
      boxHealth.start();
    },
    async () => {
      boxHealth.stop();
      await detector?.stop();
      await alerts.stop();
      await retention?.stop();
      await tableUpkeep.stop();
      events.off('transitions', logTransitions);
      transitionLog.flush();
      await alerting.stop();
    },
  );

  const shareLive = opts.shareLive ?? store.kind === 'postgres';
  // Whether a browser watches on any receiver: reports are published for it only then.
  const liveDemand = shareLive ? new LiveDemand(store, opts.liveDemand, app.log) : undefined;
  if (liveDemand) {
    let stopPublishing: (() => Promise<void>) | null = null;
    let stopListening: Promise<(() => Promise<void>) | null> = Promise.resolve(null);
    runWithServer(
      app,
      () => {
        stopPublishing = publishFleetEvents(events, store, { log: app.log, demand: liveDemand });
        void liveDemand.start().catch((err: unknown) => app.log.warn({ err }, 'could not listen for live watchers; publishing for them always'));
        // A silence or acknowledgement made on another receiver: take it now, not at the next
        // periodic look (config every 5 s), so the lists here agree with the live push.
        stopListening = listenAlertChanges(store, (change) => {
          if (change.kind === 'ack') void alerting.kick();
          else alerting.configChanged();
        }).catch((err: unknown) => {
          app.log.warn({ err }, 'could not listen for alert state changes');
          return null;
        });
      },
      async () => {
        await stopPublishing?.();
        await liveDemand.stop();
        await (await stopListening)?.();
      },
    );
  }
  const liveFeed = opts.liveFeed ?? (shareLive ? feedFromStore(store, app.log, liveDemand) : feedFromFleetEvents(events));
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
    /** null when retention is off. */
    retention: RetentionJob | null;
    /** Whether reports are being stored (for /healthz). */
    writeHealth: WriteHealth;
    alerting: AlertingService;
    metricsRegistry?: import('prom-client').Registry;
  }
}
