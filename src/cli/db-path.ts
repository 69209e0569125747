// Says what is wrong with a SQLite database path, naming the path, instead of SQLite's
// "unable to open database file" or a bare ENOTDIR.
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** What keeps `file` from being opened, when the path itself says so; else undefined. */
export function dbPathProblem(file: string): string | undefined {
  const abs = resolve(file);
  const dir = dirname(abs);
  // The nearest ancestor that exists: the receiver creates what is missing below it.
  let existing = dir;
  while (statOrNull(existing) === null && dirname(existing) !== existing) existing = dirname(existing);
  const ancestor = statOrNull(existing);
  if (ancestor && !ancestor.isDirectory()) {
    return `${existing} is a file, not a directory`;
  }
  if (existing !== dir) {
    return writable(existing) ? `directory ${dir} does not exist` : `directory ${dir} does not exist and ${existing} is not writable`;
  }
  const target = statOrNull(abs);
  if (target?.isDirectory()) return `${abs} is a directory`;
  if (!target && !writable(dir)) return `directory ${dir} is not writable`;
  if (target && !writable(abs)) return `${abs} is not writable`;
  return undefined;
}

export function dbOpenError(file: string, err: unknown): Error {
  const reason = dbPathProblem(file) ?? (err instanceof Error ? err.message : String(err));
  return new Error(`cannot open SQLite database ${resolve(file)}: ${reason}`, { cause: err });
}
