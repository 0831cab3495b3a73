import type { Prng } from "../random/prng.js";

/**
 * Parzen (kernel density) estimators on the unit cube, as used by TPE.
 *
 * @remarks
 * A {@link ParzenMixture} is a weighted mixture of product kernels: kernel i is a product over
 * dimensions of Gaussians N(μ_ij, σ_ij²), each truncated to [0, 1] and renormalised, so the
 * mixture is a true density on [0,1]^d. Kernel 0 is always the *prior*: centre 0.5 and σ = 1 in
 * every dimension (a wide bump that keeps every point of the cube possible). Bandwidths come
 * either from the gap rule ({@link gapBandwidths}, clipped to `[floor, 1]`) or are one fixed
 * value for every kernel and dimension.
 *
 * Everything lives in flat Float64Arrays that grow geometrically and are reused across fits, so
 * refitting allocates nothing once the arrays are large enough.
 */

/** Beyond this many standard deviations an upper Gaussian tail is below 1.2e-19 and taken as 0. */
const TAIL_LIMIT = 9;
/** Spacing of the upper-tail table; cubic Hermite interpolation keeps the error below 1e-10. */
const TAIL_STEP = 1 / 64;
const TAIL_SCALE = 64;
const TAIL_NODES = Math.round(TAIL_LIMIT / TAIL_STEP) + 1;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
/**
 * A kernel whose log-term falls this far below the largest one adds less than e^-40 ≈ 4e-18 of
 * the total, so it is dropped as soon as a partial distance proves it (see `logDensity`).
 */
const PRUNE_GAP = 40;
/** Rejection sampling of a truncated Gaussian gives up after this many draws and clamps. */
const MAX_REJECTIONS = 64;

/** `POW2[i]` = 2^(1 − i), i = 0…1075: the powers of two {@link boundExp} rounds up to. */
const POW2 = Float64Array.from({ length: 1076 }, (_, i) => 2 ** (1 - i));

/**
 * An upper bound of e^t (as Math.exp rounds it) for t ≤ 1e-15: the next power of two at or above
 * it, a table look-up instead of an exponential. The 1e-9 added to the exponent covers the
 * rounding of t · log2 e and of Math.exp (1e-9 · ln 2 relative, far above an ulp).
 */
export function boundExp(t: number): number {
  const e = Math.ceil(t * Math.LOG2E + 1e-9);
  return e > -1075 ? POW2[(1 - e) | 0]! : Number.MIN_VALUE;
}

const tailValues = new Float64Array(TAIL_NODES);
const tailSlopes = new Float64Array(TAIL_NODES);
let tailReady = false;

/** erfc(x) for x ≥ 0 to about 1e-15 relative: a positive series below 2, a continued fraction above. */
function erfcPrecise(x: number): number {
  if (x < 2) {
    // erf(x) = 2/√π · e^(−x²) · Σ_n 2^n x^(2n+1) / (1·3·…·(2n+1)); every term is positive.
    let term = x;
    let sum = x;
    for (let n = 1; n < 100 && term > 1e-17 * sum; n++) {
      term *= (2 * x * x) / (2 * n + 1);
      sum += term;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
  }
  // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated bottom-up.
  let fraction = x;
  for (let k = 120; k >= 1; k--) fraction = x + k / 2 / fraction;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / fraction;
}

/** Builds the upper-tail table on first use (577 nodes, a few microseconds). */
function buildTailTable(): void {
  for (let k = 0; k < TAIL_NODES; k++) {
    const t = k * TAIL_STEP;
    tailValues[k] = 0.5 * erfcPrecise(t / Math.SQRT2);
    tailSlopes[k] = -INV_SQRT_2PI * Math.exp(-0.5 * t * t);
  }
  tailReady = true;
}

/**
 * The standard normal upper tail Q(t) = P(Z > t) for t ≥ 0 (negative t is treated as 0).
 *
 * @remarks
 * A cubic Hermite interpolation of a 1/64-spaced table (values and exact slopes −φ(t)): absolute
 * error below 1e-10 and relative error below 1e-6 up to t = 9 (checked against erfc on a grid);
 * exactly 0 beyond. A table look-up and a dozen flops per call.
 */
export function upperTail(t: number): number {
  if (t >= TAIL_LIMIT) return 0;
  if (!tailReady) buildTailTable();
  const scaled = t > 0 ? t * TAIL_SCALE : 0;
  const k = scaled | 0; // < TAIL_NODES − 1 because t < TAIL_LIMIT
  const s = scaled - k;
  const r = 1 - s;
  return (
    (1 + 2 * s) * r * r * tailValues[k]! +
    s * r * r * TAIL_STEP * tailSlopes[k]! +
    s * s * (3 - 2 * s) * tailValues[k + 1]! -
    s * s * r * TAIL_STEP * tailSlopes[k + 1]!
  );
}

/**
 * The gap rule for one dimension: the bandwidth of each point is the larger of its gaps to the
 * neighbouring points, clipped to `[floor, 1]`.
 *
 * @remarks
 * `sorted` holds `count` coordinates in ascending order from `offset` on; `out[q]` receives the
 * bandwidth of the point at sorted position q. The outermost points use their single inner gap
 * (the cube's faces are not neighbours), and a lone point uses its larger distance to a face.
 * Dense regions thus get narrow kernels and sparse ones wide kernels, kernel by kernel, which
 * suits multi-modal sets better than one bandwidth per mixture. O(count).
 */
export function gapBandwidths(
  sorted: ArrayLike<number>,
  count: number,
  floor: number,
  out: Float64Array,
  offset = 0,
): void {
  if (count === 0) return;
  if (count === 1) {
    const v = sorted[offset]!;
    out[0] = clip(Math.max(v, 1 - v), floor);
    return;
  }
  let current = sorted[offset + 1]!;
  let gapBefore = current - sorted[offset]!;
  out[0] = clip(gapBefore, floor);
  for (let q = 1; q < count - 1; q++) {
    const next = sorted[offset + q + 1]!;
    const gapAfter = next - current;
    out[q] = clip(gapBefore > gapAfter ? gapBefore : gapAfter, floor);
    gapBefore = gapAfter;
    current = next;
  }
  out[count - 1] = clip(gapBefore, floor);
}

function clip(sigma: number, floor: number): number {
  return sigma < floor ? floor : sigma > 1 ? 1 : sigma;
}

/**
 * Sorts the observations 0…count−1 (row i + `firstRow` of the row-major `points`) by coordinate
 * in every dimension, ties by index: `order[j·count + q]` receives the index at sorted position
 * q of dimension j and `values[j·count + q]` its coordinate — the input of
 * {@link ParzenMixture.fitAdaptive}.
 *
 * @remarks
 * Insertion sort: meant for small sets (TPE's good set has at most a few dozen points, its
 * pending points a handful); a large history keeps its sort order incrementally instead.
 */
export function sortByDimension(
  points: Float64Array,
  count: number,
  dimension: number,
  order: Int32Array,
  values: Float64Array,
  firstRow = 1,
): void {
  for (let j = 0; j < dimension; j++) {
    const base = j * count;
    for (let q = 0; q < count; q++) {
      const v = points[(q + firstRow) * dimension + j]!;
      let p = q;
      while (p > 0 && values[base + p - 1]! > v) {
        order[base + p] = order[base + p - 1]!;
        values[base + p] = values[base + p - 1]!;
        p--;
      }
      order[base + p] = q;
      values[base + p] = v;
    }
  }
}

/** 2^-32, to turn a 32-bit integer into a uniform in [0, 1). */
const UINT32_SCALE = 2 ** -32;

/**
 * Standard normal draws from a seeded {@link Prng}, two per accepted pair (Marsaglia's polar
 * method on 32-bit uniforms), about four times fewer generator steps than one `Prng.normal()`
 * per draw.
 *
 * @remarks
 * The spare draw of a pair is state outside the Prng: call {@link GaussianSource.reset} at the
 * start of every unit of work (TPE does so per `ask`), so results depend only on the Prng state
 * there and a saved Prng state is enough to resume exactly.
 */
export class GaussianSource {
  private spare = 0;
  private hasSpare = false;

  constructor(readonly random: Prng) {}

  /** Drops the spare draw. */
  reset(): void {
    this.hasSpare = false;
  }

  /** One standard normal draw. */
  next(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const random = this.random;
    let u: number;
    let v: number;
    let s: number;
    do {
      u = (random.nextUint32() + 0.5) * UINT32_SCALE * 2 - 1;
      v = (random.nextUint32() + 0.5) * UINT32_SCALE * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1);
    const factor = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * factor;
    this.hasSpare = true;
    return u * factor;
  }
}

/**
 * A weighted mixture of truncated product-Gaussian kernels on [0,1]^d; kernel 0 is the prior.
 *
 * @remarks
 * Usage: `prepare(n)` returns the means buffer (observation i's coordinates go to row i + 1), then
 * one of the fits computes bandwidths, truncation masses and per-kernel constants:
 * - {@link ParzenMixture.fitAdaptive}: gap-rule bandwidths per kernel and dimension, any weights
 *   (TPE's good set: a few dozen kernels, recomputed in full, O(k·d) logarithms);
 * - {@link ParzenMixture.fitFixed}: one bandwidth for every kernel and dimension, equal weights,
 *   over a chosen subset of the rows (TPE's bad set: up to thousands of kernels). A kernel's
 *   constant is cached until its row is reported changed with {@link ParzenMixture.markChanged}
 *   or the bandwidth changes, so a history that grows by a point costs O(d) logarithms plus O(n)
 *   additions per fit.
 *
 * After a fit, {@link ParzenMixture.logDensity} and {@link ParzenMixture.sample} may be called any
 * number of times. Kernels left out of a fit have weight 0 (log-constant −∞).
 */
export class ParzenMixture {
  readonly dimension: number;
  /** Kernel centres, row-major, row 0 = prior. */
  means: Float64Array;
  /** 1/σ per kernel and dimension, row-major. */
  inverseSigmas: Float64Array;
  /**
   * log(weight / Σ weights) − Σ_j log(σ_ij · mass_ij) − (d/2)·log 2π per kernel, where mass_ij is
   * the share of N(μ_ij, σ_ij²) inside [0, 1]; −∞ for a kernel left out of the last fit.
   */
  logConstants: Float64Array;
  /**
   * Cumulative normalised weights, for choosing a kernel when sampling; after `fitFixed`, filled
   * by the first `sample` (TPE never samples g, and filling them is a division per kernel).
   */
  private cumulativeWeights: Float64Array;
  /** Whether `cumulativeWeights` still waits for the prior's weight and total of the last fit. */
  private weightsPending = false;
  private pendingPrior = 0;
  private pendingTotal = 0;
  private kernels = 0;
  private capacity = 0;
  /** −Σ_j log(σ_ij · mass_ij) − (d/2)·log 2π per kernel, as cached by `fitFixed`. */
  private shapes: Float64Array;
  /** 1 where `shapes` (and the row's 1/σ) must be recomputed by the next `fitFixed`. */
  private stale: Uint8Array;
  /** The bandwidth `shapes` were computed for (NaN: none). */
  private fixedBandwidth = Number.NaN;
  /** 1/σ of every observed kernel after `fitFixed`; 0 after `fitAdaptive` (they differ). */
  private uniformInverse = 0;
  private survivors: Float64Array;
  private sigmas: Float64Array;

  constructor(dimension: number, capacity = 32) {
    this.dimension = dimension;
    this.means = new Float64Array(0);
    this.inverseSigmas = new Float64Array(0);
    this.logConstants = new Float64Array(0);
    this.cumulativeWeights = new Float64Array(0);
    this.shapes = new Float64Array(0);
    this.stale = new Uint8Array(0);
    this.survivors = new Float64Array(0);
    this.sigmas = new Float64Array(0);
    this.ensure(capacity);
  }

  /** Number of kernel rows, prior included (inactive ones too). */
  get size(): number {
    return this.kernels;
  }

  /**
   * Makes room for `observations` kernels plus the prior and returns the means buffer to fill:
   * observation i goes to `means[(i + 1)·d + j]`. Existing rows are kept; the buffer may be a new
   * array after a call.
   */
  prepare(observations: number): Float64Array {
    this.ensure(observations + 1);
    this.kernels = observations + 1;
    return this.means;
  }

  /** Reports that observations first … first + count − 1 were rewritten since the last fit. */
  markChanged(first: number, count: number): void {
    this.stale.fill(1, first + 1, first + 1 + count);
  }

  /**
   * Fits a mixture whose bandwidths follow the gap rule, kernel by kernel and dimension by
   * dimension, over the `active` observations listed in `order`.
   *
   * @param order - the active observations' indices sorted by coordinate (ties in a fixed order),
   *   dimension by dimension: `order[j·active + q]` (see {@link sortByDimension}).
   * @param values - the matching coordinates: `values[j·active + q]`.
   * @param active - how many observations take part; the rest get weight 0.
   * @param weights - weight of each observation by index, or null for 1 each.
   * @param priorWeight - the prior's weight, relative to the mean weight of the active observations.
   * @param floor - smallest bandwidth (in unit-cube units) a kernel may get.
   */
  fitAdaptive(
    order: Int32Array,
    values: Float64Array,
    active: number,
    weights: Float64Array | null,
    priorWeight: number,
    floor: number,
  ): void {
    const d = this.dimension;
    const inverse = this.inverseSigmas;
    const sigmas = this.sigmas;
    this.setPrior();
    for (let j = 0; j < d; j++) {
      const base = j * active;
      gapBandwidths(values, active, floor, sigmas, base);
      for (let q = 0; q < active; q++) inverse[(order[base + q]! + 1) * d + j] = 1 / sigmas[q]!;
    }
    this.fixedBandwidth = Number.NaN; // the shape cache no longer matches these rows
    this.uniformInverse = 0;
    let total = 0;
    for (let q = 0; q < active; q++) total += weights === null ? 1 : weights[order[q]!]!;
    const prior = active === 0 ? 1 : (priorWeight * total) / active;
    total += prior;
    const constants = this.logConstants;
    constants.fill(Number.NEGATIVE_INFINITY, 1, this.kernels);
    constants[0] = Math.log(prior / total) + this.priorShape();
    for (let q = 0; q < active; q++) {
      const kernel = order[q]! + 1;
      const weight = weights === null ? 1 : weights[kernel - 1]!;
      constants[kernel] = Math.log(weight / total) + rowShape(this.means, inverse, kernel * d, d);
    }
    this.weightsPending = false;
    this.accumulateWeights(prior, total, weights);
  }

  /**
   * Fits a mixture of the `count` observations listed in `members`, with equal weights and the
   * same bandwidth in every kernel and dimension.
   *
   * @param members - indices of the observations that take part (any order); the rest get weight 0.
   * @param bandwidth - σ of every observed kernel (the prior keeps σ = 1).
   * @param priorWeight - the prior's weight relative to one observation's.
   */
  fitFixed(members: Int32Array, count: number, bandwidth: number, priorWeight: number): void {
    const d = this.dimension;
    if (bandwidth !== this.fixedBandwidth) {
      this.stale.fill(1);
      this.fixedBandwidth = bandwidth;
    }
    this.setPrior();
    const inverse = 1 / bandwidth;
    this.uniformInverse = inverse;
    const prior = count === 0 ? 1 : priorWeight;
    const total = count + prior;
    const constants = this.logConstants;
    constants.fill(Number.NEGATIVE_INFINITY, 1, this.kernels);
    constants[0] = Math.log(prior / total) + this.priorShape();
    const share = -Math.log(total);
    const stale = this.stale;
    const shapes = this.shapes;
    for (let q = 0; q < count; q++) {
      const kernel = members[q]! + 1;
      if (stale[kernel] === 1) {
        this.inverseSigmas.fill(inverse, kernel * d, (kernel + 1) * d);
        shapes[kernel] = rowShape(this.means, this.inverseSigmas, kernel * d, d);
        stale[kernel] = 0;
      }
      constants[kernel] = share + shapes[kernel]!;
    }
    this.weightsPending = true;
    this.pendingPrior = prior;
    this.pendingTotal = total;
  }

  /**
   * log of the mixture density at `x` (a point of [0,1]^d, read from `x[offset]` on).
   *
   * @param cap - optional early exit: as soon as the kernels visited so far prove that the result
   *   exceeds `cap`, the evaluation stops and returns +∞ (TPE passes the log g a candidate would
   *   need to stay under to beat the best score so far). Default +∞: always the full value.
   *
   * @remarks
   * Kernels are visited newest row first and the prior last: in TPE the newest observations sit
   * where l(x) draws its candidates, so the largest terms come early, which makes both the pruning
   * and the early exit bite sooner. A kernel is abandoned as soon as its partial squared distance
   * shows it is more than 40 nats below the best kernel seen so far (checked after the first four
   * coordinates, which are summed without branching, then after each further one); that touches
   * only a few coordinates of distant kernels. The relative error this introduces is below
   * n·e^-40. With a finite `cap`, the evaluation stops once Σ e^(term − cap) over the surviving
   * terms exceeds 1 (the density is then certainly above e^cap), which the kernels never visited
   * repay many times over. That sum is not formed term by term: a single term above the cap ends
   * it at once, and a power-of-two bound per term ({@link boundExp}) proves the sum below 1 until
   * the bound nears 1; only then is the exact sum formed, in the same order, so the result is
   * always the one the exact running sum gives. No allocation. O(n·d) at most.
   */
  logDensity(x: ArrayLike<number>, offset = 0, cap = Number.POSITIVE_INFINITY): number {
    const d = this.dimension;
    const n = this.kernels;
    const means = this.means;
    const inverse = this.inverseSigmas;
    const constants = this.logConstants;
    const survivors = this.survivors;
    const uniform = this.uniformInverse;
    const wide = d >= 4;
    const x0 = x[offset]!;
    const x1 = d > 1 ? x[offset + 1]! : 0;
    const x2 = d > 2 ? x[offset + 2]! : 0;
    const x3 = d > 3 ? x[offset + 3]! : 0;
    const head = wide ? 4 : d;
    let kept = 0;
    let best = Number.NEGATIVE_INFINITY;
    const capped = cap < Number.POSITIVE_INFINITY;
    // While capped: `capBound` bounds Σ e^(term − cap) from above cheaply; once it nears 1, the
    // exact sum `capShare` takes over (see `boundExp`).
    let exact = false;
    let capBound = 0;
    let capShare = 0;
    for (let k = n - 1; k >= 0; k--) {
      const c = constants[k]!;
      // Kept while c − acc/2 ≥ best − PRUNE_GAP, i.e. while acc ≤ limit.
      const limit = 2 * (c - best + PRUNE_GAP);
      if (!(limit >= 0)) continue; // also skips inactive kernels (c = −∞)
      const row = k * d;
      let acc: number;
      let j = head;
      if (uniform !== 0 && k !== 0) {
        // g: every observed kernel has 1/σ = `uniform` (the same products as reading it).
        const z0 = (x0 - means[row]!) * uniform;
        acc = z0 * z0;
        if (d > 1) {
          const z1 = (x1 - means[row + 1]!) * uniform;
          acc += z1 * z1;
          if (d > 2) {
            const z2 = (x2 - means[row + 2]!) * uniform;
            acc += z2 * z2;
            if (wide) {
              const z3 = (x3 - means[row + 3]!) * uniform;
              acc += z3 * z3;
            }
          }
        }
        if (acc > limit) continue;
        // The sum only grows, so testing it every four coordinates drops the same kernels.
        for (; j + 4 <= d; j += 4) {
          const z0 = (x[offset + j]! - means[row + j]!) * uniform;
          const z1 = (x[offset + j + 1]! - means[row + j + 1]!) * uniform;
          const z2 = (x[offset + j + 2]! - means[row + j + 2]!) * uniform;
          const z3 = (x[offset + j + 3]! - means[row + j + 3]!) * uniform;
          acc += z0 * z0;
          acc += z1 * z1;
          acc += z2 * z2;
          acc += z3 * z3;
          if (acc > limit) break;
        }
        if (acc > limit) continue;
        for (; j < d; j++) {
          const z = (x[offset + j]! - means[row + j]!) * uniform;
          acc += z * z;
        }
      } else {
        const z0 = (x0 - means[row]!) * inverse[row]!;
        acc = z0 * z0;
        if (d > 1) {
          const z1 = (x1 - means[row + 1]!) * inverse[row + 1]!;
          acc += z1 * z1;
          if (d > 2) {
            const z2 = (x2 - means[row + 2]!) * inverse[row + 2]!;
            acc += z2 * z2;
            if (wide) {
              const z3 = (x3 - means[row + 3]!) * inverse[row + 3]!;
              acc += z3 * z3;
            }
          }
        }
        if (acc > limit) continue;
        for (; j + 4 <= d; j += 4) {
          const z0 = (x[offset + j]! - means[row + j]!) * inverse[row + j]!;
          const z1 = (x[offset + j + 1]! - means[row + j + 1]!) * inverse[row + j + 1]!;
          const z2 = (x[offset + j + 2]! - means[row + j + 2]!) * inverse[row + j + 2]!;
          const z3 = (x[offset + j + 3]! - means[row + j + 3]!) * inverse[row + j + 3]!;
          acc += z0 * z0;
          acc += z1 * z1;
          acc += z2 * z2;
          acc += z3 * z3;
          if (acc > limit) break;
        }
        if (acc > limit) continue;
        for (; j < d; j++) {
          const z = (x[offset + j]! - means[row + j]!) * inverse[row + j]!;
          acc += z * z;
        }
      }
      if (acc > limit) continue;
      const term = c - 0.5 * acc;
      survivors[kept++] = term;
      if (term > best) best = term;
      if (!capped) continue;
      if (exact) {
        capShare += Math.exp(term - cap);
        if (capShare > 1) return Number.POSITIVE_INFINITY;
        continue;
      }
      const above = term - cap;
      // e^above alone exceeds 1, so the exact running sum would too.
      if (above > 1e-15) return Number.POSITIVE_INFINITY;
      // boundExp(above), written out: the call is not inlined into this long loop.
      const e = Math.ceil(above * Math.LOG2E + 1e-9);
      capBound += e > -1075 ? POW2[(1 - e) | 0]! : Number.MIN_VALUE;
      if (capBound > 1 - 1e-6) {
        // The bound no longer proves the sum ≤ 1: redo it exactly, in the same order.
        exact = true;
        for (let q = 0; q < kept; q++) {
          capShare += Math.exp(survivors[q]! - cap);
          if (capShare > 1) return Number.POSITIVE_INFINITY;
        }
      }
    }
    if (kept === 0) return Number.NEGATIVE_INFINITY;
    let sum = 0;
    const cutoff = best - PRUNE_GAP;
    for (let q = 0; q < kept; q++) {
      const term = survivors[q]!;
      if (term > cutoff) sum += Math.exp(term - best);
    }
    return best + Math.log(sum);
  }

  /**
   * log of the prior kernel's weighted density at `x`: a cheap lower bound of
   * {@link ParzenMixture.logDensity}, exact when every other kernel is negligible there.
   */
  logPriorTerm(x: ArrayLike<number>, offset = 0): number {
    let acc = 0;
    for (let j = 0; j < this.dimension; j++) {
      const z = x[offset + j]! - 0.5;
      acc += z * z;
    }
    return this.logConstants[0]! - 0.5 * acc;
  }

  /**
   * Draws one point from the mixture into `out` (from `out[offset]` on): one uniform picks the
   * kernel, then each dimension in order draws from its truncated Gaussian by rejection.
   */
  sample(gaussian: GaussianSource, out: Float64Array | number[], offset = 0): void {
    const d = this.dimension;
    if (this.weightsPending) {
      this.weightsPending = false;
      this.accumulateWeights(this.pendingPrior, this.pendingTotal, null);
    }
    const cumulative = this.cumulativeWeights;
    const u = gaussian.random.next();
    let lo = 0;
    let hi = this.kernels - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    const row = lo * d;
    const means = this.means;
    const inverse = this.inverseSigmas;
    for (let j = 0; j < d; j++) {
      const mean = means[row + j]!;
      const sigma = 1 / inverse[row + j]!;
      let value = mean + sigma * gaussian.next();
      for (let tries = 1; (value < 0 || value > 1) && tries < MAX_REJECTIONS; tries++) {
        value = mean + sigma * gaussian.next();
      }
      out[offset + j] = value < 0 ? 0 : value > 1 ? 1 : value;
    }
  }

  private setPrior(): void {
    this.means.fill(0.5, 0, this.dimension);
    this.inverseSigmas.fill(1, 0, this.dimension);
  }

  private priorShape(): number {
    return rowShape(this.means, this.inverseSigmas, 0, this.dimension);
  }

  /** Cumulative weights for sampling; inactive kernels (constant −∞) add nothing. */
  private accumulateWeights(prior: number, total: number, weights: Float64Array | null): void {
    const constants = this.logConstants;
    const cumulative = this.cumulativeWeights;
    const n = this.kernels - 1;
    let running = prior / total;
    cumulative[0] = running;
    for (let k = 1; k <= n; k++) {
      if (constants[k] !== Number.NEGATIVE_INFINITY)
        running += (weights === null ? 1 : weights[k - 1]!) / total;
      cumulative[k] = running;
    }
    cumulative[n] = 1;
  }

  private ensure(kernels: number): void {
    if (kernels <= this.capacity) return;
    const cap = Math.max(kernels, this.capacity * 2, 8);
    const d = this.dimension;
    const keep = (from: Float64Array, size: number): Float64Array => {
      const next = new Float64Array(size);
      next.set(from);
      return next;
    };
    this.means = keep(this.means, cap * d);
    this.inverseSigmas = keep(this.inverseSigmas, cap * d);
    this.shapes = keep(this.shapes, cap);
    const stale = new Uint8Array(cap).fill(1);
    stale.set(this.stale);
    this.stale = stale;
    this.logConstants = new Float64Array(cap);
    this.cumulativeWeights = new Float64Array(cap);
    this.survivors = new Float64Array(cap);
    this.sigmas = new Float64Array(cap);
    this.capacity = cap;
  }
}

/**
 * −Σ_j log(σ_j · mass_j) − (d/2)·log 2π for the kernel whose centre and 1/σ start at `row`, where
 * mass_j = 1 − Q(μ_j/σ_j) − Q((1−μ_j)/σ_j) is the share of its Gaussian inside [0, 1]. Products
 * are formed first and logged once (with a guard against underflow), because a logarithm per
 * coordinate would dominate the cost of a fit.
 */
function rowShape(means: Float64Array, inverse: Float64Array, row: number, d: number): number {
  let product = 1;
  let logSum = 0;
  for (let j = 0; j < d; j++) {
    const mean = means[row + j]!;
    const inv = inverse[row + j]!;
    const lowTail = mean * inv;
    const highTail = (1 - mean) * inv;
    let mass = 1;
    if (lowTail < TAIL_LIMIT) mass -= upperTail(lowTail);
    if (highTail < TAIL_LIMIT) mass -= upperTail(highTail);
    product *= mass / inv;
    if (product < 1e-280) {
      logSum += Math.log(product);
      product = 1;
    }
  }
  return -(logSum + Math.log(product)) - d * LOG_SQRT_2PI;
}
