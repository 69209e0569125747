// A channel object from its validated config, and the one call the dispatcher needs:
// render a grouped notification the way this channel wants it, then send it.
import { renderFor } from '../message/index.js';
import type { GroupedNotification } from '../message/model.js';
import { DingTalkChannel } from './dingtalk.js';
import { EmailChannel } from './email.js';
import { FeishuChannel } from './feishu.js';
import type { AlertChannel, ChannelConfig, RenderedMessage, SendResult } from './types.js';
import { WeComChannel } from './wecom.js';

export function createChannel(config: ChannelConfig): AlertChannel {
  switch (config.kind) {
    case 'dingtalk':
      return new DingTalkChannel(config);
    case 'wecom':
      return new WeComChannel(config);
    case 'feishu':
      return new FeishuChannel(config);
    case 'email':
      return new EmailChannel(config);
  }
}

/** Renders `n` in the channel's language, format and size limit, and sends it. */
export function sendNotification(
  channel: AlertChannel,
  n: GroupedNotification,
  opts: { timeZone?: string; signal?: AbortSignal } = {},
): Promise<SendResult> {
  const message: RenderedMessage = renderFor(channel.kind, n, channel.lang, { timeZone: opts.timeZone });
  if (message.format !== channel.format) {
    throw new Error(`channel ${channel.kind} sends ${channel.format}, not ${message.format}`);
  }
  return channel.send(message, opts.signal);
}
