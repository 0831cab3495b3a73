import { medianInPlace } from "./robust-moments.js";

/**
 * Automatic choice of the SPSA step gain `a` ("auto").
 *
 * @remarks
 * Users should not need to know their objective's scale: a step gain that suits an objective
 * measured in seconds is a thousand times too large for the same objective in milliseconds. With
 * b_i the unit-cube move budget of parameter i (its maxDelta in unit units; nominal, before
 * conservative mode's factor), h_i its perturbation half-width and F = (A + 1)^α (so that the
 * first gain a_0 = a / F), two rules give a gain:
 *
 * 1. Signal rule (from the calibration iterations; meanwhile the core already steps, at its
 *    start-up gain bounded by {@link StepGainCalibration.budgetGain} once a curvature is measured,
 *    else with {@link StepGainCalibration.provisionalGain}, the rule on the samples so far, ramped):
 *    a_signal = fraction · (A + k + 1)^α / median(|ĝ_i| / b_i) over every calibration iteration
 *    and parameter, with k the iteration at which the gain is first used (the steps taken while
 *    calibrating advance k), so that the first step with it takes about `fraction` (default ½) of
 *    the budget for a typical gradient estimate. The median makes one outlier harmless.
 * 2. Noise rule ({@link noiseRuleGain}): a_noise = jitter · F / median_i(σ̂ / (√2·h_i·b_i)), with
 *    σ̂ the measurement noise estimated from second differences ({@link NoiseModel}). The noise in
 *    ĝ_i is σ̂/(√2·h_i), so under a_noise the gradient noise alone moves a parameter by about
 *    `jitter` of its budget (RMS) per iteration. That is what keeps a noisy objective from
 *    shaking the live point, and it stays right when the objective is far from its optimum,
 *    where |ĝ| measures the distance, not the noise.
 *
 * The core uses a = min(a_signal, a_noise) (a_signal alone while the noise is unknown, e.g.
 * when the engine gives no centre measurements). Both rules scale with the objective:
 * multiplying it by any factor multiplies ĝ and σ̂ by that factor and `a` by its inverse, so the
 * steps do not depend on the units.
 *
 * A zero signal median (a flat objective so far) calibrates nothing: the samples are discarded
 * and calibration starts over; with no usable sample the core holds its centre. Allocation-free after
 * construction.
 */
export class StepGainCalibration {
  /** Iterations measured before `a` is set. */
  readonly iterations: number;
  private readonly ratios: Float64Array;
  private readonly scratch: Float64Array;
  private ratioCount = 0;
  private taken = 0;

  /**
   * @param size - number of parameters
   * @param iterations - calibration iterations (≥ 1)
   */
  constructor(size: number, iterations: number) {
    this.iterations = iterations;
    this.ratios = new Float64Array(Math.max(1, size * iterations));
    this.scratch = new Float64Array(this.ratios.length);
  }

  /** Iterations recorded since the last reset. */
  get recorded(): number {
    return this.taken;
  }

  /** True once enough iterations have been recorded. */
  get complete(): boolean {
    return this.taken >= this.iterations;
  }

  /** Forgets every sample. */
  reset(): void {
    this.ratioCount = 0;
    this.taken = 0;
  }

  /**
   * Records one iteration: for each parameter with a positive budget, |gradient_i| / b_i with b_i
   * the nominal budget, budget_i / scale (frozen parameters and non-finite estimates are skipped).
   *
   * @param budget - the budgets the iteration ran with
   * @param scale - the factor those budgets carry (conservative mode's 0.5, else 1): the ratios
   *   are taken at the nominal budget, so a gain calibrated in conservative mode is the nominal
   *   one and the mode's factor on the step applies once (at the step), not a second time here
   */
  record(gradient: Float64Array, budget: Float64Array, scale = 1): void {
    if (this.taken >= this.iterations) return;
    const n = gradient.length;
    for (let i = 0; i < n; i++) {
      const b = budget[i]!;
      const g = gradient[i]!;
      if (!(b > 0) || !Number.isFinite(g)) continue;
      this.ratios[this.ratioCount++] = (Math.abs(g) * scale) / b;
    }
    this.taken++;
  }

  /** Median of the recorded |ĝ_i| / b_i, or NaN when there are none. */
  medianRatio(): number {
    for (let i = 0; i < this.ratioCount; i++) this.scratch[i] = this.ratios[i]!;
    return medianInPlace(this.scratch, this.ratioCount);
  }

  /**
   * The signal-rule gain, or NaN when it cannot be computed (too few iterations, or a zero
   * median).
   *
   * @param fraction - share of the budget the first step with the gain takes (e.g. 0.5)
   * @param stability - the stability constant A
   * @param alpha - the step-gain decay exponent α
   * @param k - the iteration index of the first step taken with the gain: the steps taken while
   *   calibrating advance k, so with α > 0 the gain is first used at a_k = a / (A + k + 1)^α, not
   *   at a_0 (default 0)
   */
  signalGain(fraction: number, stability: number, alpha: number, k = 0): number {
    if (!this.complete) return Number.NaN;
    const median = this.medianRatio();
    if (!(median > 0) || !Number.isFinite(median)) return Number.NaN;
    return (fraction * gainFactorAt(stability, alpha, k)) / median;
  }

  /**
   * The signal-rule gain from the iterations recorded so far, scaled by their share of the
   * calibration (recorded / iterations), so that the first steps, taken while the scale is still
   * being learnt, are short. NaN when nothing usable is recorded yet.
   */
  provisionalGain(fraction: number, stability: number, alpha: number): number {
    if (this.taken === 0) return Number.NaN;
    const median = this.medianRatio();
    if (!(median > 0) || !Number.isFinite(median)) return Number.NaN;
    const share = Math.min(1, this.taken / this.iterations);
    return (share * fraction * firstGainFactor(stability, alpha)) / median;
  }

  /**
   * The gain at which a typical estimate so far (the median |ĝ_i| / b_i) would move the whole
   * budget: the most a start-up step needs. NaN when nothing usable is recorded yet.
   */
  budgetGain(stability: number, alpha: number): number {
    if (this.taken === 0) return Number.NaN;
    const median = this.medianRatio();
    if (!(median > 0) || !Number.isFinite(median)) return Number.NaN;
    return firstGainFactor(stability, alpha) / median;
  }

  /** The samples, for persistence. */
  toJSON(): CalibrationState {
    return { taken: this.taken, ratios: Array.from(this.ratios.subarray(0, this.ratioCount)) };
  }

  /** Restores samples saved with {@link StepGainCalibration.toJSON}. */
  restore(state: CalibrationState): void {
    this.ratioCount = Math.min(state.ratios.length, this.ratios.length);
    for (let i = 0; i < this.ratioCount; i++) this.ratios[i] = state.ratios[i]!;
    this.taken = Math.min(state.taken, this.iterations);
  }
}

/** Saved calibration samples. */
export interface CalibrationState {
  readonly taken: number;
  readonly ratios: readonly number[];
}

/** F = (A + 1)^α: the base gain a that makes a_0 = a / F. */
export function firstGainFactor(stability: number, alpha: number): number {
  return alpha === 0 ? 1 : (stability + 1) ** alpha;
}

/** F = (A + k + 1)^α: the factor that makes a_k = a / F (k = 0 gives {@link firstGainFactor}). */
export function gainFactorAt(stability: number, alpha: number, k: number): number {
  return alpha === 0 ? 1 : (stability + k + 1) ** alpha;
}

/**
 * The noise-rule gain a_noise = jitter · F / median_i(σ̂ / (√2·h_i·b_i)) over the parameters with
 * a positive budget and half-width; NaN when σ̂ is not positive or no parameter qualifies.
 * Allocation-free (`scratch` holds at least as many values as there are parameters).
 */
export function noiseRuleGain(
  jitter: number,
  stability: number,
  alpha: number,
  noiseSd: number,
  halfWidth: Float64Array,
  budget: Float64Array,
  scratch: Float64Array,
): number {
  if (!(noiseSd > 0) || !Number.isFinite(noiseSd)) return Number.NaN;
  let m = 0;
  for (let i = 0; i < budget.length; i++) {
    const hb = halfWidth[i]! * budget[i]!;
    if (hb > 0) scratch[m++] = noiseSd / (Math.SQRT2 * hb);
  }
  const median = medianInPlace(scratch, m);
  return median > 0 ? (jitter * firstGainFactor(stability, alpha)) / median : Number.NaN;
}

/**
 * The curvature-rule gain a_curv = contraction · F / ((p + 1) · H̄), or NaN when the statistics
 * cannot say (no positive mean curvature, no parameter with a half-width).
 *
 * @remarks
 * With Δ ∈ {±1}^p and half-widths h_i, a second difference D has mean Σ h_i²·H_ii (the cross
 * terms cancel on average), so H̄ = mean(D / Σ h_i²) is the mean curvature along the parameters
 * (unit cube; `NoiseModel.meanCurvature`). Each SPSA component ĝ_i = Σ_j g_j·Δ_j/Δ_i carries the other components' gradient as
 * noise, so on a quadratic the mean-square error of the centre changes per iteration by about
 * (1 − a·H̄)² + p·(a·H̄)²: it contracts only while a·H̄·(p + 1) < 2, and oscillates (the centre's
 * reversals trip the thrashing detector) well before. The signal rule sets `a` from the starting
 * distance, not the curvature, so it can land anywhere with respect to that limit; this rule caps
 * it at `contraction` of the limit's scale. It is scale-free like the others: multiplying the
 * objective by k multiplies H̄ by k and a_curv by 1/k. Allocation-free.
 *
 * @param contraction - the largest a·H̄·(p + 1) allowed (e.g. 0.5)
 * @param curvature - H̄, the mean curvature along the parameters (unit cube)
 * @param halfWidth - the half-widths in use (the parameters with one count in p)
 */
export function curvatureRuleGain(
  contraction: number,
  stability: number,
  alpha: number,
  curvature: number,
  halfWidth: Float64Array,
): number {
  if (!(curvature > 0) || !Number.isFinite(curvature)) return Number.NaN;
  let p = 0;
  for (let i = 0; i < halfWidth.length; i++) if (halfWidth[i]! > 0) p++;
  if (p === 0) return Number.NaN;
  return (contraction * firstGainFactor(stability, alpha)) / ((p + 1) * curvature);
}

/**
 * The drift-rule gain a_drift = multiple · ∛(2·(2 − κ)·Σv_i² / (Σ_i σ_g,i² · H̄)), or NaN when
 * the statistics cannot say (no noise estimate, no positive curvature, no parameter with a
 * half-width). Constant gains only (the engine applies it with α = 0).
 *
 * @remarks
 * A constant gain trades two losses when the optimum moves. With v_i the centre's velocity (the
 * optimum's, while it is tracked; unit cube per step), H̄ the mean curvature and σ_g,i² =
 * σ̂² / (2·h_i²) the variance of a gradient component's measurement noise, the centre lags a
 * steady drift by v_i / (a·H̄) (a loss of Σv_i² / (2a²·H̄) per step), and the gradient noise
 * shakes it with variance a·σ_g,i² / (H̄·(2 − κ)) per parameter, where κ = a·H̄·(p + 1) (see
 * {@link curvatureRuleGain}; a loss of Σσ_g,i²·a / (2·(2 − κ))). The first falls with a, the
 * second grows; their sum is least at a³ = 2·(2 − κ)·Σv_i² / (Σσ_g,i²·H̄). κ is taken at the
 * curvature rule's `contraction`, the largest the gain may reach. `multiple` (above 1) leans
 * towards the faster gain: the velocity estimate lags a drift that speeds up, and a lag that
 * builds reads to SafeMode like a regression. Half-widths are taken at their nominal size
 * (`scale` is conservative mode's factor on them), as the noise rule does. Allocation-free.
 *
 * @param multiple - the cap's multiple of the balancing gain (e.g. 2)
 * @param contraction - κ, the curvature rule's largest a·H̄·(p + 1)
 * @param velocity - the centre's velocity per parameter (unit cube per step)
 * @param noiseSd - σ̂
 * @param curvature - H̄ (unit cube)
 * @param halfWidth - the half-widths in use (the parameters with one count)
 * @param scale - conservative mode's factor on the half-widths (1 in normal mode)
 */
export function driftRuleGain(
  multiple: number,
  contraction: number,
  velocity: Float64Array,
  noiseSd: number,
  curvature: number,
  halfWidth: Float64Array,
  scale: number,
): number {
  if (!(noiseSd > 0) || !Number.isFinite(noiseSd)) return Number.NaN;
  if (!(curvature > 0) || !Number.isFinite(curvature)) return Number.NaN;
  let drift = 0;
  let noise = 0;
  for (let i = 0; i < halfWidth.length; i++) {
    const h = halfWidth[i]! / scale;
    if (!(h > 0)) continue;
    drift += velocity[i]! * velocity[i]!;
    noise += (noiseSd * noiseSd) / (2 * h * h);
  }
  if (!(noise > 0)) return Number.NaN;
  const kappa = Math.min(contraction, 2);
  return multiple * Math.cbrt((2 * (2 - kappa) * drift) / (noise * curvature));
}
