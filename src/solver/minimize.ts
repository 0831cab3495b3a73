import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as FiberSet from "effect/FiberSet";
import * as Queue from "effect/Queue";
import * as Runtime from "effect/Runtime";
import { ConfigError, errorMessage, UsageError } from "../errors.js";
import { shownValue } from "../shown-value.js";
import type { BoundsInput, ParamShape, Params, ParamsOf } from "../space/params.js";
import { unknownOptionKeys, unknownOptionsText } from "../unknown-options.js";
import type { SolverConfig } from "./config.js";
import { type BestPoint, createSolver, type Solver, type Trial } from "./solver.js";
import { TrialPruned } from "./trial-pruned.js";

/** What the objective receives besides the parameters. */
export interface ObjectiveContext<N extends ParamShape = string> {
  /** The trial being evaluated. */
  readonly trial: Trial<N>;
  /**
   * Aborted when the run is interrupted (its `signal` aborts, or its Effect is interrupted): long
   * evaluations should give up then, as the run waits for each one it started to settle. A
   * failure under `onError: "stop"` does not abort it: the trials running finish and are recorded.
   */
  readonly signal: AbortSignal;
  /**
   * Records an intermediate value (lower is better, or higher under `direction: "maximize"`) at
   * `step`, a whole number greater than the previous one (see `Solver.report`). A trial re-run
   * after an interrupted run skips the steps the earlier run already recorded. Once `signal` has
   * aborted, it records nothing: the trial is left pending for a later run, which would
   * otherwise find steps it never saw.
   */
  report(step: number, value: number): void;
  /** Whether the configured pruner advises stopping; then `throw new TrialPruned()`. */
  shouldPrune(): boolean;
}

/**
 * A function to minimise (or maximise, under the config's `direction`); it may be async. A throw
 * or a non-finite value fails the trial, except a thrown {@link TrialPruned}, which records it as
 * pruned.
 */
export type Objective<N extends ParamShape = string> = (
  params: Params<N>,
  context: ObjectiveContext<N>,
) => number | PromiseLike<number>;

/**
 * A function to minimise (or maximise) written with Effect: it returns an Effect of the value, which
 * {@link minimizeEffect} runs in the evaluation's own fiber, so it may use the caller's services
 * (`R`), is interrupted as a fiber when the run is interrupted, and fails the trial with a typed error
 * (`E`) or prunes it with `Effect.fail(new TrialPruned())`.
 */
export type EffectObjective<N extends ParamShape = string, E = never, R = never> = (
  params: Params<N>,
  context: ObjectiveContext<N>,
) => Effect.Effect<number, E, R>;

/**
 * A trial whose evaluation failed, and why: an `Error` (a thrown value that is none is wrapped in
 * one, as its `cause`); `E` adds what an {@link EffectObjective} fails with.
 */
export interface TrialFailure<N extends ParamShape = string, E = Error> {
  readonly trial: Trial<N>;
  readonly error: E;
}

/** Progress reported after every finished trial. */
export interface TrialOutcome<N extends ParamShape = string> {
  readonly trial: Trial<N>;
  /** The value, or `undefined` when the trial failed or was pruned. */
  readonly value: number | undefined;
  /** The objective stopped the trial early (threw {@link TrialPruned}). */
  readonly pruned: boolean;
  readonly best: BestPoint<N> | null;
  readonly evaluations: number;
  readonly budget: number;
}

/** Options of {@link minimize}. */
export interface MinimizeOptions<N extends ParamShape = string> {
  /** How many evaluations may run at once (default 1). */
  readonly concurrency?: number;
  /**
   * What a failing evaluation does: `"stop"` (default) ends the run: no trial starts after it, the
   * evaluations in flight finish and are recorded, and the failed trial is left pending, so that
   * passing the solver to `minimize` again evaluates it first; `"skip"` records the trial as
   * failed (it counts against the budget) and carries on.
   */
  readonly onError?: "skip" | "stop";
  /**
   * Aborting it aborts the evaluations in flight (their context's `signal`), waits for each to
   * settle, leaves their trials pending and rejects with the signal's reason.
   */
  readonly signal?: AbortSignal;
  /**
   * Called after each finished evaluation (on the caller's event loop; must not throw). The one
   * that failed under `"stop"` stays pending, and a resumed run that evaluates it calls this again
   * for the same trial id.
   */
  readonly onTrial?: (outcome: TrialOutcome<N>) => void;
}

/**
 * What a run of {@link minimize} found. `E` types the failures' errors: an `Error` (what a plain
 * objective throws or rejects with, wrapped when it is none; a non-finite value), and for an
 * {@link EffectObjective} its typed errors too.
 */
export interface MinimizeResult<N extends ParamShape = string, E = Error> {
  readonly best: BestPoint<N> | null;
  /** Trials evaluated to a value in this run. */
  readonly evaluations: number;
  /** Trials stopped early in this run (they count against the budget too). */
  readonly pruned: number;
  /**
   * The evaluations that failed in this run. Under `"stop"`: the one that stopped it, and any of the
   * trials still running then that failed too, all left pending.
   */
  readonly failures: readonly TrialFailure<N, E>[];
  /** True when a failure stopped the run early (`onError: "stop"`). */
  readonly stopped: boolean;
  /** The solver, resumable: pass it to `minimize` again or persist it with `toJSON()`. */
  readonly solver: Solver<N>;
}

/** Solvers a run of {@link minimizeEffect} is asking and telling right now. */
const driven = new WeakSet<object>();

/** The options {@link minimizeEffect} takes (`minimize` takes `signal` too). */
const MINIMIZE_EFFECT_OPTIONS = ["concurrency", "onError", "onTrial"];

/** Keys of `options` not in `known`; one set to `undefined` counts as absent, as in a config. */
function misspelt(options: object, known: readonly string[]): string[] {
  return unknownOptionKeys(options, known).filter(
    (key) => (options as Record<string, unknown>)[key] !== undefined,
  );
}

/**
 * What an objective threw, unwrapped from the `FiberFailure` that Effect's `runPromise` wraps it in:
 * an Effect-built objective's `TrialPruned` is then a pruned trial, and its typed error is the
 * failure's `error`, not the wrapper.
 */
function ownError(error: unknown): unknown {
  // Nested runs wrap again: unwrap them all.
  let own = error;
  while (Runtime.isFiberFailure(own)) own = Cause.squash(own[Runtime.FiberFailureCauseId]);
  return own;
}

/** What the failures of a run of an {@link EffectObjective} failing with `E` hold. */
export type EffectFailure<E> = Exclude<E, TrialPruned> | Error;

/**
 * What an objective failed with, as an `Error`: a thrown value that is none (a string, a defect's
 * value) is wrapped, and kept as the `cause`. An Effect objective's failures are typed by it.
 */
function asError(failure: unknown): Error {
  return failure instanceof Error
    ? failure
    : new Error(`objective failed with ${shownValue(failure)}`, { cause: failure });
}

interface Finished<N extends ParamShape> {
  readonly trial: Trial<N>;
  readonly exit: Exit.Exit<number, unknown>;
}

/**
 * The Effect behind {@link minimize}: evaluates trials with bounded concurrency until the budget is
 * spent. Every evaluation runs in a fiber owned by the run's scope, so interrupting the Effect
 * cancels the evaluations in flight (their `signal` aborts) and leaves their trials pending in the
 * solver, ready to be evaluated again by a later run. It waits for a plain objective's promise to
 * settle, and for an Effect objective's fiber to end its interruption (an `Effect.promise` inside
 * it is not waited for: Effect lets such a promise run on). The objective may return an Effect
 * ({@link EffectObjective}): it then runs in that fiber, with the services the run is given.
 */
export function minimizeEffect<const B extends BoundsInput>(
  objective: Objective<ParamsOf<B>>,
  problem: SolverConfig<B>,
  options?: Omit<MinimizeOptions<ParamsOf<B>>, "signal">,
): Effect.Effect<MinimizeResult<ParamsOf<B>>, ConfigError | UsageError>;
export function minimizeEffect<N extends ParamShape>(
  objective: Objective<N>,
  problem: Solver<N>,
  options?: Omit<MinimizeOptions<N>, "signal">,
): Effect.Effect<MinimizeResult<N>, ConfigError | UsageError>;
export function minimizeEffect<const B extends BoundsInput, E = never, R = never>(
  objective: EffectObjective<ParamsOf<B>, E, R>,
  problem: SolverConfig<B>,
  options?: Omit<MinimizeOptions<ParamsOf<B>>, "signal">,
): Effect.Effect<MinimizeResult<ParamsOf<B>, EffectFailure<E>>, ConfigError | UsageError, R>;
export function minimizeEffect<N extends ParamShape, E = never, R = never>(
  objective: EffectObjective<N, E, R>,
  problem: Solver<N>,
  options?: Omit<MinimizeOptions<N>, "signal">,
): Effect.Effect<MinimizeResult<N, EffectFailure<E>>, ConfigError | UsageError, R>;
export function minimizeEffect<N extends ParamShape>(
  objective: Objective<N> | EffectObjective<N, unknown, unknown>,
  problem: SolverConfig | Solver<N>,
  options: Omit<MinimizeOptions<N>, "signal"> = {},
): Effect.Effect<MinimizeResult<N>, ConfigError | UsageError, unknown> {
  return Effect.scoped(
    Effect.gen(function* () {
      if (typeof options !== "object" || options === null)
        return yield* Effect.fail(
          new UsageError(`minimize: options must be an object, got ${shownValue(options)}`),
        );
      const unknown = misspelt(options, MINIMIZE_EFFECT_OPTIONS);
      if (unknown.length > 0)
        return yield* Effect.fail(
          new UsageError(`minimize: ${unknownOptionsText(unknown, MINIMIZE_EFFECT_OPTIONS)}`),
        );
      const concurrency = options.concurrency ?? 1;
      if (!(Number.isSafeInteger(concurrency) && concurrency > 0)) {
        return yield* Effect.fail(
          new UsageError(
            `minimize: concurrency must be a whole number greater than 0, got ${shownValue(concurrency)}`,
          ),
        );
      }
      const onError = options.onError ?? "stop";
      if (onError !== "stop" && onError !== "skip") {
        return yield* Effect.fail(
          new UsageError(`minimize: onError must be "stop" or "skip", got ${JSON.stringify(onError)}`),
        );
      }
      const solver: Solver<N> = isSolver(problem)
        ? problem
        : yield* Effect.try({
            try: () => createSolver(problem) as unknown as Solver<N>,
            catch: (error) => (error instanceof ConfigError ? error : new UsageError(String(error))),
          });
      // Two runs asking and telling one solver would each evaluate the other's pending trials.
      if (driven.has(solver))
        return yield* Effect.fail(
          new UsageError(
            "minimize: this solver is already being run by another minimize call; wait for that call to settle (or abort it) before passing the solver again",
          ),
        );
      yield* Effect.acquireRelease(
        Effect.sync(() => driven.add(solver)),
        () => Effect.sync(() => driven.delete(solver)),
      );
      const stopOnError = onError === "stop";
      const finished = yield* Queue.unbounded<Finished<N>>();
      const running = yield* FiberSet.make<void>();
      const failures: TrialFailure<N>[] = [];
      // Trials left pending by an earlier, interrupted run are evaluated first.
      const queued: Trial<N>[] = solver.pendingTrials();
      let inFlight = 0;
      let evaluations = 0;
      let pruned = 0;
      let stopped = false;

      const contextOf = (trial: Trial<N>, signal: AbortSignal): ObjectiveContext<N> => {
        // A trial resumed from an interrupted run already holds the steps it reported then.
        const earlier = solver.intermediateValues(trial.id);
        const resumedUpTo = earlier.length === 0 ? -1 : earlier[earlier.length - 1]!.step;
        return {
          trial,
          signal,
          report: (step, value) => {
            if (signal.aborted) return;
            if (Number.isSafeInteger(step) && step >= 0 && step <= resumedUpTo) return;
            solver.report(trial.id, step, value);
          },
          shouldPrune: () => solver.shouldPrune(trial.id),
        };
      };

      /**
       * Starts the evaluation of `trial`: calls the objective now, in the run's own fiber, so that
       * a throw at once is in `finished` before the next trial starts; what it returns is awaited
       * in a fiber of `running`.
       */
      const evaluate = (trial: Trial<N>) =>
        Effect.suspend(() => {
          // The objective's signal aborts however the evaluation is interrupted: while its
          // promise runs (the canceler below) or while its Effect runs (onInterrupt).
          const controller = new AbortController();
          let out: unknown;
          try {
            out = objective(trial.params, contextOf(trial, controller.signal));
          } catch (error) {
            return Queue.offer(finished, { trial, exit: Exit.fail(error) }).pipe(Effect.asVoid);
          }
          const awaited: Effect.Effect<unknown, unknown, unknown> = Effect.isEffect(out)
            ? out.pipe(Effect.onInterrupt(() => Effect.sync(() => controller.abort())))
            : Effect.async<unknown, unknown>((resume) => {
                const settled = Promise.resolve(out).then(
                  (value) => resume(Effect.succeed(value)),
                  (error) => resume(Effect.fail(error)),
                );
                // Interrupted (an abort, an interrupted run): the objective is told, and the run
                // waits for it to settle, so that none of its evaluations outlives it.
                return Effect.promise(() => {
                  controller.abort();
                  return settled;
                });
              });
          return FiberSet.run(
            running,
            awaited.pipe(
              Effect.flatMap((value) =>
                typeof value === "number" && Number.isFinite(value)
                  ? Effect.succeed(value)
                  : Effect.fail(
                      new Error(`objective returned ${shownValue(value)} (expected a finite number)`),
                    ),
              ),
              Effect.exit,
              Effect.flatMap((exit) => Queue.offer(finished, { trial, exit })),
            ),
          ).pipe(Effect.asVoid);
        });

      /** Tells the solver what an evaluation gave (a value, or a failure that may stop the run). */
      const record = (done: Finished<N>): void => {
        const { trial, exit } = done;
        let value: number | undefined;
        const error = Exit.isFailure(exit) ? ownError(Cause.squash(exit.cause)) : undefined;
        const wasPruned = error instanceof TrialPruned;
        if (Exit.isSuccess(exit)) {
          value = exit.value;
          solver.tell({ id: trial.id, value });
          evaluations++;
        } else if (wasPruned) {
          solver.tell({ id: trial.id, pruned: true });
          pruned++;
        } else {
          // Typed as promised: an Error (a thrown string, a defect's value, wrapped in one).
          failures.push({ trial, error: asError(error) });
          // Under "stop" the trial stays pending, as `arqon solve --on-error stop` leaves it:
          // passing the solver to minimize again evaluates it first (once the cause is fixed).
          if (stopOnError) stopped = true;
          else solver.fail(trial.id, errorMessage(error));
        }
        options.onTrial?.({
          trial,
          value,
          pruned: wasPruned,
          best: solver.best(),
          evaluations,
          budget: solver.config.budget,
        });
      };

      while (true) {
        while (!stopped && inFlight < concurrency) {
          // Results already in are recorded first: a failure among them (an objective that threw
          // at once) stops the run before another trial starts.
          for (const done of yield* Queue.takeAll(finished)) {
            yield* refusable(() => record(done));
            inFlight--;
          }
          if (stopped) break;
          if (queued.length === 0) {
            const batch = yield* refusable(() => solver.ask({ max: concurrency - inFlight }));
            if (batch === null || batch.length === 0) break;
            queued.push(...batch);
          }
          const trial = queued.shift()!;
          inFlight++;
          yield* evaluate(trial);
        }
        if (inFlight === 0) break;

        // Once stopped, no trial starts, and those running finish and are recorded (a value is a
        // value, whatever failed beside it), as `arqon solve --on-error stop` does.
        const done = yield* Queue.take(finished);
        yield* refusable(() => record(done));
        inFlight--;
      }
      return { best: solver.best(), evaluations, pruned, failures, stopped, solver };
    }),
  );
}

/**
 * Minimises `objective` over the config's bounds within its budget, running up to `concurrency`
 * evaluations at once.
 *
 * @example
 * ```ts
 * const { best } = await minimize(async ({ x, y }) => (x - 1) ** 2 + (y + 2) ** 2, {
 *   seed: 1, budget: 60, bounds: { x: { min: -5, max: 5 }, y: { min: -5, max: 5 } },
 * }, { concurrency: 4 });
 * ```
 */
export async function minimize<const B extends BoundsInput>(
  objective: Objective<ParamsOf<B>>,
  problem: SolverConfig<B>,
  options?: MinimizeOptions<ParamsOf<B>>,
): Promise<MinimizeResult<ParamsOf<B>>>;
export async function minimize<N extends ParamShape>(
  objective: Objective<N>,
  problem: Solver<N>,
  options?: MinimizeOptions<N>,
): Promise<MinimizeResult<N>>;
export async function minimize<N extends ParamShape>(
  objective: Objective<N>,
  problem: SolverConfig | Solver<N>,
  options: MinimizeOptions<N> = {},
): Promise<MinimizeResult<N>> {
  if (typeof options !== "object" || options === null)
    throw new UsageError(`minimize: options must be an object, got ${shownValue(options)}`);
  const known = [...MINIMIZE_EFFECT_OPTIONS, "signal"];
  const unknown = misspelt(options, known);
  if (unknown.length > 0) throw new UsageError(`minimize: ${unknownOptionsText(unknown, known)}`);
  const { signal, ...rest } = options;
  signal?.throwIfAborted();
  const exit = await Effect.runPromiseExit(
    minimizeEffect(objective, problem as Solver<N>, rest),
    signal === undefined ? undefined : { signal },
  );
  if (Exit.isSuccess(exit)) return exit.value;
  if (signal?.aborted && Cause.isInterruptedOnly(exit.cause)) throw signal.reason;
  throw Cause.squash(exit.cause);
}

/**
 * Runs solver calls whose `UsageError` (a solver stopped before or during the run) belongs in the
 * typed error channel; anything else they throw is a defect.
 */
function refusable<A>(call: () => A): Effect.Effect<A, UsageError> {
  return Effect.suspend(() => {
    try {
      return Effect.succeed(call());
    } catch (error) {
      return error instanceof UsageError ? Effect.fail(error) : Effect.die(error);
    }
  });
}

function isSolver<N extends ParamShape>(problem: SolverConfig | Solver<N>): problem is Solver<N> {
  return typeof (problem as Solver<N>).ask === "function";
}
