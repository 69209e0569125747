// The CLI's logs: JSON lines for log collectors, or readable lines with local time at a terminal.
import { pino, type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface CliLogOptions {
  logLevel: string;
  /** Default: pretty when stdout is a terminal, JSON lines otherwise. */
  logFormat?: LogFormat;
}

/** Synchronous either way: nothing is lost when the process exits right after a line. */
export async function createCliLogger(opts: CliLogOptions): Promise<Logger> {
  const format = opts.logFormat ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const base = { level: opts.logLevel, base: { pid: process.pid } };
  if (format === 'json') return pino(base, pino.destination({ dest: 1, sync: true }));
  // Loaded only when asked for: JSON logging does not pay for it.
  const { default: pretty } = await import('pino-pretty');
  const stream = pretty({
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname',
    sync: true,
  });
  return pino(base, stream);
}
