// Cursors for keyset paging: the sort keys of the last row of a page, opaque to clients. A
// keyset page starts strictly after those keys, so rows inserted or changed meanwhile never make
// a page repeat or skip a row whose keys did not change (as OFFSET paging would).
import type { SubDeviceSort } from './types.js';

/** A cursor that is not one this server made (or made for another sort). */
export class CursorError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'CursorError';
  }
}

/** The types of each sort's keys, in order: n = number, s = string. */
export const SORT_KEYS: Record<SubDeviceSort, string> = {
  box: 'ss',
  name: 'sss',
  type: 'sss',
  location: 'sss',
  down_since: 'nnss',
};

export function encodeCursor(sort: SubDeviceSort, keys: unknown[]): string {
  return Buffer.from(JSON.stringify([sort, ...keys]), 'utf8').toString('base64url');
}

/** The keys a cursor holds; throws CursorError naming what is wrong. */
export function decodeCursor(sort: SubDeviceSort, cursor: string): unknown[] {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error();
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError('is not a cursor from this API (pass next_cursor of the previous page as it is)');
  }
  const types = SORT_KEYS[sort];
  if (!Array.isArray(parsed) || parsed.length !== types.length + 1) throw new CursorError('is not a cursor from this API');
  if (parsed[0] !== sort) throw new CursorError(`was made for sort=${String(parsed[0])}, not sort=${sort}`);
  const keys = parsed.slice(1);
  keys.forEach((k, i) => {
    const ok = types[i] === 'n' ? typeof k === 'number' && Number.isFinite(k) : typeof k === 'string';
    if (!ok) throw new CursorError('is not a cursor from this API');
  });
  return keys;
}
