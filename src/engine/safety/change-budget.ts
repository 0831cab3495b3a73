import { timerMsRule } from "../../../machines/timer-limit.js";
import type { ConfigIssue } from "../../errors.js";
import { Float64Block } from "../../runtime/float64-block.js";
import {
  type NumericRule,
  numericOptionIssues,
  rangeIssues,
  throwOnIssues,
  withDefaults,
} from "./option-issues.js";

/** Verdict of {@link ChangeBudget.record}: 0 when every parameter is within budget, 1 when one is not. */
export const ChangeBudgetCode = {
  /** Every parameter's movement within the window is within `changeBudget`. */
  Healthy: 0,
  /** Some parameter moved more; {@link ChangeBudget.lastTripIndex} says which (the first in registry order). */
  Exhausted: 1,
} as const;

/** One of the {@link ChangeBudgetCode} codes. */
export type ChangeBudgetCode = (typeof ChangeBudgetCode)[keyof typeof ChangeBudgetCode];

/** Tuning of the {@link ChangeBudget}; every field is optional (see {@link DEFAULT_CHANGE_BUDGET_OPTIONS}). */
export interface ChangeBudgetOptions {
  /** Most net movement of one parameter within `budgetWindowMs`, as a fraction of its range (`Infinity`: none). */
  readonly changeBudget?: number;
  /** Sliding window over which movement is summed (ms). */
  readonly budgetWindowMs?: number;
  /** Buckets the window is split into: a move stops counting between 1 and 1 + 1/buckets windows after it. */
  readonly buckets?: number;
}

/** The budget's options with every field resolved. */
export type ResolvedChangeBudgetOptions = Required<ChangeBudgetOptions>;

/** Defaults: the balanced guardrail preset (half the range per minute), in 12 buckets of 5 s. */
export const DEFAULT_CHANGE_BUDGET_OPTIONS: ResolvedChangeBudgetOptions = Object.freeze({
  changeBudget: 0.5,
  budgetWindowMs: 60_000,
  buckets: 12,
});

const RULES: Readonly<Record<keyof ResolvedChangeBudgetOptions, NumericRule>> = {
  changeBudget: [(x) => x > 0, "must be a number > 0 (fraction of the range; Infinity for no budget)"],
  budgetWindowMs: timerMsRule(true),
  buckets: [(x) => Number.isInteger(x) && x >= 1 && x <= 1000, "must be a whole number from 1 to 1000"],
};

/**
 * Every problem with change-budget options, each with its path under `path`; empty when valid.
 * Unknown fields are reported (usually typos).
 */
export function changeBudgetOptionIssues(input: unknown, path = "changeBudget"): ConfigIssue[] {
  return numericOptionIssues(input, RULES, path, "change-budget options");
}

/**
 * Sums each parameter's signed movement ((new − previous) / range) over a sliding time window and
 * reports when the net displacement |sum| exceeds `changeBudget`.
 *
 * @remarks
 * Net, not total: following a regime shift or a steady drift moves a parameter one way, and that
 * is what the budget limits (how far the tuner may take a knob within the window); moving back and
 * forth is the thrashing detector's business. A budget on total movement froze the engine while it
 * legitimately followed a shift, because the jitter around the new optimum added up (issue 11).
 *
 * Sliding, not tumbling: the window is split into `buckets` equal time buckets kept in a ring of
 * `buckets + 1` slots. A move stops counting when its bucket leaves the ring, which is never
 * earlier than `budgetWindowMs` after the move and at most one bucket (`budgetWindowMs / buckets`)
 * later, so the budget never replenishes early. {@link ChangeBudget.isReplenished} answers
 * "within budget again?" and {@link ChangeBudget.replenishedBy} "when, if nothing else moves?".
 *
 * What counts is whatever the caller feeds: every applied point (perturbations included, as for
 * maxDelta) or centres only. The first call after construction or `reset()` only sets the
 * reference. A non-finite value is not a move (it neither counts nor becomes the reference).
 *
 * Performance: {@link ChangeBudget.record} is O(d) and allocation-free, plus O(d · buckets) when
 * a bucket expires (the live sums are then recomputed exactly, so rounding never accumulates).
 * Time is passed in (`now`, ms); a `now` smaller than the latest seen is treated as the latest.
 */
export class ChangeBudget {
  /** The options in force, defaults filled in. */
  readonly options: ResolvedChangeBudgetOptions;
  /** Number of parameters. */
  readonly dimension: number;

  private readonly ranges: Float64Array;
  private readonly previous: Float64Array;
  private readonly totals: Float64Array;
  private readonly amounts: Float64Array;
  private readonly slotEpoch: Float64Array;
  private readonly slots: number;
  private readonly bucketMs: number;
  private currentSlot = 0;
  private currentEpoch = Number.NEGATIVE_INFINITY;
  private latest = Number.NEGATIVE_INFINITY;
  private initialised = false;

  /** Index of the first parameter over budget at the last `record` that tripped; −1 if none yet. */
  lastTripIndex = -1;

  /**
   * @param ranges - each parameter's range (max − min) in the units the values are given in.
   * @throws RangeError listing every invalid option or range.
   */
  constructor(ranges: ArrayLike<number>, options: ChangeBudgetOptions = {}) {
    throwOnIssues("change-budget", [...changeBudgetOptionIssues(options), ...rangeIssues(ranges)]);
    const o = withDefaults(DEFAULT_CHANGE_BUDGET_OPTIONS, options);
    this.options = Object.freeze(o);
    const d = ranges.length;
    this.dimension = d;
    this.slots = o.buckets + 1;
    this.bucketMs = o.budgetWindowMs / o.buckets;
    const block = new Float64Block(3 * d + d * this.slots + this.slots);
    this.ranges = block.take(d);
    this.ranges.set(ranges);
    this.previous = block.take(d);
    this.totals = block.take(d);
    this.amounts = block.take(d * this.slots);
    this.slotEpoch = block.take(this.slots).fill(Number.NEGATIVE_INFINITY);
  }

  /**
   * Forgets all movement. With `values`, they become the reference point; without, the next
   * `record` does.
   */
  reset(values?: ArrayLike<number>): void {
    this.totals.fill(0);
    this.amounts.fill(0);
    this.slotEpoch.fill(Number.NEGATIVE_INFINITY);
    this.currentEpoch = Number.NEGATIVE_INFINITY;
    this.lastTripIndex = -1;
    this.initialised = values !== undefined;
    if (values !== undefined) this.previous.set(values);
  }

  /**
   * Records newly applied values (raw units, registry order) at time `now` (ms) and returns
   * whether some parameter's movement within the window now exceeds the budget.
   *
   * @remarks O(d), allocation-free.
   */
  record(values: ArrayLike<number>, now: number): ChangeBudgetCode {
    this.advance(now);
    if (!this.initialised) {
      this.previous.set(values);
      this.initialised = true;
      return ChangeBudgetCode.Healthy;
    }
    const budget = this.options.changeBudget;
    const base = this.currentSlot;
    const slots = this.slots;
    let tripped = -1;
    for (let i = 0; i < this.dimension; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) continue;
      const move = (v - this.previous[i]!) / this.ranges[i]!;
      this.previous[i] = v;
      this.amounts[i * slots + base] += move;
      this.totals[i] += move;
      if (tripped < 0 && Math.abs(this.totals[i]!) > budget) tripped = i;
    }
    if (tripped < 0) return ChangeBudgetCode.Healthy;
    this.lastTripIndex = tripped;
    return ChangeBudgetCode.Exhausted;
  }

  /**
   * Index of the first parameter that moving to `values` at `now` would take over budget, or −1.
   * Changes nothing but the expiry of old buckets; lets Tier 1 refuse a move before making it.
   *
   * @remarks O(d), allocation-free.
   */
  wouldExceed(values: ArrayLike<number>, now: number): number {
    this.advance(now);
    if (!this.initialised) return -1;
    const budget = this.options.changeBudget;
    for (let i = 0; i < this.dimension; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) continue;
      if (Math.abs(this.totals[i]! + (v - this.previous[i]!) / this.ranges[i]!) > budget) return i;
    }
    return -1;
  }

  /** Net (signed) movement of parameter `index` still counting at `now`, as a fraction of its range. */
  spent(index: number, now: number): number {
    this.advance(now);
    return this.totals[index]!;
  }

  /** Whether every parameter is within budget at `now` ("replenished yet?"). O(d). */
  isReplenished(now: number): boolean {
    this.advance(now);
    const budget = this.options.changeBudget;
    for (let i = 0; i < this.dimension; i++) if (Math.abs(this.totals[i]!) > budget) return false;
    return true;
  }

  /**
   * The earliest time (ms) at which every parameter is within budget if nothing else moves:
   * `now` (or the latest time seen) when it already is. O(d · buckets).
   */
  replenishedBy(now: number): number {
    this.advance(now);
    const budget = this.options.changeBudget;
    const slots = this.slots;
    let by = this.latest;
    for (let i = 0; i < this.dimension; i++) {
      let remaining = this.totals[i]!;
      // Walk the live buckets oldest first; each one's movement leaves when its bucket expires.
      for (let k = 1; k <= slots && Math.abs(remaining) > budget; k++) {
        const s = (this.currentSlot + k) % slots;
        const epoch = this.slotEpoch[s]!;
        if (epoch === Number.NEGATIVE_INFINITY) continue;
        remaining -= this.amounts[i * slots + s]!;
        const expiry = (epoch + slots) * this.bucketMs;
        if (expiry > by) by = expiry;
      }
    }
    return by;
  }

  /** Moves the ring to the bucket holding `now`, dropping buckets that left the window. */
  private advance(now: number): void {
    if (now > this.latest) this.latest = now;
    const epoch = Math.floor(this.latest / this.bucketMs);
    if (epoch === this.currentEpoch) return;
    const slots = this.slots;
    let expired = false;
    for (let s = 0; s < slots; s++) {
      const e = this.slotEpoch[s]!;
      if (e !== Number.NEGATIVE_INFINITY && epoch - e >= slots) {
        this.slotEpoch[s] = Number.NEGATIVE_INFINITY;
        for (let i = 0; i < this.dimension; i++) this.amounts[i * slots + s] = 0;
        expired = true;
      }
    }
    this.currentEpoch = epoch;
    this.currentSlot = ((epoch % slots) + slots) % slots;
    this.slotEpoch[this.currentSlot] = epoch;
    if (expired) {
      for (let i = 0; i < this.dimension; i++) {
        let sum = 0;
        for (let s = 0; s < slots; s++) sum += this.amounts[i * slots + s]!;
        this.totals[i] = sum;
      }
    }
  }
}
