// Durable store-and-forward queue, kept compact: reports are appended to a log file (a
// "segment") as framed records, each report compressed (a 12 KB report of 64 sub-devices
// takes ~1 KB instead of a 16 KiB file of its own); every put is fsync'ed before it returns.
// A delivered report gets a small "removed" record; a segment is deleted once nothing in it
// or before it is left. A crash leaves at most a torn record at the end, which is cut off on
// open; a record whose checksum does not match is skipped. Order is the reports' sequence
// numbers, reserved when a report is built.
//
// Record: u32 payload length, u32 CRC-32 of the rest, u8 kind (1 report, 2 removed),
// 3 bytes zero, f64 seq, f64 queued-at (ms since epoch), payload (raw deflate of the JSON).
import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';

const SEGMENT = /^(\d{16})\.log$/;
/** Queues written by earlier versions: one JSON file per report. Imported on open. */
const LEGACY = /^(\d{16})\.json$/;
const LEGACY_TEMP_PREFIX = '.tmp-';
const LOCK = 'queue.lock';
/** A new segment is started past this size, so delivered reports' space is given back soon. */
const SEGMENT_MAX_BYTES = 4 * 1024 * 1024;
const HEADER = 28;
const KIND_REPORT = 1;
const KIND_REMOVED = 2;
/**
 * A 4 KiB window and a small hash table: a report repeats itself every sub-device (~200 bytes),
 * so this compresses nearly as well as the defaults while zlib needs ~20 KB instead of ~256 KB.
 */
const DEFLATE = { windowBits: 12, memLevel: 5 } as const;

/** Queue directories this process has open (the lock file alone cannot tell for our own pid). */
const OPEN_DIRS = new Set<string>();

const segmentName = (n: number) => `${String(n).padStart(16, '0')}.log`;

export interface QueuedReport {
  seq: number;
  body: unknown;
}

export interface PutResult {
  /** How many of the oldest reports were dropped to stay within maxReports. */
  dropped: number;
}

export interface QueueStats {
  reports: number;
  /** Bytes the queue's files take. */
  bytes: number;
  /** When the oldest report still queued was queued (ms since epoch), or null when empty. */
  oldestQueuedAt: number | null;
}

export class QueueLockedError extends Error {}

interface Entry {
  seq: number;
  segment: number;
  offset: number;
  length: number;
  queuedAt: number;
}

interface Segment {
  n: number;
  bytes: number;
  /** Reports in this segment not yet removed. */
  live: number;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function frame(kind: number, seq: number, queuedAt: number, payload: Buffer): Buffer {
  const rec = Buffer.alloc(HEADER + payload.length);
  rec.writeUInt32LE(payload.length, 0);
  rec.writeUInt8(kind, 8);
  rec.writeDoubleLE(seq, 12);
  rec.writeDoubleLE(queuedAt, 20);
  payload.copy(rec, HEADER);
  rec.writeUInt32LE(crc32(rec.subarray(8)), 4);
  return rec;
}

/** A segment's records up to the first torn or damaged one; `end` is where the good part ends. */
function parseSegment(data: Buffer): { records: Array<{ kind: number; seq: number; queuedAt: number; offset: number; length: number }>; end: number } {
  const records = [];
  let at = 0;
  while (at + HEADER <= data.length) {
    const length = data.readUInt32LE(at);
    if (at + HEADER + length > data.length) break;
    if (crc32(data.subarray(at + 8, at + HEADER + length)) !== data.readUInt32LE(at + 4)) break;
    const kind = data.readUInt8(at + 8);
    records.push({ kind, seq: data.readDoubleLE(at + 12), queuedAt: data.readDoubleLE(at + 20), offset: at, length: HEADER + length });
    at += HEADER + length;
  }
  return { records, end: at };
}

const decode = (record: Buffer): unknown => JSON.parse(inflateRawSync(record.subarray(HEADER)).toString('utf8'));

/** What a queue directory holds, read without taking it over (status for a running agent's queue). */
interface Scan {
  segments: Segment[];
  entries: Entry[];
  /** Segments whose tail was torn or damaged: [segment, good length, file length]. */
  damaged: Array<[number, number, number]>;
}

function scan(dir: string): Scan {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { segments: [], entries: [], damaged: [] };
    throw err;
  }
  const numbers = names.flatMap((f) => (SEGMENT.test(f) ? [Number(f.slice(0, 16))] : [])).sort((a, b) => a - b);
  const live = new Map<number, Entry>();
  const segments: Segment[] = [];
  const damaged: Scan['damaged'] = [];
  for (const n of numbers) {
    let data: Buffer;
    try {
      data = readFileSync(join(dir, segmentName(n)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile
      throw err;
    }
    const { records, end } = parseSegment(data);
    if (end < data.length) damaged.push([n, end, data.length]);
    segments.push({ n, bytes: data.length, live: 0 });
    for (const r of records) {
      if (r.kind === KIND_REPORT) live.set(r.seq, { seq: r.seq, segment: n, offset: r.offset, length: r.length, queuedAt: r.queuedAt });
      else if (r.kind === KIND_REMOVED) live.delete(r.seq);
    }
  }
  const bySegment = new Map(segments.map((s) => [s.n, s]));
  const entries = [...live.values()].sort((a, b) => a.seq - b.seq);
  for (const e of entries) bySegment.get(e.segment)!.live++;
  return { segments, entries, damaged };
}

/** "12 report(s), 18 KiB, oldest queued 3 min ago" (or "empty"). */
export function describeQueue(s: QueueStats, now = Date.now()): string {
  if (s.reports === 0) return 'queue empty';
  const kib = s.bytes < 1024 * 1024 ? `${Math.ceil(s.bytes / 1024)} KiB` : `${(s.bytes / 1024 / 1024).toFixed(1)} MiB`;
  const age = s.oldestQueuedAt === null ? 0 : Math.max(0, (now - s.oldestQueuedAt) / 1000);
  const ago = age < 90 ? `${Math.round(age)} s` : age < 5400 ? `${Math.round(age / 60)} min` : `${(age / 3600).toFixed(1)} h`;
  return `${s.reports} report(s) queued, ${kib} on disk, oldest queued ${ago} ago`;
}

export class DurableQueue {
  /** Reports on disk, oldest (lowest seq) first. */
  private entries: Entry[] = [];
  private segments: Segment[] = [];
  /** The segment being appended to, or null (the next put starts one). */
  private active: { n: number; fd: number } | null = null;
  private nextSeq = 1;
  private nextSegment = 1;
  private closed = false;
  /** Reports dropped because the queue was full, since this process opened it. */
  droppedTotal = 0;
  /** What opening found and skipped (a torn last write, a damaged record, an unreadable old file). */
  readonly openProblems: string[] = [];

  readonly dir: string;

  private constructor(
    dir: string,
    readonly maxReports: number,
  ) {
    this.dir = resolve(dir);
    mkdirSync(this.dir, { recursive: true });
    this.lock();
    try {
      this.load();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Opens (creating if needed) the queue in `dir`. Only one process may have it open. */
  static open(dir: string, opts: { maxReports: number }): DurableQueue {
    return new DurableQueue(dir, opts.maxReports);
  }

  /** Size and age of the queue in `dir` without opening it (it may be in use by a running agent). */
  static inspect(dir: string): QueueStats {
    const s = scan(resolve(dir));
    return { reports: s.entries.length, bytes: s.segments.reduce((n, g) => n + g.bytes, 0), oldestQueuedAt: s.entries[0]?.queuedAt ?? null };
  }

  /** The reports queued in `dir`, oldest first, without opening it (for tests and diagnosis). */
  static read(dir: string): QueuedReport[] {
    const root = resolve(dir);
    const s = scan(root);
    const files = new Map<number, Buffer>();
    const out: QueuedReport[] = [];
    for (const e of s.entries) {
      let data = files.get(e.segment);
      if (!data) files.set(e.segment, (data = readFileSync(join(root, segmentName(e.segment)))));
      out.push({ seq: e.seq, body: decode(data.subarray(e.offset, e.offset + e.length)) });
    }
    return out;
  }

  private lock(): void {
    const file = join(this.dir, LOCK);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, String(process.pid), { flag: 'wx' });
        OPEN_DIRS.add(this.dir);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number(readFileSync(file, 'utf8').trim());
        // Our own pid in the lock is a previous run (e.g. pid 1 in a restarted container),
        // unless this process really has the directory open.
        const ours = pid === process.pid;
        if ((ours && OPEN_DIRS.has(this.dir)) || (!ours && Number.isInteger(pid) && pid > 0 && pidAlive(pid))) {
          throw new QueueLockedError(`queue directory ${this.dir} is in use by another agent (pid ${pid})`);
        }
        // Left behind by an agent that is gone (killed, crashed): take it over.
        rmSync(file, { force: true });
      }
    }
    throw new QueueLockedError(`could not lock queue directory ${this.dir}`);
  }

  private load(): void {
    const s = scan(this.dir);
    const last = s.segments.at(-1)?.n;
    for (const [n, good, size] of s.damaged) {
      if (n === last) {
        // The last write did not complete (crash, power cut): cut it off so appends follow good data.
        const fd = openSync(join(this.dir, segmentName(n)), 'r+');
        try {
          ftruncateSync(fd, good);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        s.segments.at(-1)!.bytes = good;
        this.openProblems.push(`an incomplete last write (${size - good} bytes) was cut off`);
      } else {
        this.openProblems.push(`segment ${segmentName(n)} is damaged after byte ${good}: ${size - good} bytes skipped`);
      }
    }
    this.segments = s.segments;
    this.entries = s.entries;
    this.nextSegment = (last ?? 0) + 1;
    this.nextSeq = (this.entries.at(-1)?.seq ?? 0) + 1;
    this.importLegacy();
    this.compact();
  }

  /** One JSON file per report (earlier versions): moved into the log, in order, then deleted. */
  private importLegacy(): void {
    const names = readdirSync(this.dir);
    for (const f of names) if (f.startsWith(LEGACY_TEMP_PREFIX)) rmSync(join(this.dir, f), { force: true });
    const legacy = names.flatMap((f) => (LEGACY.test(f) ? [Number(f.slice(0, 16))] : [])).sort((a, b) => a - b);
    if (!legacy.length) return;
    this.nextSeq = Math.max(this.nextSeq, legacy.at(-1)! + 1);
    for (const seq of legacy) {
      const file = join(this.dir, `${String(seq).padStart(16, '0')}.json`);
      try {
        const text = readFileSync(file, 'utf8');
        JSON.parse(text);
        this.append(seq, text.trim(), statSync(file).mtimeMs);
      } catch (err) {
        this.openProblems.push(`queued report ${seq} is unreadable (${(err as Error).message}); skipped`);
      }
    }
    this.sync();
    for (const seq of legacy) rmSync(join(this.dir, `${String(seq).padStart(16, '0')}.json`), { force: true });
  }

  get size(): number {
    return this.entries.length;
  }

  stats(): QueueStats {
    return { reports: this.entries.length, bytes: this.segments.reduce((n, s) => n + s.bytes, 0), oldestQueuedAt: this.entries[0]?.queuedAt ?? null };
  }

  /** Reserves the next sequence number: a report's place in the order, taken when it is built. */
  reserve(): number {
    return this.nextSeq++;
  }

  private activeSegment(): { n: number; fd: number } {
    if (!this.active) {
      const n = this.nextSegment++;
      const fd = openSync(join(this.dir, segmentName(n)), 'a');
      fsyncDir(this.dir);
      this.active = { n, fd };
      this.segments.push({ n, bytes: 0, live: 0 });
    }
    return this.active;
  }

  private write(kind: number, seq: number, queuedAt: number, payload: Buffer): { segment: Segment; offset: number; length: number } {
    const active = this.activeSegment();
    const segment = this.segments.at(-1)!;
    const rec = frame(kind, seq, queuedAt, payload);
    const offset = segment.bytes;
    writeSync(active.fd, rec);
    segment.bytes += rec.length;
    return { segment, offset, length: rec.length };
  }

  private append(seq: number, json: string, queuedAt: number): void {
    const { segment, offset, length } = this.write(KIND_REPORT, seq, queuedAt, deflateRawSync(json, DEFLATE));
    segment.live++;
    // Usually the newest; a report that failed its direct send may slot in before later ones.
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1]!.seq > seq) i--;
    if (this.entries[i - 1]?.seq === seq) this.forget(--i); // the same report again: keep the newer copy
    this.entries.splice(i, 0, { seq, segment: segment.n, offset, length, queuedAt });
  }

  /** Drops entry i from the index (its record stays until its segment goes). */
  private forget(i: number): Entry {
    const [e] = this.entries.splice(i, 1);
    const seg = this.segments.find((s) => s.n === e!.segment);
    if (seg) seg.live--;
    return e!;
  }

  private sync(): void {
    if (this.active) fsyncSync(this.active.fd);
  }

  /** Stores a report (an object, or its JSON text) durably; drops the oldest ones if the queue is full. */
  put(seq: number, body: unknown): PutResult {
    if (this.closed) throw new Error('queue is closed');
    this.append(seq, typeof body === 'string' ? body : JSON.stringify(body), Date.now());
    let dropped = 0;
    while (this.entries.length > this.maxReports) {
      const e = this.forget(0);
      this.write(KIND_REMOVED, e.seq, 0, Buffer.alloc(0));
      dropped++;
    }
    if (this.active && this.segments.at(-1)!.bytes >= SEGMENT_MAX_BYTES) this.roll();
    this.sync();
    this.droppedTotal += dropped;
    this.compact();
    return { dropped };
  }

  /** Closes the active segment (after an fsync); the next write starts a new one. */
  private roll(): void {
    if (!this.active) return;
    fsyncSync(this.active.fd);
    closeSync(this.active.fd);
    this.active = null;
  }

  /** The oldest report, or null. A record that cannot be read back is removed and skipped. */
  peek(onCorrupt?: (seq: number, err: Error) => void): QueuedReport | null {
    while (this.entries.length) {
      const e = this.entries[0]!;
      try {
        const rec = Buffer.alloc(e.length);
        const fd = openSync(join(this.dir, segmentName(e.segment)), 'r');
        try {
          if (readSync(fd, rec, 0, e.length, e.offset) !== e.length) throw new Error('record cut short');
        } finally {
          closeSync(fd);
        }
        if (crc32(rec.subarray(8)) !== rec.readUInt32LE(4)) throw new Error('checksum mismatch');
        return { seq: e.seq, body: decode(rec) };
      } catch (err) {
        onCorrupt?.(e.seq, err as Error);
        this.remove(e.seq);
      }
    }
    return null;
  }

  /**
   * Removes a report once it was delivered (or is given up). Not fsync'ed on its own (the next
   * put's fsync covers it): a power cut right after may resend a report, never lose one.
   */
  remove(seq: number): void {
    const i = this.entries.findIndex((e) => e.seq === seq);
    if (i < 0) return;
    this.forget(i);
    if (this.entries.length > 0) this.write(KIND_REMOVED, seq, 0, Buffer.alloc(0));
    this.compact();
  }

  /** Deletes the oldest segments while nothing in them is still queued. */
  private compact(): void {
    while (this.segments.length && this.segments[0]!.live === 0) {
      const seg = this.segments[0]!;
      // The active segment goes only when the whole queue is empty (its records are all dead).
      if (this.active?.n === seg.n) {
        if (this.entries.length > 0) break;
        closeSync(this.active.fd);
        this.active = null;
      }
      this.segments.shift();
      try {
        unlinkSync(join(this.dir, segmentName(seg.n)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }

  /** Sequence numbers on disk, oldest first (for tests and status). */
  list(): number[] {
    return this.entries.map((e) => e.seq);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.active) {
      fsyncSync(this.active.fd);
      closeSync(this.active.fd);
      this.active = null;
    }
    OPEN_DIRS.delete(this.dir);
    rmSync(join(this.dir, LOCK), { force: true });
  }
}
