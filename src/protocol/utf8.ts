// Report bodies are UTF-8 (JSON's own encoding). Decoding with replacement characters would turn
// different bytes into the same text ("UTF\xff" and "UTF\xfe" both into "UTF\ufffd"): two boxes'
// names could collide and the stored text would not be what the box sent. Such a body is refused
// instead, naming the first bad byte; boxes set up for Chinese Windows often send GBK.
import { isUtf8 } from 'node:buffer';
import { ReportValidationError } from './errors.js';

const BOM = [0xef, 0xbb, 0xbf] as const;

/** True when the bytes start with the UTF-8 byte order mark, which some editors and tools write. */
export function hasUtf8Bom(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2];
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence. */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8 either.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += need + 1;
  }
  return -1;
}

const hex = (b: number) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * The text of a body that must be UTF-8: a leading byte order mark is skipped; any byte that is
 * not UTF-8 is refused with a ReportValidationError on (body) naming its offset.
 */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  const body = hasUtf8Bom(bytes) ? bytes.subarray(3) : bytes;
  if (isUtf8(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  const at = firstInvalidUtf8Offset(body);
  const offset = at + (body === bytes ? 0 : 3);
  const shown = Array.from(body.subarray(Math.max(0, at), at + 4), hex).join(' ');
  throw new ReportValidationError(
    '(body)',
    `is not valid UTF-8: byte ${hex(body[at] ?? 0)} at offset ${offset} (bytes ${shown}) does not start or continue a UTF-8 character; ` +
      'send the report encoded as UTF-8 (GBK/GB2312 text is not accepted)',
  );
}
