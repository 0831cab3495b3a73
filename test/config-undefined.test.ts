import fc from "fast-check";
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { withoutUndefinedKeys } from "../src/config-input.js";
import { type EngineConfig, engineConfigIssues, resolveEngineConfig } from "../src/engine/config.js";
import {
  resolveSafetyOptions,
  type SafetyOptions,
  safetyOptionIssues,
} from "../src/engine/safety/safety-config.js";
import { resolveSpsaOptions } from "../src/engine/spsa/options.js";
import type { ConfigIssue } from "../src/errors.js";
import { GUARDRAIL_PRESETS, guardrailIssues, resolveGuardrails } from "../src/hotpath/guardrails.js";
import { resolveSolverConfig, type SolverConfig, solverConfigIssues } from "../src/solver/config.js";
import { createSolver } from "../src/solver/solver.js";
import { digestOf, engineRig } from "./support/engine-harness.js";

type Path = readonly string[];
type Json = Record<string, unknown>;

const isPlain = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** A copy of `root` (plain objects copied along `path` only) with `path` set to `undefined` or removed. */
function edit(root: Json, path: Path, how: "undefined" | "delete"): Json {
  const [head, ...rest] = path;
  if (head === undefined || !Object.hasOwn(root, head)) return root;
  const copy: Json = { ...root };
  if (rest.length === 0) {
    if (how === "delete") delete copy[head];
    else copy[head] = undefined;
    return copy;
  }
  const child = root[head];
  // A parent already removed or set to undefined: nothing below it left to edit.
  if (!isPlain(child)) return root;
  copy[head] = edit(child, rest, how);
  return copy;
}

/** Freezes every plain object of `value` (so any mutation by the code under test throws). */
function deepFreeze<T>(value: T): T {
  if (isPlain(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Every path of a plain-object tree, parents before children; functions and class instances are leaves. */
function pathsOf(value: Json, prefix: Path = []): Path[] {
  const out: Path[] = [];
  for (const [key, child] of Object.entries(value)) {
    const path = [...prefix, key];
    out.push(path);
    if (isPlain(child)) out.push(...pathsOf(child, path));
  }
  return out;
}

const noop = () => {};
const SCHEDULER = new VirtualTimeScheduler();

/** A valid engine config that gives every option, at every level. */
const FULL_ENGINE: Json = deepFreeze({
  seed: 3,
  params: {
    x: { min: 0, max: 10, init: 4, maxDelta: 0.5, scale: "linear" },
    y: { min: 1, max: 100, init: 10, maxDelta: 5, scale: "log" },
  },
  spsa: {
    a: 0.1,
    c: 0.05,
    A: 5,
    schedule: "decaying",
    alpha: 0.6,
    gamma: 0.1,
    calibrationIterations: 4,
    autoStepFraction: 0.4,
    autoJitter: 0.1,
    smoothing: 0.5,
    adaptC: false,
  },
  window: { digests: 4, ms: 300, aggregation: "median", trim: 0.2 },
  guardrails: {
    preset: "conservative",
    maxDeltaFraction: 0.2,
    maxUpdatesPerSecond: 5,
    minIntervalMs: 50,
    cooldownMs: 1000,
    flipLimit: 4,
    flipWindowMs: 30_000,
    changeBudget: 0.8,
    budgetWindowMs: 20_000,
    regressionLimit: 4,
  },
  settleMs: 5,
  maxAgeMs: 5000,
  maxSkewMs: 200,
  stallAfter: 4,
  auditCapacity: 512,
  auditDrainMs: 2,
  runId: "full",
  shared: false,
  captureDigests: true,
  safety: {
    safeMode: { dwellMs: 1000, healthyWindows: 2 },
    governor: {
      spikeSigmas: 5,
      spikeRatio: 0.5,
      spikeHold: 2,
      historySize: 20,
      minHistory: 5,
      spikeBeyondBaseline: false,
      sigmaFloor: 0.01,
      divergenceWindows: 3,
      divergenceThreshold: 0.5,
      divergenceSigmas: 2,
      repeatLimit: 3,
      repeatPeriodMs: 60_000,
    },
    thrashing: { flipLimit: 3, flipWindowMs: 10_000, deadBand: 0.05 },
    thrashingCooldownMs: 500,
    changeBudget: { changeBudget: 0.7, budgetWindowMs: 10_000, buckets: 10 },
    emergencyMargin: -0.3,
    violationLimit: 4,
    violationWindowMs: 30_000,
    rollbacksPerHour: 2,
    breaker: { failureThreshold: 2, baseBackoffMs: 500, maxBackoffMs: 5000 },
  },
  scheduler: SCHEDULER,
  onApply: noop,
  auditSink: noop,
  inspect: noop,
  onCommand: noop,
});

/**
 * Whether a path names a key that is not optional: the top-level ones listed, a named entry of the
 * record (a parameter is not an option: set to undefined it is refused by name), or its min/max.
 */
const isRequired = (path: Path, topLevel: readonly string[], ranges: string) =>
  (path.length === 1 && topLevel.includes(path[0]!)) ||
  (path.length === 2 && path[0] === ranges) ||
  (path.length === 3 && path[0] === ranges && (path[2] === "min" || path[2] === "max"));

/** Every optional key of the full engine config, at every level. */
const ENGINE_OPTIONAL_PATHS = pathsOf(FULL_ENGINE).filter(
  (p) => !isRequired(p, ["seed", "params"], "params"),
);

/** A valid solver config that gives every option. */
const FULL_SOLVER: Json = deepFreeze({
  seed: 5,
  budget: 40,
  bounds: { x: { min: -1, max: 1, scale: "linear" }, y: { min: 1, max: 100, scale: "log" } },
  probeRatio: 0.3,
  strategy: "tpe",
  batch: 3,
  pruner: { kind: "median", startupTrials: 3, warmupSteps: 2 },
  inspect: noop,
});

const SOLVER_OPTIONAL_PATHS = pathsOf(FULL_SOLVER).filter(
  // A pruner's kind says which pruner it is: required whenever a pruner is given.
  (p) => !isRequired(p, ["seed", "budget", "bounds"], "bounds") && p.join(".") !== "pruner.kind",
);

/** What a config resolves to: its issues when invalid, else the resolved config. */
function engineOutcome(config: Json): { issues: ConfigIssue[] } | { resolved: unknown } {
  const issues = engineConfigIssues(config);
  return issues.length > 0
    ? { issues }
    : { resolved: resolveEngineConfig(config as unknown as EngineConfig) };
}

function solverOutcome(config: Json): { issues: ConfigIssue[] } | { resolved: unknown } {
  const issues = solverConfigIssues(config);
  return issues.length > 0 ? { issues } : { resolved: resolveSolverConfig(config) };
}

describe("engine config: a key set to undefined is a key left out", () => {
  it("the full config is valid, and the table covers every nesting level", () => {
    expect(engineConfigIssues(FULL_ENGINE)).toEqual([]);
    const depths = new Set(ENGINE_OPTIONAL_PATHS.map((p) => p.length));
    expect([...depths].sort()).toEqual([1, 2, 3]);
    expect(ENGINE_OPTIONAL_PATHS.map((p) => p.join("."))).toEqual(
      expect.arrayContaining(["params.x.init", "window.ms", "safety.safeMode.dwellMs", "safety.breaker"]),
    );
  });

  it.each(ENGINE_OPTIONAL_PATHS.map((p) => [p.join("."), p] as const))(
    "%s = undefined resolves exactly as the key absent",
    (_name, path) => {
      const withUndefined = deepFreeze(edit(FULL_ENGINE, path, "undefined"));
      const absent = edit(FULL_ENGINE, path, "delete");
      expect(engineConfigIssues(withUndefined)).toEqual(engineConfigIssues(absent));
      expect(engineConfigIssues(withUndefined)).toEqual([]);
      expect(resolveEngineConfig(withUndefined as unknown as EngineConfig)).toEqual(
        resolveEngineConfig(absent as unknown as EngineConfig),
      );
    },
  );

  it("window: { digests: 5, ms: undefined } counts digests only, as ms omitted does", () => {
    const resolved = resolveEngineConfig({
      seed: 1,
      params: { x: { min: 0, max: 1 } },
      window: { digests: 5, ms: undefined },
    });
    expect(resolved.window).toEqual({
      digests: 5,
      ms: undefined,
      aggregation: "trimmed-mean",
      trim: 0.1,
      stretch: true,
    });
  });

  it("window: undefined gets the default 1 digest or 500 ms", () => {
    const resolved = resolveEngineConfig({ seed: 1, params: { x: { min: 0, max: 1 } }, window: undefined });
    expect(resolved.window).toEqual({
      digests: 1,
      ms: 500,
      aggregation: "trimmed-mean",
      trim: 0.1,
      stretch: true,
    });
  });

  it("keeps the caller's object as it was, undefined keys included", () => {
    const window = { digests: 5, ms: undefined };
    const params = { x: { min: 0, max: 1, init: undefined } };
    const config: EngineConfig = { seed: 1, params, window, safety: { governor: undefined } };
    resolveEngineConfig(config);
    expect(Object.keys(window)).toEqual(["digests", "ms"]);
    expect(Object.keys(params.x)).toEqual(["min", "max", "init"]);
    expect(Object.keys(config.safety!)).toEqual(["governor"]);
    expect(config.window).toBe(window);
  });

  it("does not walk into the scheduler, even a plain object one, nor into functions", () => {
    const scheduler = { now: () => 0, schedule: SCHEDULER.schedule.bind(SCHEDULER), note: undefined };
    const onApply = Object.assign(() => {}, { tag: undefined });
    const resolved = resolveEngineConfig({ seed: 1, params: { x: { min: 0, max: 1 } }, scheduler, onApply });
    expect(resolved.scheduler).toBe(scheduler);
    expect(resolved.onApply).toBe(onApply);
    expect(Object.keys(scheduler)).toContain("note");
  });

  it("the parameter specs it resolves hold no undefined fields", () => {
    const resolved = resolveEngineConfig({
      seed: 1,
      params: { x: { min: 0, max: 10, init: undefined, maxDelta: undefined, scale: undefined } },
    });
    expect(resolved.params).toEqual({ x: { min: 0, max: 10, maxDelta: 1 } });
    expect(Object.keys(resolved.params.x!)).toEqual(["min", "max", "maxDelta"]);
  });

  it("an engine built with undefined keys makes the same applies as one built without them", () => {
    const base = {
      seed: 11,
      params: { x: { min: 0, max: 10, init: 6 }, y: { min: 1, max: 100, init: 30, scale: "log" } },
      window: { digests: 3 },
    } as const satisfies EngineConfig;
    const loose: EngineConfig = {
      seed: 11,
      params: {
        x: { min: 0, max: 10, init: 6, maxDelta: undefined, scale: undefined },
        y: { min: 1, max: 100, init: 30, scale: "log", maxDelta: undefined },
      },
      window: { digests: 3, ms: undefined, aggregation: undefined },
      spsa: { a: undefined, c: undefined, schedule: undefined },
      guardrails: { preset: undefined, minIntervalMs: undefined },
      safety: { governor: undefined, safeMode: { dwellMs: undefined }, breaker: undefined },
      settleMs: undefined,
      onApply: undefined,
      runId: undefined,
    };
    const trace = (config: EngineConfig) => {
      const rig = engineRig(config);
      const steps: number[][] = [];
      for (let i = 0; i < 150; i++) {
        rig.clock.advanceBy(100);
        const v = rig.engine.values;
        const objective = (v[0]! - 3) ** 2 + (Math.log(v[1]!) - Math.log(20)) ** 2 + 0.01 * Math.sin(i);
        rig.engine.observe(digestOf(rig.engine, objective));
        steps.push([rig.engine.generation, ...rig.engine.values]);
      }
      return steps;
    };
    const expected = trace(base);
    expect(expected.at(-1)![0]).toBeGreaterThan(10); // it really applied points
    expect(trace(loose)).toEqual(expected);
  });

  it("a random choice of optional keys deleted or set to undefined resolves identically", () => {
    fc.assert(
      fc.property(fc.subarray(ENGINE_OPTIONAL_PATHS), (chosen) => {
        let absent = FULL_ENGINE;
        let withUndefined = FULL_ENGINE;
        for (const path of chosen) {
          absent = edit(absent, path, "delete");
          withUndefined = edit(withUndefined, path, "undefined");
        }
        expect(engineOutcome(deepFreeze(withUndefined))).toEqual(engineOutcome(absent));
      }),
      { numRuns: 150 },
    );
  });
});

describe("engine config: null, NaN, wrong types and unknown keys are still refused", () => {
  const VALID = { seed: 1, params: { x: { min: 0, max: 10 } } };
  it.each([
    ["top level null", { ...VALID, settleMs: null }, "settleMs"],
    ["top level NaN", { ...VALID, stallAfter: Number.NaN }, "stallAfter"],
    ["top level unknown key", { ...VALID, colour: "red" }, "colour"],
    ["parameter field null", { ...VALID, params: { x: { min: 0, max: 10, init: null } } }, "params.x.init"],
    [
      "parameter field NaN",
      { ...VALID, params: { x: { min: 0, max: 10, maxDelta: Number.NaN } } },
      "params.x.maxDelta",
    ],
    ["parameter null", { ...VALID, params: { x: { min: 0, max: 10 }, y: null } }, "params.y"],
    ["window field null", { ...VALID, window: { digests: 5, ms: null } }, "window.ms"],
    ["window field wrong type", { ...VALID, window: { digests: "5" } }, "window.digests"],
    ["window null", { ...VALID, window: null }, "window"],
    ["spsa field null", { ...VALID, spsa: { c: null } }, "spsa.c"],
    ["spsa field NaN", { ...VALID, spsa: { A: Number.NaN } }, "spsa.A"],
    ["spsa unknown key", { ...VALID, spsa: { step: 1 } }, "spsa.step"],
    ["guardrail null", { ...VALID, guardrails: { minIntervalMs: null } }, "guardrails.minIntervalMs"],
    ["guardrail preset null", { ...VALID, guardrails: { preset: null } }, "guardrails.preset"],
    ["guardrail unknown key", { ...VALID, guardrails: { maxStep: 1 } }, "guardrails.maxStep"],
    ["safety field NaN", { ...VALID, safety: { emergencyMargin: Number.NaN } }, "safety.emergencyMargin"],
    ["SafeMode field null", { ...VALID, safety: { safeMode: { dwellMs: null } } }, "safety.safeMode.dwellMs"],
    ["SafeMode unknown key", { ...VALID, safety: { safeMode: { dwell: 1 } } }, "safety.safeMode.dwell"],
    [
      "governor field NaN",
      { ...VALID, safety: { governor: { spikeSigmas: Number.NaN } } },
      "safety.governor.spikeSigmas",
    ],
    [
      "thrashing field null",
      { ...VALID, safety: { thrashing: { flipLimit: null } } },
      "safety.thrashing.flipLimit",
    ],
    ["change budget null", { ...VALID, safety: { changeBudget: null } }, "safety.changeBudget"],
    ["safety unknown key", { ...VALID, safety: { panic: true } }, "safety.panic"],
    [
      "breaker field null",
      { ...VALID, safety: { breaker: { failureThreshold: null } } },
      "safety.breaker.failureThreshold",
    ],
    ["breaker unknown key", { ...VALID, safety: { breaker: { threshold: 2 } } }, "safety.breaker.threshold"],
    ["breaker null", { ...VALID, safety: { breaker: null } }, "safety.breaker"],
    [
      "breaker out of range",
      { ...VALID, safety: { breaker: { baseBackoffMs: 0 } } },
      "safety.breaker.baseBackoffMs",
    ],
  ] as const)("%s", (_name, config, path) => {
    const issues = engineConfigIssues(config);
    expect(issues.map((i) => i.path)).toEqual([path]);
    expect(() => resolveEngineConfig(config as unknown as EngineConfig)).toThrow(path);
  });

  it("names the value each check refused", () => {
    expect(engineConfigIssues({ ...VALID, window: { ms: null } })).toEqual([
      { path: "window.ms", message: "expected a number, got null" },
    ]);
    expect(engineConfigIssues({ ...VALID, guardrails: { minIntervalMs: null } })).toEqual([
      {
        path: "guardrails.minIntervalMs",
        message:
          "must be a number of milliseconds ≥ 0 and at most 2147483647 (about 24.8 days, the longest timer Node keeps), got null",
      },
    ]);
    expect(engineConfigIssues({ ...VALID, spsa: { c: null } })).toEqual([
      { path: "spsa.c", message: "must be in (0, 0.5], got null" },
    ]);
    expect(engineConfigIssues({ ...VALID, colour: "red" })).toEqual([
      { path: "colour", message: expect.stringMatching(/^unknown key; known: seed, params, spsa, window, /) },
    ]);
    // Misspellings at each level are named with the keys of that level.
    expect(
      engineConfigIssues({
        ...VALID,
        params: { x: { min: 0, max: 1, init: 0.5, maxdelta: 1 } },
        spsa: { alpah: 1 },
        window: { digest: 2 },
      }),
    ).toEqual([
      {
        path: "params.x.maxdelta",
        message: "unknown key (did you mean maxDelta?); known: min, max, init, baseline, maxDelta, scale",
      },
      {
        path: "window.digest",
        message: "unknown key (did you mean digests?); known: digests, ms, aggregation, trim, stretch",
      },
      {
        path: "spsa.alpah",
        message: expect.stringMatching(
          /^unknown key \(did you mean alpha\?\); known: a, c, A, schedule, alpha, gamma, /,
        ),
      },
    ]);
  });

  it("an unknown key set to undefined is a key left out, like any other", () => {
    expect(engineConfigIssues({ ...VALID, colour: undefined, window: { digest: undefined } })).toEqual([]);
  });
});

describe("option resolvers on their own treat undefined as absent", () => {
  const balanced = GUARDRAIL_PRESETS.balanced;

  it("guardrails", () => {
    expect(guardrailIssues({ preset: undefined, cooldownMs: undefined })).toEqual([]);
    expect(resolveGuardrails({ preset: undefined, cooldownMs: undefined })).toEqual(balanced);
    expect(resolveGuardrails({ preset: "aggressive", flipLimit: undefined })).toEqual(
      GUARDRAIL_PRESETS.aggressive,
    );
  });

  it("SPSA options", () => {
    expect(resolveSpsaOptions({ c: undefined, schedule: undefined, adaptC: undefined })).toEqual(
      resolveSpsaOptions({}),
    );
  });

  it("safety options, sub-objects included", () => {
    const loose = {
      governor: { spikeSigmas: undefined, historySize: 30 },
      thrashing: { flipLimit: undefined },
      changeBudget: { buckets: undefined },
      safeMode: { healthyWindows: undefined },
      breaker: { failureThreshold: undefined },
      rollbacksPerHour: undefined,
      // The detector and breaker option types do not admit `undefined` yet; JavaScript callers pass it anyway.
    } as unknown as SafetyOptions;
    const tight = {
      governor: { historySize: 30 },
      thrashing: {},
      changeBudget: {},
      safeMode: {},
      breaker: {},
    };
    expect(safetyOptionIssues(loose)).toEqual([]);
    expect(resolveSafetyOptions(loose, balanced)).toEqual(resolveSafetyOptions(tight, balanced));
    expect(resolveSafetyOptions(loose, balanced).thrashing?.flipLimit).toBe(balanced.flipLimit);
  });
});

describe("solver config: a key set to undefined is a key left out", () => {
  it("the full config is valid", () => {
    expect(solverConfigIssues(FULL_SOLVER)).toEqual([]);
  });

  it.each(SOLVER_OPTIONAL_PATHS.map((p) => [p.join("."), p] as const))(
    "%s = undefined resolves exactly as the key absent",
    (_name, path) => {
      const withUndefined = deepFreeze(edit(FULL_SOLVER, path, "undefined"));
      const absent = edit(FULL_SOLVER, path, "delete");
      expect(solverConfigIssues(withUndefined)).toEqual([]);
      expect(resolveSolverConfig(withUndefined)).toEqual(resolveSolverConfig(absent));
    },
  );

  it("a solver built with undefined keys asks the same trials", () => {
    const loose: SolverConfig = {
      seed: 9,
      budget: 30,
      bounds: { x: { min: -1, max: 1, scale: undefined } },
      probeRatio: undefined,
      strategy: undefined,
      batch: undefined,
      inspect: undefined,
    };
    const a = createSolver(loose);
    const b = createSolver({ seed: 9, budget: 30, bounds: { x: { min: -1, max: 1 } } });
    expect(a.ask()).toEqual(b.ask());
    expect(a.config).toEqual(b.config);
  });

  it.each([
    ["batch null", { batch: null }, "batch"],
    ["probeRatio NaN", { probeRatio: Number.NaN }, "probeRatio"],
    ["strategy wrong type", { strategy: 3 }, "strategy"],
    ["scale null", { bounds: { x: { min: 0, max: 1, scale: null } } }, "bounds.x.scale"],
    ["bound null", { bounds: { x: null } }, "bounds.x"],
    ["bound undefined (a dimension is not an option)", { bounds: { x: undefined } }, "bounds.x"],
    ["unknown key", { colour: "red" }, "colour"],
  ] as const)("still refuses %s", (_name, change, path) => {
    const config = { seed: 1, budget: 10, bounds: { x: { min: 0, max: 1 } }, ...change };
    expect(solverConfigIssues(config).map((i) => i.path)).toEqual([path]);
  });

  it("a random choice of optional keys deleted or set to undefined resolves identically", () => {
    fc.assert(
      fc.property(fc.subarray(SOLVER_OPTIONAL_PATHS), (chosen) => {
        let absent = FULL_SOLVER;
        let withUndefined = FULL_SOLVER;
        for (const path of chosen) {
          absent = edit(absent, path, "delete");
          withUndefined = edit(withUndefined, path, "undefined");
        }
        expect(solverOutcome(deepFreeze(withUndefined))).toEqual(solverOutcome(absent));
      }),
      { numRuns: 100 },
    );
  });
});

describe("named entries and cycles", () => {
  it("a parameter set to undefined is refused by name, not silently dropped", () => {
    const config = { seed: 1, params: { x: { min: 0, max: 1 }, rate: undefined } };
    expect(engineConfigIssues(config).map((i) => i.path)).toEqual(["params.rate"]);
    expect(() => resolveEngineConfig(config as unknown as EngineConfig)).toThrow(/params\.rate/);
  });

  it("a config that contains itself gets config issues, not a stack overflow", () => {
    const spec: Record<string, unknown> = { min: 0, max: 1 };
    spec.self = spec;
    expect(engineConfigIssues({ seed: 1, params: { x: spec } }).map((i) => i.path)).toEqual([
      "params.x.self",
    ]);
    const safety: Record<string, unknown> = {};
    safety.me = safety;
    const paths = engineConfigIssues({ seed: 1, params: { x: { min: 0, max: 1 } }, safety }).map(
      (i) => i.path,
    );
    expect(paths).toEqual(["safety.me"]);
    const bound: Record<string, unknown> = { min: 0, max: 1 };
    bound.again = bound;
    expect(solverConfigIssues({ seed: 1, budget: 5, bounds: { x: bound } }).map((i) => i.path)).toEqual([
      "bounds.x.again",
    ]);
  });
});

describe("withoutUndefinedKeys", () => {
  it("returns the same object when nothing is undefined, a copy otherwise", () => {
    const clean = { a: 1, b: { c: 2 } };
    expect(withoutUndefinedKeys(clean)).toBe(clean);
    const loose = { a: 1, b: { c: 2, d: undefined }, e: undefined };
    const out = withoutUndefinedKeys(loose);
    expect(out).toEqual({ a: 1, b: { c: 2 } });
    expect(Object.keys(out.b)).toEqual(["c"]);
    expect(Object.keys(loose.b)).toEqual(["c", "d"]);
    expect(out.b).not.toBe(loose.b);
  });

  it("keeps key order, own __proto__ keys and null-prototype objects", () => {
    const parsed = JSON.parse('{"__proto__": {"min": 0}, "z": 1}') as Record<string, unknown>;
    const input = { first: undefined, params: parsed, last: 2 };
    const out = withoutUndefinedKeys(input);
    expect(Object.keys(out)).toEqual(["params", "last"]);
    expect(Object.keys(out.params)).toEqual(["__proto__", "z"]);
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: undefined, b: 1 });
    const outBare = withoutUndefinedKeys(bare);
    expect(Object.getPrototypeOf(outBare)).toBeNull();
    expect(Object.keys(outBare)).toEqual(["b"]);
  });

  it("leaves arrays, class instances and opaque keys alone", () => {
    const list = [undefined, 1];
    const instance = new VirtualTimeScheduler();
    const plain = { x: undefined };
    const out = withoutUndefinedKeys(
      { list, instance, plain, walked: { x: undefined } },
      { opaque: ["plain"] },
    );
    expect(out.list).toBe(list);
    expect(out.instance).toBe(instance);
    expect(out.plain).toBe(plain);
    expect(out.walked).toEqual({});
    expect(withoutUndefinedKeys(5)).toBe(5);
    expect(withoutUndefinedKeys(undefined)).toBeUndefined();
  });
});
