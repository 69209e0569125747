// E-mail over SMTP with nodemailer: STARTTLS required on 587 (or TLS from the start on 465),
// AUTH when a user is set, a plain-text and an HTML part, to and cc lists.
import { createTransport, type Mail, type NodemailerError } from 'nodemailer';
import { DEFAULT_TIMEOUT_MS, TRANSIENT_RETRY_MS } from './http.js';
import type { AlertChannel, EmailConfig, Lang, RenderedEmail, SendResult } from './types.js';

/** Errors that mean the setup is wrong (certificate, credentials), not that the server is busy. */
const CONFIG_CODES = new Set(['EAUTH', 'ENOAUTH', 'ETLS', 'EREQUIRETLS', 'ECONFIG', 'EENVELOPE', 'EMESSAGE', 'EMAXRECIPIENTS']);
const CERT_ERROR = /CERT|SELF.SIGNED|UNABLE_TO_VERIFY|ALTNAME/i;

export function classifySmtpError(err: unknown): SendResult {
  const e = (err ?? {}) as NodemailerError & { reason?: string };
  // ECONNREFUSED or DEPTH_ZERO_SELF_SIGNED_CERT says more than nodemailer's ESOCKET.
  const code = e.responseCode ?? e.originalCode ?? e.code ?? null;
  const message = (e.response ?? e.message ?? String(err)).slice(0, 300);
  if (e.responseCode !== undefined) {
    // SMTP's own verdict: 5xx is permanent (except 503, a session hiccup), 4xx is "try later".
    const permanent = e.permanent ?? (e.responseCode >= 500 && e.responseCode !== 503);
    return permanent ? { outcome: 'failed', code, message } : { outcome: 'retry', retryAfterMs: TRANSIENT_RETRY_MS, code, message };
  }
  const original = `${e.originalCode ?? ''} ${(e as { cause?: { code?: string } }).cause?.code ?? ''} ${e.message ?? ''}`;
  if ((e.code && CONFIG_CODES.has(e.code)) || CERT_ERROR.test(original)) return { outcome: 'failed', code, message };
  return { outcome: 'retry', retryAfterMs: TRANSIENT_RETRY_MS, code, message };
}

export class EmailChannel implements AlertChannel<'email'> {
  readonly kind = 'email' as const;
  readonly format = 'email' as const;
  readonly lang: Lang;
  readonly target: string;
  private readonly transport: Mail;

  constructor(private readonly config: EmailConfig) {
    this.lang = config.lang ?? 'zh-CN';
    const security = config.security ?? 'starttls';
    const port = config.port ?? (security === 'tls' ? 465 : 587);
    const timeout = config.timeout_ms ?? DEFAULT_TIMEOUT_MS;
    this.target = `smtp ${config.host}:${port} → ${config.to.join(', ')}`;
    this.transport = createTransport({
      host: config.host,
      port,
      secure: security === 'tls',
      // Never send alerts (and the password) in the clear when the server offers no STARTTLS.
      requireTLS: security === 'starttls',
      auth: config.user ? { user: config.user, pass: config.pass ?? '' } : undefined,
      tls: config.tls_ca ? { ca: config.tls_ca } : undefined,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
  }

  async send(message: RenderedEmail, signal?: AbortSignal): Promise<SendResult> {
    try {
      await this.transport.sendMail({
        from: this.config.from,
        to: this.config.to,
        cc: this.config.cc?.length ? this.config.cc : undefined,
        subject: message.subject,
        text: message.text,
        html: message.html,
        signal,
      });
      return { outcome: 'delivered' };
    } catch (err) {
      return classifySmtpError(err);
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
