import {
  asapScheduler,
  asyncScheduler,
  queueScheduler,
  type SchedulerLike,
  Subscription,
  VirtualTimeScheduler,
} from "rxjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type EngineConfig,
  engineConfigIssues,
  MAX_PARAMS,
  resolveEngineConfig,
} from "../src/engine/config.js";
import { createEngine } from "../src/engine/engine.js";
import { ConfigError, type ConfigIssue } from "../src/errors.js";

const VALID = { seed: 1, params: { x: { min: 0, max: 10 } } } as const satisfies EngineConfig;

/** The issues of a config, as "path: message" lines for readable failures. */
function problems(config: unknown): string[] {
  return engineConfigIssues(config).map((i) => `${i.path}: ${i.message}`);
}

function paths(config: unknown): string[] {
  return engineConfigIssues(config)
    .map((i) => i.path)
    .sort();
}

/** The ConfigError that createEngine throws for `config` (fails the test when it does not throw one). */
function configError(config: unknown): ConfigError {
  try {
    createEngine(config as EngineConfig);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("createEngine accepted an invalid config");
}

describe("engine config: every problem at once, each with its path", () => {
  it("a valid config has no issues", () => {
    expect(problems(VALID)).toEqual([]);
    expect(
      problems({
        ...VALID,
        params: { x: { min: 0, max: 10, init: 2, maxDelta: 1 }, lr: { min: 1e-5, max: 1, scale: "log" } },
        spsa: { a: 0.1, c: 0.05, schedule: "decaying" },
        window: { digests: 3, ms: 250, aggregation: "median", trim: 0 },
        guardrails: { preset: "aggressive", minIntervalMs: 20 },
        settleMs: 5,
        maxAgeMs: 100,
        maxSkewMs: 0,
        stallAfter: 2,
        auditCapacity: 64,
        runId: "r",
        shared: true,
        scheduler: new VirtualTimeScheduler(),
      }),
    ).toEqual([]);
  });

  it("reports problems in every section together", () => {
    const config = {
      seed: 1.5,
      params: { x: { min: 0, max: 1, init: 0.5 }, y: { min: -1, max: 1, scale: "log" } },
      spsa: { c: 2 },
      window: { digests: 0, ms: -1, aggregation: "max", trim: 0.5 },
      guardrails: { minIntervalMs: -1 },
      settleMs: -1,
      maxAgeMs: Number.NaN,
      maxSkewMs: Number.POSITIVE_INFINITY,
      stallAfter: 0,
      auditCapacity: 1.5,
      runId: "",
      shared: "yes",
      scheduler: {},
    };
    const error = configError(config);
    expect(error.issues.map((i) => i.path).sort()).toEqual(
      [
        "seed",
        "params.y.min",
        "spsa.c",
        "window.digests",
        "window.ms",
        "window.aggregation",
        "window.trim",
        "guardrails.minIntervalMs",
        "settleMs",
        "maxAgeMs",
        "maxSkewMs",
        "stallAfter",
        "auditCapacity",
        "runId",
        "shared",
        "scheduler",
      ].sort(),
    );
    for (const issue of error.issues) expect(issue.message.length).toBeGreaterThan(5);
    // The message lists each problem with its path.
    for (const issue of error.issues) expect(error.message).toContain(`${issue.path}: ${issue.message}`);
    expect(error.message).toMatch(/^Invalid configuration \(16 problems\)/);
  });

  it("names the failing rule in each message", () => {
    const byPath = (config: unknown, path: string) =>
      engineConfigIssues(config).find((i: ConfigIssue) => i.path === path)?.message;
    expect(byPath({ ...VALID, params: { y: { min: -1, max: 1, scale: "log" } } }, "params.y.min")).toMatch(
      /min > 0/,
    );
    expect(byPath({ ...VALID, params: { x: { min: 2, max: 1 } } }, "params.x.max")).toMatch(
      /greater than min/,
    );
    // A range no double can measure: every position in it would be infinite.
    expect(byPath({ ...VALID, params: { x: { min: -1e308, max: 1e308 } } }, "params.x.max")).toMatch(
      /range max − min must be a finite number, got Infinity/,
    );
    expect(byPath({ ...VALID, window: { aggregation: "max" } }, "window.aggregation")).toMatch(
      /trimmed-mean/,
    );
    expect(byPath({ ...VALID, guardrails: "fast" }, "guardrails")).toMatch(/unknown preset "fast"/);
    expect(byPath({ ...VALID, spsa: { schedule: "sometimes" } }, "spsa.schedule")).toMatch(/constant/);
  });

  it("refuses a duration longer than a timer can wait, and a window too large to hold, naming each", () => {
    const tooLong = 3e9; // about 35 days: Node would fire such a timer after 1 ms
    const issues = problems({
      ...VALID,
      window: { digests: 2 ** 40, ms: tooLong },
      auditDrainMs: tooLong,
      guardrails: { cooldownMs: tooLong, minIntervalMs: tooLong },
      safety: {
        thrashingCooldownMs: tooLong,
        safeMode: { dwellMs: tooLong },
        breaker: { maxBackoffMs: tooLong },
      },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        "window.digests: expected a whole number from 1 to 2097152, got 1099511627776",
        expect.stringMatching(
          /^window\.ms: expected a number of milliseconds > 0 and at most 2147483647 .*, got 3000000000$/,
        ),
        expect.stringMatching(/^auditDrainMs: .*at most 2147483647.*, got 3000000000$/),
        expect.stringMatching(/^guardrails\.cooldownMs: .*at most 2147483647.*, got 3000000000$/),
        expect.stringMatching(/^guardrails\.minIntervalMs: .*at most 2147483647.*, got 3000000000$/),
        expect.stringMatching(/^safety\.thrashingCooldownMs: .*at most 2147483647.*, got 3000000000$/),
        expect.stringMatching(/^safety\.safeMode\.dwellMs: .*at most 2147483647.*, got 3000000000$/),
        expect.stringMatching(/^safety\.breaker\.maxBackoffMs: .*≤ 2147483647.*, got 3000000000$/),
      ]),
    );
    expect(issues).toHaveLength(8);
    expect(() => createEngine({ ...VALID, window: { digests: 2 ** 40 } })).toThrow(ConfigError);
    // The longest a timer can wait is accepted.
    expect(problems({ ...VALID, window: { ms: 2_147_483_647 } })).toEqual([]);
  });

  it("refuses a calibration longer than the engine can hold, naming the option", () => {
    // Its estimates are kept per parameter and iteration: 1e300 threw a bare RangeError from the
    // typed array, and 2e7 quietly reserved gigabytes.
    for (const calibrationIterations of [1e300, 2e7, 10_001]) {
      expect(problems({ ...VALID, spsa: { calibrationIterations } })).toEqual([
        `spsa.calibrationIterations: must be an integer from 1 to 10000, got ${calibrationIterations}`,
      ]);
      expect(() => createEngine({ ...VALID, spsa: { calibrationIterations } })).toThrow(ConfigError);
    }
    expect(problems({ ...VALID, spsa: { calibrationIterations: 10_000 } })).toEqual([]);
  });

  it("reports every problem of one parameter, not just the first", () => {
    const issues = engineConfigIssues({
      ...VALID,
      params: { z: { min: 0, max: 1, init: 2, maxDelta: -1 } },
    });
    expect(issues.filter((i) => i.path.startsWith("params.z"))).toEqual([
      { path: "params.z.init", message: "must lie within [0, 1], got 2" },
      { path: "params.z.maxDelta", message: "must be > 0, got -1" },
    ]);
  });

  it("reports an unknown key and a broken rule of the same parameter together", () => {
    const issues = engineConfigIssues({ ...VALID, params: { x: { min: 1, max: 0, step: 1 } } });
    expect(issues.map((i) => i.path).sort()).toEqual(["params.x.max", "params.x.step"]);
  });

  it("requires seed and params, and at least one parameter", () => {
    expect(paths({})).toEqual(["params", "seed"]);
    expect(problems({ seed: 1, params: {} })).toEqual(["params: expected at least one parameter"]);
    expect(paths({ seed: 1, params: { x: "wide" } })).toEqual(["params.x"]);
  });

  it("names each callback that is not a function, the audit record sink among them", () => {
    expect(problems({ ...VALID, auditRecordSink: 5 })).toEqual([
      "auditRecordSink: expected a function, got 5",
    ]);
    expect(configError({ ...VALID, auditRecordSink: "log", onApply: {} }).message).toMatch(
      /auditRecordSink: expected a function/,
    );
    expect(problems({ ...VALID, auditRecordSink: () => {}, auditSink: () => {} })).toEqual([]);
  });

  it("rejects a config that is not an object", () => {
    for (const config of [null, undefined, 42, "seed=1", [VALID]]) {
      expect(engineConfigIssues(config)).toEqual([{ path: "", message: "expected a configuration object" }]);
    }
    expect(configError(null).issues).toHaveLength(1);
  });
});

describe("engine config: the regime detector's warm-up", () => {
  it("must span the centre and both perturbed points of its windows, or it would never learn", () => {
    const error = configError({
      seed: 1,
      params: { x: { min: 0, max: 1 } },
      window: { digests: 30 },
      safety: { regime: { warmup: 24 } },
    });
    expect(error.issues).toEqual([
      {
        path: "safety.regime.warmup",
        message:
          "must be at least window.digests + 2 (32) to hold the centre and both perturbed points, or left out (the default spans three windows), got 24",
      },
    ]);
    void createEngine({
      seed: 1,
      params: { x: { min: 0, max: 1 } },
      window: { digests: 30 },
      safety: { regime: { warmup: 32 } },
    }).close();
  });
});

describe("engine config: the scheduler", () => {
  it("refuses queueScheduler, which runs actions inside schedule(): the engine froze in silence", () => {
    // Not only rxjs's own instance: another of its class, and one of a second copy of rxjs (a class
    // of the same name).
    const QueueSchedulerClass = queueScheduler.constructor as new (action: unknown) => SchedulerLike;
    const another = new QueueSchedulerClass(
      (queueScheduler as unknown as { schedulerActionCtor: unknown }).schedulerActionCtor,
    );
    const secondCopy = new (class QueueScheduler {
      now = () => 0;
      schedule = () => new Subscription();
    })();
    for (const scheduler of [queueScheduler, another, secondCopy]) {
      const error = configError({ seed: 1, params: { x: { min: 0, max: 1 } }, scheduler });
      expect(error.issues).toEqual([
        {
          path: "scheduler",
          message:
            "queueScheduler runs each action inside schedule(), and the engine must defer work: use asyncScheduler (the default), asapScheduler or a VirtualTimeScheduler",
        },
      ]);
    }
    // The schedulers that defer are taken.
    for (const scheduler of [asyncScheduler, asapScheduler, new VirtualTimeScheduler()])
      void createEngine({ seed: 1, params: { x: { min: 0, max: 1 } }, scheduler }).close();
  });

  it("refuses a scheduler whose clock reads no finite time", () => {
    for (const now of [
      () => Number.NaN,
      () => Number.POSITIVE_INFINITY,
      () => "12" as never,
      () => {
        throw new Error("no clock");
      },
    ]) {
      const scheduler = { now, schedule: () => new Subscription() } as SchedulerLike;
      expect(configError({ seed: 1, params: { x: { min: 0, max: 1 } }, scheduler }).issues).toEqual([
        { path: "scheduler", message: "its now() must return a finite number of milliseconds" },
      ]);
    }
  });

  it("refuses a scheduler that runs delayed work inside schedule(), which reopened windows for ever", () => {
    // Its first window timed out as it opened, and the engine reopened it at once: createEngine
    // never returned. Now the first window's time limit shows it, and the engine is closed.
    let calls = 0;
    const inline = {
      now: () => 0,
      schedule(work: (this: unknown, state?: unknown) => void, _delay?: number, state?: unknown) {
        calls++;
        if (calls > 100) throw new Error("the engine kept scheduling");
        work.call({ schedule: () => new Subscription() }, state);
        return new Subscription();
      },
    } as SchedulerLike;
    const error = configError({ seed: 1, params: { x: { min: 0, max: 1 } }, scheduler: inline });
    expect(error.issues).toEqual([
      {
        path: "scheduler",
        message:
          "the scheduler ran a delayed action inside schedule(), before its delay passed: an engine needs one that defers delayed work (asyncScheduler, the default, or a VirtualTimeScheduler)",
      },
    ]);
    expect(calls).toBeLessThan(10);
  });
});

describe("engine config: unknown keys are rejected at every level", () => {
  it.each([
    ["top level", { ...VALID, seeed: 2 }, "seeed"],
    ["a parameter", { ...VALID, params: { x: { min: 0, max: 10, step: 1 } } }, "params.x.step"],
    ["window", { ...VALID, window: { digests: 5, millis: 500 } }, "window.millis"],
    ["spsa", { ...VALID, spsa: { a: "auto", gain: 1 } }, "spsa.gain"],
    [
      "guardrails",
      { ...VALID, guardrails: { preset: "balanced", maxDeltaFrac: 0.1 } },
      "guardrails.maxDeltaFrac",
    ],
  ])("in %s", (_, config, path) => {
    const issues = engineConfigIssues(config);
    expect(issues.map((i) => i.path)).toEqual([path]);
    expect(issues[0]!.message).toMatch(/unknown/);
    expect(configError(config).issues.map((i) => i.path)).toEqual([path]);
  });

  it("several unknown keys at several levels are all listed", () => {
    expect(
      paths({
        ...VALID,
        extra: 1,
        params: { x: { min: 0, max: 10, a: 1, b: 2 } },
        window: { count: 5 },
        spsa: { k: 1 },
        guardrails: { speed: 1 },
      }),
    ).toEqual(["extra", "guardrails.speed", "params.x.a", "params.x.b", "spsa.k", "window.count"]);
  });
});

describe("engine config: defaults", () => {
  it("fills every default", () => {
    const resolved = resolveEngineConfig(VALID);
    expect(resolved).toMatchObject({
      seed: 1,
      window: { digests: 1, ms: 500, aggregation: "trimmed-mean", trim: 0.1, stretch: true },
      settleMs: 0,
      maxAgeMs: 10_000,
      maxSkewMs: 1_000,
      stallAfter: 3,
      auditCapacity: 4096,
      runId: "run-1",
      shared: false,
    });
    expect(resolved.scheduler).toBe(asyncScheduler);
    expect(resolved.guardrails).toMatchObject({
      preset: "balanced",
      minIntervalMs: 100,
      maxUpdatesPerSecond: 10,
    });
    expect(resolved.spsa).toMatchObject({ a: "auto", c: 0.02 });
  });

  it("gives each parameter without maxDelta the preset's share of its range", () => {
    const params = {
      x: { min: 0, max: 10 },
      lr: { min: 1e-4, max: 1, scale: "log" },
      n: { min: 1, max: 512, init: 64, maxDelta: 16 },
    } as const;
    expect(resolveEngineConfig({ seed: 1, params }).params).toEqual({
      x: { min: 0, max: 10, maxDelta: 1 },
      lr: { min: 1e-4, max: 1, scale: "log", maxDelta: 0.1 * (1 - 1e-4) },
      n: { min: 1, max: 512, init: 64, maxDelta: 16 },
    });
    const conservative = resolveEngineConfig({ seed: 1, params, guardrails: "conservative" }).params;
    expect(conservative.x!.maxDelta).toBeCloseTo(0.5, 12);
    expect(conservative.n!.maxDelta).toBe(16);
  });

  it("a window given without ms counts digests only; window omitted gets 1 digest or 500 ms", () => {
    expect(resolveEngineConfig({ ...VALID, window: { digests: 3 } }).window).toEqual({
      digests: 3,
      ms: undefined,
      aggregation: "trimmed-mean",
      trim: 0.1,
      stretch: true,
    });
    expect(resolveEngineConfig(VALID).window.ms).toBe(500);
  });

  it("ms: undefined is ms omitted (count only), and window: undefined is window omitted", () => {
    expect(resolveEngineConfig({ ...VALID, window: { digests: 3, ms: undefined } }).window).toEqual(
      resolveEngineConfig({ ...VALID, window: { digests: 3 } }).window,
    );
    expect(problems({ ...VALID, window: { digests: 3, ms: undefined } })).toEqual([]);
    expect(resolveEngineConfig({ ...VALID, window: undefined }).window).toEqual({
      digests: 1,
      ms: 500,
      aggregation: "trimmed-mean",
      trim: 0.1,
      stretch: true,
    });
    expect(resolveEngineConfig({ ...VALID, window: { stretch: false } }).window.stretch).toBe(false);
    expect(problems({ ...VALID, window: { stretch: "yes" } })).toEqual([
      'window.stretch: expected true or false, got "yes"',
    ]);
    expect(problems({ ...VALID, window: { digests: 3, ms: null } })).toEqual([
      "window.ms: expected a number, got null",
    ]);
  });

  it("keeps what the user gave", () => {
    const scheduler = new VirtualTimeScheduler();
    const resolved = resolveEngineConfig({
      ...VALID,
      spsa: { a: 0.2, c: 0.05, schedule: "decaying" },
      guardrails: { preset: "conservative", minIntervalMs: 700 },
      settleMs: 25,
      stallAfter: 7,
      runId: "mine",
      shared: true,
      scheduler,
    });
    expect(resolved.spsa).toMatchObject({ a: 0.2, c: 0.05, alpha: 0.602, gamma: 0.101 });
    expect(resolved.guardrails).toMatchObject({
      preset: "conservative",
      minIntervalMs: 700,
      cooldownMs: 60_000,
    });
    expect(resolved).toMatchObject({ settleMs: 25, stallAfter: 7, runId: "mine", shared: true });
    expect(resolved.scheduler).toBe(scheduler);
  });

  it("resolveEngineConfig throws the same ConfigError as createEngine", () => {
    const bad = { seed: 1, params: { x: { min: 0, max: 10 } }, stallAfter: -1 } as EngineConfig;
    expect(() => resolveEngineConfig(bad)).toThrow(ConfigError);
    expect(configError(bad).issues).toEqual(engineConfigIssues(bad));
  });
});

describe("engine config: reserved names", () => {
  it("rejects parameter names that a plain object cannot hold", () => {
    const params = JSON.parse('{"__proto__": {"min": 0, "max": 1}}') as Record<
      string,
      { min: number; max: number }
    >;
    expect(engineConfigIssues({ seed: 1, params })).toEqual([
      { path: "params", message: '"__proto__" is reserved and cannot name a parameter' },
    ]);
  });
});

describe("engine config: the empty name", () => {
  it("rejects an empty parameter name, as a supervisor refuses an empty engine name", () => {
    expect(
      engineConfigIssues({ seed: 1, params: { "": { min: 0, max: 1 }, x: { min: 0, max: 1 } } }),
    ).toEqual([{ path: "params", message: "a parameter name must not be empty" }]);
  });
});

describe("engine config: reserved names among other problems", () => {
  it("names each reserved name and still reports the rest", () => {
    const params = JSON.parse('{"constructor": {"min": 0, "max": 1}, "x": {"min": 5, "max": 1}}');
    const issues = engineConfigIssues({ seed: -1, params, stallAfter: -1 });
    expect(issues[0]).toEqual({
      path: "params",
      message: '"constructor" is reserved and cannot name a parameter',
    });
    expect(issues.map((issue) => issue.path)).toEqual(expect.arrayContaining(["params.x.max", "stallAfter"]));
  });
});

describe("engine config: parameter count", () => {
  const paramsOf = (count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`p${i}`, { min: 0, max: 1 }]));

  it("accepts the most parameters the audit record holds, and an engine runs with them", async () => {
    const config = { seed: 1, params: paramsOf(MAX_PARAMS) };
    expect(MAX_PARAMS).toBe(255);
    expect(problems(config)).toEqual([]);
    const engine = createEngine(config);
    expect(engine.values).toHaveLength(MAX_PARAMS);
    await engine.close();
  });

  it("reports one more as a config issue on params, never as a RangeError", () => {
    const config = { seed: 1, params: paramsOf(MAX_PARAMS + 1) };
    expect(problems(config)).toEqual([
      "params: expected at most 255 parameters (the audit record's vector width), got 256",
    ]);
    const error = configError(config);
    expect(error.issues).toEqual(engineConfigIssues(config));
  });
});

describe("engine config: shared live values", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("is a config error where the runtime has no SharedArrayBuffer (a page not cross-origin isolated)", () => {
    vi.stubGlobal("SharedArrayBuffer", undefined);
    expect(problems({ ...VALID, shared: true })).toEqual([
      "shared: needs SharedArrayBuffer, which this runtime does not provide (a browser page has it only when cross-origin isolated)",
    ]);
    expect(configError({ ...VALID, shared: true }).issues.map((i) => i.path)).toEqual(["shared"]);
    // Unshared live values need no SharedArrayBuffer.
    expect(problems({ ...VALID, shared: false })).toEqual([]);
  });
});
