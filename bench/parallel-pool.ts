/**
 * A simulated pool of `concurrency` workers driving a solver through its public ask/tell API, for
 * the parallel-workers benchmark (bench/parallel.ts) and its tests.
 *
 * @remarks
 * Every evaluation takes the same time, so workers finish in the order they started (first in,
 * first out): the oldest outstanding trial is told first, then every free worker asks for more.
 * That is the order a real pool with equal evaluation times produces, and it is deterministic.
 * The busy fraction counts, after each refill, the workers holding a trial against the workers
 * that could hold one (`min(concurrency, budget − trials resolved)`): a worker idle because the
 * solver returned `[]` counts against it, one idle because the budget is nearly spent does not.
 * Each refill is also counted under the phase the run is in once it has asked ({@link RunPhase}),
 * so that a phase which idles workers shows even when the others hide it in the total.
 */
import { createSolver, type Solver } from "../src/index.js";
import { type B1Problem, objectiveOf } from "./b1-problem.js";

/** The strategy setting a pool run uses. */
export type PoolStrategy = "auto" | "nelder-mead" | "tpe";

/**
 * Where a run stands: the probe, then the refine strategy; for `auto`, its global or local phase
 * (read from the strategy's saved state).
 */
export type RunPhase = "probe" | "refine" | "global" | "local";

/** Busy and possible workers summed over one phase's refills. */
export interface PhaseBusy {
  busy: number;
  capacity: number;
}

/** What one pool run measured. */
export interface PoolRun {
  /** Noiseless value of the best observed point minus the known minimum. */
  readonly regret: number;
  /** Σ busy workers over refills. */
  readonly busy: number;
  /** Σ workers that could have been busy over refills. */
  readonly capacity: number;
  /** Trials evaluated (the budget, unless the solver stopped early). */
  readonly trials: number;
  /** Evaluation times the run took, start to last result: `trials` with one worker. */
  readonly elapsed: number;
  /** `busy` and `capacity` split by the phase of each refill. */
  readonly phases: Partial<Record<RunPhase, PhaseBusy>>;
}

/**
 * The phase `solver` is in. `auto`'s is read from its saved state, a copy of the history on each
 * call: a few per cent of a run's time at budget 300, which the bench can afford.
 */
export function phaseOf(solver: Solver): RunPhase {
  if (solver.phase === "probe") return "probe";
  if (solver.strategyName !== "global-local") return "refine";
  const phase = (solver.toJSON().strategy as { phase?: unknown } | null)?.phase;
  if (phase !== "global" && phase !== "local") throw new Error(`unexpected auto phase ${String(phase)}`);
  return phase;
}

/** Runs `problem` to `budget` trials with `concurrency` workers (see the module remarks). */
export function runPool(
  problem: B1Problem,
  seed: number,
  budget: number,
  strategy: PoolStrategy,
  concurrency: number,
): PoolRun {
  const objective = objectiveOf(problem);
  const solver = createSolver({ seed, budget, bounds: objective.bounds, strategy });
  const outstanding: { id: number; value: number; truth: number; ends: number }[] = [];
  let head = 0;
  /** The time on a clock that counts one per evaluation: when the last result came in. */
  let now = 0;
  let resolved = 0;
  let busy = 0;
  let capacity = 0;
  let bestObserved = Number.POSITIVE_INFINITY;
  let bestTruth = Number.POSITIVE_INFINITY;
  const phases: Partial<Record<RunPhase, PhaseBusy>> = {};
  try {
    for (;;) {
      let exhausted = false;
      while (outstanding.length - head < concurrency) {
        const batch = solver.ask({ max: concurrency - (outstanding.length - head) });
        if (batch === null) exhausted = true;
        if (batch === null || batch.length === 0) break;
        for (const trial of batch) {
          outstanding.push({ id: trial.id, ...objective.evaluate(trial.params), ends: now + 1 });
        }
      }
      const running = outstanding.length - head;
      if (running === 0) {
        if (!exhausted && resolved < budget)
          throw new Error(`${objective.name}: ask() returned [] with no trial running`);
        break;
      }
      const possible = Math.min(concurrency, budget - resolved);
      busy += running;
      capacity += possible;
      const phase = phaseOf(solver);
      const sum = phases[phase] ?? { busy: 0, capacity: 0 };
      sum.busy += running;
      sum.capacity += possible;
      phases[phase] = sum;
      const done = outstanding[head++]!;
      now = done.ends;
      solver.tell({ id: done.id, value: done.value });
      resolved++;
      if (done.value < bestObserved) {
        bestObserved = done.value;
        bestTruth = done.truth;
      }
    }
  } finally {
    solver.stop();
  }
  return {
    regret: Math.max(0, bestTruth - objective.minimum),
    busy,
    capacity,
    trials: resolved,
    elapsed: now,
    phases,
  };
}
