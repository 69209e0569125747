// Serves the built dashboard (web/dist, made by `npm run build`) at /. Client-side routes such
// as /boxes/<dev_sno> fall back to index.html; the API and the report path are matched first.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { sendError } from '../errors.js';

/** web/dist seen from src/server/routes (tsx) and dist/server/routes (built): three levels down. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../web/dist', import.meta.url));

// The page renders every box-supplied string as text; the policy is a second line of defence.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface DashboardOptions {
  dir: string;
  reportPath: string;
}

export async function registerDashboard(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const { dir, reportPath } = opts;
  const built = existsSync(join(dir, 'index.html'));
  const isApiOrReport = (url: string) => {
    const path = url.split('?')[0]!.toLowerCase();
    return path === '/api' || path.startsWith('/api/') || path === reportPath.toLowerCase() || path === `${reportPath.toLowerCase()}/`;
  };

  if (built) {
    await app.register(fastifyStatic, {
      root: dir,
      wildcard: true,
      index: 'index.html',
      setHeaders(res, path) {
        res.setHeader('x-content-type-options', 'nosniff');
        if (path.endsWith('.html')) {
          res.setHeader('cache-control', 'no-cache');
          res.setHeader('content-security-policy', CSP);
          res.setHeader('referrer-policy', 'no-referrer');
        } else if (path.includes(`${join(dir, 'assets')}`)) {
          // Vite puts a content hash in every asset name.
          res.setHeader('cache-control', 'public, max-age=31536000, immutable');
        }
      },
    });
  } else {
    app.get('/', async (_req, reply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send(`The dashboard is not built (no ${join(dir, 'index.html')}). Run: npm run build\n`),
    );
  }

  app.setNotFoundHandler(async (req, reply) => {
    const wantsPage = (req.method === 'GET' || req.method === 'HEAD') && !isApiOrReport(req.url);
    if (built && wantsPage && !/\.[a-z0-9]+$/i.test(req.url.split('?')[0]!)) {
      return reply.sendFile('index.html');
    }
    return sendError(reply, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`);
  });
}
