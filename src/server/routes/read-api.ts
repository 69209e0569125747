// The read API: /healthz and the fleet as the dashboard and scripts see it (/api/devices,
// /api/summary, /api/history). Everything under /api/ is behind the admin token when one is set.
import type { FastifyInstance } from 'fastify';
import type { BoxStatus, Store } from '../../store/types.js';
import { notOneOf, sendError } from '../errors.js';

const optionalNumber = (value: string | undefined) => (value === undefined ? undefined : Number(value));

/** `before` (a history entry id) and `limit` of a history page; null when `before` is not an id. */
function historyPage(q: { before?: string; limit?: string }): { before?: number; limit?: number } | null {
  if (q.before !== undefined && !/^\d+$/.test(q.before)) return null;
  return { before: optionalNumber(q.before), limit: optionalNumber(q.limit) };
}

export function registerReadApi(app: FastifyInstance, store: Store): void {
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
      const wrongStatus = notOneOf(status, ['online', 'offline']);
      if (wrongStatus) return sendError(reply, 'bad_request', wrongStatus, 'status');
      return store.listBoxes({
        status: status as BoxStatus | undefined,
        q: q || undefined,
        limit: optionalNumber(limit),
        offset: offset === undefined ? undefined : Number(offset) || 0,
      });
    },
  );

  app.get('/api/summary', async () => store.summary());

  const noBox = (reply: Parameters<typeof sendError>[0], devSno: string) =>
    sendError(reply, 'not_found', `no box with dev_sno ${devSno}`, 'dev_sno');

  app.get<{ Params: { dev_sno: string } }>('/api/devices/:dev_sno', async (req, reply) => {
    const found = await store.getBox(req.params.dev_sno);
    return found ?? noBox(reply, req.params.dev_sno);
  });

  app.get<{ Params: { dev_sno: string }; Querystring: { ep_id?: string; before?: string; limit?: string } }>(
    '/api/devices/:dev_sno/history',
    async (req, reply) => {
      const devSno = req.params.dev_sno;
      const page = historyPage(req.query);
      if (!page) return sendError(reply, 'bad_request', 'must be a history entry id', 'before');
      if (!(await store.getBox(devSno))) return noBox(reply, devSno);
      const entries = await store.history(devSno, { ep_id: req.query.ep_id, ...page });
      return { dev_sno: devSno, entries };
    },
  );

  app.get<{ Querystring: { before?: string; limit?: string } }>('/api/history', async (req, reply) => {
    const page = historyPage(req.query);
    if (!page) return sendError(reply, 'bad_request', 'must be a history entry id', 'before');
    return { entries: await store.fleetHistory(page) };
  });
}
