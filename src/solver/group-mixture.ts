import { boundExp, type GaussianSource, upperTail } from "./parzen.js";

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
/** A kernel this many nats below the best one so far adds less than e^-40 and is dropped. */
const PRUNE_GAP = 40;
/** Rejection sampling of a truncated Gaussian gives up after this many draws and clamps. */
const MAX_REJECTIONS = 64;
/** Upper tails beyond this many standard deviations are taken as 0 (see `upperTail`). */
const TAIL_LIMIT = 9;

/**
 * A Parzen mixture over one group of a mixed space's coordinates: each kernel is a product of a
 * truncated Gaussian per numeric coordinate (float or int, in the unit cube) and a categorical
 * distribution per categorical coordinate; kernel 0 is the prior (centre 0.5 and σ = 1, uniform
 * over the choices).
 *
 * @remarks
 * A categorical coordinate holds the index of a choice. An observed kernel puts weight
 * (1 + ε)/(1 + Lε) on its own choice and ε/(1 + Lε) on each of the other L − 1, with
 * ε = priorWeight / (observations + 1) — Optuna's smoothing of the TPE literature's per-choice
 * counts: summed over the good (or bad) kernels, each choice's mass is its count plus a prior
 * share. Choices thus compare by identity, never by position.
 *
 * Usage: `prepare(m)` sizes the buffers for m observations; the caller writes observation i's
 * coordinates to `means[(i + 1)·d + j]` and, for numeric coordinates, 1/σ to `inverse[…]`, then
 * calls {@link GroupMixture.finish} with the weights. Buffers are reused: no allocation once
 * large enough.
 */
export class GroupMixture {
  /** Kernel centres (choice indexes for categorical coordinates), row-major, row 0 = prior. */
  means = new Float64Array(0);
  /** 1/σ per kernel and numeric coordinate (unused for categorical ones). */
  inverse = new Float64Array(0);
  private constants = new Float64Array(0);
  private cumulative = new Float64Array(0);
  /** Whether `cumulative` waits for the first `sample` after an equal-weight fit. */
  private weightsPending = false;
  private pendingPrior = 0;
  private pendingTotal = 0;
  /** Scratch of `logDensity`: the terms kept so far while capped. */
  private kept = new Float64Array(0);
  private kernels = 0;
  private capacity = 0;
  /** See {@link GroupMixture.finish}'s `uniformInverse`. */
  private uniformInverse = 0;
  /** Log ratio of a kernel's own choice to another choice, per categorical coordinate. */
  private readonly bonus: Float64Array;
  /** Chance that an observed kernel samples its own choice outright (else a uniform choice). */
  private readonly keepOwn: Float64Array;
  /** Positions of the numeric coordinates (0…count−1: they come first). */
  private readonly numeric: Int32Array;

  /** `levels[j]` is 0 for a numeric coordinate, the number of choices for a categorical one. */
  constructor(readonly levels: Int32Array) {
    this.numeric = Int32Array.from(levels.keys()).filter((j) => levels[j] === 0);
    if (this.numeric.some((j, q) => j !== q)) {
      throw new RangeError("GroupMixture: numeric coordinates must come before categorical ones");
    }
    this.bonus = new Float64Array(levels.length);
    this.keepOwn = new Float64Array(levels.length);
  }

  /** Makes room for `observations` kernels plus the prior and returns the means buffer. */
  prepare(observations: number): Float64Array {
    const d = this.levels.length;
    const needed = observations + 1;
    if (needed > this.capacity) {
      const cap = Math.max(needed, this.capacity * 2, 16);
      this.means = new Float64Array(cap * d);
      this.inverse = new Float64Array(cap * d);
      this.constants = new Float64Array(cap);
      this.cumulative = new Float64Array(cap);
      this.kept = new Float64Array(cap);
      this.capacity = cap;
    }
    this.kernels = needed;
    return this.means;
  }

  /**
   * Computes the kernels' constants once means and numeric bandwidths are written.
   *
   * @param weights - weight of observation i at `weights[i]`, or null for 1 each.
   * @param priorWeight - the prior's weight relative to the mean weight of the observations.
   * @param shapes - observation i's kernel shape at `shapes[i]`, as {@link GroupMixture.fixedShape}
   *   computed it for the bandwidths written; null to compute them here.
   * @param uniformInverse - the 1/σ every observed kernel has in every numeric coordinate, when
   *   they all share one (TPE's g); 0 when they differ. Densities then skip reading `inverse`.
   * @param choiceFloor - each observed kernel's choice distribution is mixed with the uniform one
   *   at this weight (in [0, 1)), on top of the prior's smoothing; 0 leaves the smoothing alone.
   */
  finish(
    weights: Float64Array | null,
    priorWeight: number,
    shapes: Float64Array | null = null,
    uniformInverse = 0,
    choiceFloor = 0,
  ): void {
    this.uniformInverse = uniformInverse;
    const levels = this.levels;
    const d = levels.length;
    const m = this.kernels - 1;
    let total = 0;
    for (let i = 0; i < m; i++) total += weights === null ? 1 : weights[i]!;
    const prior = m === 0 ? 1 : (priorWeight * total) / m;
    total += prior;
    const epsilon = priorWeight / (m + 1);
    let priorConstant = Math.log(prior / total);
    let missing = 0; // Σ log(ε / (1 + Lε)) over categorical coordinates
    for (let j = 0; j < d; j++) {
      const L = levels[j]!;
      if (L === 0) {
        this.means[j] = 0.5;
        this.inverse[j] = 1;
        priorConstant += numericShape(0.5, 1);
      } else {
        // Mixing (1 + ε, ε, …)/(1 + Lε) with the uniform distribution keeps that form, with a
        // larger ε: the one whose own-to-other ratio is the mixture's.
        const e =
          choiceFloor === 0
            ? epsilon
            : 1 /
              (((1 - choiceFloor) * (1 + epsilon) + (choiceFloor * (1 + L * epsilon)) / L) /
                ((1 - choiceFloor) * epsilon + (choiceFloor * (1 + L * epsilon)) / L) -
                1);
        priorConstant -= Math.log(L);
        missing += Math.log(e / (1 + L * e));
        this.bonus[j] = Math.log((1 + e) / e);
        this.keepOwn[j] = 1 / (1 + L * e);
      }
    }
    this.constants[0] = priorConstant;
    const equalShare = Math.log(1 / total) + missing;
    for (let k = 1; k <= m; k++) {
      const w = weights === null ? 1 : weights[k - 1]!;
      let c = weights === null ? equalShare : Math.log(w / total) + missing;
      if (shapes !== null) c += shapes[k - 1]!;
      else
        for (let q = 0; q < this.numeric.length; q++) {
          const j = this.numeric[q]!;
          c += numericShape(this.means[k * d + j]!, this.inverse[k * d + j]!);
        }
      this.constants[k] = c;
    }
    this.pendingPrior = prior;
    this.pendingTotal = total;
    // Equal weights (TPE's g, never sampled) wait for the first `sample`: a division per kernel.
    this.weightsPending = weights === null;
    if (weights !== null) this.accumulate(weights);
  }

  /** Cumulative normalised weights of the last fit, for choosing a kernel when sampling. */
  private accumulate(weights: Float64Array | null): void {
    const m = this.kernels - 1;
    const total = this.pendingTotal;
    let running = this.pendingPrior / total;
    this.cumulative[0] = running;
    for (let k = 1; k <= m; k++) {
      running += (weights === null ? 1 : weights[k - 1]!) / total;
      this.cumulative[k] = running;
    }
    this.cumulative[m] = 1;
  }

  /**
   * Σ over the numeric coordinates of a kernel centred at `row[offset…]` (model form), all with
   * 1/σ = `inverse`, of −log(σ · mass) − ½ log 2π: the part of its constant that depends on its
   * centre, which a caller with fixed bandwidths can keep from one fit to the next.
   */
  fixedShape(row: Float64Array, offset: number, inverse: number): number {
    let sum = 0;
    for (let q = 0; q < this.numeric.length; q++)
      sum += numericShape(row[offset + this.numeric[q]!]!, inverse);
    return sum;
  }

  /**
   * log density at `x` (coordinates from `x[offset]` on). With a finite `cap`, returns +∞ as soon
   * as the kernels seen prove the result exceeds `cap` (TPE's early exit for g).
   */
  logDensity(x: Float64Array, offset = 0, cap = Number.POSITIVE_INFINITY): number {
    const d = this.levels.length;
    const nn = this.numeric.length;
    const means = this.means;
    const inverse = this.inverse;
    const constants = this.constants;
    const bonus = this.bonus;
    let best = Number.NEGATIVE_INFINITY;
    let sum = 0; // Σ e^(term − best) over kept terms
    const capped = cap < Number.POSITIVE_INFINITY;
    // While capped: `capBound` bounds Σ e^(term − cap) from above without an exponential per
    // term; once it nears 1, the exact sum `capShare` takes over (as in ParzenMixture).
    const kept = this.kept;
    let count = 0;
    let exact = false;
    let capBound = 0;
    let capShare = 0;
    const uniform = this.uniformInverse;
    const uniform2 = uniform * uniform;
    const head = nn >= 4 ? 4 : 0;
    const x0 = head === 4 ? x[offset]! : 0;
    const x1 = head === 4 ? x[offset + 1]! : 0;
    const x2 = head === 4 ? x[offset + 2]! : 0;
    const x3 = head === 4 ? x[offset + 3]! : 0;
    for (let k = this.kernels - 1; k >= 0; k--) {
      const row = k * d;
      let term = constants[k]!;
      if (k > 0) {
        for (let j = nn; j < d; j++) if (x[offset + j] === means[row + j]) term += bonus[j]!;
      }
      // Kept while term − acc/2 ≥ best − PRUNE_GAP, i.e. while acc ≤ limit.
      const limit = 2 * (term - best + PRUNE_GAP);
      if (!(limit >= 0)) continue;
      let acc = 0;
      let j = 0;
      if (uniform !== 0 && k > 0) {
        // One bandwidth for all: sum raw squared differences and scale once; the first
        // coordinates without a test each, as most far kernels fail on them. The sum only
        // grows, so a test every four coordinates drops the same kernels as one per term.
        const raw = limit / uniform2;
        if (head === 4) {
          const z0 = x0 - means[row]!;
          const z1 = x1 - means[row + 1]!;
          const z2 = x2 - means[row + 2]!;
          const z3 = x3 - means[row + 3]!;
          acc = z0 * z0 + z1 * z1 + z2 * z2 + z3 * z3;
          if (acc > raw) continue;
          j = 4;
        }
        for (; j + 4 <= nn; j += 4) {
          const z0 = x[offset + j]! - means[row + j]!;
          const z1 = x[offset + j + 1]! - means[row + j + 1]!;
          const z2 = x[offset + j + 2]! - means[row + j + 2]!;
          const z3 = x[offset + j + 3]! - means[row + j + 3]!;
          acc += z0 * z0;
          acc += z1 * z1;
          acc += z2 * z2;
          acc += z3 * z3;
          if (acc > raw) break;
        }
        if (acc > raw) continue;
        for (; j < nn; j++) {
          const z = x[offset + j]! - means[row + j]!;
          acc += z * z;
        }
        if (acc > raw) continue;
        acc *= uniform2;
      } else {
        for (; j + 4 <= nn; j += 4) {
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
        for (; j < nn; j++) {
          const z = (x[offset + j]! - means[row + j]!) * inverse[row + j]!;
          acc += z * z;
        }
        if (acc > limit) continue;
      }
      term -= 0.5 * acc;
      if (term > best) {
        sum = sum * Math.exp(best - term) + 1;
        best = term;
      } else {
        sum += Math.exp(term - best);
      }
      if (!capped) continue;
      kept[count++] = term;
      if (exact) {
        capShare += Math.exp(term - cap);
        if (capShare > 1) return Number.POSITIVE_INFINITY;
        continue;
      }
      const above = term - cap;
      if (above > 1e-15) return Number.POSITIVE_INFINITY; // e^above alone exceeds 1
      capBound += boundExp(above);
      if (capBound > 1 - 1e-6) {
        // The bound no longer proves the sum ≤ 1: redo it exactly, in the same order.
        exact = true;
        for (let q = 0; q < count; q++) {
          capShare += Math.exp(kept[q]! - cap);
          if (capShare > 1) return Number.POSITIVE_INFINITY;
        }
      }
    }
    return best + Math.log(sum);
  }

  /**
   * log of the prior kernel's weighted density at `x`: a lower bound of
   * {@link GroupMixture.logDensity} that costs one pass over the numeric coordinates.
   */
  logPriorTerm(x: Float64Array, offset = 0): number {
    let acc = 0;
    for (let q = 0; q < this.numeric.length; q++) {
      const z = x[offset + this.numeric[q]!]! - 0.5;
      acc += z * z;
    }
    return this.constants[0]! - 0.5 * acc;
  }

  /** Draws one point into `out` from `offset` on: a kernel, then each coordinate in order. */
  sample(gaussian: GaussianSource, out: Float64Array, offset = 0): void {
    const levels = this.levels;
    const d = levels.length;
    if (this.weightsPending) {
      this.weightsPending = false;
      this.accumulate(null);
    }
    const random = gaussian.random;
    const cumulative = this.cumulative;
    const means = this.means;
    const inverse = this.inverse;
    const keepOwn = this.keepOwn;
    const u = random.next();
    let lo = 0;
    let hi = this.kernels - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    const row = lo * d;
    for (let j = 0; j < d; j++) {
      const L = levels[j]!;
      if (L !== 0) {
        const own = lo > 0 && random.next() < keepOwn[j]!;
        out[offset + j] = own ? means[row + j]! : Math.min(L - 1, Math.floor(random.next() * L));
        continue;
      }
      const mean = means[row + j]!;
      const sigma = 1 / inverse[row + j]!;
      let value = mean + sigma * gaussian.next();
      for (let tries = 1; (value < 0 || value > 1) && tries < MAX_REJECTIONS; tries++) {
        value = mean + sigma * gaussian.next();
      }
      out[offset + j] = value < 0 ? 0 : value > 1 ? 1 : value;
    }
  }
}

/** −log(σ · mass) − ½ log 2π of a Gaussian N(mean, σ²) truncated to [0, 1]. */
function numericShape(mean: number, inv: number): number {
  const low = mean * inv;
  const high = (1 - mean) * inv;
  let mass = 1;
  if (low < TAIL_LIMIT) mass -= upperTail(low);
  if (high < TAIL_LIMIT) mass -= upperTail(high);
  return -Math.log(mass / inv) - LOG_SQRT_2PI;
}
