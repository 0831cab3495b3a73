/**
 * arqon's statecharts as pure definitions: importable on their own, with no side effects, so the
 * Stately editor, the VS Code extension and `xstate/graph` can load them.
 */
export {
  CIRCUIT_BREAKER_DEFAULTS,
  type CircuitBreakerContext,
  type CircuitBreakerEmitted,
  type CircuitBreakerEvent,
  type CircuitBreakerOptions,
  circuitBreakerMachine,
  circuitBreakerOptionProblems,
  resolveCircuitBreakerOptions,
} from "./circuit-breaker.machine.js";
export { engineMachine } from "./engine.machine.js";
export { type HotPathEvent, type HotPathState, hotPathPlaceholder } from "./hot-path.logic.js";
export type { OptionProblem } from "./option-problem.js";
export {
  type ResolvedSafeModeOptions,
  resolveSafeModeOptions,
  SAFE_MODE_DEFAULTS,
  SAFE_MODE_MAX_HEALTHY_WINDOWS,
  type SafeModeChanged,
  type SafeModeContext,
  type SafeModeEvent,
  type SafeModeOptions,
  safeModeMachine,
  safeModeOptionProblems,
} from "./safe-mode.machine.js";
export {
  SAFE_MODE_LEVEL,
  SAFE_MODE_REASON_NAMES,
  SAFE_MODE_REASONS,
  SAFE_MODES,
  type SafeModeLevel,
  type SafeModeName,
  type SafeModeReason,
} from "./safe-mode-reasons.js";
export {
  type SolverClassification,
  type SolverMachineContext,
  type SolverMachineEvent,
  type StrategySetting,
  solverMachine,
} from "./solver.machine.js";
export {
  type SpsaMachineContext,
  type SpsaMachineEvent,
  type SpsaMachineInput,
  type SpsaStateName,
  spsaMachine,
} from "./spsa.machine.js";
