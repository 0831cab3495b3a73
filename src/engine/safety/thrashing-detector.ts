import { timerMsRule } from "../../../machines/timer-limit.js";
import type { ConfigIssue } from "../../errors.js";
import { MAX_FLIP_LIMIT } from "../../hotpath/guardrails.js";
import { Float64Block } from "../../runtime/float64-block.js";
import {
  type NumericRule,
  numericOptionIssues,
  rangeIssues,
  throwOnIssues,
  withDefaults,
} from "./option-issues.js";

/** Verdict of {@link ThrashingDetector.record}: 0 when fine, 1 when a parameter thrashes. */
export const ThrashingCode = {
  /** No parameter reversed more than `flipLimit` times within `flipWindowMs`. */
  Healthy: 0,
  /** Some parameter did; {@link ThrashingDetector.lastTripIndex} says which (the first in registry order). */
  Thrashing: 1,
} as const;

/** One of the {@link ThrashingCode} codes. */
export type ThrashingCode = (typeof ThrashingCode)[keyof typeof ThrashingCode];

/** Tuning of the {@link ThrashingDetector}; every field is optional (see {@link DEFAULT_THRASHING_OPTIONS}). */
export interface ThrashingDetectorOptions {
  /** Most reversals of one parameter tolerated within `flipWindowMs`; one more trips. */
  readonly flipLimit?: number;
  /** Sliding window over which reversals are counted (ms). */
  readonly flipWindowMs?: number;
  /**
   * Smallest move of the centre that counts, as a fraction of the parameter's range. Moves up to
   * this size (measured from the last counted centre) neither count nor change the direction.
   */
  readonly deadBand?: number;
  /**
   * Most centres a swing may take and still count as a reversal: the centres recorded from the
   * parameter's last counted move to the one that reverses it. Slower swings change the direction
   * without counting. Default 8.
   */
  readonly swingMoves?: number;
}

/** The detector's options with every field resolved. */
export type ResolvedThrashingOptions = Required<ThrashingDetectorOptions>;

/**
 * Defaults: the balanced guardrail preset's flip limit and window (3 reversals per minute), a
 * dead-band of 2 % of the range, the order of SPSA's default perturbation c in the unit cube, and
 * swings of at most 8 centres.
 *
 * @remarks
 * Why swings are timed in centres: an oscillating tuner (a gain too large for a kink, a lag it
 * keeps overshooting) turns round within a few iterations. Noise makes a different pattern in a
 * direction where the objective is nearly flat: a slow random walk whose legs last about
 * 1/(gain × curvature) iterations (dozens at 16 to 64 knobs) yet can span more than the dead-band.
 * With 32 or 64 such directions, a minute-long window counted them as thrashing on 1 to 11 seeds in
 * 30 of quadratic plants that never oscillated. Eight centres keep every oscillation of period up
 * to 16 iterations.
 */
export const DEFAULT_THRASHING_OPTIONS: ResolvedThrashingOptions = Object.freeze({
  flipLimit: 3,
  flipWindowMs: 60_000,
  deadBand: 0.02,
  swingMoves: 8,
});

const RULES: Readonly<Record<keyof ResolvedThrashingOptions, NumericRule>> = {
  flipLimit: [
    (x) => Number.isInteger(x) && x >= 1 && x <= MAX_FLIP_LIMIT,
    `must be a whole number from 1 to ${MAX_FLIP_LIMIT}`,
  ],
  flipWindowMs: timerMsRule(true),
  deadBand: [
    (x) => Number.isFinite(x) && x >= 0 && x < 1,
    "must be a number in [0, 1) (fraction of the range)",
  ],
  swingMoves: [
    (x) => Number.isInteger(x) && x >= 1 && x <= 1_000_000,
    "must be a whole number from 1 to 1000000 (centres)",
  ],
};

/**
 * Every problem with thrashing-detector options, each with its path under `path`; empty when
 * valid. Unknown fields are reported (usually typos).
 */
export function thrashingDetectorOptionIssues(input: unknown, path = "thrashing"): ConfigIssue[] {
  return numericOptionIssues(input, RULES, path, "thrashing options");
}

/**
 * Counts reversals of the applied centre, per parameter, over a sliding time window.
 *
 * @remarks
 * Feed it centres only (the points SPSA settles on), never the ± perturbations. A move is the
 * difference between the new centre and the last *counted* centre of that parameter; moves within
 * the dead-band are ignored entirely (the reference stays, so a slow creep in one direction still
 * counts once it has gone far enough). A reversal is a counted move opposite to the previous
 * counted move; it is counted only if it took at most `swingMoves` centres since the previous
 * counted move (see {@link DEFAULT_THRASHING_OPTIONS}). A parameter thrashes when more than `flipLimit` of its reversals lie within the
 * last `flipWindowMs` (a reversal at time t counts while `now − t < flipWindowMs`); so with limit
 * 2 the third reversal in a window trips, as in the original's acceptance cases.
 *
 * Performance: {@link ThrashingDetector.record} is O(d) and allocation-free (per parameter a ring
 * of the last `flipLimit + 1` reversal times in one `Float64Array`). Time is passed in (`now`, ms).
 * Times are expected not to go backwards; a smaller `now` is treated as the latest one seen.
 */
export class ThrashingDetector {
  /** The options in force, defaults filled in. */
  readonly options: ResolvedThrashingOptions;
  /** Number of parameters. */
  readonly dimension: number;

  private readonly deadBands: Float64Array;
  private readonly reference: Float64Array;
  private readonly direction: Int8Array;
  private readonly flipTimes: Float64Array;
  private readonly flipNext: Uint32Array;
  /** Centres recorded since each parameter's last counted move (saturating). */
  private readonly swingLength: Uint32Array;
  private initialised = false;
  private latest = Number.NEGATIVE_INFINITY;

  /** Index of the first parameter found thrashing by the last `record` that tripped; −1 if none yet. */
  lastTripIndex = -1;

  /**
   * @param ranges - each parameter's range (max − min) in the units the centres are given in.
   * @param deadBands - absolute dead-bands (same units) that replace `deadBand × range` when the
   *   option `deadBand` is not given (the engine passes each parameter's maxDelta).
   * @throws RangeError listing every invalid option or range.
   */
  constructor(
    ranges: ArrayLike<number>,
    options: ThrashingDetectorOptions = {},
    deadBands?: ArrayLike<number>,
  ) {
    throwOnIssues("thrashing", [...thrashingDetectorOptionIssues(options), ...rangeIssues(ranges)]);
    const o = withDefaults(DEFAULT_THRASHING_OPTIONS, options);
    this.options = Object.freeze(o);
    const d = ranges.length;
    this.dimension = d;
    const block = new Float64Block(2 * d + d * (o.flipLimit + 1));
    this.deadBands = block.take(d);
    const absolute = options.deadBand === undefined && deadBands !== undefined && deadBands.length === d;
    for (let i = 0; i < d; i++)
      this.deadBands[i] = absolute ? Math.abs(deadBands[i]!) : o.deadBand * ranges[i]!;
    this.reference = block.take(d);
    this.direction = new Int8Array(d);
    this.flipTimes = block.take(d * (o.flipLimit + 1)).fill(Number.NEGATIVE_INFINITY);
    this.flipNext = new Uint32Array(d);
    this.swingLength = new Uint32Array(d);
  }

  /**
   * Forgets every reversal and direction. With `centres`, they become the reference point;
   * without, the next `record` does.
   */
  reset(centres?: ArrayLike<number>): void {
    this.direction.fill(0);
    this.flipTimes.fill(Number.NEGATIVE_INFINITY);
    this.flipNext.fill(0);
    this.swingLength.fill(0);
    this.lastTripIndex = -1;
    this.initialised = centres !== undefined;
    if (centres !== undefined) this.reference.set(centres);
  }

  /** Reversals of parameter `index` that still count at time `now`. O(flipLimit). */
  reversals(index: number, now: number): number {
    const slots = this.options.flipLimit + 1;
    const base = index * slots;
    const t = Math.max(now, this.latest);
    let count = 0;
    for (let s = 0; s < slots; s++) if (t - this.flipTimes[base + s]! < this.options.flipWindowMs) count++;
    return count;
  }

  /**
   * Records a newly applied centre (raw units, registry order) at time `now` (ms). The first call
   * after construction or a bare `reset()` only sets the reference.
   *
   * @remarks O(d), allocation-free.
   */
  record(centres: ArrayLike<number>, now: number): ThrashingCode {
    if (now > this.latest) this.latest = now;
    const t = this.latest;
    if (!this.initialised) {
      this.reference.set(centres);
      this.initialised = true;
      return ThrashingCode.Healthy;
    }
    const slots = this.options.flipLimit + 1;
    const window = this.options.flipWindowMs;
    const swingMoves = this.options.swingMoves;
    let tripped = -1;
    for (let i = 0; i < this.dimension; i++) {
      const length = this.swingLength[i]! + 1;
      if (length < 0xffffffff) this.swingLength[i] = length;
      const move = centres[i]! - this.reference[i]!;
      if (!(Math.abs(move) > this.deadBands[i]!)) continue; // within the dead-band (or NaN): ignored
      this.reference[i] = centres[i]!;
      this.swingLength[i] = 0;
      const dir = move > 0 ? 1 : -1;
      const previous = this.direction[i]!;
      this.direction[i] = dir;
      if (previous === 0 || previous === dir) continue;
      if (length > swingMoves) continue; // a slow swing: the direction changed, not a thrash
      // A reversal: overwrite the oldest of the last flipLimit + 1 reversal times.
      const base = i * slots;
      const next = this.flipNext[i]!;
      this.flipTimes[base + next] = t;
      const after = next + 1 === slots ? 0 : next + 1;
      this.flipNext[i] = after;
      // The slot after the one just written is the oldest; if it is still in the window, all are.
      if (tripped < 0 && t - this.flipTimes[base + after]! < window) tripped = i;
    }
    if (tripped < 0) return ThrashingCode.Healthy;
    this.lastTripIndex = tripped;
    return ThrashingCode.Thrashing;
  }
}
