import type { ParamRegistry } from "../../space/param-registry.js";

/**
 * Relative safety margin taken off every unit-cube move budget, so that float round-off in the
 * unit → raw mapping can never push a move of exactly the budget past `maxDelta`.
 */
export const STEP_LIMIT_MARGIN = 1e-9;

/**
 * Converts each parameter's `maxDelta` (raw units, per apply) into a unit-cube move budget.
 *
 * @remarks
 * Linear parameters: `maxDelta / (max − min)`, the same everywhere.
 *
 * Log parameters: a unit move δ from raw value r reaches r·e^{+δ·s} going up and r·e^{−δ·s}
 * going down (s = ln max − ln min). Going up changes the raw value more, so the budget is the
 * upward distance ln(1 + maxDelta / r) / s, the smaller of the up and down unit distances,
 * evaluated once per iteration at the centre. That is safe for every move of the iteration:
 * each move spans at most the budget in unit space, and exp is convex, so a span whose lower end
 * is at or below the centre changes the raw value by at most r·(e^{budget·s} − 1) = maxDelta;
 * the one move whose lower end can lie above the centre (minus point at θ + c, new centre above
 * it) spans only budget − 2c and stays within maxDelta as well. The property test in
 * test/spsa.test.ts checks this on random log and linear parameters.
 *
 * A budget of 0 (maxDelta 0) freezes the parameter. Allocation-free after construction.
 */
export class StepLimits {
  private readonly registry: ParamRegistry;
  /** Width of each parameter's range in the space the unit cube maps linearly onto. */
  private readonly span: Float64Array;

  /** Precomputes the per-parameter spans of `registry`. */
  constructor(registry: ParamRegistry) {
    this.registry = registry;
    const n = registry.size;
    this.span = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const min = registry.min[i]!;
      const max = registry.max[i]!;
      this.span[i] = registry.log[i] === 1 ? Math.log(max) - Math.log(min) : max - min;
    }
  }

  /**
   * Largest unit-cube distance parameter `i` may move from unit position `u` while its raw value
   * moves by at most `maxDelta[i]` (less the {@link STEP_LIMIT_MARGIN}).
   */
  unitMaxDelta(i: number, u: number): number {
    const maxDelta = this.registry.maxDelta[i]!;
    const span = this.span[i]!;
    if (!(span > 0) || !(maxDelta > 0)) return 0;
    let budget: number;
    if (this.registry.log[i] === 1) {
      const raw = this.registry.toRaw(i, u < 0 ? 0 : u > 1 ? 1 : u);
      budget = Math.log1p(maxDelta / raw) / span;
    } else {
      budget = maxDelta / span;
    }
    return budget * (1 - STEP_LIMIT_MARGIN);
  }
}
