// Markdown lines as plain text, for e-mail text parts and keyword checks.

/** Drops markdown markup: headings, bold, quotes; links become "text (url)". */
export function markdownToPlain(md: string): string {
  return md
    .split('\n')
    .map((line) =>
      line
        .replace(/^#{1,6}\s+/, '')
        .replace(/^>\s?/, '')
        .replace(/\*\*(.*?)\*\*/g, '$1')
        .replace(/\[([^\]]*)\]\(([^)]*)\)/g, '$1 ($2)'),
    )
    .join('\n');
}
