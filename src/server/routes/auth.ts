// Admin access to the read API and the dashboard's data: one shared admin token, sent as
// `Authorization: Bearer <token>` (scripts) or held in an HttpOnly cookie set by POST /api/login
// (the dashboard; EventSource cannot send headers). The report path, /healthz, /metrics and the
// dashboard's static files stay open: boxes send no headers, and the page itself holds no data.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendError } from '../errors.js';

export const SESSION_COOKIE = 'devstatus_session';
const SESSION_MAX_AGE_S = 30 * 24 * 3600;

/** Routes under /api/ that answer without the token. */
const OPEN_API_ROUTES = new Set(['/api/login', '/api/logout']);

// Hashing both sides first gives equal lengths, so the comparison time says nothing about
// the token's length or content.
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The cookie carries a value derived from the token, not the token itself. */
function sessionValue(token: string): string {
  return createHmac('sha256', token).update('devstatus dashboard session v1').digest('base64url');
}

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

export interface AdminAuthOptions {
  token: string;
  /** The report path; never protected, even if configured under /api/. */
  reportPath: string;
}

export async function registerAdminAuth(app: FastifyInstance, opts: AdminAuthOptions): Promise<void> {
  const { token } = opts;
  if (token.length === 0) throw new Error('admin token must not be empty');
  const session = sessionValue(token);
  const reportPath = opts.reportPath.toLowerCase();

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

  const authorized = (req: FastifyRequest): boolean => {
    const bearer = bearerToken(req);
    if (bearer !== undefined) return tokensEqual(bearer, token);
    const header = req.headers.cookie;
    const cookie = header ? app.parseCookie(header)[SESSION_COOKIE] : undefined;
    return cookie !== undefined && tokensEqual(cookie, session);
  };

  app.addHook('onRequest', (req, reply, done) => {
    if (!isProtected(req) || authorized(req)) return done();
    sendError(
      reply.header('www-authenticate', 'Bearer realm="devstatus"'),
      'unauthorized',
      'admin token required',
      undefined,
      'admin token required: send "Authorization: Bearer <token>" or log in on the dashboard',
    );
  });

  app.post<{ Body: { token?: unknown } | undefined }>('/api/login', async (req, reply) => {
    const given = req.body && typeof req.body === 'object' ? req.body.token : undefined;
    if (typeof given !== 'string' || !tokensEqual(given, token)) {
      return sendError(reply, 'unauthorized', 'wrong token', undefined, 'wrong admin token');
    }
    const cookie = app.serializeCookie(SESSION_COOKIE, session, {
      httpOnly: true,
      sameSite: 'strict',
      secure: req.protocol === 'https',
      path: '/',
      maxAge: SESSION_MAX_AGE_S,
    });
    return reply.header('set-cookie', cookie).send({ ok: true });
  });

  app.post('/api/logout', async (_req, reply) => {
    const expired = app.serializeCookie(SESSION_COOKIE, '', { path: '/', httpOnly: true, sameSite: 'strict', expires: new Date(0), maxAge: 0 });
    return reply.header('set-cookie', expired).send({ ok: true });
  });
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
