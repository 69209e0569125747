// file sub-devices (a local video file the box analyses): online when it is a readable regular file.
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { describeError, type ProbeOptions, type ProbeResult } from './types.js';

export interface FileTarget {
  path: string;
}

async function check(path: string): Promise<ProbeResult> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    return { online: false, detail: `${path}: ${describeError(err)}` };
  }
  if (!info.isFile()) return { online: false, detail: `${path}: not a regular file` };
  // Opening is the real test of readability (access() says yes to root for anything).
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    await handle.close();
  } catch (err) {
    return { online: false, detail: `${path}: not readable: ${describeError(err)}` };
  }
  return { online: true, detail: `${path}: readable file, ${info.size} bytes` };
}

export function probe(target: FileTarget, opts: ProbeOptions): Promise<ProbeResult> {
  // A hung network mount must not stall the whole round.
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => resolve({ online: false, detail: `${target.path}: no answer from the file system within ${opts.timeoutMs} ms` }),
      opts.timeoutMs,
    );
    void check(target.path).then((r) => {
      clearTimeout(timer);
      resolve(r);
    });
  });
}
