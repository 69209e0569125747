// The management platform's side of the protocol (issue 11, docs/protocol-dialects.md):
//   GET <login path>?dev_sno=&hex_mac=   a box logs in and learns where and how often to report;
//   GET/PUT /api/codes/:dev_sno          a box's report period and group, and its logins (MACs);
//   GET /api/groups, PUT /api/groups/:name  a group's report period.
// The admin routes live under /api/, so the admin token protects them; the login is the box's.
import { randomBytes } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseLoginQuery, ReportValidationError, type LoginResponseWire } from '../../protocol/index.js';
import { admitReport } from '../../store/registry.js';
import { RegistryRejectedError, type RegistryMode, type Store } from '../../store/types.js';
import { sendError } from '../errors.js';

export interface PlatformRoutesOptions {
  /** Normalized: leading slash, no trailing slash. */
  loginPath: string;
  reportPath: string;
  registryMode: RegistryMode;
  /**
   * The receiver's address as boxes reach it (http://host:port, maybe behind a proxy). Unset:
   * taken from each login request's Host header.
   */
  publicUrl?: string;
  /** The period a box is told when neither it nor its group has one. */
  fleetPeriodS: number;
}

// One schema with both types, not a union: the validator coerces, and a union's null branch
// would take 0 for null.
const Period = Type.Unsafe<number | null>({ type: ['integer', 'null'], minimum: 1, maximum: 86_400 });
const GroupName = Type.String({ minLength: 1, maxLength: 64, pattern: '^\\S(.*\\S)?$' });
const CodeSettingsBody = Type.Object(
  { report_period_s: Type.Optional(Period), group: Type.Optional(Type.Union([Type.Null(), GroupName])) },
  { additionalProperties: false },
);
const GroupBody = Type.Object({ report_period_s: Period }, { additionalProperties: false });
type CodeSettingsBody = Static<typeof CodeSettingsBody>;
type GroupBody = Static<typeof GroupBody>;

/** Where this receiver is, as the box that asked sees it. */
function baseUrlOf(req: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, '');
  return `${req.protocol}://${req.headers.host ?? req.hostname}`;
}

export function registerPlatformRoutes(app: FastifyInstance, store: Store, o: PlatformRoutesOptions): void {
  const platform = store.platform.withFleetPeriod(o.fleetPeriodS);
  const noCode = (reply: FastifyReply, devSno: string) => sendError(reply, 'not_found', `no code ${devSno} in the registry`, 'dev_sno');

  app.get(o.loginPath, async (req, reply) => {
    const query = parseLoginQuery(req.query as Record<string, unknown>);
    const now = Date.now();
    const code = await store.getCode(query.dev_sno);
    try {
      if (admitReport(query.dev_sno, code, o.registryMode) === 'register') await platform.autoRegister(query.dev_sno, now);
    } catch (e) {
      if (!(e instanceof RegistryRejectedError)) throw e;
      req.log.info({ dev_sno: e.devSno, reason: e.reason }, 'login refused by the registry');
      return reply.code(403).send({ error: 'forbidden', field: 'dev_sno', reason: e.message, message: `dev_sno: ${e.message}`, dev_sno: e.devSno, code: e.reason });
    }
    const settings = await platform.getSettings(query.dev_sno);
    const login = await platform.recordLogin(query.dev_sno, query.mac, settings.effective_period_s, now);
    if (login.mac_conflict && login.macs.at(-2) !== undefined) {
      req.log.warn({ dev_sno: login.dev_sno, macs: login.macs }, 'a code logged in from more than one MAC: possibly a cloned box');
    }
    const base = baseUrlOf(req, o.publicUrl);
    const answer: LoginResponseWire = {
      token: randomBytes(10).toString('hex'),
      deviceMonitorAddr: `${base}${o.reportPath}`,
      deviceMonitorPeriod: settings.effective_period_s,
    };
    return answer;
  });

  app.get<{ Params: { dev_sno: string } }>('/api/codes/:dev_sno', async (req, reply) => {
    const devSno = req.params.dev_sno;
    const code = await store.getCode(devSno);
    if (!code) return noCode(reply, devSno);
    const [settings, login] = await Promise.all([platform.getSettings(devSno), platform.getLogin(devSno)]);
    return { ...code, settings, login };
  });

  app.put<{ Params: { dev_sno: string }; Body: CodeSettingsBody }>('/api/codes/:dev_sno', { schema: { body: CodeSettingsBody } }, async (req, reply) => {
    const devSno = req.params.dev_sno;
    const code = await store.getCode(devSno);
    if (!code) return noCode(reply, devSno);
    const now = Date.now();
    const group = req.body.group;
    // A box put in a group that does not exist yet creates it (with no period of its own).
    if (typeof group === 'string' && !(await platform.listGroups()).some((g) => g.name === group)) {
      await platform.setGroup(group, { report_period_s: null }, now);
    }
    const settings = await platform.setSettings(devSno, req.body, now);
    return { ...code, settings, login: await platform.getLogin(devSno) };
  });

  app.get('/api/groups', async () => ({ groups: await platform.listGroups() }));

  app.put<{ Params: { name: string }; Body: GroupBody }>('/api/groups/:name', { schema: { body: GroupBody } }, async (req) => {
    const name = req.params.name.trim();
    if (!name || name.length > 64) throw new ReportValidationError('name', 'must be 1 to 64 characters');
    return platform.setGroup(name, req.body, Date.now());
  });
}
