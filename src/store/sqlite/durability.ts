// Durability of the SQLite store. SQLite writes each commit to the WAL without waiting for the
// disk (synchronous=NORMAL); nothing is acknowledged before the disk has it all the same: the
// WAL is fdatasynced here, off the event loop, before the writes a commit holds are answered.
// Commits are numbered; one sync covers every commit numbered before it started.
// Also here: the lock that keeps one process per database file.
import { closeSync, fdatasync, fdatasyncSync, fstatSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * One process per SQLite file: what the store keeps in memory (`known`, leadership, live
 * messages) is only right if no other process writes the file. The lock is an exclusive lock on
 * a small file beside it, held for the life of the store (the OS drops it if the process dies);
 * the database itself stays open to readers such as the sqlite3 shell.
 */
export function lockForThisProcess(file: string): Database.Database {
  const lock = new Database(`${file}.lock`, { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE; COMMIT');
    return lock;
  } catch (e) {
    lock.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY') {
      throw new Error(
        `${file} is in use by another devstatus process: one receiver per SQLite file (several receivers need PostgreSQL, DATABASE_URL)`,
      );
    }
    throw e;
  }
}

interface SyncWaiter {
  /** The commit this waiter needs on disk. */
  seq: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class WalSync {
  private fd: number | null = null;
  private commitSeq = 0;
  // One sync at a time: a second one started meanwhile would only queue behind it in the disk.
  private inFlight = false;
  /** Highest commit known to be on disk. */
  private syncedUpTo = 0;
  private waiters: SyncWaiter[] = [];
  /** Set when an fdatasync failed: after that the kernel may have dropped the unsynced data, so
   * nothing more is accepted (as PostgreSQL does on an fsync failure). */
  private storageFailure: Error | null = null;

  /**
   * @param walPath the WAL file, or null for a database that is not on disk
   * @param afterSync called after each sync has resolved the writes it covered
   */
  constructor(
    private readonly walPath: string | null,
    private readonly afterSync: () => void,
  ) {
    if (walPath) {
      // Whatever the migrations (or an earlier, crashed run) left in the WAL goes to disk first.
      this.fd = openSync(walPath, 'r');
      fdatasyncSync(this.fd);
    }
  }

  /** True while a sync is under way. */
  get syncing(): boolean {
    return this.inFlight;
  }

  /** The error that stopped the store from accepting writes, if any. */
  get failure(): Error | null {
    return this.storageFailure;
  }

  /**
   * Resolves once everything committed so far is on disk. Call it right after a commit, before
   * telling anyone the write happened.
   */
  durable(): Promise<void> {
    return this.synced(++this.commitSeq);
  }

  /**
   * Resolves once everything committed so far is on disk. Reads wait for it: what the API shows
   * can no longer be lost, and its alerts and live updates are on their way.
   */
  settled(): Promise<void> {
    return this.synced(this.commitSeq);
  }

  /** A write's result, handed over once the write is on disk (if it wrote anything). */
  async afterCommit<T>(result: T, wrote: (result: T) => boolean): Promise<T> {
    if (wrote(result)) await this.durable();
    return result;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private synced(seq: number): Promise<void> {
    if (this.storageFailure) return Promise.reject(this.storageFailure);
    if (this.fd === null || seq <= this.syncedUpTo) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
      this.startSync();
    });
  }

  private fail(err: Error): void {
    this.storageFailure = new Error(`the database's write-ahead log could not be synced to disk: ${err.message}`);
    for (const w of this.waiters) w.reject(this.storageFailure);
    this.waiters = [];
  }

  private startSync(): void {
    if (this.inFlight || this.commitSeq <= this.syncedUpTo || this.fd === null) return;
    let fd = this.fd;
    try {
      // The WAL is only deleted when the last connection closes, and this one is open; should it
      // be gone all the same, its content was checkpointed into the main file (SQLite syncs that
      // file after a checkpoint), and the new WAL is the one to sync from now on.
      if (fstatSync(fd).nlink === 0) {
        closeSync(fd);
        fd = this.fd = openSync(this.walPath!, 'r');
      }
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    const upTo = this.commitSeq;
    this.inFlight = true;
    fdatasync(fd, (err) => {
      this.inFlight = false;
      if (err) {
        this.fail(err);
        return;
      }
      this.syncedUpTo = upTo;
      const done: SyncWaiter[] = [];
      const later: SyncWaiter[] = [];
      for (const w of this.waiters) (w.seq <= upTo ? done : later).push(w);
      this.waiters = later;
      for (const w of done) w.resolve();
      this.afterSync();
      this.startSync();
    });
  }
}
