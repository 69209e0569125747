// The one HTTP POST the chat robots share: JSON in, JSON out, a timeout, and the HTTP-level
// outcomes every service has in common (network trouble, 429, 5xx, other 4xx). The service's
// own error codes inside a 200 answer are each channel's business.
import type { SendResult } from './types.js';

/** Wait before retrying after a network error, a timeout or a 5xx without Retry-After. */
export const TRANSIENT_RETRY_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface HttpAnswer {
  status: number;
  /** The body when it is a JSON object. */
  json: Record<string, unknown> | null;
  text: string;
  retryAfterMs: number | null;
}

export type PostOutcome = { ok: true; answer: HttpAnswer } | { ok: false; result: SendResult };

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'timed out';
  if (err.name === 'AbortError') return 'aborted';
  const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? err.message;
}

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const secs = Number(header);
  if (Number.isFinite(secs) && secs >= 0) return Math.round(secs * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * POSTs `body` as JSON. The URL may carry a credential (WeCom's key, DingTalk's token): it is
 * never put into a result message, so results are safe to log and show.
 */
export async function postJson(
  url: string,
  body: unknown,
  opts: { timeoutMs?: number; signal?: AbortSignal },
): Promise<PostOutcome> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'devstatus-alerts' },
      body: JSON.stringify(body),
      signal,
      redirect: 'manual',
    });
    text = await res.text();
  } catch (err) {
    return { ok: false, result: { outcome: 'retry', retryAfterMs: TRANSIENT_RETRY_MS, code: null, message: describeError(err) } };
  }
  let json: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
  } catch {
    // not JSON: judged by the status alone
  }
  return { ok: true, answer: { status: res.status, json, text, retryAfterMs: retryAfterMs(res.headers.get('retry-after')) } };
}

/**
 * The outcome from the HTTP status alone, for answers without the service's own code:
 * 429 and 5xx are worth retrying, any other non-2xx is not. Null for a 2xx.
 */
export function outcomeFromStatus(a: HttpAnswer): SendResult | null {
  if (a.status === 429 || a.status >= 500) {
    return { outcome: 'retry', retryAfterMs: a.retryAfterMs ?? TRANSIENT_RETRY_MS, code: `HTTP ${a.status}`, message: shortText(a) };
  }
  if (a.status < 200 || a.status >= 300) return { outcome: 'failed', code: `HTTP ${a.status}`, message: shortText(a) };
  return null;
}

function shortText({ json, text }: HttpAnswer): string {
  const msg = json?.['errmsg'] ?? json?.['msg'] ?? json?.['message'];
  if (typeof msg === 'string' && msg) return msg;
  return text.slice(0, 200) || 'no body';
}

/** Masks all but the last 4 characters of a credential for logs and the UI. */
export function mask(credential: string): string {
  return credential.length <= 4 ? '****' : `****${credential.slice(-4)}`;
}

/** How a service's own error code is to be taken; null for codes it does not know. */
export type CodeVerdict = { outcome: 'retry'; retryAfterMs: number } | { outcome: 'failed' } | null;

/**
 * Judges a robot's answer by its own code field (`errcode`, `code`), falling back to the HTTP
 * status: code 0 is delivered; unknown codes are retried only when the status says so.
 */
export function judgeCodedAnswer(
  a: HttpAnswer,
  codeKeys: readonly string[],
  messageKeys: readonly string[],
  verdict: (code: number) => CodeVerdict,
): SendResult {
  const key = codeKeys.find((k) => typeof a.json?.[k] === 'number');
  const code = key === undefined ? undefined : (a.json![key] as number);
  const msgKey = messageKeys.find((k) => typeof a.json?.[k] === 'string');
  const message = msgKey === undefined ? shortText(a) : (a.json![msgKey] as string);
  if (code === undefined) {
    return (
      outcomeFromStatus(a) ?? { outcome: 'failed', code: null, message: `unexpected answer: ${a.text.slice(0, 200) || 'empty body'}` }
    );
  }
  if (code === 0) return outcomeFromStatus(a) ?? { outcome: 'delivered' };
  const v = verdict(code);
  if (v?.outcome === 'retry') return { outcome: 'retry', retryAfterMs: v.retryAfterMs, code, message };
  if (v?.outcome === 'failed') return { outcome: 'failed', code, message };
  const byStatus = outcomeFromStatus(a);
  if (byStatus?.outcome === 'retry') return { ...byStatus, code, message };
  return { outcome: 'failed', code, message };
}

/**
 * A robot with custom keywords drops any message containing none of them (DingTalk 310000,
 * Feishu 19024). Returns the line to add, or null when the text already has one.
 */
export function missingKeywordLine(text: string, keywords: readonly string[] | undefined): string | null {
  if (!keywords?.length || keywords.some((k) => text.includes(k))) return null;
  return keywords[0]!;
}
