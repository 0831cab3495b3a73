/**
 * What every PARALLEL reading does to a cell: floor its regret at B1's resolution, and find the
 * one-worker cell it is compared with (bench/parallel.ts, bench/parallel-gap.ts).
 */
import type { B1Problem } from "./b1-problem.js";
import type { PoolStrategy } from "./parallel-pool.js";
import { REGRET_RESOLUTION } from "./solver-quality.js";

/** The fields that name a PARALLEL cell: problem, budget, strategy and worker count. */
export interface CellKey {
  readonly problem: B1Problem;
  readonly budget: number;
  readonly strategy: PoolStrategy;
  readonly workers: number;
}

/** A regret floored at B1's resolution (1e-6): below it, runs compare as equal. */
export function floored(regret: number): number {
  return Math.max(regret, REGRET_RESOLUTION);
}

/**
 * The c = 1 cell of `cell`'s problem, budget and strategy. The bench always measures one; a caller
 * handed cells from elsewhere checks for `undefined`.
 */
export function sequentialOf<C extends CellKey>(
  cells: readonly C[],
  cell: Pick<CellKey, "problem" | "budget" | "strategy">,
): C {
  return cells.find(
    (c) =>
      c.problem === cell.problem &&
      c.budget === cell.budget &&
      c.strategy === cell.strategy &&
      c.workers === 1,
  )!;
}
