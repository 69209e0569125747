// WeCom (企业微信) group robot: markdown messages to
// https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY. The key is the only credential;
// it appears in no result, log line or `target` beyond its last 4 characters.
import { fitMarkdown } from '../message/truncate.js';
import { judgeCodedAnswer, mask, postJson, type CodeVerdict } from './http.js';
import { robotLimiter, type RateWindow } from './rate-limit.js';
import { WECOM_BASE_URL, type AlertChannel, type Lang, type RenderedMarkdown, type SendResult, type WeComConfig } from './types.js';

export const WECOM_RATE: readonly RateWindow[] = [{ max: 20, perMs: 60_000 }];
/** markdown.content limit, in UTF-8 bytes. */
export const WECOM_MAX_CONTENT_BYTES = 4096;

export const WECOM_ERRCODES = {
  ok: 0,
  /** api freq out of limit */
  rateLimited: 45009,
  /** invalid webhook url: the key is wrong or the robot was removed */
  invalidKey: 93000,
  /** content too long / invalid parameter */
  contentTooLong: 40058,
  systemBusy: -1,
} as const;

/** The service throttled the robot: hold this robot's sends locally too. */
const THROTTLE_CODES = new Set<unknown>([WECOM_ERRCODES.rateLimited]);

function verdict(code: number): CodeVerdict {
  switch (code) {
    case WECOM_ERRCODES.rateLimited:
      return { outcome: 'retry', retryAfterMs: 60_000 };
    case WECOM_ERRCODES.systemBusy:
      return { outcome: 'retry', retryAfterMs: 30_000 };
    case WECOM_ERRCODES.invalidKey:
    case WECOM_ERRCODES.contentTooLong:
      return { outcome: 'failed' };
    default:
      return null;
  }
}

export class WeComChannel implements AlertChannel<'markdown'> {
  readonly kind = 'wecom' as const;
  readonly format = 'markdown' as const;
  readonly lang: Lang;
  readonly target: string;
  private readonly baseUrl: string;

  constructor(
    private readonly config: WeComConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.lang = config.lang ?? 'zh-CN';
    this.baseUrl = (config.base_url ?? WECOM_BASE_URL).replace(/\/+$/, '');
    this.target = `wecom robot ${mask(config.key)}`;
  }

  /** The exact JSON posted: content cut to 4096 bytes at a line or character boundary. */
  body(message: RenderedMarkdown): Record<string, unknown> {
    const content = fitMarkdown(message.text, { maxBytes: WECOM_MAX_CONTENT_BYTES, lang: message.lang, link: message.link });
    return { msgtype: 'markdown', markdown: { content } };
  }

  async send(message: RenderedMarkdown, signal?: AbortSignal): Promise<SendResult> {
    const limiter = robotLimiter(this.kind, `${this.baseUrl}|${this.config.key}`, WECOM_RATE);
    const slot = limiter.take(this.now());
    if (!slot.ok) {
      const why = slot.paused ? 'WeCom throttled this robot (45009); holding its messages' : 'over 20 messages a minute for this robot';
      return { outcome: 'retry', retryAfterMs: slot.retryAfterMs, code: 'client_rate_limit', message: why };
    }
    const url = `${this.baseUrl}/cgi-bin/webhook/send?${new URLSearchParams({ key: this.config.key })}`;
    const posted = await postJson(url, this.body(message), { timeoutMs: this.config.timeout_ms, signal });
    if (!posted.ok) return posted.result;
    const result = judgeCodedAnswer(posted.answer, ['errcode'], ['errmsg'], verdict);
    if (result.outcome === 'retry' && THROTTLE_CODES.has(result.code)) limiter.pause(this.now() + result.retryAfterMs);
    return result;
  }
}
