import { describe, expect, it } from "vitest";
import { problemName } from "../bench/b1-problem.js";
import { pairedGap, pairedGapText } from "../bench/parallel-gap.js";
import { suiteProblems } from "../bench/quality-suite.js";

const branin = suiteProblems().find((p) => problemName(p) === "Branin")!;
const hartmann6 = suiteProblems().find((p) => problemName(p) === "Hartmann-6")!;

function cell(problem: typeof branin, workers: number, regrets: number[], strategy = "auto" as const) {
  return { problem, budget: 100, strategy, workers, regrets };
}

const cells = [
  // Branin: log₁₀ changes 1, 2, 0 by seed.
  cell(branin, 1, [1, 1, 1]),
  cell(branin, 8, [10, 100, 1]),
  // Hartmann-6, floored at 1e-6: one worker −6, 0, −6; 8 workers −6, −1, −3; changes 0, −1, +3.
  cell(hartmann6, 1, [1e-9, 1, 0]),
  cell(hartmann6, 8, [1e-6, 0.1, 1e-3]),
  // Cells of another worker count or strategy are not read.
  cell(branin, 4, [1e9, 1e9, 1e9]),
  { ...cell(hartmann6, 8, [1e9, 1e9, 1e9]), strategy: "tpe" as const },
];

describe("the PARALLEL bench's paired reading of the gap", () => {
  it("averages the floored log₁₀ change over cells per seed, then over seeds with its standard error", () => {
    const gap = pairedGap(cells);
    expect(gap.seeds).toBe(3);
    // Per seed: 0.5, 0.5, 1.5; mean 5/6, sample variance 1/3, standard error √(1/9).
    expect(gap.mean).toBeCloseTo(5 / 6, 12);
    expect(gap.standardError).toBeCloseTo(1 / 3, 12);
    expect(gap.cells).toEqual([
      { name: "Branin @100", gap: 1, solvedOne: 0, solvedEight: 0 },
      { name: "Hartmann-6 @100", gap: expect.closeTo(2 / 3, 12), solvedOne: 2, solvedEight: 1 },
    ]);
  });

  it("reads only the seeds both worker counts measured", () => {
    const gap = pairedGap([cell(branin, 1, [1, 1, 1]), cell(branin, 8, [10, 100])]);
    expect(gap.seeds).toBe(2);
    expect(gap.mean).toBeCloseTo(1.5, 12);
  });

  it("names a cell with no 1-worker counterpart", () => {
    expect(() => pairedGap([cell(hartmann6, 8, [1, 2])])).toThrow(/no 1-worker cell for Hartmann-6 @100/);
  });

  it("writes the mean, the sum and a row per cell, largest loss first", () => {
    const text = pairedGapText("Development half", pairedGap(cells), "1001..1003");
    expect(text).toContain("its mean over seeds 1001..1003: +0.833 ± 0.333");
    expect(text).toContain("Summed over the cells, +1.667 decades");
    const rows = text.split("\n").filter((line) => line.startsWith("| ") && !line.startsWith("| cell"));
    expect(
      rows.map((row) =>
        row
          .split("|")
          .map((c) => c.trim())
          .slice(1, 5),
      ),
    ).toEqual([
      ["Branin @100", "+1.000", "0", "0"],
      ["Hartmann-6 @100", "+0.667", "2", "1"],
    ]);
  });

  it("lists the cells that gain most after those that lose, and sums the rest", () => {
    const more = [
      cell(branin, 1, [1, 1]),
      cell(branin, 8, [0.1, 0.1]),
      cell(hartmann6, 1, [1, 1]),
      cell(hartmann6, 8, [1, 1]),
    ];
    const text = pairedGapText("Validation half", pairedGap(more), "1..2");
    expect(text).toContain("the 0 cells that lose most and the 1 that gain most are below");
    expect(text).toContain("the other 1 sum to +0.000");
    expect(text).toContain("| Branin @100");
    expect(text).toContain("−1.000");
  });
});
