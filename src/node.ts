/**
 * arqon's Node-only parts (`arqon/node`): the durable decision log, `replay` and `explain` of a
 * logged run, and the local dashboard server. They use `node:fs` and `node:http`, so they live outside the
 * core entry, which runs in browsers too.
 *
 * @packageDocumentation
 */

export type { DashboardOptions, DashboardServer } from "./dashboard/server.js";
export { serveDashboard } from "./dashboard/server.js";
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
  type ReplayDivergence,
  type ReplayOptions,
  type ReplayResult,
  type ReplayRunResult,
  replay,
} from "./replay/replay.js";
export { ReplayRunError } from "./replay/run-choice.js";
