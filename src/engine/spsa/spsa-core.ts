import { Prng } from "../../random/prng.js";
import { Float64Block } from "../../runtime/float64-block.js";
import type { ParamRegistry } from "../../space/param-registry.js";
import { withinStatisticRange } from "../statistic-range.js";
import {
  type CalibrationState,
  curvatureRuleGain,
  driftRuleGain,
  noiseRuleGain,
  StepGainCalibration,
} from "./calibration.js";
import { perturbationGain, stepGain } from "./gains.js";
import { balancedHalfWidth, MIN_NOISE_SAMPLES, NoiseModel, type NoiseModelState } from "./noise-model.js";
import type { ResolvedSpsaOptions } from "./options.js";
import { StepLimits } from "./step-limits.js";

/** Results of {@link SpsaCore.commit}. */
export const CommitResult = Object.freeze({
  /** The centre moved by −a_k·ĝ (limited per parameter) and k advanced. */
  Stepped: 0,
  /**
   * An "auto" gain is still being calibrated and nothing usable is recorded yet (a flat objective
   * so far): the gradient was recorded, the centre held, k kept. Once a sample is usable,
   * calibration steps with a provisional gain and commits return Stepped.
   */
  Calibrating: 1,
  /** No iteration in progress, or y⁺ / y⁻ missing: nothing changed. */
  NotReady: -1,
} as const);

/**
 * Fraction of each parameter's room (move budget − c) a feasibility step moves it, against the
 * sign of the margin's gradient estimate (see {@link SpsaCore.setFeasibilityOnly}).
 */
export const FEASIBILITY_STEP_FRACTION = 0.25;

/** A value of {@link CommitResult}. */
export type CommitResultCode = (typeof CommitResult)[keyof typeof CommitResult];

/** Serialised {@link SpsaCore} state (JSON-safe: NaN is stored as null). */
export interface SpsaCoreState {
  readonly v: 1;
  readonly size: number;
  readonly k: number;
  readonly estimates: number;
  readonly a: number | null;
  readonly aSignal: number | null;
  readonly cScale: number;
  readonly inIteration: boolean;
  readonly centre: readonly number[];
  readonly delta: readonly number[];
  readonly halfWidth: readonly number[];
  readonly budget: readonly number[];
  readonly plus: readonly number[];
  readonly minus: readonly number[];
  readonly gradient: readonly number[];
  readonly step: readonly number[];
  readonly yPlus: number | null;
  readonly yMinus: number | null;
  readonly ak: number | null;
  readonly ck: number | null;
  readonly clampedPerturbations: number;
  readonly clampedPerturbationsTotal: number;
  readonly clippedSteps: number;
  readonly clippedStepsTotal: number;
  readonly smoothed: readonly number[];
  readonly yCentre: number | null;
  readonly yCentreIteration: number | null;
  readonly prng: readonly number[];
  /** Drift-rule state (absent in states saved before it existed): see {@link SpsaCore.velocity}. */
  readonly velocity?: readonly number[];
  readonly velocitySteps?: number;
  readonly undrifted?: number | null;
  /** Whether the centre is travelling after a shift (absent in states saved before it existed). */
  readonly travelling?: boolean;
  /**
   * Whether the gradient smoothing has started (its first value is the estimate itself). Absent
   * in states saved before it was saved: then taken as k > 0, which misses a smoothing re-started
   * by {@link SpsaCore.reopenGain}.
   */
  readonly smoothingStarted?: boolean;
  /** SafeMode's scale on c, a and the budget (absent in older states: 1). */
  readonly gainScale?: number;
  /** Whether commits only seek feasibility (absent in older states: false). */
  readonly feasibilityOnly?: boolean;
  /** Scale on gradient steps learnt at a constraint's boundary (absent in older states: 1). */
  readonly boundaryScale?: number;
  /** Gradient steps since that scale last changed (absent in older states: 0). */
  readonly boundaryCalm?: number;
  /**
   * Warm start (absent in older states: none): its target (unit cube), whether one is in
   * progress, whether arriving re-opens the gain, and whether the iteration in progress is its
   * travel (which a cancelled warm start's iteration still completes).
   */
  readonly warmTarget?: readonly number[];
  readonly warmActive?: boolean;
  readonly warmFresh?: boolean;
  readonly warmTravel?: boolean;
  readonly calibration: CalibrationState;
  readonly noise: NoiseModelState;
}

/**
 * Smallest scale on the gradient steps that meeting a constraint's boundary leaves (1/64: six
 * crossings): the centre still creeps towards an optimum past the boundary, by less than the
 * feasibility steps take back.
 */
export const MIN_BOUNDARY_SCALE = 1 / 64;

/**
 * Gradient steps without a turn to feasibility after which the boundary scale doubles back (up to
 * 1): at an optimum past a boundary the perturbations graze it far more often than this, while a
 * constraint met once (a load spike) must not shorten every later step for good.
 */
export const BOUNDARY_RECOVERY_STEPS = 50;

/** Second differences needed before the noise estimate steers `a` and c continuously. */
export const NOISE_WARMUP = 50;

/**
 * The curvature rule's contraction during calibration, as a multiple of `autoContraction`. Far
 * from the optimum the gradient, not SPSA's cross-term noise, dominates the estimate, so the
 * start-up can step harder than the steady state (chosen on B5's development half).
 */
export const STARTUP_CONTRACTION_FACTOR = 1.5;

/** a·H̄·(p + 1) beyond which SPSA's mean-square error grows (see {@link curvatureRuleGain}). */
const CURVATURE_LIMIT = 2;

/**
 * Gradient smoothing β while calibrating (when the option's is larger): the centre moves far in
 * few iterations, and the default 0.7 made the first steps lag and overshoot (B5, development half).
 */
export const STARTUP_SMOOTHING = 0.3;

/**
 * Horizon (steps) of the centre's velocity estimate that the drift rule reads, and the steps it
 * waits for before it counts: long enough that the gradient noise's jitter averages out of the
 * mean step (the jitter's share of the estimate falls as 1/horizon), short enough to follow a
 * drift that changes speed (a sinusoid's quarter period on B5 is hundreds of steps).
 */
export const DRIFT_RULE_HORIZON = 100;

/**
 * The least share of the other rules' cap the drift rule may leave: a velocity measured while the
 * optimum stands still is mostly the gradient noise's jitter averaged down, and its cube root
 * would cut the gain without bound, so the next shift would be followed at a crawl until the
 * detector re-opens the gain. Half the cap is as far as B5's slow ramps (d9) needed.
 */
export const DRIFT_RULE_FLOOR = 0.5;

/**
 * Gradient smoothing β after a shift re-opened the gain, until the noise model has re-learnt
 * ({@link NOISE_WARMUP} second differences; when the option's is larger). The centre then heads
 * for a new optimum along large, changing gradients, like the start-up: the default 0.7 lagged,
 * overshot and, with 16 or more knobs, swung some knobs back and forth often enough to trip the
 * thrashing detector (0.4 to 0.6 did better alike on B5's development plants and on recurring
 * plants of 12 to 32 knobs on other seeds; 0.3, the start-up's, swung more).
 */
export const SHIFT_SMOOTHING = 0.5;

/** Largest relative change of the adaptive perturbation scale per iteration (as a log ratio). */
export const PERTURBATION_ADAPT_RATE = 0.01;

/**
 * The SPSA numerics of the online engine, over preallocated typed arrays, in unit-cube
 * coordinates (registry order).
 *
 * One iteration: {@link beginIteration} draws Δ ∈ {±1}^d and the half-widths; the engine applies
 * {@link plusTarget} = Π(θ + cΔ), measures y⁺ ({@link recordPlus}), applies {@link minusTarget} =
 * Π(θ − cΔ), measures y⁻ ({@link recordMinus}), and {@link commit} computes
 * ĝ_i = (y⁺ − y⁻) / (u⁺_i − u⁻_i) with the ACTUAL separation after projection onto [0, 1], steps
 * θ ← Π(θ − a_k·ĝ) and writes the new centre for the engine to apply. Proposals are target
 * points, never deltas: the minus point is θ − cΔ, not the point the system started from.
 *
 * @remarks
 * Move accounting. Every apply moves the live point and each must stay within the parameter's
 * maxDelta: centre → plus moves c, plus → minus 2c, minus → new centre up to c + step, and the new
 * centre → next plus c again. With b_i the unit-cube budget of parameter i at the centre
 * ({@link StepLimits}), the core uses the half-width c_i = min(c_k, b_i / 2) (a clamp is counted
 * in {@link clampedPerturbations}) and limits the step to |step_i| ≤ b_i − c_i (a clip is counted
 * in {@link clippedSteps}). The limit is symmetric on purpose: a limit that depended on the side
 * of the minus point would correlate with Δ and bias the step. Perturbations of different widths
 * keep ĝ unbiased because each component divides by its own separation. So every move of an
 * iteration, including a restart from the plus or minus point after {@link abandon}, stays
 * within maxDelta and a correct engine never triggers the executor's DeltaTooLarge.
 *
 * Performance: after construction no method allocates except {@link toJSON}; Δ is drawn in
 * index order from the given {@link Prng}, so the same seed and the same measurements give the
 * same proposals.
 */
export class SpsaCore {
  /** Number of parameters. */
  readonly size: number;
  /** The options in force. */
  readonly options: ResolvedSpsaOptions;
  /** Current centre θ in unit-cube coordinates (read it; change it only through {@link setCentre}). */
  readonly centre: Float64Array;
  /** The current perturbation signs Δ_i ∈ {−1, +1}. */
  readonly delta: Int8Array;
  /** Per-parameter half-width c_i actually used in the current iteration (unit cube). */
  readonly halfWidth: Float64Array;
  /** Per-parameter unit-cube move budget at the centre for the current iteration. */
  readonly budget: Float64Array;
  /** The last gradient estimate ĝ (unit-cube units). */
  readonly gradient: Float64Array;
  /** The last step applied to the centre (unit cube), after limiting; zeros while calibrating. */
  readonly step: Float64Array;
  /** The smoothed gradient m the steps follow (equal to ĝ when smoothing is 0). */
  readonly smoothed: Float64Array;

  private readonly plus: Float64Array;
  private readonly minus: Float64Array;
  private readonly limits: StepLimits;
  private readonly calibration: StepGainCalibration;
  /** Factor on the steps taken while calibrating (see `SpsaOptions.autoStartupKnobs`). */
  private readonly startupScale: number;
  private readonly noise = new NoiseModel();
  private readonly scratch: Float64Array;
  private prng: Prng;
  private k = 0;
  private estimatesTaken = 0;
  private baseA: number;
  /** Signal-rule gain from calibration (NaN when not "auto" or not calibrated yet). */
  private aSignal = Number.NaN;
  /** Base perturbation half-width c (adapted when options.adaptC). */
  private cScale: number;
  private inIteration = false;
  private yp = Number.NaN;
  private ym = Number.NaN;
  /** Objective measured at the current centre (NaN when none since the centre last moved). */
  private y0 = Number.NaN;
  /** y⁰ that the current iteration's perturbations are taken around (NaN when none). */
  private y0Iteration = Number.NaN;
  private smoothingStarted = false;
  /** SafeMode's scale on c, a and the move budget: 1, or 0.5 in conservative mode. */
  private gainScale = 1;
  /** Whether steps only seek feasibility (see {@link setFeasibilityOnly}). */
  private feasibilityOnly = false;
  /**
   * Scale on the gradient steps, halved each time the cycle turns to feasibility (see
   * {@link setFeasibilityOnly}): 1 until a constraint is met.
   */
  private boundaryScale = 1;
  /** Gradient steps since the boundary scale last changed (see {@link BOUNDARY_RECOVERY_STEPS}). */
  private boundaryCalm = 0;
  private lastA = Number.NaN;
  /** Whether the last Stepped commit was a feasibility step (see {@link steppedForFeasibility}). */
  private feasibilityStepped = false;
  private lastC = Number.NaN;
  private clampedNow = 0;
  private clampedTotal = 0;
  private clippedNow = 0;
  private clippedTotal = 0;
  /** Where a warm start leads (unit cube) and whether one is in progress. */
  private readonly warmTarget: Float64Array;
  private warmActive = false;
  /** Whether arriving re-opens the gain (see {@link warmStart}). */
  private warmFresh = false;
  /**
   * The centre's velocity (unit cube per step): an exponentially weighted mean of the gradient
   * steps since calibration, horizon {@link DRIFT_RULE_HORIZON}; what the drift rule reads.
   */
  readonly velocity: Float64Array;
  private velocitySteps = 0;
  /** The gain the last cap gave before the drift rule (restored when the gain re-opens). */
  private undrifted = Number.NaN;
  /**
   * The gain re-opened after a shift and the noise model is still re-learning: the centre is on
   * its way to a new optimum (see {@link SHIFT_SMOOTHING}).
   */
  private travelling = false;
  /** The iteration in progress is a warm start's travel (see {@link planWarmTravel}). */
  private warmTravel = false;

  /**
   * @param registry - the parameters (bounds, scales, maxDelta in raw units)
   * @param options - resolved options ({@link resolveSpsaOptions})
   * @param prng - the generator Δ is drawn from (owned by the core from now on)
   * @param initialCentre - starting centre in unit coordinates (default: the registry's init values)
   */
  constructor(
    registry: ParamRegistry,
    options: ResolvedSpsaOptions,
    prng: Prng,
    initialCentre?: ArrayLike<number>,
  ) {
    const n = registry.size;
    this.size = n;
    this.options = options;
    this.prng = prng;
    this.limits = new StepLimits(registry);
    this.calibration = new StepGainCalibration(n, options.calibrationIterations);
    this.startupScale = n > options.autoStartupKnobs ? Math.sqrt(options.autoStartupKnobs / n) : 1;
    this.baseA = options.a === "auto" ? Number.NaN : options.a;
    this.cScale = options.c;
    this.scratch = new Float64Array(Math.max(1, n));
    const block = new Float64Block(10 * n);
    this.warmTarget = block.take(n);
    this.velocity = block.take(n);
    this.centre = block.take(n);
    this.delta = new Int8Array(n);
    this.halfWidth = block.take(n);
    this.budget = block.take(n);
    this.gradient = block.take(n);
    this.step = block.take(n);
    this.smoothed = block.take(n);
    this.plus = block.take(n);
    this.minus = block.take(n);
    for (let i = 0; i < n; i++) {
      const u = initialCentre === undefined ? registry.toUnit(i, registry.init[i]!) : initialCentre[i]!;
      this.centre[i] = clampUnit(u);
    }
  }

  /**
   * Completed steps (k), the index of the gains a_k and c_k: gradient steps, including those taken
   * with a provisional gain while an "auto" `a` calibrates, and a warm start's travel steps.
   * Commits that hold the centre (calibration with nothing usable recorded yet) and feasibility
   * steps do not count.
   */
  get iteration(): number {
    return this.k;
  }

  /** Gradient estimates completed, calibration included. */
  get estimates(): number {
    return this.estimatesTaken;
  }

  /** Scale on the gradient steps that meeting a constraint's boundary left (1 when none). */
  get boundaryStepScale(): number {
    return this.boundaryScale;
  }

  /** The base step gain a in force; NaN while "auto" is still calibrating. */
  get a(): number {
    return this.baseA;
  }

  /** The base perturbation half-width c in force (equals options.c unless it adapts). */
  get perturbationScale(): number {
    return this.cScale;
  }

  /** Estimated measurement-noise standard deviation σ̂ (NaN until centre measurements arrive). */
  get noiseSd(): number {
    return this.noise.noiseSd;
  }

  /** Mean second difference y⁺ + y⁻ − 2y⁰ (twice the probing cost of a perturbed window). */
  get meanSecondDifference(): number {
    return this.noise.meanSecondDifference;
  }

  /** True while an "auto" step gain is still being calibrated (commits step with a provisional gain). */
  get calibrating(): boolean {
    return !(this.baseA > 0);
  }

  /** True between {@link beginIteration} and {@link commit} / {@link abandon}. */
  get iterating(): boolean {
    return this.inIteration;
  }

  /** y⁺ of the current or last iteration (NaN when not recorded). */
  get yPlus(): number {
    return this.yp;
  }

  /** y⁻ of the current or last iteration (NaN when not recorded). */
  get yMinus(): number {
    return this.ym;
  }

  /** y⁰, the objective last measured at the current centre (NaN when none since it moved). */
  get yCentre(): number {
    return this.y0;
  }

  /** a_k used by the last step (NaN before the first). */
  get ak(): number {
    return this.lastA;
  }

  /**
   * Whether the last commit that returned Stepped was a feasibility step: a move of
   * {@link FEASIBILITY_STEP_FRACTION} of each parameter's room, with no a_k, that leaves k as it was.
   */
  get steppedForFeasibility(): boolean {
    return this.feasibilityStepped;
  }

  /** c_k of the current or last iteration, before any per-parameter clamp (NaN before the first). */
  get ck(): number {
    return this.lastC;
  }

  /** Parameters whose half-width was clamped to budget/2 in the current iteration. */
  get clampedPerturbations(): number {
    return this.clampedNow;
  }

  /** Half-width clamps over all iterations. */
  get clampedPerturbationsTotal(): number {
    return this.clampedTotal;
  }

  /** Parameters whose step was clipped to budget − c in the last commit. */
  get clippedSteps(): number {
    return this.clippedNow;
  }

  /** Step clips over all commits. */
  get clippedStepsTotal(): number {
    return this.clippedTotal;
  }

  /**
   * Starts an iteration: draws Δ (index order), computes c_k, each parameter's budget at the
   * centre and its half-width, and the plus and minus points. Any iteration in progress is
   * dropped as by {@link abandon}.
   */
  beginIteration(): void {
    const n = this.size;
    const ck = this.gainScale * perturbationGain(this.cScale, this.options.gamma, this.k);
    this.lastC = ck;
    let clamped = 0;
    for (let i = 0; i < n; i++) {
      const d = this.prng.sign();
      const u = this.centre[i]!;
      const b = this.gainScale * this.limits.unitMaxDelta(i, u);
      let h = ck;
      if (2 * h > b) {
        h = 0.5 * b;
        clamped++;
      }
      this.delta[i] = d;
      this.budget[i] = b;
      this.halfWidth[i] = h;
      this.plus[i] = clampUnit(u + h * d);
      this.minus[i] = clampUnit(u - h * d);
    }
    this.clampedNow = clamped;
    this.clampedTotal += clamped;
    this.warmTravel = this.warmActive && !this.feasibilityOnly;
    if (this.warmTravel) this.planWarmTravel();
    this.yp = Number.NaN;
    this.ym = Number.NaN;
    this.y0Iteration = this.y0;
    this.inIteration = true;
  }

  /**
   * A warm start's iteration travels on all three applies: the plus and minus points are the
   * first two legs of the way to the target, each within its own move budget (taken where the leg
   * starts, which bounds a log parameter's raw move either way; see {@link StepLimits}), and the
   * commit takes the third. Such an iteration estimates no gradient: heading for a remembered
   * centre needs none, and going a third of the way per iteration made a regime's return cost
   * more than its first visit.
   */
  private planWarmTravel(): void {
    for (let i = 0; i < this.size; i++) {
      const u = this.centre[i]!;
      const target = this.warmTarget[i]!;
      const plus = clampUnit(u + clampAbs(target - u, this.budget[i]!));
      const bPlus = this.gainScale * this.limits.unitMaxDelta(i, plus);
      this.plus[i] = plus;
      this.minus[i] = clampUnit(plus + clampAbs(target - plus, bPlus));
    }
  }

  /** The commit of a warm-travel iteration (see {@link planWarmTravel}): the way's third leg. */
  private warmTravelStep(out: Float64Array): CommitResultCode {
    this.warmTravel = false;
    this.gradient.fill(0);
    this.warmLegFromMinus();
    this.clippedNow = 0;
    this.k++;
    out.set(this.centre);
    return CommitResult.Stepped;
  }

  /**
   * A warm start's leg from the minus point (the live one when an iteration commits), a whole
   * budget towards the target; on arrival the warm start ends and, if asked, the gain re-opens
   * (the estimates taken on the way describe points left behind: their smoothed gradient would
   * carry the centre past the target, and so do their second differences).
   */
  private warmLegFromMinus(): void {
    let moved = false;
    let left = false;
    for (let i = 0; i < this.size; i++) {
      const from = this.minus[i]!;
      const target = this.warmTarget[i]!;
      const b = this.gainScale * this.limits.unitMaxDelta(i, from);
      if (Math.abs(target - from) > b) left = true;
      if (this.moveCentre(i, from + clampAbs(target - from, b) - this.centre[i]!)) moved = true;
    }
    if (moved) this.y0 = Number.NaN;
    if (left) return;
    this.warmActive = false;
    if (this.warmFresh) this.reopenGain();
  }

  /** Writes the plus point Π(θ + cΔ) (unit coordinates) into `out`. */
  plusTarget(out: Float64Array): void {
    out.set(this.plus);
  }

  /** Writes the minus point Π(θ − cΔ) (unit coordinates) into `out`. */
  minusTarget(out: Float64Array): void {
    out.set(this.minus);
  }

  /**
   * Records the aggregated objective measured at the plus point. False (ignored) when idle, or not
   * finite or beyond the statistics' range (±1e150, see `STATISTIC_LIMIT`): no measurement then.
   */
  recordPlus(y: number): boolean {
    if (!this.inIteration || !withinStatisticRange(y)) return false;
    this.yp = y;
    return true;
  }

  /** Records the aggregated objective measured at the minus point. False (ignored) as {@link recordPlus}. */
  recordMinus(y: number): boolean {
    if (!this.inIteration || !withinStatisticRange(y)) return false;
    this.ym = y;
    return true;
  }

  /**
   * Records the aggregated objective measured while the live point was the centre (the engine's
   * centre window after a commit, or the starting point). Optional, but it lets "auto" measure the
   * noise (see {@link StepGainCalibration}). False (ignored) when not finite or beyond the
   * statistics' range.
   */
  recordCentre(y: number): boolean {
    if (!withinStatisticRange(y)) return false;
    this.y0 = y;
    return true;
  }

  /**
   * Completes the iteration: computes ĝ, then either records it for "auto" calibration (centre
   * held, k kept) or steps the centre and advances k. Writes the centre to apply into `out`.
   *
   * @returns a {@link CommitResult} code; on NotReady `out` is left untouched.
   */
  commit(out: Float64Array): CommitResultCode {
    if (!this.inIteration || Number.isNaN(this.yp) || Number.isNaN(this.ym)) return CommitResult.NotReady;
    const n = this.size;
    const dy = this.yp - this.ym;
    for (let i = 0; i < n; i++) {
      const separation = this.plus[i]! - this.minus[i]!;
      // A frozen parameter (no budget) has no separation and gets neither gradient nor step.
      this.gradient[i] = separation !== 0 ? dy / separation : 0;
    }
    this.inIteration = false;
    this.feasibilityStepped = this.feasibilityOnly && !this.warmTravel;
    if (this.warmTravel) return this.warmTravelStep(out);
    if (this.feasibilityOnly) return this.feasibilityStep(out);
    this.estimatesTaken++;
    // y⁰ was measured at this iteration's centre, so D cancels the gradient (see NoiseModel);
    // y⁺ − y⁻ tells the noise model how much the objective drifted meanwhile.
    this.noise.add(this.yp + this.ym - 2 * this.y0Iteration, this.widthSquares(), dy);
    const o = this.options;
    let base = this.baseA;
    if (this.calibrating) {
      // At the nominal budgets: conservative mode's factor applies to the step, once.
      this.calibration.record(this.gradient, this.budget, this.gainScale);
      if (this.calibration.complete) {
        // First used by this commit's step, at the current k (calibration's steps advanced it).
        const a = this.calibration.signalGain(o.autoStepFraction, o.A, o.alpha, this.k);
        if (a > 0 && Number.isFinite(a)) {
          this.aSignal = a;
          this.baseA = a;
          if (o.alpha === 0 && this.noise.samples >= MIN_NOISE_SAMPLES) this.followNoise();
          base = this.baseA;
        } else this.calibration.reset();
      }
      if (this.calibrating) {
        // Keep stepping while the scale is learnt: at the start-up gain once a curvature is
        // measured, else with the signal rule on the samples so far, ramped up with their number
        // (few samples: a short, cautious step).
        base = this.startupGain();
        if (!(base > 0 && Number.isFinite(base))) {
          base = this.calibration.provisionalGain(o.autoStepFraction, o.A, o.alpha);
          if (o.alpha === 0 && this.noise.samples >= MIN_NOISE_SAMPLES) base = this.capped(base);
        }
        if (!(base > 0 && Number.isFinite(base))) {
          this.step.fill(0);
          this.clippedNow = 0;
          out.set(this.centre);
          return CommitResult.Calibrating;
        }
      }
    } else if (this.noise.samples >= NOISE_WARMUP) {
      if (o.a === "auto" && o.alpha === 0) this.followNoise();
      if (o.adaptC) this.adaptPerturbation();
      base = this.baseA;
    }
    const ak =
      this.gainScale *
      this.boundaryScale *
      stepGain(base, o.A, o.alpha, this.k) *
      (this.calibrating ? this.startupScale : 1);
    this.lastA = ak;
    // The first smoothed value is the estimate itself, so smoothing adds no start-up bias; while
    // calibrating, the centre covers ground fast and a long filter would lag and overshoot.
    if (this.travelling && this.noise.samples >= NOISE_WARMUP) this.travelling = false;
    const smoothing =
      this.calibrating && usesStartupGain(o)
        ? Math.min(o.smoothing, STARTUP_SMOOTHING)
        : this.travelling
          ? Math.min(o.smoothing, SHIFT_SMOOTHING)
          : o.smoothing;
    const beta = this.smoothingStarted ? smoothing : 0;
    this.smoothingStarted = true;
    let clipped = 0;
    let moved = false;
    const warm = this.warmActive;
    for (let i = 0; i < n; i++) {
      const limit = this.budget[i]! - this.halfWidth[i]!;
      const m = beta * this.smoothed[i]! + (1 - beta) * this.gradient[i]!;
      this.smoothed[i] = m;
      // A warm start that began during this iteration takes its first leg below instead.
      if (warm) continue;
      let s = -ak * m;
      if (!(limit > 0)) s = 0;
      else if (s > limit) {
        s = limit;
        clipped++;
      } else if (s < -limit) {
        s = -limit;
        clipped++;
      }
      if (this.moveCentre(i, s)) moved = true;
    }
    if (moved) this.y0 = Number.NaN;
    if (warm) this.warmLegFromMinus();
    this.clippedNow = clipped;
    this.clippedTotal += clipped;
    // The velocity follows gradient steps at the steady gain (a warm start's way is no drift).
    if (!warm && !this.calibrating && o.autoDrift > 0) {
      const wv =
        this.velocitySteps < DRIFT_RULE_HORIZON ? 1 / (this.velocitySteps + 1) : 1 / DRIFT_RULE_HORIZON;
      for (let i = 0; i < n; i++) this.velocity[i]! += wv * (this.step[i]! - this.velocity[i]!);
      this.velocitySteps++;
    }
    if (this.boundaryScale < 1 && ++this.boundaryCalm >= BOUNDARY_RECOVERY_STEPS) {
      this.boundaryScale = Math.min(1, 2 * this.boundaryScale);
      this.boundaryCalm = 0;
    }
    this.k++;
    out.set(this.centre);
    return CommitResult.Stepped;
  }

  /** Σ h_i² over the parameters' half-widths of the iteration just measured (unit cube). */
  private widthSquares(): number {
    let sum = 0;
    for (let i = 0; i < this.size; i++) sum += this.halfWidth[i]! * this.halfWidth[i]!;
    return sum;
  }

  /**
   * Constant-gain "auto": a = min(signal rule, noise rule) at the current noise estimate and
   * half-widths. Decaying gains keep the signal rule alone: their steps shrink by design, and
   * the noise rule describes the steady jitter of a constant gain.
   */
  private followNoise(): void {
    this.baseA = this.capped(this.aSignal);
  }

  /**
   * The calibration steps' gain once a curvature is measured (constant gains with the curvature
   * rule on; NaN otherwise): the curvature rule at {@link STARTUP_CONTRACTION_FACTOR} times
   * `autoContraction`, bounded by the noise rule and by a whole move budget for a typical estimate
   * so far. It replaces the ramped signal rule, which took 1/16 of its gain on the first step
   * whatever the objective, so a far-off start spent most of the calibration at the static start's
   * regret; the curvature bounds the step by what keeps the centre from overshooting, which the
   * start-up needs, and is measured from the first iteration.
   */
  private startupGain(): number {
    const o = this.options;
    if (!usesStartupGain(o)) return Number.NaN;
    const contraction = Math.min(CURVATURE_LIMIT, STARTUP_CONTRACTION_FACTOR * o.autoContraction);
    let a = curvatureRuleGain(contraction, o.A, o.alpha, this.noise.meanCurvature, this.halfWidth);
    if (!(a > 0 && Number.isFinite(a))) return Number.NaN;
    const aBudget = this.calibration.budgetGain(o.A, o.alpha);
    if (aBudget > 0 && Number.isFinite(aBudget) && aBudget < a) a = aBudget;
    const aNoise = this.noiseGain();
    if (aNoise > 0 && Number.isFinite(aNoise) && aNoise < a) a = aNoise;
    return a;
  }

  /**
   * `a` limited by the noise rule, the curvature rule and, once the velocity is measured, the
   * drift rule (each only when it can be computed).
   */
  private capped(a: number): number {
    let capped = a;
    const aNoise = this.noiseGain();
    if (aNoise > 0 && Number.isFinite(aNoise) && aNoise < capped) capped = aNoise;
    const o = this.options;
    const aCurvature = curvatureRuleGain(
      o.autoContraction,
      o.A,
      o.alpha,
      this.noise.meanCurvature,
      this.halfWidth,
    );
    if (aCurvature > 0 && Number.isFinite(aCurvature) && aCurvature < capped) capped = aCurvature;
    this.undrifted = capped;
    if (o.autoDrift > 0 && this.velocitySteps >= DRIFT_RULE_HORIZON) {
      const aDrift = driftRuleGain(
        o.autoDrift,
        o.autoContraction,
        this.velocity,
        this.noise.noiseSd,
        this.noise.meanCurvature,
        this.halfWidth,
        this.gainScale,
      );
      if (aDrift > 0 && Number.isFinite(aDrift) && aDrift < capped)
        capped = Math.max(aDrift, DRIFT_RULE_FLOOR * capped);
    }
    return capped;
  }

  /**
   * The noise-rule gain at the nominal half-widths and budgets: conservative mode's halving of
   * both is undone here (the rule scales as 1/(h·b)), so that the mode's only effect on the step
   * is its documented factor {@link setGainScale} applies once.
   */
  private noiseGain(): number {
    const o = this.options;
    const aNoise = noiseRuleGain(
      o.autoJitter,
      o.A,
      o.alpha,
      this.noise.noiseSd,
      this.halfWidth,
      this.budget,
      this.scratch,
    );
    return aNoise / (this.gainScale * this.gainScale);
  }

  /**
   * Moves the base half-width c towards {@link balancedHalfWidth} by at most
   * {@link PERTURBATION_ADAPT_RATE} (log ratio) per iteration, within [c/4, 4c] and never above
   * half the widest nominal budget (the per-parameter clamp would cut it anyway). The budgets of
   * the iteration are conservative mode's, already scaled by {@link setGainScale}'s factor, and c
   * is nominal (that factor multiplies it in {@link beginIteration}): the cap is read at the
   * nominal budget, so the mode halves the perturbation once, not twice.
   */
  private adaptPerturbation(): void {
    const n = this.size;
    let active = 0;
    let widthSum = 0;
    let widestBudget = 0;
    for (let i = 0; i < n; i++) {
      const h = this.halfWidth[i]!;
      if (h > 0) {
        active++;
        widthSum += h;
      }
      if (this.budget[i]! > widestBudget) widestBudget = this.budget[i]!;
    }
    if (active === 0) return;
    const ak = stepGain(this.baseA, this.options.A, this.options.alpha, this.k);
    // Half-widths are measured at the scaled width; the target is compared with the nominal c.
    const target =
      balancedHalfWidth(active, ak, this.noise.noiseSd, this.noise.meanSecondDifference, widthSum / active) /
      this.gainScale;
    if (Number.isNaN(target)) return;
    const ck = perturbationGain(this.cScale, this.options.gamma, this.k);
    let change = Math.log(target / ck);
    if (change > PERTURBATION_ADAPT_RATE) change = PERTURBATION_ADAPT_RATE;
    else if (change < -PERTURBATION_ADAPT_RATE) change = -PERTURBATION_ADAPT_RATE;
    let c = this.cScale * Math.exp(change);
    const lo = this.options.c / 4;
    // The budgets are conservative mode's (scaled); c is nominal, and beginIteration scales it once.
    const hi = Math.max(lo, Math.min(4 * this.options.c, (0.5 * widestBudget) / this.gainScale));
    if (c < lo) c = lo;
    else if (c > hi) c = hi;
    this.cScale = c;
  }

  /**
   * An environment shift was detected (issue 11): the gain re-opens. The noise estimate, which the
   * shift's jump inflated (cutting the noise-rule gain for its whole horizon) and which described
   * the old regime, starts afresh, and so does the smoothed gradient (it points to the old
   * optimum). Until {@link NOISE_WARMUP} new second differences are in, the gain stays where it
   * was before the shift, without the drift rule's cut (the velocity starts afresh too);
   * calibration in progress is kept.
   */
  reopenGain(): void {
    this.noise.reset();
    // The optimum moved: the constraint's boundary no longer says how far a step may go.
    this.boundaryScale = 1;
    this.boundaryCalm = 0;
    // The drift measured before the shift says nothing of the way to the new optimum: the drift
    // rule waits for a new velocity, and the gain it had cut goes back to the other rules' cap.
    this.velocity.fill(0);
    this.velocitySteps = 0;
    if (this.undrifted > this.baseA) this.baseA = this.undrifted;
    this.smoothingStarted = false;
    this.smoothed.fill(0);
    this.travelling = true;
  }

  /**
   * Warm start (homeostasis): the next commits step straight towards `target` (unit cube), each
   * within the same move budget as a gradient step, until it is reached; then gradient steps
   * resume. {@link cancelWarmStart} drops it. With `freshOnArrival`, the gain re-opens on arrival
   * ({@link reopenGain}): the smoothed gradient and the noise samples of the way are dropped.
   */
  warmStart(target: Float64Array, freshOnArrival = false): void {
    this.warmTarget.set(target);
    this.warmActive = true;
    this.warmFresh = freshOnArrival;
  }

  /** Drops a warm start in progress. */
  cancelWarmStart(): void {
    this.warmActive = false;
  }

  /** Whether a warm start is in progress. */
  get warmStarting(): boolean {
    return this.warmActive;
  }

  /**
   * SafeMode's conservative scaling: `scale` (0.5 in conservative mode, else 1) multiplies the
   * perturbation c, the step gain a and the move budget (the executor halves maxDelta alike).
   * Takes effect from the next iteration.
   */
  setGainScale(scale: number): void {
    this.gainScale = scale > 0 && scale <= 1 ? scale : 1;
  }

  /**
   * Constraint-first mode: while on, the measurements are the negated constraint margin, and a
   * commit takes no objective step — it moves each parameter by a quarter of its room (move budget − c) against
   * the sign of the margin's gradient estimate (toward feasibility), without touching the gain
   * calibration, the noise model, the smoothing or k. A sign step needs no scale for the margin.
   *
   * Turning it on also halves the gradient steps from then on (down to {@link MIN_BOUNDARY_SCALE};
   * they double back after {@link BOUNDARY_RECOVERY_STEPS} gradient steps without another turn, and
   * return whole when the gain re-opens): a step that crossed the boundary was too long for the
   * optimum past it, and steps that keep their length bounce off the boundary for ever instead of
   * settling on it.
   */
  setFeasibilityOnly(on: boolean): void {
    if (on && !this.feasibilityOnly) {
      this.boundaryScale = Math.max(MIN_BOUNDARY_SCALE, 0.5 * this.boundaryScale);
      this.boundaryCalm = 0;
    }
    this.feasibilityOnly = on;
    this.abandon();
  }

  /** Whether commits only seek feasibility. */
  get seekingFeasibility(): boolean {
    return this.feasibilityOnly;
  }

  /** Moves centre coordinate `i` by `s` (clamped into [0, 1]), records the step; whether it moved. */
  private moveCentre(i: number, s: number): boolean {
    const u = this.centre[i]!;
    const next = clampUnit(u + s);
    this.step[i] = next - u;
    this.centre[i] = next;
    return next !== u;
  }

  private feasibilityStep(out: Float64Array): CommitResultCode {
    let moved = false;
    for (let i = 0; i < this.size; i++) {
      const g = this.gradient[i]!;
      const limit = this.budget[i]! - this.halfWidth[i]!;
      const s =
        !(limit > 0) || g === 0
          ? 0
          : g > 0
            ? -FEASIBILITY_STEP_FRACTION * limit
            : FEASIBILITY_STEP_FRACTION * limit;
      if (this.moveCentre(i, s)) moved = true;
    }
    if (moved) this.y0 = Number.NaN;
    this.clippedNow = 0;
    out.set(this.centre);
    return CommitResult.Stepped;
  }

  /**
   * Drops the iteration in progress without computing a gradient or advancing k (for example
   * after a Tier-1 violation). The next {@link beginIteration} draws a new Δ.
   */
  abandon(): void {
    this.inIteration = false;
    this.yp = Number.NaN;
    this.ym = Number.NaN;
  }

  /**
   * {@link abandon}, for an iteration left with `live` (unit coordinates) applied. A warm start's
   * iteration travels on every apply, so the point it reached is progress along the way and
   * becomes the centre, the warm start going on from there: going back to the old centre would be
   * up to two move budgets at once, which Tier 1 refuses, and in conservative mode (half the
   * budget) it would refuse every such return for good.
   */
  abandonAt(live: ArrayLike<number>): void {
    if (this.inIteration && this.warmTravel) {
      for (let i = 0; i < this.size; i++) this.centre[i] = clampUnit(live[i]!);
      this.y0 = Number.NaN;
      this.warmTravel = false;
    }
    this.abandon();
  }

  /**
   * Moves the centre (unit coordinates, clamped into [0, 1]), e.g. to the baseline after a
   * rollback, and drops any iteration in progress. k and the gains are kept.
   */
  setCentre(u: ArrayLike<number>): void {
    for (let i = 0; i < this.size; i++) this.centre[i] = clampUnit(u[i]!);
    this.y0 = Number.NaN;
    this.warmActive = false;
    this.abandon();
  }

  /** The complete state, JSON-safe (allocates; cold path). */
  toJSON(): SpsaCoreState {
    return {
      v: 1,
      size: this.size,
      k: this.k,
      estimates: this.estimatesTaken,
      a: finiteOrNull(this.baseA),
      aSignal: finiteOrNull(this.aSignal),
      cScale: this.cScale,
      inIteration: this.inIteration,
      centre: Array.from(this.centre),
      delta: Array.from(this.delta),
      halfWidth: Array.from(this.halfWidth),
      budget: Array.from(this.budget),
      plus: Array.from(this.plus),
      minus: Array.from(this.minus),
      gradient: Array.from(this.gradient),
      step: Array.from(this.step),
      smoothed: Array.from(this.smoothed),
      yCentre: finiteOrNull(this.y0),
      yCentreIteration: finiteOrNull(this.y0Iteration),
      yPlus: finiteOrNull(this.yp),
      yMinus: finiteOrNull(this.ym),
      ak: finiteOrNull(this.lastA),
      ck: finiteOrNull(this.lastC),
      clampedPerturbations: this.clampedNow,
      clampedPerturbationsTotal: this.clampedTotal,
      clippedSteps: this.clippedNow,
      clippedStepsTotal: this.clippedTotal,
      prng: this.prng.state(),
      velocity: Array.from(this.velocity),
      velocitySteps: this.velocitySteps,
      undrifted: finiteOrNull(this.undrifted),
      travelling: this.travelling,
      smoothingStarted: this.smoothingStarted,
      gainScale: this.gainScale,
      feasibilityOnly: this.feasibilityOnly,
      boundaryScale: this.boundaryScale,
      boundaryCalm: this.boundaryCalm,
      warmTarget: Array.from(this.warmTarget),
      warmActive: this.warmActive,
      warmFresh: this.warmFresh,
      warmTravel: this.warmTravel,
      calibration: this.calibration.toJSON(),
      noise: this.noise.toJSON(),
    };
  }

  /**
   * Rebuilds a core from {@link toJSON} output; it continues exactly where the saved one was.
   * Throws a RangeError when the state does not fit the registry (cold path).
   */
  static restore(registry: ParamRegistry, options: ResolvedSpsaOptions, state: SpsaCoreState): SpsaCore {
    if (state.v !== 1) throw new RangeError(`unsupported SPSA state version ${String(state.v)}`);
    if (state.size !== registry.size) {
      throw new RangeError(`SPSA state has ${state.size} parameters, the registry ${registry.size}`);
    }
    const core = new SpsaCore(registry, options, Prng.fromState(state.prng), state.centre);
    core.k = state.k;
    core.estimatesTaken = state.estimates;
    core.baseA = state.a ?? (options.a === "auto" ? Number.NaN : options.a);
    core.inIteration = state.inIteration;
    core.centre.set(state.centre);
    core.delta.set(state.delta);
    core.halfWidth.set(state.halfWidth);
    core.budget.set(state.budget);
    core.plus.set(state.plus);
    core.minus.set(state.minus);
    core.gradient.set(state.gradient);
    core.step.set(state.step);
    core.smoothed.set(state.smoothed);
    core.smoothingStarted = state.smoothingStarted ?? state.k > 0;
    core.y0 = state.yCentre ?? Number.NaN;
    core.y0Iteration = state.yCentreIteration ?? Number.NaN;
    core.yp = state.yPlus ?? Number.NaN;
    core.ym = state.yMinus ?? Number.NaN;
    core.lastA = state.ak ?? Number.NaN;
    core.lastC = state.ck ?? Number.NaN;
    core.clampedNow = state.clampedPerturbations;
    core.clampedTotal = state.clampedPerturbationsTotal;
    core.clippedNow = state.clippedSteps;
    core.clippedTotal = state.clippedStepsTotal;
    core.calibration.restore(state.calibration);
    core.noise.restore(state.noise);
    core.aSignal = state.aSignal ?? Number.NaN;
    core.cScale = state.cScale;
    if (state.velocity !== undefined) core.velocity.set(state.velocity);
    core.velocitySteps = state.velocitySteps ?? 0;
    core.undrifted = state.undrifted ?? Number.NaN;
    core.travelling = state.travelling ?? false;
    core.setGainScale(state.gainScale ?? 1);
    core.feasibilityOnly = state.feasibilityOnly ?? false;
    // Out of range (a hand-edited or damaged state): as if no boundary had been met.
    const scale = state.boundaryScale ?? 1;
    core.boundaryScale = scale >= MIN_BOUNDARY_SCALE && scale <= 1 ? scale : 1;
    const calm = state.boundaryCalm ?? 0;
    core.boundaryCalm = Number.isSafeInteger(calm) && calm >= 0 ? calm : 0;
    if (state.warmTarget !== undefined) core.warmTarget.set(state.warmTarget);
    core.warmActive = state.warmActive ?? false;
    core.warmFresh = state.warmFresh ?? false;
    core.warmTravel = state.warmTravel ?? false;
    return core;
  }
}

/**
 * Whether calibration steps at the start-up gain, with its shorter smoothing: constant gains with
 * the curvature rule on. Without the rule (e.g. a log replayed with the defaults from before it)
 * calibration keeps the ramped signal rule and the option's smoothing.
 */
function usesStartupGain(o: ResolvedSpsaOptions): boolean {
  return o.alpha === 0 && o.autoContraction > 0;
}

function clampUnit(u: number): number {
  return u < 0 ? 0 : u > 1 ? 1 : u;
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** `x` limited to [−limit, limit] (0 when the limit is not positive). */
function clampAbs(x: number, limit: number): number {
  if (!(limit > 0)) return 0;
  return x > limit ? limit : x < -limit ? -limit : x;
}
