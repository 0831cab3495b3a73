import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../src/errors.js";
import { createSolver, restoreSolver, type Solver, solverConfigIssues } from "../src/index.js";
import { boundsDigest } from "../src/solver/bounds-digest.js";
import type { BoundsInput } from "../src/space/params.js";
import { removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";
import { runTrials } from "./support/solver-trials.js";

afterAll(removeTempDirs);

/** Every value a solver on `bounds` asks, over a whole run told `objective`. */
function askedValues(
  bounds: BoundsInput,
  objective: (params: Record<string, unknown>) => number,
  budget = 60,
): Record<string, unknown>[] {
  const solver = createSolver({ seed: 3, budget, bounds }) as unknown as Solver;
  const asked: Record<string, unknown>[] = [];
  for (let batch = solver.ask({ max: 1 }); batch !== null; batch = solver.ask({ max: 1 })) {
    for (const trial of batch) {
      asked.push(trial.params);
      solver.tell({ id: trial.id, value: objective(trial.params) });
    }
  }
  return asked;
}

describe("a float with a step", () => {
  it("takes only its grid's values, written as the step is (0.3, not 0.30000000000000004)", () => {
    const tenths = Array.from({ length: 11 }, (_, k) => k / 10);
    const asked = askedValues(
      { rate: { min: 0, max: 1, step: 0.1 }, x: { min: -1, max: 1 } },
      (p) => ((p.rate as number) - 0.3) ** 2 + (p.x as number) ** 2,
    );
    const rates = new Set(asked.map((p) => p.rate));
    for (const rate of rates) expect(tenths).toContain(rate);
    expect(rates.size).toBeGreaterThan(5);
    expect(rates).toContain(0.3);
    // A grid away from zero, in quarters, with three decimals in min.
    const quarters = askedValues({ q: { min: 0.125, max: 2.125, step: 0.25 } }, (p) => p.q as number);
    for (const { q } of quarters) expect(((q as number) - 0.125) / 0.25).toSatisfy(Number.isInteger);
  });

  it("finds the grid's best value, as it would an int's", () => {
    const solver = createSolver({
      seed: 1,
      budget: 80,
      bounds: { gain: { min: -2, max: 2, step: 0.05 }, offset: { min: 0, max: 10, step: 0.5 } },
    });
    for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
      solver.tell(
        batch.map((t) => ({ id: t.id, value: (t.params.gain - 0.35) ** 2 + (t.params.offset - 7.5) ** 2 })),
      );
    }
    expect(solver.best()?.params).toEqual({ gain: 0.35, offset: 7.5 });
  });

  it("accepts start points and told values on the grid, and names the parameter for one off it", () => {
    const bounds = { rate: { min: 0, max: 1, step: 0.1 } };
    const solver = createSolver({ seed: 1, budget: 10, bounds, startPoints: [{ rate: 0.3 }] });
    expect(solver.ask({ max: 1 })![0]!.params).toEqual({ rate: 0.3 });
    // 0.6 − 0 over 0.1 is 5.999999999999999 in doubles: still the grid's sixth value.
    solver.tell({ params: { rate: 0.6 }, value: 1 });
    expect(() => solver.tell({ params: { rate: 0.36 }, value: 1 })).toThrow(
      "result.params.rate: 0.36 is not on the grid 0 + k·0.1 (the nearest value is 0.4)",
    );
    expect(solverConfigIssues({ seed: 1, budget: 10, bounds, startPoints: [{ rate: 0.25 }] })).toEqual([
      { path: "startPoints.0.rate", message: "0.25 is not on the grid 0 + k·0.1 (the nearest value is 0.3)" },
    ]);
  });

  it("is refused with a step that is not positive, not dividing the range, or on a log scale", () => {
    const issues = (rate: object) => solverConfigIssues({ seed: 1, budget: 10, bounds: { rate } });
    expect(issues({ min: 0, max: 1, step: 0 })).toEqual([
      { path: "bounds.rate.step", message: "expected a number greater than 0, got 0" },
    ]);
    expect(issues({ min: 0, max: 1, step: 0.3 })).toEqual([
      {
        path: "bounds.rate",
        message: "max (1) must be min (0) plus a whole number of steps (0.3): max 0.9 or 1.2 would be",
      },
    ]);
    // The maxima the message offers are on the grid (Optuna would lower max to the first).
    for (const [grid, offered] of [
      [{ min: -1, max: 1.05, step: 0.1 }, [1, 1.1]],
      [{ min: 0, max: 0.2, step: 0.3 }, [0.3]],
      [{ min: 2.5, max: 7.2, step: 0.75 }, [7, 7.75]],
      [{ type: "int", min: -7, max: 0, step: 4 }, [-3, 1]],
    ] as const) {
      const [issue] = issues(grid);
      expect(issue!.message).toMatch(new RegExp(`: max ${offered.join(" or ")} would be$`));
      for (const max of offered) expect(issues({ ...grid, max })).toEqual([]);
    }
    expect(issues({ min: 1e-3, max: 1, step: 1e-3, scale: "log" })).toEqual([
      { path: "bounds.rate", message: "step cannot be combined with log scale" },
    ]);
    expect(issues({ min: 0, max: 1, step: 1e-16 })).toEqual([
      {
        path: "bounds.rate",
        message:
          "(max − min) / step must be below 2^51 (each value needs a cell of its own on the unit axis), got 10000000000000000",
      },
    ]);
    expect(() =>
      createSolver({ seed: 1, budget: 10, bounds: { rate: { min: 0, max: 1, step: -1 } } }),
    ).toThrow(ConfigError);
  });

  it("resumes from its artifact exactly, and digests a float without a step as before", () => {
    const config = {
      seed: 5,
      budget: 30,
      bounds: { rate: { min: 0, max: 2, step: 0.2 }, x: { min: 0, max: 1 } },
    };
    const objective = (p: { rate: number; x: number }) => (p.rate - 1.4) ** 2 + (p.x - 0.5) ** 2;
    const whole = createSolver(config);
    const part = createSolver(config);
    const expected = runTrials(whole, 30, objective);
    runTrials(part, 12, objective);
    const restored = restoreSolver<"rate" | "x">(JSON.parse(JSON.stringify(part.toJSON())));
    expect([...expected.slice(0, 12), ...runTrials(restored, 18, objective)]).toEqual(expected);
    // The digest of a saved run's parameters: a step makes another one, none leaves it as it was.
    const plain = { seed: 1, budget: 10, bounds: { rate: { min: 0, max: 2 } } };
    expect(boundsDigest(plain)).toBe(
      boundsDigest({ ...plain, bounds: { rate: { type: "float", min: 0, max: 2 } } }),
    );
    expect(boundsDigest({ ...plain, bounds: { rate: { min: 0, max: 2, step: 0.2 } } })).not.toBe(
      boundsDigest(plain),
    );
  });

  it("passes its value to a command as written on the grid", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 12, bounds: { rate: { min: 0, max: 1, step: 0.1 } } });
    const objective = [
      process.execPath,
      "-e",
      "console.error('rate=' + process.env.ARQON_RATE); console.log(1)",
    ];
    const run = await runArqonInProcess(["solve", "--config", "c.json", "--", ...objective], dir);
    expect(run.status, run.stderr).toBe(0);
    const shown = [...run.stderr.matchAll(/rate=(\S+)/g)].map((m) => m[1]!);
    expect(shown.length).toBeGreaterThan(0);
    for (const text of shown) expect(text).toMatch(/^(0|1|0\.\d)$/);
  });
});

describe("a float grid's edges", () => {
  it("takes told values that are min + k·step up to rounding, wherever the grid lies", () => {
    // Near 10^5 a thousandth is a few hundred doubles wide: (100000.002 − 100000) / 0.001 is not 2.
    const far = createSolver({
      seed: 1,
      budget: 5,
      bounds: { f: { min: 100000, max: 100000.01, step: 0.001 } },
    });
    far.tell({ params: { f: 100000.002 }, value: 1 });
    expect(far.best()?.params).toEqual({ f: 100000.002 });
    // Symmetric about zero: the middle value is 0, never −0.
    const values = askedValues({ g: { min: -0.9, max: 0.9, step: 0.3 } }, (p) => Math.abs(p.g as number), 30);
    const zero = values.find((p) => p.g === 0);
    expect(zero).toBeDefined();
    expect(Object.is(zero!.g, 0)).toBe(true);
    // A min written as −0 (JSON's -0) gives 0, as a float without a step does.
    const fromZero = askedValues({ h: { min: -0, max: 1, step: 0.5 } }, (p) => p.h as number, 12);
    expect(fromZero.some((p) => Object.is(p.h, -0))).toBe(false);
    expect(fromZero.some((p) => p.h === 0)).toBe(true);
  });

  it("refuses a value a billionth of a step off, and a grid too fine for doubles or not ending at max", () => {
    const fine = createSolver({ seed: 1, budget: 5, bounds: { f: { min: 0, max: 1, step: 1e-9 } } });
    expect(() => fine.tell({ params: { f: 0.5000000004 }, value: 1 })).toThrow(
      "result.params.f: 0.5000000004 is not on the grid 0 + k·1e-9 (the nearest value is 0.5)",
    );
    const issues = (f: object) => solverConfigIssues({ seed: 1, budget: 5, bounds: { f } });
    expect(issues({ min: 0, max: 1, step: 1.5e-9 })).toEqual([
      {
        path: "bounds.f",
        message:
          "max (1) must be min (0) plus a whole number of steps (1.5e-9): max 0.999999999 or 1.0000000005 would be",
      },
    ]);
    expect(issues({ min: 1e15, max: 1e15 + 1, step: 0.01 })).toEqual([
      {
        path: "bounds.f",
        message:
          "step (0.01) is too fine for values near 1000000000000001: it must be at least 7.2 there, for each value to be told back as itself",
      },
    ]);
    expect(issues({ min: 100000, max: 100000.001, step: 0.001 })).toEqual([]);
    // The least step named is allowed: rounded up, not to the nearest.
    const least = issues({ min: 1e15, max: 1e15 + 72, step: 0.01 })[0]!.message.match(
      /at least (\S+) there/,
    )![1]!;
    expect(issues({ min: 1e15, max: 1e15 + 72, step: Number(least) })).toEqual([]);
    // Whole numbers that large: an int holds them.
    expect(issues({ min: 1.5e14, max: 1.5e14 + 100, step: 1 })[0]!.message).toMatch(/\(or use type "int"\)$/);
    // One value is no grid, however max is written.
    expect(issues({ min: 1, max: 1.0000000000000002, step: 0.5 })).toEqual([
      { path: "bounds.f", message: "max (1.0000000000000002) must be at least min (1) plus one step (0.5)" },
    ]);
    expect(issues({ min: 100000, max: 100000.0000007, step: 1e-7 })).toEqual([]);
  });
});
