// The report path (POST /DeviceStatus): the one route every box hits every few seconds. It is
// served straight from node:http, ahead of Fastify's router, hooks and reply machinery, which
// cost more per report than parsing and storing it does; every other route stays on Fastify.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { echoOf, parseReportBytes, ReportValidationError, type Report } from '../protocol/index.js';
import { storedFormOf } from '../store/platform-fields.js';
import { BodyBudget } from './body-budget.js';
import type { WriteHealth } from './write-health.js';
import { RegistryRejectedError, type RegistryMode, type Store } from '../store/types.js';
import { ERROR_STATUS, errorBody, sendError, tooLargeBody, type ErrorBody } from './errors.js';
import type { FleetEvents, StoredReport } from './events.js';
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
  /** Bytes of bodies in flight, shared by every connection. */
  budget: BodyBudget;
  /** A body that makes no progress for this long is dropped with a 408. */
  bodyTimeoutMs: number;
  /** Where store failures (a full disk…) and recoveries are reported, for /healthz. */
  health: WriteHealth;
}

interface Answer {
  status: number;
  body: string | Buffer;
}

function storedReport(report: Report): StoredReport {
  let online = 0;
  for (const s of report.sub_devices) if (s.ep_status === 'online') online++;
  return { dev_sno: report.dev_sno, online, offline: report.sub_devices.length - online, report };
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
      const id = repeats.identify(bytes);
      const known = repeats.lookup(id);
      // A repeat's echo is its own bytes; the store takes it without the parsed report if it can.
      let receivedAt = Date.now();
      const stored = known && store.ingestRepeat?.(known.devSno, known.digest, receivedAt);
      if (stored && (await stored)) {
        o.health.succeeded();
        events.emit('report', { dev_sno: known.devSno, online: known.online, offline: known.offline }, receivedAt);
        return { status: 200, body: bytes };
      }
      const { report, echo, exact } = parseBody(bytes);
      if (stored) receivedAt = Date.now();
      const ingested = await store.ingest(report, receivedAt, { registryMode, ...(exact ? { source: bytes } : {}) });
      // A sub-device gone offline carries the box's reason (ep_detail) from the store's diff.
      const transitions = ingested.transitions;
      o.health.succeeded();
      if (!known && echo === bytes) repeats.remember(id, report);
      const log = o.log();
      log.debug({ dev_sno: report.dev_sno, sub_devices: report.sub_devices.length }, 'report stored');
      events.emit('report', storedReport(report), receivedAt);
      // Logged by the listeners (one line a second in a storm, see transition-log.ts).
      if (transitions.length) events.emit('transitions', transitions);
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
      o.health.failed(err as Error);
      return reject(
        'store_error',
        json(errorBody('internal_error', 'the report could not be stored; retry later')),
      );
    }
  }

  function send(res: ServerResponse, a: Answer, started: bigint, close = false): void {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(a.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': typeof a.body === 'string' ? Buffer.byteLength(a.body) : a.body.length,
      ...(close ? { connection: 'close' } : {}),
      ...(a.status === 503 ? { 'retry-after': '5' } : {}),
    });
    res.end(a.body);
    if (a.status === 200) events.emit('ingested', Number(process.hrtime.bigint() - started) / 1e9);
  }

  const tooLarge = (): Answer =>
    reject('too_large', json(tooLargeBody(bodyLimit)));
  const unsupportedEncoding = (encoding: string): Answer =>
    reject(
      'bad_body',
      json(errorBody('unsupported_media_type', `is compressed (${encoding}); send the report as plain, uncompressed JSON`, '(body)')),
    );

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
      const encoding = req.headers['content-encoding']?.trim().toLowerCase();
      if (encoding && encoding !== 'identity') {
        send(res, unsupportedEncoding(encoding), started, true);
        req.resume();
        return true;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      // Bytes this body holds of the shared budget, given back whatever happens to it.
      const finish = () => {
        done = true;
        clearTimeout(stall);
        o.budget.release(size);
        chunks.length = 0;
      };
      const dropStalled = () => {
        if (done) return;
        finish();
        send(res, reject('timeout', json(errorBody('request_timeout', `no part of the body came for ${o.bodyTimeoutMs / 1000} s`, '(body)'))), started, true);
        req.socket.destroySoon();
      };
      let stall = setTimeout(dropStalled, o.bodyTimeoutMs);
      req.on('data', (chunk: Buffer) => {
        if (done) return;
        if (size + chunk.length > bodyLimit) {
          finish();
          send(res, tooLarge(), started, true);
          return;
        }
        if (!o.budget.take(size, chunk.length)) {
          // Memory for bodies is spent (a flood of slow uploads): refuse this one, keep the rest.
          finish();
          send(res, reject('busy', json(errorBody('unavailable', 'too many report bodies in flight; retry later', '(body)'))), started, true);
          return;
        }
        size += chunk.length;
        chunks.push(chunk);
        clearTimeout(stall);
        stall = setTimeout(dropStalled, o.bodyTimeoutMs);
      });
      req.on('end', () => {
        if (done) return;
        const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        const held = size;
        done = true;
        clearTimeout(stall);
        chunks.length = 0;
        if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
          o.budget.release(held);
          return send(res, unsupportedEncoding('gzip'), started, true);
        }
        void processBody(bytes).then((a) => {
          o.budget.release(held);
          send(res, a, started);
        });
      });
      // A box that hangs up mid-body: nothing to answer, but its bytes go back to the budget.
      req.on('error', () => {});
      req.on('close', () => {
        if (!done) finish();
      });
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
