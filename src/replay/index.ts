/**
 * Deterministic replay and explanation of an engine's decision log.
 *
 * @packageDocumentation
 */

export { decodeNumbers, encodeNumbers, NUMBER_TAG } from "../log/json-numbers.js";
export { startingPoint } from "../log/last-run-end.js";
export {
  AUDIT_LOG_KIND,
  type AuditLogRecord,
  auditEventOf,
  auditLogRecord,
  ENGINE_LOG_FORMAT,
  type EngineLogHeader,
  type EngineLogHeaderOptions,
  engineHeaderOf,
  engineLogHeader,
} from "../log/log-records.js";
export { firstDifference } from "./compare.js";
export { digestToReplay } from "./digest-input.js";
export {
  type ExplainedWindow,
  type ExplainOptions,
  type Explanation,
  explain,
  renderExplanation,
  type WindowMeasure,
  type WindowRole,
} from "./explain.js";
export {
  type DecisionLogInput,
  describeGenerations,
  describeRuns,
  type GenerationRange,
  type LoggedFailure,
  ReplayInputError,
  type ReplayLog,
  type ReplayRun,
  readReplayLog,
} from "./read-log.js";
export {
  type MissingRecords,
  type ReplayDivergence,
  type ReplayEngine,
  type ReplayOptions,
  type ReplayResult,
  type ReplayRunResult,
  replay,
} from "./replay.js";
export {
  type ResumePoint,
  resumedConfig,
  resumePoint,
  resumePointAsync,
} from "./resume-point.js";
export { ReplayRunError } from "./run-choice.js";
export { ReplayClock } from "./virtual-clock.js";
