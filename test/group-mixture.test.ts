import { describe, expect, it } from "vitest";
import { GroupMixture } from "../src/solver/group-mixture.js";
import { insertByBound, pickByBound } from "../src/solver/lazy-score.js";

/** A mixture over two numeric coordinates and one categorical of 3 choices, 4 observations. */
function mixture(): GroupMixture {
  const m = new GroupMixture(Int32Array.from([0, 0, 3]));
  const means = m.prepare(4);
  const rows = [
    [0.2, 0.7, 0],
    [0.25, 0.6, 2],
    [0.9, 0.1, 1],
    [0.5, 0.5, 0],
  ];
  rows.forEach((row, i) => {
    row.forEach((v, j) => {
      means[(i + 1) * 3 + j] = v;
    });
  });
  m.inverse.fill(1 / 0.08, 3, 5 * 3);
  return m;
}

describe("GroupMixture (the mixed TPE's densities)", () => {
  const points = Float64Array.from([0.22, 0.65, 0, 0.8, 0.2, 1, 0.5, 0.5, 2, 0, 1, 0]);

  it("gives the same densities with cached kernel shapes and one shared bandwidth", () => {
    const reference = mixture();
    reference.finish(null, 1);
    const cached = mixture();
    const shapes = Float64Array.from([0, 1, 2, 3], (i) =>
      cached.fixedShape(cached.means, (i + 1) * 3, 1 / 0.08),
    );
    cached.finish(null, 1, shapes, 1 / 0.08);
    for (let p = 0; p < 4; p++) {
      const expected = reference.logDensity(points, p * 3);
      expect(Number.isFinite(expected)).toBe(true);
      expect(cached.logDensity(points, p * 3)).toBeCloseTo(expected, 10);
    }
  });

  it("refuses a categorical coordinate before a numeric one", () => {
    expect(() => new GroupMixture(Int32Array.from([3, 0]))).toThrow(/numeric coordinates must come before/);
  });

  it("picks the same candidate lazily as by scoring every one", () => {
    const good = mixture();
    good.finish(Float64Array.from([4, 3, 2, 1]), 1);
    const bad = mixture();
    bad.finish(null, 1);
    const count = 4;
    const logL = new Float64Array(count);
    const bounds = new Float64Array(count);
    const ranking = new Int32Array(count);
    let ranked = 0;
    let bestScore = Number.NEGATIVE_INFINITY;
    let expected = -1;
    for (let c = 0; c < count; c++) {
      logL[c] = good.logDensity(points, c * 3);
      bounds[c] = logL[c]! - bad.logPriorTerm(points, c * 3);
      ranked = insertByBound(ranking, bounds, ranked, c);
      const score = logL[c]! - bad.logDensity(points, c * 3);
      expect(score).toBeLessThanOrEqual(bounds[c]! + 1e-12);
      if (score > bestScore) {
        bestScore = score;
        expected = c;
      }
    }
    for (let r = 1; r < count; r++)
      expect(bounds[ranking[r - 1]!]!).toBeGreaterThanOrEqual(bounds[ranking[r]!]!);
    expect(pickByBound(ranking, ranked, logL, bounds, bad, points, 3)).toBe(expected);
    expect(pickByBound(ranking, 0, logL, bounds, bad, points, 3)).toBe(-1);
  });
});
