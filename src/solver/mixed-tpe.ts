import { Prng } from "../random/prng.js";
import { jsonKey } from "../space/params.js";
import type { Dimension, DimensionCondition } from "../space/space.js";
import { GroupMixture } from "./group-mixture.js";
import { insertByBound, pickByBound } from "./lazy-score.js";
import { GaussianSource, gapBandwidths } from "./parzen.js";
import type { Evaluation, Strategy, StrategyContext, StrategyState } from "./strategy.js";
import { TakenCells } from "./taken-cells.js";
import { bandwidthFloor, goodSetSize, type TpeHooks } from "./tpe.js";

/** PRNG stream of this strategy ("MTP"), distinct from the continuous TPE's. */
const PRNG_STREAM = 0x4d5450;
const STATE_VERSION = 1;
/** Candidates drawn from l per group and proposed point (as the continuous TPE). */
const CANDIDATES = 24;
/** The prior kernel's weight relative to an average observed kernel (as the continuous TPE). */
const PRIOR_WEIGHT = 1;
/** Good point of rank r among k weighs (k − r)^3 in l (as the continuous TPE). */
const RANK_EXPONENT = 3;
/** The good set's share of the history and bounds, and the bandwidth floor's scale (as the continuous TPE). */
const GAMMA = 0.07;
const MIN_GOOD = 2;
const MAX_GOOD = 25;
const FLOOR_SCALE = 0.045;

/**
 * Settings of {@link createMixedTpe}. Every field is optional; the defaults are forced TPE's
 * (`strategy: "tpe"`), the continuous TPE's defaults. The default strategy (`auto`) passes its
 * own, exploring ones (src/solver/mixed-global-local.ts).
 */
export interface MixedTpeOptions {
  /** Good share: the ⌈gamma · n⌉ best points of a group (at least 2, at most 25) form l. Default 0.07. */
  readonly gamma?: number;
  /** Candidates drawn from l per group and proposed point. Default 24. */
  readonly candidates?: number;
  /** Scale of the bandwidth floor, `bandwidthFloor · n^(−1/d)` (see tpe.ts). Default 0.045. */
  readonly bandwidthFloor?: number;
  /** Good point of rank r among k weighs (k − r)^rankExponent in l. Default 3. */
  readonly rankExponent?: number;
  /**
   * Least chance, in l, of each choice of a categorical: l's choice distribution is mixed with
   * the uniform one at this weight, so a choice no good point has (or that looked bad early) is
   * still drawn among the candidates. 0 (the default) leaves only the prior kernel's share.
   * In [0, 1).
   */
  readonly choiceFloor?: number;
}

/** {@link MixedTpeOptions} with every default filled in. */
interface ResolvedMixedTpeOptions {
  readonly gamma: number;
  readonly candidates: number;
  readonly bandwidthFloor: number;
  readonly rankExponent: number;
  readonly choiceFloor: number;
}

function resolveMixedOptions(options: MixedTpeOptions): ResolvedMixedTpeOptions {
  const o = {
    gamma: options.gamma ?? GAMMA,
    candidates: options.candidates ?? CANDIDATES,
    bandwidthFloor: options.bandwidthFloor ?? FLOOR_SCALE,
    rankExponent: options.rankExponent ?? RANK_EXPONENT,
    choiceFloor: options.choiceFloor ?? 0,
  };
  const problems: string[] = [];
  if (!(o.gamma > 0 && o.gamma <= 1)) problems.push(`gamma must be in (0, 1], got ${o.gamma}`);
  if (!(Number.isSafeInteger(o.candidates) && o.candidates >= 1))
    problems.push(`candidates must be an integer ≥ 1, got ${o.candidates}`);
  if (!(o.bandwidthFloor > 0 && o.bandwidthFloor <= 1))
    problems.push(`bandwidthFloor must be in (0, 1], got ${o.bandwidthFloor}`);
  if (!(o.rankExponent >= 0 && o.rankExponent < Infinity))
    problems.push(`rankExponent must be finite and ≥ 0, got ${o.rankExponent}`);
  if (!(o.choiceFloor >= 0 && o.choiceFloor < 1))
    problems.push(`choiceFloor must be in [0, 1), got ${o.choiceFloor}`);
  if (problems.length > 0) throw new RangeError(`invalid mixed TPE options: ${problems.join("; ")}`);
  return o;
}

/** Whether `o` are the defaults (forced TPE), whose state carries no options. */
function isDefault(o: ResolvedMixedTpeOptions): boolean {
  return (
    o.gamma === GAMMA &&
    o.candidates === CANDIDATES &&
    o.bandwidthFloor === FLOOR_SCALE &&
    o.rankExponent === RANK_EXPONENT &&
    o.choiceFloor === 0
  );
}

/** ⌈gamma · n⌉ clamped to [2, 25] and to n, as tpe.ts's `goodSetSize`. */
function goodCount(n: number, gamma: number): number {
  const share = Math.ceil(gamma * n - 1e-9);
  return Math.min(n, Math.max(MIN_GOOD, Math.min(MAX_GOOD, share)));
}
/** g holds at most the newest this many bad points of a group, so a proposal's cost is bounded. */
const MAX_BAD_KERNELS = 1024;
/**
 * With a space's cells: points built from l while the last one fell in a measured or taken cell,
 * then uniform points; a space with no fresh cell left gets a repeat.
 */
const CELL_ATTEMPTS = 8;
const UNIFORM_CELL_DRAWS = 64;

/** One group: the coordinates that share a condition, and their models. */
interface Group {
  /** The full-space coordinates of the group, in order. */
  readonly dims: Int32Array;
  /** 0 for a numeric coordinate, the number of choices for a categorical one. */
  readonly levels: Int32Array;
  /** Numeric coordinates in the group (the bandwidth floor's dimension). */
  readonly numeric: number;
  readonly when: readonly DimensionCondition[];
  readonly good: GroupMixture;
  readonly bad: GroupMixture;
  /** History rows where the group was active, their coordinates (model form) and ranking values. */
  rows: Float64Array;
  values: Float64Array;
  count: number;
  /**
   * Each row's kernel shape in g (Σ over numeric coordinates of −log(σ · mass) − ½ log 2π at
   * σ = `shapeFloor`), valid for rows 0…shaped−1: g's bandwidth is the floor, which moves in
   * steps, so a fit computes the shapes of new rows only.
   */
  shapes: Float64Array;
  shaped: number;
  shapeFloor: number;
  /**
   * The good rows (best first) and floor l was last fitted with; `fittedCount` is −1 when l must
   * be refitted. Most proposals leave both unchanged, and l is then the same mixture.
   */
  fittedRows: Int32Array;
  fittedCount: number;
  fittedFloor: number;
}

/** Ranking value: NaN (a failed evaluation) ranks with +∞, after every real value. */
function rankValue(value: number): number {
  return Number.isNaN(value) ? Number.POSITIVE_INFINITY : value;
}

function cellOf(u: number, levels: number): number {
  const k = Math.floor(u * levels);
  return k >= 0 ? (k < levels ? k : levels - 1) : 0; // NaN falls through to 0
}

/**
 * TPE for mixed spaces (categorical or conditional parameters) behind {@link createMixedTpe}.
 *
 * @remarks
 * Tree-structured as in Bergstra et al. and Optuna's `group` option: the coordinates are split
 * into groups that share a condition (the unconditional ones form the root group). A point is
 * built group by group, parents first; a group whose condition does not hold at the point built
 * so far is skipped (its coordinates stay at 0.5 and its parameters are absent). Each active group
 * runs one TPE step of its own, fitted only on the history points where it was active: the best
 * ⌈γ·n⌉ of them form l, the others (and, where it is active, pending points, the constant liar,
 * and pruned or failed ones, whose final value is unknown) form g, and the best of 24 candidates drawn from l by log l − log g wins. Numeric coordinates
 * use the continuous TPE's kernels (gap-rule bandwidths in l, the floor in g); categorical ones
 * native per-choice weights ({@link GroupMixture}).
 */
class MixedTpe implements Strategy {
  readonly name = "tpe" as const;
  private readonly d: number;
  private readonly levels: Int32Array;
  private readonly groups: Group[];
  private readonly dimGroup: Int32Array;
  private readonly prng: Prng;
  private readonly gaussian: GaussianSource;
  private asked: number;
  private told: number;
  private mirrored = 0;
  private readonly groupActive: Uint8Array;
  private readonly point: Float64Array;
  /** Pending points and this batch's earlier points, full coordinates, row-major. */
  private extras = new Float64Array(0);
  private extraCount = 0;
  /** Activity of each extra's groups: `extraActive[e · groups + g]`. */
  private extraActive = new Uint8Array(0);
  private readonly scratchActive: Uint8Array;
  /** 1 for the rows of the current good set (scratch, cleared after each fit of g). */
  private goodMark = new Uint8Array(0);
  /** Scratch: candidates (model form), good rows, weights, sort buffers, bad members. */
  private candidates = new Float64Array(0);
  private goodRows = new Int32Array(0);
  private goodWeights = new Float64Array(0);
  private sortValues = new Float64Array(0);
  private sortIndex = new Int32Array(0);
  private sigmas = new Float64Array(0);
  /** g's kernel shapes for the current fit (see `Group.shapes`). */
  private badShapes = new Float64Array(0);
  /** Per candidate: log l, the upper bound of its score, and the candidates by that bound. */
  private readonly logL: Float64Array;
  private readonly bounds: Float64Array;
  private readonly ranking: Int32Array;
  private readonly options: ResolvedMixedTpeOptions;
  /** With a space's cells: those a proposed point must not fall in. */
  private readonly taken: TakenCells | undefined;

  constructor(
    dimensions: readonly Dimension[],
    prng: Prng,
    asked = 0,
    told = 0,
    options: ResolvedMixedTpeOptions = resolveMixedOptions({}),
    hooks: TpeHooks = {},
  ) {
    this.options = options;
    this.taken = hooks.cellOf === undefined ? undefined : new TakenCells(hooks.cellOf);
    this.logL = new Float64Array(options.candidates);
    this.bounds = new Float64Array(options.candidates);
    this.ranking = new Int32Array(options.candidates);
    this.d = dimensions.length;
    this.levels = Int32Array.from(dimensions, (dim) => (dim.kind === "categorical" ? dim.levels : 0));
    this.prng = prng;
    this.gaussian = new GaussianSource(prng);
    this.asked = asked;
    this.told = told;
    this.groups = buildGroups(dimensions, this.levels);
    this.dimGroup = new Int32Array(this.d);
    this.groups.forEach((g, index) => {
      for (const dim of g.dims) this.dimGroup[dim] = index;
    });
    this.groupActive = new Uint8Array(this.groups.length);
    this.scratchActive = new Uint8Array(this.groups.length);
    this.point = new Float64Array(this.d);
  }

  ask(context: StrategyContext, max: number, _firstId: number): number[][] {
    this.gaussian.reset();
    this.sync(context.history);
    this.extraCount = 0;
    for (const p of context.pending) this.addExtra(p);
    // A pruned or failed point is a bad observation whose final value is unknown: in g, never in
    // l (as in the continuous TPE), and only the newest ones, as for the history's bad rows.
    const unfinished = context.unfinished ?? [];
    for (let i = Math.max(0, unfinished.length - MAX_BAD_KERNELS); i < unfinished.length; i++) {
      this.addExtra(unfinished[i]!);
    }
    const taken = this.taken;
    taken?.begin(context);
    const batch: number[][] = [];
    for (let b = 0; b < max; b++) {
      const x = this.point;
      this.build(x);
      if (taken !== undefined) {
        for (let a = 1; a < CELL_ATTEMPTS && taken.has(x, 0, this.d); a++) this.build(x);
        for (let a = 0; a < UNIFORM_CELL_DRAWS && taken.has(x, 0, this.d); a++) {
          for (let j = 0; j < this.d; j++) x[j] = this.prng.next();
        }
        taken.take(x);
      }
      batch.push(Array.from(x));
      this.addExtra(x);
    }
    this.asked += batch.length;
    return batch;
  }

  /** One point from the models, group by group, parents first (inactive coordinates at 0.5). */
  private build(x: Float64Array): void {
    x.fill(0.5);
    for (let g = 0; g < this.groups.length; g++) {
      const group = this.groups[g]!;
      this.groupActive[g] = this.holds(group.when, x, this.groupActive) ? 1 : 0;
      if (this.groupActive[g] === 1) this.propose(group, g, x);
    }
  }

  tell(_id: number, _value: number): void {
    // Like the continuous TPE, this strategy reads the history the solver keeps.
    this.told++;
  }

  cancel(_id: number): void {
    // Nothing to forget: a pending point lives in the solver's `context.pending` only.
  }

  toJSON(): StrategyState {
    return {
      kind: "tpe",
      variant: "mixed",
      version: STATE_VERSION,
      dimension: this.d,
      prng: this.prng.state(),
      asked: this.asked,
      told: this.told,
      // Forced TPE's state is unchanged; the default strategy's carries its settings.
      ...(isDefault(this.options) ? {} : { options: { ...this.options } }),
    };
  }

  /** Whether every condition holds at `x`, given the groups' activity decided so far in `active`. */
  private holds(when: readonly DimensionCondition[], x: ArrayLike<number>, active: Uint8Array): boolean {
    for (const c of when) {
      if (active[this.dimGroup[c.parent]!] !== 1) return false;
      if (!c.choices.includes(cellOf(x[c.parent]!, this.levels[c.parent]!))) return false;
    }
    return true;
  }

  /** Marks in `active` (from `offset` on) the groups active at the full point `u`. */
  private activity(u: ArrayLike<number>, active: Uint8Array): void {
    for (let g = 0; g < this.groups.length; g++) {
      active[g] = this.holds(this.groups[g]!.when, u, active) ? 1 : 0;
    }
  }

  /** Appends the new history entries to the groups where they were active. */
  private sync(history: readonly Evaluation[]): void {
    if (history.length < this.mirrored) {
      for (const g of this.groups) {
        g.count = 0;
        g.shaped = 0;
        g.fittedCount = -1;
      }
      this.mirrored = 0;
    }
    for (let i = this.mirrored; i < history.length; i++) {
      const entry = history[i]!;
      this.activity(entry.u, this.groupActive);
      for (let g = 0; g < this.groups.length; g++) {
        if (this.groupActive[g] === 1) this.append(this.groups[g]!, entry);
      }
    }
    this.mirrored = history.length;
  }

  private append(group: Group, entry: Evaluation): void {
    const dg = group.dims.length;
    if ((group.count + 1) * dg > group.rows.length || group.count + 1 > group.values.length) {
      const cap = Math.max(64, group.values.length * 2);
      const rows = new Float64Array(cap * dg);
      rows.set(group.rows);
      const values = new Float64Array(cap);
      values.set(group.values);
      const shapes = new Float64Array(cap);
      shapes.set(group.shapes);
      group.rows = rows;
      group.values = values;
      group.shapes = shapes;
    }
    this.toModel(group, entry.u, 0, group.rows, group.count * dg);
    group.values[group.count] = rankValue(entry.value);
    group.count++;
  }

  /** A full point's coordinates of `group` in model form (choice index for a categorical). */
  private toModel(group: Group, u: ArrayLike<number>, from: number, out: Float64Array, offset: number): void {
    for (let j = 0; j < group.dims.length; j++) {
      const x = u[from + group.dims[j]!]!;
      const L = group.levels[j]!;
      out[offset + j] = L === 0 ? (x < 0 ? 0 : x > 1 ? 1 : x) : cellOf(x, L);
    }
  }

  /** Records a pending, pruned or just-proposed point, and the groups active there. */
  private addExtra(point: ArrayLike<number>): void {
    const d = this.d;
    const groups = this.groups.length;
    if (this.extras.length < (this.extraCount + 1) * d) {
      const size = Math.max(8, this.extraCount * 2 + 2);
      const next = new Float64Array(size * d);
      next.set(this.extras);
      this.extras = next;
      const active = new Uint8Array(size * groups);
      active.set(this.extraActive);
      this.extraActive = active;
    }
    for (let j = 0; j < d; j++) this.extras[this.extraCount * d + j] = point[j]!;
    this.activity(point, this.scratchActive);
    this.extraActive.set(this.scratchActive, this.extraCount * groups);
    this.extraCount++;
  }

  private ensureScratch(k: number, dg: number): void {
    const size = this.options.candidates * dg;
    if (this.candidates.length < size) this.candidates = new Float64Array(size);
    if (this.goodRows.length < k) {
      this.goodRows = new Int32Array(k);
      this.goodWeights = new Float64Array(k);
      this.sortValues = new Float64Array(k);
      this.sortIndex = new Int32Array(k);
      this.sigmas = new Float64Array(k);
    }
  }

  /** One TPE step for `group`, writing the winner's coordinates into `x`. */
  private propose(group: Group, index: number, x: Float64Array): void {
    const dg = group.dims.length;
    const n = group.count;
    const o = this.options;
    const k = o.gamma === GAMMA ? goodSetSize(n) : goodCount(n, o.gamma);
    this.ensureScratch(k, dg);
    const floor = bandwidthFloor(Math.max(n, 1), Math.max(group.numeric, 1), o.bandwidthFloor);
    this.selectGood(group, k);
    this.fitGood(group, k, floor);
    this.fitBad(group, index, k, floor);

    // Every candidate's log l and the upper bound of its score; g only where it can still win.
    const candidates = this.candidates;
    const logL = this.logL;
    const bounds = this.bounds;
    let ranked = 0;
    for (let c = 0; c < o.candidates; c++) {
      const at = c * dg;
      group.good.sample(this.gaussian, candidates, at);
      logL[c] = group.good.logDensity(candidates, at);
      bounds[c] = logL[c]! - group.bad.logPriorTerm(candidates, at);
      ranked = insertByBound(this.ranking, bounds, ranked, c);
    }
    const winner = pickByBound(this.ranking, ranked, logL, bounds, group.bad, candidates, dg);
    for (let j = 0; j < dg; j++) {
      const v = candidates[winner * dg + j]!;
      const L = group.levels[j]!;
      x[group.dims[j]!] = L === 0 ? v : (v + 0.5) / L;
    }
  }

  /** The k best rows of the group (ties: the earlier row), best first, into `goodRows`. */
  private selectGood(group: Group, k: number): void {
    const rows = this.goodRows;
    const values = group.values;
    let filled = 0;
    for (let i = 0; i < group.count; i++) {
      const v = values[i]!;
      if (filled === k && !(v < values[rows[k - 1]!]!)) continue;
      let p = filled < k ? filled++ : k - 1;
      while (p > 0 && values[rows[p - 1]!]! > v) {
        rows[p] = rows[p - 1]!;
        p--;
      }
      rows[p] = i;
    }
  }

  private fitGood(group: Group, k: number, floor: number): void {
    if (this.sameGoodFit(group, k, floor)) return;
    const dg = group.dims.length;
    const mixture = group.good;
    const means = mixture.prepare(k);
    for (let r = 0; r < k; r++) {
      const row = this.goodRows[r]!;
      for (let j = 0; j < dg; j++) means[(r + 1) * dg + j] = group.rows[row * dg + j]!;
      this.goodWeights[r] = (k - r) ** this.options.rankExponent;
    }
    // Gap-rule bandwidths, numeric coordinate by coordinate, as in the continuous TPE.
    const sortValues = this.sortValues;
    const sortIndex = this.sortIndex;
    for (let j = 0; j < dg; j++) {
      if (group.levels[j] !== 0) continue;
      for (let q = 0; q < k; q++) {
        const v = means[(q + 1) * dg + j]!;
        let p = q;
        while (p > 0 && sortValues[p - 1]! > v) {
          sortValues[p] = sortValues[p - 1]!;
          sortIndex[p] = sortIndex[p - 1]!;
          p--;
        }
        sortValues[p] = v;
        sortIndex[p] = q;
      }
      gapBandwidths(sortValues, k, floor, this.sigmas);
      for (let q = 0; q < k; q++) mixture.inverse[(sortIndex[q]! + 1) * dg + j] = 1 / this.sigmas[q]!;
    }
    mixture.finish(this.goodWeights, PRIOR_WEIGHT, null, 0, this.options.choiceFloor);
  }

  /** Whether l was last fitted to these k good rows with this floor; if not, records them. */
  private sameGoodFit(group: Group, k: number, floor: number): boolean {
    const rows = this.goodRows;
    let same = group.fittedCount === k && group.fittedFloor === floor;
    for (let r = 0; same && r < k; r++) same = group.fittedRows[r] === rows[r];
    if (same) return true;
    if (group.fittedRows.length < k)
      group.fittedRows = new Int32Array(Math.max(k, 2 * group.fittedRows.length));
    for (let r = 0; r < k; r++) group.fittedRows[r] = rows[r]!;
    group.fittedCount = k;
    group.fittedFloor = floor;
    return false;
  }

  /**
   * g: the newest {@link MAX_BAD_KERNELS} rows outside the good set, then the pending points, the
   * newest pruned ones and this batch's earlier points where the group is active (the constant
   * liar); bandwidth = floor.
   */
  private fitBad(group: Group, index: number, k: number, floor: number): void {
    const dg = group.dims.length;
    const n = group.count;
    if (this.goodMark.length < n) this.goodMark = new Uint8Array(Math.max(n, 2 * this.goodMark.length));
    const marks = this.goodMark;
    for (let r = 0; r < k; r++) marks[this.goodRows[r]!] = 1;
    const bad = Math.min(n - k, MAX_BAD_KERNELS);
    const mixture = group.bad;
    const means = mixture.prepare(bad + this.extraCount);
    // The newest `bad` rows outside the good set, written oldest first: densities visit kernels
    // from the last one, and the newest points, near where l samples, make pruning bite soonest.
    let start = n;
    for (let seen = 0; seen < bad; ) if (marks[--start] !== 1) seen++;
    const inverse = 1 / floor;
    if (group.shapeFloor !== floor) {
      group.shaped = 0;
      group.shapeFloor = floor;
    }
    for (let i = group.shaped; i < n; i++) group.shapes[i] = mixture.fixedShape(group.rows, i * dg, inverse);
    group.shaped = n;
    if (this.badShapes.length < bad + this.extraCount) {
      this.badShapes = new Float64Array(Math.max(bad + this.extraCount, 2 * this.badShapes.length));
    }
    const shapes = this.badShapes;
    let m = 0;
    for (let i = start; i < n; i++) {
      if (marks[i] === 1) continue;
      for (let j = 0; j < dg; j++) means[(m + 1) * dg + j] = group.rows[i * dg + j]!;
      shapes[m] = group.shapes[i]!;
      m++;
    }
    for (let r = 0; r < k; r++) marks[this.goodRows[r]!] = 0;
    const groups = this.groups.length;
    for (let e = 0; e < this.extraCount; e++) {
      if (this.extraActive[e * groups + index] !== 1) continue;
      this.toModel(group, this.extras, e * this.d, means, (m + 1) * dg);
      shapes[m] = mixture.fixedShape(means, (m + 1) * dg, inverse);
      m++;
    }
    mixture.prepare(m);
    mixture.inverse.fill(inverse, dg, (m + 1) * dg);
    mixture.finish(null, PRIOR_WEIGHT, shapes, inverse);
  }
}

/**
 * Splits the coordinates into groups of equal conditions, ordered so that every parent's group
 * comes before its dependants' (conditions are acyclic), ties by first coordinate.
 */
function buildGroups(dimensions: readonly Dimension[], levels: Int32Array): Group[] {
  const depth = new Int32Array(dimensions.length).fill(-1);
  const depthOf = (i: number): number => {
    if (depth[i]! < 0) {
      let most = 0;
      for (const c of dimensions[i]!.when) most = Math.max(most, depthOf(c.parent) + 1);
      depth[i] = most;
    }
    return depth[i]!;
  };
  const byCondition = new Map<string, number[]>();
  dimensions.forEach((dim, i) => {
    const key = jsonKey([...dim.when].sort((a, b) => a.parent - b.parent));
    const members = byCondition.get(key);
    if (members === undefined) byCondition.set(key, [i]);
    else members.push(i);
  });
  const lists = [...byCondition.values()].sort((a, b) => depthOf(a[0]!) - depthOf(b[0]!) || a[0]! - b[0]!);
  return lists.map((unordered) => {
    // Numeric coordinates first, as GroupMixture expects them.
    const members = [
      ...unordered.filter((i) => levels[i] === 0),
      ...unordered.filter((i) => levels[i] !== 0),
    ];
    const groupLevels = Int32Array.from(members, (i) => levels[i]!);
    return {
      dims: Int32Array.from(members),
      levels: groupLevels,
      numeric: groupLevels.filter((L) => L === 0).length,
      when: dimensions[members[0]!]!.when,
      good: new GroupMixture(groupLevels),
      bad: new GroupMixture(groupLevels),
      rows: new Float64Array(0),
      values: new Float64Array(0),
      count: 0,
      shapes: new Float64Array(0),
      shaped: 0,
      shapeFloor: Number.NaN,
      fittedRows: new Int32Array(0),
      fittedCount: -1,
      fittedFloor: Number.NaN,
    };
  });
}

/**
 * Creates the TPE strategy for a mixed space described by `dimensions` (see {@link MixedTpe}).
 * Ints are numeric coordinates here (ordered; the solver rounds them when decoding);
 * categoricals are modelled by per-choice weights; conditional coordinates by their groups.
 */
export function createMixedTpe(
  dimensions: readonly Dimension[],
  seed: number,
  options: MixedTpeOptions = {},
  hooks: TpeHooks = {},
): Strategy {
  const prng = Prng.fromSeed(seed, PRNG_STREAM);
  return new MixedTpe(dimensions, prng, 0, 0, resolveMixedOptions(options), hooks);
}

/** Rebuilds a mixed TPE from its `toJSON()`; given the same history it continues exactly. */
export function restoreMixedTpe(
  dimensions: readonly Dimension[],
  state: StrategyState,
  hooks: TpeHooks = {},
): Strategy {
  if (state.kind !== "tpe" || state.variant !== "mixed" || state.version !== STATE_VERSION) {
    throw new RangeError(
      `invalid TPE state: expected a mixed-space TPE state version ${STATE_VERSION}, ` +
        `got ${String(state.kind)} ${String(state.variant ?? "continuous")} version ${String(state.version)}`,
    );
  }
  if (state.dimension !== dimensions.length) throw new RangeError("invalid TPE state: dimension");
  for (const name of ["asked", "told"] as const) {
    const value = state[name];
    if (!(Number.isInteger(value) && (value as number) >= 0))
      throw new RangeError(`invalid TPE state: ${name}`);
  }
  if (!Array.isArray(state.prng)) throw new RangeError("invalid TPE state: prng");
  if (state.options !== undefined && (typeof state.options !== "object" || state.options === null))
    throw new RangeError("invalid TPE state: options");
  return new MixedTpe(
    dimensions,
    Prng.fromState(state.prng as number[]),
    state.asked as number,
    state.told as number,
    resolveMixedOptions((state.options ?? {}) as MixedTpeOptions),
    hooks,
  );
}
