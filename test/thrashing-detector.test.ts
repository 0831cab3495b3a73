import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_THRASHING_OPTIONS,
  ThrashingCode,
  ThrashingDetector,
  thrashingDetectorOptionIssues,
} from "../src/engine/safety/thrashing-detector.js";

/** Feeds one-parameter centres at 1 s intervals (starting at `t0`) and returns the codes. */
function feed(detector: ThrashingDetector, centres: readonly number[], t0 = 0, stepMs = 1000): number[] {
  return centres.map((c, k) => detector.record([c], t0 + k * stepMs));
}

describe("ThrashingDetector", () => {
  it("flip limit 2: two reversals pass, the third trips (§6 case 39 adapted)", () => {
    const detector = new ThrashingDetector([1], { flipLimit: 2, deadBand: 0.01 });
    // Centres 0 → +0.05 → 0 → +0.05 → 0: moves +, −, +, −, i.e. reversals 1, 2, 3.
    expect(feed(detector, [0, 0.05, 0, 0.05])).toEqual([0, 0, 0, 0]);
    expect(detector.reversals(0, 3000)).toBe(2);
    expect(detector.record([0], 4000)).toBe(ThrashingCode.Thrashing);
    expect(detector.lastTripIndex).toBe(0);
  });

  it("flip limit 1: a zero move is ignored and the second reversal trips (§6 case 40 adapted)", () => {
    const detector = new ThrashingDetector([1], { flipLimit: 1, deadBand: 0.01 });
    // Moves +0.05, 0, −0.05, +0.05.
    expect(feed(detector, [0, 0.05, 0.05, 0, 0.05])).toEqual([0, 0, 0, 0, ThrashingCode.Thrashing]);
  });

  it("reversals leave the sliding window (§6 case 41 adapted)", () => {
    const detector = new ThrashingDetector([1], { flipLimit: 2, flipWindowMs: 60_000, deadBand: 0.01 });
    // Reversals at 2 000 and 3 000 ms; the next at 62 000 ms no longer sees the first one.
    expect(feed(detector, [0, 0.05, 0, 0.05], 0)).toEqual([0, 0, 0, 0]);
    expect(detector.record([0], 62_000)).toBe(ThrashingCode.Healthy);
    expect(detector.reversals(0, 62_000)).toBe(2);
    // One more inside the window of the last two trips.
    expect(detector.record([0.05], 62_500)).toBe(ThrashingCode.Thrashing);
  });

  it("a reversal exactly flipWindowMs old no longer counts", () => {
    const detector = new ThrashingDetector([1], { flipLimit: 1, flipWindowMs: 10_000, deadBand: 0 });
    expect(feed(detector, [0, 1e-3, 0], 0)).toEqual([0, 0, 0]); // reversal at 2000
    expect(detector.record([1e-3], 12_000)).toBe(ThrashingCode.Healthy);
    expect(detector.record([0], 12_001)).toBe(ThrashingCode.Thrashing);
  });

  it("alternating centres beyond the dead-band trip at exactly flipLimit + 1 reversals", () => {
    for (const limit of [1, 2, 3, 5, 8]) {
      const detector = new ThrashingDetector([10], { flipLimit: limit, deadBand: 0.02 });
      const centres = Array.from({ length: limit + 3 }, (_, k) => (k % 2 === 0 ? 5 : 5.3));
      const codes = feed(detector, centres);
      // Moves start at index 1; reversals at indices 2, 3, …; the (limit + 1)-th is at index limit + 2.
      expect(codes.indexOf(ThrashingCode.Thrashing)).toBe(limit + 2);
    }
  });

  it("jitter within the dead-band never trips (SPSA-sized wobble around a centre)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -0.999, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 300 }),
        (wobble) => {
          const detector = new ThrashingDetector([4], { flipLimit: 1, deadBand: 0.02 });
          detector.reset([2]);
          // Every centre lies within the dead-band (0.08 raw) of the reference 2.
          for (let k = 0; k < wobble.length; k++) expect(detector.record([2 + 0.08 * wobble[k]!], k)).toBe(0);
          expect(detector.reversals(0, wobble.length)).toBe(0);
        },
      ),
    );
  });

  it("a move inside the dead-band neither counts nor changes direction", () => {
    const detector = new ThrashingDetector([1], { flipLimit: 1, deadBand: 0.02 });
    // Up 0.1, down 0.01 (ignored), up again: still one direction, no reversal.
    expect(feed(detector, [0, 0.1, 0.09, 0.2, 0.19, 0.3])).toEqual([0, 0, 0, 0, 0, 0]);
    expect(detector.reversals(0, 6000)).toBe(0);
  });

  it("a slow creep in one direction counts once it leaves the dead-band", () => {
    const detector = new ThrashingDetector([1], { flipLimit: 1, deadBand: 0.02 });
    detector.reset([0.5]);
    expect(detector.record([0.6], 0)).toBe(0); // up
    // Down in small steps (each inside the dead-band): the third is 0.03 from 0.6 → a reversal.
    expect(feed(detector, [0.595, 0.59], 1000)).toEqual([0, 0]);
    expect(detector.reversals(0, 3000)).toBe(0);
    expect(detector.record([0.57], 3000)).toBe(0);
    expect(detector.reversals(0, 3000)).toBe(1);
  });

  it("parameters are independent and the trip names the thrashing one", () => {
    const detector = new ThrashingDetector([1, 100], { flipLimit: 1, deadBand: 0.01 });
    detector.reset([0.5, 50]);
    // Parameter 0 moves steadily; parameter 1 alternates by 5 (5 % of its range).
    expect(detector.record([0.6, 55], 0)).toBe(0);
    expect(detector.record([0.7, 50], 1)).toBe(0);
    expect(detector.record([0.8, 55], 2)).toBe(ThrashingCode.Thrashing);
    expect(detector.lastTripIndex).toBe(1);
    expect(detector.reversals(0, 2)).toBe(0);
  });

  it("the dead-band is a fraction of each parameter's range", () => {
    const detector = new ThrashingDetector([1, 100], { flipLimit: 1, deadBand: 0.01 });
    detector.reset([0.5, 50]);
    // 0.5 raw alternations: beyond 0.01 for parameter 0, within 1.0 for parameter 1.
    const codes = [0, 1, 2, 3].map((k) => detector.record([0.5 + (k % 2) * 0.5, 50 + (k % 2) * 0.5], k));
    expect(codes).toContain(ThrashingCode.Thrashing);
    expect(detector.lastTripIndex).toBe(0);
    expect(detector.reversals(1, 3)).toBe(0);
  });

  it("reset forgets reversals and the first record after a bare reset sets the reference", () => {
    const detector = new ThrashingDetector([1], { flipLimit: 1, deadBand: 0.01 });
    feed(detector, [0, 0.1, 0]);
    expect(detector.reversals(0, 2000)).toBe(1);
    detector.reset();
    expect(detector.reversals(0, 2000)).toBe(0);
    expect(detector.lastTripIndex).toBe(-1);
    expect(feed(detector, [0.9, 0.5, 0.9], 3000)).toEqual([0, 0, 0]); // one reversal only
  });

  it("a reversal counts only if its swing took at most swingMoves centres", () => {
    for (let n = 1; n <= 10; n++) {
      const detector = new ThrashingDetector([1], { flipLimit: 1, deadBand: 0.05, swingMoves: 4 });
      detector.reset([0.5]);
      expect(detector.record([0.6], 0)).toBe(0); // up
      // Back down by 0.055 in n centres: only the last one leaves the dead-band around 0.6.
      const swing = Array.from({ length: n }, (_, k) => 0.6 - (0.055 * (k + 1)) / n);
      expect(feed(detector, swing, 1000)).toEqual(swing.map(() => 0));
      expect(detector.reversals(0, 1000 * n), `${n} centres`).toBe(n <= 4 ? 1 : 0);
    }
  });

  it("a slow swing still turns the direction round", () => {
    const detector = new ThrashingDetector([1], { flipLimit: 1, deadBand: 0.05, swingMoves: 2 });
    detector.reset([0.5]);
    expect(detector.record([0.6], 0)).toBe(0); // up
    expect(feed(detector, [0.58, 0.56, 0.54], 1000)).toEqual([0, 0, 0]); // down in 3 centres
    expect(detector.reversals(0, 3000)).toBe(0); // too slow to count
    expect(detector.record([0.45], 4000)).toBe(0); // further down: not a reversal
    expect(detector.record([0.55], 5000)).toBe(0); // up in one centre: counted
    expect(detector.reversals(0, 5000)).toBe(1);
    expect(detector.record([0.45], 6000)).toBe(ThrashingCode.Thrashing);
  });

  it("validates options and ranges, and documents its defaults", () => {
    expect(thrashingDetectorOptionIssues({})).toEqual([]);
    expect(thrashingDetectorOptionIssues(DEFAULT_THRASHING_OPTIONS)).toEqual([]);
    const issues = thrashingDetectorOptionIssues(
      { flipLimit: 1.5, deadBand: 1, flipWindowMs: 0, swingMoves: 0, x: 1 },
      "t",
    );
    expect(issues.map((i) => i.path).sort()).toEqual([
      "t.deadBand",
      "t.flipLimit",
      "t.flipWindowMs",
      "t.swingMoves",
      "t.x",
    ]);
    expect(thrashingDetectorOptionIssues({ swingMoves: 2.5 })[0]?.message).toMatch(/whole number/);
    expect(() => new ThrashingDetector([1, 0])).toThrow(/ranges\[1\]/);
    expect(() => new ThrashingDetector([])).toThrow(RangeError);
    expect(() => new ThrashingDetector([1], { flipLimit: 0 })).toThrow(RangeError);
    expect(new ThrashingDetector([1], { flipLimit: 7 }).options).toEqual({
      ...DEFAULT_THRASHING_OPTIONS,
      flipLimit: 7,
    });
  });
});
