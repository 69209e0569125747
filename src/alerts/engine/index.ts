// The alert decision engine (pure: no I/O, no timers). See docs/alerts-engine.md.
export * from './types.js';
export { ENGINE_DEFAULTS, type EngineDefaults, type RateLimit } from './defaults.js';
export { AlertEngine, type AlertEngineConfig } from './engine.js';
export { SlidingWindowBudget, defaultLimitsFor, type ChannelBudget } from './budget.js';
export { route, ruleMatches, severityOf, subjectOf, groupKeyOf, validateRules, type RouteTarget } from './routing.js';
export { findSilence, silenceActiveAt, silenceEndsAt, silenceMatches, validateSilence } from './silences.js';
export { handledSubjects, subjectAlertStates, type SubjectAlertState } from './subject-state.js';
export { emptyState, parseState, serializeState, ENGINE_STATE_VERSION, type AlertEngineRepository, type AlertEngineState } from './state.js';
