/**
 * SPSA gain sequences (Spall): the step gain a_k and the perturbation half-width c_k.
 *
 * @remarks
 * All gains are in unit-cube units (every parameter mapped onto [0, 1], log parameters in log
 * space). With the exponents of {@link DECAYING_EXPONENTS} the sequences satisfy the classical
 * convergence conditions for a fixed objective; with {@link CONSTANT_EXPONENTS} (α = γ = 0) both
 * gains stay constant, which is what tracks a drifting objective (the step never vanishes).
 * Pure arithmetic, allocation-free.
 */

/** The exponents of a gain schedule. */
export interface GainExponents {
  /** Decay exponent of the step gain a_k. */
  readonly alpha: number;
  /** Decay exponent of the perturbation half-width c_k. */
  readonly gamma: number;
}

/**
 * Spall's practical exponents: the smallest values meeting the convergence conditions, which keep
 * steps large for as long as possible.
 */
export const DECAYING_EXPONENTS: GainExponents = Object.freeze({ alpha: 0.602, gamma: 0.101 });

/** Constant gains (α = γ = 0): a_k = a and c_k = c for every k; the mode for tracking drift. */
export const CONSTANT_EXPONENTS: GainExponents = Object.freeze({ alpha: 0, gamma: 0 });

/**
 * Step gain at iteration k: a_k = a / (A + k + 1)^α.
 *
 * @param a - base step gain (unit-cube units per unit of gradient)
 * @param stability - the stability constant A (≥ 0), which damps the first iterations
 * @param alpha - decay exponent α
 * @param k - iteration index, from 0
 */
export function stepGain(a: number, stability: number, alpha: number, k: number): number {
  return alpha === 0 ? a : a / (stability + k + 1) ** alpha;
}

/**
 * Perturbation half-width at iteration k: c_k = c / (k + 1)^γ.
 *
 * @param c - base half-width in unit-cube units
 * @param gamma - decay exponent γ
 * @param k - iteration index, from 0
 */
export function perturbationGain(c: number, gamma: number, k: number): number {
  return gamma === 0 ? c : c / (k + 1) ** gamma;
}
