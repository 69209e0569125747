// Access to /api/*: the admin token (scripts; `Authorization: Bearer <token>`), API keys of
// operator accounts (`Bearer dsk_…`), and dashboard sessions (an HttpOnly cookie holding a random
// id that is kept server-side, hashed, with an expiry; logout and a password change end it).
// Roles: admin (everything), operator (acknowledge, silence, read), viewer (read only). The
// report path, /healthz, /metrics and the dashboard's static files stay open: boxes send no
// headers, and the page itself holds no data.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SESSION_DEFAULTS } from '../../defaults.js';
import type { Role } from '../../store/accounts.js';
import type { Store } from '../../store/types.js';
import { sendError } from '../errors.js';
import { LoginLimiter } from '../login-limiter.js';
import { dummyHash, verifyPassword } from '../passwords.js';

export const SESSION_COOKIE = 'devstatus_session';
/** API keys start with this, so a key is told from the admin token without a lookup. */
export const API_KEY_PREFIX = 'dsk_';

/** Routes under /api/ that answer without credentials. */
const OPEN_API_ROUTES = new Set(['/api/login', '/api/logout']);

/** Who is calling: set on every /api request once authenticated. */
export interface Caller {
  /** User name; "admin-token" for the shared token; "anonymous" when nothing is protected. */
  actor: string;
  role: Role;
  user_id: number | null;
  via: 'token' | 'session' | 'api_key' | 'none';
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
export const hasRole = (caller: Caller, needed: Role): boolean => RANK[caller.role] >= RANK[needed];

// Hashing both sides first gives equal lengths, so the comparison time says nothing about
// the token's length or content.
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export const sha256 = (secret: string): string => createHash('sha256').update(secret).digest('base64url');

function bearerToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return m?.[1]?.trim();
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return (q === -1 ? url : url.slice(0, q)).toLowerCase();
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The least role that may make this call (routes for one's own account check ownership themselves). */
function requiredRole(method: string, path: string): Role {
  if (path.startsWith('/api/users') || path.startsWith('/api/audit')) return 'admin';
  if (path === '/api/me' || path.startsWith('/api/me/') || path === '/api/keys' || path.startsWith('/api/keys/')) return 'viewer';
  // What was sent where, with the services' error answers: the people who act on alerts.
  if (path.startsWith('/api/alert-notifications')) return 'operator';
  if (READS.has(method)) return 'viewer';
  if (path.startsWith('/api/admin/')) return 'admin';
  // Where alerts go and what places are called is configuration: admins only. Silences and
  // acknowledgements are the operator's daily work.
  // A box's report period and group (/api/codes, /api/groups) decide when it is judged offline.
  if (
    path.startsWith('/api/alert-channels') ||
    path.startsWith('/api/alert-rules') ||
    path.startsWith('/api/locations') ||
    path.startsWith('/api/codes') ||
    path.startsWith('/api/groups')
  )
    return 'admin';
  return 'operator';
}

export interface AdminAuthOptions {
  token: string;
  /** The report path; never protected, even if configured under /api/. */
  reportPath: string;
  store: Store;
  /** How long a dashboard session lasts (default SESSION_DEFAULTS.maxAgeMs). */
  sessionMaxAgeMs?: number;
  limiter?: LoginLimiter;
}

export async function registerAdminAuth(app: FastifyInstance, opts: AdminAuthOptions): Promise<void> {
  const { token, store } = opts;
  if (token.length === 0) throw new Error('admin token must not be empty');
  const accounts = store.accounts;
  const maxAgeMs = opts.sessionMaxAgeMs ?? SESSION_DEFAULTS.maxAgeMs;
  const limiter = opts.limiter ?? new LoginLimiter();
  const reportPath = opts.reportPath.toLowerCase();
  // Sessions are kept under an HMAC of their id keyed with the admin token: a new token (the
  // token file deleted, or another DEVSTATUS_ADMIN_TOKEN) ends every session.
  const sessionKey = (id: string) => createHmac('sha256', token).update(id).digest('base64url');

  // No cookie hooks on every request (boxes post reports without cookies, hundreds a second):
  // the session cookie is parsed only where it matters, below, and set by login/logout themselves.
  await app.register(fastifyCookie, { hook: false });

  const isProtected = (req: FastifyRequest): boolean => {
    const route = req.routeOptions.url;
    if (route !== undefined && OPEN_API_ROUTES.has(route)) return false;
    const path = pathOf(req.url);
    if (path === reportPath || path === `${reportPath}/`) return false;
    // Both the raw path and the matched route: an encoded path must not slip past the check.
    return path.startsWith('/api/') || path === '/api' || (route?.startsWith('/api/') ?? false);
  };

  const sessionId = (req: FastifyRequest): string | undefined => {
    const header = req.headers.cookie;
    return header ? app.parseCookie(header)[SESSION_COOKIE] : undefined;
  };

  const authenticate = async (req: FastifyRequest): Promise<Caller | null> => {
    const bearer = bearerToken(req);
    if (bearer !== undefined) {
      if (bearer.startsWith(API_KEY_PREFIX)) {
        const p = await accounts.useApiKey(sha256(bearer), Date.now());
        return p && { actor: p.username ?? 'admin-token', role: p.role, user_id: p.user_id, via: 'api_key' };
      }
      return tokensEqual(bearer, token) ? { actor: 'admin-token', role: 'admin', user_id: null, via: 'token' } : null;
    }
    const id = sessionId(req);
    if (!id) return null;
    const p = await accounts.getSession(sessionKey(id), Date.now());
    return p && { actor: p.username ?? 'admin-token', role: p.role, user_id: p.user_id, via: 'session' };
  };

  app.addHook('onRequest', async (req, reply) => {
    if (!isProtected(req)) return;
    const caller = await authenticate(req);
    if (!caller) {
      return sendError(
        reply.header('www-authenticate', 'Bearer realm="devstatus"'),
        'unauthorized',
        'admin token required',
        undefined,
        'admin token required: send "Authorization: Bearer <token or API key>" or log in on the dashboard',
      );
    }
    req.caller = caller;
    const needed = requiredRole(req.method, pathOf(req.url));
    if (!hasRole(caller, needed)) {
      return sendError(reply, 'forbidden', `needs the ${needed} role; ${caller.actor} is ${caller.role}`, undefined);
    }
  });

  const startSession = async (req: FastifyRequest, reply: FastifyReply, userId: number | null, role: Role) => {
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    await accounts.createSession({ idHash: sessionKey(id), userId, role, expiresAt: now + maxAgeMs, ip: req.ip }, now);
    const cookie = app.serializeCookie(SESSION_COOKIE, id, {
      httpOnly: true,
      sameSite: 'strict',
      secure: req.protocol === 'https',
      path: '/',
      maxAge: Math.floor(maxAgeMs / 1000),
    });
    reply.header('set-cookie', cookie);
  };

  const tooMany = (reply: FastifyReply, seconds: number) =>
    sendError(reply.header('retry-after', String(seconds)), 'too_many_requests', `too many failed logins; try again in ${seconds} s`);

  // Open to anyone: a small body limit, so stalled uploads here cannot pin much memory.
  app.post<{ Body: { token?: unknown; username?: unknown; password?: unknown } | undefined }>('/api/login', { bodyLimit: 8192 }, async (req, reply) => {
    const body = req.body && typeof req.body === 'object' ? req.body : {};
    const address = `ip:${req.ip}`;
    if (body.username !== undefined || body.password !== undefined) {
      const username = typeof body.username === 'string' ? body.username.trim() : '';
      const password = typeof body.password === 'string' ? body.password : '';
      req.auditDetail = `login as ${username.slice(0, 100)}`;
      const keys = [`user:${username.toLowerCase()}`, address];
      const wait = limiter.blockedFor(keys);
      if (wait > 0) return tooMany(reply, wait);
      const user = username ? await accounts.getUser(username) : null;
      // The same work and the same answer whether or not the account exists.
      const ok = (await verifyPassword(password, user?.password_hash ?? (await dummyHash()))) && user !== null;
      if (!ok || !user) {
        limiter.failed(keys);
        return sendError(reply, 'unauthorized', 'wrong user name or password');
      }
      limiter.succeeded(keys[0]!);
      req.caller = { actor: user.username, role: user.role, user_id: user.id, via: 'session' };
      await startSession(req, reply, user.id, user.role);
      return reply.send({ ok: true, username: user.username, role: user.role });
    }
    req.auditDetail = 'login with the admin token';
    const wait = limiter.blockedFor([address]);
    if (wait > 0) return tooMany(reply, wait);
    if (typeof body.token !== 'string' || !tokensEqual(body.token, token)) {
      limiter.failed([address]);
      return sendError(reply, 'unauthorized', 'wrong token', undefined, 'wrong admin token');
    }
    req.caller = { actor: 'admin-token', role: 'admin', user_id: null, via: 'session' };
    await startSession(req, reply, null, 'admin');
    return reply.send({ ok: true, username: null, role: 'admin' });
  });

  app.post('/api/logout', { bodyLimit: 1024 }, async (req, reply) => {
    const id = sessionId(req);
    if (id) await accounts.endSession(sessionKey(id));
    const expired = app.serializeCookie(SESSION_COOKIE, '', { path: '/', httpOnly: true, sameSite: 'strict', expires: new Date(0), maxAge: 0 });
    return reply.header('set-cookie', expired).send({ ok: true });
  });

  app.get('/api/me', async (req) => {
    const c = req.caller!;
    return { username: c.user_id === null ? null : c.actor, actor: c.actor, role: c.role, via: c.via };
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on /api/* requests. */
    caller?: import('./auth.js').Caller;
    /** What the audit log should say about this call beyond method and path. */
    auditDetail?: string;
  }
}

export interface ResolvedAdminToken {
  token: string;
  /** Where it came from: 'option' (flag or environment) or the token file's path. */
  source: 'option' | 'file';
  file?: string;
  /** true when the token was generated (and written) just now. */
  generated: boolean;
}

/**
 * The CLI's admin token: the given one, else the one kept in `file`, else a new random one
 * written to `file` (mode 0600) so that it survives restarts.
 */
export function resolveAdminToken(given: string | undefined, file: string): ResolvedAdminToken {
  if (given !== undefined && given.trim() !== '') return { token: given.trim(), source: 'option', generated: false };
  let existing: string | undefined;
  try {
    existing = readFileSync(file, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read admin token file ${file}: ${(e as Error).message}`);
  }
  if (existing !== undefined) {
    if (existing === '') throw new Error(`admin token file ${file} is empty; delete it to generate a new token`);
    // A token file others can read is as good as no token: tighten it if it is ours.
    if ((statSync(file).mode & 0o077) !== 0) {
      try {
        chmodSync(file, 0o600);
      } catch {
        /* not ours to change; the token still works */
      }
    }
    return { token: existing, source: 'file', file, generated: false };
  }
  const token = randomBytes(24).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  // 'wx': never overwrite a token another process wrote in the meantime.
  try {
    writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return resolveAdminToken(undefined, file);
    throw new Error(`cannot write admin token file ${file}: ${(e as Error).message}`);
  }
  return { token, source: 'file', file, generated: true };
}
