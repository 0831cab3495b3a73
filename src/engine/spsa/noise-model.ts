import { Float64Block } from "../../runtime/float64-block.js";
import { withinStatisticRange } from "../statistic-range.js";
import { clippedMoments } from "./robust-moments.js";

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
 * The curvature the gain rule reads is corrected for a drift across the three windows once
 * y⁺ − y⁻ shows one clearly ({@link NoiseModel.driftPerWindow}); σ̂ needs no correction (a steady
 * drift shifts D's mean, not its spread).
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
  /** Mean of 1 / Σh² over the same samples (turns a drift in D into one in D / Σh²). */
  private meanInvW = 0;
  /** Mean and variance of y⁺ − y⁻, whose mean is minus the drift per window (see {@link driftPerWindow}). */
  private meanE = 0;
  private varE = 0;
  private e = 0;
  /** One buffer for the model's five arrays (see Float64Block). */
  private readonly block = new Float64Block(4 * ROBUST_AFTER + 2);
  /**
   * The first {@link ROBUST_AFTER} second differences and their Σh² (0: none), kept until the Huber
   * clip can take over (see {@link reestimateFirst}); `kept` of them are held.
   */
  private readonly firstD = this.block.take(ROBUST_AFTER);
  private readonly firstW = this.block.take(ROBUST_AFTER);
  private kept = 0;
  /** Whether the D or the curvature statistics were re-estimated from the first samples. */
  private reestimatedD = false;
  private reestimatedQ = false;
  private readonly curvatureSamples = this.block.take(ROBUST_AFTER);
  private readonly scratch = this.block.take(ROBUST_AFTER);
  private readonly moments = this.block.take(2);

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
    if (this.q === 0) return Number.NaN;
    return this.meanQ - DRIFT_WINDOWS * this.driftPerWindow * this.meanInvW;
  }

  /**
   * The objective's drift per window, when the perturbation differences show one clearly, else 0.
   *
   * @remarks
   * y⁰, y⁺ and y⁻ are measured one window apart in that order, so a steady drift of r per window
   * adds 3r to D (a rising objective reads as a steeper bowl, and the curvature rule would cut
   * the gain while the cost climbs) and −r to y⁺ − y⁻, whose gradient part averages out over the
   * random signs of Δ. That gradient part is large far from the optimum, so the estimate counts
   * only once its mean stands {@link DRIFT_Z} standard errors clear of zero: a correction made of
   * noise would be worse than none.
   */
  get driftPerWindow(): number {
    if (this.e < DRIFT_MIN_SAMPLES) return 0;
    const n = Math.min(this.e, DRIFT_HORIZON);
    const standardError = Math.sqrt((this.varE * this.e) / (this.e - 1) / n);
    return Math.abs(this.meanE) > DRIFT_Z * standardError ? -this.meanE : 0;
  }

  /** Estimated noise standard deviation σ̂ = sd(D)/√6; NaN before two samples. */
  get noiseSd(): number {
    return this.n < 2 ? Number.NaN : Math.sqrt((this.varD * this.n) / (this.n - 1) / 6);
  }

  /**
   * Adds one second difference D (ignored when not finite, or beyond the range the statistics can
   * hold: its square would overflow the variance for the whole horizon). Once {@link ROBUST_AFTER} samples are
   * in and they spread at all, a deviation from the mean counts at most {@link HUBER_K} standard deviations (Huber
   * clipping), so one outlier (a heavy-tailed measurement, or a regime shift between the centre
   * and the perturbed windows) moves the statistics by a bounded amount instead of cutting the
   * noise-rule gain for the whole horizon.
   */
  add(d: number, widthSquares = Number.NaN, difference = Number.NaN): void {
    if (!withinStatisticRange(d)) return;
    if (withinStatisticRange(difference)) {
      const we = this.e < DRIFT_HORIZON ? 1 / (this.e + 1) : 1 / DRIFT_HORIZON;
      const ee = difference - this.meanE;
      this.meanE += we * ee;
      this.varE = (1 - we) * (this.varE + we * ee * ee);
      this.e++;
    }
    const w = this.n < NOISE_HORIZON ? 1 / (this.n + 1) : 1 / NOISE_HORIZON;
    let e = d - this.meanD;
    // With no spread yet (a flat objective repeats one D exactly) the limit would be 0 and every
    // later deviation would be clipped to nothing: the statistics would never move again.
    if (this.n >= ROBUST_AFTER && this.varD > 0) {
      const limit = HUBER_K * Math.sqrt(this.varD);
      if (e > limit) e = limit;
      else if (e < -limit) e = -limit;
    }
    if (widthSquares > 0) {
      // The curvature sample gets its own statistics (D moves with the widths; D / Σh² does not),
      // Huber-clipped the same way.
      const wq = this.q < NOISE_HORIZON ? 1 / (this.q + 1) : 1 / NOISE_HORIZON;
      let eq = d / widthSquares - this.meanQ;
      if (this.q >= ROBUST_AFTER && this.varQ > 0) {
        const limit = HUBER_K * Math.sqrt(this.varQ);
        if (eq > limit) eq = limit;
        else if (eq < -limit) eq = -limit;
      }
      this.meanQ += wq * eq;
      this.meanInvW += wq * (1 / widthSquares - this.meanInvW);
      this.varQ = (1 - wq) * (this.varQ + wq * eq * eq);
      this.q++;
    }
    this.meanD += w * e;
    this.varD = (1 - w) * (this.varD + w * e * e);
    this.n++;
    if (this.kept === this.n - 1 && this.kept < ROBUST_AFTER) {
      this.firstD[this.kept] = d;
      this.firstW[this.kept] = widthSquares > 0 ? widthSquares : 0;
      this.kept++;
      this.reestimateFirst();
    }
  }

  /**
   * Until the Huber clip starts ({@link ROBUST_AFTER} samples), its spread is not known, and one
   * early outlier would set the statistics for hundreds of iterations: a probe that lands past a
   * cliff (a pool too small to keep up times out, thousands of times the bowl's curvature) reads
   * as a huge curvature and a huge noise, and both gain rules then cut `a` by orders of magnitude
   * while every later estimate points the same way. So the first samples are judged by their
   * median and MAD instead, which one outlier in four cannot move: from
   * {@link EARLY_ROBUST_FROM} samples, a sample more than {@link EARLY_CLIP_K} MAD-scaled
   * deviations from their median is clipped there, and the statistics are those of the clipped
   * samples. Nothing changes while nothing is clipped (the statistics stay the running ones).
   */
  private reestimateFirst(): void {
    const n = this.kept;
    if (n < EARLY_ROBUST_FROM) return;
    const moments = this.moments;
    if (clippedMoments(this.firstD, n, EARLY_CLIP_K, this.scratch, moments) || this.reestimatedD) {
      this.reestimatedD = true;
      this.meanD = moments[0]!;
      this.varD = moments[1]!;
    }
    // The curvature samples D / Σh², over the samples that had their widths.
    let m = 0;
    for (let i = 0; i < n; i++) if (this.firstW[i]! > 0) m++;
    if (m < EARLY_ROBUST_FROM || m !== this.q) return;
    const values = this.curvatureSamples;
    m = 0;
    for (let i = 0; i < n; i++) if (this.firstW[i]! > 0) values[m++] = this.firstD[i]! / this.firstW[i]!;
    if (clippedMoments(values, m, EARLY_CLIP_K, this.scratch, moments) || this.reestimatedQ) {
      this.reestimatedQ = true;
      this.meanQ = moments[0]!;
      this.varQ = moments[1]!;
    }
  }

  /** Forgets everything. */
  reset(): void {
    this.meanD = 0;
    this.varD = 0;
    this.n = 0;
    this.meanQ = 0;
    this.varQ = 0;
    this.q = 0;
    this.meanInvW = 0;
    this.meanE = 0;
    this.varE = 0;
    this.e = 0;
    this.kept = 0;
    this.reestimatedD = false;
    this.reestimatedQ = false;
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
      meanInverseWidthSquares: this.meanInvW,
      differenceMean: this.meanE,
      differenceVariance: this.varE,
      differenceSamples: this.e,
      // Only while the first samples may still be re-estimated (see reestimateFirst).
      ...(this.kept > 0 && this.n < ROBUST_AFTER && this.kept === this.n
        ? {
            first: {
              differences: Array.from(this.firstD.subarray(0, this.kept)),
              widthSquares: Array.from(this.firstW.subarray(0, this.kept)),
              reestimated: [this.reestimatedD, this.reestimatedQ] as const,
            },
          }
        : {}),
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
    this.meanInvW = state.meanInverseWidthSquares ?? 0;
    this.meanE = state.differenceMean ?? 0;
    this.varE = state.differenceVariance ?? 0;
    this.e = state.differenceSamples ?? 0;
    // A state saved without its first samples (before they were kept, or past them) re-estimates
    // nothing: the samples that would be judged are not there.
    const first = state.first;
    const whole =
      first !== undefined &&
      first.differences.length === this.n &&
      first.widthSquares.length === this.n &&
      this.n < ROBUST_AFTER;
    this.kept = whole ? this.n : this.n === 0 ? 0 : ROBUST_AFTER;
    this.reestimatedD = whole && first.reestimated[0];
    this.reestimatedQ = whole && first.reestimated[1];
    if (whole) {
      this.firstD.set(first.differences);
      this.firstW.set(first.widthSquares);
    }
  }
}

/**
 * Windows of drift in a second difference: y⁰, y⁺ and y⁻ come one window apart in that order, so a
 * drift of r per window adds r + 2r − 0 to D.
 */
export const DRIFT_WINDOWS = 3;

/** Horizon (iterations) of the drift estimate: short enough to follow a drift that changes. */
export const DRIFT_HORIZON = 100;

/** Standard errors by which the drift estimate must clear zero before it corrects the curvature. */
export const DRIFT_Z = 3;

/**
 * Differences y⁺ − y⁻ before the drift estimate may count. Its standard error is itself estimated
 * from the samples, and from a handful it is too uncertain for a 3-SE test: at the start, far from
 * the optimum, four large gradient terms of one sign read as a drift, and the correction inflated
 * H̄ forty-fold, which stalled the first steps (B5's ramp plants).
 */
export const DRIFT_MIN_SAMPLES = 20;

/** Samples after which deviations are Huber-clipped (before, the spread is not known well enough). */
export const ROBUST_AFTER = 8;

/** Huber clipping threshold, in standard deviations of D. */
export const HUBER_K = 3;

/**
 * Samples from which the first ones are judged by their median and MAD (see
 * `NoiseModel.reestimateFirst`): of three, one outlier can still hold the MAD up.
 */
export const EARLY_ROBUST_FROM = 4;

/**
 * How far from the first samples' median, in MAD-scaled standard deviations, a sample is clipped.
 * Wide, as a MAD of four to eight samples is itself uncertain: for normal noise a clip this far
 * happens at a given count in about 4 % of runs at four samples and 1 % at eight (at one count or
 * another in about 8 % of runs), and then moves the mean little; a probe past a cliff lies hundreds
 * of deviations out.
 */
export const EARLY_CLIP_K = 8;

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
  /** Drift statistics (absent in states saved before they existed): see {@link NoiseModel.driftPerWindow}. */
  readonly meanInverseWidthSquares?: number;
  readonly differenceMean?: number;
  readonly differenceVariance?: number;
  readonly differenceSamples?: number;
  /** The first samples, while they may still be re-estimated (absent before any, and past them). */
  readonly first?: {
    readonly differences: readonly number[];
    readonly widthSquares: readonly number[];
    /** Whether the D and the curvature statistics were re-estimated from them. */
    readonly reestimated: readonly [boolean, boolean];
  };
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
