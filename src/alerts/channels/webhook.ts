// The generic webhook channel: POSTs the alert's JSON body, signed with HMAC-SHA256 when a
// secret is set, and says how the attempt went (never throws).
import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-devstatus-signature';

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface WebhookAttempt {
  /** The HTTP status answered, null when none was (timeout, refused…). */
  httpStatus: number | null;
  /** Why the attempt failed; null when it was delivered (2xx). */
  error: string | null;
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'timed out';
  const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? err.message;
}

export async function postWebhook(
  url: string,
  body: string,
  opts: { deliveryId: number; secret?: string; timeoutMs: number },
): Promise<WebhookAttempt> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'devstatus-alerts',
    'x-devstatus-delivery': String(opts.deliveryId),
  };
  if (opts.secret) headers[SIGNATURE_HEADER] = signBody(opts.secret, body);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(opts.timeoutMs),
      redirect: 'manual',
    });
    await res.body?.cancel().catch(() => {});
    return { httpStatus: res.status, error: res.status < 200 || res.status >= 300 ? `HTTP ${res.status}` : null };
  } catch (err) {
    return { httpStatus: null, error: describeError(err) };
  }
}
