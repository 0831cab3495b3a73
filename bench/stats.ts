/**
 * Order statistics for benchmark samples: quantiles, median and interquartile range.
 *
 * @remarks
 * Quantiles interpolate linearly between order statistics (Hyndman–Fan type 7, the default of
 * R and NumPy), so figures here can be checked against either.
 */

/** Quantile `q` ∈ [0, 1] of `sorted` (ascending, non-empty). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError("quantile of an empty sample");
  const position = (n - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.min(n - 1, lower + 1);
  const weight = position - lower;
  // Equal neighbours (Infinity among them: a recovery never reached) need no interpolation, which
  // would read Infinity − Infinity as NaN.
  if (weight === 0 || sorted[upper] === sorted[lower]) return sorted[lower]!;
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * weight;
}

/** Ascending copy of `values` as a Float64Array (numeric sort, no string comparison). */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** Quantile `q` of an unsorted sample. */
export function quantile(values: ArrayLike<number>, q: number): number {
  return quantileSorted(sortedCopy(values), q);
}

/** Median of an unsorted sample. */
export function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}

/** Median with first and third quartiles. */
export interface Spread {
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
}

/** Median and interquartile range of an unsorted sample. */
export function spread(values: ArrayLike<number>): Spread {
  const sorted = sortedCopy(values);
  return {
    median: quantileSorted(sorted, 0.5),
    q1: quantileSorted(sorted, 0.25),
    q3: quantileSorted(sorted, 0.75),
  };
}
