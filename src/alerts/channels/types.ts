// What every alert channel (DingTalk, WeCom, Feishu, e-mail, webhook) promises the dispatcher,
// and the per-channel settings as TypeBox schemas so the admin API can validate them.
import { Type, type Static } from '@sinclair/typebox';

export const LANGS = ['zh-CN', 'en'] as const;
export type Lang = (typeof LANGS)[number];

/** A notification already rendered for one channel's format (see src/alerts/message/). */
export type RenderedMessage =
  | RenderedMarkdown
  | RenderedFeishuCard
  | RenderedEmail
  | RenderedJson;

export interface RenderedMarkdown {
  format: 'markdown';
  lang: Lang;
  /** DingTalk shows it in the notification preview; WeCom ignores it. */
  title: string;
  text: string;
  /** The dashboard page, kept when a channel has to cut the text short. */
  link: string;
}

export interface RenderedFeishuCard {
  format: 'feishu_card';
  lang: Lang;
  /** The card JSON exactly as Feishu's `card` field takes it. */
  card: Record<string, unknown>;
  /** Plain text of the whole card, for keyword checks. */
  plain: string;
}

export interface RenderedEmail {
  format: 'email';
  lang: Lang;
  subject: string;
  text: string;
  html: string;
}

export interface RenderedJson {
  format: 'json';
  body: Record<string, unknown>;
}

export type MessageFormat = RenderedMessage['format'];

/**
 * The outcome of one send. `retry` means nothing was shown to anyone and the same (or a newer,
 * folded) message should go out after retryAfterMs: rate limits, 5xx, network trouble.
 * `failed` means retrying cannot help until someone fixes the configuration: bad signature,
 * bad key, missing keyword, a 4xx. `code` and `message` are the service's own, for the UI.
 */
export type SendResult =
  | { outcome: 'delivered' }
  | { outcome: 'retry'; retryAfterMs: number; code: string | number | null; message: string }
  | { outcome: 'failed'; code: string | number | null; message: string };

export interface AlertChannel<F extends MessageFormat = MessageFormat> {
  readonly kind: ChannelKind;
  /** The rendering this channel sends. */
  readonly format: F;
  readonly lang: Lang;
  /** Where it sends, with credentials masked: safe for logs and the UI. */
  readonly target: string;
  send(message: Extract<RenderedMessage, { format: F }>, signal?: AbortSignal): Promise<SendResult>;
  close?(): Promise<void>;
}

export const CHANNEL_KINDS = ['dingtalk', 'wecom', 'feishu', 'email', 'webhook'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

const LangSchema = Type.Union(LANGS.map((l) => Type.Literal(l)), { default: 'zh-CN' });
const BaseUrl = (defaultUrl: string) =>
  Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', default: defaultUrl, description: 'Override for tests or proxies' }));
const TimeoutMs = Type.Optional(Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }));
const Keywords = Type.Optional(
  Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
    maxItems: 10,
    description: "The robot's custom keywords; every message is made to contain one",
  }),
);

export const DINGTALK_BASE_URL = 'https://oapi.dingtalk.com';
export const WECOM_BASE_URL = 'https://qyapi.weixin.qq.com';
export const FEISHU_BASE_URL = 'https://open.feishu.cn';

export const DingTalkConfigSchema = Type.Object(
  {
    kind: Type.Literal('dingtalk'),
    access_token: Type.String({ minLength: 1, maxLength: 200, description: 'access_token from the robot webhook URL' }),
    /** "加签" secret (SEC…); without it the robot must use keywords or an IP allow-list. */
    secret: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    keywords: Keywords,
    lang: Type.Optional(LangSchema),
    base_url: BaseUrl(DINGTALK_BASE_URL),
    timeout_ms: TimeoutMs,
  },
  { additionalProperties: false },
);
export type DingTalkConfig = Static<typeof DingTalkConfigSchema>;

export const WeComConfigSchema = Type.Object(
  {
    kind: Type.Literal('wecom'),
    key: Type.String({ minLength: 1, maxLength: 200, description: 'key from the group robot webhook URL' }),
    lang: Type.Optional(LangSchema),
    base_url: BaseUrl(WECOM_BASE_URL),
    timeout_ms: TimeoutMs,
  },
  { additionalProperties: false },
);
export type WeComConfig = Static<typeof WeComConfigSchema>;

export const FeishuConfigSchema = Type.Object(
  {
    kind: Type.Literal('feishu'),
    hook_token: Type.String({ minLength: 1, maxLength: 200, description: 'the last path segment of the bot webhook URL' }),
    secret: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    keywords: Keywords,
    lang: Type.Optional(LangSchema),
    /** https://open.larksuite.com for Lark. */
    base_url: BaseUrl(FEISHU_BASE_URL),
    timeout_ms: TimeoutMs,
  },
  { additionalProperties: false },
);
export type FeishuConfig = Static<typeof FeishuConfigSchema>;

const Address = Type.String({ minLength: 3, maxLength: 320, pattern: '^[^\\s@]+@[^\\s@]+$' });

export const EmailConfigSchema = Type.Object(
  {
    kind: Type.Literal('email'),
    host: Type.String({ minLength: 1, maxLength: 255 }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 587 })),
    /** 'starttls' (port 587, upgrade required), 'tls' (port 465, TLS from the start). */
    security: Type.Optional(Type.Union([Type.Literal('starttls'), Type.Literal('tls')], { default: 'starttls' })),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
    pass: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
    from: Type.String({ minLength: 3, maxLength: 400, description: 'e.g. "devstatus <alerts@example.com>"' }),
    to: Type.Array(Address, { minItems: 1, maxItems: 100 }),
    cc: Type.Optional(Type.Array(Address, { maxItems: 100 })),
    /** PEM of a private CA / self-signed server certificate to trust. */
    tls_ca: Type.Optional(Type.String({ minLength: 1 })),
    lang: Type.Optional(LangSchema),
    timeout_ms: TimeoutMs,
  },
  { additionalProperties: false },
);
export type EmailConfig = Static<typeof EmailConfigSchema>;

export const ChannelConfigSchema = Type.Union([
  DingTalkConfigSchema,
  WeComConfigSchema,
  FeishuConfigSchema,
  EmailConfigSchema,
]);
export type ChannelConfig = Static<typeof ChannelConfigSchema>;
