import { Prng } from "../random/prng.js";
import { gridPoint, MeasuredPoints, onGrid } from "./measured-points.js";
import {
  diagonalTerms,
  fitQuadratic,
  fitWithLeaveOneOut,
  fullTerms,
  minimizeInBox,
  modelValue,
  type QuadraticModel,
  usesFullQuadratic,
  weightedFits,
} from "./quadratic-model.js";
import type { Evaluation } from "./strategy.js";

/**
 * Largest radius, growth after a success and shrink per batch of failures. Chosen on the B1
 * development half with 8 workers (wider regions or faster growth let the region outrun a model
 * fitted on few points; bench/parallel.ts has the figures).
 */
const MAX_RADIUS = 0.15;
const GROW = 1.25;
const SHRINK = 0.5;
/**
 * Failures that halve the region when fewer trials run at once: the rules above were tuned with 8
 * workers, where one batch of misses halves it. Halving on every single miss (one worker) let the
 * region collapse after a few unlucky fits. Chosen on the B1 development half, one trial at a
 * time, seeds 1..100, by the mean of log₁₀ regret over its cells: with a `maxStreak` of 4, 8 gave
 * −1.50 against −1.41 (4), −1.48 (12) and −1.43 (16); with 6, it matched 6 (−1.53) without 6's
 * loss on Alpine-6D @300 (3.9× forced Nelder–Mead's median).
 */
const MIN_WIDTH = 8;
/**
 * Least distance of a proposal from every running point, as a share of the batch's spread (on at
 * least one coordinate, each measured against its own spread; the radius when this was chosen,
 * before {@link STEP_SPREAD}), and bootstrap fits (random weights) tried when the model's
 * minimiser is that close to one. Chosen on the B1 development half with 8 workers by the mean of
 * log₁₀ regret over its 36 continuous cells, seeds 1..20 (and 21..40 where two figures are
 * given): −1.42 before (a quarter, no resample); −1.98 with the smaller ridge of src/solver/quadratic-model.ts and the
 * simplex-only tie exemption of the default strategy; then, with a half and 8 draws, −2.12 /
 * −2.17 with these weights, −2.19 / −1.94 resampling with replacement, −2.09 / −2.07 with
 * replacement skipping draws with fewer distinct points than the model has terms. With these
 * weights a third gave −2.01, three quarters −2.08, 4 draws −2.14 and 16 −2.17; no draws −1.94.
 */
const GAP = 0.5;
const WEIGHT_DRAWS = 8;
/**
 * The batch's spread: STEP_SPREAD times the model's step from the incumbent, at most the radius
 * (on an int, at least the incumbent's cell, which can be wider). Near a minimum the step is
 * short, and points spread over the whole region measure its walls instead of the floor the next
 * fit needs (8 workers on Branin measured 0.2–9 above the optimum while the incumbent was 0.003
 * above it). Chosen on the B1 development half with 8 workers, mean of log₁₀ regret over its 36
 * continuous cells, seeds 1..20 (and 21..40, with a seed offset in a scratch script, where two
 * figures are given): −2.12 / −2.17 with the whole radius; −2.35 / −2.39 with twice the step and
 * {@link MIN_SPREAD}. On seeds 1..20: 1.5 and 3 times the step gave −2.35 and −2.32.
 */
const STEP_SPREAD = 2;
/**
 * Least spread, as a share of the radius, for when the model's minimiser is the incumbent itself.
 * On seeds 1..20 as above, 0.03 and 0.01 gave −2.27 and −2.32 and no floor −2.36, the same as
 * this within the seeds' noise; a floor keeps the spread, and so the gap between running points,
 * from being zero.
 */
const MIN_SPREAD = 0.001;
/**
 * How much a fitted point's residual counts, by how far its value lies above the incumbent's:
 * 1 / (gap ÷ typical gap + GAP_OFFSET), the typical gap being the (upper) median over the fitted
 * points, or their mean when more than half tie the incumbent; so at most 1 / GAP_OFFSET. An
 * unweighted least-squares fit answers to its largest residuals, the points highest up the walls,
 * where a function that is not a quadratic differs most from one: traced on Pintér-6D, its
 * minimiser only cut the distance to the minimum to 0.3–1 times the incumbent's, and less still
 * with workers, whose batches' misses make up most of the fitted points. Chosen on the B1
 * development half (docs/benchmarks.md at 035e597, PARALLEL, the seventh pass): one trial at a
 * time, 0.03 and 0.3 scored as well as 0.1 on the mean, but 0.03 left Simulated training @300
 * twice as far behind and 0.3 put its 20-seed median on the worse branch.
 */
const GAP_OFFSET = 0.1;
/**
 * How far the fitted points reach, in radii: taken nearest first, the list ends at the first point
 * farther than this from the incumbent on some coordinate, once the diagonal model has the points
 * it needs (2d + 2). A fit to the nearest points alone, at the start of a local phase, spans what
 * the global phase scattered over the space and describes the landscape at large: traced on
 * Hartmann-6 @100 with 8 workers, its minimiser lay on the region's edge for every proposal and 26
 * trials in a row missed. Chosen on the B1 development half by the mean over its 44 cells of the
 * change in log₁₀ regret (floored at 1e-6) paired by seed, seeds 1..60, scratch script: with 8
 * workers −0.15 ± 0.03 (standard error over cells; 25 cells better, 1 worse) against no reach;
 * 2, 3, 5, 6 and 8 radii gave −0.03, −0.07, −0.12, −0.07 and −0.03. On seeds 61..120: −0.12 ±
 * 0.05 (23 better, 4 worse). One trial at a time: −0.12 ± 0.04 and −0.13 ± 0.05. Its cost: once
 * the region has narrowed, fewer points than a full quadratic needs often lie within the reach,
 * so the fit is diagonal and has no cross terms. On the validation half that lost Zakharov-6D
 * @300 (its terms couple every coordinate) 2.2 decades with one worker and 3.6 with 8, while
 * more cells improved than got worse (docs/benchmarks.md at 035e597, PARALLEL, the ninth pass);
 * {@link chooseFit} brought the medians there (validation seeds 1..100) from 6.7e-6 to 1.8e-16
 * with one worker and from 0.075 to 0.0042 with 8 (the tenth pass).
 */
const REACH = 4;
/**
 * Uniform draws the region makes for a point {@link crashFree} accepts and not measured before,
 * when it has no model or no other point: without failed or pruned trials nearby, and off a grid
 * of ints, the first is taken.
 */
const UNIFORM_DRAWS = 16;
/** Look-ups of measured points a proposal answers by scanning the history, before it builds a set. */
const SCANNED_LOOKUPS = 32;
/** Smallest radius: below this the incumbent is known to more digits than a double holds. */
const MIN_RADIUS = 1e-9;

/** Unit-cube points this close (Chebyshev) are the same point. */
const SAME = 1e-12;

/**
 * Per coordinate, the width of the cell a point falls in (`Space.cellWidth`): for an int, the
 * span of positions that decode to the same value; 0 for a float.
 */
export type CellWidths = (u: readonly number[]) => readonly number[];

/**
 * A space with ints, as the trust region and the simplex need it: each point's cell widths (a
 * batch spreads over a cell at least, and the region reaches one) and the cell a point snaps to,
 * as the solver snaps every point it asks (so a proposal is compared, cell to cell, with the
 * points measured before).
 */
export interface DiscreteCells {
  readonly widths: CellWidths;
  readonly snap: (u: readonly number[]) => readonly number[];
}

/**
 * The default strategy's trust region around the incumbent, proposing the minimiser of a
 * quadratic fitted to the nearest evaluated points (cut at {@link REACH} radii unless the wider
 * fit predicts better: {@link chooseFit}), each weighed by how close its value is to the
 * incumbent's ({@link GAP_OFFSET}), its curvature made positive where the fit has it negative
 * (src/solver/quadratic-model.ts): from three trials at once it proposes every trial of a
 * local phase, and one trial at a time it takes turns with the simplex.
 *
 * @remarks
 * Nelder–Mead needs the result of each step before the next, so with c workers it would keep one
 * busy. Here every free worker gets a point: the model's minimiser inside the region; when that
 * point is measured and nothing is running, on ints the fresh cell one step from it along one int
 * coordinate that the model predicts lowest; otherwise (or with no such cell) the minimiser of a
 * fit to the same points under random
 * weights times the value weights (a Bayesian bootstrap: a draw of what the fit could as well have
 * been, Thompson-style), and failing that the best of a few model-ranked points drawn around the minimiser. Every point
 * keeps half the batch's spread from the running points, and the model-ranked ones are drawn
 * within it. The spread is twice the model's step: the whole region while the step is long, a
 * small neighbourhood near a minimum, where the next fit needs points; on an int coordinate
 * (`cells`) it is at least the incumbent's cell, so a batch is not drawn inside one value, and
 * the region itself reaches at least one cell each way. No proposal is a point measured before
 * (on ints: a cell), unless none of the draws finds another (a region whose cells are all
 * measured), nor, on ints, in a running trial's cell. Every point also lies nearer a
 * fitted point than any failed or pruned trial within the reach ({@link crashFree}). Only when no
 * point is clear of the running ones and the incumbent (or there is no model yet) does a uniform
 * point in the region come instead; with trials running, when the region holds no free cell, from
 * a box around the centre doubled until one holds one (`tell` says so of such a trial, which the
 * local phase counts as a repeated value). A result below the incumbent value at its ask widens
 * the region; failures
 * narrow it, by half per `width` failures (`width`: the running trials the caller passes, plus
 * one, at least {@link MIN_WIDTH}; the mixed region passes its branch's), so a full batch of
 * misses halves it whatever the number of workers.
 * Sequential runs use it too, taking turns with the simplex (src/solver/local-turns.ts).
 * Deterministic from the seed; `toJSON` holds all.
 */
export class TrustRegionBatch {
  private readonly prng: Prng;
  private readonly cells: DiscreteCells | undefined;
  /** Half-edge of the region (∞-norm, unit cube). */
  private radius: number;
  /**
   * Pending trial id → [incumbent value at its ask, trials running at its ask, whether the region
   * held no free cell then (the point was drawn from a wider box)].
   */
  private readonly asked = new Map<number, [number, number, boolean]>();

  /** `cells`, when some coordinate is an int: the batch's spread is at least a cell there. */
  constructor(prng: Prng, radius: number, cells?: DiscreteCells) {
    this.prng = prng;
    this.radius = radius;
    this.cells = cells;
  }

  /**
   * Proposes one point for trial `id` around history entry `incumbent`, away from `pending` and
   * from where trials failed or were pruned (`unfinished`: {@link crashFree}). `cells` replaces
   * the constructor's for this call: a caller that projects the history onto a subspace (the
   * active coordinates of a branch) gives the subspace's cells; the points then have its
   * dimension.
   */
  propose(
    history: readonly Evaluation[],
    incumbent: number,
    pending: readonly (readonly number[])[],
    id: number,
    unfinished: readonly (readonly number[])[] = [],
    cells: DiscreteCells | undefined = this.cells,
  ): number[] {
    const centre = history[incumbent]!.u;
    const centreValue = rank(history[incumbent]!.value);
    const width = Math.max(MIN_WIDTH, pending.length + 1);
    this.asked.set(id, [centreValue, width, false]);
    const r = this.radius;
    // On an int the region reaches at least the centre's cell width each way, so it always holds a
    // cell other than the centre's (a smaller one held only values already tried).
    const floors = cells?.widths(centre);
    const lower = centre.map((x, j) => Math.max(0, x - Math.max(r, floors?.[j] ?? 0)));
    const upper = centre.map((x, j) => Math.min(1, x + Math.max(r, floors?.[j] ?? 0)));
    const { points, values, weights, model } = chooseFit(history, centre, REACH * r, centreValue);
    const safe = crashFree(unfinished, points, centre, REACH * r);
    // Points already measured (the centre among them): asking one again learns nothing. A fit
    // whose minimiser sits on one kept proposing it, up to 20 trials in a row. On ints a point is
    // compared by the cell it snaps to, as the history holds it: on a grid of ints, a quarter of
    // the region's proposals were cells measured before. Snapping is monotone, so the measured
    // points a proposal in the box can meet lie between the box's snapped corners.
    const snap = cells?.snap;
    const low = snap === undefined ? lower : snap(lower);
    const high = snap === undefined ? upper : snap(upper);
    const inBox = (u: readonly number[]) => u.every((v, j) => v >= low[j]! - SAME && v <= high[j]! + SAME);
    // A look-up scans the history, most entries read no further than their first coordinate; a
    // proposal that looks up more than SCANNED_LOOKUPS points builds the set of the box's measured
    // points once instead (late in a run a box can hold hundreds, and most proposals look up one).
    let measured: MeasuredPoints | undefined;
    let scans = 0;
    const unmeasured = (x: readonly number[]) => {
      const at = snap === undefined ? x : snap(x);
      if (measured === undefined && scans++ < SCANNED_LOOKUPS) return !measuredAt(history, at, inBox);
      if (measured === undefined) {
        measured = new MeasuredPoints();
        measured.update(history.filter((h) => inBox(h.u)));
      }
      return measured.valueAt(at) === undefined;
    };
    // A uniform point in the region, of a few draws the first that `safe` accepts, that is not
    // measured and, on ints, not in a running trial's cell (else the last).
    const idle = (x: readonly number[]) =>
      snap === undefined ||
      pending.length === 0 ||
      pending.every((p) => cellKey(snap(p)) !== cellKey(snap(x)));
    const drawIn = (
      lo: readonly number[],
      hi: readonly number[],
      fresh: (x: readonly number[]) => boolean,
    ) => {
      let x: number[] = [];
      // Whether some draw was a free cell, `safe` aside: failed trials nearby refuse points, but
      // they do not make the region's cells measured.
      let free = false;
      for (let k = 0; k < UNIFORM_DRAWS; k++) {
        x = lo.map((l, j) => l + (hi[j]! - l) * this.prng.next());
        if (!fresh(x) || !idle(x)) continue;
        if (safe(x)) return { x, found: true, free: true };
        free = true;
      }
      return { x, found: false, free };
    };
    const uniform = () => {
      let draw = drawIn(lower, upper, unmeasured);
      if (draw.found || pending.length === 0) return draw.x;
      // Recorded for the caller: the region has an int and every draw in it met a measured or a
      // running cell. One trial at a time that shows as a draw repeating a measured value, which
      // ends the phase; a region of floats, or one whose free points failed trials wall off, is not.
      if (!draw.free && floors?.some((w) => w > 0) === true) this.asked.set(id, [centreValue, width, true]);
      // With trials running, a small region on ints can hold no cell that is neither measured nor
      // running: the box doubles around the centre until one is found, measured points judged
      // over the whole history there (one trial at a time, the region's last draw is taken).
      const everywhere = new MeasuredPoints();
      everywhere.update(history);
      const unmeasuredAnywhere = (x: readonly number[]) =>
        everywhere.valueAt(snap === undefined ? x : snap(x)) === undefined;
      const half = centre.map((_, j) => Math.max(r, floors?.[j] ?? 0));
      for (let grow = 2; !draw.found && grow <= MAX_GROWTH; grow *= 2) {
        const lo = centre.map((x, j) => Math.max(0, x - grow * half[j]!));
        const hi = centre.map((x, j) => Math.min(1, x + grow * half[j]!));
        draw = drawIn(lo, hi, unmeasuredAnywhere);
      }
      return draw.x;
    };
    if (model === null) return uniform();
    const minimiser = minimizeInBox(model, lower, upper);
    // How far around the minimiser a batch spreads: twice the model's step, within the region,
    // and on an int at least the incumbent's cell (a step inside it lands on a value tried).
    const base = Math.min(r, Math.max(MIN_SPREAD * r, STEP_SPREAD * chebyshev(minimiser, centre)));
    const spread = centre.map((_, j) => Math.max(base, floors?.[j] ?? 0));
    // On ints, also by cell: two points apart in the unit box can snap to the cell a running
    // trial measures (with 8 workers, auto ran the same int point up to four times at once).
    const running =
      snap === undefined || pending.length === 0 ? undefined : new Set(pending.map((p) => cellKey(snap(p))));
    const clear = (x: readonly number[]) =>
      pending.every((p) => x.some((v, j) => Math.abs(v - p[j]!) >= GAP * spread[j]!)) &&
      (running === undefined || !running.has(cellKey(snap!(x))));
    const fresh = (x: readonly number[]) => clear(x) && unmeasured(x) && safe(x);
    if (fresh(minimiser)) return minimiser;
    if (floors !== undefined && pending.length === 0) {
      // On ints the minimiser often rounds to a measured cell: the model's best fresh cell next to
      // it, before any refit. Not with trials running: the refits' random weights spread a batch,
      // and nearest cells did not (with 8 workers, B1's mixed cells lost up to 18 times).
      const next = freshNeighbour(model, minimiser, floors, lower, upper, fresh);
      if (next !== null) return next;
    }
    const drawn = this.bootstrapMinimiser(centre, points, values, weights, lower, upper, fresh);
    if (drawn !== null) return drawn;
    const prng = this.prng;
    function* around(): Generator<number[]> {
      for (let k = 0; k < 16; k++) {
        yield minimiser.map((m, j) =>
          Math.min(upper[j]!, Math.max(lower[j]!, m + spread[j]! * (2 * prng.next() - 1))),
        );
      }
    }
    const best = lowestPredicted(model, around(), fresh);
    // Nothing clear of the running points, the incumbent and the failed ones: a uniform point.
    return best ?? uniform();
  }

  /**
   * Takes the result of a trial this proposed; other ids are ignored. Returns whether the region
   * held no free cell when the trial was proposed, so that it was drawn from a wider box.
   */
  tell(id: number, value: number): boolean {
    const entry = this.asked.get(id);
    if (entry === undefined) return false;
    this.asked.delete(id);
    const [base, width, outside] = entry;
    if (rank(value) < base) this.radius = Math.min(MAX_RADIUS, this.radius * GROW);
    else this.radius = Math.max(MIN_RADIUS, this.radius * SHRINK ** (1 / width));
    return outside;
  }

  /** Forgets a pending trial given up before it was evaluated: the radius stays as it is. */
  cancel(id: number): void {
    this.asked.delete(id);
  }

  /** Widens the region to at least `radius` (a local phase around a moved incumbent). */
  widen(radius: number): void {
    this.radius = Math.max(this.radius, radius);
  }

  toJSON(): Record<string, unknown> {
    // A third entry only for a trial drawn outside the region: states from before it stay as they were.
    const asked = [...this.asked.entries()].map(([id, [base, width, outside]]) => [
      id,
      [base === Number.POSITIVE_INFINITY ? "Infinity" : base, width, ...(outside ? [true] : [])],
    ]);
    return { prng: this.prng.state(), radius: this.radius, asked };
  }

  static restore(state: unknown, cells?: DiscreteCells): TrustRegionBatch {
    const bad = (): never => {
      throw new RangeError("invalid global-local state: batch");
    };
    if (typeof state !== "object" || state === null) bad();
    const s = state as { prng?: unknown; radius?: unknown; asked?: unknown };
    if (!Array.isArray(s.prng) || s.prng.length !== 4) bad();
    if (typeof s.radius !== "number" || !(s.radius >= MIN_RADIUS && s.radius <= 0.5)) bad();
    const prng = Prng.fromState(s.prng as number[]);
    const region = new TrustRegionBatch(prng, s.radius as number, cells);
    if (!Array.isArray(s.asked)) bad();
    for (const entry of s.asked as unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 2 || !Number.isSafeInteger(entry[0])) bad();
      const [id, pair] = entry as [number, unknown];
      if (!Array.isArray(pair) || (pair.length !== 2 && !(pair.length === 3 && pair[2] === true))) bad();
      const [base, width, outside] = pair as unknown[];
      const value = base === "Infinity" ? Number.POSITIVE_INFINITY : base;
      if (typeof value !== "number" || Number.isNaN(value) || !Number.isSafeInteger(width)) bad();
      region.asked.set(id, [value as number, width as number, outside === true]);
    }
    return region;
  }

  /**
   * Minimiser of a quadratic fitted to `points` under random weights (a Bayesian bootstrap: each
   * point's weight drawn from Exp(1), times its `valueWeight`), the first of {@link WEIGHT_DRAWS}
   * draws that `fresh` accepts; null when none is. Unlike a resample drawn with replacement, every
   * point keeps a share, so a draw never has fewer distinct points than the model has terms.
   */
  private bootstrapMinimiser(
    centre: readonly number[],
    points: readonly (readonly number[])[],
    values: readonly number[],
    valueWeight: Float64Array | undefined,
    lower: readonly number[],
    upper: readonly number[],
    fresh: (x: readonly number[]) => boolean,
  ): number[] | null {
    const weights = new Float64Array(points.length);
    const solveUnder = weightedFits(centre, points, values);
    for (let draw = 0; draw < WEIGHT_DRAWS; draw++) {
      // Drawn even when nothing can be fitted: the stream moves on as it always has.
      for (let i = 0; i < weights.length; i++) {
        weights[i] = -Math.log(1 - this.prng.next()) * (valueWeight?.[i] ?? 1);
      }
      const model = solveUnder?.(weights) ?? null;
      if (model === null) continue;
      const x = minimizeInBox(model, lower, upper);
      if (fresh(x)) return x;
    }
    return null;
  }
}

/**
 * The points a trust-region fit uses around `centre`, with their (finite) values: nearest first
 * (Euclidean; ties by history order), at most as many as the model sized from the whole history
 * can use well, and stopping at the first one farther than `reach` from `centre` on some
 * coordinate once the diagonal model has the least it fits ({@link REACH}). Later points are
 * not looked at even if they lie within the reach. The model is chosen from how many points this
 * returns (src/solver/quadratic-model.ts), so a list cut below what the full one needs gets the
 * diagonal one.
 */
export function fitPoints(history: readonly Evaluation[], centre: readonly number[], reach: number) {
  const { points, values, reached } = nearestPoints(history, centre, reach);
  return { points: points.slice(0, reached), values: values.slice(0, reached) };
}

/**
 * The uncut list {@link fitPoints} reads (every finite point in its order, up to the model's
 * size) and `reached`, the length of the cut one, its prefix: one sort serves both.
 */
function nearestPoints(history: readonly Evaluation[], centre: readonly number[], reach: number) {
  const d = centre.length;
  const n = history.length;
  const terms = usesFullQuadratic(d, n) ? fullTerms(d) : diagonalTerms(d);
  const want = Math.min(n, Math.round(1.5 * terms) + d);
  // The least fitQuadratic fits: the diagonal model's terms and one more.
  const fewest = diagonalTerms(d) + 1;
  const distance = new Float64Array(n);
  let unvalued = 0;
  for (let i = 0; i < n; i++) {
    distance[i] = squared(history[i]!.u, centre);
    if (!Number.isFinite(history[i]!.value)) unvalued++;
  }
  const order = nearestFirst(distance, want + unvalued);
  const points: (readonly number[])[] = [];
  const values: number[] = [];
  let reached = -1;
  for (const i of order) {
    if (points.length >= want) break;
    if (reached < 0 && points.length >= fewest && chebyshev(history[i]!.u, centre) > reach) {
      reached = points.length;
    }
    const v = history[i]!.value;
    if (!Number.isFinite(v)) continue;
    points.push(history[i]!.u);
    values.push(v);
  }
  return { points, values, reached: reached < 0 ? points.length : reached };
}

/**
 * Whether an entry of `history` that `inBox` accepts is at `x`, as {@link MeasuredPoints} compares
 * points (the same rounded coordinates): what a set of those entries would answer, by one scan
 * that leaves most entries at their first coordinate.
 */
function measuredAt(
  history: readonly Evaluation[],
  x: readonly number[],
  inBox: (u: readonly number[]) => boolean,
): boolean {
  const key = gridPoint(x);
  const d = key.length;
  for (const entry of history) {
    const u = entry.u;
    if (u.length !== d) continue;
    let j = 0;
    while (j < d && onGrid(u[j]!) === key[j]) j++;
    if (j === d && inBox(u)) return true;
  }
  return false;
}

/** Longest list {@link nearestFirst} sorts by insertion (quadratic, but cheaper than calls below it). */
const INSERTION_SORT_MAX = 128;

/**
 * Indices of the `count` smallest `distance`s (more when some tie the last), nearest first, ties
 * by index: the first entries of every index sorted that way. The loop above reads no further
 * (it wants so many points with a value, and the others are counted in), and sorting only these
 * spares a comparison sort of the whole history on every proposal.
 */
function nearestFirst(distance: Float64Array, count: number): number[] {
  const n = distance.length;
  let order: number[];
  if (count >= n) {
    order = new Array<number>(n);
    for (let i = 0; i < n; i++) order[i] = i;
  } else {
    // The count-th smallest distance (a typed array sorts by number, natively), then every index
    // within it. Distances are never NaN (points are in the unit cube); were one, `!(… > cut)`
    // would keep it, and a NaN cut every index, as the whole sort did.
    const cut = distance.slice().sort()[count - 1]!;
    order = [];
    for (let i = 0; i < n; i++) if (!(distance[i]! > cut)) order.push(i);
  }
  if (order.length > INSERTION_SORT_MAX) return order.sort((a, b) => distance[a]! - distance[b]! || a - b);
  // Insertion sort, stable, on indices listed in increasing order: ties stay by index, the same
  // order as the comparator sort above, without a call per comparison (a fit's few dozen points).
  for (let a = 1; a < order.length; a++) {
    const index = order[a]!;
    const d = distance[index]!;
    let b = a - 1;
    for (; b >= 0 && distance[order[b]!]! > d; b--) order[b + 1] = order[b]!;
    order[b + 1] = index;
  }
  return order;
}

/**
 * Whether a point is at least as near (Euclidean) one of the fitted points `known` as every
 * unfinished point (a failed or pruned trial) within `reach` of `centre`: a nearest-neighbour
 * guess at whether its trial would complete, whose edge halves the gap between both kinds of
 * points as they fill in. Always true when no unfinished point lies within the reach. The fit
 * leaves failed points out (they have no value), so without this the region proposed across a
 * crash edge again and again: on a 2-D bowl whose evaluation crashes past its minimum, 67 % of
 * auto's trials 51..100 crashed (20 seeds), 31 % with this, 32 % when each crash was told a value
 * of 10. Giving failed points the fit's worst value instead cut that to 23 %, but bent the model
 * away from a minimum on the edge: median best 1.5e-6 against 1e-28.
 */
function crashFree(
  unfinished: readonly (readonly number[])[],
  known: readonly (readonly number[])[],
  centre: readonly number[],
  reach: number,
): (x: readonly number[]) => boolean {
  if (unfinished.length === 0) return () => true;
  const walls = unfinished.filter((u) => chebyshev(u, centre) <= reach);
  if (walls.length === 0) return () => true;
  const nearest = (x: readonly number[], list: readonly (readonly number[])[]) => {
    let m = Number.POSITIVE_INFINITY;
    for (const u of list) m = Math.min(m, squared(x, u));
    return m;
  };
  return (x) => nearest(x, known) <= nearest(x, walls);
}

/** The points a proposal's quadratic is fitted to, their residual weights and the model. */
export interface RegionFit {
  readonly points: readonly (readonly number[])[];
  readonly values: readonly number[];
  readonly weights: Float64Array | undefined;
  /** `null` when the points admit no fit (too few, or every value equal). */
  readonly model: QuadraticModel | null;
}

/**
 * The region's fit around `centre`: to {@link fitPoints} within `reach` or, when that list is too
 * short for the full quadratic and the uncut list (the same order, so the cut one is its prefix)
 * is not, to whichever of the two predicts the points within the reach better when each is left
 * out (the mean of squared leave-one-out residuals under {@link valueWeights} over the cut list).
 * When the points within the reach admit no fit (every value equal) the far ones are not asked
 * either: nothing says they describe this spot. It gives back the cross terms the reach took
 * from a narrowed region on a function whose coordinates are coupled (Zakharov-6D, validation
 * half: {@link REACH}), while a fit the far points would spoil keeps to the reach. On the B1
 * development half, which has no such function, it changed nothing beyond the seeds' noise:
 * seeds 1..60, change in log₁₀ regret floored at 1e-6 paired by seed, +0.014 ± 0.014 with 8
 * workers and +0.013 ± 0.009 with one (Rosenbrock-5D @300 −0.21 and −0.17). Asking the wide fit
 * to be 5 or 20 times better gave +0.007 and +0.006 (8 workers), the same within that noise.
 */
export function chooseFit(
  history: readonly Evaluation[],
  centre: readonly number[],
  reach: number,
  centreValue: number,
): RegionFit {
  const d = centre.length;
  const { reached, ...wide } = nearestPoints(history, centre, reach);
  const local = { points: wide.points.slice(0, reached), values: wide.values.slice(0, reached) };
  const localWeights = valueWeights(local.values, centreValue);
  const asLocal = (model: QuadraticModel | null): RegionFit => ({ ...local, weights: localWeights, model });
  // Above 8 dimensions, or early in a run, there is no full quadratic to weigh against.
  if (
    !usesFullQuadratic(d, history.length) ||
    usesFullQuadratic(d, local.points.length) ||
    !usesFullQuadratic(d, wide.points.length)
  ) {
    return asLocal(fitQuadratic(centre, local.points, local.values, localWeights));
  }
  const judged = local.points.length;
  const near = fitWithLeaveOneOut(centre, local.points, local.values, localWeights, judged, localWeights);
  if (near === null) return asLocal(null);
  const wideWeights = valueWeights(wide.values, centreValue);
  const far = fitWithLeaveOneOut(centre, wide.points, wide.values, wideWeights, judged, localWeights);
  if (far !== null && far.error < near.error) return { ...wide, weights: wideWeights, model: far.model };
  return asLocal(near.model);
}

/**
 * Per fitted point, the weight of its residual ({@link GAP_OFFSET}); undefined when every value
 * ties the incumbent's (nothing to weigh them by). `values` are finite (the region fits no other);
 * a gap of over 1e300 typical ones would weigh 0.
 */
export function valueWeights(values: readonly number[], incumbentValue: number): Float64Array | undefined {
  const gaps = values.map((v) => Math.max(0, v - incumbentValue));
  const sorted = [...gaps].sort((a, b) => a - b);
  let typical = sorted[sorted.length >> 1] ?? 0;
  if (!(typical > 0)) typical = gaps.reduce((sum, g) => sum + g, 0) / gaps.length;
  if (!(typical > 0 && Number.isFinite(typical))) return undefined;
  const weights = new Float64Array(gaps.length);
  for (let i = 0; i < gaps.length; i++) weights[i] = 1 / (gaps[i]! / typical + GAP_OFFSET);
  return weights;
}

function rank(value: number): number {
  return Number.isNaN(value) ? Number.POSITIVE_INFINITY : value;
}

/** How many times wider than the region a uniform draw may reach for a free cell (the whole box from a radius of 1/64). */
const MAX_GROWTH = 64;

/** A snapped point as a key, so that two points in one cell compare equal. */
function cellKey(snapped: readonly number[]): string {
  return snapped.join(",");
}

function chebyshev(a: readonly number[], b: readonly number[]): number {
  let m = 0;
  for (let j = 0; j < a.length; j++) m = Math.max(m, Math.abs(a[j]! - b[j]!));
  return m;
}

function squared(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += (a[j]! - b[j]!) ** 2;
  return s;
}

/**
 * The point one cell from `at` along one int coordinate (each way) that the model predicts
 * lowest, of those `fresh` accepts; null when none is.
 */
function freshNeighbour(
  model: QuadraticModel,
  at: readonly number[],
  widths: readonly number[],
  lower: readonly number[],
  upper: readonly number[],
  fresh: (x: readonly number[]) => boolean,
): number[] | null {
  function* neighbours(): Generator<number[]> {
    for (let j = 0; j < at.length; j++) {
      const w = widths[j]!;
      if (!(w > 0)) continue;
      for (const sign of [-1, 1]) {
        const v = at[j]! + sign * w;
        if (v < lower[j]! || v > upper[j]!) continue;
        const x = [...at];
        x[j] = v;
        yield x;
      }
    }
  }
  return lowestPredicted(model, neighbours(), fresh);
}

/** Of `points`, taken in order, the first that the model predicts lowest among those `fresh` accepts; null when none is. */
function lowestPredicted(
  model: QuadraticModel,
  points: Iterable<number[]>,
  fresh: (x: readonly number[]) => boolean,
): number[] | null {
  const s = new Array<number>(model.centre.length);
  let best: number[] | null = null;
  let bestValue = Number.POSITIVE_INFINITY;
  for (const x of points) {
    for (let j = 0; j < x.length; j++) s[j] = (x[j]! - model.centre[j]!) / model.scale;
    const value = modelValue(model, s);
    // Freshness (a cell lookup) only for a point that would win: the same winner, fewer lookups.
    if (value < bestValue && fresh(x)) {
      best = x;
      bestValue = value;
    }
  }
  return best;
}
