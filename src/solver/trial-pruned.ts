/**
 * Thrown by a `minimize` objective to stop its trial early, typically once
 * `context.shouldPrune()` is true. The trial is then told pruned: it counts against the budget,
 * keeps its intermediate values and never becomes the best point.
 *
 * @example
 * ```ts
 * for (let step = 1; step <= 100; step++) {
 *   context.report(step, loss(step));
 *   if (context.shouldPrune()) throw new TrialPruned();
 * }
 * ```
 */
export class TrialPruned extends Error {
  override readonly name = "TrialPruned";
  readonly _tag = "TrialPruned";

  constructor(message = "trial pruned") {
    super(message);
  }
}
