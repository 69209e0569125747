// Query parameters and path parameters of the API, checked before they reach a store: a bad one
// is a 400 naming it, never a database error (offset=1e20 was a SQLite datatype mismatch, a NUL
// byte a PostgreSQL encoding error).
import { ReportValidationError } from '../protocol/index.js';

/** Thrown for a bad parameter; the error handler answers 400 with its name. */
export class ParamError extends ReportValidationError {}

/** A whole number in [min, max], or undefined when absent. */
export function intParam(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ParamError(name, 'must be given once');
  if (!/^\d+$/.test(value) || value.length > 16 || Number(value) < min || Number(value) > max) {
    throw new ParamError(name, `must be a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

/** Text a store can hold: no NUL character, at most maxLength characters. */
export function textParam(value: unknown, name: string, maxLength = 2048): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ParamError(name, 'must be given once');
  if (value.includes('\u0000')) throw new ParamError(name, 'must not contain the NUL character');
  if (value.length > maxLength) throw new ParamError(name, `must be at most ${maxLength} characters`);
  return value;
}
