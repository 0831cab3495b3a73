import { Context, Data, Effect, Exit, Fiber, Runtime } from "effect";
import { describe, expect, expectTypeOf, it } from "vitest";
import { ConfigError, UsageError } from "../src/errors.js";
import { minimize, minimizeEffect } from "../src/solver/minimize.js";
import { createSolver } from "../src/solver/solver.js";
import { TrialPruned } from "../src/solver/trial-pruned.js";
import { branin } from "../src/testing/functions.js";

const bowl = { seed: 3, budget: 30, bounds: { x: { min: -4, max: 4 }, y: { min: -4, max: 4 } } };
const quadratic = ({ x, y }: Record<string, number>) => (x! - 1) ** 2 + (y! + 2) ** 2;

describe("minimize", () => {
  it("minimises Branin end to end: median regret over 12 seeds, concurrency 4", async () => {
    // Branin has three equal minima; a few seeds end between basins at budget 100, so the claim is
    // about the median, with a loose bound on every seed. Four workers are kept busy, so the
    // simplex gets only part of the budget (the rest fills batches from a TPE): measured median
    // 4.4e-4, worst 0.0014 (median 1.2e-8 one trial at a time, as B1 runs it).
    const fn = branin();
    const regrets: number[] = [];
    for (let seed = 1; seed <= 12; seed++) {
      const result = await minimize(
        (p) => fn.evaluate(p),
        { seed, budget: 100, bounds: fn.bounds },
        { concurrency: 4 },
      );
      expect(result.evaluations).toBe(100);
      expect(result.failures).toEqual([]);
      regrets.push(result.best!.value - fn.minimum);
    }
    regrets.sort((a, b) => a - b);
    expect((regrets[5]! + regrets[6]!) / 2).toBeLessThan(1e-3);
    expect(regrets[11]!).toBeLessThan(0.01);
  });

  it("gives the same result as a sequential ask/tell loop when run with concurrency 1", async () => {
    const result = await minimize(quadratic, bowl);
    const solver = createSolver(bowl);
    for (let b = solver.ask({ max: 1 }); b !== null; b = solver.ask({ max: 1 })) {
      solver.tell(b.map((t) => ({ id: t.id, value: quadratic(t.params) })));
    }
    expect(result.best).toEqual(solver.best());
  });

  it("never runs more evaluations at once than the concurrency allows", async () => {
    let running = 0;
    let peak = 0;
    const result = await minimize(
      async (p) => {
        running++;
        peak = Math.max(peak, running);
        await Promise.resolve();
        await Promise.resolve();
        running--;
        return quadratic(p);
      },
      bowl,
      { concurrency: 3 },
    );
    expect(peak).toBe(3);
    expect(result.evaluations).toBe(30);
  });

  it("keeps every worker busy across the probe's end, until the budget runs out", async () => {
    // Evaluations finish one at a time, oldest first, each once minimize has had its turns to refill.
    const waiting: (() => void)[] = [];
    const runningAtFinish: number[] = [];
    let finished = false;
    const run = minimize(
      async (p) => {
        await new Promise<void>((resolve) => waiting.push(resolve));
        return quadratic(p);
      },
      bowl,
      { concurrency: 4 },
    ).finally(() => {
      finished = true;
    });
    while (!finished) {
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      if (waiting.length === 0) continue;
      runningAtFinish.push(waiting.length);
      waiting.shift()!();
    }
    expect((await run).evaluations).toBe(30);
    // Every evaluation but the last three finished beside three others: no worker waited for the
    // probe's last results before the strategy took over.
    expect(runningAtFinish).toEqual([...new Array(27).fill(4), 3, 2, 1]);
  });

  it("skips failing trials when asked to, and reports each with its trial", async () => {
    const result = await minimize(
      (p, { trial }) => {
        if (trial.id % 7 === 0) throw new Error(`boom ${trial.id}`);
        return quadratic(p);
      },
      bowl,
      { onError: "skip" },
    );
    expect(result.stopped).toBe(false);
    expect(result.failures.map((f) => f.trial.id)).toEqual([7, 14, 21, 28]);
    expect((result.failures[0]!.error as Error).message).toBe("boom 7");
    expect(result.evaluations).toBe(26);
  });

  it("stops at the first failure by default, finishing evaluations in flight, and can resume", async () => {
    const aborted: number[] = [];
    const result = await minimize(
      (p, { trial, signal }) =>
        new Promise<number>((resolve, reject) => {
          if (trial.id === 2) {
            reject(new Error("objective crashed"));
            return;
          }
          signal.addEventListener("abort", () => aborted.push(trial.id));
          setImmediate(() => resolve(quadratic(p)));
        }),
      bowl,
      { concurrency: 4 },
    );
    expect(result.stopped).toBe(true);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]!.trial.id).toBe(2);
    // Nothing started after the failure; what was running finished, was recorded, and no signal aborted.
    expect(aborted).toEqual([]);
    expect(result.solver.asked).toBe(4);
    expect(result.evaluations).toBe(3);
    expect([1, 3, 4].map((id) => result.solver.trialStatus(id))).toEqual(["told", "told", "told"]);
    // The failed trial stays pending: a resumed run evaluates it again, first.
    expect(result.solver.pendingTrials().map((t) => t.id)).toEqual([2]);
    expect(result.solver.trialStatus(2)).toBe("pending");

    const first: number[] = [];
    const resumed = await minimize(
      (p, { trial }) => {
        first.push(trial.id);
        return quadratic(p);
      },
      result.solver,
      { concurrency: 4 },
    );
    expect(first[0]).toBe(2);
    expect(resumed.solver.trialStatus(2)).toBe("told");
    expect(resumed.stopped).toBe(false);
    expect(resumed.solver.asked).toBe(30);
    expect(resumed.solver.phase).toBe("done");
  });

  it("starts no trial once an objective has thrown, and lists each failure among those running", async () => {
    const started: number[] = [];
    const result = await minimize(
      (p, { trial }) => {
        started.push(trial.id);
        if (trial.id === 3) throw new Error("thrown at once");
        return new Promise<number>((resolve, reject) =>
          setImmediate(() => (trial.id === 1 ? reject(new Error("failed later")) : resolve(quadratic(p)))),
        );
      },
      bowl,
      { concurrency: 4 },
    );
    expect(started).toEqual([1, 2, 3]);
    expect(result.stopped).toBe(true);
    // Trial 1, running when trial 3 failed, failed too: both are listed and left pending.
    expect(result.failures.map((f) => [f.trial.id, f.error.message])).toEqual([
      [3, "thrown at once"],
      [1, "failed later"],
    ]);
    expect(result.solver.pendingTrials().map((t) => t.id)).toEqual([1, 3, 4]);
    expect(result.solver.trialStatus(2)).toBe("told");
  });

  it("lets the solver be run again after a run that ended in a defect", async () => {
    const solver = createSolver(bowl);
    await expect(
      minimize(quadratic, solver, {
        onTrial: () => {
          throw new Error("a bug in onTrial");
        },
      }),
    ).rejects.toThrow("a bug in onTrial");
    expect((await minimize(quadratic, solver)).solver.phase).toBe("done");
  });

  it("keeps evaluations that finished before a stop took effect", async () => {
    const finished = new Set<number>();
    const result = await minimize(
      async (p, { trial }) => {
        if (trial.id === 2) throw new Error("objective crashed");
        finished.add(trial.id);
        return quadratic(p);
      },
      bowl,
      { concurrency: 4 },
    );
    expect(result.stopped).toBe(true);
    expect(finished.size).toBeGreaterThan(1);
    expect(result.evaluations).toBe(finished.size);
    const pending = result.solver.pendingTrials().map((t) => t.id);
    expect(pending.filter((id) => finished.has(id))).toEqual([]);
  });

  it("treats a non-finite objective value as a failure", async () => {
    const result = await minimize(() => Number.NaN, bowl, { onError: "skip" });
    expect(result.failures).toHaveLength(30);
    expect(String(result.failures[0]!.error)).toMatch(/objective returned NaN/);
    expect(result.best).toBeNull();
  });

  it("rejects with the abort reason once the evaluations it aborted have settled", async () => {
    const controller = new AbortController();
    const cancelled: number[] = [];
    let running = 0;
    const solver = createSolver(bowl);
    const promise = minimize(
      (_p, { trial, signal }) =>
        new Promise<number>((_resolve, reject) => {
          running++;
          signal.addEventListener("abort", () => {
            cancelled.push(trial.id);
            // The objective gives up a little later, as one that cleans up first would.
            setImmediate(() => {
              running--;
              reject(signal.reason);
            });
          });
          if (trial.id === 2) controller.abort(new Error("user abort"));
        }),
      solver,
      { concurrency: 2, signal: controller.signal },
    );
    await expect(promise).rejects.toThrow("user abort");
    expect(cancelled.sort()).toEqual([1, 2]);
    expect(running).toBe(0);
    expect(solver.pendingTrials().map((t) => t.id)).toEqual([1, 2]);
  });

  it("waits for an evaluation that ignores the abort, and leaves its trial pending", async () => {
    const controller = new AbortController();
    const solver = createSolver(bowl);
    let settled = false;
    const promise = minimize(
      (p) =>
        new Promise<number>((resolve) => {
          controller.abort(new Error("user abort"));
          setTimeout(() => {
            settled = true;
            resolve(quadratic(p));
          }, 5);
        }),
      solver,
      { signal: controller.signal },
    );
    await expect(promise).rejects.toThrow("user abort");
    expect(settled).toBe(true);
    // A value that came after the abort is not recorded: the trial is evaluated again on resume.
    expect(solver.pendingTrials().map((t) => t.id)).toEqual([1]);
  });

  it("refuses a second run on a solver another run is driving, changing nothing", async () => {
    const solver = createSolver(bowl);
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const calls: number[] = [];
    const first = minimize(
      async (p, { trial }) => {
        calls.push(trial.id);
        await gate;
        return quadratic(p);
      },
      solver,
      { concurrency: 2 },
    );
    await expect(minimize(quadratic, solver)).rejects.toThrow(
      /minimize: this solver is already being run by another minimize call/,
    );
    await expect(minimize(quadratic, solver)).rejects.toBeInstanceOf(UsageError);
    expect(calls).toEqual([1, 2]);
    release();
    const result = await first;
    expect(result.solver.phase).toBe("done");
    expect(calls).toHaveLength(30);
    // Once it has settled, the solver may be run again (it is done: nothing left to evaluate).
    expect((await minimize(quadratic, solver)).evaluations).toBe(0);
  });

  it("fails with the config error or a usage error before evaluating anything", async () => {
    let calls = 0;
    const f = () => ++calls;
    await expect(minimize(f, { ...bowl, budget: -1 })).rejects.toBeInstanceOf(ConfigError);
    await expect(minimize(f, bowl, { concurrency: 0 })).rejects.toBeInstanceOf(UsageError);
    expect(calls).toBe(0);
  });

  it("fails with a typed UsageError, not a defect, on a solver that was stopped", async () => {
    const solver = createSolver(bowl);
    solver.stop();
    const caught = await Effect.runPromise(
      minimizeEffect(quadratic, solver).pipe(
        Effect.map(() => "ran"),
        Effect.catchTag("UsageError", (error) => Effect.succeed(error.message)),
      ),
    );
    expect(caught).toBe("ask: the solver was stopped");
    await expect(minimize(quadratic, solver)).rejects.toBeInstanceOf(UsageError);
  });

  it("fails with a typed UsageError when the solver is stopped while a trial runs", async () => {
    const solver = createSolver(bowl);
    const objective = async (params: Record<string, number>) => {
      solver.stop(); // the scope that owns it closed, say
      return quadratic(params);
    };
    const caught = await Effect.runPromise(
      minimizeEffect(objective, solver).pipe(
        Effect.map(() => "ran"),
        Effect.catchTag("UsageError", (error) => Effect.succeed(error.message)),
      ),
    );
    expect(caught).toBe("tell: the solver was stopped");
  });

  it("is interruptible as an Effect, leaving interrupted trials pending", async () => {
    const solver = createSolver(bowl);
    const exit = await Effect.runPromise(
      Effect.gen(function* () {
        const fiber = yield* Effect.fork(
          minimizeEffect(
            (_p, { signal }) =>
              new Promise<number>((_resolve, reject) => signal.addEventListener("abort", reject)),
            solver,
            { concurrency: 2 },
          ),
        );
        yield* Effect.yieldNow();
        yield* Effect.sleep(1);
        return yield* Fiber.interrupt(fiber);
      }),
    );
    expect(Exit.isInterrupted(exit)).toBe(true);
    expect(solver.pendingTrials().map((t) => t.id)).toEqual([1, 2]);
  });
});

describe("minimize with an objective built with Effect", () => {
  /** Runs an Effect as an objective does when it builds its work with Effect (Runtime.runPromise). */
  const run = <A, E>(effect: Effect.Effect<A, E>) => Runtime.runPromise(Runtime.defaultRuntime)(effect);
  class LoadTestError extends Data.TaggedError("LoadTestError")<{ readonly code: number }> {}

  it("takes a TrialPruned failed inside the Effect for a pruned trial", async () => {
    const result = await minimize(
      (params, trial) =>
        run(
          Effect.gen(function* () {
            for (let step = 1; step <= 5; step++) {
              trial.report(step, params.x + 10 / step);
              if (trial.shouldPrune()) return yield* Effect.fail(new TrialPruned());
            }
            return params.x;
          }),
        ),
      {
        seed: 1,
        budget: 12,
        bounds: { x: { min: 0, max: 10 } },
        pruner: { kind: "median", startupTrials: 2 },
      },
    );
    expect(result.failures).toEqual([]);
    expect(result.pruned).toBeGreaterThan(0);
    expect(result.evaluations + result.pruned).toBe(12);
  });

  it("unwraps a TrialPruned from runs nested in runs", async () => {
    const result = await minimize(
      () =>
        run(
          Effect.tryPromise({
            try: () => run(Effect.fail(new TrialPruned())),
            catch: (error) => error,
          }),
        ).then(() => 1),
      { seed: 1, budget: 4, bounds: { x: { min: 0, max: 1 } } },
      { onError: "skip" },
    );
    expect(result.failures).toEqual([]);
    expect(result.pruned).toBe(4);
  });

  it("keeps the objective's own typed error as the failure, not Effect's wrapper", async () => {
    const result = await minimize(
      () => run(Effect.fail(new LoadTestError({ code: 503 }))),
      { seed: 1, budget: 3, bounds: { x: { min: 0, max: 1 } } },
      { onError: "skip" },
    );
    expect(result.failures).toHaveLength(3);
    expect(result.failures[0]!.error).toBeInstanceOf(LoadTestError);
    expect((result.failures[0]!.error as LoadTestError).code).toBe(503);
  });
});

describe("minimizeEffect with an objective that returns an Effect", () => {
  class Scale extends Context.Tag("Scale")<Scale, number>() {}
  class LoadTestError extends Data.TaggedError("LoadTestError")<{ readonly code: number }> {}
  const problem = { seed: 4, budget: 20, bounds: { x: { min: -3, max: 3 } } };

  it("runs it in the evaluation's fiber, with the caller's services, to the plain objective's run", async () => {
    const withService = await Effect.runPromise(
      minimizeEffect(({ x }) => Effect.map(Scale, (scale) => scale * (x - 1) ** 2), problem).pipe(
        Effect.provideService(Scale, 2),
      ),
    );
    const plain = await minimize(({ x }) => 2 * (x - 1) ** 2, problem);
    expect(withService.evaluations).toBe(20);
    expect(withService.best).toEqual(plain.best);
    expect(withService.solver.toJSON().told).toEqual(plain.solver.toJSON().told);
  });

  it("records its typed errors as they are, types them, and wraps a defect in an Error", async () => {
    const result = await Effect.runPromise(
      minimizeEffect(
        ({ x }, { trial }) =>
          trial.id === 2
            ? Effect.die("unplugged")
            : x > 0
              ? Effect.fail(new LoadTestError({ code: 503 }))
              : Effect.succeed(-x),
        problem,
        { onError: "skip" },
      ),
    );
    expectTypeOf<(typeof result.failures)[number]["error"]>().toEqualTypeOf<LoadTestError | Error>();
    const typed = result.failures.filter((f) => f.error instanceof LoadTestError);
    expect(typed.length).toBeGreaterThan(0);
    expect(typed.every((f) => (f.error as LoadTestError).code === 503 && f.trial.params.x > 0)).toBe(true);
    const died = result.failures.find((f) => f.trial.id === 2)!;
    expect(died.error).toEqual(new Error('objective failed with "unplugged"'));
    expect((died.error as Error).cause).toBe("unplugged");
    expect(result.evaluations + result.failures.length).toBe(20);
  });

  it("types a synchronous throw of the objective as it records it, an Error", async () => {
    const result = await Effect.runPromise(
      minimizeEffect(
        ({ x }): Effect.Effect<number, LoadTestError> => {
          if (x > 0) throw "plain string";
          return Effect.succeed(-x);
        },
        problem,
        { onError: "skip" },
      ),
    );
    expectTypeOf<(typeof result.failures)[number]["error"]>().toEqualTypeOf<LoadTestError | Error>();
    expect(result.failures.length).toBeGreaterThan(0);
    for (const { error } of result.failures) {
      expect(error).toEqual(new Error('objective failed with "plain string"'));
      expect((error as Error).cause).toBe("plain string");
    }
    // A plain objective's failures are Errors too, typed so.
    const plain = await minimize(
      () => {
        throw 42;
      },
      problem,
      { onError: "skip" },
    );
    expectTypeOf<(typeof plain.failures)[number]["error"]>().toEqualTypeOf<Error>();
    expect(plain.failures[0]!.error).toEqual(new Error("objective failed with 42"));
  });

  it("prunes a trial whose Effect fails with TrialPruned, and leaves it out of the failures' type", async () => {
    const result = await Effect.runPromise(
      minimizeEffect(
        ({ x }, context) =>
          Effect.gen(function* () {
            for (let step = 1; step <= 5; step++) {
              context.report(step, x + 10 / step);
              if (context.shouldPrune()) return yield* Effect.fail(new TrialPruned());
            }
            return x;
          }),
        { ...problem, pruner: { kind: "median", startupTrials: 2 } },
      ),
    );
    expectTypeOf<(typeof result.failures)[number]["error"]>().toEqualTypeOf<Error>();
    expect(result.failures).toEqual([]);
    expect(result.pruned).toBeGreaterThan(0);
    expect(result.evaluations + result.pruned).toBe(20);
  });

  it("interrupts the Effects in flight when the run is interrupted, aborts their signal, and keeps the trials pending", async () => {
    const solver = createSolver(problem);
    const interrupted: number[] = [];
    const signals: AbortSignal[] = [];
    const exit = await Effect.runPromise(
      Effect.gen(function* () {
        const fiber = yield* Effect.fork(
          minimizeEffect(
            (_, { trial, signal }) => {
              signals.push(signal);
              return Effect.never.pipe(
                Effect.onInterrupt(() => Effect.sync(() => interrupted.push(trial.id))),
              );
            },
            solver,
            { concurrency: 2 },
          ),
        );
        yield* Effect.sleep(1);
        return yield* Fiber.interrupt(fiber);
      }),
    );
    expect(Exit.isInterrupted(exit)).toBe(true);
    expect(interrupted.sort()).toEqual([1, 2]);
    expect(signals.map((signal) => signal.aborted)).toEqual([true, true]);
    expect(solver.pendingTrials().map((t) => t.id)).toEqual([1, 2]);
  });
});

describe("minimize's options", () => {
  it("refuses a misspelt option, naming the ones it takes", async () => {
    const f = ({ x }: { readonly x: number }) => x;
    const problem = { seed: 1, budget: 2, bounds: { x: { min: 0, max: 1 } } };
    await expect(minimize(f, problem, { concurency: 4 } as never)).rejects.toThrow(
      new UsageError(
        'minimize: unknown option "concurency" (did you mean concurrency? known: concurrency, onError, onTrial, signal)',
      ),
    );
    // A key set to undefined is absent, as in a config; options that are no object are refused.
    await expect(minimize(f, problem, { concurency: undefined } as never)).resolves.toMatchObject({
      evaluations: 2,
    });
    await expect(minimize(f, problem, null as never)).rejects.toThrow(
      new UsageError("minimize: options must be an object, got null"),
    );
    const exit = await Effect.runPromiseExit(minimizeEffect(f, problem, { concurency: 4 } as never));
    expect(exit).toEqual(
      Exit.fail(
        new UsageError(
          'minimize: unknown option "concurency" (did you mean concurrency? known: concurrency, onError, onTrial)',
        ),
      ),
    );
  });
});
