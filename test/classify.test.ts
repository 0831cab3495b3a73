import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Prng } from "../src/random/prng.js";
import {
  classify,
  MIN_CLASSIFY_POINTS,
  STATISTIC_NAME,
  STRUCTURE_THRESHOLD,
  structureScore,
} from "../src/solver/classify.js";
import { probePoints } from "../src/solver/probe.js";

const line = (xs: readonly number[]): number[][] => xs.map((x) => [x]);
const seeds = (count: number): number[] => Array.from({ length: count }, (_, i) => i + 1);
const bowl =
  (centre: readonly number[]) =>
  (u: readonly number[]): number =>
    u.reduce((s, x, k) => s + (x - centre[k]!) ** 2, 0);

describe("classify: hand-checkable cases", () => {
  it("scores +1 when value grows exactly with distance from the best point", () => {
    // 5 points → 1 elite (x = 0.1); the others' values 1, 3, 6, 8 rise with distance 0.1, 0.3, 0.6, 0.8.
    const points = line([0.4, 0.1, 0.9, 0.2, 0.7]);
    const values = points.map(([x]) => 10 * Math.abs(x! - 0.1));
    const result = classify(points, values);
    expect(result.score).toBeCloseTo(1, 12);
    expect(result.label).toBe("structured");
    expect(result.statistic.startsWith(STATISTIC_NAME)).toBe(true);
  });

  it("scores −1 when value falls with distance from the best point", () => {
    const points = line([0.1, 0.2, 0.4, 0.7, 0.9]);
    const result = classify(points, [0, 9, 7, 5, 3]);
    expect(result.score).toBeCloseTo(-1, 12);
    expect(result.label).toBe("chaotic");
  });

  it("sees several funnels: distance is to the nearest elite point, not to the single best", () => {
    // Two minima, at 0.1 and 0.9; 10 points → 2 elite, exactly those two.
    const xs = [0.1, 0.9, 0.2, 0.75, 0.35, 0.6, 0.5, 0.05, 0.97, 0.45];
    const values = xs.map((x) => Math.min(Math.abs(x - 0.1), Math.abs(x - 0.9)) + (x > 0.5 ? 0.001 : 0));
    expect(structureScore(line(xs), values)).toBeCloseTo(1, 12);
  });

  it("uses average ranks for tied values (hand-computed ρ = 4/√20)", () => {
    // Elite: x = 0. Others: distance ranks 1, 2, 3, 4; value ranks 1.5, 1.5, 3.5, 3.5.
    const score = structureScore(line([0, 0.1, 0.2, 0.3, 0.4]), [0, 1, 1, 2, 2]);
    expect(score).toBeCloseTo(4 / Math.sqrt(20), 12);
  });

  it("breaks a tie for the elite by input order, deterministically", () => {
    const points = line([0, 1, 0.2, 0.5, 0.8]);
    const values = [0, 0, 1, 2, 3];
    // x = 0 is listed first, so it is the elite; the others' distance ranks are 4, 1, 2, 3 against
    // value ranks 1, 2, 3, 4: ρ = −1/5.
    expect(structureScore(points, values)).toBeCloseTo(-0.2, 12);
    expect(classify(points, values)).toEqual(classify(points, values));
    // Listing x = 1 first makes it the elite instead: value now falls with distance from it.
    expect(structureScore(line([1, 0, 0.2, 0.5, 0.8]), values)).toBeCloseTo(-1, 12);
  });
});

describe("classify: landscapes", () => {
  it("labels a bowl structured on a 20-point 2-D probe, whatever the seed", () => {
    for (const seed of seeds(20)) {
      const points = probePoints(2, 20, seed);
      const result = classify(points, points.map(bowl([0.3, 0.65])));
      expect(result.label).toBe("structured");
      expect(result.score).toBeGreaterThan(0.6);
    }
  });

  it("scores a 5-D bowl well above random values on average (40-point probes)", () => {
    const centre = [0.3, 0.4, 0.5, 0.6, 0.7];
    const bowlScores = seeds(20).map((seed) => {
      const points = probePoints(5, 40, seed);
      return structureScore(points, points.map(bowl(centre)));
    });
    const meanScore = bowlScores.reduce((s, x) => s + x, 0) / bowlScores.length;
    expect(meanScore).toBeGreaterThan(STRUCTURE_THRESHOLD + 0.15);
  });

  it("labels random values chaotic, with scores centred on 0", () => {
    const results = seeds(30).map((seed) => {
      const random = Prng.fromSeed(seed, 3);
      const points = probePoints(5, 40, seed);
      return classify(
        points,
        points.map(() => random.next()),
      );
    });
    expect(results.filter((r) => r.label === "structured")).toEqual([]);
    const meanScore = results.reduce((s, r) => s + r.score, 0) / results.length;
    expect(Math.abs(meanScore)).toBeLessThan(0.1);
  });
});

describe("classify: invariances", () => {
  const probe = fc.record({
    dimension: fc.integer({ min: 1, max: 6 }),
    count: fc.integer({ min: 0, max: 40 }),
    seed: fc.integer(),
  });
  const integerValues = (count: number) =>
    fc.array(fc.integer({ min: -100_000, max: 100_000 }), { minLength: count, maxLength: count });

  it("gives the same score and label under strictly increasing transforms of the objective", () => {
    fc.assert(
      fc.property(
        probe.chain((p) => fc.tuple(fc.constant(p), integerValues(p.count))),
        ([{ dimension, count, seed }, values]) => {
          const points = probePoints(dimension, count, seed);
          const base = classify(points, values);
          for (const transform of [
            (v: number) => 7 * v - 2,
            (v: number) => v ** 3,
            (v: number) => Math.exp(v / 100_000),
          ]) {
            expect(classify(points, values.map(transform))).toEqual(base);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("does not depend on the order of the points when values are distinct", () => {
    fc.assert(
      fc.property(probe, fc.integer(), ({ dimension, count, seed }, shuffleSeed) => {
        const points = probePoints(dimension, count, seed);
        const values = points.map((p) => Math.sin(7 * p[0]!) + p.reduce((s, x) => s + x, 0));
        const order = points.map((_, i) => i);
        const random = Prng.fromSeed(shuffleSeed);
        for (let i = order.length - 1; i > 0; i--) {
          const j = random.int(i + 1);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        const shuffled = structureScore(
          order.map((i) => points[i]!),
          order.map((i) => values[i]!),
        );
        expect(shuffled).toBeCloseTo(structureScore(points, values), 12);
      }),
      { numRuns: 100 },
    );
  });

  it("keeps the score in [−1, 1] and labels exactly the scores at or above the threshold", () => {
    fc.assert(
      fc.property(
        probe.chain((p) => fc.tuple(fc.constant(p), integerValues(p.count))),
        ([{ dimension, count, seed }, values]) => {
          const result = classify(probePoints(dimension, count, seed), values);
          expect(Math.abs(result.score)).toBeLessThanOrEqual(1);
          expect(result.label).toBe(result.score >= STRUCTURE_THRESHOLD ? "structured" : "chaotic");
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("classify: edge cases", () => {
  it("returns chaotic with score 0 for fewer than the minimum number of points", () => {
    for (let n = 0; n < MIN_CLASSIFY_POINTS; n++) {
      const points = probePoints(2, n, 1);
      const result = classify(
        points,
        points.map((_, i) => i),
      );
      expect(result).toMatchObject({ label: "chaotic", score: 0 });
      expect(result.statistic).toContain("too few points");
    }
  });

  it("returns chaotic with score 0 when every value is equal (a flat landscape)", () => {
    const points = probePoints(3, 20, 5);
    const result = classify(
      points,
      points.map(() => 4.2),
    );
    expect(result).toMatchObject({ label: "chaotic", score: 0 });
    expect(result.statistic).toContain("no variation");
  });

  it("returns chaotic with score 0 when every point is the same", () => {
    const result = classify(
      Array.from({ length: 8 }, () => [0.5, 0.5]),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    expect(result).toMatchObject({ label: "chaotic", score: 0 });
  });

  it("treats NaN as the worst value: never elite, ranked with +Infinity", () => {
    const points = line([0.05, 0.1, 0.3, 0.6, 0.9]);
    const withNaN = [Number.NaN, 0, 1, 2, 3];
    const withInfinity = [Number.POSITIVE_INFINITY, 0, 1, 2, 3];
    expect(structureScore(points, withNaN)).toBe(structureScore(points, withInfinity));
    expect(Number.isFinite(structureScore(points, withNaN))).toBe(true);
  });

  it("rejects mismatched or malformed input", () => {
    expect(() => classify(line([0.1, 0.2]), [1])).toThrow(RangeError);
    expect(() => classify([[0.1], [0.2, 0.3]], [1, 2])).toThrow(RangeError);
    expect(() => classify(line([0.1, 0.2, Number.NaN, 0.4]), [1, 2, 3, 4])).toThrow(RangeError);
  });
});
