import { shownValue } from "../../shown-value.js";
import { CONSTANT_EXPONENTS, DECAYING_EXPONENTS } from "./gains.js";

/** How the SPSA gains evolve over iterations. */
export type GainSchedule = "constant" | "decaying";

/**
 * SPSA options as a user may give them (all optional; a field set to `undefined` gets its default,
 * exactly as an absent one). Gains are in unit-cube units.
 */
export interface SpsaOptions {
  /** Base step gain, or "auto" to calibrate it from the first gradient estimates (default "auto"). */
  readonly a?: number | "auto" | undefined;
  /** Base perturbation half-width in unit-cube units (default {@link SPSA_DEFAULTS}.c). */
  readonly c?: number | undefined;
  /** Stability constant A of a_k = a / (A + k + 1)^α (default {@link SPSA_DEFAULTS}.A). */
  readonly A?: number | undefined;
  /** "constant" (α = γ = 0, tracks drift; the default) or "decaying" (α 0.602, γ 0.101). */
  readonly schedule?: GainSchedule | undefined;
  /** Step-gain decay exponent; overrides the schedule's. */
  readonly alpha?: number | undefined;
  /** Perturbation decay exponent; overrides the schedule's. */
  readonly gamma?: number | undefined;
  /**
   * Gradient estimates after which an "auto" `a` is set; meanwhile the centre already steps, at the
   * curvature-bounded start-up gain once a curvature is measured (constant gains with the curvature
   * rule on), else with the signal rule on the estimates so far, ramped by their share of this count.
   */
  readonly calibrationIterations?: number | undefined;
  /** "auto" signal rule: share of each parameter's move budget that the first step takes. */
  readonly autoStepFraction?: number | undefined;
  /** "auto" noise rule: RMS share of the move budget that gradient noise alone may move the centre per iteration. */
  readonly autoJitter?: number | undefined;
  /**
   * "auto" curvature rule: largest a·H̄·(p + 1), with H̄ the mean curvature measured from the
   * second differences and p the parameters tuned. SPSA's estimate of one component carries the
   * other p − 1 components' gradient as noise, so the mean-square error contracts only while
   * a·H̄·(p + 1) < 2; this share of that limit keeps the centre from overshooting and thrashing
   * whatever the starting distance (see {@link curvatureRuleGain}). 0 turns the rule off. H̄ is
   * corrected for a drift of the objective across the three windows of an iteration once the
   * drift shows clearly (see `NoiseModel.driftPerWindow`), so a slowly rising cost does not read
   * as a steep bowl that freezes the tuner.
   */
  readonly autoContraction?: number | undefined;
  /**
   * "auto" drift rule: once the centre's velocity is measured (see {@link driftRuleGain}), cap
   * `a` at this multiple of the gain that balances the lag behind that drift against the jitter
   * the gradient noise causes. A drift slow against the noise (a slow ramp, a still optimum)
   * wants a lower gain than the curvature rule's; a fast one leaves the cap above it. Constant
   * gains only; 0 turns the rule off.
   */
  readonly autoDrift?: number | undefined;
  /**
   * "auto" start-up: while `a` is calibrated, an engine with more parameters p than this scales its
   * steps by √(autoStartupKnobs / p). SPSA moves every parameter by the same amount and only about
   * 1/√p of such a step points down the gradient; before the scale is known, the rest is a random
   * walk that grows with √p, and with dozens of parameters it took knobs a third of their range
   * the wrong way and back within the first minute (the change budget then froze the engine).
   * Default 4: engines of up to 4 parameters start as before.
   */
  readonly autoStartupKnobs?: number | undefined;
  /**
   * Gradient smoothing β ∈ [0, 1): the step follows m ← β·m + (1 − β)·ĝ instead of ĝ (0 turns it
   * off). It filters the iteration-to-iteration jitter of the estimate (fewer direction reversals
   * of the live point) and, with a time constant 1/(1 − β) well below the tracking time constant,
   * costs no tracking accuracy.
   */
  readonly smoothing?: number | undefined;
  /**
   * Adapt the perturbation half-width c online (default true) towards the width that balances the
   * probing cost against the gradient noise it buys down ({@link balancedHalfWidth}), within
   * [c/4, 4c]; needs the centre measurements ({@link SpsaCore.recordCentre}).
   */
  readonly adaptC?: boolean | undefined;
}

/** Every SPSA option with a value. */
export interface ResolvedSpsaOptions {
  readonly a: number | "auto";
  readonly c: number;
  readonly A: number;
  readonly alpha: number;
  readonly gamma: number;
  readonly calibrationIterations: number;
  readonly autoStepFraction: number;
  readonly autoJitter: number;
  readonly autoContraction: number;
  readonly autoDrift: number;
  readonly autoStartupKnobs: number;
  readonly smoothing: number;
  readonly adaptC: boolean;
}

/** Defaults applied by {@link resolveSpsaOptions}. */
export const SPSA_DEFAULTS = Object.freeze({
  a: "auto" as const,
  c: 0.02,
  A: 10,
  schedule: "constant" as GainSchedule,
  calibrationIterations: 16,
  autoStepFraction: 0.5,
  autoJitter: 0.085,
  autoContraction: 0.8,
  autoDrift: 2,
  autoStartupKnobs: 4,
  smoothing: 0.7,
  adaptC: true,
});

/**
 * Fills in defaults and validates. Throws a RangeError naming every bad field (cold path; the
 * engine's config schema should report the same problems as a ConfigError first).
 */
export function resolveSpsaOptions(options: SpsaOptions = {}): ResolvedSpsaOptions {
  const schedule = options.schedule ?? SPSA_DEFAULTS.schedule;
  const exponents = schedule === "decaying" ? DECAYING_EXPONENTS : CONSTANT_EXPONENTS;
  const resolved: ResolvedSpsaOptions = {
    a: options.a ?? SPSA_DEFAULTS.a,
    c: options.c ?? SPSA_DEFAULTS.c,
    A: options.A ?? SPSA_DEFAULTS.A,
    alpha: options.alpha ?? exponents.alpha,
    gamma: options.gamma ?? exponents.gamma,
    calibrationIterations: options.calibrationIterations ?? SPSA_DEFAULTS.calibrationIterations,
    autoStepFraction: options.autoStepFraction ?? SPSA_DEFAULTS.autoStepFraction,
    autoJitter: options.autoJitter ?? SPSA_DEFAULTS.autoJitter,
    autoContraction: options.autoContraction ?? SPSA_DEFAULTS.autoContraction,
    autoDrift: options.autoDrift ?? SPSA_DEFAULTS.autoDrift,
    autoStartupKnobs: options.autoStartupKnobs ?? SPSA_DEFAULTS.autoStartupKnobs,
    smoothing: options.smoothing ?? SPSA_DEFAULTS.smoothing,
    adaptC: options.adaptC ?? SPSA_DEFAULTS.adaptC,
  };
  const problems = spsaOptionProblems(resolved);
  if (schedule !== "constant" && schedule !== "decaying") problems.unshift(`schedule: unknown "${schedule}"`);
  if (problems.length > 0) throw new RangeError(`invalid SPSA options: ${problems.join("; ")}`);
  return resolved;
}

/**
 * Most calibration iterations: the estimates are held per parameter and iteration until the gain is
 * set (16 bytes each), and each iteration takes at least three windows, so more would be hours of
 * calibration in any real loop and only a way to reserve memory by mistake.
 */
export const MAX_CALIBRATION_ITERATIONS = 10_000;

/** Every problem with a resolved option set, as "field: reason" strings (empty when valid). */
export function spsaOptionProblems(o: ResolvedSpsaOptions): string[] {
  const problems: string[] = [];
  // Each problem names the value it refused, as the config's other checks do.
  const refuse = (field: keyof ResolvedSpsaOptions, rule: string) =>
    problems.push(`${field}: ${rule}, got ${shownValue(o[field])}`);
  if (o.a !== "auto" && !(typeof o.a === "number" && Number.isFinite(o.a) && o.a > 0)) {
    refuse("a", 'must be "auto" or a finite number > 0');
  }
  if (!(Number.isFinite(o.c) && o.c > 0 && o.c <= 0.5)) refuse("c", "must be in (0, 0.5]");
  if (!(Number.isFinite(o.A) && o.A >= 0)) refuse("A", "must be a finite number ≥ 0");
  if (!(Number.isFinite(o.alpha) && o.alpha >= 0)) refuse("alpha", "must be a finite number ≥ 0");
  if (!(Number.isFinite(o.gamma) && o.gamma >= 0)) refuse("gamma", "must be a finite number ≥ 0");
  if (
    !(
      Number.isInteger(o.calibrationIterations) &&
      o.calibrationIterations >= 1 &&
      o.calibrationIterations <= MAX_CALIBRATION_ITERATIONS
    )
  ) {
    refuse("calibrationIterations", `must be an integer from 1 to ${MAX_CALIBRATION_ITERATIONS}`);
  }
  if (!(Number.isFinite(o.autoStepFraction) && o.autoStepFraction > 0 && o.autoStepFraction <= 1)) {
    refuse("autoStepFraction", "must be in (0, 1]");
  }
  if (!(Number.isFinite(o.autoJitter) && o.autoJitter > 0 && o.autoJitter <= 1)) {
    refuse("autoJitter", "must be in (0, 1]");
  }
  if (!(Number.isFinite(o.autoContraction) && o.autoContraction >= 0 && o.autoContraction <= 2)) {
    refuse("autoContraction", "must be in [0, 2] (0 turns the curvature rule off)");
  }
  if (!(Number.isFinite(o.autoDrift) && o.autoDrift >= 0)) {
    refuse("autoDrift", "must be a finite number ≥ 0 (0 turns the drift rule off)");
  }
  if (!(Number.isInteger(o.autoStartupKnobs) && o.autoStartupKnobs >= 1 && o.autoStartupKnobs <= 1_000_000)) {
    refuse("autoStartupKnobs", "must be a whole number from 1 to 1000000");
  }
  if (!(Number.isFinite(o.smoothing) && o.smoothing >= 0 && o.smoothing < 1)) {
    refuse("smoothing", "must be in [0, 1)");
  }
  if (typeof o.adaptC !== "boolean") refuse("adaptC", "must be a boolean");
  return problems;
}
