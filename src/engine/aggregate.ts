/**
 * Reduces the objective values of one evaluation window to a single number.
 *
 * @packageDocumentation
 */

/**
 * How a window's values become one objective value.
 *
 * - `"trimmed-mean"`: sort, drop `ceil(count × trim)` values from each end, average the rest;
 *   when nothing would remain, the plain mean of all values.
 * - `"median"`: the middle value; the mean of the two middle values for an even count.
 * - `"mean"`: the arithmetic mean.
 */
export type Aggregation = "trimmed-mean" | "median" | "mean";

/**
 * Slack subtracted before rounding `count × trim` up, so that binary round-off cannot trim one
 * value more than the exact product asks for (100 × 0.07 evaluates to 7.000000000000001).
 */
const TRIM_ROUNDING_SLACK = 1e-9;

/**
 * Aggregates `values[0 .. count)` with `method`.
 *
 * @param values - The window's values (finite numbers); left unchanged unless it is `scratch`.
 * @param count - How many leading entries of `values` belong to the window.
 * @param method - See {@link Aggregation}.
 * @param trim - Fraction dropped from each end by `"trimmed-mean"` (meaningful in [0, 0.5);
 *   negative or NaN means 0, ≥ 0.5 always falls back to the plain mean). Ignored otherwise.
 * @param scratch - Work space of length ≥ `count`, overwritten (may be `values` itself, which
 *   is then sorted in place).
 * @returns The aggregate, or NaN when `count` is not a positive integer or exceeds the length of
 *   `values` (or of `scratch`, for the sorting methods).
 *
 * @remarks
 * Examples: [1, 2, 3, 4, 100] trim 0.2 → 3; [0.5, 0.6] trim 0.1 → 0.55 (trimming would remove
 * everything); a single value → itself.
 *
 * Every mean is clamped into [smallest, largest] of the values it averages, so round-off in the
 * sum can never put it outside their range. A trimmed mean that trims nothing is computed exactly
 * like `"mean"` (same summation order), so `trim = 0` gives bit-identical results.
 *
 * Performance contract: no allocation, no exceptions. Median and trimmed mean sort into
 * `scratch`: insertion sort up to 64 values (the fast choice for usual windows), heapsort above.
 */
export function aggregate(
  values: Float64Array,
  count: number,
  method: Aggregation,
  trim: number,
  scratch: Float64Array,
): number {
  if (!(count > 0) || count > values.length || (count | 0) !== count) return Number.NaN;
  if (method === "mean") return meanOf(values, 0, count);
  if (method === "trimmed-mean") {
    const drop = Math.ceil(count * trim - TRIM_ROUNDING_SLACK);
    if (!(drop > 0)) return meanOf(values, 0, count);
    if (count - 2 * drop <= 0) return meanOf(values, 0, count);
    if (count > scratch.length) return Number.NaN;
    sortInto(values, count, scratch);
    return meanOf(scratch, drop, count - drop);
  }
  if (count > scratch.length) return Number.NaN;
  sortInto(values, count, scratch);
  const middle = count >> 1;
  if ((count & 1) === 1) return scratch[middle]!;
  const low = scratch[middle - 1]!;
  const high = scratch[middle]!;
  const sum = low + high;
  // Two values near the largest double overflow their sum: halve them first.
  return Number.isFinite(sum) ? sum / 2 : low / 2 + high / 2;
}

/**
 * How many of a window's most extreme values at either end its aggregate never reads: what
 * `"trimmed-mean"` drops from each end (none when it falls back to the mean), all but the middle
 * for `"median"`, none for `"mean"`. That many anomalous digests leave the window's value a
 * measure of its point.
 */
export function extremesIgnored(count: number, method: Aggregation, trim: number): number {
  if (!(count > 0)) return 0;
  if (method === "median") return (count - 1) >> 1;
  if (method === "mean") return 0;
  const drop = Math.ceil(count * trim - TRIM_ROUNDING_SLACK);
  return drop > 0 && count - 2 * drop > 0 ? drop : 0;
}

/** Mean of `a[from .. to)`, clamped into the range of those values. */
function meanOf(a: Float64Array, from: number, to: number): number {
  let sum = 0;
  let lowest = Number.POSITIVE_INFINITY;
  let highest = Number.NEGATIVE_INFINITY;
  for (let i = from; i < to; i++) {
    const x = a[i]!;
    sum += x;
    if (x < lowest) lowest = x;
    if (x > highest) highest = x;
  }
  let mean = sum / (to - from);
  if (!Number.isFinite(sum)) {
    // The sum overflowed (values near the largest double): average the scaled values instead.
    mean = 0;
    for (let i = from; i < to; i++) mean += a[i]! / (to - from);
  }
  return mean < lowest ? lowest : mean > highest ? highest : mean;
}

/** Windows up to this size are insertion-sorted (fastest for the usual few dozen values). */
const INSERTION_SORT_MAX = 64;

/**
 * Ascending sort of `values[0 .. count)` into `out[0 .. count)`, without allocating: insertion
 * sort for small windows, heapsort (O(n log n)) for larger ones, so that a window of millions of
 * digests closes in a fraction of a second rather than hours. Equal values make the order of
 * equals irrelevant to every aggregate.
 */
function sortInto(values: Float64Array, count: number, out: Float64Array): void {
  if (count > INSERTION_SORT_MAX) {
    if (out !== values) for (let i = 0; i < count; i++) out[i] = values[i]!;
    heapsort(out, count);
    return;
  }
  for (let i = 0; i < count; i++) {
    const x = values[i]!;
    let j = i - 1;
    while (j >= 0 && out[j]! > x) {
      out[j + 1] = out[j]!;
      j--;
    }
    out[j + 1] = x;
  }
}

/** In-place ascending heapsort of `a[0 .. count)`. */
function heapsort(a: Float64Array, count: number): void {
  for (let start = (count >> 1) - 1; start >= 0; start--) siftDown(a, start, count);
  for (let end = count - 1; end > 0; end--) {
    const top = a[0]!;
    a[0] = a[end]!;
    a[end] = top;
    siftDown(a, 0, end);
  }
}

/** Restores the max-heap property below `root` in `a[0 .. end)`. */
function siftDown(a: Float64Array, root: number, end: number): void {
  const x = a[root]!;
  let i = root;
  for (let child = 2 * i + 1; child < end; child = 2 * i + 1) {
    if (child + 1 < end && a[child + 1]! > a[child]!) child++;
    if (!(a[child]! > x)) break;
    a[i] = a[child]!;
    i = child;
  }
  a[i] = x;
}
