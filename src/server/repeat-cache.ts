// A box sends the same report every few seconds, byte for byte, until something about its
// sub-devices changes. The receiver remembers a digest of each box's last accepted body (see
// util/body-digest.ts) with its sub-device counts; when the very same bytes come again, decoding,
// JSON parsing and validation are skipped: the same bytes always parse to the same report, and
// that report's echo is those very bytes. Only bodies already in normal form are remembered (the
// others' echo is another text, which would have to be kept). A body that differs in any byte
// goes the whole way, as does every body while the cache is off (limit 0).
import type { Report } from '../protocol/index.js';
import { digestOfBytes, type Digest } from '../util/body-digest.js';
import { DigestMemory } from '../util/digest-memory.js';

/** A body as the cache knows it: its box (as written in it) and its digest. */
export interface BodyIdentity {
  devSno: string;
  digest: Digest;
}

/** What a repeated body said: its box and how many of its sub-devices are online, offline. */
export interface KnownBody {
  devSno: string;
  digest: Digest;
  online: number;
  offline: number;
}

const DEV_SNO_KEY = Buffer.from('"dev_sno"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isJsonSpace = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * The dev_sno as written in the body, found without parsing it. It only picks the slot a body is
 * remembered in: a body is recognized only when its digest equals the remembered one, so a wrong
 * guess (an escaped dev_sno, the key inside some other string) costs a miss, never a wrong answer;
 * and a body is remembered only under the dev_sno it parsed to.
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

/** Sub-device counts, packed in the 32 bits a box's entry has for them. */
const COUNT_MAX = 0xffff;

export class RepeatCache {
  private readonly memory: DigestMemory;
  private hitCount = 0;
  private missCount = 0;

  /** @param limitBytes memory to use (about 64 bytes a box); 0 turns it off. */
  constructor(private readonly limitBytes: number) {
    this.memory = new DigestMemory(limitBytes);
  }

  get stats(): { hits: number; misses: number; boxes: number; bytes: number } {
    return { hits: this.hitCount, misses: this.missCount, boxes: this.memory.boxes, bytes: this.memory.bytes };
  }

  /** Who a body claims to be and its digest; null when it cannot be remembered (no plain dev_sno). */
  identify(body: Buffer): BodyIdentity | null {
    if (this.limitBytes <= 0) return null;
    const devSno = slotOf(body);
    return devSno === null ? null : { devSno, digest: digestOfBytes(body) };
  }

  /** What the body said, if it is exactly the last remembered body of its box. */
  lookup(id: BodyIdentity | null): KnownBody | undefined {
    if (this.limitBytes <= 0) return undefined;
    const info = id === null ? -1 : this.memory.find(id.devSno, id.digest);
    if (info < 0) {
      this.missCount++;
      return undefined;
    }
    this.hitCount++;
    return { devSno: id!.devSno, digest: id!.digest, online: info >>> 16, offline: info & COUNT_MAX };
  }

  /**
   * Remembers a body that was accepted and stored, in normal form (its own echo), with the
   * report it parsed to.
   */
  remember(id: BodyIdentity | null, report: Report): void {
    // Under its real dev_sno only: a hit then names the right box without parsing.
    if (id === null || id.devSno !== report.dev_sno) return;
    let online = 0;
    for (const s of report.sub_devices) if (s.ep_status === 'online') online++;
    const offline = report.sub_devices.length - online;
    if (online > COUNT_MAX || offline > COUNT_MAX) return;
    this.memory.remember(id.devSno, id.digest, ((online << 16) | offline) >>> 0);
  }
}
