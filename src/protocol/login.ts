// The login exchange: before it reports, a box asks the platform where and how often to report.
//   GET /login?dev_sno=<authorization code>&hex_mac=<box MAC>
// The answer carries a token, deviceMonitorAddr (where to POST status reports) and
// deviceMonitorPeriod (seconds between reports, 20 when absent), and further addresses the box
// may use. The box keeps the two it reports with in its config as WEB_HEART_URL and WEB_HEART_TIME.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ReportValidationError } from './errors.js';
import { LIMITS } from './schema.js';
import { describeValueError, pointerToField } from './validate.js';

export const LOGIN_PATH = '/login';
export const LOGIN_DEFAULTS = { deviceMonitorPeriodS: 20 } as const;

/** Where the box keeps each login answer in its own configuration. */
export const BOX_CONFIG_KEYS = { WEB_HEART_URL: 'deviceMonitorAddr', WEB_HEART_TIME: 'deviceMonitorPeriod' } as const;

/** 12 hex digits, bare or in pairs joined by ":" or "-". */
export const HEX_MAC_PATTERN = '^(?:[0-9A-Fa-f]{12}|[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5})$';

export const LoginQuerySchema = Type.Object(
  {
    dev_sno: Type.String({ minLength: 1, maxLength: LIMITS.devSnoMaxLength }),
    hex_mac: Type.String({ pattern: HEX_MAC_PATTERN }),
  },
  { additionalProperties: true },
);

const seconds = Type.Union([Type.Integer({ minimum: 1, maximum: 86_400 }), Type.String({ pattern: '^\\s*[0-9]{1,5}\\s*$' })]);
const address = Type.String({ minLength: 1, maxLength: LIMITS.fieldMaxLength });

/** The platform's answer. Message-queue and other settings the box may use pass through as sent. */
export const LoginResponseSchema = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: LIMITS.fieldMaxLength }),
    deviceMonitorAddr: address,
    deviceMonitorPeriod: Type.Optional(seconds),
    deviceInfoAddr: Type.Optional(address),
    recordAddr: Type.Optional(address),
    recordUploadPeriod: Type.Optional(seconds),
  },
  { additionalProperties: true },
);

export type LoginQueryWire = Static<typeof LoginQuerySchema>;
export type LoginResponseWire = Static<typeof LoginResponseSchema>;

export interface LoginQuery {
  dev_sno: string;
  /** Lower-case, 12 hex digits, no separators. */
  mac: string;
}

export interface LoginAnswer {
  token: string;
  /** Absolute URL reports go to (a relative address is resolved against the login URL). */
  reportUrl: string;
  reportPeriodS: number;
  deviceInfoUrl?: string;
  recordUrl?: string;
  recordUploadPeriodS?: number;
  /** Every field of the answer as sent, message-queue settings included. */
  wire: LoginResponseWire;
}

const queryCheck = TypeCompiler.Compile(LoginQuerySchema);
const answerCheck = TypeCompiler.Compile(LoginResponseSchema);

function firstError(check: typeof queryCheck | typeof answerCheck, value: unknown): never {
  const first = check.Errors(value).First();
  if (!first) throw new ReportValidationError('(body)', 'does not match the login schema');
  const field = pointerToField(first.path);
  const reason = field === 'hex_mac' && first.value !== undefined ? 'must be the MAC address as 12 hex digits (aabbccddeeff or aa:bb:cc:dd:ee:ff)' : describeValueError(first);
  throw new ReportValidationError(field, reason);
}

export const normalizeMac = (mac: string) => mac.replace(/[:-]/g, '').toLowerCase();

/** Checks the login request's query (from URLSearchParams or a parsed object). */
export function parseLoginQuery(query: URLSearchParams | Record<string, unknown>): LoginQuery {
  const q = query instanceof URLSearchParams ? Object.fromEntries(query) : { ...query };
  if (typeof q.dev_sno === 'string') q.dev_sno = q.dev_sno.trim();
  if (typeof q.hex_mac === 'string') q.hex_mac = q.hex_mac.trim();
  if (!queryCheck.Check(q)) firstError(queryCheck, q);
  return { dev_sno: q.dev_sno as string, mac: normalizeMac(q.hex_mac as string) };
}

/** The login request's URL for a box. */
export function loginUrlFor(loginUrl: string | URL, devSno: string, mac: string): URL {
  const url = new URL(loginUrl);
  url.searchParams.set('dev_sno', devSno);
  url.searchParams.set('hex_mac', normalizeMac(mac));
  return url;
}

function resolve(addr: string, base: string | URL | undefined, field: string): string {
  let url: URL;
  try {
    url = base === undefined ? new URL(addr) : new URL(addr, base);
  } catch {
    throw new ReportValidationError(field, `must be a URL, got ${JSON.stringify(addr)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ReportValidationError(field, `must be an http:// or https:// URL, got ${JSON.stringify(addr)}`);
  }
  return url.href;
}

/**
 * Checks the platform's login answer. `loginUrl` resolves relative addresses; without it they
 * must be absolute.
 */
export function parseLoginResponse(body: unknown, loginUrl?: string | URL): LoginAnswer {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ReportValidationError('(body)', 'must be a JSON object');
  }
  if (!answerCheck.Check(body)) firstError(answerCheck, body);
  const w = body;
  const answer: LoginAnswer = {
    token: w.token,
    reportUrl: resolve(w.deviceMonitorAddr, loginUrl, 'deviceMonitorAddr'),
    reportPeriodS: w.deviceMonitorPeriod === undefined ? LOGIN_DEFAULTS.deviceMonitorPeriodS : Number(w.deviceMonitorPeriod),
    wire: w,
  };
  if (answer.reportPeriodS < 1) throw new ReportValidationError('deviceMonitorPeriod', 'must be at least 1 second');
  if (w.deviceInfoAddr !== undefined) answer.deviceInfoUrl = resolve(w.deviceInfoAddr, loginUrl, 'deviceInfoAddr');
  if (w.recordAddr !== undefined) answer.recordUrl = resolve(w.recordAddr, loginUrl, 'recordAddr');
  if (w.recordUploadPeriod !== undefined) answer.recordUploadPeriodS = Number(w.recordUploadPeriod);
  return answer;
}
