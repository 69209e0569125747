// DingTalk custom robot (自定义机器人): markdown messages, "加签" signature in the URL,
// optional keywords, 20 messages a minute per robot.
import { createHmac } from 'node:crypto';
import { fitMarkdown } from '../message/truncate.js';
import { judgeCodedAnswer, mask, missingKeywordLine, postJson, type CodeVerdict } from './http.js';
import { robotLimiter, type RateWindow } from './rate-limit.js';
import { DINGTALK_BASE_URL, type AlertChannel, type DingTalkConfig, type Lang, type RenderedMarkdown, type SendResult } from './types.js';

export const DINGTALK_RATE: readonly RateWindow[] = [{ max: 20, perMs: 60_000 }];
/** Markdown text limit of a robot message (characters). */
export const DINGTALK_MAX_TEXT_CHARS = 5000;
/** Going over 20 a minute mutes the robot for 10 minutes. */
export const DINGTALK_THROTTLE_MS = 10 * 60_000;

export const DINGTALK_ERRCODES = {
  ok: 0,
  /** Signature, timestamp, keyword or IP allow-list mismatch. */
  securityMismatch: 310000,
  /** Too many messages: the robot is throttled. */
  sendTooFast: 130101,
  /** Also sent when throttled. */
  sendTooFastAlt: 410100,
  tokenNotExist: 300001,
  systemBusy: -1,
} as const;

/** base64(HMAC-SHA256(key = secret, msg = `${timestamp}\n${secret}`)), before URL-encoding. */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

/** The service throttled the robot: hold this robot's sends locally too. */
const THROTTLE_CODES = new Set<unknown>([DINGTALK_ERRCODES.sendTooFast, DINGTALK_ERRCODES.sendTooFastAlt]);

function verdict(code: number): CodeVerdict {
  switch (code) {
    case DINGTALK_ERRCODES.sendTooFast:
    case DINGTALK_ERRCODES.sendTooFastAlt:
      return { outcome: 'retry', retryAfterMs: DINGTALK_THROTTLE_MS };
    case DINGTALK_ERRCODES.systemBusy:
      return { outcome: 'retry', retryAfterMs: 30_000 };
    case DINGTALK_ERRCODES.securityMismatch:
    case DINGTALK_ERRCODES.tokenNotExist:
      return { outcome: 'failed' };
    default:
      return null;
  }
}

export class DingTalkChannel implements AlertChannel<'markdown'> {
  readonly kind = 'dingtalk' as const;
  readonly format = 'markdown' as const;
  readonly lang: Lang;
  readonly target: string;
  private readonly baseUrl: string;

  constructor(
    private readonly config: DingTalkConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.lang = config.lang ?? 'zh-CN';
    this.baseUrl = (config.base_url ?? DINGTALK_BASE_URL).replace(/\/+$/, '');
    this.target = `dingtalk robot ${mask(config.access_token)}`;
  }

  /** The exact JSON posted for a message (keyword added, text cut to the limit). */
  body(message: RenderedMarkdown): Record<string, unknown> {
    // Checked against the text alone: whether DingTalk also looks at the title is not documented.
    const keyword = missingKeywordLine(message.text, this.config.keywords);
    const tail = keyword === null ? '' : `\n\n${keyword}`;
    const text = fitMarkdown(message.text, { maxChars: DINGTALK_MAX_TEXT_CHARS - tail.length, lang: message.lang, link: message.link }) + tail;
    return { msgtype: 'markdown', markdown: { title: message.title, text } };
  }

  async send(message: RenderedMarkdown, signal?: AbortSignal): Promise<SendResult> {
    const limiter = robotLimiter(this.kind, `${this.baseUrl}|${this.config.access_token}`, DINGTALK_RATE);
    const slot = limiter.take(this.now());
    if (!slot.ok) {
      const why = slot.paused ? 'DingTalk throttled this robot (130101); holding its messages' : 'over 20 messages a minute for this robot';
      return { outcome: 'retry', retryAfterMs: slot.retryAfterMs, code: 'client_rate_limit', message: why };
    }
    const query = new URLSearchParams({ access_token: this.config.access_token });
    if (this.config.secret) {
      const timestamp = this.now();
      query.set('timestamp', String(timestamp));
      query.set('sign', dingtalkSign(this.config.secret, timestamp));
    }
    const posted = await postJson(`${this.baseUrl}/robot/send?${query}`, this.body(message), {
      timeoutMs: this.config.timeout_ms,
      signal,
    });
    if (!posted.ok) return posted.result;
    const result = judgeCodedAnswer(posted.answer, ['errcode'], ['errmsg'], verdict);
    if (result.outcome === 'retry' && THROTTLE_CODES.has(result.code)) limiter.pause(this.now() + result.retryAfterMs);
    return result;
  }
}
