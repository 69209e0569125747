// The audit log: every state-changing /api/* call (who, what, when, from where, result) goes to
// the database, whether it succeeded or was refused. Bodies are not kept (they hold passwords).
import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/types.js';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function registerAuditLog(app: FastifyInstance, store: Store): void {
  // onSend, not onResponse: the entry is written before the answer goes out, so whoever saw
  // the answer can find the entry.
  app.addHook('onSend', async (req, reply, payload) => {
    if (READS.has(req.method)) return payload;
    const url = req.url;
    if (!url.toLowerCase().startsWith('/api/')) return payload;
    const q = url.indexOf('?');
    try {
      await store.accounts.appendAudit({
        at: Date.now(),
        actor: req.caller?.actor ?? 'anonymous',
        role: req.caller?.role ?? null,
        method: req.method,
        path: (q === -1 ? url : url.slice(0, q)).slice(0, 500),
        ip: req.ip ?? null,
        status: reply.statusCode,
        detail: req.auditDetail ?? null,
      });
    } catch (err) {
      req.log.error({ err }, 'audit log entry could not be written');
    }
    return payload;
  });
}
