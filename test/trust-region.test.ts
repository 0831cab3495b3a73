import { describe, expect, it } from "vitest";
import { Prng } from "../src/random/prng.js";
import {
  diagonalTerms,
  fitQuadratic,
  fitWithLeaveOneOut,
  fullTerms,
  minimizeInBox,
  weightedFits,
} from "../src/solver/quadratic-model.js";
import { createSolver } from "../src/solver/solver.js";
import type { Evaluation } from "../src/solver/strategy.js";
import {
  type CellWidths,
  chooseFit,
  fitPoints,
  TrustRegionBatch,
  valueWeights,
} from "../src/solver/trust-region.js";
import { Space } from "../src/space/space.js";

/** A rotated, shifted quadratic in 3-D with its minimum at `at`. */
function bowl(at: readonly number[]) {
  return (x: readonly number[]): number => {
    const a = x[0]! - at[0]!;
    const b = x[1]! - at[1]!;
    const c = x[2]! - at[2]!;
    return 3 * a * a + b * b + 0.5 * c * c + a * b + 7;
  };
}

function chebyshev(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((v, j) => Math.abs(v - b[j]!)));
}

function samples(n: number, seed: number, d = 3): number[][] {
  const prng = Prng.fromSeed(seed, 1);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => prng.next()));
}

describe("quadratic model", () => {
  it("recovers a quadratic's minimiser from enough points, and stops at the box when it lies outside", () => {
    const f = bowl([0.3, 0.6, 0.45]);
    const points = samples(fullTerms(3) + 3, 7);
    const model = fitQuadratic([0.5, 0.5, 0.5], points, points.map(f))!;
    expect(model).not.toBeNull();
    const inside = minimizeInBox(model, [0, 0, 0], [1, 1, 1]);
    for (const [j, x] of [0.3, 0.6, 0.45].entries()) expect(inside[j]).toBeCloseTo(x, 6);
    const boxed = minimizeInBox(model, [0.4, 0.4, 0.4], [0.6, 0.6, 0.6]);
    expect(boxed[0]).toBeCloseTo(0.4, 6); // the minimiser's first coordinate is below the box
    for (const x of boxed) expect(x >= 0.4 - 1e-12 && x <= 0.6 + 1e-12).toBe(true);
  });

  it("takes the absolute value of a fitted saddle's curvature, so its minimiser is a Newton step", () => {
    // f = (x − ½)(y − ½) + 0.1 (x − ½): eigenvalues ±1, so |H| = I and the step is −∇f = (−0.1, 0).
    const f = (u: readonly number[]) => (u[0]! - 0.5) * (u[1]! - 0.5) + 0.1 * (u[0]! - 0.5);
    const points = samples(fullTerms(2) + 4, 9, 2);
    const model = fitQuadratic([0.5, 0.5], points, points.map(f))!;
    const [h00, h01, h10, h11] = model.hessian;
    expect(h00).toBeGreaterThan(0);
    expect([h01! / h00!, h10! / h00!, h11! / h00!]).toEqual([
      expect.closeTo(0, 9),
      expect.closeTo(0, 9),
      expect.closeTo(1, 9),
    ]);
    const at = minimizeInBox(model, [0, 0], [1, 1]);
    expect(at[0]).toBeCloseTo(0.4, 9);
    expect(at[1]).toBeCloseTo(0.5, 9);
    // A diagonal model's negative curvature turns positive too: (x − ½)² − (y − ½)² + 0.2 (y − ½),
    // from too few points for the full model; the step is −0.2 / 2 along y.
    const g = (u: readonly number[]) => (u[0]! - 0.5) ** 2 - (u[1]! - 0.5) ** 2 + 0.2 * (u[1]! - 0.5);
    const few = samples(diagonalTerms(2) + 1, 4, 2);
    const diagonal = fitQuadratic([0.5, 0.5], few, few.map(g))!;
    expect(diagonal.hessian[3]! / diagonal.hessian[0]!).toBeCloseTo(1, 9);
    expect(minimizeInBox(diagonal, [0, 0], [1, 1])[1]).toBeCloseTo(0.4, 9);
  });

  it("minimises a diagonal convex model in a box exactly, coordinate by coordinate", () => {
    // 2(x − 0.3)² + 0.5(y − 0.9)² around (0.5, 0.5), box [0.4, 0.6]²: x clips at 0.4, y at 0.6.
    const model = { centre: [0.5, 0.5], scale: 1, gradient: [0.8, -0.4], hessian: [4, 0, 0, 1], full: false };
    expect(minimizeInBox(model, [0.4, 0.4], [0.6, 0.6])).toEqual([0.4, 0.6]);
    const inside = minimizeInBox(model, [0, 0], [1, 1]);
    expect(inside[0]).toBeCloseTo(0.3, 15);
    expect(inside[1]).toBeCloseTo(0.9, 15);
  });

  it("keeps the diagonal only when points are few, and gives up when they are fewer still", () => {
    const f = (x: readonly number[]) => (x[0]! - 0.2) ** 2 + 2 * (x[1]! - 0.7) ** 2 + (x[2]! - 0.5) ** 2;
    const few = samples(diagonalTerms(3) + 1, 3);
    const model = fitQuadratic([0.5, 0.5, 0.5], few, few.map(f))!;
    expect(model.hessian[1]).toBe(0); // no cross terms
    const at = minimizeInBox(model, [0, 0, 0], [1, 1, 1]);
    expect(at[0]).toBeCloseTo(0.2, 6);
    expect(at[1]).toBeCloseTo(0.7, 6);
    const fewer = samples(diagonalTerms(3), 3);
    expect(fitQuadratic([0.5, 0.5, 0.5], fewer, fewer.map(f))).toBeNull();
    expect(
      fitQuadratic(
        [0.5, 0.5, 0.5],
        few,
        few.map(() => 1),
      ),
    ).toBeNull(); // flat: nothing to fit
  });

  it("keeps only the diagonal above 8 dimensions, however many points there are", () => {
    const d = 9;
    const f = (x: readonly number[]) => x.reduce((sum, v, j) => sum + (j + 1) * (v - 0.4) ** 2, 0);
    const points = samples(fullTerms(d) + 2 * d, 4, d);
    const model = fitQuadratic(new Array<number>(d).fill(0.5), points, points.map(f))!;
    expect(model.hessian[1]).toBe(0);
    const at = minimizeInBox(model, new Array<number>(d).fill(0), new Array<number>(d).fill(1));
    for (const x of at) expect(x).toBeCloseTo(0.4, 6);
  });

  it("keeps the curvature of points near a converged centre when far points set the scale", () => {
    // An axis-parallel ellipsoid (condition 10⁶), an exact quadratic: 20 points within 1e-5 of
    // the centre and 10 up to 0.3 away. Scaled by the far ones, the near points' quadratic terms
    // are ~1e-10 of the constant term's; a ridge of 1e-10 of it flattened them and put the
    // minimiser about 2e-4 away.
    const at = [0.5 + 2e-6, 0.5 - 3e-6, 0.5 + 1e-6];
    const f = (x: readonly number[]) =>
      (x[0]! - at[0]!) ** 2 + 1e3 * (x[1]! - at[1]!) ** 2 + 1e6 * (x[2]! - at[2]!) ** 2;
    const near = samples(20, 11).map((p) => p.map((x) => 0.5 + (x - 0.5) * 2e-5));
    const far = samples(10, 12).map((p) => p.map((x) => 0.5 + (x - 0.5) * 0.6));
    const points = [...near, ...far];
    const model = fitQuadratic([0.5, 0.5, 0.5], points, points.map(f))!;
    const found = minimizeInBox(model, [0, 0, 0], [1, 1, 1]);
    for (let j = 0; j < 3; j++) expect(Math.abs(found[j]! - at[j]!)).toBeLessThan(1e-9);
  });

  it("stays accurate at a tiny scale, where a run has converged to many digits", () => {
    const at = [0.5 + 3e-7, 0.5 - 2e-7, 0.5 + 1e-7];
    const f = bowl(at);
    const points = samples(fullTerms(3) + 3, 9).map((p) => p.map((x) => 0.5 + (x - 0.5) * 1e-5));
    const model = fitQuadratic([0.5, 0.5, 0.5], points, points.map(f))!;
    const found = minimizeInBox(model, [0, 0, 0], [1, 1, 1]);
    for (let j = 0; j < 3; j++) expect(Math.abs(found[j]! - at[j]!)).toBeLessThan(1e-9);
  });
});

/** 40 points of a 3-D bowl in a box 0.02 wide next to its minimum, and the best of them. */
function nearMinimum() {
  const at = [0.35, 0.55, 0.5];
  const f = bowl(at);
  const near: Evaluation[] = samples(40, 8).map((u) => {
    const x = u.map((v, j) => at[j]! + 0.004 + (v - 0.5) * 0.02);
    return { u: x, value: f(x) };
  });
  const best = near.reduce((b, e, i) => (e.value < near[b]!.value ? i : b), 0);
  return { at, near, best };
}

/** Weighted least squares of the full 2-D quadratic by Gaussian elimination: the test's oracle. */
function predictLeftOut(points: number[][], values: number[], weights: number[], out: number): number {
  const row = ([a, b]: number[]) => [1, a!, b!, a! * a!, a! * b!, b! * b!];
  const m = Array.from({ length: 6 }, () => new Array<number>(7).fill(0));
  points.forEach((x, i) => {
    if (i === out) return;
    const r = row(x);
    for (let a = 0; a < 6; a++) {
      for (let b = 0; b < 6; b++) m[a]![b]! += weights[i]! * r[a]! * r[b]!;
      m[a]![6]! += weights[i]! * r[a]! * values[i]!;
    }
  });
  for (let c = 0; c < 6; c++) {
    for (let r = c + 1; r < 6; r++) {
      const k = m[r]![c]! / m[c]![c]!;
      for (let j = c; j < 7; j++) m[r]![j]! -= k * m[c]![j]!;
    }
  }
  const beta = new Array<number>(6).fill(0);
  for (let c = 5; c >= 0; c--) {
    let v = m[c]![6]!;
    for (let j = c + 1; j < 6; j++) v -= m[c]![j]! * beta[j]!;
    beta[c] = v / m[c]![c]!;
  }
  return row(points[out]!).reduce((sum, x, j) => sum + x * beta[j]!, 0);
}

describe("one design solved under many weights", () => {
  it("gives each weighting the model a fresh fit gives it, with other fits run in between", () => {
    for (const [d, n] of [
      [2, 14],
      [16, 66],
    ] as const) {
      const points = samples(n, 21 + d, d);
      const centre = points[0]!;
      const values = points.map((x) =>
        x.reduce((sum, v, j) => sum + (j + 1) * (v - 0.3) ** 2 + Math.sin(9 * v), 0),
      );
      const prng = Prng.fromSeed(d, 1);
      const fits = weightedFits(centre, points, values)!;
      for (let draw = 0; draw < 4; draw++) {
        const weights = Float64Array.from(points, () => -Math.log(1 - prng.next()));
        // A fit of other points between draws: the design must not share its buffer.
        fitQuadratic(points[1]!, samples(n, 99, d), values);
        expect(fits(weights)).toStrictEqual(fitQuadratic(centre, points, values, weights));
      }
    }
  });

  it("is null where every fit of those points is: too few of them, or one value", () => {
    const points = samples(10, 3, 2);
    expect(weightedFits([0.5, 0.5], points.slice(0, diagonalTerms(2)), [1, 2, 3, 4, 5])).toBeNull();
    expect(
      weightedFits(
        [0.5, 0.5],
        points,
        points.map(() => 2),
      ),
    ).toBeNull();
  });
});

describe("leave-one-out error of a quadratic fit", () => {
  it("equals the mean weighted squared error of refits that each leave one judged point out", () => {
    const points = samples(14, 11, 2);
    const prng = Prng.fromSeed(4, 1);
    const values = points.map(([a, b]) => Math.sin(4 * a!) + Math.cos(3 * b!) + a! * b!);
    const weights = points.map(() => 0.5 + prng.next());
    const judgeWeights = points.map(() => prng.next());
    const judged = 9;
    let total = 0;
    let weight = 0;
    for (let i = 0; i < judged; i++) {
      const residual = values[i]! - predictLeftOut(points, values, weights, i);
      total += judgeWeights[i]! * residual * residual;
      weight += judgeWeights[i]!;
    }
    const { model, error } = fitWithLeaveOneOut([0.5, 0.5], points, values, weights, judged, judgeWeights)!;
    expect(model).toEqual(fitQuadratic([0.5, 0.5], points, values, weights));
    expect(error).toBeGreaterThan(1e-6);
    expect(error / (total / weight)).toBeCloseTo(1, 6);
  });

  it("is zero for an exact quadratic, infinite when nothing is judged, and there is no fit for too few", () => {
    const points = samples(10, 2, 2);
    const values = points.map(([a, b]) => 3 * (a! - 0.4) ** 2 + (b! - 0.6) ** 2 + (a! - 0.4) * (b! - 0.6));
    expect(fitWithLeaveOneOut([0.5, 0.5], points, values, undefined, 10)!.error).toBeLessThan(1e-20);
    expect(fitWithLeaveOneOut([0.5, 0.5], points, values, undefined, 0)!.error).toBe(
      Number.POSITIVE_INFINITY,
    );
    const few = points.slice(0, diagonalTerms(2));
    expect(fitWithLeaveOneOut([0.5, 0.5], few, values.slice(0, few.length), undefined, 3)).toBeNull();
  });
});

describe("trust-region batch", () => {
  const f = bowl([0.35, 0.55, 0.5]);
  const history: Evaluation[] = samples(20, 5).map((u) => ({ u, value: f(u) }));
  const incumbent = history.reduce((b, e, i) => (e.value < history[b]!.value ? i : b), 0);

  it("widens to a given radius but never narrows, and keeps the radius through a restore", () => {
    const region = new TrustRegionBatch(Prng.fromSeed(1, 2), 0.01);
    const radius = () => region.toJSON().radius as number;
    region.widen(0.001);
    expect(radius()).toBe(0.01);
    region.widen(0.12);
    expect(radius()).toBe(0.12);
    expect(TrustRegionBatch.restore(JSON.parse(JSON.stringify(region.toJSON()))).toJSON().radius).toBe(0.12);
  });

  it("keeps its radius when a trial is cancelled, and forgets the trial", () => {
    const region = new TrustRegionBatch(Prng.fromSeed(1, 2), 0.1);
    const radius = () => region.toJSON().radius as number;
    region.propose(history, incumbent, [], 7);
    region.propose(history, incumbent, [], 8);
    region.cancel(7);
    expect(radius()).toBe(0.1);
    expect(region.toJSON().asked).toEqual([[8, [history[incumbent]!.value, 8]]]);
    region.tell(7, 1e9); // no longer its trial: ignored
    expect(radius()).toBe(0.1);
    region.tell(8, 1e9); // a miss narrows it
    expect(radius()).toBeLessThan(0.1);
  });

  it("proposes inside the region and spreads a batch apart from the running points", () => {
    const region = new TrustRegionBatch(Prng.fromSeed(1, 2), 0.15);
    const centre = history[incumbent]!.u;
    const pending: number[][] = [];
    for (let id = 0; id < 8; id++) {
      const x = region.propose(history, incumbent, pending, id);
      for (let j = 0; j < 3; j++) expect(Math.abs(x[j]! - centre[j]!)).toBeLessThanOrEqual(0.15 + 1e-12);
      for (const p of pending) {
        expect(Math.max(...p.map((v, j) => Math.abs(v - x[j]!)))).toBeGreaterThanOrEqual(0.15 / 2 - 1e-12);
      }
      pending.push(x);
    }
    // The first point is the model's minimiser: better than the incumbent on this bowl, and a
    // step of at least half the radius away, so the batch may spread over the whole region.
    expect(f(pending[0]!)).toBeLessThan(history[incumbent]!.value);
    expect(chebyshev(pending[0]!, centre)).toBeGreaterThanOrEqual(0.15 / 2);
  });

  it("near a minimum, spreads a batch within twice the model's step instead of the whole region", () => {
    // The incumbent sits within about 0.005 of the bowl's minimum and the region is 0.15 wide: a
    // batch over the whole region would measure the bowl's walls. Every point stays within twice
    // the step of the minimiser (the first proposal) and keeps the step's length from the running
    // points.
    const { at, near, best } = nearMinimum();
    const centre = near[best]!.u;
    const region = new TrustRegionBatch(Prng.fromSeed(4, 2), 0.15);
    const pending: number[][] = [];
    for (let id = 0; id < 8; id++) pending.push(region.propose(near, best, pending, id));
    const minimiser = pending[0]!;
    for (let j = 0; j < 3; j++) expect(minimiser[j]!).toBeCloseTo(at[j]!, 9);
    const step = chebyshev(minimiser, centre);
    expect(step).toBeLessThan(0.15 / 10);
    for (const [i, x] of pending.entries()) {
      expect(chebyshev(x, minimiser)).toBeLessThanOrEqual(2 * step + 1e-12);
      for (const p of pending.slice(0, i)) expect(chebyshev(p, x)).toBeGreaterThanOrEqual(step - 1e-12);
    }
  });

  it("fits the bottom of a bowl that is not a quadratic, not its walls", () => {
    // Quartic walls and a cubic tilt around the minimum at `a` (t²(1 + 30t + 300t²) ≥ 0, zero only
    // at t = 0); 25 points from 0.003 to 0.15 away. Each residual counts by how close the point's
    // value is to the incumbent's, so the fit follows the bottom: its minimiser cuts the distance
    // to `a` below 0.4 of the incumbent's and the value below 0.12 of it (0.29 and 0.07 here; an
    // unweighted fit, answering to the walls, got 0.50 and 0.17).
    const a = [0.42, 0.57];
    const g = (u: readonly number[]) =>
      u.reduce((sum, x, j) => {
        const t = x - a[j]!;
        return sum + t * t + 300 * t ** 4 + (j === 0 ? 30 * t ** 3 : 0);
      }, 0);
    const prng = Prng.fromSeed(3, 1);
    const points = [[a[0]! + 0.004, a[1]! - 0.003]];
    for (let i = 0; i < 24; i++) {
      const r = 0.003 * 50 ** prng.next();
      points.push(a.map((x) => x + r * (2 * prng.next() - 1)));
    }
    const near: Evaluation[] = points.map((u) => ({ u, value: g(u) }));
    const best = near.reduce((b, e, i) => (e.value < near[b]!.value ? i : b), 0);
    const x = new TrustRegionBatch(Prng.fromSeed(1, 2), 0.15).propose(near, best, [], 1);
    expect(chebyshev(x, a)).toBeLessThan(0.4 * chebyshev(near[best]!.u, a));
    expect(g(x)).toBeLessThan(0.12 * near[best]!.value);
  });

  it("weighs a residual by the value's gap above the incumbent's, relative to the median gap", () => {
    const w = valueWeights([5, 1, 3, 2, 9], 1)!; // gaps 4, 0, 2, 1, 8; median 2
    expect([...w]).toEqual([1 / 2.1, 1 / 0.1, 1 / 1.1, 1 / 0.6, 1 / 4.1]);
    // More than half tie the incumbent: the mean gap sets the scale instead (here 1).
    expect([...valueWeights([1, 1, 1, 5], 1)!]).toEqual([10, 10, 10, 1 / 4.1]);
    expect(valueWeights([2, 2, 2], 2)).toBeUndefined(); // all tie: nothing to weigh
  });

  it("while its minimiser runs, proposes the minimiser of a fit under random Exp(1) weights", () => {
    // 10 points in 2-D (fewer than the fit would take) on a bowl under strong ripples, taken
    // nearest first up to the first one more than four radii away on some coordinate once the
    // diagonal model has its 2d + 2 = 6: the value-weighted fit's minimiser is running, so the
    // next proposal is the first minimiser of a fit that keeps half the radius from it under
    // random weights: the region's next random numbers times each point's value weight.
    const f = (u: readonly number[]) =>
      (u[0]! - 0.3) ** 2 + 2 * (u[1]! - 0.6) ** 2 + 0.2 * Math.sin(40 * u[0]!) * Math.cos(37 * u[1]!);
    const points = samples(10, 21, 2);
    const near: Evaluation[] = points.map((u) => ({ u, value: f(u) }));
    const best = near.reduce((b, e, i) => (e.value < near[b]!.value ? i : b), 0);
    const centre = near[best]!.u;
    const r = 0.15;
    const lower = centre.map((x) => Math.max(0, x - r));
    const upper = centre.map((x) => Math.min(1, x + r));
    const order = near
      .map((e, i) => [e, i] as const)
      .sort(([a, i], [b, k]) => {
        const da = (a.u[0]! - centre[0]!) ** 2 + (a.u[1]! - centre[1]!) ** 2;
        const db = (b.u[0]! - centre[0]!) ** 2 + (b.u[1]! - centre[1]!) ** 2;
        return da - db || i - k;
      })
      .map(([e]) => e);
    const cut = order.findIndex(
      (e, i) => i >= diagonalTerms(2) + 1 && Math.max(...e.u.map((x, j) => Math.abs(x - centre[j]!))) > 4 * r,
    );
    expect(cut).not.toBe(-1); // the reach leaves some of the points out
    order.length = cut;
    const base = valueWeights(
      order.map((e) => e.value),
      near[best]!.value,
    )!;
    const first = minimizeInBox(
      fitQuadratic(
        centre,
        order.map((e) => e.u),
        order.map((e) => e.value),
        base,
      )!,
      lower,
      upper,
    );
    // The first step is over half the radius, so proposals spread over the whole region.
    expect(chebyshev(first, centre)).toBeGreaterThanOrEqual(r / 2);
    const region = new TrustRegionBatch(Prng.fromSeed(5, 2), r);
    const proposed = region.propose(near, best, [first], 1);
    const far = (x: readonly number[]) => Math.max(...x.map((v, j) => Math.abs(v - first[j]!))) >= r / 2;
    const prng = Prng.fromSeed(5, 2);
    let expected: number[] | null = null;
    for (let draw = 0; draw < 8 && expected === null; draw++) {
      const weights = order.map((_, i) => -Math.log(1 - prng.next()) * base[i]!);
      const fit = fitQuadratic(
        centre,
        order.map((e) => e.u),
        order.map((e) => e.value),
        weights,
      );
      const x = fit === null ? null : minimizeInBox(fit, lower, upper);
      if (x !== null && far(x)) expected = x;
    }
    expect(expected).not.toBeNull(); // the ripples leave the weighted fits room to differ
    expect(proposed).toEqual(expected);
    expect(far(proposed)).toBe(true);
    // Same seed, same state: the same proposal.
    expect(new TrustRegionBatch(Prng.fromSeed(5, 2), r).propose(near, best, [first], 1)).toEqual(proposed);
  });

  it("spreads a batch over at least the incumbent's cell on an int coordinate, the step elsewhere", () => {
    // The same bowl near its minimum, coordinate 0 now an int with cells 0.1 wide: a spread of
    // twice the step (about 0.01) would put the whole batch in the incumbent's cell there.
    const { near, best } = nearMinimum();
    const batch = (cells?: CellWidths) => {
      const region = new TrustRegionBatch(
        Prng.fromSeed(4, 2),
        0.15,
        cells === undefined ? undefined : { widths: cells, snap: (u) => u },
      );
      const pending: number[][] = [];
      for (let id = 0; id < 8; id++) pending.push(region.propose(near, best, pending, id));
      return pending;
    };
    const plain = batch();
    const minimiser = plain[0]!;
    const step = chebyshev(minimiser, near[best]!.u);
    const apart = (x: readonly number[], p: readonly number[]) =>
      Math.abs(x[0]! - p[0]!) >= 0.05 || Math.abs(x[1]! - p[1]!) >= step || Math.abs(x[2]! - p[2]!) >= step;
    const pairs = (points: number[][]) =>
      points.flatMap((x, i) => points.slice(0, i).map((p) => apart(x, p)));
    const floored = batch(() => [0.1, 0, 0]);
    expect(floored[0]).toEqual(minimiser);
    // Every pair is half a cell apart on the int or half the spread apart on a float, and the
    // floats stay within twice the step of the minimiser.
    expect(pairs(floored).every(Boolean)).toBe(true);
    for (const x of floored) {
      for (const j of [1, 2]) expect(Math.abs(x[j]! - minimiser[j]!)).toBeLessThanOrEqual(2 * step + 1e-12);
    }
    // Without the cells some pair is closer than half a cell on the int and than the step on the
    // floats.
    expect(pairs(plain).every(Boolean)).toBe(false);
  });

  it("on ints, does not propose a measured cell again while the region has others", () => {
    // Two ints on a grid of 21 cells each (cells 1/21 wide; the history holds their centres, as
    // the solver snaps them), a bowl whose minimum is the cell (7, 3), measured with its 5 × 5
    // neighbours: the fit's minimiser lies in a measured cell, and so do points within a cell of
    // it. Sequential proposals, each snapped and measured before the next.
    const cell = 1 / 21;
    const snap = (x: number) => (Math.min(20, Math.floor(x / cell)) + 0.5) * cell;
    const f = (u: readonly number[]) => (u[0]! / cell - 7.5) ** 2 + (u[1]! / cell - 3.5) ** 2;
    const history: Evaluation[] = [];
    for (let a = 5; a <= 9; a++)
      for (let b = 1; b <= 5; b++) {
        const u = [(a + 0.5) * cell, (b + 0.5) * cell];
        history.push({ u, value: f(u) });
      }
    const best = history.reduce((b, h, i) => (h.value < history[b]!.value ? i : b), 0);
    const region = new TrustRegionBatch(Prng.fromSeed(5, 2), 0.2, {
      widths: () => [cell, cell],
      snap: (u) => u.map(snap),
    });
    const keys = new Set(history.map((h) => h.u.join(",")));
    for (let id = 0; id < 12; id++) {
      const u = region.propose(history, best, [], id).map(snap);
      expect(keys.has(u.join(",")), `proposal ${id}: ${u.map((x) => x / cell - 0.5)}`).toBe(false);
      keys.add(u.join(","));
      history.push({ u, value: f(u) });
    }
  });

  it("on a log-scale int, compares cells, not distances: a free cell is proposed, a measured one not", () => {
    // Cells of a log-scale int have different widths, and the history holds a value's position,
    // not its cell's centre: a tolerance of half the incumbent's cell missed both ways.
    const space = new Space({ n: { type: "int", min: 1, max: 1000, scale: "log" } });
    const at = (n: number) => space.toUnit({ n })[0]!;
    const value = (u: number) => space.toParams([u]).n as number;
    const cells = {
      widths: (u: readonly number[]) => [space.cellWidth(0, u[0]!)],
      snap: (u: readonly number[]) => space.snap(u),
    };
    const proposed = (measured: number[], radius: number) => {
      const history = measured.map((n, i) => ({ u: [at(n)], value: i }));
      const counts = new Map<number, number>();
      for (let seed = 1; seed <= 100; seed++) {
        const region = new TrustRegionBatch(Prng.fromSeed(seed, 2), radius, cells);
        const n = value(region.propose(history, 0, [], 1)[0]!);
        counts.set(n, (counts.get(n) ?? 0) + 1);
      }
      return counts;
    };
    // 1 and 3 measured, the incumbent 1: the cell between them, 2, is free.
    const between = proposed([1, 3], 0.1);
    expect(between.get(2) ?? 0).toBeGreaterThan(90);
    // 4 and 2 measured, the incumbent 4: neither comes back.
    const around = proposed([4, 2], 0.1);
    expect(around.has(2) || around.has(4)).toBe(false);
  });

  it("with trials running, counts a region of ints as crowded when its cells are measured, not when failures wall them off", () => {
    // Two ints of 21 cells each, the incumbent in cell (10, 10) and a trial running far off in
    // (0, 0). The region reaches about a cell each way: cells 9..11 on both ints. Either its other
    // cells are measured (nothing free: a draw from beyond it stands for a repeat, which ends a
    // local phase), or failed trials sit in them (free cells that no draw may take: the trial
    // drawn beyond stands for nothing repeated).
    const cell = 1 / 21;
    const at = (c: number) => (c + 0.5) * cell;
    const snap = (x: number) => at(Math.min(20, Math.floor(x / cell)));
    const cells = { widths: () => [cell, cell], snap: (u: readonly number[]) => u.map(snap) };
    const around: number[][] = [];
    for (let a = 8; a <= 12; a++)
      for (let b = 8; b <= 12; b++) if (a !== 10 || b !== 10) around.push([at(a), at(b)]);
    const centre = { u: [at(10), at(10)], value: 0 };
    const running = [[at(0), at(0)]];
    for (let seed = 1; seed <= 20; seed++) {
      const measured = new TrustRegionBatch(Prng.fromSeed(seed, 2), 0.05, cells);
      const history = [
        centre,
        ...around.map((u) => ({ u, value: 1 + (u[0]! - at(10)) ** 2 + (u[1]! - at(10)) ** 2 })),
      ];
      measured.propose(history, 0, running, 1);
      expect(measured.tell(1, 2), `seed ${seed}: every cell measured`).toBe(true);
      const walled = new TrustRegionBatch(Prng.fromSeed(seed, 2), 0.05, cells);
      walled.propose([centre], 0, running, 1, around);
      expect(walled.tell(1, 2), `seed ${seed}: cells walled off by failed trials`).toBe(false);
    }
  });

  it("never proposes the incumbent itself, even when the model's minimiser is the incumbent", () => {
    // A bowl whose minimum lies beyond the corner (0, 0), with the incumbent on that corner: the
    // minimiser in the region is the corner, so every proposal comes from the fallbacks, whose
    // points clamped to the region can land on the corner exactly.
    const f = (u: readonly number[]) => (u[0]! + 0.3) ** 2 + (u[1]! + 0.2) ** 2;
    const points = [[0, 0], ...samples(30, 12, 2).map((u) => u.map((v) => v * 0.2))];
    const near: Evaluation[] = points.map((u) => ({ u, value: f(u) }));
    const region = new TrustRegionBatch(Prng.fromSeed(6, 2), 0.1);
    const pending: number[][] = [];
    for (let id = 0; id < 8; id++) pending.push(region.propose(near, 0, pending, id));
    const model = fitQuadratic(
      [0, 0],
      points,
      near.map((e) => e.value),
    )!;
    expect(minimizeInBox(model, [0, 0], [0.1, 0.1])).toEqual([0, 0]);
    for (const x of pending) expect(x).not.toEqual([0, 0]);
  });

  it("widens after a success, halves after a batch of failures, and resumes exactly from JSON", () => {
    const region = new TrustRegionBatch(Prng.fromSeed(3, 2), 0.1);
    const radius = () => region.toJSON().radius as number;
    const pending: number[][] = [];
    for (let id = 0; id < 12; id++) pending.push(region.propose(history, incumbent, pending, id));
    const copy = TrustRegionBatch.restore(JSON.parse(JSON.stringify(region.toJSON())));
    region.tell(0, -1);
    expect(radius()).toBeCloseTo(0.125, 12);
    for (let id = 1; id < 12; id++) region.tell(id, 100);
    // Each failure halves the radius per `width` of them, width being the trials running at its
    // ask but at least 8 (so 8 for ids 1..7, then 9, 10, 11 and 12).
    expect(radius()).toBeCloseTo(0.125 * 0.5 ** (7 / 8 + 1 / 9 + 1 / 10 + 1 / 11 + 1 / 12), 12);
    copy.tell(0, -1);
    for (let id = 1; id < 12; id++) copy.tell(id, 100);
    expect(copy.toJSON()).toEqual(region.toJSON());
    expect(copy.propose(history, incumbent, [], 9)).toEqual(region.propose(history, incumbent, [], 9));
    expect(() => TrustRegionBatch.restore({ prng: [1, 2, 3, 4], radius: 2, asked: [] })).toThrow(RangeError);
  });
});

describe("the points a trust-region fit uses", () => {
  const at = (u: number[], value = 1): Evaluation => ({ u, value });
  const centre = [0.5, 0.5];

  it("takes them nearest first, skips non-finite values, and keeps far ones until it has 2d + 2", () => {
    const history = [
      at([0.52, 0.5]),
      at([0.5, 0.55]),
      at([0.51, 0.51], Number.NaN),
      at([0.7, 0.5]),
      at([0.5, 0.75]),
      at([0.2, 0.5]),
      at([0.5, 0.15]),
      at([0.9, 0.9]),
    ];
    // Reach 0.1: the two near points, then far ones up to 2d + 2 = 6; (0.9, 0.9) is left out.
    expect(fitPoints(history, centre, 0.1).points).toEqual([
      [0.52, 0.5],
      [0.5, 0.55],
      [0.7, 0.5],
      [0.5, 0.75],
      [0.2, 0.5],
      [0.5, 0.15],
    ]);
    // No reach: every finite point, which the full model (6 terms) can use.
    expect(fitPoints(history, centre, Number.POSITIVE_INFINITY).points).toHaveLength(7);
  });

  it("stops at the first point beyond the reach once it has 2d + 2, even a failed one", () => {
    const near = [
      [0.52, 0.5],
      [0.47, 0.5],
      [0.5, 0.46],
      [0.5, 0.55],
      [0.54, 0.53],
      [0.45, 0.45],
    ];
    // (0.61, 0.5) is 0.11 away on u0; (0.59, 0.59) is within 0.1 on both but farther (Euclidean).
    const history = [...near, [0.61, 0.5], [0.59, 0.59]].map((u) => at(u));
    const { points, values } = fitPoints(history, centre, 0.1);
    expect(points).toEqual(near);
    expect(values).toEqual([1, 1, 1, 1, 1, 1]);
    // The same with (0.61, 0.5) failed (NaN): not fitted, it still marks where the reach ends.
    const failed = [...near.map((u) => at(u)), at([0.61, 0.5], Number.NaN), at([0.59, 0.59])];
    expect(fitPoints(failed, centre, 0.1).points).toEqual(near);
    expect(fitPoints(failed, centre, 0.2).points).toEqual([...near, [0.59, 0.59]]);
  });
});

describe("the points a trust-region fit uses, from a long history", () => {
  /** The rule as documented: every index sorted nearest first (ties by index), then the walk. */
  function reference(history: readonly Evaluation[], centre: readonly number[], reach: number) {
    const d = centre.length;
    const full = 1 + d + (d * (d + 1)) / 2;
    const terms = full <= 45 && history.length >= full + d ? full : diagonalTerms(d);
    const want = Math.min(history.length, Math.round(1.5 * terms) + d);
    const distance = history.map((h) => h.u.reduce((sum, v, j) => sum + (v - centre[j]!) ** 2, 0));
    const order = history.map((_, i) => i).sort((a, b) => distance[a]! - distance[b]! || a - b);
    const points: (readonly number[])[] = [];
    let reached = -1;
    for (const i of order) {
      if (points.length >= want) break;
      if (reached < 0 && points.length >= diagonalTerms(d) + 1 && chebyshev(history[i]!.u, centre) > reach) {
        reached = points.length;
      }
      if (Number.isFinite(history[i]!.value)) points.push(history[i]!.u);
    }
    return points.slice(0, reached < 0 ? points.length : reached);
  }

  it("takes the same points as sorting the whole history, with ties, repeats and failed points", () => {
    const prng = Prng.fromSeed(8, 1);
    for (const [d, n] of [
      [2, 200],
      [3, 40],
      [16, 400],
    ] as const) {
      for (let round = 0; round < 20; round++) {
        // Points on a coarse grid (many equal distances), some repeated, a share failed.
        const history: Evaluation[] = Array.from({ length: n }, () => ({
          u: Array.from({ length: d }, () => Math.round(prng.next() * 8) / 8),
          value: prng.next() < 0.2 ? Number.NaN : prng.next(),
        }));
        for (let k = 0; k < 10; k++) history.push(history[Math.floor(prng.next() * n)]!);
        const centre = history[Math.floor(prng.next() * n)]!.u;
        for (const reach of [0.1, 0.3, Number.POSITIVE_INFINITY]) {
          expect(fitPoints(history, centre, reach).points).toEqual(reference(history, centre, reach));
        }
      }
    }
  });
});

describe("the fit the trust region chooses", () => {
  const centre = [0.5, 0.5];
  // Six points within 0.1 of the centre (2d + 2) and five beyond it: the reach cuts the list at six,
  // too few for the full quadratic (8), which all eleven can have.
  const near = [
    [0.53, 0.5],
    [0.47, 0.52],
    [0.5, 0.46],
    [0.51, 0.56],
    [0.56, 0.44],
    [0.44, 0.43],
  ];
  const far = [
    [0.8, 0.3],
    [0.2, 0.7],
    [0.9, 0.85],
    [0.15, 0.2],
    [0.7, 0.95],
  ];
  const evaluate = (points: number[][], f: (u: number[]) => number): Evaluation[] =>
    points.map((u) => ({ u, value: f(u) }));

  it("takes the wider full quadratic when a valley couples the coordinates", () => {
    const valley = ([a, b]: number[]) => 10 * (a! + b! - 1) ** 2 + 0.1 * (a! - b!) ** 2;
    const history = evaluate([...near, ...far], valley);
    const incumbent = Math.min(...history.map((e) => e.value));
    expect(chooseFit(history, centre, 0.1, incumbent).points).toHaveLength(11);
  });

  it("has no fit, and asks no far point, when every value within the reach is equal", () => {
    const plateau = ([a, b]: number[]) =>
      Math.abs(a! - 0.5) <= 0.1 && Math.abs(b! - 0.5) <= 0.1 ? 1 : a! + b!;
    const history = evaluate([...near, ...far], plateau);
    const fit = chooseFit(history, centre, 0.1, 1);
    expect(fit.points).toEqual(near);
    expect(fit.model).toBeNull();
  });

  it("keeps the points within the reach when the far ones describe another landscape", () => {
    const bowl = ([a, b]: number[]) => (a! - 0.52) ** 2 + 2 * (b! - 0.49) ** 2;
    const ridge = ([a, b]: number[]) => 5 + Math.sin(20 * a!) * Math.cos(17 * b!);
    const history = [...evaluate(near, bowl), ...evaluate(far, ridge)];
    const incumbent = Math.min(...history.map((e) => e.value));
    expect(chooseFit(history, centre, 0.1, incumbent).points).toEqual(near);
  });
});

describe("a point the trust region has measured", () => {
  it("is not proposed again: the default strategy spends no trial on a repeat in a continuous space", () => {
    // |x − 0.3| + |y − 0.3|: a kink the quadratic fits miss, whose minimiser sat on one measured
    // point. One trial at a time, 14 to 20 of 100 trials repeated an earlier point (seed 9: one
    // point asked 21 times).
    const kink = (p: Readonly<Record<string, unknown>>) =>
      Math.abs((p.x as number) - 0.3) + Math.abs((p.y as number) - 0.3);
    for (const seed of [1, 2, 3, 4, 9]) {
      const solver = createSolver({
        seed,
        budget: 100,
        bounds: { x: { min: -1, max: 1 }, y: { min: -1, max: 1 } },
      });
      const seen = new Set<string>();
      let repeats = 0;
      for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
        for (const trial of batch) {
          const key = JSON.stringify(trial.params);
          if (seen.has(key)) repeats++;
          seen.add(key);
          solver.tell({ id: trial.id, value: kink(trial.params) });
        }
      }
      expect({ seed, repeats }).toEqual({ seed, repeats: 0 });
      expect(solver.best()!.value).toBeLessThan(1e-5);
      solver.stop();
    }
  });
});
