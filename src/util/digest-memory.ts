// Per box, the digest of one body (see body-digest.ts) and 32 bits of what it said, in about 64
// bytes a box: a Map from a number derived from the dev_sno to a row of typed arrays. A fleet of
// 100,000 boxes takes about 6 MB (the bodies themselves took 5 kB a box).
import type { Digest } from './body-digest.js';

/** A Map entry with a small-integer key and value, as V8 lays it out (measured: ~37 bytes). */
const ENTRY_BYTES = 40;
/** One row: hash (8 bytes), length (4), info (4). */
const ROW_BYTES = 16;
/** What one box costs at most, the spare rows of a growing table included (see grow). */
export const BYTES_PER_BOX = ENTRY_BYTES + (3 * ROW_BYTES) / 2;

/**
 * The key of a box: 30 bits of FNV-1a over its dev_sno, small enough to live in the Map entry
 * itself (a string key would cost its own ~40 bytes). Two boxes with the same key share one
 * entry: each one's report replaces the other's, so both miss; a digest still only ever matches
 * the body it was made of.
 */
export function keyOf(devSno: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < devSno.length; i++) h = Math.imul(h ^ devSno.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
}

export class DigestMemory {
  private readonly rows = new Map<number, number>();
  private hashes = new BigUint64Array(0);
  private lengths = new Uint32Array(0);
  private infos = new Uint32Array(0);
  /** A second 32-bit number per row (see the constructor), or none. */
  private versions = new Uint32Array(0);
  private readonly freeRows: number[] = [];
  /** Rows handed out so far (the table's high-water mark). */
  private used = 0;
  private readonly maxBoxes: number;

  /**
   * @param limitBytes memory to use at most (BYTES_PER_BOX a box); 0 remembers nothing.
   * @param withVersions keep a second 32-bit number per box (4 bytes more a row), given to
   *   remember and read with versionOf: the version of the box's stored rows (postgres/known-rows.ts).
   */
  constructor(
    limitBytes: number,
    private readonly withVersions = false,
  ) {
    this.maxBoxes = Math.max(0, Math.floor(limitBytes / BYTES_PER_BOX));
  }

  get boxes(): number {
    return this.rows.size;
  }

  /** Memory held, as accounted: the entries and every row of the table. */
  get bytes(): number {
    return this.rows.size * ENTRY_BYTES + this.hashes.length * ROW_BYTES + this.versions.length * 4;
  }

  /** The info remembered with this digest for this box, or -1 when that is not its digest. */
  find(devSno: string, d: Digest): number {
    const row = this.rowWith(devSno, d);
    return row < 0 ? -1 : this.infos[row]!;
  }

  /** The version remembered with this digest for this box (withVersions), or -1 when that is not its digest. */
  versionOf(devSno: string, d: Digest): number {
    const row = this.rowWith(devSno, d);
    return row < 0 ? -1 : (this.versions[row] ?? -1);
  }

  /** The box's row if d is the digest remembered for it, else -1. */
  private rowWith(devSno: string, d: Digest): number {
    const row = this.rows.get(keyOf(devSno));
    return row === undefined || this.hashes[row] !== d.hash || this.lengths[row] !== d.length ? -1 : row;
  }

  /** Sets the version of whatever digest is remembered for the box, if any (withVersions). */
  setVersion(devSno: string, version: number): void {
    const row = this.rows.get(keyOf(devSno));
    if (row !== undefined && this.withVersions) this.versions[row] = version;
  }

  /** Remembers d (and info, a 32-bit unsigned number) as the box's digest, in place of any other. */
  remember(devSno: string, d: Digest, info = 0, version = 0): void {
    if (this.maxBoxes === 0) return;
    const key = keyOf(devSno);
    let row = this.rows.get(key);
    if (row !== undefined) this.rows.delete(key);
    else {
      // The first entries are the ones least recently changed.
      while (this.rows.size >= this.maxBoxes) this.forgetKey(this.rows.keys().next().value!);
      row = this.freeRows.pop() ?? this.newRow();
    }
    // Re-inserted at the end of the Map's order.
    this.rows.set(key, row);
    this.hashes[row] = d.hash;
    this.lengths[row] = d.length;
    this.infos[row] = info;
    if (this.withVersions) this.versions[row] = version;
  }

  forget(devSno: string): void {
    this.forgetKey(keyOf(devSno));
  }

  private forgetKey(key: number): void {
    const row = this.rows.get(key);
    if (row === undefined) return;
    this.rows.delete(key);
    this.freeRows.push(row);
  }

  private newRow(): number {
    if (this.used === this.hashes.length) this.grow(Math.min(this.maxBoxes, Math.max(64, Math.ceil(this.used * 1.5))));
    return this.used++;
  }

  /** Grows by half (not doubling): at most a third of the rows stand spare. */
  private grow(capacity: number): void {
    const hashes = new BigUint64Array(capacity);
    hashes.set(this.hashes);
    const lengths = new Uint32Array(capacity);
    lengths.set(this.lengths);
    const infos = new Uint32Array(capacity);
    infos.set(this.infos);
    this.hashes = hashes;
    this.lengths = lengths;
    this.infos = infos;
    if (this.withVersions) {
      const versions = new Uint32Array(capacity);
      versions.set(this.versions);
      this.versions = versions;
    }
  }
}
