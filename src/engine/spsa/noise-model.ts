import { withinStatisticRange } from "../statistic-range.js";

/**
 * What the centre measurement tells SPSA: the measurement noise and the price of perturbing.
 *
 * @remarks
 * The engine measures three points per iteration: θ + cΔ, θ − cΔ and (after the step) the new
 * centre. With y⁰ measured at the centre that the next perturbations are taken around, the second
 * difference D = y⁺ + y⁻ − 2y⁰ cancels the gradient exactly on a quadratic:
 *
 * - its mean is c²·ΔᵀHΔ (H the Hessian), twice the extra loss of one perturbed window over the
 *   centre, so mean(D)/2 is the probing cost per perturbed window;
 * - its variance is 6σ² for independent noise of standard deviation σ, so σ̂ = sd(D)/√6,
 *   whatever the gradient is doing (a far-off optimum does not inflate it, unlike |ĝ|).
 *
 * Both are tracked as exponentially weighted mean and variance with horizon {@link NOISE_HORIZON}
 * samples; before that many samples the weights are 1/n, i.e. the plain running mean and
 * variance. Allocation-free.
 */
export class NoiseModel {
  private meanD = 0;
  private varD = 0;
  private n = 0;
  /** Mean and variance of D / Σh² (the curvature along the parameters), over the samples that gave Σh². */
  private meanQ = 0;
  private varQ = 0;
  private q = 0;

  /** Second differences seen. */
  get samples(): number {
    return this.n;
  }

  /** Mean of D (twice the probing cost of a perturbed window); NaN before any sample. */
  get meanSecondDifference(): number {
    return this.n === 0 ? Number.NaN : this.meanD;
  }

  /**
   * Mean curvature H̄ = mean(D / Σh²) along the parameters (unit cube); NaN before any sample
   * with its half-widths. Each sample is divided by the widths it was measured at, so a
   * half-width that adapts over the horizon does not bias it (mean(D) / Σh² would: a D measured
   * at twice today's width counts four times too much).
   */
  get meanCurvature(): number {
    return this.q === 0 ? Number.NaN : this.meanQ;
  }

  /** Estimated noise standard deviation σ̂ = sd(D)/√6; NaN before two samples. */
  get noiseSd(): number {
    return this.n < 2 ? Number.NaN : Math.sqrt((this.varD * this.n) / (this.n - 1) / 6);
  }

  /**
   * Adds one second difference D (ignored when not finite, or beyond the range the statistics can
   * hold: its square would overflow the variance for the whole horizon). Once {@link ROBUST_AFTER} samples are
   * in, a deviation from the mean counts at most {@link HUBER_K} standard deviations (Huber
   * clipping), so one outlier (a heavy-tailed measurement, or a regime shift between the centre
   * and the perturbed windows) moves the statistics by a bounded amount instead of cutting the
   * noise-rule gain for the whole horizon.
   */
  add(d: number, widthSquares = Number.NaN): void {
    if (!withinStatisticRange(d)) return;
    const w = this.n < NOISE_HORIZON ? 1 / (this.n + 1) : 1 / NOISE_HORIZON;
    let e = d - this.meanD;
    if (this.n >= ROBUST_AFTER) {
      const limit = HUBER_K * Math.sqrt(this.varD);
      if (e > limit) e = limit;
      else if (e < -limit) e = -limit;
    }
    if (widthSquares > 0) {
      // The curvature sample gets its own statistics (D moves with the widths; D / Σh² does not),
      // Huber-clipped the same way.
      const wq = this.q < NOISE_HORIZON ? 1 / (this.q + 1) : 1 / NOISE_HORIZON;
      let eq = d / widthSquares - this.meanQ;
      if (this.q >= ROBUST_AFTER) {
        const limit = HUBER_K * Math.sqrt(this.varQ);
        if (eq > limit) eq = limit;
        else if (eq < -limit) eq = -limit;
      }
      this.meanQ += wq * eq;
      this.varQ = (1 - wq) * (this.varQ + wq * eq * eq);
      this.q++;
    }
    this.meanD += w * e;
    this.varD = (1 - w) * (this.varD + w * e * e);
    this.n++;
  }

  /** Forgets everything. */
  reset(): void {
    this.meanD = 0;
    this.varD = 0;
    this.n = 0;
    this.meanQ = 0;
    this.varQ = 0;
    this.q = 0;
  }

  /** The statistics, for persistence. */
  toJSON(): NoiseModelState {
    return {
      mean: this.meanD,
      variance: this.varD,
      samples: this.n,
      curvature: this.meanQ,
      curvatureVariance: this.varQ,
      curvatureSamples: this.q,
    };
  }

  /** Restores statistics saved with {@link NoiseModel.toJSON}. */
  restore(state: NoiseModelState): void {
    this.meanD = state.mean;
    this.varD = state.variance;
    this.n = state.samples;
    this.meanQ = state.curvature ?? 0;
    this.varQ = state.curvatureVariance ?? 0;
    this.q = state.curvatureSamples ?? 0;
  }
}

/** Samples after which deviations are Huber-clipped (before, the spread is not known well enough). */
export const ROBUST_AFTER = 8;

/** Huber clipping threshold, in standard deviations of D. */
export const HUBER_K = 3;

/** Fewest second differences from which the calibration uses the noise rule. */
export const MIN_NOISE_SAMPLES = 4;

/**
 * Horizon (in iterations) of the exponentially weighted noise statistics.
 *
 * @remarks
 * The statistics steer the gains (a ∝ 1/σ̂ through the noise rule, c ∝ mean(D)^(−1/4) through
 * {@link balancedHalfWidth}, and a ∝ c again), so their estimation error becomes gain jitter.
 * mean(D) is the weak one: its standard error is sd(D)/√(2·horizon), and sd(D) = √6·σ is several
 * times mean(D) when the noise is high (about 8× on DRIFT-Q4 at σ = 2: ±40 % at a horizon of
 * 200, ±20 % at 800). A sudden change of the objective between the centre window and the
 * perturbed windows (a regime shift) also enters D once as a large value, and its effect on both
 * statistics scales with 1/horizon; at 200 it cut `a` by about 14 % just when the shift needed it.
 * The price of a longer horizon is a slower response to a real change of the noise level
 * (about 2 400 windows to follow a step in σ instead of 600).
 */
export const NOISE_HORIZON = 800;

/** Saved {@link NoiseModel} statistics. */
export interface NoiseModelState {
  readonly mean: number;
  readonly variance: number;
  readonly samples: number;
  /** Mean curvature sample (absent in states saved before it existed). */
  readonly curvature?: number;
  readonly curvatureVariance?: number;
  readonly curvatureSamples?: number;
}

/**
 * The perturbation half-width that balances the two costs of measuring a gradient, for the
 * current step gain, or NaN when the statistics cannot say.
 *
 * @remarks
 * Two losses depend on the half-width h (unit cube), per window of a plus → minus → centre cycle:
 * the probing cost, ⅔ · mean(D)/2 · (h'/h)² (two of three windows are perturbed, and mean(D) was
 * measured at h), and the noise the gradient estimate feeds into the centre, which for a
 * quadratic under constant gain a is about p · a · σ̂² / (8·h'²) whatever the curvature (an
 * Ornstein–Uhlenbeck stationary spread: variance a·σ_g²/(2·curvature) times curvature/2, with
 * σ_g² = σ̂²/(2h'²)). One grows as h'², the other falls as 1/h'², so their sum is smallest
 * where they are equal: h'⁴ = 3·p·a·σ̂²·h² / (8·mean(D)).
 *
 * @param parameters - p, the parameters being tuned (frozen ones excluded)
 * @param stepGain - the current a_k (unit cube)
 * @param noiseSd - σ̂
 * @param meanSecondDifference - mean(D), measured at half-width `halfWidth`
 * @param halfWidth - the half-width mean(D) was measured at
 */
export function balancedHalfWidth(
  parameters: number,
  stepGain: number,
  noiseSd: number,
  meanSecondDifference: number,
  halfWidth: number,
): number {
  if (!(noiseSd > 0) || !(stepGain > 0) || !(halfWidth > 0) || !(parameters > 0)) return Number.NaN;
  // A flat or concave probe (mean D ≤ 0) makes perturbing free: ask for the widest allowed.
  if (!(meanSecondDifference > 0)) return Number.POSITIVE_INFINITY;
  const h4 =
    (3 * parameters * stepGain * noiseSd * noiseSd * halfWidth * halfWidth) / (8 * meanSecondDifference);
  return Math.sqrt(Math.sqrt(h4));
}
