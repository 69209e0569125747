// Rendering a grouped notification for a channel: the channel's format, language and size limit.
import { DINGTALK_MAX_TEXT_CHARS } from '../channels/dingtalk.js';
import { WECOM_MAX_CONTENT_BYTES } from '../channels/wecom.js';
import type { ChannelKind, Lang, RenderedMessage } from '../channels/types.js';
import { renderEmail } from './email.js';
import { renderFeishuCard } from './feishu-card.js';
import type { RenderOptions } from './format.js';
import { renderJson } from './json.js';
import { renderMarkdown } from './markdown.js';
import type { GroupedNotification } from './model.js';

export * from './model.js';
export { renderEmail, renderFeishuCard, renderJson, renderMarkdown };
export { PHRASES, phrases, type Phrases } from './i18n.js';
export { stripCredentials, formatDuration, type RenderOptions } from './format.js';

/**
 * Budgets for each robot's markdown text: its limit less room for a keyword line the channel
 * may add. The channels cut anything still too long themselves.
 */
export const MARKDOWN_LIMITS = {
  dingtalk: { maxChars: DINGTALK_MAX_TEXT_CHARS - 200 },
  wecom: { maxBytes: WECOM_MAX_CONTENT_BYTES },
} as const;

/** The rendering `kind` sends, within its size limit. */
export function renderFor(kind: ChannelKind, n: GroupedNotification, lang: Lang, opts: Omit<RenderOptions, 'lang'> = {}): RenderedMessage {
  const o = { ...opts, lang };
  switch (kind) {
    case 'dingtalk':
      return renderMarkdown(n, { ...o, ...MARKDOWN_LIMITS.dingtalk });
    case 'wecom':
      return renderMarkdown(n, { ...o, ...MARKDOWN_LIMITS.wecom });
    case 'feishu':
      return renderFeishuCard(n, o);
    case 'email':
      return renderEmail(n, o);
    case 'webhook':
      return renderJson(n, o);
  }
}
