// The grouped notification as plain JSON for the generic webhook: the facts, the counts and
// the readable headline, so a receiver can both process and show it.
import type { RenderedJson } from '../channels/types.js';
import { banners, headline, stripCredentials, stripCredentialsInText, title, type RenderOptions } from './format.js';
import { phrases } from './i18n.js';
import { countChanges, orderChanges, type GroupedNotification } from './model.js';

/** Changes listed in one webhook body; the rest are counted in `omitted`. */
export const JSON_MAX_CHANGES = 1000;

export function renderJson(n: GroupedNotification, opts: RenderOptions & { maxChanges?: number }): RenderedJson {
  const p = phrases(opts.lang);
  const max = opts.maxChanges ?? JSON_MAX_CHANGES;
  const { down, up } = orderChanges(n.changes);
  const ordered = [...down, ...up];
  const listed = ordered.slice(0, max).map((e) => ({
    subject: e.subject,
    dev_sno: e.dev_sno,
    box_name: e.box_name,
    camera_name: e.camera_name ?? null,
    ep_type: e.ep_type ?? null,
    address: e.address ? stripCredentials(e.address) : null,
    location: e.location ?? null,
    from: e.from,
    to: e.to,
    since: e.since,
    from_since: e.from_since ?? null,
    reason: e.reason,
    detail: e.to === 'offline' && e.detail ? stripCredentialsInText(e.detail) : null,
    transitions: e.transitions ?? 1,
    link: e.link ?? null,
  }));
  return {
    format: 'json',
    body: {
      kind: n.kind,
      lang: opts.lang,
      group: n.group,
      at: n.at,
      title: title(n, p),
      headline: n.kind === 'test' ? p.testBody(n.group.label) : headline(n, p),
      notices: n.kind === 'test' ? [] : banners(n, p),
      counts: countChanges(n.changes),
      reminder: n.reminder ?? null,
      escalation: n.escalation ?? null,
      changes: listed,
      omitted: ordered.length - listed.length,
      link: n.link,
    },
  };
}
