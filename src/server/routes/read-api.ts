// The read API: /healthz and the fleet as the dashboard and scripts see it (/api/devices,
// /api/summary, /api/history). Everything under /api/ is behind the admin token when one is set.
import type { FastifyInstance } from 'fastify';
import type { BoxStatus, Store } from '../../store/types.js';
import { notOneOf, sendError } from '../errors.js';
import { intParam, textParam } from '../query.js';
import type { WriteHealth } from '../write-health.js';

/** `before` (a history entry id) and `limit` of a history page. */
export function historyPage(q: { before?: string; limit?: string }): { before?: number; limit?: number } {
  return { before: intParam(q.before, 'before', 0), limit: intParam(q.limit, 'limit', 1) };
}

export function registerReadApi(app: FastifyInstance, store: Store, health?: WriteHealth): void {
  app.get('/healthz', async (_req, reply) => {
    try {
      await store.ping();
      // Reads work but writes do not (a full disk): boxes are being refused, so not healthy.
      const problem = health?.problem;
      if (problem) {
        return reply.code(503).send({ ok: false, store: store.kind, reason: `writes are failing: ${problem.reason}`, since: new Date(problem.since).toISOString() });
      }
      return { ok: true, store: store.kind };
    } catch (e) {
      return reply.code(503).send({ ok: false, store: store.kind, reason: (e as Error).message });
    }
  });

  app.get<{ Querystring: { status?: string; q?: string; limit?: string; offset?: string } }>(
    '/api/devices',
    async (req, reply) => {
      const { status, q, limit, offset } = req.query;
      const wrongStatus = notOneOf(status, ['online', 'offline']);
      if (wrongStatus) return sendError(reply, 'bad_request', wrongStatus, 'status');
      return store.listBoxes({
        status: status as BoxStatus | undefined,
        q: textParam(q, 'q') || undefined,
        limit: intParam(limit, 'limit', 1),
        offset: intParam(offset, 'offset', 0),
      });
    },
  );

  app.get('/api/summary', async () => store.summary());

  const noBox = (reply: Parameters<typeof sendError>[0], devSno: string) =>
    sendError(reply, 'not_found', `no box with dev_sno ${devSno}`, 'dev_sno');

  app.get<{ Params: { dev_sno: string } }>('/api/devices/:dev_sno', async (req, reply) => {
    const found = await store.getBox(textParam(req.params.dev_sno, 'dev_sno')!);
    return found ?? noBox(reply, req.params.dev_sno);
  });

  app.get<{ Params: { dev_sno: string }; Querystring: { ep_id?: string; before?: string; limit?: string } }>(
    '/api/devices/:dev_sno/history',
    async (req, reply) => {
      const devSno = textParam(req.params.dev_sno, 'dev_sno')!;
      const page = historyPage(req.query);
      const epId = textParam(req.query.ep_id, 'ep_id');
      if (!(await store.getBox(devSno))) return noBox(reply, devSno);
      const entries = await store.history(devSno, { ep_id: epId, ...page });
      return { dev_sno: devSno, entries };
    },
  );

  app.get<{ Querystring: { before?: string; limit?: string } }>('/api/history', async (req) => {
    const page = historyPage(req.query);
    return { entries: await store.fleetHistory(page) };
  });
}
