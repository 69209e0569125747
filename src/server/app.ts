// The receiver: a drop-in for the vendor's sample server (POST /DeviceStatus on :9528, echoes
// the report) that validates strictly, stores durably and serves a read API.
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { REPEAT_MEMORY_BYTES } from '../defaults.js';
import { ReportValidationError, type Report } from '../protocol/index.js';
import { type BoxStatus, type Leadership, type RegistryMode, type Store, type Transition } from '../store/types.js';
import { registerAdminRoutes } from './admin.js';
import { AlertDispatcher, type AlertOptions } from './alerts.js';
import { installMetrics } from './metrics.js';
import { OfflineDetector } from './offline.js';
import { registerAdminAuth } from './auth.js';
import { DEFAULT_DASHBOARD_DIR, registerDashboard } from './dashboard.js';
import { feedFromFleetEvents, registerLiveEvents, type LiveFeed, type LiveOptions } from './live.js';
import { feedFromStore, publishFleetEvents } from './live-bridge.js';
import { RepeatCache } from './repeat-cache.js';
import { createReportEndpoint, errorBody } from './report-endpoint.js';

export const DEFAULTS = {
  host: '0.0.0.0',
  port: 9528,
  path: '/DeviceStatus',
  bodyLimit: 1024 * 1024,
} as const;

/** What the receiver announces to the rest of the process (alerts, live views, metrics). */
export interface FleetEventMap {
  report: [report: Report, receivedAt: number];
  transitions: [transitions: Transition[]];
  rejected: [reason: string];
  /** A report was stored and answered, `seconds` after it arrived. */
  ingested: [seconds: number];
  /** Alerts queued for delivery and transitions held back by de-duplication. */
  alerts: [queued: number, held: number];
  /** Outcome of one webhook delivery attempt. */
  delivery: [outcome: 'delivered' | 'retrying' | 'failed'];
}
export class FleetEvents extends EventEmitter<FleetEventMap> {}

export interface ServerOptions {
  store: Store;
  path?: string;
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  events?: FleetEvents;
  /** open (default): unknown dev_sno are registered on first report; strict: 403. */
  registryMode?: RegistryMode;
  /** Box-offline detection (default: 5 s interval x 3 misses); false turns it off. */
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
   * Memory (bytes, default REPEAT_MEMORY_BYTES) for each box's last report body, so that a byte-for-byte
   * repeat is not parsed and validated again (see repeat-cache.ts); 0 turns that off.
   */
  repeatCacheBytes?: number;
}

export type { ErrorBody } from './report-endpoint.js';

function normalizePath(path: string): string {
  const p = path.startsWith('/') ? path : `/${path}`;
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const store = opts.store;
  const events = opts.events ?? new FleetEvents();
  const reportPath = normalizePath(opts.path ?? DEFAULTS.path);

  const registryMode = opts.registryMode ?? 'open';
  const repeats = new RepeatCache(opts.repeatCacheBytes ?? REPEAT_MEMORY_BYTES);
  const reportEndpoint = createReportEndpoint({
    store,
    events,
    registryMode,
    bodyLimit: opts.bodyLimit ?? DEFAULTS.bodyLimit,
    reportPath,
    log: () => app.log,
    repeats,
  });
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
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? DEFAULTS.bodyLimit,
    // Hundreds of boxes every few seconds: per-request lines would drown the transitions.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
    // Admin bodies: an unknown field (a typo) is an error, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
  });
  app.decorate('fleetEvents', events);
  if (opts.adminToken !== undefined) await registerAdminAuth(app, { token: opts.adminToken, reportPath });

  // JSON bodies of the API, whatever content type (or none) they come with, as for reports.
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

  app.setErrorHandler((err: FastifyError | ReportValidationError, req, reply) => {
    if (err instanceof ReportValidationError) return reply.code(400).send(errorBody('bad_request', err.reason, err.field));
    if ((err as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = opts.bodyLimit ?? DEFAULTS.bodyLimit;
      return reply.code(413).send(errorBody('payload_too_large', `body is larger than ${limit} bytes`, '(body)'));
    }
    const status = (err as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.code(status).send(errorBody('bad_request', err.message));
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send(errorBody('internal_error', 'the request failed; see the receiver log'));
  });

  app.get(reportPath, async (_req, reply) =>
    reply.code(405).header('allow', 'POST').send(errorBody('method_not_allowed', `POST the report to ${reportPath}`)),
  );

  app.get('/healthz', async (_req, reply) => {
    try {
      await store.ping();
      return { ok: true, store: store.kind };
    } catch (e) {
      return reply.code(503).send({ ok: false, store: store.kind, reason: (e as Error).message });
    }
  });

  app.get<{ Querystring: { status?: string; q?: string; limit?: string; offset?: string } }>(
    '/api/devices',
    async (req, reply) => {
      const { status, q, limit, offset } = req.query;
      if (status !== undefined && status !== 'online' && status !== 'offline') {
        return reply.code(400).send(errorBody('bad_request', 'must be online or offline', 'status'));
      }
      return store.listBoxes({
        status: status as BoxStatus | undefined,
        q: q || undefined,
        limit: limit === undefined ? undefined : Number(limit),
        offset: offset === undefined ? undefined : Number(offset) || 0,
      });
    },
  );

  app.get('/api/summary', async () => store.summary());

  app.get<{ Params: { dev_sno: string } }>('/api/devices/:dev_sno', async (req, reply) => {
    const found = await store.getBox(req.params.dev_sno);
    if (!found) return reply.code(404).send(errorBody('not_found', `no box with dev_sno ${req.params.dev_sno}`, 'dev_sno'));
    return found;
  });

  app.get<{ Params: { dev_sno: string }; Querystring: { ep_id?: string; before?: string; limit?: string } }>(
    '/api/devices/:dev_sno/history',
    async (req, reply) => {
      const devSno = req.params.dev_sno;
      const { ep_id, before, limit } = req.query;
      if (before !== undefined && !/^\d+$/.test(before)) {
        return reply.code(400).send(errorBody('bad_request', 'must be a history entry id', 'before'));
      }
      const found = await store.getBox(devSno);
      if (!found) return reply.code(404).send(errorBody('not_found', `no box with dev_sno ${devSno}`, 'dev_sno'));
      const entries = await store.history(devSno, {
        ep_id,
        before: before === undefined ? undefined : Number(before),
        limit: limit === undefined ? undefined : Number(limit),
      });
      return { dev_sno: devSno, entries };
    },
  );

  registerAdminRoutes(app, store);
  if (opts.metrics !== false) app.decorate('metricsRegistry', installMetrics(app, { store, events, repeats }));

  const detector =
    opts.offline === false
      ? null
      : new OfflineDetector({ store, events, ...opts.offline, log: app.log, leadership: opts.leadership });
  const alerts = new AlertDispatcher(store, events, opts.alerts ?? { urls: [] }, app.log);
  app.decorate('offlineDetector', detector);
  app.decorate('alertDispatcher', alerts);
  app.addHook('onReady', async () => {
    detector?.start();
    alerts.start();
  });
  app.addHook('onClose', async () => {
    await detector?.stop();
    await alerts.stop();
  });

  app.get<{ Querystring: { before?: string; limit?: string } }>('/api/history', async (req, reply) => {
    const { before, limit } = req.query;
    if (before !== undefined && !/^\d+$/.test(before)) {
      return reply.code(400).send(errorBody('bad_request', 'must be a history entry id', 'before'));
    }
    const entries = await store.fleetHistory({
      before: before === undefined ? undefined : Number(before),
      limit: limit === undefined ? undefined : Number(limit),
    });
    return { entries };
  });

  const shareLive = opts.shareLive ?? store.kind === 'postgres';
  if (shareLive) {
    let stopPublishing: (() => Promise<void>) | null = null;
    app.addHook('onReady', async () => {
      stopPublishing = publishFleetEvents(events, store, { log: app.log });
    });
    app.addHook('onClose', async () => stopPublishing?.());
  }
  const liveFeed = opts.liveFeed ?? (shareLive ? feedFromStore(store, app.log) : feedFromFleetEvents(events));
  registerLiveEvents(app, { ...opts.live, feed: liveFeed });

  if (opts.dashboardDir !== false) {
    await registerDashboard(app, { dir: opts.dashboardDir ?? DEFAULT_DASHBOARD_DIR, reportPath });
  }

  return app;
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
