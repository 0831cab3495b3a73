import { describe, expect, it } from "vitest";
import { parseOptions } from "../bench/benchmark.js";
import { regretsAt } from "../bench/quality.js";
import { replaceSection, sectionMarkers } from "../bench/report.js";
import { quantile, spread } from "../bench/stats.js";

describe("benchmark options", () => {
  it("a reduced run (any option but --fresh-optuna) never writes docs/benchmarks.md", () => {
    expect(parseOptions([], ["seeds"]).write).toBe(true);
    expect(parseOptions(["--seeds=5"], ["seeds"]).write).toBe(false);
    expect(parseOptions(["--only=levy"], ["only"]).write).toBe(false);
    expect(parseOptions(["--fresh-optuna=yes"], ["fresh-optuna"]).write).toBe(true);
    expect(parseOptions(["--no-write"]).write).toBe(false);
  });
});

describe("replaceSection (docs/benchmarks.md writer)", () => {
  const page =
    "# Title\n\nintro\n\n<!-- B1:start -->\nold B1\n<!-- B1:end -->\n\ntail <!-- B2:start -->x<!-- B2:end -->\n";

  it("replaces only the body between the named markers", () => {
    const next = replaceSection(page, "B1", "new B1\n| a |");
    expect(next).toBe(
      "# Title\n\nintro\n\n<!-- B1:start -->\nnew B1\n| a |\n<!-- B1:end -->\n\ntail <!-- B2:start -->x<!-- B2:end -->\n",
    );
    expect(replaceSection(next, "B1", "old B1")).toBe(page);
  });

  it("appends a missing section at the end with its markers", () => {
    expect(replaceSection("# T\n", "B3", "body")).toBe("# T\n\n<!-- B3:start -->\nbody\n<!-- B3:end -->\n");
  });

  it("refuses an unterminated section and a malformed name", () => {
    expect(() => replaceSection("<!-- B1:start -->\nbody", "B1", "x")).toThrow(/no matching/);
    expect(() => sectionMarkers("B1 -->")).toThrow(RangeError);
  });
});

describe("benchmark statistics", () => {
  it("reads a quantile between equal neighbours as them, Infinity included (never NaN)", () => {
    expect(quantile([1, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY], 0.5)).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(quantile([1, 2, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY], 0.99)).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(quantile([1, 3, Number.POSITIVE_INFINITY], 0.25)).toBe(2);
  });

  it("interpolates quantiles linearly between order statistics (type 7)", () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(spread([1, 2, 3, 4, 5])).toEqual({ median: 3, q1: 2, q3: 4 });
    expect(quantile([10, 20], 0.99)).toBeCloseTo(19.9, 12);
  });

  it("reads best-so-far regret at checkpoints, keeping the last best after an early stop", () => {
    expect(regretsAt([5, 3, 4, 1, 2], 1, [1, 2, 4, 10])).toEqual([4, 2, 0, 0]);
    expect(regretsAt([5, 3], 0, [1, 3])).toEqual([5, 3]);
  });
});
