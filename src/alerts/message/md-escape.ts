// Data inside markdown: names cannot start bold, links, quotes or HTML of their own, and URLs
// cannot end a link early.

export function mdText(s: string): string {
  return s
    .replace(/[\r\n]+/g, ' ')
    .replace(/\*/g, '＊')
    .replace(/\[/g, '［')
    .replace(/\]/g, '］')
    .replace(/`/g, 'ˋ')
    .replace(/</g, '＜')
    .replace(/>/g, '＞');
}

const URL_ESCAPES: Record<string, string> = { '(': '%28', ')': '%29', ' ': '%20', '<': '%3C', '>': '%3E' };

export function mdUrl(url: string): string {
  return url.replace(/[()<> ]|\s/g, (c) => URL_ESCAPES[c] ?? encodeURIComponent(c));
}
