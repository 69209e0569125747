// A Feishu/Lark interactive card: a coloured header with the headline, one lark_md block per
// change, and a button to the dashboard. The whole request must stay under Feishu's 20 KB.
import type { RenderedFeishuCard } from '../channels/types.js';
import { banners, headline, title, type RenderOptions } from './format.js';
import { phrases } from './i18n.js';
import { markdownToPlain } from './plain.js';
import { mdText, sectionLines } from './markdown.js';
import { countChanges, hasProblems, type GroupedNotification } from './model.js';
import { fitCount, utf8Bytes } from './truncate.js';

/** Feishu refuses request bodies over 20 KB; this leaves room for msg_type, sign, timestamp. */
export const FEISHU_MAX_CARD_BYTES = 19_000;

type Element = Record<string, unknown>;
const mdBlock = (content: string): Element => ({ tag: 'div', text: { tag: 'lark_md', content } });

export function renderFeishuCard(n: GroupedNotification, opts: RenderOptions & { maxBytes?: number }): RenderedFeishuCard {
  const p = phrases(opts.lang);
  const max = opts.maxBytes ?? FEISHU_MAX_CARD_BYTES;
  const c = countChanges(n.changes);
  const template =
    n.kind === 'test' ? 'blue' : n.escalation ? 'red' : !hasProblems(c) ? 'green' : n.reminder ? 'orange' : 'red';
  const button: Element = {
    tag: 'action',
    actions: [{ tag: 'button', text: { tag: 'plain_text', content: p.openDashboard }, type: 'primary', url: n.link }],
  };
  const card = (elements: Element[]) => ({
    config: { wide_screen_mode: true },
    header: { template, title: { tag: 'plain_text', content: title(n, p) } },
    elements: [...elements, { tag: 'hr' }, button],
  });
  const plainOf = (elements: Element[]) =>
    [title(n, p), ...elements.map((e) => markdownToPlain(String((e['text'] as { content?: string } | undefined)?.content ?? ''))), p.openDashboard]
      .filter(Boolean)
      .join('\n');

  if (n.kind === 'test') {
    const elements = [mdBlock(mdText(p.testBody(n.group.label)))];
    return { format: 'feishu_card', lang: opts.lang, card: card(elements), plain: plainOf(elements) };
  }
  const head = [mdBlock([`**${mdText(n.group.label)}**`, headline(n, p), ...banners(n, p).map(mdText)].join('\n'))];
  const items = sectionLines(n, p, opts, (s) => `**${s}**`).map((l) => mdBlock(l.trim()));
  const more = (k: number) => mdBlock(p.moreItems(k));
  const kept = fitCount(
    JSON.stringify(card(head)),
    items.map((e) => JSON.stringify(e) + ','),
    (k) => JSON.stringify(more(k)) + ',',
    max,
    utf8Bytes,
  );
  const elements = [...head, ...items.slice(0, kept), ...(kept < items.length ? [more(items.length - kept)] : [])];
  return { format: 'feishu_card', lang: opts.lang, card: card(elements), plain: plainOf(elements) };
}
