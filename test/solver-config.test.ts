import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/errors.js";
import { resolveSolverConfig, solverConfigIssues } from "../src/solver/config.js";

const valid = { seed: 1, budget: 50, bounds: { x: { min: 0, max: 1 } } };

describe("solver config", () => {
  it("accepts a minimal config and fills defaults", () => {
    expect(solverConfigIssues(valid)).toEqual([]);
    expect(resolveSolverConfig(valid)).toEqual({
      seed: 1,
      budget: 50,
      bounds: valid.bounds,
      probeRatio: 0.2,
      probeSize: 10,
      strategy: "auto",
      direction: "minimize",
      autoOptions: {},
      batch: undefined,
      pruner: undefined,
      startPoints: [],
      inspect: undefined,
    });
  });

  it("reads optional keys set to undefined as left out", () => {
    const loose = {
      ...valid,
      probeRatio: undefined,
      strategy: undefined,
      direction: undefined,
      batch: undefined,
      inspect: undefined,
    };
    expect(solverConfigIssues(loose)).toEqual([]);
    expect(resolveSolverConfig(loose)).toEqual(resolveSolverConfig(valid));
    expect(solverConfigIssues({ ...valid, batch: null })).toEqual([
      { path: "batch", message: "expected a number, got null" },
    ]);
  });

  it("reports every problem at once, each with its path", () => {
    const issues = solverConfigIssues({
      seed: 1.5,
      budget: 0,
      bounds: { a: { min: 3, max: 1 }, lr: { min: 0, max: 1, scale: "log" }, c: { min: Number.NaN, max: 2 } },
      probeRatio: 0,
      strategy: "cma",
      batch: -1,
      colour: "red",
    });
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath).toEqual({
      colour:
        "unknown key (known: seed, budget, bounds, probeRatio, strategy, direction, autoOptions, batch, pruner, startPoints)",
      seed: "expected a safe integer, got 1.5",
      budget: "expected a whole number greater than 0, got 0",
      "bounds.a": "min (3) must not exceed max (1)",
      "bounds.lr": "log scale needs min > 0, got min = 0",
      "bounds.c.min": "expected a finite number, got NaN",
      probeRatio: "expected a number in (0, 1], got 0",
      strategy: 'expected one of "auto", "nelder-mead", "tpe", got "cma"',
      batch: "expected a whole number greater than 0, got -1",
    });
    expect(issues).toHaveLength(9);
  });

  it("caps the default probe at max(10, 2d + 2) points but follows an explicit probeRatio", () => {
    const box = (d: number) =>
      Object.fromEntries(Array.from({ length: d }, (_, i) => [`x${i}`, { min: 0, max: 1 }]));
    expect(resolveSolverConfig({ seed: 1, budget: 100, bounds: box(2) }).probeSize).toBe(10);
    expect(resolveSolverConfig({ seed: 1, budget: 100, bounds: box(6) }).probeSize).toBe(14);
    expect(resolveSolverConfig({ seed: 1, budget: 200, bounds: box(5) }).probeSize).toBe(12);
    expect(resolveSolverConfig({ seed: 1, budget: 30, bounds: box(6) }).probeSize).toBe(6);
    expect(resolveSolverConfig({ seed: 1, budget: 200, bounds: box(5), probeRatio: 0.2 }).probeSize).toBe(40);
    expect(resolveSolverConfig({ seed: 1, budget: 7, bounds: box(1), probeRatio: 1 }).probeSize).toBe(7);
  });

  it("rejects unknown keys inside a bound and an empty bounds object", () => {
    expect(
      solverConfigIssues({ ...valid, bounds: { x: { type: "categorical", choices: [1, 2], step: 1 } } }),
    ).toEqual([{ path: "bounds.x.step", message: 'unknown key (step is only for type "float" or "int")' }]);
    expect(solverConfigIssues({ ...valid, bounds: {} })).toEqual([
      { path: "bounds", message: "expected at least one parameter" },
    ]);
  });

  it("rejects parameter names that a plain object cannot hold", () => {
    for (const name of ["__proto__", "constructor", "prototype"]) {
      const bounds = JSON.parse(`{"${name}": {"min": 0, "max": 1}}`) as Record<
        string,
        { min: number; max: number }
      >;
      expect(solverConfigIssues({ ...valid, bounds })).toEqual([
        { path: "bounds", message: `"${name}" is reserved and cannot name a parameter` },
      ]);
    }
  });

  it("says an int bound past 2^53 is out of range, not that it is not whole", () => {
    expect(solverConfigIssues({ ...valid, bounds: { a: { type: "int", min: 0, max: 2 ** 53 } } })).toEqual([
      { path: "bounds.a.max", message: "expected a whole number within ±(2^53 − 1), got 9007199254740992" },
    ]);
  });

  it("rejects an empty parameter name in a new config, and reopens a saved run that has one", () => {
    expect(solverConfigIssues({ ...valid, bounds: { "": { min: 0, max: 1 } } })).toEqual([
      { path: "bounds", message: "a parameter name must not be empty" },
    ]);
    // Saved before the name was refused: such a run still reopens.
    const saved = resolveSolverConfig({ ...valid, bounds: { "": { min: 0, max: 1 } } }, "saved");
    expect(Object.keys(saved.bounds)).toEqual([""]);
  });

  it("names every reserved parameter name and still reports every other problem", () => {
    const raw = JSON.parse(
      '{"bounds": {"constructor": {"min": 0, "max": 1}, "__proto__": {"min": 0, "max": 1}, "x": {"min": 2, "max": 1}}, "budget": 0, "seed": "x", "bugdet": 3}',
    );
    const issues = solverConfigIssues(raw);
    expect(issues.slice(0, 2)).toEqual([
      { path: "bounds", message: '"constructor" is reserved and cannot name a parameter' },
      { path: "bounds", message: '"__proto__" is reserved and cannot name a parameter' },
    ]);
    expect(issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(["bounds", "bounds.x", "budget", "seed", "bugdet"]),
    );
  });

  it("still finds a cycle of conditions beside a condition on a reserved name", () => {
    const raw = JSON.parse(
      '{"bounds": {"constructor": {"type": "categorical", "choices": ["a", "b"]}, "y": {"min": 0, "max": 1, "when": {"constructor": ["a"]}}, "p": {"type": "categorical", "choices": ["u", "v"], "when": {"q": ["u"]}}, "q": {"type": "categorical", "choices": ["u", "v"], "when": {"p": ["u"]}}}, "budget": 10, "seed": 1}',
    );
    const issues = solverConfigIssues(raw);
    expect(issues[0]).toEqual({
      path: "bounds",
      message: '"constructor" is reserved and cannot name a parameter',
    });
    expect(issues.some((issue) => issue.message.includes("cycle"))).toBe(true);
    expect(issues.some((issue) => issue.message.includes("unknown parameter"))).toBe(false);
  });

  it("does not call a condition on a reserved name a condition on an unknown parameter", () => {
    const raw = JSON.parse(
      '{"bounds": {"constructor": {"type": "categorical", "choices": ["a", "b"]}, "y": {"min": 0, "max": 1, "when": {"constructor": ["a"]}}}, "budget": 10, "seed": 1}',
    );
    expect(solverConfigIssues(raw)).toEqual([
      { path: "bounds", message: '"constructor" is reserved and cannot name a parameter' },
    ]);
  });

  it("rejects missing fields and non-objects", () => {
    expect(solverConfigIssues({ bounds: valid.bounds }).map((i) => i.path)).toEqual(["seed", "budget"]);
    expect(solverConfigIssues(null)).toEqual([{ path: "", message: "expected a configuration object" }]);
    // An array with a config's keys (start points included) is no config object either.
    const array = Object.assign([], { ...valid, startPoints: [{ x: 0.5 }] });
    expect(solverConfigIssues(array)).toEqual([{ path: "", message: "expected a configuration object" }]);
  });

  it("throws a ConfigError that lists the problems", () => {
    try {
      resolveSolverConfig({ ...valid, budget: -3, probeRatio: 2 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const e = error as ConfigError;
      expect(e.issues.map((i) => i.path)).toEqual(["budget", "probeRatio"]);
      expect(e.message).toContain("budget: expected a whole number greater than 0");
    }
  });
});

describe("a config field of the wrong shape", () => {
  const base = { seed: 1, budget: 5 };
  const x = { min: 0, max: 1 };
  it("says what shape was expected, where the schema's type dump said nothing a user could use", () => {
    const cases: [unknown, string, string][] = [
      [
        { ...base, bounds: [{ name: "x", min: 0, max: 1 }] },
        "bounds",
        'expected an object of parameters by name, such as { "x": { "min": 0, "max": 1 } }',
      ],
      [
        { ...base, bounds: { o: { type: "categorical", choices: ["a"] }, m: { ...x, when: ["o"] } } },
        "bounds.m.when",
        'expected an object of the parent\'s choices by its name, such as { "optimizer": ["sgd"] }',
      ],
      [
        { ...base, bounds: { o: { type: "categorical", choices: "ab" } } },
        "bounds.o.choices",
        "expected a list of choices",
      ],
      [
        { ...base, bounds: { x }, autoOptions: [] },
        "autoOptions",
        'expected an object of options, such as { "gamma": 0.15 }',
      ],
    ];
    for (const [config, path, message] of cases)
      expect(solverConfigIssues(config)).toEqual([{ path, message }]);
  });

  it("keeps the message of a field inside it", () => {
    expect(solverConfigIssues({ ...base, bounds: { x }, autoOptions: { gamma: "a" } })).toEqual([
      { path: "autoOptions.gamma", message: 'expected a number, got "a"' },
    ]);
    expect(solverConfigIssues({ ...base, bounds: { o: { type: "categorical", choices: [] } } })).toEqual([
      { path: "bounds.o.choices", message: "expected at least one choice" },
    ]);
  });
});
