// What both stores' group commit works with: a report waiting for the batch it will be written in.
import type { Report } from '../protocol/index.js';
import type { IngestOptions, IngestResult, RegistryMode } from './types.js';

export interface PendingReport {
  report: Report;
  receivedAt: number;
  mode: RegistryMode;
  /** The bytes the report was parsed from, when the caller passed them (see IngestOptions). */
  source: Uint8Array | undefined;
  resolve: (r: IngestResult) => void;
  reject: (e: unknown) => void;
}

/** A report waiting for its batch, with its registry mode defaulted (open). */
export function pendingReport(
  report: Report,
  receivedAt: number,
  opts: IngestOptions,
  resolve: (r: IngestResult) => void,
  reject: (e: unknown) => void,
): PendingReport {
  return { report, receivedAt, mode: opts.registryMode ?? 'open', source: opts.source, resolve, reject };
}

export const storeClosed = () => new Error('store is closed');

export const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));
