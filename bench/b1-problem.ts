/**
 * A B1 problem, the unit of the quality suites: a continuous function (bench/quality-suite.ts) or
 * a mixed space (bench/mixed-suite.ts). B1 and PARALLEL both run them.
 */
import type { BoundsInput, ParamValue } from "../src/space/params.js";
import type { MixedParams, MixedSuiteProblem } from "./mixed-suite.js";
import type { SuiteProblem } from "./quality-suite.js";

/** A B1 problem: a continuous function or a mixed space. */
export type B1Problem = SuiteProblem | MixedSuiteProblem;

/** The name shown in the tables (and the key of the Optuna record). */
export function problemName(problem: B1Problem): string {
  return problem.kind === "continuous" ? problem.fn.name : problem.name;
}

/** A problem as a solver loop sees it: a search space, and the observed and noiseless values at a trial. */
export interface B1Objective {
  readonly name: string;
  readonly bounds: BoundsInput;
  readonly minimum: number;
  /** The value told to the solver, and the noiseless one the regret is measured on. */
  readonly evaluate: (params: Readonly<Record<string, ParamValue>>) => { value: number; truth: number };
}

/** `problem` as a {@link B1Objective}: a mixed space's params go to its objective as handed out. */
export function objectiveOf(problem: B1Problem): B1Objective {
  if (problem.kind === "mixed") {
    return {
      name: problem.name,
      bounds: problem.bounds,
      minimum: problem.minimum,
      evaluate: (params) => {
        const value = problem.evaluate(params as MixedParams);
        return { value, truth: value };
      },
    };
  }
  const { fn, truth } = problem;
  const x = new Float64Array(fn.dimension);
  return {
    name: fn.name,
    bounds: fn.bounds,
    minimum: fn.minimum,
    evaluate: (params) => {
      fn.names.forEach((name, i) => {
        x[i] = params[name] as number;
      });
      return { value: fn.at(x), truth: truth(x) };
    },
  };
}
