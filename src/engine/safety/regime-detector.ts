import type { ConfigIssue } from "../../errors.js";
import * as statisticRange from "../statistic-range.js";
import { type NumericRule, numericOptionIssues, throwOnIssues, withDefaults } from "./option-issues.js";

// A module-local copy for the per-digest path (see instability-governor.ts for why).
const { withinStatisticRange } = statisticRange;

/** Which point was live when a digest was measured (what the SPSA cycle had applied last). */
export const PointKind = { Centre: 0, Plus: 1, Minus: 2 } as const;

/** One of the {@link PointKind} codes. */
export type PointKind = (typeof PointKind)[keyof typeof PointKind];

/** What {@link RegimeDetector.observe} saw in one digest. */
export const RegimeSignal = {
  /** Nothing to act on (in control, learning the level, or a rise not yet significant). */
  Quiet: 0,
  /** The objective rose significantly: call {@link RegimeDetector.classify} for the verdict. */
  Rise: 1,
  /** The objective fell significantly (things got better): the detector re-learns the level by itself. */
  Fall: 2,
} as const;

/** One of the {@link RegimeSignal} codes. */
export type RegimeSignal = (typeof RegimeSignal)[keyof typeof RegimeSignal];

/** Who moved the objective, as {@link RegimeDetector.classify} judges it. */
export const RegimeVerdict = {
  /** No rise under way. */
  None: 0,
  /** The environment shifted: the rise is seen at the centre and on both sides alike, and the tuner stood (nearly) still. */
  Exogenous: 1,
  /** The tuner caused it: the rise follows its move, or shows on one side of the perturbation only. */
  Caused: 2,
} as const;

/** One of the {@link RegimeVerdict} codes. */
export type RegimeVerdict = (typeof RegimeVerdict)[keyof typeof RegimeVerdict];

const VERDICT_NAMES: readonly string[] = ["none", "exogenous", "caused"];

/** Audit name of a {@link RegimeVerdict} ("exogenous", "caused"), or "unknown". */
export function regimeVerdictName(code: number): string {
  return Number.isInteger(code) && code >= 0 && code < VERDICT_NAMES.length
    ? VERDICT_NAMES[code]!
    : "unknown";
}

/** Tuning of the {@link RegimeDetector}; every field is optional (see {@link DEFAULT_REGIME_OPTIONS}). */
export interface RegimeDetectorOptions {
  /** Digests used to (re)learn the level (median) and scale (MAD) after construction and after each shift. */
  readonly warmup?: number;
  /** CUSUM slack k, in σ: deviations smaller than this never accumulate. */
  readonly slack?: number;
  /** CUSUM threshold h, in σ: a side whose sum exceeds it signals a shift. */
  readonly threshold?: number;
  /** Largest standardised deviation one digest adds (in σ), so a lone outlier cannot signal alone. */
  readonly clip?: number;
  /** Rate at which the level and scale follow the objective while it is in control (per digest). */
  readonly levelRate?: number;
  /** Each point kind's mean rise must be at least this share of the largest kind's for "alike". */
  readonly alikeShare?: number;
  /** Most centre displacement (in maxDeltas, per parameter) under which a rise can be the environment's. */
  readonly reach?: number;
  /** Digests after a rise before it is judged with the kinds seen so far (normally all three come sooner). */
  readonly confirmLimit?: number;
}

/** The detector's options with every field resolved. */
export type ResolvedRegimeOptions = Required<RegimeDetectorOptions>;

/**
 * Defaults, tuned on the development half of B5: a slack of k = 3σ, a threshold of 20σ with each
 * digest adding at most clip − k = 7σ (a large shift is seen within 3 digests; two outliers in a
 * row are not enough), a 24-digest warm-up, and a tuner displacement of up to half a maxDelta
 * under which an alike rise is the environment's.
 */
export const DEFAULT_REGIME_OPTIONS: ResolvedRegimeOptions = Object.freeze({
  warmup: 24,
  slack: 3,
  threshold: 20,
  clip: 10,
  levelRate: 1 / 32,
  alikeShare: 0.5,
  reach: 0.5,
  confirmLimit: 30,
});

const isCount = (x: number): boolean => Number.isInteger(x) && x >= 1 && x <= 1_000_000;
const isPositive = (x: number): boolean => Number.isFinite(x) && x > 0;

const RULES: Readonly<Record<keyof ResolvedRegimeOptions, NumericRule>> = {
  warmup: [(x) => isCount(x) && x >= 4 && x <= 4096, "must be a whole number from 4 to 4096"],
  slack: [(x) => Number.isFinite(x) && x >= 0, "must be a finite number ≥ 0 (σ)"],
  threshold: [isPositive, "must be a finite number > 0 (σ)"],
  clip: [isPositive, "must be a finite number > 0 (σ)"],
  levelRate: [(x) => x > 0 && x <= 1, "must be in (0, 1]"],
  alikeShare: [(x) => x >= 0 && x <= 1, "must be in [0, 1]"],
  reach: [(x) => Number.isFinite(x) && x >= 0, "must be a finite number ≥ 0 (maxDeltas)"],
  confirmLimit: [isCount, "must be a whole number from 1 to 1000000"],
};

/** Every problem with regime-detector options, each with its path under `path`; empty when valid. */
export function regimeDetectorOptionIssues(input: unknown, path = "regime"): ConfigIssue[] {
  const issues = numericOptionIssues(input, RULES, path, "regime-detector options");
  if (issues.length === 0 && input !== undefined) {
    const o = withDefaults(DEFAULT_REGIME_OPTIONS, input as RegimeDetectorOptions);
    if (o.clip <= o.slack) issues.push({ path: `${path}.clip`, message: "must be greater than slack" });
  }
  return issues;
}

// Slots of RegimeDetector.num (see there).
const INPUT_SLOT = 0;
const LEVEL_SLOT = 1;
const SCALE_SLOT = 2;
const UP_SLOT = 3;
const DOWN_SLOT = 4;
const SLACK_SLOT = 5;
const CLIP_SLOT = 6;
const THRESHOLD_SLOT = 7;
const LEVEL_RATE_SLOT = 8;
/** Three counts, one per point kind, then three summed excesses. */
const KIND_COUNT_SLOT = 9;
const KIND_EXCESS_SLOT = 12;
const SLOTS = 15;

/** 1 / Φ⁻¹(3/4): turns a median absolute deviation into a Gaussian σ. */
const MAD_TO_SIGMA = 1.4826;
/** √(π/2): turns a mean absolute deviation into a Gaussian σ. */
const MEAN_ABS_TO_SIGMA = 1.2533;

/**
 * Tells a shift of the objective's level apart from noise (a two-sided CUSUM on the standardised
 * objective), and a shift of the environment from a regression the tuner caused.
 *
 * @remarks
 * Level μ and scale σ are learnt robustly (median, MAD) over the last `warmup` digests once they
 * hold every point kind (centre, plus and minus: the cycle's own spread), then follow the
 * objective slowly (`levelRate`) while it is in control, so slow drift and convergence are not
 * shifts. Each digest adds z = clamp((y − μ)/σ, ±clip) to the two sums S⁺ = max(0, S⁺ + z − k)
 * and S⁻ = max(0, S⁻ − z − k); a sum above the threshold h signals a rise or a fall. The rise's
 * onset is where S⁺ last left zero; from there the detector keeps each point kind's mean rise
 * (centre, plus side, minus side).
 *
 * The verdict ({@link classify}) follows issue 11: an environment shift moves the objective at
 * every point alike, wherever the tuner stands, so a rise seen at the centre and on both
 * perturbation sides alike, while the centre stayed within `reach` maxDeltas of where it stood at
 * the onset, is exogenous; a rise that follows a larger move of the centre, or that shows on one
 * side only (the perturbation did it), is the tuner's. A fall needs no verdict (better is never
 * the tuner's fault): the detector re-learns the level.
 *
 * Performance: {@link observe} is O(1) and allocation-free, except the re-learning at the end of a
 * warm-up (a sort of `warmup` values in preallocated arrays). Options are validated
 * ({@link regimeDetectorOptionIssues}); there is no clock inside.
 */
export class RegimeDetector {
  /** The options in force, defaults filled in. */
  readonly options: ResolvedRegimeOptions;

  /** The last warm-up values, a ring of `warmup` slots, and the point kind of each. */
  private readonly warm: Float64Array;
  private readonly warmKinds: Uint8Array;
  /** How many of the ring's values were measured at each point kind. */
  private readonly warmKindCounts = new Int32Array(3);
  private readonly scratch: Float64Array;
  /** Values in the ring (at most `warmSize`), and the slot the next one goes to. */
  private warmCount = 0;
  private warmNext = 0;
  /** Whether the level and scale are learnt. */
  private learnt = false;
  /** `warm.length`, read by every digest: here it costs no visit to the array's own object. */
  private readonly warmSize: number;
  /**
   * Every number a digest reads or writes, at the `*_SLOT` indices: the objective being observed,
   * level, scale, the two CUSUM sums, the options the digest path uses, and each point kind's count
   * and summed excess since a rise's onset. One contiguous array, because V8 keeps each double
   * field of an object in a heap number of its own: separate fields would put every digest on
   * several scattered cache lines, which with thousands of engines per process are mostly misses.
   */
  private readonly num = new Float64Array(SLOTS);
  /**
   * Where a caller writes the objective to feed before {@link RegimeDetector.observeInput} (a view
   * of `num`'s input slot): a number passed as an argument of a call V8 does not inline is boxed
   * (16 bytes per digest), a store into a Float64Array never is.
   */
  readonly input = this.num.subarray(INPUT_SLOT, INPUT_SLOT + 1);
  /** Digests since the rise's onset (0: no rise under way). */
  private riseAge = 0;
  private alarmed = false;
  private extreme = false;
  private beyondSide = 0;

  /** Rises judged exogenous so far. */
  shifts = 0;
  /** Rises judged caused by the tuner so far. */
  regressions = 0;
  /** Falls seen so far. */
  falls = 0;

  /** @throws RangeError listing every invalid option. */
  constructor(options: RegimeDetectorOptions = {}) {
    throwOnIssues("regime detector", regimeDetectorOptionIssues(options));
    this.options = Object.freeze(withDefaults(DEFAULT_REGIME_OPTIONS, options));
    this.warm = new Float64Array(this.options.warmup);
    this.warmKinds = new Uint8Array(this.options.warmup);
    this.warmSize = this.options.warmup;
    this.scratch = new Float64Array(this.options.warmup);
    this.num[SLACK_SLOT] = this.options.slack;
    this.num[CLIP_SLOT] = this.options.clip;
    this.num[THRESHOLD_SLOT] = this.options.threshold;
    this.num[LEVEL_RATE_SLOT] = this.options.levelRate;
  }

  /** Whether the level is known (warm-up complete). */
  get ready(): boolean {
    return this.learnt;
  }

  /** The level the objective is compared with (NaN while warming up). */
  get referenceLevel(): number {
    return this.ready ? this.num[LEVEL_SLOT]! : Number.NaN;
  }

  /** The objective's scale σ (NaN while warming up). */
  get sigma(): number {
    return this.ready ? this.num[SCALE_SLOT]! : Number.NaN;
  }

  /** Whether the objective is in control: known level and no rise or fall accumulating. */
  get inControl(): boolean {
    return this.ready && this.num[UP_SLOT]! === 0 && this.num[DOWN_SLOT]! === 0;
  }

  /** Whether a fall is under way: the fall's CUSUM sum S⁻ is above zero (the level known). */
  get falling(): boolean {
    return this.ready && this.num[DOWN_SLOT]! > 0;
  }

  /** Whether a rise is under way (its onset passed; it may not have signalled yet). */
  get rising(): boolean {
    return this.riseAge > 0;
  }

  /**
   * Whether the last digest was at least `clip` σ from the level and started an excursion (the
   * objective was in control before it): a gradient estimate built on it may straddle a shift
   * (one side measured before it, the other after), and is no estimate.
   */
  get lastExtreme(): boolean {
    return this.extreme;
  }

  /**
   * 1 when the last digest was at least `clip` σ above the level, −1 when as far below, else 0,
   * whether or not it started an excursion: in a window of many digests, how many were after an
   * excursion started tells a lone outlier (which a trimmed mean drops) from a shift that moved
   * most of the window.
   */
  get lastBeyondSide(): number {
    return this.beyondSide;
  }

  /** The rise's CUSUM sum S⁺, in σ. */
  get riseSum(): number {
    return this.num[UP_SLOT]!;
  }

  /**
   * Feeds one finite objective measured at a point of kind `kind`. Returns {@link RegimeSignal.Rise}
   * on every digest from the one that crossed the threshold until {@link classify} is called.
   *
   * @remarks O(1), allocation-free (see the class remarks for the warm-up).
   */
  observe(y: number, kind: PointKind): RegimeSignal {
    // Small enough for V8 to inline into the digest path: `y` reaches the large body through its
    // slot in `num`, not as an argument, which would box it (16 bytes per digest).
    this.num[INPUT_SLOT] = y;
    return this.observeInput(kind);
  }

  /** {@link observe} for the objective the caller wrote to `input[0]` (the digest path's form). */
  observeInput(kind: PointKind): RegimeSignal {
    const n = this.num;
    const y = n[INPUT_SLOT]!;
    this.extreme = false;
    this.beyondSide = 0;
    // Beyond ±1e150 (or not finite) a value would overflow the level and the scale to ±Infinity,
    // and every later z would be NaN: the detector would never see a shift again. The governor
    // judges such a value; the detector leaves it out.
    if (!withinStatisticRange(y)) return RegimeSignal.Quiet;
    if (!this.learnt) {
      this.warmUp(kind);
      return RegimeSignal.Quiet;
    }
    const clip = n[CLIP_SLOT]!;
    const slack = n[SLACK_SLOT]!;
    const threshold = n[THRESHOLD_SLOT]!;
    const r = y - n[LEVEL_SLOT]!;
    let z = r / n[SCALE_SLOT]!;
    const upBefore = n[UP_SLOT]!;
    const downBefore = n[DOWN_SLOT]!;
    // Only the digest that starts an excursion: a lasting one-sided extreme (the tuner probing a
    // cliff) must still be measured, or the cycle would never finish an iteration there. "Starts"
    // means no extreme digest fed this side's sum lately (one leaves clip − slack in it): noise
    // and the perturbation's own cost keep the sums above zero much of the time, and a shift that
    // lands then, between the two sides of an estimate, must not become a full-budget step.
    const lately = clip - slack;
    this.beyondSide = z >= clip ? 1 : z <= -clip ? -1 : 0;
    this.extreme = this.beyondSide > 0 ? upBefore < lately : this.beyondSide < 0 && downBefore < lately;
    if (z > clip) z = clip;
    else if (z < -clip) z = -clip;
    const up = Math.max(0, upBefore + z - slack);
    const down = Math.max(0, downBefore - z - slack);
    n[UP_SLOT] = up;
    n[DOWN_SLOT] = down;
    if (up > 0) {
      // A jump that starts an excursion is the rise's onset, whatever small sum noise had left.
      if (upBefore === 0 || (this.extreme && r > 0)) this.startRise();
      this.riseAge++;
      n[KIND_COUNT_SLOT + kind]! += 1;
      n[KIND_EXCESS_SLOT + kind]! += r;
    } else this.riseAge = 0;
    if (up > threshold) this.alarmed = true;
    if (this.alarmed) return RegimeSignal.Rise;
    if (down > threshold) {
      this.falls++;
      this.relearn();
      return RegimeSignal.Fall;
    }
    if (up < 0.5 * slack && down < 0.5 * slack) {
      // In control: follow slow drift and convergence with clipped (Huber-like) updates.
      const rate = n[LEVEL_RATE_SLOT]!;
      const scale = n[SCALE_SLOT]!;
      const c = clip * scale;
      const rc = r > c ? c : r < -c ? -c : r;
      const level = n[LEVEL_SLOT]! + rate * rc;
      n[LEVEL_SLOT] = level;
      const abs = Math.abs(rc) * MEAN_ABS_TO_SIGMA;
      // scaleFloor(), written out: a call V8 may not inline would box the double it returns.
      const floor = Math.max(1e-12, 1e-9 * Math.abs(level));
      n[SCALE_SLOT] = Math.max(floor, scale + rate * (abs - scale));
    }
    return RegimeSignal.Quiet;
  }

  /** Whether the signalled rise should be judged now: every kind seen since its onset, or `confirmLimit` digests passed. */
  get confirmable(): boolean {
    if (!this.alarmed) return false;
    const n = this.num;
    return (
      (n[KIND_COUNT_SLOT]! > 0 && n[KIND_COUNT_SLOT + 1]! > 0 && n[KIND_COUNT_SLOT + 2]! > 0) ||
      this.riseAge >= this.options.confirmLimit
    );
  }

  /**
   * The verdict on the rise under way, given how far the centre moved since the onset
   * (`displacement`, the largest per-parameter move in maxDeltas). Judges with the kinds seen so
   * far; after a verdict other than None the detector re-learns the level from the next digest.
   */
  classify(displacement: number): RegimeVerdict {
    if (this.riseAge === 0) return RegimeVerdict.None;
    const verdict = this.judge(displacement);
    if (verdict === RegimeVerdict.Exogenous) this.shifts++;
    else this.regressions++;
    this.relearn();
    return verdict;
  }

  /** The rise's mean excess over the level, in σ, over the digests since its onset (0 when none). */
  get riseSigmas(): number {
    const s = this.num;
    const n = s[KIND_COUNT_SLOT]! + s[KIND_COUNT_SLOT + 1]! + s[KIND_COUNT_SLOT + 2]!;
    if (n === 0 || !(s[SCALE_SLOT]! > 0)) return 0;
    return (s[KIND_EXCESS_SLOT]! + s[KIND_EXCESS_SLOT + 1]! + s[KIND_EXCESS_SLOT + 2]!) / n / s[SCALE_SLOT]!;
  }

  /**
   * The mean objective of the rise's digests measured at points of kind `kind` since its onset
   * (NaN when none was, or the level is unknown): where the shift took the objective at that point.
   */
  riseLevelAt(kind: PointKind): number {
    const n = this.num;
    const count = n[KIND_COUNT_SLOT + kind]!;
    return count > 0 && this.ready ? n[LEVEL_SLOT]! + n[KIND_EXCESS_SLOT + kind]! / count : Number.NaN;
  }

  /** Bit set of the point kinds seen since the rise's onset (bit 0 centre, 1 plus, 2 minus). */
  get kindsSeen(): number {
    const n = this.num;
    return (
      (n[KIND_COUNT_SLOT]! > 0 ? 1 : 0) |
      (n[KIND_COUNT_SLOT + 1]! > 0 ? 2 : 0) |
      (n[KIND_COUNT_SLOT + 2]! > 0 ? 4 : 0)
    );
  }

  /**
   * Keeps the input in the warm-up ring, and learns once the ring is full and holds every point
   * kind: a level learnt at one point (a paused cycle, or telemetry so fast that many digests
   * measure each point) took the other points' own cost for a shift, every time the cycle moved.
   * The value is read from its slot, not passed: as an argument it could be boxed.
   */
  private warmUp(kind: PointKind): void {
    const y = this.num[INPUT_SLOT]!;
    const i = this.warmNext;
    const counts = this.warmKindCounts;
    if (this.warmCount === this.warmSize) counts[this.warmKinds[i]!]! -= 1;
    else this.warmCount++;
    this.warm[i] = y;
    this.warmKinds[i] = kind;
    counts[kind]! += 1;
    this.warmNext = i + 1 === this.warmSize ? 0 : i + 1;
    if (this.warmCount === this.warmSize && counts[0]! > 0 && counts[1]! > 0 && counts[2]! > 0) {
      this.learnt = true;
      this.learn();
    }
  }

  /** Forgets the level and any rise: the next `warmup` digests (of every point kind) re-learn it. */
  relearn(): void {
    this.learnt = false;
    this.warmCount = 0;
    this.warmNext = 0;
    this.warmKindCounts.fill(0);
    this.num[UP_SLOT] = 0;
    this.num[DOWN_SLOT] = 0;
    this.riseAge = 0;
    this.alarmed = false;
  }

  private judge(displacement: number): RegimeVerdict {
    if (!(displacement <= this.options.reach)) return RegimeVerdict.Caused;
    let largest = 0;
    for (let i = 0; i < 3; i++) {
      const n = this.num[KIND_COUNT_SLOT + i]!;
      if (n > 0) largest = Math.max(largest, this.num[KIND_EXCESS_SLOT + i]! / n);
    }
    if (!(largest > 0)) return RegimeVerdict.Caused;
    const floor = this.options.alikeShare * largest;
    for (let i = 0; i < 3; i++) {
      const n = this.num[KIND_COUNT_SLOT + i]!;
      if (n > 0 && this.num[KIND_EXCESS_SLOT + i]! / n < floor) return RegimeVerdict.Caused;
    }
    return RegimeVerdict.Exogenous;
  }

  private startRise(): void {
    this.riseAge = 0;
    this.num.fill(0, KIND_COUNT_SLOT, SLOTS);
  }

  /**
   * Level = median, scale = 1.4826 × MAD of the warm-up values, or 1.2533 × their mean absolute
   * deviation when the MAD is 0 (a noise-free objective measured in windows of several digests
   * repeats values, and more than half of them can sit on the median), floored.
   */
  private learn(): void {
    const s = this.scratch;
    s.set(this.warm);
    s.sort();
    const median = medianOfSorted(s);
    let absSum = 0;
    for (let i = 0; i < s.length; i++) {
      s[i] = Math.abs(this.warm[i]! - median);
      absSum += s[i]!;
    }
    s.sort();
    this.num[LEVEL_SLOT] = median;
    const mad = MAD_TO_SIGMA * medianOfSorted(s);
    const spread = mad > 0 ? mad : (MEAN_ABS_TO_SIGMA * absSum) / s.length;
    this.num[SCALE_SLOT] = Math.max(this.scaleFloor(), spread);
    this.num[UP_SLOT] = 0;
    this.num[DOWN_SLOT] = 0;
    this.riseAge = 0;
    this.alarmed = false;
  }

  /** A noise-free objective must not make every change a shift. */
  private scaleFloor(): number {
    return Math.max(1e-12, 1e-9 * Math.abs(this.num[LEVEL_SLOT]!));
  }
}

function medianOfSorted(s: Float64Array): number {
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : 0.5 * (s[m - 1]! + s[m]!);
}
