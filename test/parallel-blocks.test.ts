import { describe, expect, it } from "vitest";
import { problemName } from "../bench/b1-problem.js";
import { blockRatios } from "../bench/parallel.js";
import { suiteProblems } from "../bench/quality-suite.js";

const branin = suiteProblems().find((p) => problemName(p) === "Branin")!;
const hartmann6 = suiteProblems().find((p) => problemName(p) === "Hartmann-6")!;

function cell(problem: typeof branin, workers: number, regrets: number[]) {
  return { problem, budget: 100, strategy: "auto" as const, workers, regrets };
}

describe("the PARALLEL bench's reading per block of seeds", () => {
  it("reads the gate's geometric mean of median ratios on each block, floored at 1e-6", () => {
    const cells = [
      // Branin: 8 workers 10× worse on seeds 1..3 (medians 1e-2 vs 1e-3), equal on 4..6.
      cell(branin, 1, [1e-3, 2e-3, 5e-4, 1, 2, 3]),
      cell(branin, 8, [1e-2, 2e-2, 5e-3, 1, 2, 3]),
      // Hartmann-6: both below the floor on seeds 1..3 (ratio 1), 8 workers 4× better on 4..6.
      cell(hartmann6, 1, [1e-9, 0, 1e-12, 4, 8, 4]),
      cell(hartmann6, 8, [1e-7, 1e-8, 0, 1, 2, 1]),
      // Cells of another strategy or worker count are not read.
      { ...cell(branin, 4, [9, 9, 9, 9, 9, 9]) },
    ];
    const blocks = blockRatios(cells, 3);
    expect(blocks.map(([a, b]) => [a, b])).toEqual([
      [1, 3],
      [4, 6],
    ]);
    expect(blocks[0]![2]).toBeCloseTo(Math.sqrt(10 * 1), 12);
    expect(blocks[1]![2]).toBeCloseTo(Math.sqrt(1 * 0.25), 12);
  });

  it("leaves out a last block shorter than the rest", () => {
    const cells = [cell(branin, 1, [1, 2, 3, 4, 5]), cell(branin, 8, [2, 4, 6, 8, 10])];
    expect(blockRatios(cells, 2)).toEqual([
      [1, 2, 2],
      [3, 4, 2],
    ]);
  });

  it("names the cell that has no 1-worker counterpart", () => {
    expect(() => blockRatios([cell(hartmann6, 8, [1, 2])], 2)).toThrow(/Hartmann-6 @100/);
  });
});
