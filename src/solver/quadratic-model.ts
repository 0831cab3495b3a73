/**
 * A local quadratic surrogate for the batch local step (src/solver/trust-region.ts): least-squares
 * fit of a quadratic to evaluated points near a centre, and its minimiser inside a box.
 *
 * @remarks
 * Coordinates are centred on the centre and divided by the spread of the fitted points, and values
 * are shifted and scaled to [0, 1], so the normal equations keep their digits when a run has
 * converged to a few (RIDGE says what is left). A full quadratic has 1 + d + d(d + 1)/2 terms;
 * with too few points for it, or above 8 dimensions, the model keeps only the diagonal (1 + 2d
 * terms). A fitted Hessian that is not positive definite is replaced by its absolute value
 * (`absoluteCurvature`), so the model never curves down and its minimiser is a step downhill.
 */

import { symmetricEigen } from "./symmetric-eigen.js";

/** A fitted quadratic in scaled coordinates s = (x − centre) / scale. */
export interface QuadraticModel {
  readonly centre: readonly number[];
  readonly scale: number;
  /** Gradient at the centre (scaled coordinates). */
  readonly gradient: readonly number[];
  /** Symmetric Hessian, row-major d × d (off-diagonal zero for a diagonal model). */
  readonly hessian: readonly number[];
  /** Whether the Hessian may have off-diagonal entries (the full quadratic), or is diagonal. */
  readonly full: boolean;
}

/** Terms of the full and of the diagonal quadratic in d dimensions. */
export function fullTerms(d: number): number {
  return 1 + d + (d * (d + 1)) / 2;
}
export function diagonalTerms(d: number): number {
  return 1 + 2 * d;
}

/**
 * Largest number of terms a full quadratic may have (d ≤ 8). Above it the model keeps only the
 * diagonal: with 91 terms at d = 12 the fit needs points so far from the centre that it stops
 * describing the neighbourhood (measured on Hartmann-3 in 12-D, B1 development half).
 */
const MAX_FULL_TERMS = 45;

/** Whether {@link fitQuadratic} fits the full quadratic to `n` points in d dimensions. */
export function usesFullQuadratic(d: number, n: number): boolean {
  return fullTerms(d) <= MAX_FULL_TERMS && n >= fullTerms(d) + d;
}

/**
 * Ridge added to the normal equations' diagonal, relative to its largest entry: only enough to
 * keep a column that is zero (an integer coordinate every fitted point shares) from making the
 * system singular. The largest entry is the constant term's, n, while a quadratic term of points
 * near a converged centre is tiny next to it (the scale is set by the farthest fitted point), so
 * a larger ridge flattens exactly the curvature the last steps need: at 1e-10 the axis-parallel
 * Ellipsoid-8D (an exact quadratic) stalled near 1e-5 regret, at 1e-16 its fit reaches ~1e-17.
 * B1 development half, one trial at a time, seeds 1..100: mean log₁₀ regret over its 44 cells
 * −1.56 → −1.64. (1e-16 · n is below half an ulp of n, so it only acts on the small entries.)
 */
const RIDGE = 1e-16;

/**
 * Fits a quadratic to `points` (unit-cube coordinates) with `values`, centred on `centre`. Uses the
 * full quadratic when {@link usesFullQuadratic} says so, the diagonal one otherwise;
 * `null` when there are fewer than `diagonalTerms(d) + 1` points or the values are all equal.
 * `weights` (positive, one per point; all 1 when omitted) weigh each point's squared residual.
 * The least-squares Hessian is kept only when positive definite (`absoluteCurvature`).
 */
export function fitQuadratic(
  centre: readonly number[],
  points: readonly (readonly number[])[],
  values: readonly number[],
  weights?: ArrayLike<number>,
): QuadraticModel | null {
  return solveFit(centre, points, values, weights)?.model ?? null;
}

/**
 * {@link fitQuadratic}'s model of `points` with the leave-one-out error of its least-squares fit
 * (before `absoluteCurvature`), judged on the first `judged` points (at most all of them): the
 * mean, under `judgeWeights` (all 1 when omitted), of the squared residual each would have had
 * were it left out of the fit (the residual over 1 − its leverage, from the one fit). The error
 * is ∞ when a judged point's leverage is 1 (the fit passes through it) or nothing is judged;
 * `null` when there is no fit.
 */
export function fitWithLeaveOneOut(
  centre: readonly number[],
  points: readonly (readonly number[])[],
  values: readonly number[],
  weights: ArrayLike<number> | undefined,
  judged: number,
  judgeWeights?: ArrayLike<number>,
): { readonly model: QuadraticModel; readonly error: number } | null {
  const fit = solveFit(centre, points, values, weights);
  if (fit === null) return null;
  return {
    model: fit.model,
    error: leaveOneOutError(fit, centre, points, values, weights, judged, judgeWeights),
  };
}

function leaveOneOutError(
  fit: Fit,
  centre: readonly number[],
  points: readonly (readonly number[])[],
  values: readonly number[],
  weights: ArrayLike<number> | undefined,
  judged: number,
  judgeWeights: ArrayLike<number> | undefined,
): number {
  const { factor, beta, p, full, lo, span } = fit;
  const { scale } = fit.model;
  const d = centre.length;
  const row = new Float64Array(p);
  const z = new Float64Array(p);
  const s = new Float64Array(d);
  let total = 0;
  let weight = 0;
  for (let i = 0; i < Math.min(judged, points.length); i++) {
    const x = points[i]!;
    for (let j = 0; j < d; j++) s[j] = (x[j]! - centre[j]!) / scale;
    features(s, full, row);
    // Leverage w·rowᵀ(AᵀWA)⁻¹row = w·|L⁻¹row|², L the Cholesky factor of the normal equations.
    let leverage = 0;
    let predicted = 0;
    for (let a = 0; a < p; a++) {
      let v = row[a]!;
      for (let k = 0; k < a; k++) v -= factor[a * p + k]! * z[k]!;
      z[a] = v / factor[a * p + a]!;
      leverage += z[a]! * z[a]!;
      predicted += row[a]! * beta[a]!;
    }
    leverage *= weights === undefined ? 1 : weights[i]!;
    if (!(leverage < 1)) return Number.POSITIVE_INFINITY;
    const residual = (((values[i]! - lo) / span - predicted) * span) / (1 - leverage);
    const w = judgeWeights === undefined ? 1 : judgeWeights[i]!;
    total += w * residual * residual;
    weight += w;
  }
  return weight > 0 ? total / weight : Number.POSITIVE_INFINITY;
}

interface Fit {
  readonly model: QuadraticModel;
  /** Coefficients in scaled coordinates and values. */
  readonly beta: Float64Array;
  /** Cholesky factor of the normal equations (lower triangle, row-major p × p). */
  readonly factor: Float64Array;
  readonly p: number;
  readonly full: boolean;
  readonly lo: number;
  readonly span: number;
}

function solveFit(
  centre: readonly number[],
  points: readonly (readonly number[])[],
  values: readonly number[],
  weights?: ArrayLike<number>,
): Fit | null {
  const design = designOf(centre, points, values, false);
  return design === null ? null : solveDesign(design, weights);
}

/**
 * A fit of `points` that can be solved again under other weights: the bootstrap's draws
 * ({@link fitQuadratic} for each) share their design matrix, built once here. `null` when
 * {@link fitQuadratic} would give `null` whatever the weights.
 */
export function weightedFits(
  centre: readonly number[],
  points: readonly (readonly number[])[],
  values: readonly number[],
): ((weights: ArrayLike<number>) => QuadraticModel | null) | null {
  const design = designOf(centre, points, values, true);
  return design === null ? null : (weights) => solveDesign(design, weights)?.model ?? null;
}

/** What a fit needs of its points before any weight: scaled features and values. */
interface Design {
  readonly centre: readonly number[];
  readonly n: number;
  readonly p: number;
  readonly full: boolean;
  readonly scale: number;
  readonly lo: number;
  readonly span: number;
  /** The design matrix by feature (column c at c·n). */
  readonly column: Float64Array;
  /** Values shifted and scaled to [0, 1]. */
  readonly y: Float64Array;
}

/** The design of a fit of `points`; in a buffer of its own when `owned`, else in the shared one. */
function designOf(
  centre: readonly number[],
  points: readonly (readonly number[])[],
  values: readonly number[],
  owned: boolean,
): Design | null {
  const d = centre.length;
  const n = points.length;
  const full = usesFullQuadratic(d, n);
  if (!full && n < diagonalTerms(d) + 1) return null;
  const p = full ? fullTerms(d) : diagonalTerms(d);
  let scale = 0;
  for (const x of points) for (let j = 0; j < d; j++) scale = Math.max(scale, Math.abs(x[j]! - centre[j]!));
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!(scale > 0) || !(hi > lo) || !Number.isFinite(hi - lo)) return null;
  const span = hi - lo;
  const column = owned ? new Float64Array(p * n) : designScratch(p * n).column;
  const y = new Float64Array(n);
  const row = new Float64Array(p);
  const s = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const x = points[i]!;
    for (let j = 0; j < d; j++) s[j] = (x[j]! - centre[j]!) / scale;
    features(s, full, row);
    y[i] = (values[i]! - lo) / span;
    for (let a = 0; a < p; a++) column[a * n + i] = row[a]!;
  }
  return { centre, n, p, full, scale, lo, span, column, y };
}

/**
 * Least squares on a design under `weights` (all 1 when omitted). The design matrix is kept by
 * feature, plain and weighted, so that each entry of the normal equations is a contiguous dot
 * product over the points, several computed side by side: the same sums in the same order as
 * adding each point's outer product, so the same bits in a fraction of the time.
 */
function solveDesign(design: Design, weights: ArrayLike<number> | undefined): Fit | null {
  const { centre, n, p, full, scale, lo, span, column, y } = design;
  const d = centre.length;
  const weighted = designScratch(p * n).weighted;
  for (let a = 0; a < p; a++) {
    const c = a * n;
    for (let i = 0; i < n; i++) weighted[c + i] = (weights === undefined ? 1 : weights[i]!) * column[c + i]!;
  }
  const ata = new Float64Array(p * p);
  const atb = new Float64Array(p);
  for (let a = 0; a < p; a++) {
    const wa = a * n;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += weighted[wa + i]! * y[i]!;
    atb[a] = sum;
  }
  // The upper triangle, two rows by four columns at a time: eight independent sums, each still
  // added up point by point, from six loads per point (four columns of one row took five for four).
  let a = 0;
  for (; a + 1 < p; a += 2) {
    const wa = a * n;
    const wb = wa + n;
    // Row a's diagonal entry, then both rows from column a + 1 on.
    let diagonal = 0;
    for (let i = 0; i < n; i++) diagonal += weighted[wa + i]! * column[wa + i]!;
    ata[a * p + a] = diagonal;
    let b = a + 1;
    for (; b + 3 < p; b += 4) {
      const c0 = b * n;
      const c1 = c0 + n;
      const c2 = c1 + n;
      const c3 = c2 + n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let t0 = 0;
      let t1 = 0;
      let t2 = 0;
      let t3 = 0;
      for (let i = 0; i < n; i++) {
        const u = weighted[wa + i]!;
        const v = weighted[wb + i]!;
        const x0 = column[c0 + i]!;
        const x1 = column[c1 + i]!;
        const x2 = column[c2 + i]!;
        const x3 = column[c3 + i]!;
        s0 += u * x0;
        s1 += u * x1;
        s2 += u * x2;
        s3 += u * x3;
        t0 += v * x0;
        t1 += v * x1;
        t2 += v * x2;
        t3 += v * x3;
      }
      ata[a * p + b] = s0;
      ata[a * p + b + 1] = s1;
      ata[a * p + b + 2] = s2;
      ata[a * p + b + 3] = s3;
      // On the first pass, t0 is row a + 1's diagonal entry (column a + 1).
      ata[(a + 1) * p + b] = t0;
      ata[(a + 1) * p + b + 1] = t1;
      ata[(a + 1) * p + b + 2] = t2;
      ata[(a + 1) * p + b + 3] = t3;
    }
    for (; b < p; b++) {
      const cb = b * n;
      let s0 = 0;
      let t0 = 0;
      for (let i = 0; i < n; i++) {
        const x = column[cb + i]!;
        s0 += weighted[wa + i]! * x;
        t0 += weighted[wb + i]! * x;
      }
      ata[a * p + b] = s0;
      ata[(a + 1) * p + b] = t0;
    }
  }
  for (; a < p; a++) {
    const wa = a * n;
    for (let b = a; b < p; b++) {
      const cb = b * n;
      let dot = 0;
      for (let i = 0; i < n; i++) dot += weighted[wa + i]! * column[cb + i]!;
      ata[a * p + b] = dot;
    }
  }
  let biggest = 0;
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < a; b++) ata[a * p + b] = ata[b * p + a]!;
    biggest = Math.max(biggest, ata[a * p + a]!);
  }
  for (let a = 0; a < p; a++) ata[a * p + a]! += RIDGE * biggest;
  const beta = solveSymmetric(ata, atb, p);
  if (beta === null) return null;
  const gradient = new Array<number>(d);
  const hessian = new Array<number>(d * d).fill(0);
  for (let j = 0; j < d; j++) gradient[j] = beta[1 + j]!;
  if (full) {
    let k = 1 + d;
    for (let j = 0; j < d; j++) {
      for (let l = j; l < d; l++) {
        const c = beta[k++]!;
        if (j === l) hessian[j * d + j] = 2 * c;
        else {
          hessian[j * d + l] = c;
          hessian[l * d + j] = c;
        }
      }
    }
  } else {
    for (let j = 0; j < d; j++) hessian[j * d + j] = 2 * beta[1 + d + j]!;
  }
  if (!positiveDefinite(hessian, d, full)) absoluteCurvature(hessian, d, full);
  return { model: { centre, scale, gradient, hessian, full }, beta, factor: ata, p, full, lo, span };
}

/** The design matrix's two buffers, kept between fits (a fit reads them only while it runs). */
let scratch = { column: new Float64Array(0), weighted: new Float64Array(0) };

/** {@link scratch}, grown to hold `size` numbers each. */
function designScratch(size: number): { column: Float64Array; weighted: Float64Array } {
  if (scratch.column.length < size) {
    scratch = { column: new Float64Array(2 * size), weighted: new Float64Array(2 * size) };
  }
  return scratch;
}

function positiveDefinite(hessian: readonly number[], d: number, full: boolean): boolean {
  if (!full) {
    // What the factorisation finds for a diagonal matrix: every entry above 0.
    for (let j = 0; j < d; j++) if (!(hessian[j * d + j]! > 0)) return false;
    return true;
  }
  return solveSymmetric(Float64Array.from(hessian), new Float64Array(d), d) !== null;
}

/**
 * Replaces a Hessian that is not positive definite by its absolute value |H| = V|Λ|Vᵀ (in place;
 * for the diagonal model, the absolute value of each entry): the saddle-free Newton step of
 * Dauphin et al. (2014). A fit that curves down along some direction would otherwise send its
 * minimiser to the region's edge, however little the points support that curvature; with |H| the
 * step along that direction goes downhill by the gradient over the curvature's size, as along
 * the others. A positive definite Hessian is kept as it is. Traced on Hartmann-6 @100 (B1
 * development half, seeds 1..6, proposals after trial 50), the fit was indefinite for 62 % of 8
 * workers' proposals and 18 % of one worker's; on seed 1 most of 8 workers' minimisers lay on the
 * region's edge. Chosen on the development half, where it lowered log₁₀ regret for one worker and
 * for 8 on two sets of seeds; raising negative eigenvalues to a thousandth of the largest did less
 * (docs/benchmarks.md at 035e597, PARALLEL, the eleventh pass, has the figures and the validation
 * half).
 */
function absoluteCurvature(hessian: number[], d: number, full: boolean): void {
  if (!full) {
    for (let j = 0; j < d; j++) hessian[j * d + j] = Math.abs(hessian[j * d + j]!);
    return;
  }
  const { values, vectors } = symmetricEigen(hessian, d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let x = 0;
      for (let k = 0; k < d; k++) x += vectors[i * d + k]! * Math.abs(values[k]!) * vectors[j * d + k]!;
      hessian[i * d + j] = x;
    }
  }
}

/** The model's change from the centre at scaled offset `s`: g·s + ½ sᵀHs. */
export function modelValue(model: QuadraticModel, s: ArrayLike<number>): number {
  const d = model.gradient.length;
  let v = 0;
  if (!model.full) {
    // The off-diagonal zeros add nothing: O(d) instead of O(d²) (d = 16 ranks 32 neighbours per ask).
    for (let j = 0; j < d; j++) v += s[j]! * (model.gradient[j]! + 0.5 * (model.hessian[j * d + j]! * s[j]!));
    return v;
  }
  for (let j = 0; j < d; j++) {
    let hs = 0;
    for (let l = 0; l < d; l++) hs += model.hessian[j * d + l]! * s[l]!;
    v += s[j]! * (model.gradient[j]! + 0.5 * hs);
  }
  return v;
}

/**
 * Approximate minimiser of the model over the box `lower ≤ x ≤ upper` (unit-cube coordinates, the
 * box containing the centre): the Newton point when the Hessian is positive definite, clipped to the
 * box, then projected-gradient steps from it and from the centre; the lower of the two ends wins.
 * A diagonal Hessian that is clearly positive definite separates the coordinates, and the clipped
 * Newton point is then the exact minimiser, returned without the steps: at d = 16 those steps
 * over a d × d Hessian took about 40 % of the default strategy's ask + tell at trial ~100 (a
 * scratch timing on the sphere, 110 → 67 µs; B2 has the rows), and skipping them moved the
 * development half's regret by last-digit differences only.
 */
export function minimizeInBox(
  model: QuadraticModel,
  lower: readonly number[],
  upper: readonly number[],
): number[] {
  const d = model.gradient.length;
  const { centre, scale } = model;
  const lo = lower.map((l, j) => (l - centre[j]!) / scale);
  const hi = upper.map((u, j) => (u - centre[j]!) / scale);
  const clip = (s: number[]): number[] => s.map((x, j) => Math.min(hi[j]!, Math.max(lo[j]!, x)));
  if (separablyConvex(model.hessian, d)) {
    const step = clip(model.gradient.map((g, j) => -g / model.hessian[j * d + j]!));
    return step.map((x, j) => centre[j]! + x * scale);
  }
  const starts: number[][] = [new Array<number>(d).fill(0)];
  const h = new Float64Array(model.hessian);
  const minusG = new Float64Array(model.gradient.map((g) => -g));
  const newton = solveSymmetric(h, minusG, d, true);
  if (newton !== null) starts.push(clip(Array.from(newton)));
  // Step 1/L, L bounding the Hessian's largest eigenvalue (Frobenius norm), so each step descends.
  let frobenius = 0;
  for (const x of model.hessian) frobenius += x * x;
  const step = 1 / Math.max(Math.sqrt(frobenius), 1e-12);
  const { gradient, hessian } = model;
  // Two buffers the steps alternate between, and the best end so far: no array per step.
  let s = new Float64Array(d);
  let next = new Float64Array(d);
  const best = new Float64Array(d);
  let bestValue = 0;
  for (let k = 0; k < starts.length; k++) {
    s.set(starts[k]!);
    for (let iteration = 0; iteration < 50; iteration++) {
      let moved = 0;
      for (let j = 0; j < d; j++) {
        let hs = 0;
        for (let l = 0; l < d; l++) hs += hessian[j * d + l]! * s[l]!;
        // Large boxes in flat directions: never step further than the box allows.
        const x = Math.min(hi[j]!, Math.max(lo[j]!, s[j]! - step * (gradient[j]! + hs)));
        next[j] = x;
        moved = Math.max(moved, Math.abs(x - s[j]!));
      }
      [s, next] = [next, s];
      if (moved < 1e-12) break;
    }
    // The first start's end is kept whatever its value; a later one only when lower.
    const v = modelValue(model, s);
    if (k === 0 || v < bestValue) {
      best.set(s);
      bestValue = v;
    }
  }
  return Array.from(best, (x, j) => centre[j]! + x * scale);
}

/**
 * Whether the Hessian is diagonal with every entry above 1e-9 of the largest: the pivots
 * `solveSymmetric`'s strict test asks of a Newton step.
 */
function separablyConvex(hessian: readonly number[], d: number): boolean {
  let largest = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) if (i !== j && hessian[i * d + j] !== 0) return false;
    largest = Math.max(largest, hessian[i * d + i]!);
  }
  for (let j = 0; j < d; j++) if (!(hessian[j * d + j]! > 1e-9 * largest)) return false;
  return true;
}

/** Feature row of the quadratic at scaled point `s`: 1, s_j, then s_j s_l (l ≥ j) or s_j². */
function features(s: Float64Array, full: boolean, out: Float64Array): void {
  const d = s.length;
  out[0] = 1;
  for (let j = 0; j < d; j++) out[1 + j] = s[j]!;
  let k = 1 + d;
  if (full) {
    for (let j = 0; j < d; j++) for (let l = j; l < d; l++) out[k++] = s[j]! * s[l]!;
  } else {
    for (let j = 0; j < d; j++) out[k++] = s[j]! * s[j]!;
  }
}

/**
 * Solves the symmetric system `a x = b` (a is p × p, row-major, overwritten) by Cholesky; `null`
 * when `a` is not positive definite. With `strict`, a pivot that is tiny next to the largest diagonal
 * entry also counts as not positive definite (a Newton step along a nearly flat direction is not
 * wanted).
 */
function solveSymmetric(a: Float64Array, b: Float64Array, p: number, strict = false): Float64Array | null {
  let biggest = 0;
  for (let i = 0; i < p; i++) biggest = Math.max(biggest, a[i * p + i]!);
  const floor = strict ? 1e-9 * biggest : 0;
  for (let j = 0; j < p; j++) {
    let diag = a[j * p + j]!;
    for (let k = 0; k < j; k++) diag -= a[j * p + k]! * a[j * p + k]!;
    if (!(diag > floor)) return null;
    const root = Math.sqrt(diag);
    a[j * p + j] = root;
    const rj = j * p;
    // Four rows at a time: independent sums, each in the same order as one row at a time.
    let i = j + 1;
    for (; i + 3 < p; i += 4) {
      const r0 = i * p;
      const r1 = r0 + p;
      const r2 = r1 + p;
      const r3 = r2 + p;
      let x0 = a[r0 + j]!;
      let x1 = a[r1 + j]!;
      let x2 = a[r2 + j]!;
      let x3 = a[r3 + j]!;
      for (let k = 0; k < j; k++) {
        const v = a[rj + k]!;
        x0 -= a[r0 + k]! * v;
        x1 -= a[r1 + k]! * v;
        x2 -= a[r2 + k]! * v;
        x3 -= a[r3 + k]! * v;
      }
      a[r0 + j] = x0 / root;
      a[r1 + j] = x1 / root;
      a[r2 + j] = x2 / root;
      a[r3 + j] = x3 / root;
    }
    for (; i < p; i++) {
      let x = a[i * p + j]!;
      for (let k = 0; k < j; k++) x -= a[i * p + k]! * a[rj + k]!;
      a[i * p + j] = x / root;
    }
  }
  const x = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let v = b[i]!;
    for (let k = 0; k < i; k++) v -= a[i * p + k]! * x[k]!;
    x[i] = v / a[i * p + i]!;
  }
  for (let i = p - 1; i >= 0; i--) {
    let v = x[i]!;
    for (let k = i + 1; k < p; k++) v -= a[k * p + i]! * x[k]!;
    x[i] = v / a[i * p + i]!;
  }
  return x;
}
