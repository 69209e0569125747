// How a repeated report is recognized without keeping it: a 64-bit xxHash of its bytes plus
// their length. Two different bodies of one box pass for each other only if both collide; with
// a seed drawn at random per process (so no box can plan a collision, and no two processes share
// one) that is a 2^-64 chance per changed report: at 10,000 changed reports a second, about once
// in 60 million years. A collision would cost that one box one report taken for its previous
// one (its rows and echo are that box's own), never another box's data.
import { randomBytes } from 'node:crypto';
import xxhash from 'xxhash-wasm';

const { h64Raw, h64 } = await xxhash();

const BODY_SEED = randomBytes(8).readBigUInt64LE();
// Text (a fingerprint built from a parsed report) is hashed with a seed of its own, so that it
// never passes for a body's bytes.
const TEXT_SEED = BODY_SEED ^ 0x9e3779b97f4a7c15n;

export interface Digest {
  hash: bigint;
  /** Bytes of a body, characters of a text. */
  length: number;
}

export const digestOfBytes = (bytes: Uint8Array): Digest => ({ hash: h64Raw(bytes, BODY_SEED), length: bytes.length });

export const digestOfText = (text: string): Digest => ({ hash: h64(text, TEXT_SEED), length: text.length });
