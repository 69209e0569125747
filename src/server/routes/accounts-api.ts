// Operator accounts over the API: users and roles (admins), one's own password, API keys (each
// user their own; admins all), and the audit log (admins). Under /api/, so behind the auth hook,
// which also enforces the role each path needs (auth.ts).
import { randomBytes } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ROLES, type Role } from '../../store/accounts.js';
import type { Store } from '../../store/types.js';
import { clampLimit } from '../../store/types.js';
import { sendError } from '../errors.js';
import { hashPassword, passwordProblem, verifyPassword } from '../passwords.js';
import { intParam } from '../query.js';
import { API_KEY_PREFIX, sha256, hasRole, type Caller } from './auth.js';

const Username = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]*$' });
const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));
const NewUser = Type.Object({ username: Username, password: Type.String(), role: RoleSchema }, { additionalProperties: false });
const UserChange = Type.Object({ role: Type.Optional(RoleSchema), password: Type.Optional(Type.String()) }, { additionalProperties: false });
const PasswordChange = Type.Object({ current: Type.String(), password: Type.String() }, { additionalProperties: false });
const NewKey = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

/** A new API key: shown once, stored as its hash. */
export function generateApiKey(): { key: string; prefix: string } {
  const key = `${API_KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
  return { key, prefix: key.slice(0, API_KEY_PREFIX.length + 6) };
}

const badPassword = (reply: FastifyReply, problem: string) => sendError(reply, 'bad_request', problem, 'password');

export function registerAccountsApi(app: FastifyInstance, store: Store): void {
  const accounts = store.accounts;
  const caller = (req: FastifyRequest): Caller => req.caller!;

  app.get('/api/users', async () => ({ users: await accounts.listUsers() }));

  app.post<{ Body: Static<typeof NewUser> }>('/api/users', { schema: { body: NewUser } }, async (req, reply) => {
    const problem = passwordProblem(req.body.password);
    if (problem) return badPassword(reply, problem);
    req.auditDetail = `add user ${req.body.username} (${req.body.role})`;
    const user = await accounts.addUser({ username: req.body.username, role: req.body.role, password_hash: await hashPassword(req.body.password) }, Date.now());
    if (!user) return sendError(reply, 'conflict', `user ${req.body.username} exists already`, 'username');
    return reply.code(201).send(user);
  });

  app.patch<{ Params: { username: string }; Body: Static<typeof UserChange> }>(
    '/api/users/:username',
    { schema: { body: UserChange } },
    async (req, reply) => {
      const { username } = req.params;
      if (req.body.password !== undefined) {
        const problem = passwordProblem(req.body.password);
        if (problem) return badPassword(reply, problem);
      }
      req.auditDetail = `change user ${username}${req.body.role ? ` role to ${req.body.role}` : ''}${req.body.password ? ' password' : ''}`;
      const hash = req.body.password === undefined ? undefined : await hashPassword(req.body.password);
      const found = await accounts.updateUser(username, { role: req.body.role as Role | undefined, password_hash: hash }, Date.now());
      if (!found) return sendError(reply, 'not_found', `no user ${username}`, 'username');
      const user = (await accounts.listUsers()).find((u) => u.username === username);
      return user;
    },
  );

  app.delete<{ Params: { username: string } }>('/api/users/:username', async (req, reply) => {
    const { username } = req.params;
    req.auditDetail = `remove user ${username}`;
    if (caller(req).actor === username && caller(req).user_id !== null) return sendError(reply, 'conflict', 'you cannot remove yourself', 'username');
    if (!(await accounts.removeUser(username))) return sendError(reply, 'not_found', `no user ${username}`, 'username');
    return { ok: true };
  });

  app.post<{ Body: Static<typeof PasswordChange> }>('/api/me/password', { schema: { body: PasswordChange } }, async (req, reply) => {
    const me = caller(req);
    if (me.user_id === null) return sendError(reply, 'bad_request', 'the admin token has no password; change users with devstatus user passwd');
    const user = await accounts.getUser(me.actor);
    if (!user || !(await verifyPassword(req.body.current, user.password_hash))) {
      return sendError(reply, 'forbidden', 'the current password is wrong', 'current');
    }
    const problem = passwordProblem(req.body.password);
    if (problem) return badPassword(reply, problem);
    req.auditDetail = 'change own password';
    // Every session of the user ends, this one included: log in again with the new password.
    await accounts.updateUser(user.username, { password_hash: await hashPassword(req.body.password) }, Date.now());
    return { ok: true };
  });

  app.get<{ Querystring: { all?: string } }>('/api/keys', async (req) => {
    const me = caller(req);
    const all = req.query.all === '1' || req.query.all === 'true';
    if (all && hasRole(me, 'admin')) return { keys: await accounts.listApiKeys() };
    return { keys: me.user_id === null ? [] : await accounts.listApiKeys(me.user_id) };
  });

  app.post<{ Body: Static<typeof NewKey> }>('/api/keys', { schema: { body: NewKey } }, async (req, reply) => {
    const me = caller(req);
    if (me.user_id === null) return sendError(reply, 'bad_request', 'API keys belong to a user: log in as one (devstatus user add)');
    const { key, prefix } = generateApiKey();
    req.auditDetail = `create API key ${req.body.name} (${prefix}…)`;
    const info = await accounts.addApiKey({ userId: me.user_id, name: req.body.name, keyHash: sha256(key), prefix }, Date.now());
    // The key itself is in this answer only: it is kept as a hash.
    return reply.code(201).send({ ...info, key });
  });

  app.delete<{ Params: { id: string } }>('/api/keys/:id', async (req, reply) => {
    const me = caller(req);
    const id = intParam(req.params.id, 'id', 1)!;
    const key = await accounts.getApiKey(id);
    // Someone else's key is "not found" unless one is an admin: no telling which ids exist.
    if (!key || (key.user_id !== me.user_id && !hasRole(me, 'admin'))) return sendError(reply, 'not_found', `no API key ${id}`, 'id');
    req.auditDetail = `revoke API key ${key.name} (${key.prefix}…) of ${key.username}`;
    await accounts.revokeApiKey(id, Date.now());
    return (await accounts.getApiKey(id))!;
  });

  app.get<{ Querystring: { before?: string; limit?: string } }>('/api/audit', async (req) => {
    const before = intParam(req.query.before, 'before', 0);
    const limit = clampLimit(intParam(req.query.limit, 'limit', 1));
    return { entries: await accounts.listAudit({ before, limit }) };
  });
}
