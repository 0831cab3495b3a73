/**
 * Robust moments of a handful of samples, without allocating: the median and MAD judge each
 * sample, and the mean and variance are those of the samples clipped where they lie too far out.
 */

/**
 * Mean and variance (weights 1/n, as running statistics give them) of `values[0..n)` with each
 * clipped to median ± k · 1.4826 · MAD (k of a normal spread's standard deviations),
 * into `out` as [mean, variance]; whether any value was clipped. No clip when the MAD is 0 (more
 * than half the values equal: a flat objective repeats one D exactly).
 */
export function clippedMoments(
  values: Float64Array,
  n: number,
  k: number,
  scratch: Float64Array,
  out: Float64Array,
): boolean {
  for (let i = 0; i < n; i++) scratch[i] = values[i]!;
  const median = medianInPlace(scratch, n);
  for (let i = 0; i < n; i++) scratch[i] = Math.abs(values[i]! - median);
  const limit = k * MAD_TO_SD * medianInPlace(scratch, n);
  let clipped = false;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let v = values[i]!;
    if (limit > 0 && v > median + limit) {
      v = median + limit;
      clipped = true;
    } else if (limit > 0 && v < median - limit) {
      v = median - limit;
      clipped = true;
    }
    scratch[i] = v;
    sum += v;
  }
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (scratch[i]! - mean) ** 2;
  out[0] = mean;
  out[1] = squares / n;
  return clipped;
}

/**
 * Median of the first `n` values of `values`, sorting them in place (insertion sort: n is a
 * handful); NaN for none.
 */
export function medianInPlace(values: Float64Array, n: number): number {
  if (n === 0) return Number.NaN;
  for (let i = 1; i < n; i++) {
    const v = values[i]!;
    let j = i - 1;
    while (j >= 0 && values[j]! > v) {
      values[j + 1] = values[j]!;
      j--;
    }
    values[j + 1] = v;
  }
  const mid = n >> 1;
  return n % 2 === 1 ? values[mid]! : 0.5 * (values[mid - 1]! + values[mid]!);
}

/** A normal distribution's standard deviation over its median absolute deviation. */
const MAD_TO_SD = 1.4826;
