// Text contrast of an element against the first opaque background behind it (WCAG 2 formula),
// measured in the page. Source text: what tsx compiles would call its own helpers there.
import type { Locator } from 'playwright-core';

const CONTRAST_OF = `(el) => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b]
    .map((v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const fg = parse(getComputedStyle(el).color);
  let bg = [255, 255, 255];
  for (let n = el; n; n = n.parentElement) {
    const c = parse(getComputedStyle(n).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] === 1)) { bg = c.slice(0, 3); break; }
  }
  const [a, b] = [lum(fg), lum(bg)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}`;

export async function contrast(el: Locator): Promise<number> {
  return el.evaluate((node, src) => (0, eval)(src)(node) as number, CONTRAST_OF);
}
