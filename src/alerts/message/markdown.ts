// Markdown for the chat robots (DingTalk, WeCom, Feishu's lark_md): the subset all of them
// show the same way — headings, bold, links, quotes and plain lines.
import type { RenderedMarkdown } from '../channels/types.js';
import { banners, entryFields, headline, title, type EntryFields, type RenderOptions } from './format.js';
import { phrases, type Phrases } from './i18n.js';
import { orderChanges, type GroupedNotification } from './model.js';
import { mdText, mdUrl } from './md-escape.js';
import { fitCount, fitMarkdown, measureFor, type SizeLimit } from './truncate.js';

export { mdText, mdUrl };

/** One change as one markdown line. */
export function entryLine(f: EntryFields, p: Phrases): string {
  const name = f.link ? `[${mdText(f.name)}](${mdUrl(f.link)})` : mdText(f.name);
  const parts = [`**${name}**`];
  if (f.box) parts.push(mdText(f.box));
  if (f.type) parts.push(f.type);
  if (f.address) parts.push(mdText(f.address));
  if (f.location) parts.push(mdText(f.location));
  const detail = [f.when, f.reason, f.detail ? mdText(f.detail) : null, f.flapping].filter(Boolean).join(p.listSeparator);
  return `- ${parts.join(' · ')}${p.colon}**${f.state}**${p.parenthesized(detail)}`;
}

/** The list sections with their entries, each line carrying its section heading if first. */
export function sectionLines(n: GroupedNotification, p: Phrases, opts: RenderOptions, heading: (s: string) => string): string[] {
  const { down, up } = orderChanges(n.changes);
  const lines: string[] = [];
  down.forEach((e, i) => {
    const line = entryLine(entryFields(e, n, p, opts.timeZone), p);
    lines.push(i === 0 ? `${heading(p.sectionDown(down.length))}\n${line}` : line);
  });
  up.forEach((e, i) => {
    const line = entryLine(entryFields(e, n, p, opts.timeZone), p);
    lines.push(i === 0 ? `${heading(p.sectionUp(up.length))}\n${line}` : line);
  });
  return lines;
}

export function renderMarkdown(n: GroupedNotification, opts: RenderOptions & SizeLimit): RenderedMarkdown {
  const p = phrases(opts.lang);
  const link = `[${p.openDashboard}](${mdUrl(n.link)})`;
  if (n.kind === 'test') {
    const text = `### ${mdText(p.testTitle)}\n\n${mdText(p.testBody(n.group.label))}\n\n${link}`;
    return { format: 'markdown', lang: opts.lang, title: p.testTitle, text: fitMarkdown(text, { ...opts, link: n.link }), link: n.link };
  }
  const head = [`### ${mdText(n.group.label)}`, `**${headline(n, p)}**`, ...banners(n, p).map((b) => `> ${mdText(b)}`)].join('\n\n');
  const foot = `\n\n${link}`;
  const items = sectionLines(n, p, opts, (s) => `\n#### ${s}`);
  const { measure, max } = measureFor(opts);
  const more = (k: number) => `\n\n${p.moreItems(k)}`;
  const kept = fitCount(head + foot, items.map((l) => `\n${l}`), more, max, measure);
  const body = items.slice(0, kept).join('\n');
  const omitted = items.length - kept;
  const text = head + (body ? `\n${body}` : '') + (omitted ? more(omitted) : '') + foot;
  return { format: 'markdown', lang: opts.lang, title: title(n, p), text: fitMarkdown(text, { ...opts, link: n.link }), link: n.link };
}
