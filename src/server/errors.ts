// Every error the receiver answers with, on every route: one JSON shape
// `{ error, field?, reason, message }` and one HTTP status per error code.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ReportValidationError } from '../protocol/index.js';

export const ERROR_STATUS = {
  bad_request: 400,
  /** A report (the report path) that breaks the protocol. */
  invalid_report: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_requests: 429,
  internal_error: 500,
  /** The receiver cannot take this now (memory budget, storage failing): retry later. */
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: ErrorCode;
  /** The field at fault, when there is one. */
  field?: string;
  reason: string;
  /** For people: `field: reason` unless said otherwise. */
  message: string;
}

export function errorBody(error: ErrorCode, reason: string, field?: string, message?: string): ErrorBody {
  return { error, ...(field ? { field } : {}), reason, message: message ?? (field ? `${field}: ${reason}` : reason) };
}

/** Answers `reply` with the error's status and body. */
export function sendError(reply: FastifyReply, error: ErrorCode, reason: string, field?: string, message?: string): FastifyReply {
  return reply.code(ERROR_STATUS[error]).send(errorBody(error, reason, field, message));
}

export const tooLargeBody = (bodyLimit: number): ErrorBody =>
  errorBody('payload_too_large', `body is larger than ${bodyLimit} bytes`, '(body)');

/** A query parameter that must be one of `allowed`: the reason, or undefined when it is. */
export function notOneOf(value: string | undefined, allowed: readonly string[]): string | undefined {
  if (value === undefined || allowed.includes(value)) return undefined;
  const list = allowed.length > 1 ? `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}` : allowed[0];
  return `must be ${list}`;
}

/** Fastify's error handler: thrown errors and Fastify's own (bad JSON, too large, schema) as error bodies. */
export function apiErrorHandler(bodyLimit: number) {
  return (err: FastifyError | ReportValidationError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof ReportValidationError) return sendError(reply, 'bad_request', err.reason, err.field);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send(tooLargeBody(bodyLimit));
    if (err.statusCode === 415) return sendError(reply, 'unsupported_media_type', err.message, 'content-type');
    const status = err.statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send(errorBody('bad_request', err.message));
    req.log.error({ err }, 'request failed');
    return sendError(reply, 'internal_error', 'the request failed; see the receiver log');
  };
}
