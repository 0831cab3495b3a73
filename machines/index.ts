/**
 * arqon's statecharts as pure definitions: importable on their own, with no side effects, so the
 * Stately editor, the VS Code extension and `xstate/graph` can load them.
 */
export {
  type SolverClassification,
  type SolverMachineContext,
  type SolverMachineEvent,
  type StrategySetting,
  solverMachine,
} from "./solver.machine.js";
