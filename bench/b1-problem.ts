/**
 * A B1 problem, the unit of the quality suites: a continuous function (bench/quality-suite.ts) or
 * a mixed space (bench/mixed-suite.ts). B1 and PARALLEL both run them.
 */
import type { MixedSuiteProblem } from "./mixed-suite.js";
import type { SuiteProblem } from "./quality-suite.js";

/** A B1 problem: a continuous function or a mixed space. */
export type B1Problem = SuiteProblem | MixedSuiteProblem;

/** The name shown in the tables (and the key of the Optuna record). */
export function problemName(problem: B1Problem): string {
  return problem.kind === "continuous" ? problem.fn.name : problem.name;
}
