// Durable store-and-forward queue: one file per report in a directory, named by a sequence
// number that only grows, each written atomically (temp file, fsync, rename, fsync of the
// directory). A crash leaves either the whole report or nothing; order is the file names'.
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';

const NAME = /^(\d{16})\.json$/;
const TEMP_PREFIX = '.tmp-';
const LOCK = 'queue.lock';

/** Queue directories this process has open (the lock file alone cannot tell for our own pid). */
const OPEN_DIRS = new Set<string>();

const nameOf = (seq: number) => `${String(seq).padStart(16, '0')}.json`;

export interface QueuedReport {
  seq: number;
  body: unknown;
}

export interface PutResult {
  /** How many of the oldest reports were dropped to stay within maxReports. */
  dropped: number;
}

export class QueueLockedError extends Error {}

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

export class DurableQueue {
  /** Sequence numbers on disk, oldest first. */
  private readonly seqs: number[] = [];
  private nextSeq: number;
  private closed = false;
  /** Reports dropped because the queue was full, since this process opened it. */
  droppedTotal = 0;

  readonly dir: string;

  private constructor(
    dir: string,
    readonly maxReports: number,
  ) {
    this.dir = resolve(dir);
    mkdirSync(this.dir, { recursive: true });
    this.lock();
    for (const entry of readdirSync(this.dir)) {
      // A temp file is a write that never completed (crash between write and rename).
      if (entry.startsWith(TEMP_PREFIX)) rmSync(join(this.dir, entry), { force: true });
      const m = entry.match(NAME);
      if (m) this.seqs.push(Number(m[1]));
    }
    this.seqs.sort((a, b) => a - b);
    this.nextSeq = (this.seqs.at(-1) ?? 0) + 1;
  }

  /** Opens (creating if needed) the queue in `dir`. Only one process may have it open. */
  static open(dir: string, opts: { maxReports: number }): DurableQueue {
    return new DurableQueue(dir, opts.maxReports);
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

  get size(): number {
    return this.seqs.length;
  }

  /** Reserves the next sequence number: a report's place in the order, taken when it is built. */
  reserve(): number {
    return this.nextSeq++;
  }

  /** Stores a report under `seq` (from reserve()), dropping the oldest ones if the queue is full. */
  put(seq: number, body: unknown): PutResult {
    if (this.closed) throw new Error('queue is closed');
    const data = `${JSON.stringify(body)}\n`;
    const temp = join(this.dir, `${TEMP_PREFIX}${nameOf(seq)}`);
    const fd = openSync(temp, 'w');
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, join(this.dir, nameOf(seq)));
    fsyncDir(this.dir);
    // Usually the newest; a report that failed its direct send may slot in before later ones.
    let i = this.seqs.length;
    while (i > 0 && this.seqs[i - 1]! > seq) i--;
    if (this.seqs[i - 1] !== seq) this.seqs.splice(i, 0, seq);
    let dropped = 0;
    while (this.seqs.length > this.maxReports) {
      this.unlink(this.seqs.shift()!);
      dropped++;
    }
    this.droppedTotal += dropped;
    return { dropped };
  }

  /** The oldest report, or null. A file that cannot be read or parsed is removed and skipped. */
  peek(onCorrupt?: (seq: number, err: Error) => void): QueuedReport | null {
    while (this.seqs.length) {
      const seq = this.seqs[0]!;
      try {
        return { seq, body: JSON.parse(readFileSync(join(this.dir, nameOf(seq)), 'utf8')) };
      } catch (err) {
        onCorrupt?.(seq, err as Error);
        this.remove(seq);
      }
    }
    return null;
  }

  /** Removes a report once it was delivered (or is given up). */
  remove(seq: number): void {
    const i = this.seqs.indexOf(seq);
    if (i >= 0) this.seqs.splice(i, 1);
    this.unlink(seq);
  }

  private unlink(seq: number): void {
    try {
      unlinkSync(join(this.dir, nameOf(seq)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** Sequence numbers on disk, oldest first (for tests and status). */
  list(): number[] {
    return [...this.seqs];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    OPEN_DIRS.delete(this.dir);
    rmSync(join(this.dir, LOCK), { force: true });
  }
}
