// Box health over time (issue 11): the latest health rides with each report in the box's row
// (store/platform-fields.ts); this keeps a compact series besides: one point per box per bucket
// (5 min by default: the first report of the bucket that carried health), kept 24 h, so a box's
// day is at most 288 small rows whatever its report period. Also the fleet gauges on /metrics.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import { PLATFORM_DEFAULTS } from '../defaults.js';
import type { Report } from '../protocol/index.js';
import type { Store } from '../store/types.js';
import { sendError } from './errors.js';
import type { FleetEvents, StoredReport } from './events.js';

/** A disk this full (percent used) counts as full on /metrics. */
export const DISK_FULL_PCT = 90;
const PRUNE_EVERY_MS = 15 * 60_000;

export interface BoxHealthOptions {
  bucketMs?: number;
  keepMs?: number;
  log?: FastifyBaseLogger;
}

export class BoxHealthSeries {
  private readonly lastBucket = new Map<string, number>();
  private readonly bucketMs: number;
  private readonly keepMs: number;
  private timer: NodeJS.Timeout | null = null;
  // A byte-for-byte repeat carries no parsed report: its health is the one already noted.
  private readonly onReport = (stored: StoredReport, receivedAt: number) => {
    if (stored.report) this.note(stored.report, receivedAt);
  };

  constructor(
    private readonly store: Store,
    private readonly events: FleetEvents,
    private readonly opts: BoxHealthOptions = {},
  ) {
    this.bucketMs = opts.bucketMs ?? PLATFORM_DEFAULTS.healthBucketMs;
    this.keepMs = opts.keepMs ?? PLATFORM_DEFAULTS.healthKeepMs;
  }

  start(): void {
    this.events.on('report', this.onReport);
    this.timer = setInterval(() => void this.prune(Date.now()), PRUNE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    this.events.off('report', this.onReport);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Records the report's health when it is the first of its bucket for that box. */
  note(report: Report, receivedAt: number): void {
    const h = report.health;
    if (!h || (h.cpu_pct === undefined && h.mem_pct === undefined && h.disk_pct === undefined)) return;
    const bucket = Math.floor(receivedAt / this.bucketMs) * this.bucketMs;
    if (this.lastBucket.get(report.dev_sno) === bucket) return;
    this.lastBucket.set(report.dev_sno, bucket);
    this.store.platform.recordHealthPoint(report.dev_sno, bucket, h).catch((err: unknown) => {
      this.lastBucket.delete(report.dev_sno);
      this.opts.log?.warn({ err, dev_sno: report.dev_sno }, 'box health point not stored');
    });
  }

  async prune(now: number): Promise<number> {
    try {
      return await this.store.platform.pruneHealth(now - this.keepMs);
    } catch (err) {
      this.opts.log?.warn({ err }, 'old box health points not pruned');
      return 0;
    }
  }
}

/** `24h`, `90m`, `3600s` as milliseconds; undefined when not one of those. */
export function parseWindow(text: string): number | undefined {
  const m = /^(\d{1,5})(s|m|h)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
}

export function registerHealthRoutes(app: FastifyInstance, store: Store, keepMs = PLATFORM_DEFAULTS.healthKeepMs): void {
  registerFleetHealthRoute(app, store);
  app.get<{ Params: { dev_sno: string }; Querystring: { window?: string } }>('/api/devices/:dev_sno/health', async (req, reply) => {
    const windowMs = parseWindow(req.query.window ?? '24h');
    if (windowMs === undefined || windowMs <= 0) return sendError(reply, 'bad_request', 'must be a duration like 24h, 90m or 600s', 'window');
    const found = await store.getBox(req.params.dev_sno);
    if (!found) return sendError(reply, 'not_found', `no box with dev_sno ${req.params.dev_sno}`, 'dev_sno');
    const span = Math.min(windowMs, keepMs);
    const points = await store.platform.healthPoints(req.params.dev_sno, Date.now() - span);
    return { dev_sno: found.box.dev_sno, window_s: span / 1000, latest: found.box.health ?? null, points };
  });
}

/** Boxes a version query lists at most. */
const VERSION_LIST_MAX = 1000;

/** The fleet's health at a glance, and the boxes on one software version (?sw_version=). */
export function registerFleetHealthRoute(app: FastifyInstance, store: Store): void {
  app.get<{ Querystring: { sw_version?: string } }>('/api/fleet/health', async (req) => {
    const fleet = await store.platform.fleetHealth(DISK_FULL_PCT);
    const version = req.query.sw_version;
    return {
      ...fleet,
      disk_full_pct: DISK_FULL_PCT,
      ...(version === undefined ? {} : { sw_version: version, boxes: await store.platform.boxesOnVersion(version, VERSION_LIST_MAX) }),
    };
  });
}

/** Fleet gauges: boxes per software version, boxes with a nearly full disk. */
export function installHealthMetrics(registry: Registry, store: Store): void {
  let pending: ReturnType<Store['platform']['fleetHealth']> | null = null;
  // Both gauges read one query per scrape.
  const fleet = () => (pending ??= store.platform.fleetHealth(DISK_FULL_PCT).finally(() => setImmediate(() => (pending = null))));
  new Gauge({
    name: 'devstatus_boxes_by_sw_version',
    help: 'Boxes per software version, as of their last report that said one',
    labelNames: ['sw_version'],
    registers: [registry],
    async collect() {
      const f = await fleet();
      this.reset();
      for (const v of f.by_sw_version) this.set({ sw_version: v.sw_version }, v.boxes);
    },
  });
  new Gauge({
    name: 'devstatus_boxes_disk_full',
    help: `Boxes whose disk is at least ${DISK_FULL_PCT}% used, as of their last report with health`,
    registers: [registry],
    async collect() {
      this.set((await fleet()).disk_full);
    },
  });
}
