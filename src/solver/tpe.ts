import { Prng } from "../random/prng.js";
import type { Dimension } from "../space/space.js";
import { insertByBound, pickByBound } from "./lazy-score.js";
import { GaussianSource, ParzenMixture, sortByDimension } from "./parzen.js";
import type { Evaluation, Strategy, StrategyContext, StrategyState } from "./strategy.js";
import { TakenCells } from "./taken-cells.js";

/**
 * Tuning knobs of {@link createTpe}. Every field is optional. The defaults were chosen on the
 * solver's quality benchmark (20-point scrambled Sobol probe, then TPE to 100 evaluations, 200 for
 * the 5-D functions; Branin, Hartmann-6, Rastrigin-5, Ackley-5, Rosenbrock-5; 100–400 seeds).
 * Quoted figures are Hartmann-6 median regrets at 100 evaluations over 400 seeds.
 */
export interface TpeOptions {
  /**
   * Share of the history that forms the good set: k = ⌈gamma · n⌉ best points, clamped to
   * [{@link TpeOptions.minGood}, {@link TpeOptions.maxGood}]. Default 0.07 (7 of 100): 0.05
   * scored the same, 0.1 (Optuna's share) 0.067 against 0.050, and 0.15–0.25 were worse still —
   * larger good sets keep more basins alive but converge too slowly for such budgets.
   */
  readonly gamma?: number;
  /** Smallest good set. Default 2. */
  readonly minGood?: number;
  /** Largest good set (as in Optuna's min(⌈0.1·n⌉, 25)). Default 25. */
  readonly maxGood?: number;
  /** Candidates drawn from l(x) for each proposed point; the best l/g wins. Default 24. */
  readonly candidates?: number;
  /**
   * Weight of the prior kernel (centre 0.5, σ = 1 in every dimension) relative to the mean weight
   * of the observed kernels in the same mixture. Default 1.
   */
  readonly priorWeight?: number;
  /**
   * Good point of rank r (0 = best) among k gets weight (k − r)^rankExponent in l(x), so l
   * concentrates on the best points. 0 gives equal weights, as in Optuna. Default 3 (0.050,
   * against 0.074 with 1 and 0.126 with 0).
   */
  readonly rankExponent?: number;
  /**
   * Scale of the bandwidth floor ("magic clip"), `bandwidthFloor · n^(−1/d)` for a history of n
   * points (see {@link bandwidthFloor}): a share of the typical spacing of n points in the cube, so
   * kernels never collapse and yet tighten as the history grows. It is also the bandwidth of every
   * kernel of g(x). Default 0.045 (0.035–0.075 all scored 0.043–0.065; a fixed floor of 0.02–0.03
   * was worse on Branin, Optuna's 1/min(100, n + 2) much worse on every function).
   */
  readonly bandwidthFloor?: number;
  /**
   * Most history points in g(x): the newest `maxBadKernels` points of the history outside the good
   * set (plus the pending points) form g, so a proposal costs the same at trial 10,000 as at
   * trial `maxBadKernels`. Older points sit where TPE no longer samples and add almost nothing to g
   * there. Default 1024 (a budget up to 1,024 trials is unaffected).
   */
  readonly maxBadKernels?: number;
}

/** What a TPE run takes from its space rather than from its saved state. */
export interface TpeHooks {
  /**
   * The cell a unit-cube point falls in, as the solver would ask it (each int at its value's
   * position); absent where no draw can repeat a cell (see {@link cellHooks}). With it, a candidate whose cell is taken (see
   * {@link TakenCells}: measured, failed, pruned, pending) is passed over while another is left.
   */
  readonly cellOf?: ((u: readonly number[]) => readonly number[]) | undefined;
}

/**
 * The hooks of a TPE run on a space: its cells, when a point can fall in a measured one (every
 * coordinate that is always active is an int or a categorical; a float drawn from a kernel never
 * equals one measured before).
 */
export function cellHooks(space: {
  readonly dimensions: readonly Dimension[];
  cellOf(u: readonly number[]): readonly number[];
}): TpeHooks {
  const continuum = space.dimensions.some((d) => d.kind === "float" && d.when.length === 0);
  return { cellOf: continuum ? undefined : (u) => space.cellOf(u) };
}

/** {@link TpeOptions} with every default filled in. */
interface ResolvedOptions {
  readonly gamma: number;
  readonly minGood: number;
  readonly maxGood: number;
  readonly candidates: number;
  readonly priorWeight: number;
  readonly rankExponent: number;
  readonly bandwidthFloor: number;
  readonly maxBadKernels: number;
}

/** PRNG stream of this strategy, so it never shares a sequence with another user of the same seed. */
const PRNG_STREAM = 0x545045;

const STATE_VERSION = 1;

/** Draws allowed beyond `candidates` when every candidate so far repeated a pending point. */
const EXTRA_DRAWS = 1000;
/**
 * Draws from l allowed beyond `candidates` when every candidate so far fell in a taken cell, then
 * uniform draws: l's mass may sit on measured cells only, and the space may be used up.
 */
const EXTRA_CELL_DRAWS = 96;
const UNIFORM_CELL_DRAWS = 64;

function resolveOptions(options: TpeOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    gamma: options.gamma ?? 0.07,
    minGood: options.minGood ?? 2,
    maxGood: options.maxGood ?? 25,
    candidates: options.candidates ?? 24,
    priorWeight: options.priorWeight ?? 1,
    rankExponent: options.rankExponent ?? 3,
    bandwidthFloor: options.bandwidthFloor ?? 0.045,
    maxBadKernels: options.maxBadKernels ?? 1024,
  };
  const problems: string[] = [];
  const check = (ok: boolean, name: string, expected: string, value: number) => {
    if (!ok) problems.push(`${name} must be ${expected}, got ${value}`);
  };
  const { gamma, minGood, maxGood, candidates, priorWeight, rankExponent, bandwidthFloor, maxBadKernels } =
    resolved;
  check(gamma > 0 && gamma <= 1, "gamma", "in (0, 1]", gamma);
  check(Number.isInteger(minGood) && minGood >= 1, "minGood", "an integer ≥ 1", minGood);
  check(Number.isInteger(maxGood) && maxGood >= minGood, "maxGood", "an integer ≥ minGood", maxGood);
  check(Number.isInteger(candidates) && candidates >= 1, "candidates", "an integer ≥ 1", candidates);
  check(priorWeight > 0 && priorWeight < Infinity, "priorWeight", "finite and > 0", priorWeight);
  check(rankExponent >= 0 && rankExponent < Infinity, "rankExponent", "finite and ≥ 0", rankExponent);
  check(bandwidthFloor > 0 && bandwidthFloor <= 1, "bandwidthFloor", "in (0, 1]", bandwidthFloor);
  check(
    Number.isInteger(maxBadKernels) && maxBadKernels >= 1,
    "maxBadKernels",
    "an integer ≥ 1",
    maxBadKernels,
  );
  if (problems.length > 0) throw new RangeError(`invalid TPE options: ${problems.join("; ")}`);
  return resolved;
}

/**
 * The size of the good set for a history of n points: ⌈gamma · n⌉ clamped to [minGood, maxGood]
 * and to n.
 */
export function goodSetSize(n: number, options?: TpeOptions): number {
  // The defaults are resolved once: the mixed TPE asks for every group of every proposal.
  defaults ??= resolveOptions({});
  return goodCount(n, options === undefined ? defaults : resolveOptions(options));
}

let defaults: ResolvedOptions | undefined;

function goodCount(n: number, o: ResolvedOptions): number {
  // The tolerance keeps ⌈0.07 · 100⌉ at 7 despite 0.07 · 100 = 7.000000000000001 in binary.
  const share = Math.ceil(o.gamma * n - 1e-9);
  return Math.min(n, Math.max(o.minGood, Math.min(o.maxGood, share)));
}

/**
 * The smallest kernel bandwidth for a history of n points in d dimensions: `scale · ñ^(−1/d)`,
 * where ñ is n rounded down to a power of 2^(1/8) — so the floor moves in steps, about every 9 %
 * of growth, and g's cached kernel constants stay valid in between.
 */
export function bandwidthFloor(n: number, dimension: number, scale = 0.045): number {
  const rounded = 2 ** (Math.floor(8 * Math.log2(Math.max(n, 1))) / 8);
  return scale * rounded ** (-1 / dimension);
}

/** Ranking value: NaN (a failed evaluation) ranks with +∞, after every real value. */
function rankValue(value: number): number {
  return Number.isNaN(value) ? Number.POSITIVE_INFINITY : value;
}

function clampUnit(v: number): number {
  return v >= 0 ? (v <= 1 ? v : 1) : v < 0 ? 0 : 0.5; // NaN → centre
}

/**
 * Multivariate TPE behind {@link createTpe}.
 *
 * @remarks
 * Caches (the history mirror, the two mixtures) are derived from `context.history` alone, so they
 * are rebuilt after a restore and never serialised; caching never changes a result.
 */
class Tpe implements Strategy {
  readonly name = "tpe" as const;

  private readonly d: number;
  private readonly options: ResolvedOptions;
  private readonly prng: Prng;
  private readonly gaussian: GaussianSource;
  private asked = 0;
  private told = 0;

  /** Mirror of the history: clamped points (row-major) and ranking values. */
  private rows = new Float64Array(0);
  private values = new Float64Array(0);
  private mirrored = 0;
  private capacity = 0;

  /** l(x): the good set's rows, best first, and their rank weights. */
  private readonly good: ParzenMixture;
  private goodRows = new Int32Array(0);
  private goodWeights = new Float64Array(0);
  private goodOrder = new Int32Array(0);
  private goodValues = new Float64Array(0);
  private isGood = new Uint8Array(0);
  /** Size of the good set in `goodRows`, and the history rows it was chosen from (0…goodScanned−1). */
  private goodSize = 0;
  private goodScanned = 0;
  /**
   * Whether the good set (or its order) changed since l was last fitted, and the floor l was
   * fitted with: with neither changed, l is the same mixture and its fit is skipped.
   */
  private goodChanged = true;
  private goodFloor = Number.NaN;

  /**
   * g(x): kernel (i mod maxBadKernels) + 1 holds history row i (copied once, so its cached constant
   * survives while the row stays among the newest maxBadKernels), followed by the extras — pending
   * points and this batch's earlier points, the constant liar.
   */
  private readonly bad: ParzenMixture;
  private badRows = 0;
  private members = new Int32Array(0);
  private extras = new Float64Array(0);
  private extraCount = 0;
  /** Extras already copied into g after the current history rows during this `ask`. */
  private extrasCopied = 0;

  /** Candidate buffers: points (row-major), log l, score bounds and their ranking. */
  private readonly candidates: Float64Array;
  private readonly candidateGoodScores: Float64Array;
  private readonly candidateBounds: Float64Array;
  private readonly candidateRanking: Int32Array;
  private readonly chosen: Float64Array;

  /** With a space's cells: those a candidate must not fall in. */
  private readonly taken: TakenCells | undefined;

  constructor(dimension: number, options: ResolvedOptions, prng: Prng, hooks: TpeHooks, asked = 0, told = 0) {
    this.d = dimension;
    this.options = options;
    this.prng = prng;
    this.taken = hooks.cellOf === undefined ? undefined : new TakenCells(hooks.cellOf);
    this.gaussian = new GaussianSource(prng);
    this.asked = asked;
    this.told = told;
    this.good = new ParzenMixture(dimension);
    this.bad = new ParzenMixture(dimension);
    this.candidates = new Float64Array(options.candidates * dimension);
    this.candidateGoodScores = new Float64Array(options.candidates);
    this.candidateBounds = new Float64Array(options.candidates);
    this.candidateRanking = new Int32Array(options.candidates);
    this.chosen = new Float64Array(dimension);
  }

  ask(context: StrategyContext, max: number, _firstId: number): number[][] {
    this.gaussian.reset();
    this.sync(context.history);
    const n = this.mirrored;
    const floor = bandwidthFloor(n, this.d, this.options.bandwidthFloor);
    const k = this.selectGood(n);
    this.fitGood(k, floor);

    this.extraCount = 0;
    this.extrasCopied = 0;
    const pending = context.pending;
    for (let i = 0; i < pending.length; i++) this.addExtra(pending[i]!);
    // Pruned and failed points are bad observations whose final value is unknown: in g, never in l.
    const unfinished = context.unfinished ?? [];
    const from = Math.max(0, unfinished.length - this.options.maxBadKernels);
    for (let i = from; i < unfinished.length; i++) this.addExtra(unfinished[i]!);
    this.taken?.begin(context);

    const batch: number[][] = [];
    for (let b = 0; b < max; b++) {
      this.fitBad(n, floor);
      this.propose();
      batch.push(Array.from(this.chosen));
      this.addExtra(this.chosen);
      this.taken?.take(this.chosen);
    }
    this.asked += batch.length;
    return batch;
  }

  tell(_id: number, _value: number): void {
    // The solver also appends every result to `context.history`, which is all TPE reads.
    this.told++;
  }

  cancel(_id: number): void {
    // Nothing to forget: a pending point lives in the solver's `context.pending` only.
  }

  toJSON(): StrategyState {
    return {
      kind: "tpe",
      version: STATE_VERSION,
      dimension: this.d,
      options: { ...this.options },
      prng: this.prng.state(),
      asked: this.asked,
      told: this.told,
    };
  }

  /** Brings the mirror up to date: appends new rows, or rebuilds if the known prefix changed. */
  private sync(history: readonly Evaluation[]): void {
    const n = history.length;
    let consistent = n >= this.mirrored;
    for (let i = 0; consistent && i < this.mirrored; i++) {
      if (!Object.is(this.values[i], rankValue(history[i]!.value))) consistent = false;
    }
    if (!consistent) {
      this.mirrored = 0;
      this.badRows = 0;
      this.goodScanned = 0;
      this.goodSize = 0;
      this.goodChanged = true;
    }
    if (n > this.capacity) this.grow(n);
    const d = this.d;
    for (let i = this.mirrored; i < n; i++) {
      const entry = history[i]!;
      for (let j = 0; j < d; j++) this.rows[i * d + j] = clampUnit(entry.u[j]!);
      this.values[i] = rankValue(entry.value);
    }
    this.mirrored = n;
  }

  private grow(n: number): void {
    const cap = Math.max(n, this.capacity * 2, 64);
    const rows = new Float64Array(cap * this.d);
    rows.set(this.rows);
    const values = new Float64Array(cap);
    values.set(this.values);
    this.rows = rows;
    this.values = values;
    const isGood = new Uint8Array(cap);
    isGood.set(this.isGood);
    this.isGood = isGood;
    this.capacity = cap;
  }

  /**
   * Picks the k best rows (ties by row) into `goodRows`, best first, and marks them. While k stays
   * the same (always once the good set is at maxGood), only rows new since the last call are
   * offered, which gives the same set as a full scan in row order: O(new rows · k) instead of O(n).
   */
  private selectGood(n: number): number {
    const k = goodCount(n, this.options);
    if (this.goodRows.length < k) {
      const rows = new Int32Array(k);
      rows.set(this.goodRows);
      this.goodRows = rows;
      this.goodWeights = new Float64Array(k);
      this.goodOrder = new Int32Array(k * this.d);
      this.goodValues = new Float64Array(k * this.d);
    }
    if (k !== this.goodSize || this.goodScanned > n) {
      this.goodChanged = true;
      this.isGood.fill(0, 0, n);
      this.goodScanned = 0;
      this.goodSize = k;
      this.offerGood(0, n, 0, k);
      for (let r = 0; r < k; r++) this.isGood[this.goodRows[r]!] = 1;
    } else {
      this.offerGood(this.goodScanned, n, k, k);
    }
    this.goodScanned = n;
    return k;
  }

  /**
   * Offers rows from…to−1, in order, to the best-first list `goodRows` that holds `filled` of at
   * most k rows; a row that enters a full list pushes out its worst (unmarking it) unless the list
   * is being built from scratch (the caller marks it then).
   */
  private offerGood(from: number, to: number, filled: number, k: number): void {
    const rows = this.goodRows;
    const values = this.values;
    const isGood = this.isGood;
    const marking = filled === k;
    for (let i = from; i < to; i++) {
      const v = values[i]!;
      if (filled === k && !(v < values[rows[k - 1]!]!)) continue;
      let p: number;
      if (filled < k) p = filled++;
      else {
        p = k - 1;
        if (marking) isGood[rows[p]!] = 0;
      }
      while (p > 0 && values[rows[p - 1]!]! > v) {
        rows[p] = rows[p - 1]!;
        p--;
      }
      rows[p] = i;
      if (marking) isGood[i] = 1;
      this.goodChanged = true;
    }
  }

  private fitGood(k: number, floor: number): void {
    if (!this.goodChanged && floor === this.goodFloor) return;
    this.goodChanged = false;
    this.goodFloor = floor;
    const d = this.d;
    const means = this.good.prepare(k);
    for (let r = 0; r < k; r++) {
      const row = this.goodRows[r]!;
      for (let j = 0; j < d; j++) means[(r + 1) * d + j] = this.rows[row * d + j]!;
      this.goodWeights[r] = (k - r) ** this.options.rankExponent;
    }
    sortByDimension(means, k, d, this.goodOrder, this.goodValues);
    this.good.fitAdaptive(
      this.goodOrder,
      this.goodValues,
      k,
      this.goodWeights,
      this.options.priorWeight,
      floor,
    );
  }

  private addExtra(point: ArrayLike<number>): void {
    const d = this.d;
    if (this.extras.length < (this.extraCount + 1) * d) {
      const next = new Float64Array(Math.max(8, this.extraCount * 2 + 2) * d);
      next.set(this.extras);
      this.extras = next;
    }
    for (let j = 0; j < d; j++) this.extras[this.extraCount * d + j] = clampUnit(point[j]!);
    this.extraCount++;
  }

  /**
   * Fits g(x) to the newest maxBadKernels history rows outside the good set plus the extras (the
   * constant liar). History row i lives in kernel slot i mod maxBadKernels, so a new row replaces
   * the oldest and every other slot keeps its cached constant.
   */
  private fitBad(n: number, floor: number): void {
    const d = this.d;
    const e = this.extraCount;
    const window = this.options.maxBadKernels;
    const slots = n < window ? n : window;
    const means = this.bad.prepare(slots + e);
    if (this.badRows > n) this.badRows = 0;
    if (this.badRows < n) {
      const first = Math.max(this.badRows, n - window);
      for (let i = first; i < n; i++) {
        const slot = i % window;
        for (let j = 0; j < d; j++) means[(slot + 1) * d + j] = this.rows[i * d + j]!;
        this.bad.markChanged(slot, 1);
      }
      this.badRows = n;
    }
    if (this.extrasCopied < e) {
      const from = this.extrasCopied;
      for (let i = from * d; i < e * d; i++) means[(slots + 1) * d + i] = this.extras[i]!;
      this.bad.markChanged(slots + from, e - from);
      this.extrasCopied = e;
    }
    if (this.members.length < slots + e) {
      this.members = new Int32Array(Math.max(slots + e, 2 * this.members.length));
    }
    const members = this.members;
    let count = 0;
    for (let i = n - slots; i < n; i++) if (this.isGood[i] === 0) members[count++] = i % window;
    for (let x = 0; x < e; x++) members[count++] = slots + x;
    this.bad.fitFixed(members, count, floor, this.options.priorWeight);
  }

  /**
   * Draws candidates from l(x) and keeps in `chosen` the one with the largest
   * log l(x) − log g(x) (the first drawn among equals).
   *
   * g is evaluated lazily: log g(x) is at least its prior kernel's term, so
   * log l(x) − (that term) bounds a candidate's score from above, and candidates are scored in
   * decreasing order of the bound until the bound falls below the best score found. The winner is
   * the same as scoring every candidate, at a fraction of the cost when g is flat around l's mass.
   */
  private propose(): void {
    const d = this.d;
    const count = this.options.candidates;
    const points = this.candidates;
    const goodScores = this.candidateGoodScores;
    const bounds = this.candidateBounds;
    const ranking = this.candidateRanking;
    let usable = 0;
    for (let c = 0; c < count; c++) {
      const at = c * d;
      this.good.sample(this.gaussian, points, at);
      if (this.repeatsExtra(points, at)) continue;
      const score = this.good.logDensity(points, at);
      goodScores[c] = score;
      bounds[c] = score - this.bad.logPriorTerm(points, at);
      usable = insertByBound(ranking, bounds, usable, c);
    }
    // The best candidate whose cell is fresh: a candidate's cell is looked up only when it comes
    // to be scored, so the lazy scoring's cut spares the others the lookup too.
    const taken = this.taken === undefined ? undefined : (c: number) => this.cellTaken(points, c * d);
    const winner = pickByBound(ranking, usable, goodScores, bounds, this.bad, points, d, taken);
    if (winner >= 0) {
      for (let j = 0; j < d; j++) this.chosen[j] = points[winner * d + j]!;
      return;
    }
    // Every candidate was passed over: it repeated a pending point (practically impossible on
    // floats) or fell in a taken cell. Keep drawing from l, then uniformly; a space whose cells are
    // all taken gets a repeat.
    const drawsFromL = this.taken === undefined ? EXTRA_DRAWS : EXTRA_CELL_DRAWS;
    for (let c = 0; c < drawsFromL; c++) {
      this.good.sample(this.gaussian, this.chosen);
      if (!this.passedOver(this.chosen)) return;
    }
    const uniformDraws = this.taken === undefined ? 1 : UNIFORM_CELL_DRAWS;
    for (let c = 0; c < uniformDraws; c++) {
      for (let j = 0; j < d; j++) this.chosen[j] = this.prng.next();
      if (!this.passedOver(this.chosen)) return;
    }
  }

  /** Whether a candidate repeats a pending or proposed point, or falls in a measured or taken cell. */
  private passedOver(x: Float64Array, offset = 0): boolean {
    return this.repeatsExtra(x, offset) || this.cellTaken(x, offset);
  }

  /** Whether a candidate falls in a taken cell (see {@link TakenCells}). */
  private cellTaken(x: Float64Array, offset: number): boolean {
    return this.taken?.has(x, offset, this.d) ?? false;
  }

  /** Whether `x` equals a pending point or a point already proposed in this batch. */
  private repeatsExtra(x: Float64Array, offset = 0): boolean {
    const d = this.d;
    for (let i = 0; i < this.extraCount; i++) {
      let j = 0;
      while (j < d && this.extras[i * d + j] === x[offset + j]) j++;
      if (j === d) return true;
    }
    return false;
  }
}

/**
 * Creates the multivariate Tree-structured Parzen Estimator refine strategy for a d-dimensional
 * unit cube, used by the solver on "chaotic" landscapes.
 *
 * @remarks
 * - Split: the k = ⌈γ·n⌉ best points of the whole history (probe, warm start and refine results;
 *   γ = 0.07, k clamped to [2, 25] and to n) form the good set, the rest the bad set. NaN values
 *   rank last; ties go to the earlier point.
 * - Densities: l(x) and g(x) are mixtures of product kernels — one Gaussian per dimension per
 *   observation, truncated to the cube and renormalised — plus a prior kernel at the cube's centre
 *   with σ = 1 (weight 1 relative to an average observation). Good kernels are weighted by rank,
 *   (k − r)³; bad kernels equally.
 * - Bandwidths of l: the gap rule (as in Optuna 4–5), per kernel and dimension the larger gap to
 *   its neighbours among the good points, clipped to [f(n), 1] with the floor
 *   f(n) = 0.045 · n^(−1/d) ({@link bandwidthFloor}). Per-kernel bandwidths beat Scott's
 *   n^(−1/(d+4)) rule with one bandwidth vector per mixture (Branin median regret 1e-4 against
 *   2e-2: a good set spread over several minima makes Scott's bandwidth wide); a floor shrinking
 *   like n^(−1/d) beat both a fixed floor and Optuna's clip 1/min(100, n + 2), which stays near
 *   0.08 for a good set of ten and blurs the last digits on Branin and Hartmann-6.
 * - Bandwidth of g: f(n) for every kernel and dimension — g only has to mark where points were
 *   evaluated; per-kernel gaps there scored about the same (Hartmann-6 0.040 against 0.042,
 *   Branin 1.3e-4 against 3.4e-4) and cost an O(n·d) pass per ask.
 * - Proposal: 24 candidates drawn from l(x); the one maximising log l(x) − log g(x) wins (first
 *   drawn among equals). g is only evaluated for candidates whose upper bound
 *   log l(x) − log(prior term of g) can still win, which gives the same winner.
 * - Pruned and failed trials (`context.unfinished`, newest `maxBadKernels`): bad observations
 *   ranked after every completed one, so they join g like pending points and never l. A pruned
 *   trial's last intermediate value is not used: a curve stopped at step 10 is not comparable with
 *   finished ones.
 * - Batches and pending trials (constant liar): points in `context.pending` and the points
 *   already proposed in the same `ask` join the bad set as if observed with the worst value, so a
 *   batch spreads out; a candidate equal to one of them is never proposed. `ask` always returns
 *   `max` points and never `null`.
 * - Ints (`hooks.cellOf`): a candidate whose cell was measured, failed, was pruned, is pending or
 *   was proposed in the same `ask` loses to any that is not (a cell is looked up when its
 *   candidate comes to be scored); if all 24 are taken, up to 96 more draws from l, then 64
 *   uniform ones, look for a fresh cell, and a space with none left gets a repeat. Without it, on
 *   a 21 × 21 integer grid, forced TPE asked 1,134 measured cells in 20 runs of 200 trials.
 * - Determinism: the same seed, options and calls give the same points; random numbers are drawn
 *   in a fixed order (per candidate: the kernel, then dimensions 0…d−1). `toJSON()` captures the
 *   PRNG and counters; {@link restoreTpe} continues exactly (everything else is derived from the
 *   history).
 * - Bounded g: g holds only the newest `maxBadKernels` (default 1024) history points outside the
 *   good set, plus the pending ones; the good set is updated from the new rows only. Below that
 *   many trials nothing changes; above it, a proposal costs what it costs at 1024 trials (B2's
 *   long loop: d = 16, trial 10,000).
 * - Cost per proposed point, with m = min(n, maxBadKernels): l is refitted in O(k·d); g in O(m)
 *   plus O(d) per new point (its kernel constants are cached; all are recomputed, O(m·d), when
 *   the floor steps down, about every 9 % of growth); each candidate costs O(k·d) for l and,
 *   if needed, at most O(m·d) for g, usually a few coordinates per kernel thanks to pruning, and
 *   cut short once g alone shows the candidate cannot beat the best score so far (the `cap` of
 *   {@link ParzenMixture.logDensity}; without it, g cost O(n·d) for nearly every candidate once
 *   the history clusters around the optimum). Informal ask + tell medians on the project's shared
 *   2-core VM (Node 20, tsx, sphere, one trial per ask, probe ratio 0.05, 5 runs): n ≈ 100: 28 /
 *   30 / 47 µs for d = 2 / 6 / 16; n ≈ 1000: 290 / 260 / 390 µs (before the early exit: 40 / – /
 *   61 µs and 315 / – / 1120 µs).
 */
export function createTpe(
  dimension: number,
  seed: number,
  options: TpeOptions = {},
  hooks: TpeHooks = {},
): Strategy {
  if (!(Number.isInteger(dimension) && dimension >= 1)) {
    throw new RangeError(`dimension must be an integer ≥ 1, got ${dimension}`);
  }
  return new Tpe(dimension, resolveOptions(options), Prng.fromSeed(seed, PRNG_STREAM), hooks);
}

/**
 * Rebuilds a TPE strategy from the output of its `toJSON()` (also after a JSON round trip); the
 * result continues exactly where the original was, given the same history.
 *
 * @throws RangeError when `state` is not a well-formed TPE state of this version.
 */
export function restoreTpe(state: StrategyState, hooks: TpeHooks = {}): Strategy {
  if (state.kind !== "tpe" || state.version !== STATE_VERSION) {
    throw new RangeError(
      `invalid TPE state: expected kind "tpe" version ${STATE_VERSION}, ` +
        `got ${String(state.kind)} version ${String(state.version)}`,
    );
  }
  const { dimension, asked, told } = state;
  if (!(Number.isInteger(dimension) && (dimension as number) >= 1)) {
    throw new RangeError("invalid TPE state: dimension");
  }
  for (const [name, value] of [
    ["asked", asked],
    ["told", told],
  ] as const) {
    if (!(Number.isInteger(value) && (value as number) >= 0))
      throw new RangeError(`invalid TPE state: ${name}`);
  }
  const saved = state.options;
  if (typeof saved !== "object" || saved === null) throw new RangeError("invalid TPE state: options");
  if (!Array.isArray(state.prng)) throw new RangeError("invalid TPE state: prng");
  const options = resolveOptions(saved as TpeOptions);
  const prng = Prng.fromState(state.prng as number[]);
  return new Tpe(dimension as number, options, prng, hooks, asked as number, told as number);
}
