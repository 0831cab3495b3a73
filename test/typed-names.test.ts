// Parameter names as types: `createEngine`, `createSolver` and `minimize` infer the names of a
// literal config. The `expectTypeOf` and `@ts-expect-error` lines are checked by `tsc --noEmit`
// (tsconfig includes test/): an unused `@ts-expect-error` is itself a compile error, so a misspelt
// name that stopped being rejected fails the type check.
import { Effect } from "effect";
import { createElement, type ReactElement } from "react";
import { renderToString } from "react-dom/server";
import { type Observable, VirtualTimeScheduler } from "rxjs";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { timeoutsConfig } from "../docs/snippets/recipes/timeouts.js";
import type { SafeModeName, SafeModeReason } from "../machines/safe-mode-reasons.js";
import type { SpsaStateName } from "../machines/spsa.machine.js";
import type { DigestCheckName } from "../src/audit/digest-rejection.js";
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../src/audit/events.js";
import type { EngineConfig } from "../src/engine/config.js";
import { createEngine, type Engine, type EngineSnapshot } from "../src/engine/engine.js";
import { type EngineNotification, engineOf } from "../src/engine/from-engine.js";
import { engineSnapshots } from "../src/engine/snapshots.js";
import { createSupervisor } from "../src/engine/supervisor.js";
import { UsageError } from "../src/errors.js";
import type { BoundsInput, ParamsOf, ParamValue } from "../src/index.js";
import { createLoggedEngine, createLoggedEngineAsync, LoggedEngine } from "../src/log/engine-log.js";
import { createSolverLog, openSolverLog } from "../src/log/solver-log.js";
import { createEventStore } from "../src/react/event-store.js";
import { createSnapshotStore } from "../src/react/snapshot-store.js";
import { useEngine } from "../src/react/use-engine.js";
import { useEngineEvents } from "../src/react/use-engine-events.js";
import { useEngineSnapshot } from "../src/react/use-engine-snapshot.js";
import { useEngineState } from "../src/react/use-engine-state.js";
import type { SolverConfig } from "../src/solver/config.js";
import { minimize } from "../src/solver/minimize.js";
import {
  type BestPoint,
  createSolver,
  restoreSolver,
  type Solver,
  type Trial,
} from "../src/solver/solver.js";
import { openSharedStudy, runSharedStudy } from "../src/study/index.js";
import { branin, type Interval, sphere } from "../src/testing/functions.js";
import { tempLogDirs } from "./support/log-dir.js";

const newLogDir = tempLogDirs();

const open: Engine[] = [];
afterEach(async () => {
  for (const engine of open.splice(0)) await engine.close();
});

function typedEngine() {
  const engine = createEngine({
    seed: 1,
    scheduler: new VirtualTimeScheduler(),
    params: {
      batchSize: { min: 1, max: 512, init: 64 },
      timeoutMs: { min: 10, max: 1000, init: 200, scale: "log" },
    },
  });
  open.push(engine);
  return engine;
}

describe("createEngine with a literal config", () => {
  it("infers the parameter names", () => {
    const engine = typedEngine();
    expectTypeOf(engine).toEqualTypeOf<Engine<"batchSize" | "timeoutMs">>();
    expectTypeOf(engine.names).toEqualTypeOf<readonly ("batchSize" | "timeoutMs")[]>();
    expectTypeOf(engine.value).parameter(0).toEqualTypeOf<"batchSize" | "timeoutMs">();
    expectTypeOf(engine.value("batchSize")).toEqualTypeOf<number>();
    expectTypeOf(engine.snapshot()).toEqualTypeOf<EngineSnapshot<"batchSize" | "timeoutMs">>();
    expectTypeOf(engine.snapshot().values.timeoutMs).toEqualTypeOf<number>();
    expect(engine.names).toEqual(["batchSize", "timeoutMs"]);
  });

  it("reads live values by name and resolves indexes once for hot loops", () => {
    const engine = typedEngine();
    expect(engine.value("batchSize")).toBe(64);
    expect(engine.value("timeoutMs")).toBe(200);
    const timeout = engine.indexOf("timeoutMs");
    expect(timeout).toBe(1);
    expect(engine.values[timeout]).toBe(200);
    expect(engine.snapshot().values.batchSize).toBe(64);
  });

  it("rejects a misspelt name at compile time, and at run time with the known names", () => {
    const engine = typedEngine();
    // @ts-expect-error: "batchsize" is not a parameter of this engine
    expect(() => engine.value("batchsize")).toThrow(UsageError);
    // @ts-expect-error: nor is "timeout"
    expect(() => engine.indexOf("timeout")).toThrow(
      'unknown parameter "timeout"; the engine has batchSize, timeoutMs',
    );
    // @ts-expect-error: snapshots know the names too
    void engine.snapshot().values.batch;
  });

  it("keys the values of its audit events by the parameter names", () => {
    const engine = typedEngine();
    const written: number[] = [];
    engine.events.subscribe((event) => {
      if (event.type !== "rollback") return;
      expectTypeOf(event.values).toEqualTypeOf<
        Readonly<Record<"batchSize" | "timeoutMs", number>> | undefined
      >();
      // @ts-expect-error: "batchsize" is not a parameter of this engine
      void event.values?.batchsize;
      written.push(event.values?.batchSize ?? Number.NaN);
    });
    expect(engine.rollback("type test")).toBe(true);
    engine.flushEvents();
    expect(written).toEqual([64]);
  });

  it("keeps the wide `string` path for configs built at run time", () => {
    const params: EngineConfig["params"] = Object.fromEntries([["rate", { min: 0, max: 1, init: 0.5 }]]);
    const engine = createEngine({ seed: 2, scheduler: new VirtualTimeScheduler(), params });
    open.push(engine);
    expectTypeOf(engine).toEqualTypeOf<Engine<string>>();
    const name: string = "rate";
    expect(engine.value(name)).toBe(0.5);
    // A typed engine is still an Engine for code that takes any engine.
    const any: Engine = typedEngine();
    expect(any.value("batchSize")).toBe(64);
  });
});

/** A component whose engine is typed by the literal config it starts. */
function Tuned(): ReactElement {
  const engine = useEngine({ seed: 7, params: { batchSize: { min: 1, max: 512, init: 64 } } });
  expectTypeOf(engine).toEqualTypeOf<Engine<"batchSize"> | null>();
  // @ts-expect-error: "batchsize" is not a parameter of this engine
  const misspelt = () => engine?.value("batchsize");
  void misspelt;
  // The snapshot hook keeps the names: with a selector and without.
  const batchSize = useEngineSnapshot(engine, (snapshot) => snapshot.values.batchSize);
  expectTypeOf(batchSize).toEqualTypeOf<number | undefined>();
  expectTypeOf(useEngineSnapshot(engine)).toEqualTypeOf<EngineSnapshot<"batchSize"> | undefined>();
  // @ts-expect-error: "batchsize" is not a parameter of this engine
  const misspeltSelection = useEngineSnapshot(engine, (s) => s.values.batchsize);
  void misspeltSelection;
  // The statecharts' hook names SafeMode's modes by type.
  const state = useEngineState(engine);
  expectTypeOf(state.safeMode).toEqualTypeOf<SafeModeName | undefined>();
  // @ts-expect-error: "haltd" is not a SafeMode mode
  void (state.safeMode === "haltd");
  // ...and the SPSA chart's states, as the snapshot's phase does.
  expectTypeOf(state.spsa).toEqualTypeOf<SpsaStateName | undefined>();
  // @ts-expect-error: the chart has no state "cycle.plsu"
  void (state.spsa === "cycle.plsu");
  // The events hook keys applied values by the names, in its filter too.
  const applies = useEngineEvents(engine, { filter: (event) => event.type === "apply" });
  expectTypeOf(applies).toEqualTypeOf<readonly AuditEvent<"batchSize">[]>();
  for (const event of applies) {
    if (event.type !== "apply") continue;
    expectTypeOf(event.values?.batchSize).toEqualTypeOf<number | undefined>();
    // @ts-expect-error: "batchsize" is not a parameter of this engine
    void event.values?.batchsize;
  }
  return createElement("span", null, engine === null ? "starting" : String(engine.value("batchSize")));
}

describe("snapshot streams and spawned engines keep the names", () => {
  it("types engineSnapshots, the snapshot store and Supervisor.spawn by the config's names", async () => {
    const engine = typedEngine();
    const snapshots = engineSnapshots(engine);
    expectTypeOf(snapshots).toEqualTypeOf<Observable<EngineSnapshot<"batchSize" | "timeoutMs">>>();
    // @ts-expect-error: "batchsize" is not a parameter of this engine
    const misspelt = snapshots.subscribe((snapshot) => snapshot.values.batchsize);
    misspelt.unsubscribe();
    const store = createSnapshotStore(engine);
    expectTypeOf(store.getSnapshot()).toEqualTypeOf<EngineSnapshot<"batchSize" | "timeoutMs">>();
    expect(store.getSnapshot().values.batchSize).toBe(64);
    const events = createEventStore(engine);
    const unsubscribe = events.subscribe(() => {});
    expect(engine.rollback("type test")).toBe(true);
    engine.flushEvents();
    unsubscribe();
    expectTypeOf(events.getSnapshot()).toEqualTypeOf<readonly AuditEvent<"batchSize" | "timeoutMs">[]>();
    const rolledBack = events.getSnapshot().find((event) => event.type === "rollback");
    // @ts-expect-error: "batchsize" is not a parameter of this engine
    void (rolledBack?.type === "rollback" && rolledBack.values?.batchsize);
    expect(rolledBack?.type === "rollback" ? rolledBack.values?.batchSize : undefined).toBe(64);

    // A parent machine declares the notifications of its engine child by the child's names.
    const onNotification = (note: EngineNotification<"batchSize">): number | undefined => {
      if (note.type === "engine.started") expectTypeOf(note.engine).toEqualTypeOf<Engine<"batchSize">>();
      if (note.type === "engine.snapshot") return note.snapshot.values.batchSize;
      if (note.type !== "engine.event" || note.event.type !== "apply") return undefined;
      // @ts-expect-error: "batchsize" is not a parameter of this engine
      void note.event.values?.batchsize;
      return note.event.values?.batchSize;
    };
    expect(onNotification({ type: "engine.snapshot", engineId: "a", snapshot: store.getSnapshot() })).toBe(
      64,
    );

    const supervisor = createSupervisor();
    try {
      const spawned = supervisor.spawn("a", {
        seed: 1,
        scheduler: new VirtualTimeScheduler(),
        params: { batchSize: { min: 1, max: 512, init: 64 } },
      });
      expectTypeOf(spawned).toEqualTypeOf<Engine<"batchSize">>();
      // An actor reference does not carry the names: engineOf takes them as its type argument.
      expectTypeOf(engineOf<"batchSize">(supervisor.actor)).toEqualTypeOf<Engine<"batchSize"> | undefined>();
      expectTypeOf(engineOf(supervisor.actor)).toEqualTypeOf<Engine | undefined>();
      // So does a name: get takes them as its type argument too.
      expectTypeOf(supervisor.get<"batchSize">("a")).toEqualTypeOf<Engine<"batchSize"> | undefined>();
      expect(supervisor.get<"batchSize">("a")?.value("batchSize")).toBe(64);
      // @ts-expect-error: "batchsize" is not among the names given
      expect(() => supervisor.get<"batchSize">("a")?.value("batchsize")).toThrow(UsageError);
      // @ts-expect-error: "batchsize" is not a parameter of this engine
      expect(() => spawned.value("batchsize")).toThrow(UsageError);
      expect(spawned.value("batchSize")).toBe(64);
    } finally {
      await supervisor.close();
    }
  });
});

describe("a logged engine keeps the names", () => {
  it("types the engine of createLoggedEngine, createLoggedEngineAsync and LoggedEngine.make by the config's names", async () => {
    const config = {
      seed: 1,
      scheduler: new VirtualTimeScheduler(),
      params: { batchSize: { min: 1, max: 512, init: 64 } },
    } as const;
    const logged = createLoggedEngine(config, { dir: newLogDir() });
    try {
      expectTypeOf(logged.engine).toEqualTypeOf<Engine<"batchSize">>();
      // @ts-expect-error: "batchsize" is not a parameter of this engine
      expect(() => logged.engine.value("batchsize")).toThrow(UsageError);
      expect(logged.engine.value("batchSize")).toBe(64);
    } finally {
      await logged.close();
    }
    const opened = await createLoggedEngineAsync(config, { dir: newLogDir() });
    try {
      expectTypeOf(opened.engine).toEqualTypeOf<Engine<"batchSize">>();
    } finally {
      await opened.close();
    }
    // The Effect form too, its scope closing the engine and the log.
    const value = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const made = yield* LoggedEngine.make(config, { dir: newLogDir() });
          expectTypeOf(made.engine).toEqualTypeOf<Engine<"batchSize">>();
          // @ts-expect-error: "batchsize" is not a parameter of this engine
          expect(() => made.engine.value("batchsize")).toThrow(UsageError);
          return made.engine.value("batchSize");
        }),
      ),
    );
    expect(value).toBe(64);
  });
});

describe("audit events name their modes, kinds and reasons by type", () => {
  it("rejects a misspelt mode, apply kind or rollback reason at compile time", () => {
    const react = (event: AuditEvent): string | undefined => {
      if (event.type === "mode.changed") {
        expectTypeOf(event.to).toEqualTypeOf<SafeModeName | `mode-${number}`>();
        expectTypeOf(event.reasons).toEqualTypeOf<readonly (SafeModeReason | `reason-${number}`)[]>();
        // @ts-expect-error: "frozn" is not a SafeMode mode
        if (event.to === "frozn") return "never";
        return event.to === "frozen" ? "frozen" : undefined;
      }
      if (event.type === "apply") {
        // @ts-expect-error: the kind is spelt "centre"
        if (event.kind === "center") return "never";
        return event.kind;
      }
      if (event.type === "rollback") {
        // @ts-expect-error: the reason is spelt "safe-mode"
        if (event.reason === "safemode") return "never";
        return event.reason;
      }
      if (event.type === "digest.rejected") {
        expectTypeOf(event.reason).toEqualTypeOf<DigestCheckName>();
        return event.reason;
      }
      return undefined;
    };
    const base = {
      v: AUDIT_SCHEMA_VERSION,
      runId: "r",
      seq: 1,
      time: 0,
      generation: 1,
      proposalId: -1,
    } as const;
    expect(
      react({ ...base, type: "mode.changed", from: "normal", to: "frozen", reasons: ["thrashing"] }),
    ).toBe("frozen");
    expect(react({ ...base, type: "apply", kind: "centre" })).toBe("centre");
  });
});

describe("useEngine with a literal config", () => {
  it("types the engine by its parameter names, as createEngine does", () => {
    // Server rendering runs no effect: the engine is not started, only the types are at stake.
    expect(renderToString(createElement(Tuned))).toBe("<span>starting</span>");
  });
});

const BOUNDS = { x: { min: -5, max: 5 }, y: { min: -5, max: 5 } };

describe("createSolver with a literal config", () => {
  it("types trial params, tells and the best point by name", () => {
    const solver = createSolver({ seed: 3, budget: 8, bounds: BOUNDS });
    expectTypeOf(solver).toEqualTypeOf<Solver<"x" | "y">>();
    const trials = solver.ask() ?? [];
    expectTypeOf(trials).toEqualTypeOf<Trial<"x" | "y">[]>();
    expect(trials.length).toBeGreaterThan(0);
    for (const trial of trials) {
      expectTypeOf(trial.params.x).toEqualTypeOf<number>();
      // @ts-expect-error: "z" is not a parameter of this solver
      expect(trial.params.z).toBeUndefined();
      solver.tell({ id: trial.id, value: trial.params.x ** 2 + trial.params.y ** 2 });
    }
    // @ts-expect-error: a warm-start point must give every declared name
    expect(() => solver.tell({ params: { x: 1 }, value: 1 })).toThrow(UsageError);
    const best = solver.best();
    expectTypeOf(best).toEqualTypeOf<BestPoint<"x" | "y"> | null>();
    expect(best?.params.y).toBeTypeOf("number");
    solver.stop();
  });

  it("keeps the wide `string` path, and restoreSolver takes names explicitly", () => {
    const config: SolverConfig = { seed: 4, budget: 4, bounds: { a: { min: 0, max: 1 } } };
    const solver = createSolver(config);
    expectTypeOf(solver).toEqualTypeOf<Solver<string>>();
    const [trial] = solver.ask() ?? [];
    expect(trial?.params.a).toBeTypeOf("number");
    const restored = restoreSolver<"a">(solver.toJSON());
    expectTypeOf(restored.pendingTrials()).toEqualTypeOf<Trial<"a">[]>();
    expect(restored.pendingTrials()[0]?.params.a).toBe(trial?.params.a);
    solver.stop();
    restored.stop();
  });
});

describe("the test functions of arqon/testing name their parameters by type", () => {
  it("types a solver's trials by a test function's bounds", () => {
    const fn = branin();
    expectTypeOf(fn.names).toEqualTypeOf<readonly ("x1" | "x2")[]>();
    const solver = createSolver({ seed: 1, budget: 4, bounds: fn.bounds });
    const [trial] = solver.ask()!;
    expectTypeOf(trial!.params.x1).toEqualTypeOf<number>();
    expectTypeOf(trial!.params.x2).toEqualTypeOf<number>();
    // @ts-expect-error Branin has no x3
    void trial!.params.x3;
    solver.tell({ id: trial!.id, value: fn.evaluate(trial!.params) });
    expect(solver.best()?.value).toBe(fn.evaluate(trial!.params));
    // A dimension chosen at run time: names x1, x2, …, and nothing else.
    const ball = sphere(3);
    expectTypeOf(ball.bounds).toEqualTypeOf<Readonly<Record<`x${number}`, Interval>>>();
    expect(Object.keys(ball.bounds)).toEqual(["x1", "x2", "x3"]);
    // @ts-expect-error not a name of the form x<number>
    void ball.bounds.y1;
  });
});

describe("minimize with a literal config", () => {
  it("types the objective's parameters and the result", async () => {
    const result = await minimize(
      ({ x, y }) => {
        expectTypeOf(x).toEqualTypeOf<number>();
        return (x - 1) ** 2 + (y + 2) ** 2;
      },
      { seed: 5, budget: 20, bounds: BOUNDS },
    );
    expectTypeOf(result.best).toEqualTypeOf<BestPoint<"x" | "y"> | null>();
    expect(result.evaluations).toBe(20);
    expect(result.best?.params.x).toBeTypeOf("number");
    // @ts-expect-error: "w" is not a parameter of this problem
    await minimize(({ w }) => w, { seed: 5, budget: 2, bounds: BOUNDS }).catch(() => undefined);
  });
});

describe("createSolver with a literal mixed config", () => {
  const mixed = {
    seed: 5,
    budget: 6,
    bounds: {
      lr: { min: 1e-4, max: 1, scale: "log" },
      layers: { type: "int", min: 1, max: 8 },
      optimizer: { type: "categorical", choices: ["adam", "sgd"] },
      momentum: { min: 0, max: 0.99, when: { optimizer: ["sgd"] } },
    },
  } as const;

  it("types floats and ints as numbers, a categorical as its choices, a conditional one as optional", () => {
    const solver = createSolver(mixed);
    const [trial] = solver.ask() ?? [];
    if (trial === undefined) throw new Error("no trial");
    expectTypeOf(trial.params.lr).toEqualTypeOf<number>();
    expectTypeOf(trial.params.layers).toEqualTypeOf<number>();
    expectTypeOf(trial.params.optimizer).toEqualTypeOf<"adam" | "sgd">();
    expectTypeOf(trial.params.momentum).toEqualTypeOf<number | undefined>();
    // @ts-expect-error: "momentun" is not a parameter of this solver
    expect(trial.params.momentun).toBeUndefined();
    expect(["adam", "sgd"]).toContain(trial.params.optimizer);
    expect("momentum" in trial.params).toBe(trial.params.optimizer === "sgd");
    // A warm-start point may leave an inactive conditional parameter out, but not a choice's type.
    solver.tell({ params: { lr: 0.1, layers: 2, optimizer: "adam" }, value: 1 });
    // @ts-expect-error: "rmsprop" is not one of the choices
    expect(() => solver.tell({ params: { lr: 0.1, layers: 2, optimizer: "rmsprop" }, value: 1 })).toThrow(
      UsageError,
    );
    solver.stop();
  });

  it("checks a literal config's start points at compile time, as at run time", async () => {
    // Any subset of the parameters, each with its own type, compiles and runs first.
    const started = createSolver({
      ...mixed,
      startPoints: [{ optimizer: "sgd", momentum: 0.9 }, { lr: 0.01 }],
    });
    expect(started.ask({ max: 1 })?.[0]?.params).toMatchObject({ optimizer: "sgd", momentum: 0.9 });
    started.stop();
    // @ts-expect-error: "learningRate" is not a parameter of this config
    expect(() => createSolver({ ...mixed, startPoints: [{ learningRate: 0.01 }] })).toThrow(
      /startPoints\.0\.learningRate/,
    );
    // @ts-expect-error: "rmsprop" is not one of optimizer's choices
    await expect(minimize(() => 0, { ...mixed, startPoints: [{ optimizer: "rmsprop" }] })).rejects.toThrow(
      /startPoints\.0\.optimizer/,
    );
    // @ts-expect-error: an int takes a number, not its text
    expect(() => createSolver({ ...mixed, startPoints: [{ layers: "2" }] })).toThrow(
      /startPoints\.0\.layers/,
    );
    // Bounds built at run time take any name, checked when the solver is created.
    const built: Record<string, { min: number; max: number }> = { x: { min: 0, max: 1 } };
    expect(() => createSolver({ seed: 1, budget: 4, bounds: built, startPoints: [{ y: 0.5 }] })).toThrow(
      /startPoints\.0\.y/,
    );
  });

  it("checks the names and choices in a condition at compile time, as at run time", async () => {
    const misspeltParent = {
      seed: 1,
      budget: 4,
      bounds: {
        optimizer: { type: "categorical", choices: ["adam", "sgd"] },
        momentum: { min: 0, max: 0.99, when: { optimiser: ["sgd"] } },
      },
    } as const;
    // @ts-expect-error: "optimiser" is not a categorical parameter of this config
    expect(() => createSolver(misspeltParent)).toThrow(
      /bounds\.momentum\.when\.optimiser: unknown parameter/,
    );
    const notAChoice = {
      seed: 1,
      budget: 4,
      bounds: {
        optimizer: { type: "categorical", choices: ["adam", "sgd"] },
        momentum: { min: 0, max: 0.99, when: { optimizer: ["adamw"] } },
      },
    } as const;
    // @ts-expect-error: "adamw" is not one of optimizer's choices
    expect(() => createSolver(notAChoice)).toThrow(/bounds\.momentum\.when\.optimizer/);
    const onAFloat = {
      seed: 1,
      budget: 4,
      bounds: { lr: { min: 0, max: 1 }, momentum: { min: 0, max: 0.99, when: { lr: [0.5] } } },
    } as const;
    // @ts-expect-error: a condition names categorical parameters only
    await expect(minimize(() => 0, onAFloat)).rejects.toThrow(/bounds\.momentum\.when\.lr/);
    // A key no kind of parameter takes does not compile (Optuna's `log=True` is `scale: "log"`),
    // inline or through a variable; the run-time check names it.
    expect(() =>
      createSolver({
        seed: 1,
        budget: 4,
        // @ts-expect-error: "log" is not an option of a parameter
        bounds: { lr: { min: 1e-4, max: 1, log: true } },
      }),
    ).toThrow(/bounds\.lr\.log/);
    const lowHigh = { seed: 1, budget: 4, bounds: { x: { low: 0, high: 1, min: 0, max: 1 } } } as const;
    // @ts-expect-error: "low" and "high" are not options of a parameter
    await expect(minimize(() => 0, lowHigh)).rejects.toThrow(/bounds\.x\.low/);
    // A key another kind takes does not compile either: a range on a categorical, choices on a float.
    const rangedChoice = {
      seed: 1,
      budget: 4,
      bounds: { optimizer: { type: "categorical", choices: ["adam", "sgd"], min: 0 } },
    } as const;
    // @ts-expect-error: "min" is not an option of a categorical parameter
    expect(() => createSolver(rangedChoice)).toThrow(/bounds\.optimizer/);
    expect(() =>
      createSolver({
        seed: 1,
        budget: 4,
        // @ts-expect-error: "choices" is not an option of a float parameter
        bounds: { lr: { min: 0, max: 1, choices: [0.1, 0.2] } },
      }),
    ).toThrow(/bounds\.lr/);
    expect(() =>
      createSolver({
        seed: 1,
        budget: 4,
        // @ts-expect-error: "scale" is not an option of a categorical parameter
        bounds: { codec: { type: "categorical", choices: ["lz4", "zstd"], scale: "log" } },
      }),
    ).toThrow(/bounds\.codec/);
    // A declared type whose extra key is optional compiles (only a key surely there is flagged).
    interface Declared {
      readonly min: number;
      readonly max: number;
      readonly log?: boolean;
    }
    const declared: Declared = { min: 0, max: 1 };
    createSolver({ seed: 1, budget: 4, bounds: { x: declared } }).stop();
    // A valid condition compiles, written inline or through a variable, and so does `when: undefined`.
    createSolver({
      seed: 1,
      budget: 4,
      bounds: {
        optimizer: { type: "categorical", choices: ["adam", "sgd"] },
        momentum: { min: 0, max: 0.99, when: { optimizer: ["sgd"] } },
        beta: { min: 0, max: 1, when: undefined },
      },
    }).stop();
    createSolver(mixed).stop();
  });

  it("names a mixed space's types from the package entry, to keep or restore a solver", () => {
    const keep = (bounds: BoundsInput): number => Object.keys(bounds).length;
    expect(keep(mixed.bounds)).toBe(4);
    const solver: Solver<ParamsOf<typeof mixed.bounds>> = createSolver(mixed);
    const restored = restoreSolver<ParamsOf<typeof mixed.bounds>>(solver.toJSON());
    const [trial] = restored.ask() ?? [];
    if (trial === undefined) throw new Error("no trial");
    expectTypeOf(trial.params.optimizer).toEqualTypeOf<"adam" | "sgd">();
    expectTypeOf(trial.params.momentum).toEqualTypeOf<number | undefined>();
    const value: ParamValue = trial.params.optimizer;
    expect(["adam", "sgd"]).toContain(value);
    solver.stop();
    restored.stop();
  });

  it("keeps a solver's types when it is logged, and takes them when a log is opened", async () => {
    const dir = newLogDir();
    const logged = createSolverLog(dir, createSolver(mixed));
    const [trial] = logged.ask() ?? [];
    if (trial === undefined) throw new Error("no trial");
    expectTypeOf(trial.params.optimizer).toEqualTypeOf<"adam" | "sgd">();
    expectTypeOf(trial.params.lr).toEqualTypeOf<number>();
    // @ts-expect-error: "lrr" is not a parameter of this solver
    expect(trial.params.lrr).toBeUndefined();
    logged.tell({ id: trial.id, value: 1 });
    logged.closeLog();
    const opened = openSolverLog<ParamsOf<typeof mixed.bounds>>(dir);
    expectTypeOf(opened.best()!.params.optimizer).toEqualTypeOf<"adam" | "sgd">();
    expect(opened.best()!.params).toEqual(trial.params);
    // minimize takes a logged solver as it takes the solver, and types its objective the same way.
    const result = await minimize((params) => {
      expectTypeOf(params.momentum).toEqualTypeOf<number | undefined>();
      return params.lr;
    }, opened);
    expect(result.evaluations).toBe(5);
    opened.closeLog();
  });

  it("types the objective of minimize from a mixed config", async () => {
    const result = await minimize((params) => {
      expectTypeOf(params.optimizer).toEqualTypeOf<"adam" | "sgd">();
      expectTypeOf(params.momentum).toEqualTypeOf<number | undefined>();
      return params.lr + params.layers + (params.optimizer === "sgd" ? (params.momentum ?? 0) : 1);
    }, mixed);
    expect(result.evaluations).toBe(6);
    expectTypeOf(result.best!.params.optimizer).toEqualTypeOf<"adam" | "sgd">();
  });

  it("types a shared study's trials, results and objective by the config's names, as createSolver does", async () => {
    // Type-checked by tsc; at run time the study cannot open (nothing listens on port 1).
    const opening = openSharedStudy(mixed, { redis: "redis://127.0.0.1:1", study: "typed", timeoutMs: 200 });
    await expect(opening).rejects.toThrow(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    const use = async (study: Awaited<typeof opening>) => {
      const [trial] = (await study.ask()) ?? [];
      expectTypeOf(trial!.params.optimizer).toEqualTypeOf<"adam" | "sgd">();
      expectTypeOf(study.best()).toEqualTypeOf<BestPoint<ParamsOf<typeof mixed.bounds>> | null>();
      await runSharedStudy(study, (params) => {
        expectTypeOf(params.momentum).toEqualTypeOf<number | undefined>();
        // @ts-expect-error: "momentun" is not a parameter of this study
        return params.momentun;
      });
    };
    expectTypeOf(use).parameter(0).toHaveProperty("ask");
  });
});

describe("a recipe's config (docs/snippets/recipes)", () => {
  it("keeps its parameter names for createEngine: it is checked with satisfies, not annotated", () => {
    const engine = createEngine({ ...timeoutsConfig, scheduler: new VirtualTimeScheduler() });
    open.push(engine);
    expectTypeOf(engine.value).parameter(0).toEqualTypeOf<"upstreamTimeoutMs">();
    // @ts-expect-error a misspelt name does not compile
    expect(() => engine.value("upstreamTimeoutMS")).toThrow(UsageError);
  });
});
