// WAL checkpoints off the event loop. SQLite's own (wal_autocheckpoint) run inside a commit on
// the connection that commits, here the thread that serves reports: copying thousands of pages
// into the database file and fsyncing it stalled every report for tens of milliseconds (the p99
// of a storm). The store turns them off and this worker thread, with a connection of its own,
// checkpoints instead (PASSIVE: it never waits for, nor blocks, the writer). Once a checkpoint
// has copied the whole WAL, the writer's next commit starts the WAL over from its beginning, so
// the file stays as large as a few checkpoints' worth of commits. That needs a checkpoint to end
// between two commits; when commits follow each other too closely for that (a storm, the first
// reports of a whole fleet) and the WAL grows past WAL_FRAMES_LIMIT, the writer holds its next
// batch and the worker copies what is left at once; the batch then commits and the WAL starts
// over (see holdWrites). The reports wait for that, but the thread serving them stays free: when
// the writer copied it itself, each time stalled every report for 25-45 ms (a 10k storm, 2.5 times
// a second).
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { Worker } from 'node:worker_threads';

/** How often the worker looks at the WAL's length (ms). */
const POLL_MS = 10;

/**
 * WAL frames (pages) written since the last checkpoint that make the next one: SQLite's own
 * default. Checkpointing after every few commits instead doubled the fsyncs the disk had to do
 * and slowed the WAL syncs every answer waits for (a fleet at rest lost a third of its reports/s).
 */
const FRAMES_PER_CHECKPOINT = 1000;

/** A WAL with fewer frames than that is copied all the same after this long (ms), then restarts. */
const QUIET_CHECKPOINT_MS = 1000;

/** WAL frames (pages) past which the writer holds for a checkpoint (see holdWrites): 8192 pages, 32 MiB. */
const WAL_FRAMES_LIMIT = 8192;

/** The longest the writer holds its batches for the worker; then it copies the rest itself. */
const HOLD_MAX_MS = 250;

/**
 * The worker's code, CommonJS in a string: a worker is started from a file or from code, and a
 * file next to this one would be .ts under tsx (which workers cannot load) and .js once built.
 */
const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
// NORMAL: the checkpoint syncs the WAL before copying it and the database file after, so the
// WAL may be started over without losing anything on a power cut.
db.pragma('synchronous = NORMAL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
// The WAL's length in frames (mxFrame) is in the wal-index header, at byte 16 of the -shm file,
// in the machine's byte order (https://sqlite.org/walformat.html): read without taking a lock,
// as a hint of when to checkpoint, nothing more.
const fs = require('node:fs');
const shm = fs.openSync(workerData.file + '-shm', 'r');
const header = new Uint32Array(1);
const framesInWal = () => (fs.readSync(shm, header, 0, 4, 16) === 4 ? header[0] : 0);
// Frames in the WAL when last looked at, for the writer to read (see catchUp).
const walFrames = new Int32Array(workerData.walFrames);
let copied = 0;
let copiedAt = Date.now();
let stopping = false;
// The writer holds its batches until the WAL is copied whole (see holdWrites).
let hurry = false;
let timer = null;
parentPort.on('message', (m) => {
  if (m === 'stop') stopping = true;
  if (m === 'hurry') {
    hurry = true;
    clearTimeout(timer);
    step();
  }
});
function step() {
  if (stopping) {
    fs.closeSync(shm);
    db.close();
    parentPort.postMessage({ stopped: true });
    return;
  }
  try {
    const frames = framesInWal();
    Atomics.store(walFrames, 0, frames);
    // Fewer frames than copied: the writer has started the WAL over.
    if (frames < copied) copied = 0;
    const due = hurry || frames - copied >= workerData.framesPerCheckpoint || (frames > copied && Date.now() - copiedAt >= workerData.quietMs);
    if (due) {
      const r = checkpoint.get();
      if (r.busy === 0) copied = r.checkpointed;
      copiedAt = Date.now();
      if (hurry && r.busy === 0 && r.checkpointed === r.log) {
        // All copied: the writer's next commit starts the WAL over.
        hurry = false;
        Atomics.store(walFrames, 0, 0);
        parentPort.postMessage({ caughtUp: true });
      }
    }
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.message) || e) });
  }
  timer = setTimeout(step, hurry ? 1 : workerData.pollMs);
}
step();
`;

export class WalCheckpointer {
  private readonly worker: Worker;
  /** Frames in the WAL when the worker last looked. */
  private readonly walFrames = new Int32Array(new SharedArrayBuffer(4));
  private stopped: Promise<void>;
  /** The writer's batches wait for the worker to copy the WAL whole: who to wake, and the fallback's timer. */
  private held: { resume: () => void; timer: NodeJS.Timeout } | null = null;
  /** The last error a checkpoint gave (the next one is tried all the same). */
  lastError: string | null = null;

  constructor(file: string) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const workerData = {
      file,
      driver,
      pollMs: POLL_MS,
      framesPerCheckpoint: FRAMES_PER_CHECKPOINT,
      quietMs: QUIET_CHECKPOINT_MS,
      walFrames: this.walFrames.buffer,
    };
    this.worker = new Worker(WORKER_CODE, { eval: true, workerData });
    // Never what keeps the process alive.
    this.worker.unref();
    this.stopped = new Promise((resolve) => {
      this.worker.on('message', (m: { stopped?: boolean; error?: string; caughtUp?: boolean }) => {
        if (m.error) this.lastError = m.error;
        if (m.caughtUp) this.release();
        if (m.stopped) resolve();
      });
      this.worker.on('error', (e) => {
        this.lastError = e.message;
        resolve();
      });
      this.worker.on('exit', () => resolve());
    });
  }

  /**
   * Called by the writer before each batch: true while it must hold its batches, because the WAL
   * has grown past WAL_FRAMES_LIMIT (no checkpoint ended between two commits). The worker then
   * copies the rest of the WAL at once, and `resume` is called once it has: the next commit
   * starts the WAL over. After HOLD_MAX_MS (a worker that cannot finish: a long read holding old
   * pages) the writer copies what is left itself (PASSIVE, on its own connection) and goes on.
   */
  holdWrites(db: Database.Database, resume: () => void): boolean {
    if (this.held) return true;
    if (Atomics.load(this.walFrames, 0) < WAL_FRAMES_LIMIT) return false;
    const timer = setTimeout(() => {
      try {
        db.pragma('wal_checkpoint(PASSIVE)');
      } catch (e) {
        // The reports are not the checkpoint's: they are written all the same.
        this.lastError = (e as Error).message;
      }
      Atomics.store(this.walFrames, 0, 0);
      this.release();
    }, HOLD_MAX_MS);
    this.held = { resume, timer };
    this.worker.postMessage('hurry');
    return true;
  }

  private release(): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    clearTimeout(held.timer);
    held.resume();
  }

  /** Ends the worker after the checkpoint under way (its connection closed). */
  async stop(): Promise<void> {
    this.release();
    this.worker.postMessage('stop');
    await this.stopped;
    await this.worker.terminate();
  }
}
