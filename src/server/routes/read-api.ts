// The read API: /healthz, the fleet summary and one box (the lists, history, outages,
// availability and exports are in console-api.ts). Everything under /api/ is behind the admin
// token when one is set.
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/types.js';
import { sendError } from '../errors.js';
import { textParam } from '../query.js';
import type { WriteHealth } from '../write-health.js';

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

  app.get('/api/summary', async () => store.summary());

  const noBox = (reply: Parameters<typeof sendError>[0], devSno: string) =>
    sendError(reply, 'not_found', `no box with dev_sno ${devSno}`, 'dev_sno');

  app.get<{ Params: { dev_sno: string } }>('/api/devices/:dev_sno', async (req, reply) => {
    const found = await store.getBox(textParam(req.params.dev_sno, 'dev_sno')!);
    return found ?? noBox(reply, req.params.dev_sno);
  });
}
