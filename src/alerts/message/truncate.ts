// Keeping a message inside a channel's size limit: lists are cut to whole entries with an
// "…and N more" line while rendering; fitMarkdown is the last guard a channel applies, cutting
// at a line (or character) boundary and pointing to the full list.
import { phrases } from './i18n.js';
import { mdUrl } from './md-escape.js';
import type { Lang } from './model.js';

export type Measure = (s: string) => number;
export const utf8Bytes: Measure = (s) => Buffer.byteLength(s, 'utf8');
export const chars: Measure = (s) => [...s].length;

export interface SizeLimit {
  /** Limit in UTF-8 bytes (WeCom). */
  maxBytes?: number;
  /** Limit in characters (DingTalk). */
  maxChars?: number;
}

export function measureFor(limit: SizeLimit): { measure: Measure; max: number } {
  if (limit.maxBytes !== undefined) return { measure: utf8Bytes, max: limit.maxBytes };
  return { measure: chars, max: limit.maxChars ?? Number.POSITIVE_INFINITY };
}

/** Longest prefix of `s` (whole code points) that measures at most `max`. */
function prefixWithin(s: string, max: number, measure: Measure): string {
  const cps = [...s];
  let lo = 0;
  let hi = cps.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (measure(cps.slice(0, mid).join('')) <= max) lo = mid;
    else hi = mid - 1;
  }
  return cps.slice(0, lo).join('');
}

/**
 * `text` unchanged when it fits; otherwise as many whole lines as fit, then
 * "…(已截断) [查看全部](link)". Never cuts inside a UTF-8 character.
 */
export function fitMarkdown(text: string, opts: SizeLimit & { lang: Lang; link: string }): string {
  const { measure, max } = measureFor(opts);
  if (measure(text) <= max) return text;
  const p = phrases(opts.lang);
  const tail = `\n\n${p.truncated} [${p.viewAll}](${mdUrl(opts.link)})`;
  const room = max - measure(tail);
  if (room <= 0) return prefixWithin(tail.trimStart(), max, measure);
  const head = prefixWithin(text, room, measure);
  const lastBreak = head.lastIndexOf('\n');
  // Prefer a whole-line cut unless that would throw away most of what fits.
  const cut = lastBreak > head.length / 2 ? head.slice(0, lastBreak) : head;
  return cut.trimEnd() + tail;
}

/**
 * How many of `items` fit: fixed + the first k items (+ a "more" line when k < all) must
 * measure at most max. Items are kept whole and in order.
 */
export function fitCount(
  fixed: string,
  items: readonly string[],
  more: (omitted: number) => string,
  max: number,
  measure: Measure,
): number {
  let size = measure(fixed);
  const all = items.length;
  let k = 0;
  for (; k < all; k++) {
    const next = size + measure(items[k]!);
    const rest = all - k - 1;
    const needMore = rest > 0 ? measure(more(rest)) : 0;
    if (next + needMore > max) break;
    size = next;
  }
  return k;
}
