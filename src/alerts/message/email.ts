// An e-mail: subject = the headline, a plain-text part and an HTML part (a table that reads on
// a phone). Every piece of data is HTML-escaped.
import type { RenderedEmail } from '../channels/types.js';
import { banners, entryFields, headline, title, type EntryFields, type RenderOptions } from './format.js';
import { phrases, type Phrases } from './i18n.js';
import { orderChanges, type ChangeEntry, type GroupedNotification } from './model.js';

/** Entries listed in one e-mail; the rest are counted and linked. */
export const EMAIL_MAX_ENTRIES = 200;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function textLine(f: EntryFields, p: Phrases): string {
  const parts = [f.name, f.box, f.type, f.address, f.location].filter((x): x is string => !!x);
  const detail = [f.when, f.reason, f.detail, f.flapping].filter(Boolean).join(p.listSeparator);
  return `- ${parts.join(' · ')}${p.colon}${f.state}${p.parenthesized(detail)}${f.link ? `\n  ${f.link}` : ''}`;
}

function htmlRow(f: EntryFields, p: Phrases): string {
  const name = f.link ? `<a href="${escapeHtml(f.link)}">${escapeHtml(f.name)}</a>` : escapeHtml(f.name);
  const sub = [f.box, f.type, f.address, f.location].filter((x): x is string => !!x).map(escapeHtml).join(' · ');
  return (
    `<tr><td style="padding:6px 8px;border-bottom:1px solid #eee"><strong>${name}</strong>` +
    (sub ? `<br><span style="color:#666">${sub}</span>` : '') +
    `</td><td style="padding:6px 8px;border-bottom:1px solid #eee">${escapeHtml(f.state)}<br><span style="color:#666">` +
    `${escapeHtml([f.when, f.reason, f.detail, f.flapping].filter(Boolean).join(p.listSeparator))}</span></td></tr>`
  );
}

export function renderEmail(n: GroupedNotification, opts: RenderOptions & { maxEntries?: number }): RenderedEmail {
  const p = phrases(opts.lang);
  const subject = title(n, p);
  const htmlDoc = (inner: string) =>
    `<!doctype html><html lang="${opts.lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>${escapeHtml(subject)}</title></head><body style="font-family:sans-serif;font-size:14px;max-width:720px">${inner}` +
    `<p><a href="${escapeHtml(n.link)}">${escapeHtml(p.openDashboard)}</a></p></body></html>`;
  if (n.kind === 'test') {
    const body = p.testBody(n.group.label);
    return {
      format: 'email',
      lang: opts.lang,
      subject,
      text: `${body}\n\n${p.openDashboard}${p.colon}${n.link}\n`,
      html: htmlDoc(`<p>${escapeHtml(body)}</p>`),
    };
  }
  const max = opts.maxEntries ?? EMAIL_MAX_ENTRIES;
  const { down, up } = orderChanges(n.changes);
  let room = max;
  const take = (list: ChangeEntry[]) => {
    const kept = list.slice(0, Math.max(0, room));
    room -= kept.length;
    return kept.map((e) => entryFields(e, n, p, opts.timeZone));
  };
  const sections = [
    { heading: p.sectionDown(down.length), fields: take(down), total: down.length },
    { heading: p.sectionUp(up.length), fields: take(up), total: up.length },
  ].filter((s) => s.total > 0);
  const omitted = n.changes.length - Math.min(max, n.changes.length);
  const head = headline(n, p);
  const notes = banners(n, p);

  const text = [
    n.group.label,
    head,
    ...notes,
    ...sections.flatMap((s) => ['', s.heading, ...s.fields.map((f) => textLine(f, p))]),
    ...(omitted ? ['', p.moreItems(omitted)] : []),
    '',
    `${p.openDashboard}${p.colon}${n.link}`,
    '',
  ].join('\n');

  const html = htmlDoc(
    `<h2 style="font-size:18px">${escapeHtml(n.group.label)}</h2><p><strong>${escapeHtml(head)}</strong></p>` +
      notes.map((b) => `<p style="background:#fff4e5;padding:6px 8px">${escapeHtml(b)}</p>`).join('') +
      sections
        .map(
          (s) =>
            `<h3 style="font-size:16px">${escapeHtml(s.heading)}</h3><table style="border-collapse:collapse;width:100%">` +
            s.fields.map((f) => htmlRow(f, p)).join('') +
            '</table>',
        )
        .join('') +
      (omitted ? `<p>${escapeHtml(p.moreItems(omitted))}</p>` : ''),
  );
  return { format: 'email', lang: opts.lang, subject, text, html };
}
