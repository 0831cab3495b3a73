/**
 * Tracking metrics for the DRIFT-Q4 plant (shared/BENCHMARKS.md B4; definitions from
 * reference/peers.md §5.3).
 *
 * Feed it, in order: every apply of the live point ({@link TrackingMetrics.applied}, flagged when
 * the point is a new SPSA centre rather than a perturbation point), one {@link TrackingMetrics.tick}
 * per tick with the point that was live when that tick's measurement was taken, rejected applies
 * ({@link TrackingMetrics.rejected}) and optimiser CPU time ({@link TrackingMetrics.cpu}).
 *
 * - Regret per tick: mean over ticks of the noise-free loss at the live point, perturbation
 *   points included.
 * - Time in band: share of ticks whose loss is ≤ 1.
 * - Reversals per 1000 ticks per parameter: per parameter, a zig-zag filter with dead-band h = 0.1
 *   over the sequence of APPLIED CENTRES (perturbation points never count): a reversal is counted
 *   when the centre has moved up and then falls more than h below the highest centre since the
 *   last turn (or the mirror image); the first move of more than h from the start only sets the
 *   direction.
 * - Recovery ticks: with m the mean loss over ticks [9000, 10000), the first tick t ≥ shift + 199
 *   at which the mean loss over the 200 ticks t−199..t (all after the shift) is ≤ 2m, as t − shift;
 *   null when that never happens. Windows that reach back before the shift are not used: they would
 *   average the jump away and report recovery at once.
 * - Guardrail violations: applies that move any parameter by more than maxDelta (relative
 *   tolerance 1e-9), or put it outside the bounds, plus applies the executor rejected.
 * - CPU per tick: optimiser time reported by the driver, divided by the ticks.
 * - Mean tracking error: mean over ticks of ‖θ_centre − θ*(t)‖ (peers.md §5.3).
 *
 * Per-call methods do not allocate; {@link TrackingMetrics.result} allocates its small report.
 */
import { DRIFT_Q4, type DriftQ4Plant } from "./drift-q4.js";

/** Options of {@link TrackingMetrics}. */
export interface TrackingMetricsOptions {
  /** Point live before the first apply (raw units; default all zeros). */
  readonly initial?: ArrayLike<number>;
  /** Largest allowed move per parameter per apply (default 0.5). */
  readonly maxDelta?: number;
  /** Loss threshold of "in band" (default 1). */
  readonly band?: number;
  /** Dead-band of the reversal filter (default 0.1). */
  readonly deadBand?: number;
  /** Ticks to be recorded (default 20 000). */
  readonly ticks?: number;
}

/** The figures of one run. */
export interface TrackingResult {
  readonly ticks: number;
  readonly regretPerTick: number;
  /** Percentage of ticks with loss ≤ band. */
  readonly inBandPercent: number;
  readonly reversalsPer1000PerParam: number;
  readonly recoveryTicks: number | null;
  readonly violations: number;
  readonly meanTrackingError: number;
  /** Largest move of any parameter in one apply. */
  readonly maxMove: number;
  readonly applies: number;
  readonly cpuNsPerTick: number;
}

/** Accumulates the DRIFT-Q4 metrics of one run. */
export class TrackingMetrics {
  private readonly plant: DriftQ4Plant;
  private readonly maxDelta: number;
  private readonly band: number;
  private readonly deadBand: number;
  private readonly losses: Float64Array;
  private readonly last: Float64Array;
  private readonly centreNow: Float64Array;
  /** Per parameter: +1 / −1 current zig-zag direction, 0 before the first move beyond h. */
  private readonly direction: Int8Array;
  /** Per parameter: the extreme centre since the last turn (the start value before the first). */
  private readonly extreme: Float64Array;
  private ticksSeen = 0;
  private lossSum = 0;
  private inBand = 0;
  private trackingErrorSum = 0;
  private reversals = 0;
  private violationCount = 0;
  private largestMove = 0;
  private applyCount = 0;
  private cpuNs = 0;

  constructor(plant: DriftQ4Plant, options: TrackingMetricsOptions = {}) {
    const p = plant.dimension;
    this.plant = plant;
    this.maxDelta = options.maxDelta ?? DRIFT_Q4.maxDelta;
    this.band = options.band ?? 1;
    this.deadBand = options.deadBand ?? 0.1;
    this.losses = new Float64Array(options.ticks ?? DRIFT_Q4.ticks);
    this.last = new Float64Array(p);
    this.centreNow = new Float64Array(p);
    this.direction = new Int8Array(p);
    this.extreme = new Float64Array(p);
    if (options.initial !== undefined) for (let i = 0; i < p; i++) this.last[i] = options.initial[i]!;
    this.centreNow.set(this.last);
    this.extreme.set(this.last);
  }

  /**
   * Records an apply of the live point (raw units): checks the move from the previous live point
   * and the bounds, and, when `isCentre`, feeds the reversal filter.
   */
  applied(values: ArrayLike<number>, isCentre: boolean): void {
    const p = this.plant.dimension;
    const tolerance = this.maxDelta * (1 + 1e-9);
    let bad = false;
    for (let i = 0; i < p; i++) {
      const v = values[i]!;
      const move = Math.abs(v - this.last[i]!);
      if (move > this.largestMove) this.largestMove = move;
      if (!(move <= tolerance) || !(v >= DRIFT_Q4.lower && v <= DRIFT_Q4.upper)) bad = true;
      this.last[i] = v;
    }
    if (bad) this.violationCount++;
    this.applyCount++;
    if (isCentre) this.recordCentre(values);
  }

  /**
   * Records a rollback of the live point to the baseline: not subject to maxDelta (it is the way
   * back to safety), so it moves the reference point without a check.
   */
  restored(values: ArrayLike<number>): void {
    for (let i = 0; i < this.plant.dimension; i++) this.last[i] = values[i]!;
  }

  /** Counts applies that the executor rejected (each is a guardrail violation). */
  rejected(count = 1): void {
    this.violationCount += count;
  }

  /** Adds optimiser CPU time, nanoseconds. */
  cpu(ns: number): void {
    this.cpuNs += ns;
  }

  /**
   * Records tick t with the point live when its measurement was taken (raw units); returns the
   * noise-free loss there.
   */
  tick(t: number, live: ArrayLike<number>): number {
    const loss = this.plant.loss(t, live);
    if (this.ticksSeen < this.losses.length) this.losses[this.ticksSeen] = loss;
    this.ticksSeen++;
    this.lossSum += loss;
    if (loss <= this.band) this.inBand++;
    let squared = 0;
    for (let i = 0; i < this.plant.dimension; i++) {
      const e = this.centreNow[i]! - this.plant.optimumAt(t, i);
      squared += e * e;
    }
    this.trackingErrorSum += Math.sqrt(squared);
    return loss;
  }

  /** The figures so far. */
  result(): TrackingResult {
    const n = this.ticksSeen;
    return {
      ticks: n,
      regretPerTick: this.lossSum / n,
      inBandPercent: (100 * this.inBand) / n,
      reversalsPer1000PerParam: (this.reversals * 1000) / n / this.plant.dimension,
      recoveryTicks: this.recovery(),
      violations: this.violationCount,
      meanTrackingError: this.trackingErrorSum / n,
      maxMove: this.largestMove,
      applies: this.applyCount,
      cpuNsPerTick: this.cpuNs / n,
    };
  }

  private recordCentre(values: ArrayLike<number>): void {
    const h = this.deadBand;
    for (let i = 0; i < this.plant.dimension; i++) {
      const v = values[i]!;
      this.centreNow[i] = v;
      const dir = this.direction[i]!;
      const ext = this.extreme[i]!;
      if (dir === 0) {
        if (v > ext + h) {
          this.direction[i] = 1;
          this.extreme[i] = v;
        } else if (v < ext - h) {
          this.direction[i] = -1;
          this.extreme[i] = v;
        }
      } else if (dir === 1) {
        if (v > ext) this.extreme[i] = v;
        else if (v < ext - h) {
          this.reversals++;
          this.direction[i] = -1;
          this.extreme[i] = v;
        }
      } else if (v < ext) this.extreme[i] = v;
      else if (v > ext + h) {
        this.reversals++;
        this.direction[i] = 1;
        this.extreme[i] = v;
      }
    }
  }

  private recovery(): number | null {
    const shift = DRIFT_Q4.shiftAt;
    const window = 200;
    const n = Math.min(this.ticksSeen, this.losses.length);
    const from = shift - 1000;
    if (n < shift + window || from < 0) return null;
    let pre = 0;
    for (let t = from; t < shift; t++) pre += this.losses[t]!;
    const threshold = (2 * pre) / (shift - from);
    let sum = 0;
    for (let t = shift; t < n; t++) {
      sum += this.losses[t]!;
      if (t - window >= shift) sum -= this.losses[t - window]!;
      if (t >= shift + window - 1 && sum / window <= threshold) return t - shift;
    }
    return null;
  }
}
