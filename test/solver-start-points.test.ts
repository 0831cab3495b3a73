// `startPoints`: points the solver hands out first, exactly as given (Optuna's enqueue_trial).
import { afterAll, describe, expect, expectTypeOf, it } from "vitest";
import { studyOf } from "../src/dashboard/study.js";
import { ConfigError } from "../src/errors.js";
import { type SolverConfig, solverConfigIssues } from "../src/solver/config.js";
import { minimize } from "../src/solver/minimize.js";
import { createSolver, restoreSolver, type Solver, type Trial } from "../src/solver/solver.js";
import type { BoundsInput } from "../src/space/params.js";
import { Space } from "../src/space/space.js";
import { removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

const BOUNDS = {
  lr: { min: 1e-4, max: 1, scale: "log" },
  optimizer: { type: "categorical", choices: ["adam", "sgd", { name: "lion", beta: 0.9 }] },
  momentum: { min: 0, max: 1, when: { optimizer: ["sgd"] } },
  depth: { type: "int", min: 1, max: 12 },
} as const;

// Given in another key order than declared, with a choice that is an equal copy of the declared one.
const TODAY = { depth: 3, lr: 0.003, optimizer: "adam" } as const;
const SGD = { optimizer: "sgd", momentum: 0.9, lr: 0.0123456789, depth: 12 } as const;
const LION = { lr: 0.1, depth: 1, optimizer: { beta: 0.9, name: "lion" } } as const;

const config = (startPoints?: readonly object[]) => ({
  seed: 3,
  budget: 40,
  bounds: BOUNDS,
  ...(startPoints === undefined ? {} : { startPoints: startPoints as never }),
});

/** A made-up objective over the mixed space: every point has a finite value. */
function loss(p: Readonly<Record<string, unknown>>): number {
  const momentum = typeof p.momentum === "number" ? p.momentum : 0.5;
  return (Math.log10(Number(p.lr)) + 2) ** 2 + (Number(p.depth) - 6) ** 2 / 10 + (momentum - 0.8) ** 2;
}

const tellAll = (solver: Solver, trials: readonly Trial[]) =>
  solver.tell(trials.map((t) => ({ id: t.id, value: loss(t.params) })));

describe("startPoints", () => {
  it("hands the start points out first, with exactly their values, in declaration order, then the probe", () => {
    const solver = createSolver(config([TODAY, SGD, LION]));
    const plain = createSolver(config());
    const first = solver.ask()!;
    const design = plain.ask()!;
    expect(first.map((t) => t.id)).toEqual(Array.from({ length: design.length + 3 }, (_, i) => i + 1));
    expect(first.slice(0, 3).map((t) => JSON.stringify(t.params))).toEqual([
      '{"lr":0.003,"optimizer":"adam","depth":3}',
      '{"lr":0.0123456789,"optimizer":"sgd","momentum":0.9,"depth":12}',
      // The declared choice's key order, not the caller's copy's.
      '{"lr":0.1,"optimizer":{"name":"lion","beta":0.9},"depth":1}',
    ]);
    // The probe's own design follows, as it is without start points.
    expect(first.slice(3).map((t) => t.params)).toEqual(design.map((t) => t.params));
  });

  it("counts them against the budget and reads them in the classification, once the whole probe is in", () => {
    const solver = createSolver(config([TODAY, SGD]));
    const probe = solver.ask()!;
    expect(solver.asked).toBe(probe.length);
    tellAll(solver, probe.slice(0, -1));
    expect(solver.classification).toBeNull();
    tellAll(solver, probe.slice(-1));
    expect(solver.classification).not.toBeNull();
    // The same run with another value for a start point classifies otherwise: it is read.
    const other = createSolver(config([TODAY, SGD]));
    other.tell(other.ask()!.map((t) => ({ id: t.id, value: t.id === 1 ? 1e6 : loss(t.params) })));
    expect(other.classification!.score).not.toBe(solver.classification!.score);
    let asked = probe.length;
    for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
      asked += batch.length;
      tellAll(solver, batch);
    }
    expect(asked).toBe(40);
    expect(solver.asked).toBe(40);
  });

  it("gives the design up to the start points when the budget is short, so the run still ends", () => {
    for (const over of [{ budget: 20, probeRatio: 1 }, { budget: 6 }]) {
      const solver = createSolver({ ...config([TODAY, SGD, LION]), ...over });
      let asked = 0;
      for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
        asked += batch.length;
        tellAll(solver, batch);
      }
      expect(asked).toBe(over.budget);
      expect(solver.phase).toBe("done");
      expect(solver.classification).not.toBeNull();
    }
    // Every trial a start point: no design at all.
    const all = createSolver({ ...config([TODAY, SGD]), budget: 2 });
    expect(all.config.probeSize).toBe(0);
    tellAll(all, all.ask()!);
    expect(all.phase).toBe("done");
  });

  it("shows start trials with their values as given in a study view", () => {
    const solver = createSolver(config([SGD]));
    const [sgd] = solver.ask({ max: 1 })!;
    solver.tell({ id: sgd!.id, value: -1 });
    const study = studyOf(solver, "start");
    expect(study.trials[0]!.params).toEqual(SGD);
    expect(study.best!.params.lr).toBe(0.0123456789);
  });

  it("refuses a saved run whose start points were edited", () => {
    const solver = createSolver(config([TODAY, SGD]));
    tellAll(solver, solver.ask({ max: 3 })!);
    const edited = JSON.parse(JSON.stringify(solver.toJSON()));
    edited.config.startPoints = [SGD, TODAY];
    expect(() => restoreSolver(edited)).toThrow(
      "trials: trial 1 did not run startPoints.0 (a run's startPoints cannot change once it has started)",
    );
    const dropped = JSON.parse(JSON.stringify(solver.toJSON()));
    delete dropped.config.startPoints;
    expect(() => restoreSolver(dropped)).toThrow(
      "probe.starts: the run began with 2 start points, the config has 0",
    );
  });

  it("reports a start point as the best with its values as given, and a saved run keeps them", () => {
    const solver = createSolver(config([SGD, TODAY]));
    const [sgd, today] = solver.ask({ max: 2 })!;
    solver.tell({ id: sgd!.id, value: -1 });
    expect(JSON.stringify(solver.best())).toBe(
      '{"params":{"lr":0.0123456789,"optimizer":"sgd","momentum":0.9,"depth":12},"value":-1}',
    );
    const copy = restoreSolver(JSON.parse(JSON.stringify(solver.toJSON())));
    expect(copy.best()).toEqual(solver.best());
    expect(copy.pendingTrials()).toEqual([today]);
    expect(JSON.stringify(copy.pendingTrials()[0]!.params)).toBe('{"lr":0.003,"optimizer":"adam","depth":3}');
    // The restored run goes on as the original does.
    tellAll(solver, [today!]);
    tellAll(copy, [today!]);
    expect(copy.ask({ max: 5 })).toEqual(solver.ask({ max: 5 }));
  });

  it("gives minimize's objective the start points first", async () => {
    const seen: unknown[] = [];
    const result = await minimize(
      (params) => {
        seen.push(params);
        return loss(params);
      },
      { ...config([TODAY]), budget: 12 },
    );
    expect(seen[0]).toEqual({ lr: 0.003, optimizer: "adam", depth: 3 });
    expect(seen).toHaveLength(12);
    expect(result.best!.value).toBeLessThanOrEqual(loss(TODAY));
  });

  it("reads them from the CLI's JSON config, and names a bad one there", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { ...config([LION, TODAY]), budget: 12 });
    const asked = await runArqonInProcess(
      ["ask", "--state", "s.json", "--config", "c.json", "--batch", "2"],
      dir,
    );
    expect(asked.status, asked.stderr).toBe(0);
    expect(JSON.parse(asked.stdout).trials).toEqual([
      { id: 1, params: { lr: 0.1, optimizer: { name: "lion", beta: 0.9 }, depth: 1 } },
      { id: 2, params: { lr: 0.003, optimizer: "adam", depth: 3 } },
    ]);
    writeJson(dir, "bad.json", { ...config([{ ...TODAY, lr: 0 }]), budget: 12 });
    const refused = await runArqonInProcess(["ask", "--state", "t.json", "--config", "bad.json"], dir);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("invalid config bad.json: startPoints.0.lr: 0 is outside [0.0001, 1]");
  });

  it("refuses a bad point with a ConfigError naming the point, the parameter and the reason", () => {
    const bad = [
      { lr: 2, optimizer: "adamw", depth: 3 },
      { lr: 0.1, optimizer: "adam", depth: 1.5, momentum: 0.5 },
      { lr: 0.1, optimizer: "sgd", depth: 2, batch: 64 },
    ];
    const issuesWith = (last: object) =>
      solverConfigIssues({ ...config(), budget: 3, startPoints: [...bad, last] });
    // A value that is no JSON value is refused before the points are read against the bounds.
    expect(issuesWith({ lr: Number.NaN, optimizer: "adam", depth: 2 })).toEqual([
      { path: "startPoints.3.lr", message: "expected a JSON value (finite numbers only), got NaN" },
    ]);
    const rest = issuesWith({ lr: 0.1, momentum: 0.5 });
    expect(rest).toEqual([
      { path: "startPoints", message: "4 points, but the budget runs 3 trials (each start point is one)" },
      { path: "startPoints.0.lr", message: "2 is outside [0.0001, 1]" },
      {
        path: "startPoints.0.optimizer",
        message: expect.stringContaining('"adamw" is not one of the choices'),
      },
      {
        path: "startPoints.1.momentum",
        message: 'given, but its condition (when) does not hold: optimizer is "adam", not "sgd"',
      },
      { path: "startPoints.1.depth", message: "expected a whole number, got 1.5" },
      { path: "startPoints.2.batch", message: "unknown parameter" },
      {
        path: "startPoints.3.momentum",
        message:
          "given, but its parent optimizer is left out (give optimizer too, so that the point says whether momentum is active)",
      },
    ]);
    expect(() => createSolver({ ...config(), startPoints: {} as never })).toThrow(ConfigError);
    // An own "__proto__" key (JSON can make one) is refused, as in a warm-start point.
    const proto = JSON.parse('{"lr":0.1,"optimizer":"adam","depth":2,"__proto__":1}');
    expect(solverConfigIssues({ ...config(), startPoints: [proto] })).toEqual([
      { path: "startPoints.0.__proto__", message: "unknown parameter" },
    ]);
    expect(solverConfigIssues({ ...config(), startPoints: [1] })).toEqual([
      {
        path: "startPoints.0",
        message: 'expected an object of parameter values by name, such as { "x": 0.5 }',
      },
    ]);
  });

  it("keeps the solver typed by its bounds, and a typed config assignable to SolverConfig", () => {
    const solver = createSolver({ seed: 1, budget: 10, bounds: BOUNDS, startPoints: [TODAY] });
    expectTypeOf(solver.ask()).toEqualTypeOf<
      | Trial<{
          lr: number;
          optimizer: "adam" | "sgd" | { readonly name: "lion"; readonly beta: 0.9 };
          depth: number;
          momentum?: number;
        }>[]
      | null
    >();
    // Start points are typed loosely, so code generic over the bounds compiles as it did before
    // they existed; a misspelt name or an unknown choice is caught when the solver is created.
    const widened = <const B extends BoundsInput>(typed: SolverConfig<B>): SolverConfig => typed;
    const loose: SolverConfig = widened({ seed: 1, budget: 10, bounds: BOUNDS });
    expect(() => createSolver({ ...loose, startPoints: [{ ...TODAY, optimiser: "adam" }] })).toThrow(
      "startPoints.0.optimiser: unknown parameter",
    );
    expect(() => createSolver({ ...loose, startPoints: [{ ...TODAY, optimizer: "adamw" }] })).toThrow(
      'startPoints.0.optimizer: "adamw" is not one of the choices',
    );
  });

  it("reads a parameter written out as undefined as left out, as a warm-start point's", () => {
    const solver = createSolver(config([{ ...TODAY, momentum: undefined }]));
    expect(JSON.stringify(solver.ask({ max: 1 })![0]!.params)).toBe(
      '{"lr":0.003,"optimizer":"adam","depth":3}',
    );
  });
});

describe("partial startPoints (Optuna's enqueue_trial with some parameters)", () => {
  const space = new Space(BOUNDS);
  const PARTIAL = [{ lr: 0.01 }, { lr: 0.01 }, { optimizer: "sgd", depth: 4 }, {}] as const;
  const firstTrials = (seed: number, points: readonly object[] = PARTIAL) =>
    createSolver({ ...config(points), seed }).ask({ max: points.length })!;

  it("keeps what a point gives, fills the active parameters it leaves out, and spreads the fills", () => {
    const trials = firstTrials(3);
    for (const trial of trials) expect(space.problems(trial.params, "params")).toEqual([]);
    expect(trials[0]!.params.lr).toBe(0.01);
    expect(trials[1]!.params.lr).toBe(0.01);
    // The same given value, filled differently: two points, not one point twice.
    expect(trials[0]!.params).not.toEqual(trials[1]!.params);
    expect(trials[2]!.params).toMatchObject({ optimizer: "sgd", depth: 4 });
    expect(typeof trials[2]!.params.momentum).toBe("number"); // active under sgd, so filled
    // The probe's design follows as it is without start points.
    const solver = createSolver(config(PARTIAL));
    const plain = createSolver(config());
    expect(solver.ask()!.slice(4)).toEqual(plain.ask()!.map((t) => ({ ...t, id: t.id + 4 })));
    // The fills follow the seed: the same run fills the same values, another seed others.
    expect(firstTrials(3)).toEqual(trials);
    const other = firstTrials(4);
    expect(other[0]!.params.lr).toBe(0.01);
    expect(other[0]!.params).not.toEqual(trials[0]!.params);
  });

  it("fills a left-out choice first, then exactly the parameters that choice makes active", () => {
    const trials = firstTrials(
      5,
      Array.from({ length: 9 }, () => ({ depth: 2 })),
    );
    const optimizers = trials.map((t) => JSON.stringify(t.params.optimizer));
    // Nine points of a Sobol' design: each of the three choices' thirds holds some.
    expect(new Set(optimizers).size).toBe(3);
    for (const trial of trials) {
      expect(trial.params.depth).toBe(2);
      expect("momentum" in trial.params).toBe(trial.params.optimizer === "sgd");
      expect(space.problems(trial.params, "params")).toEqual([]);
    }
  });

  it("refuses a parameter given without the parent that decides whether it is active", () => {
    expect(solverConfigIssues({ ...config(), startPoints: [{ momentum: 0.5, depth: 3 }] })).toEqual([
      {
        path: "startPoints.0.momentum",
        message:
          "given, but its parent optimizer is left out (give optimizer too, so that the point says whether momentum is active)",
      },
    ]);
    // With the parent given, its condition decides, as for a whole point.
    expect(solverConfigIssues({ ...config(), startPoints: [{ optimizer: "adam", momentum: 0.5 }] })).toEqual([
      {
        path: "startPoints.0.momentum",
        message: 'given, but its condition (when) does not hold: optimizer is "adam", not "sgd"',
      },
    ]);
    // Two parents, the first left out: the message names the one that fails, not the absent one.
    const twoParents = {
      seed: 1,
      budget: 4,
      bounds: {
        a: { type: "categorical", choices: ["x", "y"] },
        b: { type: "categorical", choices: ["p", "q"] },
        c: { min: 0, max: 1, when: { a: ["x"], b: ["p"] } },
      },
    };
    expect(solverConfigIssues({ ...twoParents, startPoints: [{ b: "q", c: 0.5 }] })).toEqual([
      {
        path: "startPoints.0.c",
        message: 'given, but its condition (when) does not hold: b is "q", not "p"',
      },
    ]);
  });

  it("resumes a saved run with the same fills, and refuses one whose partial points were edited", () => {
    const solver = createSolver(config(PARTIAL));
    const first = solver.ask({ max: 3 })!;
    tellAll(solver, first.slice(0, 2));
    const copy = restoreSolver(JSON.parse(JSON.stringify(solver.toJSON())));
    expect(copy.pendingTrials()).toEqual([first[2]]);
    expect(studyOf(copy, "partial").trials.map((t) => t.params)).toEqual(
      first.slice(0, 2).map((t) => t.params),
    );
    tellAll(solver, [first[2]!]);
    tellAll(copy, [first[2]!]);
    expect(copy.ask({ max: 4 })).toEqual(solver.ask({ max: 4 }));
    const edited = JSON.parse(JSON.stringify(solver.toJSON()));
    edited.config.startPoints = [{ lr: 0.02 }, ...PARTIAL.slice(1)];
    expect(() => restoreSolver(edited)).toThrow(
      "trials: trial 1 did not run startPoints.0 (a run's startPoints cannot change once it has started)",
    );
  });

  it("reads a partial point from the CLI's JSON config", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { ...config([{ depth: 7, optimizer: "sgd" }]), budget: 12 });
    const asked = await runArqonInProcess(
      ["ask", "--state", "s.json", "--config", "c.json", "--batch", "1"],
      dir,
    );
    expect(asked.status, asked.stderr).toBe(0);
    const [trial] = JSON.parse(asked.stdout).trials;
    expect(trial.params).toMatchObject({ optimizer: "sgd", depth: 7 });
    expect(space.problems(trial.params, "params")).toEqual([]);
  });
});
