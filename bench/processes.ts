// CPU and memory of the system under test, from /proc: the receiver process(es) and, for
// PostgreSQL, the server's processes that work for this bench. A receiver that hands its work to
// PostgreSQL looks cheap if only its own CPU is counted; the bench counts both.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** CPU seconds (user + system, all threads) a process has used, or null when it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/**
 * Bytes a process has caused to be written to storage (write_bytes of /proc/<pid>/io, all its
 * threads), or null when it is gone or not readable. Unlike CPU time it does not depend on how
 * fast the machine runs: the figure to compare when a change is meant to write fewer pages.
 */
export function diskWriteBytes(pid: number): number | null {
  try {
    const m = /^write_bytes:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Peak resident memory of a process since it started (VmHWM), in bytes. */
export function peakRssBytes(pid: number): number | null {
  try {
    const m = /^VmHWM:\s*(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function cmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

// Background processes that write for every database (WAL, checkpoints, dirty pages): their work
// is part of what a report costs, though other users of the server add to it too.
const SHARED_PG = /^postgres: (?:[\w./-]+: )?(checkpointer|background writer|walwriter)\b/;

/**
 * CPU seconds of the PostgreSQL processes that work for `database`: its backends (their process
 * title names the database; autovacuum workers on it included) and, apart, the shared writers.
 * Backends of other databases (other users of the same server) are left out.
 */
export function postgresCpu(database: string): { own: Map<number, number>; shared: Map<number, number> } {
  const own = new Map<number, number>();
  const shared = new Map<number, number>();
  const ownTitle = new RegExp(`^postgres: (?:[\\w./-]+: )?(?:\\S+ ${database} |autovacuum worker ${database}\\b)`);
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = cmdline(pid);
    if (!cmd.startsWith('postgres:')) continue;
    const into = ownTitle.test(cmd) ? own : SHARED_PG.test(cmd) ? shared : null;
    const cpu = into && cpuSeconds(Number(pid));
    if (into && cpu !== null) into.set(Number(pid), cpu);
  }
  return { own, shared };
}

/** CPU used between two snapshots of the same processes; a process new in `after` counts from its start. */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
  return total;
}

const NO_PG = { own: new Map<number, number>(), shared: new Map<number, number>() };

/** The CPU of the system under test: receivers and, when given, PostgreSQL's processes for one database. */
export class CpuMeter {
  constructor(
    private readonly receiverPids: number[],
    private readonly pgDatabase?: string,
  ) {}

  snapshot(): { receivers: number; pg: ReturnType<typeof postgresCpu>; receiverDisk: number } {
    let receivers = 0;
    let receiverDisk = 0;
    for (const pid of this.receiverPids) {
      receivers += cpuSeconds(pid) ?? 0;
      receiverDisk += diskWriteBytes(pid) ?? 0;
    }
    return { receivers, pg: this.pgDatabase ? postgresCpu(this.pgDatabase) : NO_PG, receiverDisk };
  }

  /**
   * Bytes the receivers wrote to storage since `before` (SQLite: its WAL and the checkpoints
   * copying it into the database file). PostgreSQL's writes are the server's, shared with its
   * other databases, and left out.
   */
  diskSince(before: ReturnType<CpuMeter['snapshot']>): number {
    return this.snapshot().receiverDisk - before.receiverDisk;
  }

  /** Seconds of CPU since `before`: receivers, PostgreSQL in all, and of that the shared writers. */
  since(before: ReturnType<CpuMeter['snapshot']>): { receivers: number; pg: number; pgShared: number } {
    const now = this.snapshot();
    const pgShared = cpuDelta(before.pg.shared, now.pg.shared);
    return { receivers: now.receivers - before.receivers, pg: cpuDelta(before.pg.own, now.pg.own) + pgShared, pgShared };
  }

  peakRss(): number | null {
    const all = this.receiverPids.map(peakRssBytes).filter((v): v is number => v !== null);
    return all.length ? Math.max(...all) : null;
  }
}
