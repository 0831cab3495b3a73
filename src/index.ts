/**
 * arqon: tune the knobs of live systems from their telemetry, fast and safely.
 *
 * - Solver: `createSolver` / `minimize` — ask/tell black-box minimisation within a budget.
 * - Engine: `createEngine` — online SPSA tuning of a live system behind a Tier-1 safety executor
 *   and SafeMode; `fromEngine` / `createSupervisor` to run engines as actors; `engineSnapshots`.
 * - Decision log, `replay`, `explain`, dashboard: `arqon/node` (they use the file system).
 * @packageDocumentation
 */

export type { SafeModeName, SafeModeReason } from "../machines/safe-mode-reasons.js";
export type { SolverClassification } from "../machines/solver.machine.js";
export type { SpsaStateName } from "../machines/spsa.machine.js";
/* Engine */
export type { ApplyKindName } from "./audit/apply-kind.js";
export type { DigestCheckName } from "./audit/digest-rejection.js";
export type { AuditEvent, AuditEventType, AuditModeName, AuditModeReasonName } from "./audit/events.js";
export type { RollbackReasonName } from "./audit/rollback-reason.js";
export type { EngineConfig, ParamSpecInput, ResolvedEngineConfig, WindowConfig } from "./engine/config.js";
export { engineConfigIssues, MAX_PARAMS } from "./engine/config.js";
export type { Digest } from "./engine/digest.js";
export { createEngine, type DigestVerdict, Engine, type EngineSnapshot } from "./engine/engine.js";
export {
  type EngineCommand,
  EngineFailedError,
  type EngineNotification,
  engineOf,
  type FromEngineOptions,
  fromEngine,
} from "./engine/from-engine.js";
export type { BreakerState, EngineBreakerStates } from "./engine/safety/guarded-callback.js";
export type { HomeostasisOptions } from "./engine/safety/homeostasis-cache.js";
export type { RegimeDetectorOptions } from "./engine/safety/regime-detector.js";
export type { SafetyOptions } from "./engine/safety/safety-config.js";
export { type EngineSnapshotsOptions, engineSnapshots, SNAPSHOT_EVERY_MS } from "./engine/snapshots.js";
export type { SpsaOptions } from "./engine/spsa/options.js";
export {
  createSupervisor,
  type SpawnListener,
  Supervisor,
  type SupervisorOptions,
} from "./engine/supervisor.js";
/* Errors */
export {
  CommandRefusedError,
  ConfigError,
  type ConfigIssue,
  type ResultIssue,
  ResultsRejectedError,
  UsageError,
} from "./errors.js";
export type { GuardrailPreset, Guardrails, GuardrailsInput } from "./hotpath/guardrails.js";
export { readShared, type SharedLiveConfigHandle } from "./hotpath/shared-live-config.js";
/* Decision-log records (replay and explain, which read logs from disk, are in `arqon/node`) */
export {
  type AuditLogRecord,
  auditLogRecord,
  type EngineLogHeader,
  engineLogHeader,
} from "./log/log-records.js";
export {
  checkTrailOffline,
  type EngineMonitor,
  type MonitorEngineOptions,
  monitorEngine,
  SAFETY_PROPERTIES,
  SafetyMonitor,
  type SafetyPropertyId,
  type SafetyReport,
  type SafetySpec,
  type SafetyViolation,
  safetySpecOf,
} from "./monitor/index.js";
/* Solver */
export {
  type AshaPrunerConfig,
  type MedianPrunerConfig,
  type PercentilePrunerConfig,
  type PrunerConfig,
  type ResolvedPrunerConfig,
  type ResolvedSolverConfig,
  type SolverBoundInput,
  type SolverConfig,
  solverConfigIssues,
  type ThresholdPrunerConfig,
} from "./solver/config.js";
export {
  type EffectFailure,
  type EffectObjective,
  type MinimizeOptions,
  type MinimizeResult,
  minimize,
  minimizeEffect,
  type Objective,
  type ObjectiveContext,
  type TrialFailure,
  type TrialOutcome,
} from "./solver/minimize.js";
export {
  type AskOptions,
  type BestPoint,
  createSolver,
  type FailOptions,
  type IntermediateValue,
  type PrunedResult,
  restoreSolver,
  Solver,
  type SolverArtifact,
  type SolverPhase,
  type Told,
  type Trial,
  type TrialResult,
  type TrialStatus,
  type WarmStartPoint,
} from "./solver/solver.js";
export { SOLVER_RULES } from "./solver/solver-rules.js";
export type { StrategyName } from "./solver/strategy.js";
export { TrialPruned } from "./solver/trial-pruned.js";
export type { ParamSpec } from "./space/param-registry.js";

/* Parameter space */
export type {
  BoundsInput,
  CategoricalParamInput,
  Condition,
  FloatParamInput,
  IntParamInput,
  JsonValue,
  ParamInput,
  ParamObject,
  ParamShape,
  Params,
  ParamsOf,
  ParamValue,
} from "./space/params.js";
export type { Bound, Scale } from "./space/scale.js";
