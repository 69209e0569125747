// Helpers for the agent tests: the real receiver on a chosen loopback port (so it can be down
// and come back at the same address), agent configs in temp dirs, the agent as a child process.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { FastifyInstance } from 'fastify';
import type { Report } from '../../src/protocol/index.js';
import { buildServer, type ServerOptions } from '../../src/server/app.js';
import { FleetEvents } from '../../src/server/events.js';
import { SqliteStore } from '../../src/store/index.js';
import { runCli, type CliProcess } from './cli.js';

export interface Receiver {
  url: string;
  /** Every report the receiver stored, in the order it stored them. */
  reports: Report[];
  app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * The real receiver (Fastify + SQLite) listening on 127.0.0.1:`port` (0: any free port); `opts`
 * adds receiver options (e.g. reportPeriodS, the period boxes are told at login).
 */
export async function startReceiverOn(port: number, dbDir: string, opts: Partial<Omit<ServerOptions, 'store' | 'events'>> = {}): Promise<Receiver> {
  const store = new SqliteStore({ file: join(dbDir, `receiver-${Date.now()}-${Math.random().toString(36).slice(2)}.db`) });
  const events = new FleetEvents();
  const reports: Report[] = [];
  // Every body parsed (no repeat cache), so that each stored report comes with its report.
  events.on('report', (stored) => reports.push(stored.report!));
  const app = await buildServer({ store, events, repeatCacheBytes: 0, ...opts });
  const url = await app.listen({ host: '127.0.0.1', port });
  return {
    url,
    reports,
    app,
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}

export function tempDir(prefix = 'devstatus-agent-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeConfig(dir: string, config: Record<string, unknown>, name = 'agent.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, stringify(config));
  return file;
}

/** `devstatus agent` as a real child process, with debug logs (every report sent or queued). */
export async function startAgent(configFile: string): Promise<CliProcess> {
  const proc = runCli(['agent', '--config', configFile, '--log-level', 'debug']);
  await proc.waitFor(/devstatus agent started/);
  return proc;
}

/** The JSON log lines of an agent process. */
export function logLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export interface AgentStats {
  rounds: number;
  delivered: number;
  queued: number;
  rejected: number;
  dropped: number;
  left_in_queue: number;
  /** With login_url: logins that succeeded and that failed. */
  logins?: number;
  login_failures?: number;
}

/** The counters the agent logs when it stops (after SIGTERM). */
export function stoppedStats(output: string): AgentStats {
  const line = logLines(output).find((l) => l.msg === 'devstatus agent stopped');
  if (!line) throw new Error(`agent did not log its stop:\n${output}`);
  return line as unknown as AgentStats;
}

export async function waitUntil(what: string, check: () => boolean, timeoutMs = 15_000, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
