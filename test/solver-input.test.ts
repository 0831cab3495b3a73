// What the solver does with the caller's input: it copies what it keeps, reads only a config's own
// keys, and refuses what it cannot keep faithfully, naming the field.
import { describe, expect, it } from "vitest";
import { ConfigError, ResultsRejectedError, UsageError } from "../src/errors.js";
import { resolveSolverConfig, type SolverConfig, solverConfigIssues } from "../src/solver/config.js";
import { minimize } from "../src/solver/minimize.js";
import { createSolver, restoreSolver, type Solver } from "../src/solver/solver.js";

const asks = (solver: Solver, n: number) => {
  const seen: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const [trial] = solver.ask({ max: 1 })!;
    seen.push(trial!.params);
    solver.tell({ id: trial!.id, value: i % 3 });
  }
  return seen;
};

describe("the solver's own copy of its config", () => {
  it("is not changed by later edits of the caller's config, trials or artifact", () => {
    const config = {
      seed: 1,
      budget: 20,
      bounds: {
        x: { min: 0, max: 1 },
        c: { type: "categorical" as const, choices: [{ name: "a" }, { name: "b" }] },
      },
    };
    const solver = createSolver(config);
    const twin = createSolver(structuredClone(config));
    config.seed = 2;
    config.bounds.x.max = 1000;
    const artifact = solver.toJSON();
    (artifact.config.bounds as Record<string, { min: number }>).x!.min = -50;
    const [trial] = solver.ask({ max: 1 })!;
    (trial!.params.c as { name: string }).name = "changed";
    solver.tell({ id: trial!.id, value: 1 });
    const [mirror] = twin.ask({ max: 1 })!;
    twin.tell({ id: mirror!.id, value: 1 });
    expect(asks(solver, 8)).toEqual(asks(twin, 8));
    expect(solver.toJSON().config).toEqual(
      structuredClone({ ...config, seed: 1, bounds: { ...config.bounds, x: { min: 0, max: 1 } } }),
    );
    expect(JSON.stringify(solver.toJSON().config)).not.toContain("changed");
    // A restored solver continues exactly, whatever happens to the artifact afterwards.
    const saved = solver.toJSON();
    const restored = restoreSolver(saved);
    (saved.config as { seed: number }).seed = 99;
    expect(asks(restored, 5)).toEqual(asks(twin, 5));
  });
});

describe("the artifact is the caller's, both ways", () => {
  const config = {
    seed: 3,
    budget: 40,
    strategy: "nelder-mead" as const,
    bounds: {
      kind: { type: "categorical" as const, choices: ["a", "b"] },
      x: { min: 0, max: 1 },
      y: { min: 0, max: 1 },
    },
  };
  const objective = (p: Record<string, unknown>) =>
    (p.kind === "a" ? 0 : 1) + ((p.x as number) - 0.3) ** 2 + ((p.y as number) - 0.6) ** 2;
  const drive = (solver: Solver, rounds: number) => {
    const seen: unknown[] = [];
    for (let i = 0; i < rounds; i++) {
      const batch = solver.ask();
      if (batch === null) break;
      for (const trial of batch) {
        seen.push(trial.params);
        solver.tell({ id: trial.id, value: objective(trial.params) });
      }
    }
    return seen;
  };

  it("editing an artifact from toJSON changes nothing in the solver", () => {
    const solver = createSolver(config);
    drive(solver, 3);
    const before = JSON.stringify(solver.toJSON());
    const artifact = solver.toJSON();
    (artifact.told[0] as { value: number }).value = -1;
    (artifact.machine.value as Record<string, string>).refine = "somethingElse";
    expect(JSON.stringify(solver.toJSON())).toBe(before);
    expect(restoreSolver(JSON.parse(before)).best()!.value).toBe(solver.best()!.value);
  });

  it("editing an artifact after restoring from it changes nothing in the restored solver", () => {
    const solver = createSolver(config);
    drive(solver, 3);
    const text = JSON.stringify(solver.toJSON());
    const artifact = JSON.parse(text);
    const restored = restoreSolver(artifact);
    artifact.strategy.subspace.base.fill(0.99);
    artifact.told[0].value = -1;
    expect(drive(restored, 5)).toEqual(drive(restoreSolver(JSON.parse(text)), 5));
    expect(restored.toJSON().told[0]).toEqual(JSON.parse(text).told[0]);
  });
});

describe("parameter names and values", () => {
  it("an inactive parameter given as undefined in a warm start counts as left out", () => {
    const solver = createSolver({
      seed: 1,
      budget: 12,
      bounds: {
        opt: { type: "categorical", choices: ["adam", "sgd"] },
        lr: { min: 1e-4, max: 1, scale: "log", when: { opt: ["sgd"] } },
        x: { min: 0, max: 1 },
      },
    });
    solver.tell({ params: { opt: "adam", lr: undefined, x: 0.3 } as never, value: -1 });
    expect(solver.best()!.params).toEqual({ opt: "adam", x: 0.3 });
    // The run goes on: every probe result is told without a throw.
    for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
      for (const trial of batch) solver.tell({ id: trial.id, value: (trial.params.x as number) - 0.5 });
    }
    expect(solver.told).toBe(13);
  });

  it("refuses an int grid a double cannot count and a probe too large to build, naming the field", () => {
    expect(
      solverConfigIssues({
        seed: 1,
        budget: 10,
        bounds: { n: { type: "int", min: -(2 ** 53 - 1), max: 2 ** 53 - 1 } },
      }).map((i) => i.path),
    ).toEqual(["bounds.n"]);
    expect(() =>
      createSolver({ seed: 1, budget: 2 ** 33, probeRatio: 1, bounds: { x: { min: 0, max: 1 } } }),
    ).toThrow(/probeRatio: the probe would take 8589934592 points \(budget × probeRatio\); at most 1000000/);
  });

  it("reads only a params object's own keys, so a parameter may be named after Object.prototype", () => {
    // Typed at run time: the compiler's own view of `valueOf` is Object.prototype's.
    const config: SolverConfig = {
      seed: 1,
      budget: 10,
      bounds: {
        mode: { type: "categorical", choices: ["fast", "slow"] },
        valueOf: { min: 0, max: 1, when: { mode: ["fast"] } },
      },
    };
    const solver = createSolver(config);
    solver.tell({ params: { mode: "slow" }, value: 1 });
    expect(() => solver.tell({ params: { mode: "fast" }, value: 1 })).toThrow(/params\.valueOf: missing/);
    solver.tell({ params: { mode: "fast", valueOf: 0.5 }, value: 0 });
    expect(solver.best()!.params).toEqual({ mode: "fast", valueOf: 0.5 });
  });

  it("refuses a told categorical value that is not JSON, naming the parameter", () => {
    const solver = createSolver({
      seed: 1,
      budget: 10,
      bounds: { x: { min: 0, max: 1 }, c: { type: "categorical", choices: [{}, null] } },
    });
    expect(() => solver.tell({ params: { x: 0.5, c: new Date(0) as never }, value: 1 })).toThrow(
      /params\.c: .* is not one of the choices/,
    );
    expect(() => solver.tell({ params: { x: 0.5, c: Number.NaN as never }, value: 1 })).toThrow(/params\.c/);
    expect(solver.told).toBe(0);
  });

  it("refuses ask options that are not an object holding a whole max, and asks nothing", () => {
    const solver = createSolver({ seed: 1, budget: 10, bounds: { x: { min: 0, max: 1 } } });
    const ask = (options: unknown) => () => solver.ask(options as never);
    expect(ask(3)).toThrow(new UsageError("ask: options must be an object such as { max: 4 }, got 3"));
    expect(ask(null)).toThrow("ask: options must be an object such as { max: 4 }, got null");
    expect(ask([2])).toThrow(/ask: options must be an object/);
    expect(ask({ maxx: 2 })).toThrow('ask: unknown option "maxx" (the only one is max)');
    expect(ask({ max: 0 })).toThrow("ask: max must be a whole number greater than 0, got 0");
    expect(ask({ max: "2" })).toThrow('ask: max must be a whole number greater than 0, got "2"');
    expect(solver.asked).toBe(0);
    expect(solver.ask({ max: 2 })).toHaveLength(2);
    expect(solver.ask({})).not.toBeNull();
  });

  it("refuses a batch with every problem as data: the entry's position, where in it, and why", () => {
    const solver = createSolver({ seed: 1, budget: 10, bounds: { x: { min: 0, max: 1 } } });
    const [trial] = solver.ask({ max: 1 })!;
    let refusal: unknown;
    try {
      solver.tell([
        { id: trial!.id, value: 1 },
        { params: { x: 2, y: 0 } as never, value: 1 },
        { id: 99, value: Number.NaN },
      ]);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(ResultsRejectedError);
    expect(refusal).toBeInstanceOf(UsageError);
    const { issues, message } = refusal as ResultsRejectedError;
    expect(issues).toEqual([
      { index: 1, path: ".params.y", message: "unknown parameter" },
      { index: 1, path: ".params.x", message: "2 is outside [0, 1]" },
      { index: 2, path: ".value", message: "expected a finite number, got NaN" },
      { index: 2, path: ".id", message: "trial 99 was never asked" },
    ]);
    expect(message).toBe(
      "tell rejected; nothing was recorded:\n  - result[1].params.y: unknown parameter\n" +
        "  - result[1].params.x: 2 is outside [0, 1]\n  - result[2].value: expected a finite number, got NaN\n" +
        "  - result[2].id: trial 99 was never asked",
    );
    expect(solver.told).toBe(0);
    // A single result is named "result", and its issue's index is 0.
    expect(() => solver.tell({ id: 99, value: 1 })).toThrow(
      "tell rejected; nothing was recorded:\n  - result.id: trial 99 was never asked",
    );
  });

  it("refuses a sparse batch at its hole, recording none of it", () => {
    const solver = createSolver({ seed: 1, budget: 6, bounds: { x: { min: 0, max: 1 } } });
    const batch = solver.ask({ max: 3 })!;
    // As a caller filling `new Array(n)` only for the trials that finished leaves it.
    const results: { id: number; value: number }[] = [];
    results[0] = { id: batch[0]!.id, value: 1 };
    results[2] = { id: batch[1]!.id, value: 2 };
    expect(() => solver.tell(results)).toThrow(
      "tell rejected; nothing was recorded:\n  - result[1]: expected an object",
    );
    expect(solver.toJSON().trials.map((t) => t.status)).toEqual(["pending", "pending", "pending"]);
    expect(solver.best()).toBeNull();
  });

  it("hands back a warm-start point's params exactly as told, before and after a restore", () => {
    const bounds = {
      lr: { min: 1e-5, max: 0.3, scale: "log" as const },
      x: { min: -3, max: 7 },
      n: { type: "int" as const, min: 1, max: 500, scale: "log" as const },
      c: { type: "categorical" as const, choices: [{ depth: 2 }, { depth: 4 }] },
    };
    // Each float here moves in the last bit when taken to the unit cube and back.
    const told = { lr: 0.003, x: 0.7, n: 37, c: { depth: 4 } };
    const solver = createSolver({ seed: 1, budget: 10, bounds });
    solver.tell({ params: told, value: -1 });
    told.c.depth = 9;
    expect(solver.best()!.params).toEqual({ lr: 0.003, x: 0.7, n: 37, c: { depth: 4 } });
    expect(restoreSolver(solver.toJSON()).best()!.params).toEqual({
      lr: 0.003,
      x: 0.7,
      n: 37,
      c: { depth: 4 },
    });
    (solver.best()!.params.c as { depth: number }).depth = 9;
    expect(solver.best()!.params.c).toEqual({ depth: 4 });
  });
});

describe("config checks", () => {
  it("refuses a float range too wide for a double, naming the parameter", () => {
    const issues = solverConfigIssues({
      seed: 1,
      budget: 10,
      bounds: { x: { min: -1.7e308, max: 1.7e308 } },
    });
    expect(issues).toEqual([
      { path: "bounds.x", message: "the range max − min must be a finite number, got Infinity" },
    ]);
  });

  it("refuses choices with holes, which no JSON artifact can hold", () => {
    const holed: unknown[] = [];
    holed[1] = 1; // index 0 is a hole, not a value
    const choices = [holed, [null, 1]] as never;
    expect(() =>
      createSolver({ seed: 1, budget: 10, bounds: { c: { type: "categorical", choices } } }),
    ).toThrow(ConfigError);
  });

  it("follows an explicit probeRatio exactly, whatever the product's rounding", () => {
    // 100 · 0.07 is 7.000000000000001 in doubles, 50 · 0.14 is 7.000000000000001 too.
    const bounds = { x: { min: 0, max: 1 } };
    expect(resolveSolverConfig({ seed: 1, budget: 100, bounds, probeRatio: 0.07 }).probeSize).toBe(7);
    expect(resolveSolverConfig({ seed: 1, budget: 50, bounds, probeRatio: 0.14 }).probeSize).toBe(7);
    expect(resolveSolverConfig({ seed: 1, budget: 300, bounds, probeRatio: 0.2 }).probeSize).toBe(60);
    expect(resolveSolverConfig({ seed: 1, budget: 10, bounds, probeRatio: 1e-12 }).probeSize).toBe(1);
  });
});

describe("minimize's options and reports", () => {
  const config = { seed: 2, budget: 6, bounds: { x: { min: 0, max: 1 } } };

  it("refuses an onError it does not know", async () => {
    await expect(minimize(() => 1, config, { onError: "Stop" as never })).rejects.toThrow(UsageError);
    await expect(minimize(() => 1, config, { onError: "Stop" as never })).rejects.toThrow(
      /onError must be "stop" or "skip", got "Stop"/,
    );
  });

  it("fails a trial that reports a negative step, as the solver's own report does", async () => {
    const result = await minimize(
      (_params, context) => {
        context.report(-1, 5);
        return 1;
      },
      config,
      { onError: "skip" },
    );
    expect(result.failures).toHaveLength(6);
    expect(String(result.failures[0]!.error)).toMatch(/step must be a whole number ≥ 0/);
  });
});

describe("what a wrong type is shown as", () => {
  const config = { seed: 2, budget: 6, bounds: { x: { min: 0, max: 1 } } };

  it("quotes a string where a number belongs, so the message does not contradict itself", async () => {
    const solver = createSolver(config);
    const [trial] = solver.ask({ max: 1 })!;
    expect(() => solver.report(trial!.id, "3" as never, 0.5)).toThrow(
      'step must be a whole number ≥ 0, got "3"',
    );
    expect(() => solver.report(trial!.id, 3, "0.5" as never)).toThrow(
      'value must be a finite number, got "0.5"',
    );
    expect(() => solver.tell({ id: trial!.id, value: "2" as never })).toThrow(
      'expected a finite number, got "2"',
    );
    expect(() => solver.ask({ max: "2" as never })).toThrow(
      'max must be a whole number greater than 0, got "2"',
    );
    await expect(minimize(() => 1, config, { concurrency: "4" as never })).rejects.toThrow(
      'concurrency must be a whole number greater than 0, got "4"',
    );
    const result = await minimize(() => "0.25" as never, config, { onError: "skip" });
    expect(String(result.failures[0]!.error)).toMatch(
      /objective returned "0.25" \(expected a finite number\)/,
    );
  });
});

describe("a failed trial's reason", () => {
  const config = { seed: 2, budget: 6, bounds: { x: { min: 0, max: 1 } } };

  it("keeps an Error's message, as a JavaScript catch block would pass it", () => {
    const solver = createSolver(config);
    const [trial] = solver.ask({ max: 1 })!;
    solver.fail(trial!.id, new Error("disk full") as never);
    expect(solver.toJSON().told).toEqual([{ id: trial!.id, failed: "disk full" }]);
  });

  it("refuses a reason that is not a string, naming it, and keeps the run savable", () => {
    const solver = createSolver(config);
    const [trial] = solver.ask({ max: 1 })!;
    expect(() => solver.fail(trial!.id, { status: 503, retry() {} } as never)).toThrow(
      "fail: reason must be a string, got an object",
    );
    expect(solver.toJSON().trials[0]!.status).toBe("pending");
    expect(() => solver.toJSON()).not.toThrow();
    solver.fail(trial!.id, "503 from backend");
    expect(restoreSolver(solver.toJSON()).toJSON().told).toEqual([
      { id: trial!.id, failed: "503 from backend" },
    ]);
  });

  it("refuses options it does not take, so a misspelt cancelled is not recorded as a crash", () => {
    const solver = createSolver(config);
    const [trial] = solver.ask({ max: 1 })!;
    expect(() => solver.fail(trial!.id, "interrupted", { canceled: true } as never)).toThrow(
      'fail: unknown option "canceled" (the only one is cancelled)',
    );
    expect(() => solver.fail(trial!.id, "interrupted", { cancelled: "yes" } as never)).toThrow(
      'fail: cancelled must be true or false, got "yes"',
    );
    expect(() => solver.fail(trial!.id, "interrupted", true as never)).toThrow(
      "fail: options must be an object such as { cancelled: true }, got true",
    );
    expect(solver.toJSON().trials[0]!.status).toBe("pending");
    solver.fail(trial!.id, "interrupted", { cancelled: true });
    expect(solver.toJSON().told).toEqual([{ id: trial!.id, failed: "interrupted", cancelled: true }]);
  });
});
