// Cross-site request forgery: a browser sends the session cookie with any request to this host,
// whatever page made it (SameSite=Strict does not stop other ports of the same host, which are
// the same site). State-changing /api/* calls are refused when their Origin (or, without one,
// their Referer) is not the dashboard's own, and take application/json bodies only (a plain
// form or a text/plain fetch needs no CORS preflight; application/json does).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendError } from './errors.js';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** host[:port] as a browser writes it in Origin: no default port. */
function normalHost(host: string, scheme: string): string {
  const h = host.trim().toLowerCase();
  if (scheme === 'http:' && h.endsWith(':80')) return h.slice(0, -3);
  if (scheme === 'https:' && h.endsWith(':443')) return h.slice(0, -4);
  return h;
}

/** Why the origin of `req` is foreign, or undefined when it is the dashboard's own (or not said). */
function foreignOrigin(req: FastifyRequest): string | undefined {
  const origin = req.headers.origin;
  const referer = req.headers.referer;
  const said = origin ?? referer;
  if (said === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(said);
  } catch {
    return `${origin !== undefined ? 'Origin' : 'Referer'} "${said}" is not a URL`;
  }
  const own = [req.headers.host, req.headers['x-forwarded-host']]
    .flatMap((h) => (typeof h === 'string' ? h.split(',') : []))
    .map((h) => normalHost(h, url.protocol));
  if (own.includes(normalHost(url.host, url.protocol))) return undefined;
  return `cross-origin request refused: ${origin !== undefined ? 'Origin' : 'Referer'} ${url.origin} is not this dashboard (${req.headers.host ?? '?'})`;
}

/** The path of the first string (key or value) in `value` holding a NUL character, if any. */
function nulAt(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value === null || typeof value !== 'object' || depth > 32) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const at = Array.isArray(value) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
    if (k.includes('\u0000')) return at;
    const found = nulAt(v, at, depth + 1);
    if (found) return found;
  }
  return undefined;
}

export function registerRequestGuard(app: FastifyInstance): void {
  // No store can keep a NUL character in text (PostgreSQL refuses it): a 400 naming the field,
  // not a database error.
  app.addHook('preValidation', async (req, reply) => {
    const param = nulAt(req.params, '') ?? nulAt(req.query, '');
    if (param !== undefined) return sendError(reply, 'bad_request', 'must not contain the NUL character (\\u0000)', param);
    if (READS.has(req.method) || req.body === undefined) return;
    const field = nulAt(req.body, '');
    if (field !== undefined) return sendError(reply, 'bad_request', 'must not contain the NUL character (\\u0000)', field || '(body)');
  });

  app.addHook('onRequest', async (req, reply) => {
    if (READS.has(req.method)) return;
    const path = req.url.toLowerCase();
    if (!path.startsWith('/api/') && !(req.routeOptions.url?.startsWith('/api/') ?? false)) return;
    const foreign = foreignOrigin(req);
    if (foreign) return sendError(reply, 'forbidden', foreign);
    const type = req.headers['content-type'];
    if (type !== undefined && type.split(';')[0]!.trim().toLowerCase() !== 'application/json') {
      return sendError(reply, 'unsupported_media_type', `must be application/json, not ${type.split(';')[0]}`, 'content-type');
    }
  });
}
