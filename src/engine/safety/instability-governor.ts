import type { ConfigIssue } from "../../errors.js";
import * as statisticRange from "../statistic-range.js";
import { EventRate } from "./event-rate.js";
import { type NumericRule, numericOptionIssues, throwOnIssues, withDefaults } from "./option-issues.js";

// Module-local copies for the per-digest path: V8 (Node 20) reads an imported binding through a
// cell, checking that it is initialised, at every use, but folds a local const into the code.
const { STATISTIC_LIMIT, withinStatisticRange } = statisticRange;

/**
 * What {@link InstabilityGovernor} concluded from one digest or one window. `Healthy` is 0 so a
 * caller can test `if (code !== 0)`.
 */
export const GovernorCode = {
  /** Nothing wrong. */
  Healthy: 0,
  /** The objective was NaN or ±Infinity: trips on that digest. */
  NonFinite: 1,
  /** Anomalous values held for `spikeHold` consecutive digests, over `spikeHoldMs` at least. */
  Spike: 2,
  /** `divergenceWindows` consecutive windows worse than the baseline window by more than the margin. */
  Divergence: 3,
  /** A trip that was the `repeatLimit`-th within `repeatPeriodMs`: escalate (halt). */
  RepeatedTrips: 4,
} as const;

/** One of the {@link GovernorCode} codes. */
export type GovernorCode = (typeof GovernorCode)[keyof typeof GovernorCode];

const CODE_NAMES: readonly string[] = ["healthy", "nonFinite", "spike", "divergence", "repeatedTrips"];

/** A source of the current time (ms), read only when needed. */
export interface TimeReader {
  now(): number;
}

/** Audit name of a {@link GovernorCode} ("healthy", "spike", …), or "unknown". Allocation-free. */
export function governorCodeName(code: number): string {
  return Number.isInteger(code) && code >= 0 && code < CODE_NAMES.length ? CODE_NAMES[code]! : "unknown";
}

/** Tuning of the {@link InstabilityGovernor}; every field is optional (see {@link DEFAULT_GOVERNOR_OPTIONS}). */
export interface InstabilityGovernorOptions {
  /** k: a digest is anomalous only if it exceeds mean + k·σ of the clean history. */
  readonly spikeSigmas?: number;
  /**
   * m: … and is also m times worse than the clean history's mean: above m × mean, or, for a mean
   * below 0 (a negated throughput), above mean / m.
   */
  readonly spikeRatio?: number;
  /**
   * M: consecutive anomalous digests that trip "spike"; also, doubled, the tries in a row a spike
   * must end at the tuner's perturbed points to trip it there (see `ControlSafety.onRemeasure`).
   */
  readonly spikeHold?: number;
  /**
   * … and for at least this long (ms) from the first of them. Counted in digests alone, a hold
   * means nothing for telemetry of one digest per request: at 2,000 a second, three slow requests
   * in a row out of a 2 % tail come about once a minute, and each tripped a rollback (three in an
   * hour halt the engine) on an objective the tuner could not move. Digests a few per second or
   * fewer span this already, so their rule is unchanged. 0: digests alone.
   */
  readonly spikeHoldMs?: number;
  /** Size of the ring of recent clean digests the spike statistics come from. */
  readonly historySize?: number;
  /** Clean digests needed before the spike rule judges anything (until then every finite digest is clean). */
  readonly minHistory?: number;
  /**
   * Once a baseline window exists, a digest is anomalous only if it is also worse than the baseline
   * by the divergence margin. The spike rule's action is a rollback to the baseline, which only
   * helps when the baseline is better than what is seen: a level shift of the environment that
   * leaves the tuned system no worse than the untuned baseline is for the tuner to follow, not a
   * trip (default true).
   */
  readonly spikeBeyondBaseline?: boolean;
  /** Floor on σ, in objective units, so a noise-free objective does not make every change a spike. */
  readonly sigmaFloor?: number;
  /** N: consecutive windows worse than the baseline window that trip "divergence". */
  readonly divergenceWindows?: number;
  /** A window is worse when its mean exceeds the baseline mean by more than this fraction of |baseline mean| … */
  readonly divergenceThreshold?: number;
  /** … and by more than this many σ of the clean digests measured when the baseline was taken. */
  readonly divergenceSigmas?: number;
  /** Trips within `repeatPeriodMs` (this one included) that turn a trip into "repeatedTrips". */
  readonly repeatLimit?: number;
  /** Period over which trips are counted for `repeatLimit`. */
  readonly repeatPeriodMs?: number;
  /**
   * K, the blame horizon: a configuration is known-good once it has been followed by K windows
   * not worse than the baseline. A spike or divergence found while the tuner's centre stands more
   * than half a maxDelta from the known-good configuration is the tuner's doing and rolls back; a
   * regression that shows up to K windows after a move is caught this way, even if it came late.
   * A longer horizon catches later regressions but blames more shifts of the plant on a moving
   * tuner (each costs a rollback probe): the default 12 is the longest with no trip on B4 and
   * B5's benign shifts (docs/concepts/safe-mode.md).
   */
  readonly blameWindows?: number;
}

/** The governor's options with every field resolved. */
export type ResolvedGovernorOptions = Required<InstabilityGovernorOptions>;

type NumericGovernorOptions = Omit<ResolvedGovernorOptions, "spikeBeyondBaseline">;

/**
 * Defaults. The spike rule follows the live-training governor described in the seeds (6σ, 3× the
 * mean, 20 recent clean samples with at least 10, 3 consecutive), held for 100 ms at least (one
 * digest per request would trip on its tail otherwise); divergence needs 5 windows in a
 * row more than 50 % and 3σ worse than the baseline window; 3 trips within an hour escalate; a
 * configuration proves itself after 12 good windows.
 */
export const DEFAULT_GOVERNOR_OPTIONS: ResolvedGovernorOptions = Object.freeze({
  spikeSigmas: 6,
  spikeRatio: 3,
  spikeHold: 3,
  spikeHoldMs: 100,
  spikeBeyondBaseline: true,
  historySize: 20,
  minHistory: 10,
  sigmaFloor: 1e-9,
  divergenceWindows: 5,
  divergenceThreshold: 0.5,
  divergenceSigmas: 3,
  repeatLimit: 3,
  repeatPeriodMs: 3_600_000,
  blameWindows: 12,
});

const isCount = (x: number): boolean => Number.isInteger(x) && x >= 1 && x <= 1_000_000;
const isNonNegative = (x: number): boolean => Number.isFinite(x) && x >= 0;

const RULES: Readonly<Record<keyof NumericGovernorOptions, NumericRule>> = {
  spikeSigmas: [(x) => Number.isFinite(x) && x > 0, "must be a finite number > 0"],
  spikeRatio: [isNonNegative, "must be a finite number ≥ 0"],
  spikeHold: [isCount, "must be a whole number from 1 to 1000000"],
  spikeHoldMs: [isNonNegative, "must be a finite number ≥ 0 (milliseconds)"],
  historySize: [(x) => isCount(x) && x >= 2, "must be a whole number from 2 to 1000000"],
  minHistory: [(x) => isCount(x) && x >= 2, "must be a whole number ≥ 2 and ≤ historySize"],
  sigmaFloor: [isNonNegative, "must be a finite number ≥ 0 (objective units)"],
  divergenceWindows: [isCount, "must be a whole number from 1 to 1000000"],
  divergenceThreshold: [isNonNegative, "must be a finite number ≥ 0 (fraction of |baseline mean|)"],
  divergenceSigmas: [isNonNegative, "must be a finite number ≥ 0"],
  repeatLimit: [(x) => Number.isInteger(x) && x >= 1 && x <= 1000, "must be a whole number from 1 to 1000"],
  repeatPeriodMs: [(x) => x > 0, "must be a number > 0 (milliseconds; Infinity allowed)"],
  blameWindows: [
    (x) => Number.isInteger(x) && x >= 1 && x <= 10_000,
    "must be a whole number from 1 to 10000 (windows)",
  ],
};

/**
 * Every problem with governor options, each with its path under `path`; empty when valid.
 * Unknown fields are reported (usually typos).
 */
export function instabilityGovernorOptionIssues(input: unknown, path = "governor"): ConfigIssue[] {
  let numeric = input;
  const flagIssues: ConfigIssue[] = [];
  if (
    typeof input === "object" &&
    input !== null &&
    !Array.isArray(input) &&
    "spikeBeyondBaseline" in input
  ) {
    const { spikeBeyondBaseline, ...rest } = input as Record<string, unknown>;
    numeric = rest;
    if (spikeBeyondBaseline !== undefined && typeof spikeBeyondBaseline !== "boolean")
      flagIssues.push({ path: `${path}.spikeBeyondBaseline`, message: "must be true or false" });
  }
  const issues = [...numericOptionIssues(numeric, RULES, path, "governor options"), ...flagIssues];
  if (issues.length === 0 && input !== undefined) {
    const o = resolveOptions(input as InstabilityGovernorOptions);
    if (o.minHistory > o.historySize)
      issues.push({ path: `${path}.minHistory`, message: "must be ≤ historySize" });
  }
  return issues;
}

function resolveOptions(options: InstabilityGovernorOptions): ResolvedGovernorOptions {
  return withDefaults(DEFAULT_GOVERNOR_OPTIONS, options);
}

// Slots of InstabilityGovernor.num (see there).
const VALUE_SLOT = 0;
const NOW_SLOT = 1;
const WINDOW_SUM_SLOT = 2;
const MEAN_SLOT = 3;
const M2_SLOT = 4;
const BASELINE_MEAN_SLOT = 5;
const BASELINE_SIGMA_SLOT = 6;
/** Last closed window's mean minus the baseline mean (0 while there is no baseline). */
const LAST_EXCESS_SLOT = 7;
const SPIKE_SIGMAS_SLOT = 8;
const SPIKE_RATIO_SLOT = 9;
const SIGMA_FLOOR_SLOT = 10;
/** The ring of recent clean digests starts here. */
const RING_SLOT = 11;

/**
 * Watches the objective stream for instability: non-finite values, held spikes, divergence from
 * the baseline window, and trips that keep coming back.
 *
 * @remarks
 * Performance: {@link InstabilityGovernor.observe} is O(1) and allocation-free (a `Float64Array`
 * ring of recent clean digests with a sliding mean/variance, recomputed exactly once per ring lap
 * so rounding never accumulates); {@link InstabilityGovernor.closeWindow} is O(1) too. Time is
 * passed in (`now`, ms); there is no clock inside.
 *
 * Anomalous digests (those the spike rule flags) never enter the statistics, so a burst cannot
 * raise the mean and σ it is judged against, nor make normal values look anomalous afterwards.
 * Every finite digest does count towards the current window's mean for the divergence rule.
 *
 * A finite value beyond ±`STATISTIC_LIMIT` (1e150) is an outlier: adding or squaring it would
 * overflow the statistics to ±Infinity or NaN and switch both rules off for good. It never enters
 * the clean history, counts in the window's mean at the bound (such a window never becomes the
 * baseline), and a positive one (worse than any
 * measurement) is anomalous whatever the history holds, so a run of them trips "spike"; a negative
 * one is neither clean nor part of a spike run ({@link InstabilityGovernor.outlier} says so).
 *
 * Divergence compares the mean of each closed window with the baseline window: the first window
 * closed, after construction, {@link InstabilityGovernor.resetBaseline} or
 * {@link InstabilityGovernor.reset}, once the clean history holds `minHistory` digests. A window is worse when
 * `mean − baseline > max(divergenceThreshold·|baseline|, divergenceSigmas·σ₀)`, σ₀ being the clean
 * digests' σ when the baseline was taken. Call `resetBaseline()` when the operator sets a new
 * baseline: a level change the operator accepted is not divergence. A rollback returns to the
 * configuration the baseline window was measured at, so it calls `restart()`, which keeps it.
 *
 * Each trip is remembered in a ring of its times; when a trip is the `repeatLimit`-th within
 * `repeatPeriodMs`, the code returned is `RepeatedTrips` instead of the rule's own code. Trips are
 * not latched: after handling one, the caller decides whether to keep feeding (after a rollback,
 * with `restart()`); the trip history survives `reset()` and `restart()` and is cleared only by
 * {@link InstabilityGovernor.clearTrips}.
 */
export class InstabilityGovernor {
  /** The options in force, defaults filled in. */
  readonly options: ResolvedGovernorOptions;

  /**
   * Every number a digest reads or writes, at the `*_SLOT` indices: the digest being observed
   * (value, time), the open window's sum, the clean history's mean and M2, the baseline window,
   * the options the digest path uses, then the ring of recent clean digests (`historySize` slots
   * from `RING_SLOT`). One contiguous array, because V8 keeps each double field of an object
   * in a heap number of its own: separate fields would put every digest on several scattered cache
   * lines, which with thousands of engines per process are mostly misses.
   */
  private readonly num: Float64Array;
  /**
   * Where a caller writes the value of the digest to observe before
   * {@link InstabilityGovernor.observeInputReadingClock} (a view of `num`'s value slot). A number
   * handed over as an argument of a call V8 does not inline is boxed (16 bytes per digest); a
   * store into a Float64Array never is.
   */
  readonly input: Float64Array;
  private readonly ringSize: number;
  /** `options.minHistory`, read by every digest: kept here rather than one object further away. */
  private readonly minHistory: number;
  private ringNext = 0;
  private inputClock: TimeReader | undefined = undefined;
  private ringCount = 0;
  private spikeRun = 0;
  /** When the current run of anomalous digests began. */
  private spikeSince = 0;

  private windowCount = 0;
  /** Whether the open window holds an outlier (its mean then says nothing about the level). */
  private windowOutlier = false;
  private hasBaseline = false;
  private badWindows = 0;

  /** Trip times, for "the `repeatLimit`-th trip within `repeatPeriodMs`". */
  private readonly trips: EventRate;

  /** Code of the rule behind the last trip (before any `RepeatedTrips` escalation); 0 if none. */
  lastRule: GovernorCode = GovernorCode.Healthy;

  /** Whether the last value observed was finite but beyond ±`STATISTIC_LIMIT` (see the class remarks). */
  outlier = false;

  /** @throws RangeError listing every invalid option. */
  constructor(options: InstabilityGovernorOptions = {}) {
    throwOnIssues("governor", instabilityGovernorOptionIssues(options));
    this.options = Object.freeze(resolveOptions(options));
    this.ringSize = this.options.historySize;
    this.minHistory = this.options.minHistory;
    this.num = new Float64Array(RING_SLOT + this.ringSize);
    this.input = this.num.subarray(VALUE_SLOT, VALUE_SLOT + 1);
    this.num[SPIKE_SIGMAS_SLOT] = this.options.spikeSigmas;
    this.num[SPIKE_RATIO_SLOT] = this.options.spikeRatio;
    this.num[SIGMA_FLOOR_SLOT] = this.options.sigmaFloor;
    this.trips = new EventRate(this.options.repeatLimit, this.options.repeatPeriodMs);
  }

  /** Mean of the clean history (0 while empty). */
  get cleanMean(): number {
    return this.num[MEAN_SLOT]!;
  }

  /** Sample standard deviation of the clean history (0 with fewer than 2 values). */
  get cleanSigma(): number {
    return this.ringCount > 1 ? Math.sqrt(Math.max(0, this.num[M2_SLOT]! / (this.ringCount - 1))) : 0;
  }

  /** Number of clean digests currently in the history. */
  get cleanCount(): number {
    return this.ringCount;
  }

  /** Consecutive anomalous digests so far (0 after a clean one or a spike trip). */
  get anomalousRun(): number {
    return this.spikeRun;
  }

  /** Whether the baseline window (the known-good level) has been taken. */
  get baselineKnown(): boolean {
    return this.hasBaseline;
  }

  /** Consecutive closed windows worse than the baseline so far. */
  get worseWindows(): number {
    return this.badWindows;
  }

  /** How far the last closed window's mean was above the baseline window's (0 before a baseline exists). */
  get lastWindowExcess(): number {
    return this.num[LAST_EXCESS_SLOT]!;
  }

  /**
   * The noise band of the baseline's level: `divergenceSigmas`·σ₀ (at least `sigmaFloor`). A level
   * within it is the baseline's; the divergence margin is wider (it also allows a fraction of the
   * level), so a level creeping up inside the margin is not at the baseline's level.
   */
  get levelTolerance(): number {
    return Math.max(this.options.divergenceSigmas * this.num[BASELINE_SIGMA_SLOT]!, this.options.sigmaFloor);
  }

  /** Total trips remembered in the repeat ring (at most `repeatLimit`). */
  get recordedTrips(): number {
    return this.trips.recorded;
  }

  /**
   * Feeds one digest's objective at time `now` (ms) and returns the verdict.
   *
   * @remarks O(1), allocation-free.
   */
  observe(value: number, now: number): GovernorCode {
    // Small enough for V8 to inline into the digest path: the numbers reach the body through slots
    // of `num`, not as arguments, which would box them (16 bytes each per digest).
    this.num[VALUE_SLOT] = value;
    this.num[NOW_SLOT] = now;
    this.inputClock = undefined;
    return this.observeInput();
  }

  /**
   * {@link observe}, with the time read from `clock` only when a rule needs it (a trip), so a
   * digest that trips nothing reads no clock (a wall-clock read allocates a heap number on Node 20).
   * `clock` must answer the same time for the whole call.
   */
  observeReadingClock(value: number, clock: TimeReader): GovernorCode {
    this.num[VALUE_SLOT] = value;
    return this.observeInputReadingClock(clock);
  }

  /**
   * {@link observeReadingClock} for the value the caller wrote to `input[0]`: no number crosses
   * the call, so nothing is boxed whether or not V8 inlines it (the digest path's form).
   */
  observeInputReadingClock(clock: TimeReader): GovernorCode {
    // The engine passes the same reader with every digest. Storing it again would still run the
    // write barrier, which calls into the GC (~60 instructions) whenever the reader is younger
    // than the governor, and in a process that no longer allocates it stays younger for good.
    if (this.inputClock !== clock) this.inputClock = clock;
    return this.observeInput();
  }

  /** The time of the digest being observed. */
  private inputTime(): number {
    return this.inputClock === undefined ? this.num[NOW_SLOT]! : this.inputClock.now();
  }

  private observeInput(): GovernorCode {
    const value = this.num[VALUE_SLOT]!;
    if (!Number.isFinite(value)) {
      this.outlier = false;
      this.spikeRun = 0;
      return this.trip(GovernorCode.NonFinite, this.inputTime());
    }
    this.windowCount += 1;
    if (!withinStatisticRange(value)) {
      this.outlier = true;
      this.windowOutlier = true;
      const positive = value > 0;
      this.num[WINDOW_SUM_SLOT]! += positive ? STATISTIC_LIMIT : -STATISTIC_LIMIT;
      return positive ? this.anomalous(this.inputTime()) : GovernorCode.Healthy;
    }
    this.outlier = false;
    const num = this.num;
    num[WINDOW_SUM_SLOT]! += value;
    if (this.ringCount >= this.minHistory) {
      // cleanSigma, written out: a getter V8 may not inline would box the double it returns.
      const count = this.ringCount;
      const clean = count > 1 ? Math.sqrt(Math.max(0, num[M2_SLOT]! / (count - 1))) : 0;
      const sigma = Math.max(clean, num[SIGMA_FLOOR_SLOT]!);
      const mean = num[MEAN_SLOT]!;
      const ratio = num[SPIKE_RATIO_SLOT]!;
      if (
        value > mean + num[SPIKE_SIGMAS_SLOT]! * sigma &&
        // m times worse: above m × mean, or for a mean below 0 (a negated throughput) above mean / m.
        value > (mean >= 0 ? ratio * mean : mean / ratio) &&
        (!this.options.spikeBeyondBaseline ||
          !this.hasBaseline ||
          value - num[BASELINE_MEAN_SLOT]! > this.baselineMargin())
      )
        return this.anomalous(this.inputTime());
    }
    this.spikeRun = 0;
    this.pushClean();
    return GovernorCode.Healthy;
  }

  /**
   * Closes the current evaluation window (the digests observed since the last close) at time `now`.
   * The first window closed with `minHistory` clean digests in the history, and no outlier in
   * it, becomes the baseline (earlier ones are skipped). An empty window changes nothing.
   *
   * @remarks O(1), allocation-free; call at window cadence.
   */
  closeWindow(now: number): GovernorCode {
    if (this.windowCount === 0) return GovernorCode.Healthy;
    const mean = this.num[WINDOW_SUM_SLOT]! / this.windowCount;
    const outlier = this.windowOutlier;
    this.num[WINDOW_SUM_SLOT] = 0;
    this.windowCount = 0;
    this.windowOutlier = false;
    this.num[LAST_EXCESS_SLOT] = this.hasBaseline ? mean - this.num[BASELINE_MEAN_SLOT]! : 0;
    if (!this.hasBaseline) {
      // The baseline needs a σ from a real history, and a level no outlier distorts: windows
      // closed before that are skipped.
      if (this.ringCount < this.options.minHistory || outlier) return GovernorCode.Healthy;
      this.hasBaseline = true;
      this.num[BASELINE_MEAN_SLOT] = mean;
      this.num[BASELINE_SIGMA_SLOT] = this.cleanSigma;
      this.badWindows = 0;
      return GovernorCode.Healthy;
    }
    if (mean - this.num[BASELINE_MEAN_SLOT]! > this.baselineMargin()) {
      this.badWindows += 1;
      if (this.badWindows >= this.options.divergenceWindows) {
        this.badWindows = 0;
        return this.trip(GovernorCode.Divergence, now);
      }
    } else {
      this.badWindows = 0;
    }
    return GovernorCode.Healthy;
  }

  /**
   * Forgets the baseline window, the divergence count and the open window: the next closed window
   * becomes the new baseline. Call when the engine's baseline moves. Keeps the clean history.
   */
  resetBaseline(): void {
    this.hasBaseline = false;
    this.badWindows = 0;
    this.num[WINDOW_SUM_SLOT] = 0;
    this.windowCount = 0;
    this.windowOutlier = false;
  }

  /**
   * Forgets all statistics (clean history, spike run, baseline, open window), e.g. when a new
   * level is adopted, but keeps the trip history so repeated trips still escalate.
   */
  reset(): void {
    this.restart();
    this.resetBaseline();
  }

  /**
   * Forgets the clean history, the spike run, the open window and the divergence count, but keeps
   * the baseline window: after a rollback to the configuration the baseline was measured at, the
   * known-good level still holds, and re-measuring it there could adopt a level the tuner's
   * regression left behind (a debt still draining). The trip history is kept too.
   */
  restart(): void {
    this.ringNext = 0;
    this.ringCount = 0;
    this.num[MEAN_SLOT] = 0;
    this.num[M2_SLOT] = 0;
    this.spikeRun = 0;
    this.badWindows = 0;
    this.num[WINDOW_SUM_SLOT] = 0;
    this.windowCount = 0;
  }

  /** Forgets the trip history (an operator's acknowledged reset). */
  clearTrips(): void {
    this.trips.clear();
    this.lastRule = GovernorCode.Healthy;
  }

  /** How much worse than the baseline window's mean a value must be to count as worse. */
  private baselineMargin(): number {
    const o = this.options;
    return Math.max(
      o.divergenceThreshold * Math.abs(this.num[BASELINE_MEAN_SLOT]!),
      o.divergenceSigmas * this.num[BASELINE_SIGMA_SLOT]!,
    );
  }

  /**
   * Takes back the latest trip (its caller judged it was not the tuner's doing, e.g. an
   * environment shift at a configuration that had proved itself), so it does not count toward repeated trips,
   * and adopts the current level: the clean statistics restart from the next digest.
   */
  retractLastTrip(): void {
    this.trips.retractLast();
    this.lastRule = GovernorCode.Healthy;
    this.reset();
  }

  /**
   * A spike its caller found held at the tuner's perturbed points rather than in consecutive
   * digests (`spikeHold` tries in a row anomalous there, the centre clean between them): counted
   * as a spike trip, toward `repeatLimit` like any other.
   */
  tripHeldAtPerturbations(now: number): GovernorCode {
    this.spikeRun = 0;
    return this.trip(GovernorCode.Spike, now);
  }

  /** One more anomalous digest in a row: a spike once `spikeHold` of them are held for `spikeHoldMs`. */
  private anomalous(now: number): GovernorCode {
    if (this.spikeRun++ === 0) this.spikeSince = now;
    const o = this.options;
    if (this.spikeRun < o.spikeHold || now - this.spikeSince < o.spikeHoldMs) return GovernorCode.Healthy;
    this.spikeRun = 0;
    return this.trip(GovernorCode.Spike, now);
  }

  private trip(rule: GovernorCode, now: number): GovernorCode {
    this.lastRule = rule;
    return this.trips.record(now) >= this.trips.limit ? GovernorCode.RepeatedTrips : rule;
  }

  /** Adds the value being observed (`inputValue`: as an argument it could be boxed) to the history. */
  private pushClean(): void {
    const num = this.num;
    const value = num[VALUE_SLOT]!;
    const size = this.ringSize;
    let mean = num[MEAN_SLOT]!;
    let m2 = num[M2_SLOT]!;
    if (this.ringCount === size) {
      // Sliding removal of the value being overwritten (Welford in reverse).
      const old = num[RING_SLOT + this.ringNext]!;
      const n = this.ringCount - 1;
      const d = old - mean;
      mean -= d / n;
      m2 -= d * (old - mean);
      this.ringCount = n;
    }
    num[RING_SLOT + this.ringNext] = value;
    this.ringNext = this.ringNext + 1 === size ? 0 : this.ringNext + 1;
    const n = this.ringCount + 1;
    const d = value - mean;
    mean += d / n;
    m2 += d * (value - mean);
    num[MEAN_SLOT] = mean;
    num[M2_SLOT] = m2;
    this.ringCount = n;
    if (this.ringNext === 0 && n === size) this.recompute();
  }

  /** Exact two-pass mean and M2 over the full ring, once per lap, so sliding rounding cannot drift. */
  private recompute(): void {
    const num = this.num;
    const size = this.ringSize;
    let sum = 0;
    for (let i = 0; i < size; i++) sum += num[RING_SLOT + i]!;
    const mean = sum / size;
    let m2 = 0;
    for (let i = 0; i < size; i++) {
      const d = num[RING_SLOT + i]! - mean;
      m2 += d * d;
    }
    num[MEAN_SLOT] = mean;
    num[M2_SLOT] = m2;
  }
}
