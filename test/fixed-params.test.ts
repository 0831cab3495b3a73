import { afterAll, describe, expect, expectTypeOf, it } from "vitest";
import { createSolver, restoreSolver, type Solver, solverConfigIssues } from "../src/index.js";
import { resolveSolverConfig } from "../src/solver/config.js";
import type { BoundsInput } from "../src/space/params.js";
import { removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";
import { runTrials } from "./support/solver-trials.js";

afterAll(removeTempDirs);

/** Every trial's params over a whole run, asked `batch` at a time and told `objective`. */
function askedParams(
  bounds: BoundsInput,
  objective: (params: Record<string, unknown>) => number,
  options: { budget?: number; batch?: number; strategy?: "auto" | "tpe" | "nelder-mead" } = {},
): Record<string, unknown>[] {
  const { budget = 60, batch = 1, strategy = "auto" } = options;
  const solver = createSolver({ seed: 7, budget, bounds, strategy }) as unknown as Solver;
  const asked: Record<string, unknown>[] = [];
  for (let trials = solver.ask({ max: batch }); trials !== null; trials = solver.ask({ max: batch })) {
    for (const trial of trials) asked.push(trial.params);
    solver.tell(trials.map((trial) => ({ id: trial.id, value: objective(trial.params) })));
  }
  return asked;
}

/** `params` without the keys in `names`. */
function without(params: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([name]) => !names.includes(name)));
}

const FIXED = {
  c: { min: 0.5, max: 0.5 },
  n: { type: "int", min: 3, max: 3 },
  g: { min: 2, max: 2, step: 0.25 },
  l: { type: "int", min: 16, max: 16, scale: "log" },
} as const;

describe("a parameter whose min is its max", () => {
  it("carries its one value in every trial, in declaration order", () => {
    const asked = askedParams(
      { x: { min: -2, max: 2 }, ...FIXED, y: { min: -2, max: 2 } },
      (p) => (p.x as number) ** 2 + (p.y as number) ** 2,
      { budget: 30 },
    );
    expect(asked).toHaveLength(30);
    for (const params of asked) {
      expect(Object.keys(params)).toEqual(["x", "c", "n", "g", "l", "y"]);
      expect(params).toMatchObject({ c: 0.5, n: 3, g: 2, l: 16 });
    }
    // Typed as any float or int is.
    const typed = createSolver({ seed: 1, budget: 5, bounds: { x: { min: 0, max: 1 }, ...FIXED } });
    const trial = typed.ask({ max: 1 })![0]!;
    expectTypeOf(trial.params.c).toEqualTypeOf<number>();
    expectTypeOf(trial.params.n).toEqualTypeOf<number>();
    expect(trial.params.n).toBe(3);
  });

  it("leaves every proposal as the run without it makes: it is not a dimension", () => {
    const sphere = (p: Record<string, unknown>) => (p.x as number) ** 2 + ((p.y as number) - 1) ** 2;
    for (const strategy of ["auto", "tpe", "nelder-mead"] as const) {
      for (const batch of [1, 4]) {
        const tuned = { x: { min: -2, max: 2 }, y: { min: -2, max: 2 } };
        const withFixed = askedParams({ ...FIXED, ...tuned }, sphere, { strategy, batch });
        const plain = askedParams(tuned, sphere, { strategy, batch });
        expect(withFixed.map((p) => without(p, Object.keys(FIXED)))).toEqual(plain);
      }
    }
    // On a mixed space, with a fixed parameter present only under one choice.
    const mixed = {
      x: { min: -2, max: 2 },
      k: { type: "categorical", choices: ["a", "b"] },
      m: { min: 0, max: 1, when: { k: ["b"] } },
    } as const;
    const loss = (p: Record<string, unknown>) =>
      (p.x as number) ** 2 + (p.k === "b" ? ((p.m as number) - 0.3) ** 2 : 0.5);
    const withFixed = askedParams({ ...mixed, f: { min: 0.9, max: 0.9, when: { k: ["b"] } } }, loss, {
      batch: 3,
    });
    expect(withFixed.map((p) => without(p, ["f"]))).toEqual(askedParams(mixed, loss, { batch: 3 }));
    for (const params of withFixed) {
      if (params.k === "b") expect(params.f).toBe(0.9);
      else expect(params).not.toHaveProperty("f");
    }
  });

  it("leaves a space of categoricals to TPE, and its saved run reopens", () => {
    const choices = {
      k: { type: "categorical", choices: ["a", "b", "c"] },
      j: { type: "categorical", choices: [1, 2, 3, 4] },
    } as const;
    const config = {
      seed: 7, // askedParams' seed
      budget: 30,
      bounds: { ...choices, workers: { type: "int", min: 8, max: 8 } },
    } as const;
    const loss = (p: Record<string, unknown>) => (p.k === "b" ? 0 : 1) + Math.abs((p.j as number) - 3);
    const solver = createSolver(config);
    expect(solver.config.strategy).toBe(createSolver({ ...config, bounds: choices }).config.strategy);
    expect(solver.config.strategy).toBe("tpe");
    const first = runTrials(solver, 15, loss);
    // Past the probe: the saved run reopens and goes on as the plain run does.
    const restored = restoreSolver(JSON.parse(JSON.stringify(solver.toJSON())));
    const all = [...first, ...runTrials(restored, 15, loss)];
    expect(all.map((p) => without(p, ["workers"]))).toEqual(
      askedParams(choices, loss, { budget: 30 }).slice(0, 30),
    );
  });

  it("is told back as its value only, and is missing when left out", () => {
    const solver = createSolver({
      seed: 1,
      budget: 10,
      bounds: { x: { min: 0, max: 1 }, c: { min: 0.5, max: 0.5 }, n: { type: "int", min: -0, max: -0 } },
    });
    const refused = (params: Record<string, unknown>) => {
      try {
        solver.tell({ params: params as never, value: 1 });
      } catch (error) {
        return String(error);
      }
      return "accepted";
    };
    expect(refused({ x: 0.2, c: 0.6, n: 0 })).toMatch(
      /result\.params\.c: expected 0\.5, the only value of a parameter with min = max, got 0\.6/,
    );
    expect(refused({ x: 0.2, c: "0.5", n: 0 })).toMatch(/result\.params\.c: expected a finite number/);
    expect(refused({ x: 0.2, n: 0 })).toMatch(/result\.params\.c: missing/);
    expect(solver.best()).toBeNull(); // nothing refused was recorded
    expect(refused({ x: 0.2, c: 0.5, n: 0 })).toBe("accepted");
    expect(solver.best()).toEqual({ params: { x: 0.2, c: 0.5, n: 0 }, value: 1 });
    // Its value as a trial has it: −0 reads as 0.
    const trial = solver.ask({ max: 1 })![0]!;
    expect(Object.is(trial.params.n, 0)).toBe(true);
    // A start point is checked the same way.
    expect(
      solverConfigIssues({
        seed: 1,
        budget: 10,
        bounds: { x: { min: 0, max: 1 }, c: { min: 0.5, max: 0.5 } },
        startPoints: [{ x: 0.1, c: 0.5 }, { x: 0.1 }, { x: 0.1, c: 1 }],
      }),
    ).toEqual([
      // A start point may leave it out (it is filled, as any parameter a start point leaves out).
      {
        path: "startPoints.2.c",
        message: "expected 0.5, the only value of a parameter with min = max, got 1",
      },
    ]);
    const filled = createSolver({
      seed: 1,
      budget: 10,
      bounds: { x: { min: 0, max: 1 }, c: { min: 0.5, max: 0.5 } },
      startPoints: [{ x: 0.1 }],
    });
    expect(filled.ask({ max: 1 })![0]!.params).toEqual({ x: 0.1, c: 0.5 });
  });

  it("is refused when min exceeds max, and when nothing would be left to tune", () => {
    const issues = (bounds: Record<string, unknown>, strategy?: string) =>
      solverConfigIssues({ seed: 1, budget: 10, bounds, ...(strategy === undefined ? {} : { strategy }) });
    expect(issues({ f: { min: 2.5, max: 1 } })).toEqual([
      { path: "bounds.f", message: "min (2.5) must not exceed max (1)" },
    ]);
    expect(issues({ n: { type: "int", min: 3, max: 2 } })).toEqual([
      { path: "bounds.n", message: "min (3) must not exceed max (2)" },
    ]);
    expect(issues({ f: { min: 1, max: 1 }, n: { type: "int", min: 3, max: 3 } })).toEqual([
      {
        path: "bounds",
        message: "every parameter has min = max: nothing is left to tune (give one a range)",
      },
    ]);
    // A categorical with one choice is fixed too.
    expect(issues({ f: { min: 1, max: 1 }, k: { type: "categorical", choices: ["only"] } })).toEqual([
      {
        path: "bounds",
        message:
          "every parameter has one value (min = max, or a single choice): nothing is left to tune (give one a range or more choices)",
      },
    ]);
    expect(
      issues({ k: { type: "categorical", choices: ["only"] }, n: { type: "int", min: 1, max: 2 } }),
    ).toEqual([]);
    // Refused in a new config only: a run saved before the check still reopens.
    const oneChoice = { seed: 1, budget: 10, bounds: { k: { type: "categorical", choices: ["only"] } } };
    expect(() => resolveSolverConfig(oneChoice, "saved")).not.toThrow();
    expect(
      issues({ f: { min: 1, max: 1 }, k: { type: "categorical", choices: [1, 2] } }, "nelder-mead"),
    ).toEqual([
      { path: "strategy", message: "nelder-mead needs at least one float or int parameter with min < max" },
    ]);
    // The points are still read against the parameters, so one run names every problem.
    expect(
      solverConfigIssues({ seed: 1, budget: 10, bounds: { f: { min: 1, max: 1 } }, startPoints: [{ f: 2 }] }),
    ).toEqual([
      {
        path: "bounds",
        message: "every parameter has min = max: nothing is left to tune (give one a range)",
      },
      { path: "startPoints.0.f", message: "expected 1, the only value of a parameter with min = max, got 2" },
    ]);
    // One value needs no grid: any step is accepted with it, as Optuna accepts low == high.
    expect(issues({ x: { min: 0, max: 1 }, f: { min: 1e15, max: 1e15, step: 0.01 } })).toEqual([]);
    expect(issues({ x: { min: 0, max: 1 }, f: { min: 3, max: 3, scale: "log" } })).toEqual([]);
    // The rules of a log scale still hold.
    expect(issues({ x: { min: 0, max: 1 }, f: { min: 0, max: 0, scale: "log" } })).toEqual([
      { path: "bounds.f", message: "log scale needs min > 0, got min = 0" },
    ]);
  });

  it("does not enlarge the probe, and resumes from its artifact exactly", () => {
    const config = {
      seed: 5,
      budget: 100,
      bounds: { x: { min: 0, max: 1 }, ...FIXED, y: { min: 0, max: 1 } },
    };
    const objective = (p: { x: number; y: number }) => (p.x - 0.3) ** 2 + (p.y - 0.6) ** 2;
    const whole = createSolver(config);
    const part = createSolver(config);
    // Two tuned parameters: the probe of a two-parameter run (10 points), not of six (14).
    const plain = createSolver({ ...config, bounds: { x: config.bounds.x, y: config.bounds.y } });
    expect(part.toJSON().probe).toEqual(plain.toJSON().probe);
    expect(part.toJSON().probe.count).toBe(10);
    const expected = runTrials(whole, 30, objective);
    runTrials(part, 12, objective);
    const artifact = JSON.parse(JSON.stringify(part.toJSON()));
    const restored = restoreSolver<"x" | "c" | "n" | "g" | "l" | "y">(artifact);
    expect([...expected.slice(0, 12), ...runTrials(restored, 18, objective)]).toEqual(expected);
    // Its value is part of the run's parameters: an artifact edited to another is refused.
    const edited = structuredClone(artifact);
    edited.config.bounds.c = { min: 0.7, max: 0.7 };
    expect(() => restoreSolver(edited)).toThrow(
      /config\.bounds: not the parameters this run's trials were measured in/,
    );
  });

  it("passes its value to a command", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 1,
      budget: 6,
      bounds: { x: { min: 0, max: 1 }, workers: { type: "int", min: 8, max: 8 } },
    });
    const objective = [
      process.execPath,
      "-e",
      "console.error('workers=' + process.env.ARQON_WORKERS); console.log(process.env.ARQON_X)",
    ];
    const run = await runArqonInProcess(["solve", "--config", "c.json", "--", ...objective], dir);
    expect(run.status, run.stderr).toBe(0);
    const shown = [...run.stderr.matchAll(/workers=(\S+)/g)].map((m) => m[1]!);
    expect(shown).toEqual(Array.from({ length: 6 }, () => "8"));
  });
});
