import { describe, expect, it } from "vitest";
import { problemName } from "../bench/b1-problem.js";
import { blockRatios } from "../bench/parallel.js";
import { suiteProblems } from "../bench/quality-suite.js";

const branin = suiteProblems().find((p) => problemName(p) === "Branin")!;
const hartmann6 = suiteProblems().find((p) => problemName(p) === "Hartmann-6")!;

function cell(problem: typeof branin, workers: number, regrets: number[], strategy = "auto" as const) {
  return { problem, budget: 100, strategy, workers, regrets };
}

describe("the PARALLEL bench's reading per block of seeds", () => {
  it("reads the gate's geometric mean of median ratios on each block, floored at 1e-6", () => {
    const cells = [
      // Branin: medians 1 and 2 on seeds 1..3 (the means, 34 and 2, would give 1/17); equal on 4..6.
      cell(branin, 1, [1, 1, 100, 1, 2, 3]),
      cell(branin, 8, [2, 2, 2, 1, 2, 3]),
      // Hartmann-6: both below the floor on seeds 1..3 (ratio 1), 8 workers 4× better on 4..6.
      cell(hartmann6, 1, [1e-9, 0, 1e-12, 4, 8, 4]),
      cell(hartmann6, 8, [1e-7, 1e-8, 0, 1, 2, 1]),
      // Cells of another worker count or strategy are not read.
      cell(branin, 4, [9, 9, 9, 9, 9, 9]),
      { ...cell(branin, 8, [1e9, 1e9, 1e9, 1e9, 1e9, 1e9]), strategy: "tpe" as const },
    ];
    const blocks = blockRatios(cells, 3);
    expect(blocks.map(([a, b]) => [a, b])).toEqual([
      [1, 3],
      [4, 6],
    ]);
    expect(blocks[0]![2]).toBeCloseTo(Math.sqrt(2 * 1), 12);
    expect(blocks[1]![2]).toBeCloseTo(Math.sqrt(1 * 0.25), 12);
  });

  it("leaves out a last block shorter than the rest, and reads nothing without 8-worker cells", () => {
    const cells = [cell(branin, 1, [1, 2, 3, 4, 5]), cell(branin, 8, [2, 4, 6, 8, 10])];
    expect(blockRatios(cells, 2)).toEqual([
      [1, 2, 2],
      [3, 4, 2],
    ]);
    expect(blockRatios([cell(branin, 1, [1, 2])], 2)).toEqual([]);
  });

  it("refuses a block that is not a whole number ≥ 1, and names a cell with no 1-worker counterpart", () => {
    expect(() => blockRatios([], 0)).toThrow(/block: expected a whole number ≥ 1, got 0/);
    expect(() => blockRatios([cell(hartmann6, 8, [1, 2])], 2)).toThrow(/Hartmann-6 @100/);
  });
});
