/**
 * `reportsUndo`: what a shared study keeps, instead of the whole solver, to take back a report
 * whose append did not land. Taking reports back must leave the solver, its pruner included,
 * exactly as if they had never been made: the same artifact, and the same verdicts on what follows.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SolverConfig } from "../src/solver/config.js";
import { createSolver, reportsUndo, restoreSolver, type Solver } from "../src/solver/solver.js";

const PRUNERS = {
  asha: { kind: "asha", minResource: 1, reductionFactor: 2 },
  median: { kind: "median", startupTrials: 1, warmupSteps: 0 },
  percentile: { kind: "percentile", percentile: 30, startupTrials: 1, intervalSteps: 2, minTrials: 2 },
  threshold: { kind: "threshold", lower: -8, upper: 5, intervalSteps: 2 },
} as const;

/** Eight trials asked at once (all in the probe). */
const config = (pruner: keyof typeof PRUNERS): SolverConfig => ({
  seed: 5,
  budget: 8,
  probeRatio: 1,
  bounds: { x: { min: 0, max: 1 } },
  pruner: PRUNERS[pruner],
});

/** One report or result: trial index (0..7), a step increment, a value, and whether it ends the trial. */
const operation = fc.record({
  trial: fc.integer({ min: 0, max: 7 }),
  stepIncrement: fc.integer({ min: 1, max: 3 }),
  value: fc.double({ min: -10, max: 10, noNaN: true }),
  tell: fc.boolean(),
});
type Operation = typeof operation extends fc.Arbitrary<infer O> ? O : never;

/** Plays `operations` on `solver` (skipping ones on trials already ended); returns the verdicts. */
function play(solver: Solver, ids: readonly number[], operations: readonly Operation[]): boolean[] {
  const verdicts: boolean[] = [];
  for (const op of operations) {
    const id = ids[op.trial]!;
    if (solver.trialStatus(id) !== "pending") continue;
    if (op.tell) {
      solver.tell({ id, value: op.value });
      continue;
    }
    const last = solver.intermediateValues(id).at(-1)?.step ?? 0;
    solver.report(id, last + op.stepIncrement, op.value);
    verdicts.push(solver.shouldPrune(id));
  }
  return verdicts;
}

describe("reportsUndo", () => {
  for (const pruner of ["asha", "median", "percentile", "threshold"] as const) {
    it(`takes reports back as if never made, verdicts of the ${pruner} pruner included`, () => {
      fc.assert(
        fc.property(
          fc.array(operation, { maxLength: 30 }),
          fc.integer({ min: 0, max: 7 }),
          fc.array(
            fc.record({
              stepIncrement: fc.integer({ min: 1, max: 3 }),
              value: fc.double({ min: -10, max: 10, noNaN: true }),
            }),
            { minLength: 1, maxLength: 4 },
          ),
          fc.array(operation, { maxLength: 20 }),
          (before, target, taken, after) => {
            const undone = createSolver(config(pruner));
            const never = createSolver(config(pruner));
            const ids = undone.ask({ max: 8 })!.map((t) => t.id);
            never.ask({ max: 8 });
            play(undone, ids, before);
            play(never, ids, before);
            const id = ids[target]!;
            const undo = reportsUndo(undone, id);
            if (undone.trialStatus(id) !== "pending") {
              expect(undo).toBeUndefined();
              return;
            }
            play(
              undone,
              ids,
              taken.map((t) => ({ ...t, trial: target, tell: false })),
            );
            undo!(undone);
            expect(undone.toJSON()).toEqual(never.toJSON());
            expect(play(undone, ids, after)).toEqual(play(never, ids, after));
            expect(undone.toJSON()).toEqual(never.toJSON());
          },
        ),
        { seed: 13, numRuns: 300 },
      );
    });
  }

  it("applies to a solver restored from the state after the reports, as a reader's view is made", () => {
    const solver = createSolver(config("asha"));
    const [trial] = solver.ask()!;
    solver.report(trial!.id, 1, 2);
    const undo = reportsUndo(solver, trial!.id)!;
    const before = solver.toJSON();
    solver.report(trial!.id, 2, 1);
    solver.report(trial!.id, 4, 0.5);
    const view = restoreSolver(solver.toJSON());
    undo(view);
    expect(view.toJSON()).toEqual(before);
    expect(view.intermediateValues(trial!.id)).toEqual([{ step: 1, value: 2 }]);
    // The solver it was taken from is untouched.
    expect(solver.intermediateValues(trial!.id)).toHaveLength(3);
  });

  it("is undefined for a trial that is not pending", () => {
    const solver = createSolver(config("median"));
    const [trial] = solver.ask()!;
    solver.tell({ id: trial!.id, value: 1 });
    expect(reportsUndo(solver, trial!.id)).toBeUndefined();
    expect(reportsUndo(solver, 99)).toBeUndefined();
  });
});
