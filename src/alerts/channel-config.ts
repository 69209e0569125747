// Channels as the admin API stores them: the chat/e-mail configs of src/alerts/channels plus a
// generic webhook (JSON body, HMAC-signed like the --webhook flags), ids of the form
// `<kind>:<slug>` (the prefix picks the engine's chat rate limit), and secrets that never leave
// the server: the API shows them masked and keeps the stored value when a form sends the mask.
import { Type, type Static } from '@sinclair/typebox';
import { createChannel } from './channels/factory.js';
import { ChannelConfigSchema, LANGS, type AlertChannel, type ChannelConfig, type Lang, type RenderedJson, type SendResult } from './channels/types.js';
import { postWebhook } from './channels/webhook.js';

export const WebhookChannelConfigSchema = Type.Object(
  {
    kind: Type.Literal('webhook'),
    url: Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2000 }),
    /** HMAC-SHA256 key: X-Devstatus-Signature: sha256=<hex> of the body. */
    secret: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    lang: Type.Optional(Type.Union(LANGS.map((l) => Type.Literal(l)))),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 120_000 })),
  },
  { additionalProperties: false },
);
export type WebhookChannelConfig = Static<typeof WebhookChannelConfigSchema>;

export const AlertChannelConfigSchema = Type.Union([...ChannelConfigSchema.anyOf, WebhookChannelConfigSchema]);
export type AlertChannelConfig = ChannelConfig | WebhookChannelConfig;

/** Config fields that are credentials: write-only through the API. */
export const SECRET_FIELDS = ['secret', 'access_token', 'key', 'hook_token', 'pass'] as const;
export const MASK = '••••••';

/** Shows a secret's last 4 characters at most (and only when it is long enough to stay secret). */
export function maskSecret(v: string): string {
  return v.length >= 16 ? `${MASK}${v.slice(-4)}` : MASK;
}

export function maskConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const f of SECRET_FIELDS) if (typeof out[f] === 'string') out[f] = maskSecret(out[f]);
  // A webhook URL may hold a token in its query.
  if (typeof out.url === 'string') out.url = out.url.replace(/([?&][^=&]*(?:token|key|secret|sig)[^=&]*=)[^&]+/gi, `$1${MASK}`);
  return out;
}

/** A form sends back what it was shown: a masked secret means "keep the stored one". */
export function mergeSecrets(next: Record<string, unknown>, stored: Record<string, unknown> | null): Record<string, unknown> {
  const out = { ...next };
  for (const f of SECRET_FIELDS) {
    const v = out[f];
    if (typeof v === 'string' && v.startsWith(MASK)) {
      if (stored && typeof stored[f] === 'string') out[f] = stored[f];
      else delete out[f];
    }
  }
  return out;
}

/** `dingtalk:ops-night` from a kind and a name (ASCII letters/digits kept, the rest `-`). */
export function channelIdFor(kind: string, slug: string): string {
  const s = slug
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `${kind}:${s || 'channel'}`;
}

class WebhookJsonChannel implements AlertChannel<'json'> {
  readonly kind = 'webhook' as const;
  readonly format = 'json' as const;
  readonly lang: Lang;
  readonly target: string;
  private seq = 0;

  constructor(private readonly config: WebhookChannelConfig) {
    this.lang = config.lang ?? 'zh-CN';
    this.target = String(maskConfig({ url: config.url }).url);
  }

  async send(message: RenderedJson): Promise<SendResult> {
    const body = JSON.stringify(message.body);
    const r = await postWebhook(this.config.url, body, {
      deliveryId: ++this.seq,
      secret: this.config.secret,
      timeoutMs: this.config.timeout_ms ?? 10_000,
    });
    if (r.error === null) return { outcome: 'delivered' };
    // 4xx other than 408/429: the receiver refuses it; retrying the same body cannot help.
    if (r.httpStatus !== null && r.httpStatus >= 400 && r.httpStatus < 500 && r.httpStatus !== 408 && r.httpStatus !== 429) {
      return { outcome: 'failed', code: r.httpStatus, message: r.error };
    }
    return { outcome: 'retry', retryAfterMs: 5_000, code: r.httpStatus, message: r.error };
  }
}

export function createAlertChannel(config: AlertChannelConfig): AlertChannel {
  return config.kind === 'webhook' ? new WebhookJsonChannel(config) : createChannel(config);
}
