/** What one probe of one sub-device found. `detail` is for logs and `report --once`. */
export interface ProbeResult {
  online: boolean;
  detail: string;
}

export interface ProbeOptions {
  /** The whole probe (connect, requests, answers) must finish within this. */
  timeoutMs: number;
}

/** Readable text for a socket / fs error (code first: it is what operators search for). */
export function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && e.code) return `${e.code}${e.message && !e.message.includes(e.code) ? ` (${e.message})` : ''}`.trim();
  return err instanceof Error ? err.message : String(err);
}

export class ProbeTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'ProbeTimeout';
  }
}
