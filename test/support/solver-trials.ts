import type { ParamShape, Params, Solver } from "../../src/index.js";

/** Asks `solver` for `trials` trials one at a time, tells each `objective`, returns their params. */
export function runTrials<P extends ParamShape>(
  solver: Solver<P>,
  trials: number,
  objective: (params: Params<P>) => number,
): Params<P>[] {
  const seen: Params<P>[] = [];
  for (let k = 0; k < trials; k++) {
    const trial = solver.ask({ max: 1 })![0]!;
    seen.push(trial.params);
    solver.tell({ id: trial.id, value: objective(trial.params) });
  }
  return seen;
}
