/**
 * TPE's choice among candidates drawn from l(x): the largest log l(x) − log g(x) wins, and g is
 * evaluated lazily. Shared by the continuous TPE (tpe.ts) and the mixed-space TPE (mixed-tpe.ts).
 *
 * @remarks
 * log g(x) is at least the log of g's prior term, so log l(x) − (that term) bounds a candidate's
 * score from above. Candidates are ranked by that bound as they are drawn
 * ({@link insertByBound}); {@link pickByBound} then scores them in that order until the bound of
 * the next one falls below the best score found, and asks g for each only up to the value that
 * could still win (its `cap`). The winner is the one scoring every candidate would give (the
 * earliest drawn among equals), at a fraction of the cost.
 */

/** A density whose log can stop early once it is known to exceed `cap` (returning +∞ then). */
export interface CappedDensity {
  logDensity(x: Float64Array, offset: number, cap: number): number;
}

/**
 * Inserts candidate `c` into `ranking[0…count−1]`, ordered by decreasing `bounds` (ties: the
 * earlier position first); returns the new count.
 */
export function insertByBound(ranking: Int32Array, bounds: Float64Array, count: number, c: number): number {
  let p = count;
  const bound = bounds[c]!;
  while (p > 0 && bounds[ranking[p - 1]!]! < bound) {
    ranking[p] = ranking[p - 1]!;
    p--;
  }
  ranking[p] = c;
  return count + 1;
}

/**
 * The winning candidate among the `count` ranked in `ranking`, or −1 when none is left.
 * Candidate c's point starts at `points[c · stride]`; `logL[c]` is its log l and `bounds[c]`
 * the upper bound of its score. A candidate `skip` rejects is passed over before it is scored
 * (the winner is then the best of the others: the bound still holds for them).
 */
export function pickByBound(
  ranking: Int32Array,
  count: number,
  logL: Float64Array,
  bounds: Float64Array,
  bad: CappedDensity,
  points: Float64Array,
  stride: number,
  skip?: (c: number) => boolean,
): number {
  let best = Number.NEGATIVE_INFINITY;
  let winner = -1;
  for (let r = 0; r < count; r++) {
    const c = ranking[r]!;
    // A margin of 1e-9 guards the bound against rounding in the last place.
    if (winner >= 0 && bounds[c]! < best - 1e-9 * (1 + Math.abs(best))) break;
    if (skip?.(c) === true) continue;
    // A candidate whose log g exceeds log l − best cannot win: its evaluation stops there.
    const cap = winner < 0 ? Number.POSITIVE_INFINITY : logL[c]! - best;
    const score = logL[c]! - bad.logDensity(points, c * stride, cap);
    if (winner < 0 || score > best || (score === best && c < winner)) {
      best = score;
      winner = c;
    }
  }
  return winner;
}
