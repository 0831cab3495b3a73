import { afterAll, describe, expect, expectTypeOf, it } from "vitest";
import { studyOf } from "../src/dashboard/study.js";
import { minimize } from "../src/solver/minimize.js";
import { createSolver, restoreSolver } from "../src/solver/solver.js";
import { branin } from "../src/testing/functions.js";
import { removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

// `direction: "maximize"`: the solver minimises the negated values inside and speaks the
// objective's own sense everywhere a value comes in or goes out.

const MIXED = {
  lr: { min: 1e-4, max: 1, scale: "log" },
  depth: { type: "int", min: 1, max: 8 },
  optimizer: { type: "categorical", choices: ["adam", "sgd"] },
} as const;

type Params = Readonly<Record<string, unknown>>;

/** An accuracy-like score to maximise: best at lr 0.01, depth 5, adam. */
function score(p: Params): number {
  const { lr, depth, optimizer } = p as { lr: number; depth: number; optimizer: string };
  return 1 - (Math.log10(lr) + 2) ** 2 / 8 - (depth - 5) ** 2 / 50 - (optimizer === "adam" ? 0 : 0.1);
}

/** What {@link run} needs of a solver, whatever its parameters' types. */
interface Loop {
  ask(): readonly { readonly id: number; readonly params: Params }[] | null;
  tell(result: { id: number; value: number }): void;
}

/** Runs `solver` to the end, telling `value(params)` for each trial; returns every asked point. */
function run(solver: Loop, value: (params: Params) => number): unknown[] {
  const asked: unknown[] = [];
  for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
    for (const trial of batch) {
      asked.push(trial.params);
      solver.tell({ id: trial.id, value: value(trial.params) });
    }
  }
  return asked;
}

describe('direction: "maximize"', () => {
  it("asks what minimising the negation asks, and gives back the highest value", () => {
    for (const strategy of ["auto", "tpe", "nelder-mead"] as const) {
      const up = createSolver({ seed: 4, budget: 60, bounds: MIXED, strategy, direction: "maximize" });
      const down = createSolver({ seed: 4, budget: 60, bounds: MIXED, strategy });
      expect(run(up, score), strategy).toEqual(run(down, (p) => -score(p)));
      const best = up.best()!;
      expect(best.value).toBe(-down.best()!.value);
      expect(best.value).toBe(score(best.params));
      expect(up.config.direction).toBe("maximize");
    }
    expect(createSolver({ seed: 1, budget: 5, bounds: MIXED }).config.direction).toBe("minimize");
  });

  it("keeps told and reported values as told, in the state too, and resumes the same", () => {
    const config = { seed: 2, budget: 30, bounds: MIXED, direction: "maximize" } as const;
    const solver = createSolver(config);
    const [first] = solver.ask({ max: 1 })!;
    solver.report(first!.id, 0, 0.25);
    solver.report(first!.id, 1, 0.5);
    expect(solver.intermediateValues(first!.id)).toEqual([
      { step: 0, value: 0.25 },
      { step: 1, value: 0.5 },
    ]);
    solver.tell({ id: first!.id, value: 0.75 });
    solver.tell({ params: { lr: 0.01, depth: 5, optimizer: "adam" }, value: 0.9 });
    const saved = solver.toJSON();
    expect(saved.told).toEqual([
      { id: first!.id, value: 0.75 },
      { params: { lr: 0.01, depth: 5, optimizer: "adam" }, value: 0.9 },
    ]);
    expect(saved.trials[0]!.reports).toEqual([
      [0, 0.25],
      [1, 0.5],
    ]);
    expect(solver.best()).toEqual({ params: { lr: 0.01, depth: 5, optimizer: "adam" }, value: 0.9 });

    const resumed = restoreSolver(JSON.parse(JSON.stringify(saved)));
    expect(resumed.best()).toEqual(solver.best());
    expect(resumed.intermediateValues(first!.id)).toEqual(solver.intermediateValues(first!.id));
    expect(run(resumed, score)).toEqual(run(solver, score));
  });

  it("prunes the trials that report low values, not high ones", () => {
    const solver = createSolver({
      seed: 3,
      budget: 20,
      bounds: { x: { min: 0, max: 1 } },
      direction: "maximize",
      pruner: { kind: "median", startupTrials: 2 },
    });
    for (const value of [0.8, 0.9]) {
      const [trial] = solver.ask({ max: 1 })!;
      solver.report(trial!.id, 1, value);
      solver.tell({ id: trial!.id, value });
    }
    const [high, low] = solver.ask({ max: 2 })!;
    solver.report(high!.id, 1, 0.95);
    solver.report(low!.id, 1, 0.1);
    expect(solver.shouldPrune(high!.id)).toBe(false);
    expect(solver.shouldPrune(low!.id)).toBe(true);
    solver.tell({ id: low!.id, pruned: true });
    expect(solver.toJSON().told.at(-1)).toEqual({ id: low!.id, pruned: true, value: 0.1 });
  });

  it("minimize() with the config's direction climbs: Branin negated, maximised", async () => {
    const fn = branin();
    const result = await minimize((p) => -fn.evaluate(p), {
      seed: 7,
      budget: 80,
      bounds: fn.bounds,
      direction: "maximize",
    });
    expect(result.best!.value).toBeGreaterThan(-fn.minimum - 0.05);
    expect(result.best!.value).toBeLessThanOrEqual(-fn.minimum + 1e-12);
    expect(result.best!.value).toBe(-fn.evaluate(result.best!.params));
  });

  it("shows the study view's best as the highest value", () => {
    const solver = createSolver({
      seed: 1,
      budget: 6,
      bounds: { x: { min: 0, max: 1 } },
      direction: "maximize",
    });
    const values = [0.2, 0.9, 0.4];
    for (const value of values) {
      const [trial] = solver.ask({ max: 1 })!;
      solver.tell({ id: trial!.id, value });
    }
    const study = studyOf(solver, "up");
    expect(study.direction).toBe("maximize");
    expect(study.best).toMatchObject({ n: 2, value: 0.9 });
  });

  it("is typed as a literal union", () => {
    expectTypeOf(createSolver({ seed: 1, budget: 5, bounds: MIXED }).config.direction).toEqualTypeOf<
      "minimize" | "maximize"
    >();
    // @ts-expect-error only "minimize" or "maximize"
    expect(() => createSolver({ seed: 1, budget: 5, bounds: MIXED, direction: "max" })).toThrow(
      'direction: expected one of "minimize", "maximize", got "max"',
    );
  });

  it("arqon solve reads it from the config: the command prints an accuracy, the best is the highest", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 5,
      budget: 25,
      bounds: { x: { min: 0, max: 1 } },
      direction: "maximize",
    });
    // Accuracy peaks at x = 0.3.
    const accuracy = [
      process.execPath,
      "-e",
      "console.log('accuracy', 0.9 - (Number(process.env.ARQON_X) - 0.3) ** 2)",
    ];
    const run = await runArqonInProcess(["solve", "--config", "c.json", "--quiet", "--", ...accuracy], dir);
    expect(run.status, run.stderr).toBe(0);
    const { best } = JSON.parse(run.stdout);
    expect(best.value).toBeGreaterThan(0.899);
    expect(best.value).toBeCloseTo(0.9 - (best.params.x - 0.3) ** 2, 12);
  });

  it("arqon ask, tell and status keep the objective's sense in a state file", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 6,
      budget: 4,
      bounds: { x: { min: 0, max: 1 } },
      direction: "maximize",
    });
    const ask = async () => {
      const asked = await runArqonInProcess(["ask", "--state", "s.json", "--config", "c.json"], dir);
      expect(asked.status, asked.stderr).toBe(0);
      return (JSON.parse(asked.stdout).trials as { id: number }[])[0];
    };
    const tell = async (id: number, value: number) => {
      const told = await runArqonInProcess(
        ["tell", "--state", "s.json"],
        dir,
        JSON.stringify([{ id, value }]),
      );
      expect(told.status, told.stderr).toBe(0);
    };
    // The probe of a budget of 4 is one point: the second trial comes once the first is told.
    await tell((await ask())!.id, 0.7);
    await tell((await ask())!.id, 0.4);
    const status = await runArqonInProcess(["status", "--state", "s.json"], dir);
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).best.value).toBe(0.7);
  });
});
