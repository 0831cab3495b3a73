import { quantileSorted, sortedCopy } from "./stats.js";
import { formatMicros } from "./table.js";

/** B2 runs every loop for this many trials. */
export const TRIAL_BUDGET = 1000;

/** A range of 1-based trial indices, inclusive. */
export interface TrialRange {
  readonly label: string;
  readonly first: number;
  readonly last: number;
}

/** B2's trial-index buckets. */
export const BUCKETS: readonly TrialRange[] = [
  { label: "1–10", first: 1, last: 10 },
  { label: "11–100", first: 11, last: 100 },
  { label: "101–1000", first: 101, last: 1000 },
];

/** Narrow windows where the gates are read: "at trial ~100" and "at trial 1000". */
export const WINDOWS: readonly TrialRange[] = [
  { label: "90–110", first: 90, last: 110 },
  { label: "991–1000", first: 991, last: 1000 },
];

/** p50/p99 (ns) of one bucket, or p50 of one window; medians over runs (NaN: no run got there). */
export interface OverheadSummary {
  readonly runs: number;
  /** Fewest trials any run completed (a strategy may stop before the budget). */
  readonly shortestRun: number;
  readonly buckets: readonly { readonly p50: number; readonly p99: number }[];
  readonly windows: readonly number[];
}

function slice(run: readonly number[], range: TrialRange): Float64Array {
  return sortedCopy(run.slice(range.first - 1, range.last));
}

/** Quantile of a slice; NaN when a run ended before the slice began. */
function sliceQuantile(run: readonly number[], range: TrialRange, q: number): number {
  const sorted = slice(run, range);
  return sorted.length === 0 ? Number.NaN : quantileSorted(sorted, q);
}

/** Median over the runs that reached the slice (NaN if none did). */
function medianOf(values: number[]): number {
  const reached = values.filter((v) => !Number.isNaN(v));
  return reached.length === 0 ? Number.NaN : quantileSorted(sortedCopy(reached), 0.5);
}

/**
 * Summarises per-trial times (`runs[r][i]` = ns of trial i + 1 in run r): each statistic is
 * computed per run, then the median over runs is taken, so one noisy run cannot move it much.
 */
export function summarizeOverhead(runs: readonly (readonly number[])[]): OverheadSummary {
  const perRun = runs.map((run) => ({
    buckets: BUCKETS.map((bucket) => ({
      p50: sliceQuantile(run, bucket, 0.5),
      p99: sliceQuantile(run, bucket, 0.99),
    })),
    windows: WINDOWS.map((window) => sliceQuantile(run, window, 0.5)),
  }));
  return {
    runs: runs.length,
    shortestRun: Math.min(...runs.map((run) => run.length)),
    buckets: BUCKETS.map((_, b) => ({
      p50: medianOf(perRun.map((r) => r.buckets[b]!.p50)),
      p99: medianOf(perRun.map((r) => r.buckets[b]!.p99)),
    })),
    windows: WINDOWS.map((_, w) => medianOf(perRun.map((r) => r.windows[w]!))),
  };
}

/** Column headers of an overhead table (all in µs). */
export function overheadHeader(): string[] {
  return [
    "loop",
    ...BUCKETS.flatMap((bucket) => [`p50 ${bucket.label}`, `p99 ${bucket.label}`]),
    ...WINDOWS.map((window) => `p50 @${window.label}`),
  ];
}

/** One table row in µs. */
export function overheadRow(label: string, summary: OverheadSummary): string[] {
  return [
    label,
    ...summary.buckets.flatMap((bucket) => [formatMicros(bucket.p50), formatMicros(bucket.p99)]),
    ...summary.windows.map(formatMicros),
  ];
}
