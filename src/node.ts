/**
 * arqon's Node-only parts (`arqon/node`): the durable decision log, `replay` and `explain` of a
 * logged run, the local dashboard server (`serveDashboard` for an engine, a supervisor's engine, a
 * recording or a fleet coordinator; `serveStudy` for a solver's study). They use `node:fs` and `node:http`, so they live outside the
 * core entry, which runs in browsers too.
 *
 * @packageDocumentation
 */

export type {
  DashboardInput,
  EngineInput,
  FleetInput,
  LogInput,
  SupervisorInput,
} from "./dashboard/dashboard-input.js";
export { type DashboardEngine, type EngineSourceOptions, engineSource } from "./dashboard/engine-source.js";
export { type DashboardCoordinator, type FleetSourceOptions, fleetSource } from "./dashboard/fleet-source.js";
export {
  DEFAULT_STALE_AFTER_MS,
  type FleetObserved,
  type FleetReplicaRow,
  type FleetView,
  fleetView,
  type ObservedFleet,
  type ReplicaState,
} from "./dashboard/fleet-view.js";
export {
  type FollowedRecording,
  type FollowRecordingOptions,
  followRecording,
} from "./dashboard/followed-source.js";
export type { MeasuredBaseline } from "./dashboard/measured-baseline.js";
export { RecordingError, recordedSource } from "./dashboard/recorded-source.js";
export type { DashboardErrorSite, DashboardOptions, DashboardServer } from "./dashboard/server.js";
export { serveDashboard } from "./dashboard/server.js";
export {
  ControlRefusedError,
  type DashboardControl,
  type DashboardSource,
  type DashboardUnits,
  type DashboardView,
  type TwinPoint,
} from "./dashboard/source.js";
export { readStudy, type Study, StudyError, type StudyTrial, studyOf } from "./dashboard/study.js";
export { type StudyServer, type StudyServerOptions, serveStudy } from "./dashboard/study-server.js";
export { DECISION_RULES } from "./engine/decision-rules.js";
export * from "./log/index.js";
export { type ExplainOptions, type Explanation, explain, renderExplanation } from "./replay/explain.js";
export {
  type DecisionLogInput,
  type GenerationRange,
  ReplayInputError,
  type ReplayLog,
  type ReplayRun,
  readReplayLog,
} from "./replay/read-log.js";
export {
  type MissingRecords,
  type ReplayDivergence,
  type ReplayOptions,
  type ReplayResult,
  type ReplayRunResult,
  replay,
} from "./replay/replay.js";
export {
  type ResumePoint,
  resumedConfig,
  resumePoint,
  resumePointAsync,
} from "./replay/resume-point.js";
export { ReplayRunError } from "./replay/run-choice.js";
