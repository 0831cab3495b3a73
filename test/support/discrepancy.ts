/**
 * Space-filling measures for unit-cube designs, used by the probe tests.
 */

/**
 * Squared centred L2 discrepancy of `points` in [0,1]^d (Hickernell 1998, closed form):
 *
 * CD² = (13/12)^d − (2/n) Σ_i Π_k (1 + ½|z_ik| − ½z_ik²)
 *       + (1/n²) Σ_i Σ_j Π_k (1 + ½|z_ik| + ½|z_jk| − ½|x_ik − x_jk|),   with z = x − ½.
 *
 * @remarks
 * This is the value `scipy.stats.qmc.discrepancy(x, method="CD")` returns. Lower is more uniform;
 * the measure is invariant under reflections x_k ↦ 1 − x_k. O(n² · d).
 */
export function centredL2DiscrepancySquared(points: readonly (readonly number[])[]): number {
  const n = points.length;
  if (n === 0) throw new RangeError("discrepancy of an empty design is undefined");
  const d = points[0]!.length;
  let single = 0;
  for (const x of points) {
    let product = 1;
    for (let k = 0; k < d; k++) {
      const z = Math.abs(x[k]! - 0.5);
      product *= 1 + 0.5 * z - 0.5 * z * z;
    }
    single += product;
  }
  let pairs = 0;
  for (const x of points) {
    for (const y of points) {
      let product = 1;
      for (let k = 0; k < d; k++) {
        product *=
          1 + 0.5 * Math.abs(x[k]! - 0.5) + 0.5 * Math.abs(y[k]! - 0.5) - 0.5 * Math.abs(x[k]! - y[k]!);
      }
      pairs += product;
    }
  }
  return (13 / 12) ** d - (2 / n) * single + pairs / (n * n);
}

/** Centred L2 discrepancy CD2 (the square root of {@link centredL2DiscrepancySquared}). */
export function centredL2Discrepancy(points: readonly (readonly number[])[]): number {
  return Math.sqrt(Math.max(0, centredL2DiscrepancySquared(points)));
}

function distance(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let k = 0; k < a.length; k++) sum += (a[k]! - b[k]!) ** 2;
  return Math.sqrt(sum);
}

/** Euclidean distance from each point to its nearest other point (needs at least two points). */
export function nearestNeighbourDistances(points: readonly (readonly number[])[]): number[] {
  if (points.length < 2) throw new RangeError("nearest-neighbour distance needs at least two points");
  return points.map((p, i) => {
    let best = Number.POSITIVE_INFINITY;
    points.forEach((q, j) => {
      if (j !== i) best = Math.min(best, distance(p, q));
    });
    return best;
  });
}

/** Smallest Euclidean distance between two distinct points of the design. */
export function minimumPairwiseDistance(points: readonly (readonly number[])[]): number {
  return Math.min(...nearestNeighbourDistances(points));
}

/** Mean nearest-neighbour distance of the design. */
export function meanNearestNeighbourDistance(points: readonly (readonly number[])[]): number {
  const distances = nearestNeighbourDistances(points);
  return distances.reduce((sum, x) => sum + x, 0) / distances.length;
}
