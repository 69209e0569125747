// Feishu / Lark custom bot (自定义机器人): interactive card messages, signature in the JSON
// body, optional keywords, 5 messages a second and 100 a minute per bot.
import { createHmac } from 'node:crypto';
import { judgeCodedAnswer, mask, missingKeywordLine, postJson, type CodeVerdict } from './http.js';
import { robotLimiter, type RateWindow } from './rate-limit.js';
import { FEISHU_BASE_URL, type AlertChannel, type FeishuConfig, type Lang, type RenderedFeishuCard, type SendResult } from './types.js';

export const FEISHU_RATE: readonly RateWindow[] = [
  { max: 5, perMs: 1000 },
  { max: 100, perMs: 60_000 },
];
/** Feishu refuses request bodies over 20 KB. */
export const FEISHU_MAX_BODY_BYTES = 20 * 1024;

export const FEISHU_CODES = {
  ok: 0,
  /** incoming webhook access token invalid */
  tokenInvalid: 19001,
  /** the bot is not in the chat / was removed */
  botNotInChat: 19007,
  /** sign match fail or timestamp is not within one hour from current time */
  signMismatch: 19021,
  /** ip not allowed */
  ipNotAllowed: 19022,
  /** Key Words Not Found */
  keywordMissing: 19024,
  tooManyRequests: 9499,
  /** rate limited under platform load */
  rateLimited: 11232,
} as const;

/** base64(HMAC-SHA256(key = `${timestamp}\n${secret}`, msg = empty)), timestamp in seconds. */
export function feishuSign(secret: string, timestampSec: number): string {
  return createHmac('sha256', `${timestampSec}\n${secret}`).update('').digest('base64');
}

/** The service throttled the robot: hold this robot's sends locally too. */
const THROTTLE_CODES = new Set<unknown>([FEISHU_CODES.tooManyRequests, FEISHU_CODES.rateLimited]);

function verdict(code: number): CodeVerdict {
  switch (code) {
    case FEISHU_CODES.tooManyRequests:
    case FEISHU_CODES.rateLimited:
      return { outcome: 'retry', retryAfterMs: 10_000 };
    case FEISHU_CODES.tokenInvalid:
    case FEISHU_CODES.botNotInChat:
    case FEISHU_CODES.signMismatch:
    case FEISHU_CODES.ipNotAllowed:
    case FEISHU_CODES.keywordMissing:
      return { outcome: 'failed' };
    default:
      return null;
  }
}

export class FeishuChannel implements AlertChannel<'feishu_card'> {
  readonly kind = 'feishu' as const;
  readonly format = 'feishu_card' as const;
  readonly lang: Lang;
  readonly target: string;
  private readonly baseUrl: string;

  constructor(
    private readonly config: FeishuConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.lang = config.lang ?? 'zh-CN';
    this.baseUrl = (config.base_url ?? FEISHU_BASE_URL).replace(/\/+$/, '');
    this.target = `feishu bot ${mask(config.hook_token)}`;
  }

  /** The exact JSON posted (signed when a secret is set, keyword added when missing). */
  body(message: RenderedFeishuCard): Record<string, unknown> {
    let card = message.card;
    const keyword = missingKeywordLine(message.plain, this.config.keywords);
    if (keyword !== null) {
      const elements = Array.isArray(card['elements']) ? (card['elements'] as unknown[]) : [];
      card = { ...card, elements: [...elements, { tag: 'div', text: { tag: 'plain_text', content: keyword } }] };
    }
    const body: Record<string, unknown> = { msg_type: 'interactive', card };
    if (this.config.secret) {
      const timestamp = Math.floor(this.now() / 1000);
      body['timestamp'] = String(timestamp);
      body['sign'] = feishuSign(this.config.secret, timestamp);
    }
    return body;
  }

  async send(message: RenderedFeishuCard, signal?: AbortSignal): Promise<SendResult> {
    const body = this.body(message);
    const bytes = Buffer.byteLength(JSON.stringify(body));
    if (bytes > FEISHU_MAX_BODY_BYTES) {
      // The renderer keeps cards well under this; a card over it is a bug, not a network problem.
      return { outcome: 'failed', code: 'too_large', message: `card is ${bytes} bytes, over Feishu's ${FEISHU_MAX_BODY_BYTES}` };
    }
    const limiter = robotLimiter(this.kind, `${this.baseUrl}|${this.config.hook_token}`, FEISHU_RATE);
    const slot = limiter.take(this.now());
    if (!slot.ok) {
      const why = slot.paused ? 'Feishu throttled this bot; holding its messages' : 'over 5 a second or 100 a minute for this bot';
      return { outcome: 'retry', retryAfterMs: slot.retryAfterMs, code: 'client_rate_limit', message: why };
    }
    const url = `${this.baseUrl}/open-apis/bot/v2/hook/${encodeURIComponent(this.config.hook_token)}`;
    const posted = await postJson(url, body, { timeoutMs: this.config.timeout_ms, signal });
    if (!posted.ok) return posted.result;
    const result = judgeCodedAnswer(posted.answer, ['code', 'StatusCode'], ['msg', 'StatusMessage'], verdict);
    if (result.outcome === 'retry' && THROTTLE_CODES.has(result.code)) limiter.pause(this.now() + result.retryAfterMs);
    return result;
  }
}
