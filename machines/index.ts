/**
 * arqon's statecharts as pure definitions: importable on their own, with no side effects, so the
 * Stately editor, the VS Code extension and `xstate/graph` can load them.
 */
export { engineMachine } from "./engine.machine.js";
export { type HotPathEvent, type HotPathState, hotPathPlaceholder } from "./hot-path.logic.js";
export {
  type SolverClassification,
  type SolverMachineContext,
  type SolverMachineEvent,
  type StrategySetting,
  solverMachine,
} from "./solver.machine.js";
export { type SpsaMachineContext, type SpsaMachineEvent, spsaMachine } from "./spsa.machine.js";
