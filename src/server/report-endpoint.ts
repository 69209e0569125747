// The report path (POST /DeviceStatus): the one route every box hits every few seconds. It is
// served straight from node:http, ahead of Fastify's router, hooks and reply machinery, which
// cost more per report than parsing and storing it does; every other route stays on Fastify.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { echoOf, parseReportBytes, ReportValidationError, type Report } from '../protocol/index.js';
import { storedFormOf, withOfflineDetail } from '../store/platform-fields.js';
import { RegistryRejectedError, type RegistryMode, type Store } from '../store/types.js';
import { ERROR_STATUS, errorBody, sendError, tooLargeBody, type ErrorBody } from './errors.js';
import type { FleetEvents } from './events.js';
import type { RepeatCache } from './repeat-cache.js';

export interface ReportEndpointOptions {
  store: Store;
  events: FleetEvents;
  registryMode: RegistryMode;
  bodyLimit: number;
  /** Normalized: leading slash, no trailing slash. */
  reportPath: string;
  log: () => FastifyBaseLogger;
  repeats: RepeatCache;
}

interface Answer {
  status: number;
  body: string | Buffer;
}

/** An error answer; `extra` adds fields a box's client may look for (the refused dev_sno…). */
const json = (body: ErrorBody, extra?: Record<string, unknown>): Answer => ({
  status: ERROR_STATUS[body.error],
  body: JSON.stringify(extra ? { ...body, ...extra } : body),
});

export function createReportEndpoint(o: ReportEndpointOptions) {
  const { store, events, registryMode, bodyLimit, reportPath, repeats } = o;
  const withSlash = `${reportPath}/`;

  const reject = (reason: string, answer: Answer): Answer => {
    events.emit('rejected', reason);
    return answer;
  };

  /**
   * The report in a body, in any of the three dialects (docs/protocol-dialects.md), as the stores
   * keep it, and the answer to give once it is stored. Throws ReportValidationError.
   */
  function parseBody(bytes: Buffer): { report: Report; echo: Buffer | string; exact: boolean } {
    // Strict UTF-8, JSON, dialect detection and validation; today's dialect takes the same fast
    // validation as before. A body that is not UTF-8 is refused, so the bytes are the report.
    const parsed = parseReportBytes(bytes);
    // The answer is in the dialect the box used; a report already in normal form in today's
    // dialect is echoed with the very bytes the box sent.
    const echo = echoOf(parsed, bytes) as Buffer | string;
    return { report: storedFormOf(parsed.report), echo, exact: true };
  }

  /** Validates and stores one report body; never throws. */
  async function processBody(bytes: Buffer): Promise<Answer> {
    try {
      const known = repeats.lookup(bytes);
      const { report, echo, exact } = known ? { ...known, exact: true } : parseBody(bytes);
      const receivedAt = Date.now();
      const stored = await store.ingest(report, receivedAt, { registryMode, ...(exact ? { source: bytes } : {}) });
      const transitions = withOfflineDetail(stored.transitions, report);
      if (!known && exact) repeats.remember(bytes, report, echo);
      const log = o.log();
      log.debug({ dev_sno: report.dev_sno, sub_devices: report.sub_devices.length }, 'report stored');
      events.emit('report', report, receivedAt);
      if (transitions.length) {
        for (const t of transitions) log.info(t, 'status transition');
        events.emit('transitions', transitions);
      }
      return { status: 200, body: echo };
    } catch (err) {
      if (err instanceof ReportValidationError) {
        o.log().info({ field: err.field, reason: err.reason }, 'report rejected');
        return reject(err.field === '(body)' ? 'bad_body' : 'invalid_field', json(errorBody('invalid_report', err.reason, err.field)));
      }
      if (err instanceof RegistryRejectedError) {
        o.log().info({ dev_sno: err.devSno, reason: err.reason }, 'report refused by the registry');
        return reject(
          'forbidden',
          json(errorBody('forbidden', err.message, 'dev_sno'), { dev_sno: err.devSno, code: err.reason }),
        );
      }
      o.log().error({ err }, 'report could not be stored');
      return reject('store_error', json(errorBody('internal_error', 'the report could not be stored; retry later')));
    }
  }

  function send(res: ServerResponse, a: Answer, started: bigint, close = false): void {
    if (res.destroyed) return;
    res.writeHead(a.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': typeof a.body === 'string' ? Buffer.byteLength(a.body) : a.body.length,
      ...(close ? { connection: 'close' } : {}),
    });
    res.end(a.body);
    if (a.status === 200) events.emit('ingested', Number(process.hrtime.bigint() - started) / 1e9);
  }

  const tooLarge = (): Answer =>
    reject('too_large', json(tooLargeBody(bodyLimit)));

  return {
    /** Serves the request if it is a report; returns false to leave it to Fastify. */
    handle(req: IncomingMessage, res: ServerResponse): boolean {
      if (req.method !== 'POST') return false;
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      if (path !== reportPath && path !== withSlash) return false;

      const started = process.hrtime.bigint();
      if (Number(req.headers['content-length']) > bodyLimit) {
        // Not worth reading: answer now and close, the rest of the body goes nowhere.
        send(res, tooLarge(), started, true);
        req.resume();
        return true;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on('data', (chunk: Buffer) => {
        if (over) return;
        size += chunk.length;
        if (size > bodyLimit) {
          over = true;
          chunks.length = 0;
        } else chunks.push(chunk);
      });
      req.on('end', () => {
        if (over) return send(res, tooLarge(), started, true);
        void processBody(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).then((a) => send(res, a, started));
      });
      // A box that hangs up mid-body: nothing to answer.
      req.on('error', () => {});
      return true;
    },
  };
}

/** A GET of the report path: say how to use it rather than 404. */
export function registerReportPathHint(app: FastifyInstance, reportPath: string): void {
  app.get(reportPath, async (_req, reply) =>
    sendError(reply.header('allow', 'POST'), 'method_not_allowed', `POST the report to ${reportPath}`),
  );
}
