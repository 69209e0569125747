// CSV as RFC 4180 says (CRLF line ends; a field with a comma, quote, CR or LF in quotes, quotes
// doubled), UTF-8 with a byte order mark: without it Excel (e.g. in a Chinese locale) reads the
// file in the local code page and garbles every Chinese name.

export const UTF8_BOM = '\uFEFF';

export type CsvValue = string | number | boolean | null | undefined;

export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/**
 * The lines of a CSV file: the BOM and header first, then each row as `pages` yields it, so a
 * large export streams page by page and never sits in memory whole.
 */
export async function* csvLines<T>(header: readonly string[], pages: AsyncIterable<T[]>, row: (item: T) => CsvValue[]): AsyncGenerator<string> {
  yield UTF8_BOM + csvLine(header);
  for await (const page of pages) {
    if (page.length === 0) continue;
    yield page.map((item) => csvLine(row(item))).join('');
  }
}
