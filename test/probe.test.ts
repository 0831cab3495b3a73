import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Prng } from "../src/random/prng.js";
import { PROBE_STREAM, probePoints } from "../src/solver/probe.js";
import {
  nestedScramble,
  type ScrambleKey,
  SOBOL_MAX_DIMENSION,
  scrambledSobol,
  sobolIntegers,
} from "../src/solver/sobol.js";
import {
  centredL2Discrepancy,
  centredL2DiscrepancySquared,
  meanNearestNeighbourDistance,
  minimumPairwiseDistance,
} from "./support/discrepancy.js";

const seeds = (count: number, from = 1): number[] => Array.from({ length: count }, (_, i) => from + i);

function uniformRandom(dimension: number, count: number, seed: number): number[][] {
  const random = Prng.fromSeed(seed, 12345);
  return Array.from({ length: count }, () => Array.from({ length: dimension }, () => random.next()));
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Index of the cell of width 1/cells holding u. */
const cell = (u: number, cells: number): number => Math.floor(u * cells);

describe("centred L2 discrepancy (test support)", () => {
  it("matches hand-computed values", () => {
    // One point at the centre of [0,1]: 13/12 − 2·1 + 1 = 1/12.
    expect(centredL2DiscrepancySquared([[0.5]])).toBeCloseTo(1 / 12, 14);
    // One point at 0: z = ½, 13/12 − 2(1 + ¼ − ⅛) + (1 + ¼ + ¼) = 1/3.
    expect(centredL2DiscrepancySquared([[0]])).toBeCloseTo(1 / 3, 14);
    // Two points (¼, ¼) and (¾, ¾): every |z| = ¼, so each point's factor is (1 + ⅛ − 1/32)² =
    // (35/32)², and (2/n)·Σ gives 2·(35/32)²; the pair factors per coordinate are 1 + ¼ for a point
    // with itself and 1 + ¼ − ¼ = 1 for the two different points. Total ≈ 0.0622830.
    const single = 2 * (35 / 32) ** 2;
    const pairs = (2 * (5 / 4) ** 2 + 2 * 1) / 4;
    expect(
      centredL2DiscrepancySquared([
        [0.25, 0.25],
        [0.75, 0.75],
      ]),
    ).toBeCloseTo((13 / 12) ** 2 - single + pairs, 14);
    expect(centredL2Discrepancy([[0.5]])).toBeCloseTo(Math.sqrt(1 / 12), 14);
  });

  it("is invariant under reflecting a coordinate", () => {
    const points = uniformRandom(3, 10, 7);
    const reflected = points.map(([a, b, c]) => [1 - a!, b!, c!]);
    expect(centredL2Discrepancy(reflected)).toBeCloseTo(centredL2Discrepancy(points), 12);
  });
});

describe("Sobol' sequence", () => {
  it("reproduces the Joe–Kuo sequence (reference values from an independent implementation)", () => {
    const first = sobolIntegers(5, 8);
    expect(Array.from(first)).toEqual(
      [
        [0, 0, 0, 0, 0],
        [2147483648, 2147483648, 2147483648, 2147483648, 2147483648],
        [3221225472, 1073741824, 1073741824, 1073741824, 3221225472],
        [1073741824, 3221225472, 3221225472, 3221225472, 1073741824],
        [1610612736, 1610612736, 2684354560, 3758096384, 1610612736],
        [3758096384, 3758096384, 536870912, 1610612736, 3758096384],
        [2684354560, 536870912, 3758096384, 2684354560, 2684354560],
        [536870912, 2684354560, 1610612736, 536870912, 536870912],
      ].flat(),
    );
    const deep = sobolIntegers(SOBOL_MAX_DIMENSION, 1024);
    const row = (i: number, from: number, to: number) =>
      Array.from(deep.subarray(i * SOBOL_MAX_DIMENSION + from, i * SOBOL_MAX_DIMENSION + to));
    expect(row(777, 31, 36)).toEqual([3862953984, 482344960, 12582912, 3460300800, 4064280576]);
    expect(row(1023, 250, 256)).toEqual([
      3703570432, 4089446400, 155189248, 2663383040, 1463812096, 3619684352,
    ]);
  });

  it("nested scramble is a bijection that preserves the length of common leading digits", () => {
    const word = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(word, word, fc.tuple(word, word, word), (x, y, key: ScrambleKey) => {
        const sx = nestedScramble(x, key);
        const sy = nestedScramble(y, key);
        expect(sx).toBeGreaterThanOrEqual(0);
        expect(sx).toBeLessThanOrEqual(0xffffffff);
        expect(Math.clz32(sx ^ sy)).toBe(Math.clz32(x ^ y)); // equal iff x = y, and same shared prefix
      }),
    );
  });

  it("stays a net after scrambling: 2^m points stratify every axis and the first two form a (0,m,2)-net", () => {
    const m = 6;
    const n = 2 ** m;
    for (const seed of seeds(5)) {
      const points = scrambledSobol(12, n, Prng.fromSeed(seed));
      for (let k = 0; k < 12; k++) {
        const cells = new Set(points.map((p) => cell(p[k]!, n)));
        expect(cells.size).toBe(n);
      }
      for (let a = 0; a <= m; a++) {
        const boxes = new Set(points.map((p) => `${cell(p[0]!, 2 ** a)},${cell(p[1]!, 2 ** (m - a))}`));
        expect(boxes.size).toBe(n);
      }
    }
  });

  it("rejects shapes it cannot produce", () => {
    expect(() => sobolIntegers(0, 4)).toThrow(RangeError);
    expect(() => sobolIntegers(SOBOL_MAX_DIMENSION + 1, 4)).toThrow(RangeError);
    expect(() => sobolIntegers(2, -1)).toThrow(RangeError);
  });
});

describe("probePoints", () => {
  it("gives the identical design for the same seed", () => {
    for (const dimension of [1, 5, 64, SOBOL_MAX_DIMENSION + 44]) {
      expect(probePoints(dimension, 33, 42)).toEqual(probePoints(dimension, 33, 42));
    }
  });

  it("gives different designs for different seeds (the original ignored the seed)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 0, max: 1e9 }),
        fc.integer({ min: 0, max: 1e9 }),
        (dimension, a, b) => {
          fc.pre(a !== b);
          const first = probePoints(dimension, 3, a);
          const second = probePoints(dimension, 3, b);
          // Every coordinate is a fresh continuous draw, so no coordinate should coincide.
          const shared = first.flatMap((p, i) => p.filter((u, k) => u === second[i]![k]));
          expect(shared).toEqual([]);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("keeps every coordinate strictly inside (0, 1), with the requested shape", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 250, max: 320 })),
        fc.integer({ min: 0, max: 70 }),
        fc.integer(),
        (dimension, count, seed) => {
          const points = probePoints(dimension, count, seed);
          expect(points).toHaveLength(count);
          expect(points.every((p) => p.length === dimension)).toBe(true);
          const outside = points.flat().filter((u) => !(u > 0 && u < 1));
          expect(outside).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("handles count 0 and 1 and rejects invalid shapes", () => {
    expect(probePoints(3, 0, 1)).toEqual([]);
    expect(probePoints(3, 1, 1)).toHaveLength(1);
    expect(() => probePoints(0, 4, 1)).toThrow(RangeError);
    expect(() => probePoints(2.5, 4, 1)).toThrow(RangeError);
    expect(() => probePoints(2, -1, 1)).toThrow(RangeError);
    expect(() => probePoints(2, 1.5, 1)).toThrow(RangeError);
    expect(() => probePoints(2, 4, Number.NaN)).toThrow(RangeError);
  });

  it("draws its randomness from its own PRNG stream", () => {
    expect(probePoints(4, 8, 9)).toEqual(scrambledSobol(4, 8, Prng.fromSeed(9, PROBE_STREAM)));
  });

  it("has no anchors: even the first point is uniformly spread over seeds, never a fixed corner or centre", () => {
    const firsts = seeds(400).map((seed) => probePoints(3, 16, seed)[0]!);
    for (let k = 0; k < 3; k++) {
      const counts = new Array<number>(10).fill(0);
      for (const p of firsts) counts[cell(p[k]!, 10)]!++;
      for (const c of counts) expect(c).toBeGreaterThan(15); // 40 expected per decile
    }
    for (const seed of seeds(50)) {
      for (const p of probePoints(2, 16, seed)) {
        expect(p.every((u) => Math.abs(u - 0.5) < 1e-9)).toBe(false);
        expect(p.every((u) => u < 1e-9)).toBe(false);
      }
    }
  });

  it("is clearly more uniform than random points (centred L2 discrepancy, averaged over seeds)", () => {
    for (const [dimension, count] of [
      [2, 16],
      [6, 20],
      [10, 256],
      [5, 40],
    ] as const) {
      const design = mean(seeds(10).map((s) => centredL2Discrepancy(probePoints(dimension, count, s))));
      const random = mean(seeds(10).map((s) => centredL2Discrepancy(uniformRandom(dimension, count, s))));
      expect(design).toBeLessThan(0.7 * random);
    }
  });

  it("meets the original's 10-D guardrail: CD2 ≤ 0.15, mean nearest-neighbour distance ≥ 0.25", () => {
    for (const seed of seeds(5)) {
      const points = probePoints(10, 256, seed);
      expect(centredL2Discrepancy(points)).toBeLessThanOrEqual(0.15);
      expect(meanNearestNeighbourDistance(points)).toBeGreaterThanOrEqual(0.25);
      expect(minimumPairwiseDistance(points)).toBeGreaterThanOrEqual(0.1);
    }
  });

  it("keeps points apart: minimum distance above a floor, and larger than random's on average", () => {
    for (const [dimension, count, floor] of [
      [2, 16, 0.03],
      [6, 20, 0.2],
      [10, 256, 0.2],
    ] as const) {
      const design = seeds(20).map((s) => minimumPairwiseDistance(probePoints(dimension, count, s)));
      const random = seeds(20).map((s) => minimumPairwiseDistance(uniformRandom(dimension, count, s)));
      expect(Math.min(...design)).toBeGreaterThanOrEqual(floor);
      expect(mean(design)).toBeGreaterThan(mean(random));
    }
  });

  it("above the Sobol' table, stratifies every coordinate like a Latin hypercube", () => {
    const count = 20;
    const points = probePoints(SOBOL_MAX_DIMENSION + 10, count, 3);
    for (let k = 0; k < SOBOL_MAX_DIMENSION + 10; k++) {
      expect(new Set(points.map((p) => cell(p[k]!, count))).size).toBe(count);
    }
  });
});
