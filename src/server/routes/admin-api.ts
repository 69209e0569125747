// Admin API of the device registry (dev_sno = authorization code issued by the platform),
// and the alert delivery log. Everything lives under /api/, so the auth hook protects it.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { LIMITS } from '../../protocol/index.js';
import { generateCode } from '../../store/registry.js';
import type { CodeStatus, DeliveryStatus, Store } from '../../store/types.js';
import { notOneOf, sendError } from '../errors.js';
import { intParam, textParam } from '../query.js';

// Null first: the validator coerces types, and would turn null into "" for a string branch.
const Text = Type.Union([Type.Null(), Type.String({ maxLength: 200 })]);
const NewCodeBody = Type.Object(
  {
    /** An existing code to register; a new one is generated when absent. */
    dev_sno: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.devSnoMaxLength, pattern: '^\\S+$' })),
    name: Type.Optional(Text),
    location: Type.Optional(Text),
  },
  { additionalProperties: false },
);
const DeviceFields = Type.Object({ name: Type.Optional(Text), location: Type.Optional(Text) }, { additionalProperties: false });
type NewCodeBody = Static<typeof NewCodeBody>;
type DeviceFields = Static<typeof DeviceFields>;

const notFound = (reply: FastifyReply, devSno: string) => sendError(reply, 'not_found', `no code ${devSno} in the registry`, 'dev_sno');

export interface AdminRoutesOptions {
  /** The period a box is told when neither it nor its group has one: the codes list shows it as the fleet's. */
  fleetPeriodS?: number;
}

export function registerAdminRoutes(app: FastifyInstance, store: Store, opts: AdminRoutesOptions = {}): void {
  // A POST with no body and no content type never reaches the body parser.
  const emptyBodyIsObject = async (req: { body: unknown }) => {
    if (req.body === undefined || req.body === null) req.body = {};
  };
  app.get<{ Querystring: { status?: string } }>('/api/admin/codes', async (req, reply) => {
    const { status } = req.query;
    const wrongStatus = notOneOf(status, ['active', 'revoked']);
    if (wrongStatus) return sendError(reply, 'bad_request', wrongStatus, 'status');
    const codes = await store.listCodes({ status: status as CodeStatus | undefined, fleet_period_s: opts.fleetPeriodS });
    return { total: codes.length, codes };
  });

  app.get<{ Params: { dev_sno: string } }>('/api/admin/codes/:dev_sno', async (req, reply) => {
    const code = await store.getCode(textParam(req.params.dev_sno, 'dev_sno')!);
    return code ?? notFound(reply, req.params.dev_sno);
  });

  app.post<{ Body: NewCodeBody }>('/api/admin/codes', { schema: { body: NewCodeBody }, preValidation: emptyBodyIsObject }, async (req, reply) => {
    const body = req.body;
    const given = body.dev_sno?.trim();
    const now = Date.now();
    if (given) {
      const entry = await store.addCode({ dev_sno: given, source: 'registered', name: body.name, location: body.location }, now);
      if (!entry) return sendError(reply, 'conflict', `${given} is already in the registry`, 'dev_sno');
      return reply.code(201).send(entry);
    }
    // 36^24 codes: a clash is practically impossible, but never hand out one twice.
    for (let i = 0; i < 5; i++) {
      const entry = await store.addCode({ dev_sno: generateCode(), source: 'issued', name: body.name, location: body.location }, now);
      if (entry) return reply.code(201).send(entry);
    }
    throw new Error('could not generate a unique code');
  });

  for (const [action, status] of [
    ['revoke', 'revoked'],
    ['reinstate', 'active'],
  ] as const) {
    app.post<{ Params: { dev_sno: string } }>(`/api/admin/codes/:dev_sno/${action}`, async (req, reply) => {
      const entry = await store.setCodeStatus(textParam(req.params.dev_sno, 'dev_sno')!, status, Date.now());
      return entry ?? notFound(reply, req.params.dev_sno);
    });
  }

  app.patch<{ Params: { dev_sno: string }; Body: DeviceFields }>(
    '/api/admin/devices/:dev_sno',
    { schema: { body: DeviceFields }, preValidation: emptyBodyIsObject },
    async (req, reply) => {
      const entry = await store.updateCode(textParam(req.params.dev_sno, 'dev_sno')!, req.body, Date.now());
      return entry ?? notFound(reply, req.params.dev_sno);
    },
  );

  app.get<{ Querystring: { status?: string; before?: string; limit?: string } }>(
    '/api/alerts/deliveries',
    async (req, reply) => {
      const { status, before, limit } = req.query;
      const wrongStatus = notOneOf(status, ['pending', 'delivered', 'failed']);
      if (wrongStatus) return sendError(reply, 'bad_request', wrongStatus, 'status');
      const [deliveries, counts] = await Promise.all([
        store.listDeliveries({
          status: status as DeliveryStatus | undefined,
          before: intParam(before, 'before', 0),
          limit: intParam(limit, 'limit', 1),
        }),
        store.deliveryCounts(),
      ]);
      // The body is stored as the exact bytes sent; show it parsed.
      return { counts, deliveries: deliveries.map((d) => ({ ...d, body: JSON.parse(d.body) as unknown })) };
    },
  );
}
