// A report body from the wire to the normalized report, in any dialect: what the receiver calls
// on the bytes it read. Every refusal is a ReportValidationError naming the field.
import { ReportValidationError } from './errors.js';
import { parseAnyReport, type ParsedAnyReport } from './parse-dialect.js';
import { toDialectWire } from './render.js';
import { decodeUtf8Strict } from './utf8.js';

/** Strict UTF-8 (a leading byte order mark skipped), then JSON, then the dialect's rules. */
export function parseReportBytes(bytes: Uint8Array): ParsedAnyReport {
  const text = decodeUtf8Strict(bytes);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    if (text.trim() === '') throw new ReportValidationError('(body)', 'is empty; expected a JSON object');
    throw new ReportValidationError('(body)', `is not valid JSON (${(e as Error).message})`);
  }
  return parseAnyReport(body);
}

/**
 * The echo of a parsed report: the body's own bytes when they already say exactly what the
 * report says (today's dialect in normal form, no byte order mark), else the report rendered
 * in the dialect it came in.
 */
export function echoOf(parsed: ParsedAnyReport, bytes: Uint8Array): Uint8Array | string {
  const hasBom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return parsed.normalized || hasBom ? JSON.stringify(toDialectWire(parsed.report)) : bytes;
}
