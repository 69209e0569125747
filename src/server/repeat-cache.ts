// A box sends the same report every few seconds, byte for byte, until something about its
// sub-devices changes. The receiver remembers each box's last accepted body together with what
// parsing it gave; when the very same bytes come again, decoding, JSON parsing and validation
// are skipped: the same bytes always parse to the same report. A body that differs in any byte
// goes the whole way, as does every body while the cache is off (limit 0).
import type { Report } from '../protocol/index.js';
import { ownCopy } from '../util/own-copy.js';

export interface KnownBody {
  report: Report;
  /** What to answer: the normalized report, as bytes or text. */
  echo: Buffer | string;
}

interface Entry extends KnownBody {
  bytes: Buffer;
  size: number;
}

const DEV_SNO_KEY = Buffer.from('"dev_sno"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isJsonSpace = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * The dev_sno as written in the body, found without parsing it. It only picks the slot a body is
 * remembered in: a body is recognized only when all of its bytes equal the remembered ones, so a
 * wrong guess (an escaped dev_sno, the key inside some other string) costs a miss, never a wrong
 * answer.
 */
function slotOf(body: Buffer): string | null {
  let i = body.indexOf(DEV_SNO_KEY);
  if (i < 0) return null;
  i += DEV_SNO_KEY.length;
  while (isJsonSpace(body[i])) i++;
  if (body[i] !== 0x3a /* : */) return null;
  i++;
  while (isJsonSpace(body[i])) i++;
  if (body[i] !== QUOTE) return null;
  const start = i + 1;
  const end = body.indexOf(QUOTE, start);
  // 256 bytes is past any valid dev_sno; a backslash means an escape: not worth decoding here.
  if (end < 0 || end - start > 256 || body.subarray(start, end).includes(BACKSLASH)) return null;
  return body.toString('latin1', start, end);
}

/** Freezes the report all the way down: one object now answers many requests. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export class RepeatCache {
  private readonly entries = new Map<string, Entry>();
  private size = 0;
  private hitCount = 0;
  private missCount = 0;

  /** @param limitBytes memory to use, roughly (about 6 kB per box of 8 sub-devices); 0 turns it off. */
  constructor(private readonly limitBytes: number) {}

  get stats(): { hits: number; misses: number; boxes: number; bytes: number } {
    return { hits: this.hitCount, misses: this.missCount, boxes: this.entries.size, bytes: this.size };
  }

  /** What these bytes parsed to last time, if they are exactly the last body of some box. */
  lookup(body: Buffer): KnownBody | undefined {
    if (this.limitBytes <= 0) return undefined;
    const slot = slotOf(body);
    const entry = slot === null ? undefined : this.entries.get(slot);
    if (entry !== undefined && entry.bytes.equals(body)) {
      this.hitCount++;
      return entry;
    }
    this.missCount++;
    return undefined;
  }

  /** Remembers a body that was accepted and stored, with the report it parsed to. */
  remember(body: Buffer, report: Report, echo: Buffer | string): void {
    if (this.limitBytes <= 0) return;
    const slot = slotOf(body);
    if (slot === null) return;
    this.forget(slot);
    const bytes = ownCopy(body);
    // The parsed strings take about twice the bytes (two-byte text), the objects about as much;
    // a normalized echo is text of its own.
    const size = 3 * body.length + 512 + (typeof echo === 'string' ? 2 * echo.length : 0);
    this.entries.set(slot, {
      bytes,
      report: deepFreeze(report),
      echo: echo === body ? bytes : echo,
      size,
    });
    this.size += size;
    // The first entries are the ones least recently changed.
    while (this.size > this.limitBytes && this.entries.size > 0) this.forget(this.entries.keys().next().value!);
  }

  private forget(slot: string): void {
    const old = this.entries.get(slot);
    if (old === undefined) return;
    this.entries.delete(slot);
    this.size -= old.size;
  }
}
