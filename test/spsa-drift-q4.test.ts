import { describe, expect, it } from "vitest";
import { DRIFT_Q4, DriftQ4Plant } from "../bench/plants/drift-q4.js";
import { TrackingMetrics } from "../bench/plants/metrics.js";

describe("DRIFT-Q4 plant", () => {
  it("follows the specified optimum path, shift and loss", () => {
    const plant = new DriftQ4Plant({ sigma: 0.5, seed: 1 });
    const opt = plant.optimum(0, new Float64Array(4));
    for (let i = 0; i < 4; i++) expect(opt[i]).toBeCloseTo(1.5 * Math.sin(i), 12);
    const t = 10_000;
    for (let i = 0; i < 4; i++) {
      const drift = 1.5 * Math.sin((2 * Math.PI * t) / 8000 + i);
      expect(plant.optimumAt(t, i)).toBeCloseTo(drift + (i % 2 === 0 ? 1.5 : -1.5), 12);
      expect(plant.optimumAt(t - 1, i)).toBeCloseTo(1.5 * Math.sin((2 * Math.PI * (t - 1)) / 8000 + i), 12);
    }
    // Static θ = 0 at t = 0: Σ w_i (1.5 sin i)².
    const expected = [1, 2, 0.5, 1.5].reduce((s, w, i) => s + w * (1.5 * Math.sin(i)) ** 2, 0);
    expect(plant.loss(0, [0, 0, 0, 0])).toBeCloseTo(expected, 12);
    expect(plant.loss(123, plant.optimum(123, new Float64Array(4)))).toBe(0);
  });

  it("draws the same noise sequence for the same seed, with standard deviation σ", () => {
    const a = new DriftQ4Plant({ sigma: 2, seed: 7 });
    const b = new DriftQ4Plant({ sigma: 2, seed: 7 });
    const zero = [0, 0, 0, 0];
    let sum = 0;
    let sq = 0;
    const n = 20_000;
    for (let t = 0; t < n; t++) {
      const ya = a.measure(0, zero);
      expect(b.measure(0, zero)).toBe(ya);
      const e = ya - a.loss(0, zero);
      sum += e;
      sq += e * e;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.05);
    expect(Math.sqrt(sq / n)).toBeGreaterThan(1.95);
    expect(Math.sqrt(sq / n)).toBeLessThan(2.05);
  });

  it("repeats the weights for the 16-parameter variant", () => {
    const plant = new DriftQ4Plant({ sigma: 0.5, seed: 1, dimension: 16 });
    expect(Array.from(plant.weights.subarray(4, 8))).toEqual([1, 2, 0.5, 1.5]);
  });
});

describe("tracking metrics", () => {
  const plant = new DriftQ4Plant({ sigma: 0.5, seed: 1 });

  it("counts reversals of applied centres only, with the dead-band", () => {
    const m = new TrackingMetrics(plant);
    const centre = (x: number) => m.applied([x, 0, 0, 0], true);
    const perturbation = (x: number) => m.applied([x, 0, 0, 0], false);
    centre(0.05); // within h of the start: no direction yet
    centre(0.2); // up (sets the direction; not a reversal)
    perturbation(0); // perturbation points never count
    centre(0.35); // new high 0.35
    centre(0.28); // down 0.07 < h: no reversal
    centre(0.2); // down 0.15 > h: reversal 1
    centre(0.25); // up 0.05 from the low: none
    centre(0.31); // up 0.11 > h: reversal 2
    m.tick(0, [0.31, 0, 0, 0]);
    const r = m.result();
    // 2 reversals over 1 tick and 4 parameters: 2 × 1000 / 1 / 4.
    expect(r.reversalsPer1000PerParam).toBe(500);
    expect(r.violations).toBe(0);
    expect(r.applies).toBe(8);
  });

  it("flags moves beyond maxDelta and out-of-bounds points, and counts rejections", () => {
    const m = new TrackingMetrics(plant);
    m.applied([0.5, 0, 0, 0], false); // exactly maxDelta: fine
    m.applied([0.5, -0.01, 0, 0], false);
    m.applied([1.02, 0, 0, 0], false); // 0.52 > 0.5
    m.rejected();
    m.tick(0, [1.02, 0, 0, 0]);
    const r = m.result();
    expect(r.violations).toBe(2);
    expect(r.maxMove).toBeCloseTo(0.52, 12);
    const bounds = new TrackingMetrics(plant, { initial: [4.9, 0, 0, 0] });
    bounds.applied([5.1, 0, 0, 0], true);
    bounds.tick(0, [5.1, 0, 0, 0]);
    expect(bounds.result().violations).toBe(1);
  });

  it("computes regret, time in band and recovery from post-shift windows only", () => {
    const m = new TrackingMetrics(plant);
    const live = new Float64Array(4);
    const offset = (t: number) => {
      // Loss 0.25 before the shift; after it, 25 for 300 ticks, then 0.25 again.
      const bad = t >= DRIFT_Q4.shiftAt && t < DRIFT_Q4.shiftAt + 300;
      return bad ? 5 : 0.5;
    };
    for (let t = 0; t < DRIFT_Q4.ticks; t++) {
      plant.optimum(t, live);
      live[0] = live[0]! + offset(t);
      m.tick(t, live);
    }
    const r = m.result();
    expect(r.regretPerTick).toBeCloseTo((19_700 * 0.25 + 300 * 25) / 20_000, 9);
    expect(r.inBandPercent).toBeCloseTo((100 * 19_700) / 20_000, 9);
    // The trailing 200-tick mean (all after the shift) first reaches ≤ 0.5 when it holds at most
    // 2 bad ticks: (2 × 25 + 198 × 0.25)/200 = 0.4975, i.e. the window ending at shift + 497.
    expect(r.recoveryTicks).toBe(497);
    expect(r.violations).toBe(0);
  });

  it("reports no recovery when the loss never comes back", () => {
    const m = new TrackingMetrics(plant);
    const live = new Float64Array(4);
    for (let t = 0; t < DRIFT_Q4.ticks; t++) {
      plant.optimum(t, live);
      live[1] = live[1]! + (t < DRIFT_Q4.shiftAt ? 0.5 : 5);
      m.tick(t, live);
    }
    expect(m.result().recoveryTicks).toBeNull();
  });
});
