// The operator console's API (issue 13): what is down now across the fleet, names and places,
// history by time, outages, availability and CSV exports. Everything is under /api/, so the
// server's global /api auth hook protects it.
//
// registerConsoleRoutes(app, store) also registers GET /api/devices, /api/devices/:dev_sno/history
// and /api/history: supersets of the earlier routes (same answers and errors for the same
// queries, plus sorting, location/version filters and time ranges), meant to replace them.
import { Readable } from 'node:stream';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { EP_TYPES, LIMITS } from '../../protocol/index.js';
import { availability, outages, WINDOWS, type AvailabilityWindow } from '../../store/availability.js';
import { csvLines, type CsvValue } from '../../store/csv.js';
import { CursorError, decodeCursor } from '../../store/paging.js';
import { DEFAULT_PAGE as DEFAULT_PAGE_LIMIT, MAX_PAGE as MAX_PAGE_LIMIT } from '../../store/types.js';
import type * as api from '../../store/types.js';
import type { SubjectAlertState } from '../../alerts/engine/index.js';
import { errorBody } from '../errors.js';

/** A query parameter that is wrong: answered 400 naming it. */
export class BadParamError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'BadParamError';
  }
}

/** A string that is one of `values` (an `enum` keyword, so the error can list them). */
const OneOf = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] });
const Text = (maxLength: number = LIMITS.fieldMaxLength) => Type.String({ maxLength });
/** One value or several (?status=a&status=b); "a,b" is split by the route. */
const Many = () => Type.Array(Text(), { maxItems: 100 });
const Limit = Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT });
/** ISO 8601 time, checked by parseTime (a clearer message than a format error). */
const Time = Text(40);
const HistoryId = Text(20);

const STATUSES = ['online', 'offline', 'unknown', 'removed'] as const;
const SUB_SORTS = ['down_since', 'location', 'type', 'box', 'name'] as const;
const BOX_SORTS = ['dev_sno', 'name', 'location', 'status_since', 'last_report'] as const;

const strict = <T extends Record<string, TSchema>>(props: T) => Type.Object(props, { additionalProperties: false });

const SubDeviceFilters = {
  status: Type.Optional(Many()),
  type: Type.Optional(Many()),
  location: Type.Optional(Many()),
  box: Type.Optional(Text(LIMITS.devSnoMaxLength)),
  q: Type.Optional(Text(200)),
  sort: Type.Optional(OneOf(SUB_SORTS)),
};
/** handled=hide: leave out rows whose open problem is acknowledged or silenced (before paging). */
const Handled = Type.Optional(OneOf(['show', 'hide'] as const));
const SubDeviceQuery = strict({ ...SubDeviceFilters, handled: Handled, cursor: Type.Optional(Text(4096)), limit: Type.Optional(Limit) });
const SubDeviceExport = strict({ ...SubDeviceFilters, handled: Handled });
type SubDeviceFilters = Static<typeof SubDeviceExport>;

const BoxQuery = strict({
  status: Type.Optional(Text(20)),
  q: Type.Optional(Text(200)),
  location: Type.Optional(Text()),
  version: Type.Optional(Text(200)),
  disk_min: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
  handled: Handled,
  sort: Type.Optional(OneOf(BOX_SORTS)),
  order: Type.Optional(OneOf(['asc', 'desc'] as const)),
  limit: Type.Optional(Limit),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
});

const HistoryFilters = { ep_id: Type.Optional(Text()), from: Type.Optional(Time), to: Type.Optional(Time) };
const BoxHistoryQuery = strict({ ...HistoryFilters, before: Type.Optional(HistoryId), limit: Type.Optional(Limit) });
const FleetHistoryQuery = strict({ ...HistoryFilters, dev_sno: Type.Optional(Text(LIMITS.devSnoMaxLength)), before: Type.Optional(HistoryId), limit: Type.Optional(Limit) });
const HistoryExport = strict({ ...HistoryFilters, dev_sno: Type.Optional(Text(LIMITS.devSnoMaxLength)) });
const OutageQuery = strict(HistoryFilters);
const AvailabilityQuery = strict({ window: Type.Optional(OneOf(Object.keys(WINDOWS) as AvailabilityWindow[])) });

const DevSnoParams = Type.Object({ dev_sno: Text(LIMITS.devSnoMaxLength) });
const LocationParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
const NullableText = Type.Union([Type.Null(), Type.String({ minLength: 1, maxLength: 200 })]);
const NullableNumber = (min: number, max: number) => Type.Union([Type.Null(), Type.Number({ minimum: min, maximum: max })]);
const LocationBody = strict({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  parent_id: Type.Optional(NullableText),
  lat: Type.Optional(NullableNumber(-90, 90)),
  lon: Type.Optional(NullableNumber(-180, 180)),
});

/** Values of a list parameter, "a,b" split, each checked against `allowed` when given. */
function listParam<T extends string>(field: string, values: string[] | undefined, allowed?: readonly T[]): T[] | undefined {
  if (values === undefined) return undefined;
  const out = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  if (allowed) for (const v of out) if (!allowed.includes(v as T)) throw new BadParamError(field, `must be one of: ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  return out.length ? (out as T[]) : undefined;
}

function statusParam(values: string[] | undefined): api.SubDevicePresence[] | undefined {
  const list = listParam('status', values, [...STATUSES, 'problems'] as const);
  return list?.flatMap((s) => (s === 'problems' ? (['offline', 'unknown'] as const) : [s]));
}

/** An ISO 8601 time with a date and a time of day (zone: Z or ±hh:mm; none means UTC). */
export function parseTime(field: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value);
  const text = ok && !/(Z|[+-]\d{2}:?\d{2})$/.test(value) && value.includes('T') ? `${value}Z` : value;
  const ms = ok ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) throw new BadParamError(field, 'must be an ISO 8601 time such as 2026-01-31T08:00:00Z');
  return ms;
}

function timeRange(q: { from?: string; to?: string }): api.TimeRange {
  const from = parseTime('from', q.from);
  const to = parseTime('to', q.to);
  if (from !== undefined && to !== undefined && to <= from) throw new BadParamError('to', 'must be after from');
  return { from, to };
}

function historyId(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new BadParamError('before', 'must be a history entry id');
  return Number(value);
}

function subDeviceQuery(q: SubDeviceFilters): api.SubDeviceQuery {
  return {
    status: statusParam(q.status),
    type: listParam('type', q.type, EP_TYPES),
    location: listParam('location', q.location),
    dev_sno: q.box,
    q: q.q || undefined,
    sort: q.sort,
  };
}

/** The field a schema error is about: the parameter, not the path inside it. */
function validationField(e: { instancePath?: string; params?: Record<string, unknown> }): string | undefined {
  const p = e.params ?? {};
  if (typeof p.additionalProperty === 'string') return p.additionalProperty;
  if (typeof p.missingProperty === 'string') return p.missingProperty;
  const first = (e.instancePath ?? '').split('/')[1];
  return first || undefined;
}

function validationReason(e: { keyword?: string; message?: string; params?: Record<string, unknown> }): string {
  if (e.keyword === 'additionalProperties') return 'is not a parameter of this request';
  if (e.keyword === 'enum' && Array.isArray(e.params?.allowedValues)) return `must be one of: ${e.params.allowedValues.join(', ')}`;
  return e.message ?? 'is not valid';
}

const notFoundBox = (devSno: string) => errorBody('not_found', `no box with dev_sno ${devSno}`, 'dev_sno');

async function requireBox(store: api.Store, devSno: string, reply: FastifyReply): Promise<boolean> {
  if (await store.getBox(devSno)) return true;
  await reply.code(404).send(notFoundBox(devSno));
  return false;
}

/** Every page of a sub-device query, following the cursor. */
async function* allSubDevices(store: api.Store, query: api.SubDeviceQuery): AsyncGenerator<api.FleetSubDevice[]> {
  let after: unknown[] | undefined;
  for (;;) {
    const page = await store.listSubDevices({ ...query, after, limit: MAX_PAGE_LIMIT });
    yield page.sub_devices;
    if (!page.next_cursor) return;
    after = decodeCursor(query.sort ?? 'box', page.next_cursor);
  }
}

async function* allHistory(store: api.Store, query: api.FleetHistoryQuery): AsyncGenerator<api.HistoryEntry[]> {
  let before: number | undefined;
  for (;;) {
    const entries = await store.fleetHistory({ ...query, before, limit: MAX_PAGE_LIMIT });
    yield entries;
    if (entries.length < MAX_PAGE_LIMIT) return;
    before = entries[entries.length - 1]!.id;
  }
}

const SUB_DEVICE_COLUMNS = [
  'dev_sno', 'box_name', 'box_location', 'box_status', 'ep_id', 'ep_name', 'ep_type', 'ep_ip', 'stream_url',
  'location_id', 'location_name', 'status', 'last_reported_status', 'since', 'reason', 'detail', 'last_seen_at',
] as const;
const subDeviceCsvRow = (s: api.FleetSubDevice): CsvValue[] => SUB_DEVICE_COLUMNS.map((c) => s[c]);
const HISTORY_COLUMNS = ['id', 'at', 'dev_sno', 'ep_id', 'from_status', 'to_status', 'reason', 'detail'] as const;
const historyCsvRow = (h: api.HistoryEntry): CsvValue[] => HISTORY_COLUMNS.map((c) => h[c]);

function sendCsv(reply: FastifyReply, filename: string, lines: AsyncGenerator<string>): FastifyReply {
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${filename}"`)
    .header('cache-control', 'no-store')
    .send(Readable.from(lines));
}

export interface ConsoleRouteOptions {
  /**
   * Also register GET /api/devices, /api/devices/:dev_sno/history and /api/history (supersets
   * of the earlier routes, which must then not be registered). Default true.
   */
  readRoutes?: boolean;
  /** Alert state (acknowledged, silenced) of a page's subjects, looked up once per page. */
  alertStates?: (subjects: string[]) => Promise<Map<string, SubjectAlertState>>;
  /** Subjects ("sub:<ep_id>", "box:<dev_sno>") whose open problem is acknowledged or silenced now. */
  handledSubjects?: () => Promise<string[]>;
}

/**
 * For handled=hide: the ids (after `prefix`) of the handled subjects, which the store query
 * leaves out before it pages. The set is the open problems someone acknowledged or silenced:
 * small next to the fleet, and it goes in as one list parameter, so a page is always full.
 */
async function handledIds(handled: 'show' | 'hide' | undefined, lookup: ConsoleRouteOptions['handledSubjects'], prefix: 'sub:' | 'box:'): Promise<string[] | undefined> {
  if (handled !== 'hide' || !lookup) return undefined;
  const ids = (await lookup()).filter((s) => s.startsWith(prefix)).map((s) => s.slice(prefix.length));
  return ids.length ? ids : undefined;
}

/** The rows with the alert state of each (`alert`, null when no problem is open): one lookup for the page. */
async function withAlerts<T>(rows: T[], subjectOf: (r: T) => string, lookup: ConsoleRouteOptions['alertStates']): Promise<(T & { alert: api.AlertState | null })[]> {
  const states = lookup ? await lookup(rows.map(subjectOf)) : new Map<string, SubjectAlertState>();
  return rows.map((r) => {
    const s = states.get(subjectOf(r));
    return { ...r, alert: s ? alertStateView(s) : null };
  });
}

function alertStateView(s: SubjectAlertState): api.AlertState {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    subject: s.subject,
    acknowledged: s.acknowledged ? { by: s.acknowledged.by, at: iso(s.acknowledged.at), note: s.acknowledged.note } : null,
    silenced: s.silenced ? { silence_id: s.silenced.silence_id, until: s.silenced.until === null ? null : iso(s.silenced.until) } : null,
  };
}

export async function registerConsoleRoutes(app: FastifyInstance, store: api.Store, opts: ConsoleRouteOptions = {}): Promise<void> {
  await app.register(async (scope) => {
    // In this plugin only: a bad parameter is a 400 that names it.
    scope.setErrorHandler((err: FastifyError | BadParamError | CursorError, _req, reply) => {
      if (err instanceof BadParamError) return reply.code(400).send(errorBody('bad_request', err.reason, err.field));
      if (err instanceof CursorError) return reply.code(400).send(errorBody('bad_request', err.message, 'cursor'));
      const first = (err as FastifyError).validation?.[0];
      if (first) return reply.code(400).send(errorBody('bad_request', validationReason(first), validationField(first)));
      throw err;
    });

    scope.get<{ Querystring: Static<typeof SubDeviceQuery> }>('/api/sub-devices', { schema: { querystring: SubDeviceQuery } }, async (req) => {
      const query = subDeviceQuery(req.query);
      const after = req.query.cursor === undefined ? undefined : decodeCursor(query.sort ?? 'box', req.query.cursor);
      const exclude_ep_ids = await handledIds(req.query.handled, opts.handledSubjects, 'sub:');
      const page = await store.listSubDevices({ ...query, exclude_ep_ids, after, limit: req.query.limit });
      return { ...page, sub_devices: await withAlerts(page.sub_devices, (r) => `sub:${r.ep_id}`, opts.alertStates) };
    });

    // The exports take handled=hide too, so the file holds what the page shows.
    scope.get<{ Querystring: SubDeviceFilters }>('/api/export/sub-devices.csv', { schema: { querystring: SubDeviceExport } }, async (req, reply) => {
      const exclude_ep_ids = await handledIds(req.query.handled, opts.handledSubjects, 'sub:');
      return sendCsv(reply, 'sub-devices.csv', csvLines(SUB_DEVICE_COLUMNS, allSubDevices(store, { ...subDeviceQuery(req.query), exclude_ep_ids }), subDeviceCsvRow));
    });

    scope.get<{ Querystring: SubDeviceFilters }>('/api/export/problems.csv', { schema: { querystring: SubDeviceExport } }, async (req, reply) => {
      const query = subDeviceQuery(req.query);
      // Problems only (narrowed further by a status filter), longest down first unless sorted otherwise.
      const status = query.status ? query.status.filter((s) => s === 'offline' || s === 'unknown') : (['offline', 'unknown'] as const);
      if (status.length === 0) throw new BadParamError('status', 'problems.csv holds offline and unknown sub-devices only');
      const exclude_ep_ids = await handledIds(req.query.handled, opts.handledSubjects, 'sub:');
      const pages = allSubDevices(store, { ...query, status: [...status], sort: query.sort ?? 'down_since', exclude_ep_ids });
      return sendCsv(reply, 'problems.csv', csvLines(SUB_DEVICE_COLUMNS, pages, subDeviceCsvRow));
    });

    scope.get<{ Querystring: Static<typeof HistoryExport> }>('/api/export/history.csv', { schema: { querystring: HistoryExport } }, async (req, reply) => {
      const { dev_sno, ep_id } = req.query;
      const pages = allHistory(store, { dev_sno, ep_id, ...timeRange(req.query) });
      return sendCsv(reply, 'history.csv', csvLines(HISTORY_COLUMNS, pages, historyCsvRow));
    });

    scope.get<{ Params: Static<typeof DevSnoParams>; Querystring: Static<typeof OutageQuery> }>(
      '/api/devices/:dev_sno/outages',
      { schema: { params: DevSnoParams, querystring: OutageQuery } },
      async (req, reply) => {
        const devSno = req.params.dev_sno;
        const range = timeRange(req.query);
        const now = Date.now();
        const to = Math.min(range.to ?? now, now);
        const from = range.from ?? to - WINDOWS['30d'];
        if (!(await requireBox(store, devSno, reply))) return reply;
        const changes = await store.statusChanges(devSno, from, to);
        const ep = req.query.ep_id;
        const list = outages(changes, from, to, to === now).filter((o) => ep === undefined || o.ep_id === ep);
        return {
          dev_sno: devSno,
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          outages: list.map((o): api.Outage => ({
            dev_sno: devSno,
            ep_id: o.ep_id,
            start: new Date(o.start).toISOString(),
            end: o.end === null ? null : new Date(o.end).toISOString(),
            duration_ms: (o.end ?? to) - o.start,
            clipped: o.clipped,
          })),
        };
      },
    );

    scope.get<{ Params: Static<typeof DevSnoParams>; Querystring: Static<typeof AvailabilityQuery> }>(
      '/api/devices/:dev_sno/availability',
      { schema: { params: DevSnoParams, querystring: AvailabilityQuery } },
      async (req, reply) => {
        const devSno = req.params.dev_sno;
        const window = req.query.window ?? '24h';
        const found = await store.getBox(devSno);
        if (!found) return reply.code(404).send(notFoundBox(devSno));
        const to = Date.now();
        const from = to - WINDOWS[window];
        const figures = availability(await store.statusChanges(devSno, from, to), from, to);
        const none: api.AvailabilityFigures = { availability: null, up_ms: 0, down_ms: 0, observed_ms: 0 };
        const answer: api.Availability = {
          dev_sno: devSno,
          window,
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          box: figures.get(null) ?? none,
          sub_devices: found.sub_devices.map((s) => ({ ep_id: s.ep_id, ep_name: s.ep_name, ...(figures.get(s.ep_id) ?? none) })),
        };
        return answer;
      },
    );

    // ---- location directory. Admin only (like every /api route, behind the admin token).
    scope.get('/api/locations', async () => ({ locations: await store.listLocations() }));

    scope.get<{ Params: Static<typeof LocationParams> }>('/api/locations/:id', { schema: { params: LocationParams } }, async (req, reply) => {
      const found = await store.getLocation(req.params.id);
      return found ?? reply.code(404).send(errorBody('not_found', `no location ${req.params.id}`, 'id'));
    });

    scope.put<{ Params: Static<typeof LocationParams>; Body: Static<typeof LocationBody> }>(
      '/api/locations/:id',
      { schema: { params: LocationParams, body: LocationBody } },
      async (req, reply) => {
        if (req.body.parent_id === req.params.id) throw new BadParamError('parent_id', 'a location cannot be its own parent');
        const { location, created } = await store.putLocation(req.params.id, req.body, Date.now());
        return reply.code(created ? 201 : 200).send(location);
      },
    );

    scope.delete<{ Params: Static<typeof LocationParams> }>('/api/locations/:id', { schema: { params: LocationParams } }, async (req, reply) => {
      if (await store.deleteLocation(req.params.id)) return reply.code(204).send();
      return reply.code(404).send(errorBody('not_found', `no location ${req.params.id}`, 'id'));
    });

    if (opts.readRoutes !== false) registerReadRoutes(scope, store, opts);
  });
}

/** The box list and history routes, with sorting, filters and time ranges. */
function registerReadRoutes(scope: FastifyInstance, store: api.Store, opts: ConsoleRouteOptions): void {
  scope.get<{ Querystring: Static<typeof BoxQuery> }>('/api/devices', { schema: { querystring: BoxQuery } }, async (req) => {
    const { status, q, location, version, disk_min, handled, sort, order, limit, offset } = req.query;
    if (status !== undefined && status !== 'online' && status !== 'offline') throw new BadParamError('status', 'must be online or offline');
    const exclude_dev_snos = await handledIds(handled, opts.handledSubjects, 'box:');
    const page = await store.listBoxes({ status, q: q || undefined, location, version, disk_min, exclude_dev_snos, sort, order, limit, offset });
    return { ...page, boxes: await withAlerts(page.boxes, (b) => `box:${b.dev_sno}`, opts.alertStates) };
  });

  scope.get<{ Params: Static<typeof DevSnoParams>; Querystring: Static<typeof BoxHistoryQuery> }>(
    '/api/devices/:dev_sno/history',
    { schema: { params: DevSnoParams, querystring: BoxHistoryQuery } },
    async (req, reply) => {
      const devSno = req.params.dev_sno;
      const before = historyId(req.query.before);
      const range = timeRange(req.query);
      if (!(await requireBox(store, devSno, reply))) return reply;
      const limit = req.query.limit;
      const entries = await store.history(devSno, { ep_id: req.query.ep_id, before, limit, ...range });
      return { dev_sno: devSno, entries, next_before: nextBefore(entries, limit) };
    },
  );

  scope.get<{ Querystring: Static<typeof FleetHistoryQuery> }>('/api/history', { schema: { querystring: FleetHistoryQuery } }, async (req) => {
    const before = historyId(req.query.before);
    const limit = req.query.limit;
    const entries = await store.fleetHistory({ dev_sno: req.query.dev_sno, ep_id: req.query.ep_id, before, limit, ...timeRange(req.query) });
    return { entries, next_before: nextBefore(entries, limit) };
  });
}

/** The `before` of the next (older) page; null when this page was the last. */
function nextBefore(entries: api.HistoryEntry[], limit: number | undefined): number | null {
  const full = entries.length >= (limit ?? DEFAULT_PAGE_LIMIT);
  return full ? entries[entries.length - 1]!.id : null;
}
