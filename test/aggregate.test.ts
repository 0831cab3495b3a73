import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Aggregation, aggregate } from "../src/engine/aggregate.js";

function agg(values: readonly number[], method: Aggregation, trim = 0): number {
  const a = Float64Array.from(values);
  return aggregate(a, a.length, method, trim, new Float64Array(a.length));
}

describe("aggregate: trimmed mean", () => {
  it("arqonhpo case 5: [1, 2, 3, 4, 100] with trim 0.2 gives 3, and so does trim 0.1", () => {
    expect(agg([1, 2, 3, 4, 100], "trimmed-mean", 0.2)).toBe(3);
    expect(agg([1, 2, 3, 4, 100], "trimmed-mean", 0.1)).toBe(3);
  });
  it("arqonhpo case 6: [0.5, 0.6] with trim 0.1 would trim everything, so it is the plain mean 0.55", () => {
    expect(agg([0.5, 0.6], "trimmed-mean", 0.1)).toBeCloseTo(0.55, 15);
  });
  it("a single value is itself, whatever the trim", () => {
    for (const trim of [0, 0.1, 0.49]) expect(agg([7.25], "trimmed-mean", trim)).toBe(7.25);
  });
  it("drops ceil(count × trim) from each end: 10 values trim 0.1 drop 1, 11 values drop 2", () => {
    // 10 values: sorted 1..9, 1000 → drop 1 and 1000 → mean of 2..9 = 5.5
    expect(agg([1000, 9, 8, 7, 6, 5, 4, 3, 2, 1], "trimmed-mean", 0.1)).toBe(5.5);
    // 11 values: drop 1, 2 and 1000, 2000 → mean of 3..9 = 6
    expect(agg([2000, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1000], "trimmed-mean", 0.1)).toBe(6);
  });
  it("does not trim an extra value because of round-off in count × trim (100 × 0.07 = 7.000000000000001)", () => {
    const values = Array.from({ length: 100 }, (_, i) => i * i); // skewed, so 7 and 8 trimmed differ
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    const dropSeven = mean(values.slice(7, 93));
    const dropEight = mean(values.slice(8, 92));
    expect(dropSeven).not.toBeCloseTo(dropEight, 3);
    expect(agg(values.reverse(), "trimmed-mean", 0.07)).toBeCloseTo(dropSeven, 9);
  });
  it("trim 0 is the plain mean, trim ≥ 0.5 falls back to the plain mean, negative or NaN trim means 0", () => {
    const values = [3, 1, 4, 1, 5, 9, 2, 6];
    const mean = agg(values, "mean");
    expect(agg(values, "trimmed-mean", 0)).toBe(mean);
    expect(agg(values, "trimmed-mean", 0.5)).toBe(mean);
    expect(agg(values, "trimmed-mean", 0.9)).toBe(mean);
    expect(agg(values, "trimmed-mean", -0.2)).toBe(mean);
    expect(agg(values, "trimmed-mean", Number.NaN)).toBe(mean);
  });
});

describe("aggregate: median", () => {
  it("odd count: the middle value", () => {
    expect(agg([9, 1, 5], "median")).toBe(5);
    expect(agg([1, 2, 3, 4, 100], "median")).toBe(3);
  });
  it("even count: the mean of the two middle values", () => {
    expect(agg([4, 1, 3, 2], "median")).toBe(2.5);
    expect(agg([0.5, 0.6], "median")).toBeCloseTo(0.55, 15);
  });
  it("single value and repeated values", () => {
    expect(agg([-3], "median")).toBe(-3);
    expect(agg([2, 2, 2, 2], "median")).toBe(2);
  });
});

describe("aggregate: mean", () => {
  it("hand-computed", () => {
    expect(agg([1, 2, 3, 4, 100], "mean")).toBe(22);
    expect(agg([-1, 1], "mean")).toBe(0);
  });
  it("stays inside the range of its inputs despite round-off (three times 0.1)", () => {
    // (0.1 + 0.1 + 0.1) / 3 is 0.10000000000000002 in binary floating point.
    expect(agg([0.1, 0.1, 0.1], "mean")).toBe(0.1);
  });
  it("values near the largest double: no overflow to Infinity or to the largest value", () => {
    expect(agg([1e308, 1.5e308], "median")).toBe(1.25e308);
    expect(agg([-1e308, -1.5e308], "median")).toBe(-1.25e308);
    expect(agg([1e308, 1.5e308], "mean")).toBe(1.25e308);
    expect(agg([1.5e308, 1.5e308, -1.5e308], "mean")).toBeCloseTo(5e307, -293);
    expect(agg([1.5e308, 1.5e308, 1.5e308, 1.5e308, -1e308], "trimmed-mean", 0.2)).toBe(1.5e308);
  });
});

describe("aggregate: large windows", () => {
  it("sorts windows above 64 values as a reference sort does (median and trimmed mean)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 65, maxLength: 400 }),
        (values) => {
          const sorted = [...values].sort((a, b) => a - b);
          const n = sorted.length;
          const median = n % 2 === 1 ? sorted[n >> 1]! : (sorted[(n >> 1) - 1]! + sorted[n >> 1]!) / 2;
          expect(agg(values, "median")).toBe(median);
          const drop = Math.ceil(n * 0.1 - 1e-9);
          const middle = sorted.slice(drop, n - drop);
          const reference = Float64Array.from(middle);
          expect(agg(values, "trimmed-mean", 0.1)).toBe(agg([...reference], "mean"));
        },
      ),
    );
  });

  it("closes a window of a million values (heapsort, not a quadratic sort)", () => {
    const values = Float64Array.from({ length: 1_000_000 }, (_, i) => ((i * 7919) % 1_000_003) / 1000);
    const scratch = new Float64Array(values.length);
    const median = aggregate(values, values.length, "median", 0, scratch);
    const sorted = [...values].sort((a, b) => a - b);
    expect(median).toBe((sorted[499_999]! + sorted[500_000]!) / 2);
  });
});

describe("aggregate: empty and invalid windows", () => {
  it("an empty window is NaN for every method", () => {
    for (const method of ["trimmed-mean", "median", "mean"] as const) {
      expect(aggregate(new Float64Array(4), 0, method, 0.1, new Float64Array(4))).toBeNaN();
    }
  });
  it("a count that is fractional, negative, or beyond the arrays is NaN", () => {
    const values = Float64Array.of(1, 2, 3);
    const scratch = new Float64Array(3);
    expect(aggregate(values, 2.5, "mean", 0, scratch)).toBeNaN();
    expect(aggregate(values, -1, "mean", 0, scratch)).toBeNaN();
    expect(aggregate(values, 4, "mean", 0, scratch)).toBeNaN();
    expect(aggregate(values, 3, "median", 0, new Float64Array(2))).toBeNaN();
  });
  it("only the first count entries are used", () => {
    const values = Float64Array.of(1, 2, 3, 1000, 1000);
    expect(aggregate(values, 3, "mean", 0, new Float64Array(5))).toBe(2);
    expect(aggregate(values, 3, "median", 0, new Float64Array(5))).toBe(2);
  });
});

describe("aggregate: scratch handling", () => {
  it("leaves the input untouched and gives the same answers when one scratch is reused", () => {
    const scratch = new Float64Array(8);
    const a = Float64Array.of(5, 3, 8, 1, 9, 2);
    const b = Float64Array.of(100, -100, 0, 50, -50, 25, -25, 75);
    const aCopy = a.slice();
    const bCopy = b.slice();
    const first = [aggregate(a, 6, "median", 0, scratch), aggregate(a, 6, "trimmed-mean", 0.1, scratch)];
    aggregate(b, 8, "median", 0, scratch); // leaves b's sorted values in the scratch
    const second = [aggregate(a, 6, "median", 0, scratch), aggregate(a, 6, "trimmed-mean", 0.1, scratch)];
    expect(second).toEqual(first);
    expect(first).toEqual([4, 4.5]); // sorted 1 2 3 5 8 9: median (3+5)/2; drop 1 each end → mean of 2 3 5 8
    expect(a).toEqual(aCopy);
    expect(b).toEqual(bCopy);
  });
  it("may use the values array as its own scratch (sorting it in place)", () => {
    const a = Float64Array.of(4, 1, 3, 2);
    expect(aggregate(a, 4, "median", 0, a)).toBe(2.5);
    expect(Array.from(a)).toEqual([1, 2, 3, 4]);
  });
});

describe("aggregate properties", () => {
  const windowArb = fc.array(fc.double({ min: -1e9, max: 1e9, noNaN: true }), {
    minLength: 1,
    maxLength: 40,
  });
  const trimArb = fc.double({ min: 0, max: 0.49, noNaN: true });

  it("every method lies between the smallest and the largest value", () => {
    fc.assert(
      fc.property(
        windowArb,
        trimArb,
        fc.constantFrom<Aggregation>("trimmed-mean", "median", "mean"),
        (xs, t, m) => {
          const result = agg(xs, m, t);
          expect(result).toBeGreaterThanOrEqual(Math.min(...xs));
          expect(result).toBeLessThanOrEqual(Math.max(...xs));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("the trimmed mean with trim 0 equals the mean exactly", () => {
    fc.assert(
      fc.property(windowArb, (xs) => {
        expect(agg(xs, "trimmed-mean", 0)).toBe(agg(xs, "mean"));
      }),
    );
  });

  it("does not depend on the order of the values (median exactly, means up to round-off)", () => {
    fc.assert(
      fc.property(windowArb, trimArb, fc.nat(), (xs, t, shift) => {
        const k = shift % xs.length;
        const rotated = [...xs.slice(k), ...xs.slice(0, k)].reverse();
        // Exactly equal as numbers (−0 and +0 compare equal: their order in a sort is arbitrary).
        expect(agg(rotated, "median") === agg(xs, "median")).toBe(true);
        const scale = Math.max(1, ...xs.map(Math.abs));
        expect(Math.abs(agg(rotated, "trimmed-mean", t) - agg(xs, "trimmed-mean", t))).toBeLessThanOrEqual(
          scale * 1e-12,
        );
      }),
      { numRuns: 1000 },
    );
  });

  it("never modifies the input and the scratch needs no clearing between windows", () => {
    const scratch = new Float64Array(40);
    fc.assert(
      fc.property(windowArb, trimArb, (xs, t) => {
        const values = Float64Array.from(xs);
        const fresh = [
          aggregate(values, xs.length, "median", 0, new Float64Array(xs.length)),
          aggregate(values, xs.length, "trimmed-mean", t, new Float64Array(xs.length)),
        ];
        const reused = [
          aggregate(values, xs.length, "median", 0, scratch),
          aggregate(values, xs.length, "trimmed-mean", t, scratch),
        ];
        expect(reused).toEqual(fresh);
        expect(Array.from(values)).toEqual(xs);
      }),
      { numRuns: 1000 },
    );
  });

  it("the median agrees with a reference computed by sorting a copy", () => {
    fc.assert(
      fc.property(windowArb, (xs) => {
        const s = [...xs].sort((a, b) => a - b);
        const n = s.length;
        const expected = n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
        expect(agg(xs, "median")).toBe(expected);
      }),
    );
  });
});
