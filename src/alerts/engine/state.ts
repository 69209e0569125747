// What the engine must keep across a restart, and the small repository the stores implement.
// Rules and silences are configuration (stored on their own) and not part of the snapshot.
import type { FlapState } from './flapping.js';
import type { GrouperState } from './grouping.js';
import type { EngineOutput, Problem, SubjectKey } from './types.js';

export const ENGINE_STATE_VERSION = 1;

export interface AlertEngineState {
  version: typeof ENGINE_STATE_VERSION;
  problems: Record<SubjectKey, Problem>;
  flaps: Record<SubjectKey, FlapState>;
  grouper: GrouperState;
  /** Send times per channel of the built-in rate-limit budget. */
  budget: Record<string, number[]>;
  /**
   * What the caller passed with the last ingest (e.g. the last history id): after a restart,
   * feed the transitions after it again, so the snapshot need not be saved on every report.
   */
  cursor?: string | null;
}

export function emptyState(): AlertEngineState {
  return { version: ENGINE_STATE_VERSION, problems: {}, flaps: {}, grouper: { groups: {}, seq: {}, holds: {} }, budget: {} };
}

export function serializeState(s: AlertEngineState): string {
  return JSON.stringify(s);
}

export function parseState(text: string): AlertEngineState {
  const s = JSON.parse(text) as Partial<AlertEngineState>;
  if (s.version !== ENGINE_STATE_VERSION) {
    throw new Error(`alert engine state has version ${String(s.version)}, this build reads version ${ENGINE_STATE_VERSION}`);
  }
  if (!s.problems || !s.flaps || !s.grouper || !s.budget) throw new Error('alert engine state is incomplete');
  return s as AlertEngineState;
}

/**
 * What a store implements so nothing is lost on a restart: the state after a step and that
 * step's output (notifications to deliver, suppressed events to show) are saved in ONE
 * transaction, so after a crash either both or neither are there.
 */
export interface AlertEngineRepository {
  loadEngineState(): Promise<AlertEngineState | null>;
  saveEngineStep(state: AlertEngineState, output: EngineOutput): Promise<void>;
}
