/**
 * The contract between the solver and a refine strategy (Nelder–Mead, TPE).
 *
 * @remarks
 * Strategies work in the unit cube [0,1]^d (log parameters already in log space) and never see
 * raw units, names, budgets or trial bookkeeping. The solver owns ids: when a strategy returns
 * points from {@link Strategy.ask}, the i-th point becomes trial `firstId + i`, and its result
 * comes back through {@link Strategy.tell} with that id, in any order. Points the solver gets
 * from elsewhere (probe, warm start) appear only in {@link StrategyContext.history}.
 */

/** A completed evaluation: a unit-cube point and its objective value (lower is better). */
export interface Evaluation {
  readonly u: readonly number[];
  readonly value: number;
}

/** What a strategy may look at when proposing. */
export interface StrategyContext {
  /** Every completed evaluation, in the order results were told (probe, warm start, refine). */
  readonly history: readonly Evaluation[];
  /** Unit-cube points asked (by any phase) whose results have not been told yet. */
  readonly pending: readonly (readonly number[])[];
  /**
   * Unit-cube points of trials that ended without a final value, in the order they ended: stopped
   * early by a pruner (a last intermediate value is not a final one) or failed (the evaluation
   * crashed there). They are not in `history`.
   */
  readonly unfinished?: readonly (readonly number[])[];
  /** Trials left in the budget after this ask's limit is applied; always ≥ 1 when `ask` is called. */
  readonly remaining: number;
  /**
   * Whether some probe results are still out (the solver starts a strategy before they are in when
   * several trials run at once). A local method that would build its first simplex around the best
   * point so far returns `[]` until they arrive.
   */
  readonly probeOutstanding?: boolean;
}

/** Names of the refine strategies (`"global-local"` is what `strategy: "auto"` runs). */
export type StrategyName = "nelder-mead" | "tpe" | "global-local";

/** A refine strategy: deterministic given its construction arguments and the calls made to it. */
export interface Strategy {
  readonly name: StrategyName;
  /**
   * Proposes at most `max` (≥ 1) new points inside [0,1]^d.
   * Returns `[]` when it cannot propose until some pending points are told (its own, or the
   * probe's: {@link StrategyContext.probeOutstanding}), and `null` when it has nothing left to try.
   */
  ask(context: StrategyContext, max: number, firstId: number): number[][] | null;
  /** The result of a point this strategy proposed (`id` as assigned in {@link Strategy.ask}). */
  tell(id: number, value: number): void;
  /**
   * A point this strategy proposed was given up before it was evaluated (`id` as assigned in
   * {@link Strategy.ask}): it says nothing about the point. A method that still needs its value (a
   * simplex vertex) hands the same point out again; the others forget it.
   */
  cancel(id: number): void;
  /**
   * The run's budget grew (`Solver.extend`): a plan fixed from the trials that were left
   * is made again when next due. Absent from strategies with no such plan.
   */
  budgetGrew?(): void;
  /** A JSON-safe copy of the complete internal state (including any PRNG state). */
  toJSON(): StrategyState;
}

/** Serialised strategy state: `kind` names the strategy, the rest is the strategy's own. */
export interface StrategyState {
  readonly kind: StrategyName;
  readonly [key: string]: unknown;
}
