/**
 * The Classify step: is the probed landscape structured (a few smooth funnels, worth a local
 * Nelder–Mead descent) or chaotic (no exploitable shape at the probe's resolution, better left to
 * TPE)?
 *
 * @remarks
 * The statistic is an **elite-distance rank correlation**, a multi-funnel variant of Jones and
 * Forrest's fitness–distance correlation:
 *
 * 1. Order the points by value (ties by position in the input) and call the first
 *    `k = max(1, round(n / 5))` the elite: the best fifth of the probe.
 * 2. For every other point, measure the Euclidean distance (in the unit cube) to its nearest
 *    elite point.
 * 3. The score is Spearman's ρ between those distances and those points' values (average ranks
 *    for ties), in [−1, 1].
 *
 * On a structured landscape, values get worse the further a point is from the good regions, so
 * ρ is clearly positive; with several funnels (Branin has three minima) distance to the *nearest*
 * elite still tracks value where distance to the single best point would not. On a landscape whose
 * values look like noise at the probe's spacing (Rastrigin's or Ackley's ripples, random values), ρ
 * sits near 0. Only the order of the values is used, so any strictly increasing transform of the
 * objective (log, exp, affine with positive slope) gives exactly the same score and label; NaN
 * counts as worse than every number. The label is "structured" when the score is at least
 * {@link STRUCTURE_THRESHOLD}.
 *
 * Edge cases, all deterministic: fewer than {@link MIN_CLASSIFY_POINTS} points, all-equal values,
 * or all-equal distances give no evidence of structure: score 0, label "chaotic", and a statistic
 * string saying why.
 */

/** The result of classifying a probe: the label, the score behind it, and how it was computed. */
export interface Classification {
  readonly label: "structured" | "chaotic";
  readonly score: number;
  readonly statistic: string;
}

/**
 * Scores at or above this are "structured". Provisional (0.45): on 20–40-point probes it sits
 * between the median scores of smooth benchmarks (Branin, Hartmann-6, Rosenbrock-5D, Sphere-5D:
 * ≈ 0.4–0.8) and rugged ones (Rastrigin-5D, Ackley-5D: ≈ 0.3–0.4), and 2–2.5 standard errors above
 * what random values give. To be calibrated against the solver's benchmark results.
 */
export const STRUCTURE_THRESHOLD = 0.45;

/** Fewest points for which a score is computed (one elite point and three others). */
export const MIN_CLASSIFY_POINTS = 4;

/** Share of the points that form the elite (rounded, at least one point). */
export const ELITE_FRACTION = 0.2;

/** How {@link Classification.statistic} ends when the probe could not be judged (score 0, "chaotic"). */
export const NO_EVIDENCE = "no evidence of structure";

/** Whether the probe behind `classification` could be judged at all (see the module remarks). */
export function hasEvidence(classification: Pick<Classification, "statistic">): boolean {
  return !classification.statistic.endsWith(NO_EVIDENCE);
}

/** Name of the statistic, the stable first word of {@link Classification.statistic}. */
export const STATISTIC_NAME = "elite-distance-spearman";

interface Scored {
  readonly score: number;
  readonly detail: string;
}

/**
 * The raw elite-distance rank correlation of a probe (see the module remarks), in [−1, 1]; 0 when
 * there is no evidence either way (too few points, no variation in values or distances).
 *
 * @param points - unit-cube points, all of the same length.
 * @param values - objective values (lower is better), one per point; NaN counts as the worst.
 * @throws RangeError if the lengths disagree or a coordinate is not finite.
 *
 * @remarks
 * O(n² · d) time for n points in d dimensions (n is the probe size, tens to hundreds), O(n) memory.
 */
export function structureScore(points: readonly (readonly number[])[], values: readonly number[]): number {
  return score(points, values).score;
}

/**
 * Classifies a probe as structured or chaotic from its points and values (see the module remarks).
 *
 * @param points - unit-cube points, all of the same length.
 * @param values - objective values (lower is better), one per point; NaN counts as the worst.
 * @throws RangeError if the lengths disagree or a coordinate is not finite.
 */
export function classify(points: readonly (readonly number[])[], values: readonly number[]): Classification {
  const { score: s, detail } = score(points, values);
  return {
    label: s >= STRUCTURE_THRESHOLD ? "structured" : "chaotic",
    score: s,
    statistic: `${STATISTIC_NAME}: ${detail}`,
  };
}

function score(points: readonly (readonly number[])[], values: readonly number[]): Scored {
  const n = points.length;
  if (values.length !== n) {
    throw new RangeError(`classify needs one value per point, got ${n} points and ${values.length} values`);
  }
  const dimension = n > 0 ? points[0]!.length : 0;
  for (const p of points) {
    if (p.length !== dimension) throw new RangeError("classify needs points of equal dimension");
    if (!p.every(Number.isFinite)) throw new RangeError("classify needs finite point coordinates");
  }
  if (n < MIN_CLASSIFY_POINTS) {
    return { score: 0, detail: `too few points (${n} < ${MIN_CLASSIFY_POINTS}), ${NO_EVIDENCE}` };
  }
  // NaN sorts after +Infinity so that failed evaluations are the worst, never elite by accident.
  const clean = values.map((v) => (Number.isNaN(v) ? Number.POSITIVE_INFINITY : v));
  const order = clean.map((_, i) => i).sort((a, b) => compareValues(clean[a]!, clean[b]!) || a - b);
  const eliteCount = Math.max(1, Math.round(n * ELITE_FRACTION));
  const elite = order.slice(0, eliteCount);
  const others = order.slice(eliteCount);
  const distances = others.map((i) => {
    let nearest = Number.POSITIVE_INFINITY;
    for (const e of elite) nearest = Math.min(nearest, squaredDistance(points[i]!, points[e]!));
    return nearest; // squared: same ranks, no square root needed
  });
  const othersValues = others.map((i) => clean[i]!);
  const where = `${n} points, ${eliteCount} elite`;
  const rho = spearman(distances, othersValues);
  if (rho === undefined) return { score: 0, detail: `${where}; no variation, ${NO_EVIDENCE}` };
  return { score: rho, detail: `${where}; Spearman ρ of value against distance to nearest elite` };
}

/** Total order on values with ±Infinity (NaN already replaced). */
function compareValues(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function squaredDistance(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let k = 0; k < a.length; k++) sum += (a[k]! - b[k]!) ** 2;
  return sum;
}

/** Ranks 1..n with tied entries sharing the average of their ranks. */
function averageRanks(xs: readonly number[]): number[] {
  const order = xs.map((_, i) => i).sort((a, b) => compareValues(xs[a]!, xs[b]!) || a - b);
  const ranks = new Array<number>(xs.length);
  let start = 0;
  while (start < order.length) {
    let end = start;
    while (end + 1 < order.length && xs[order[end + 1]!] === xs[order[start]!]) end++;
    const shared = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) ranks[order[k]!] = shared;
    start = end + 1;
  }
  return ranks;
}

/** Spearman's ρ (Pearson on average ranks); undefined when either side has no variation. */
function spearman(xs: readonly number[], ys: readonly number[]): number | undefined {
  const rx = averageRanks(xs);
  const ry = averageRanks(ys);
  const mean = (rx.length + 1) / 2; // average ranks always have this mean
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    const dx = rx[i]! - mean;
    const dy = ry[i]! - mean;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return undefined;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}
