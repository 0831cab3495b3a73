/**
 * A latency histogram whose counts live in a typed array, exported to Prometheus as a histogram
 * at scrape time.
 */
import type { Metric } from "prom-client";
import type { ConfigIssue } from "../errors.js";
import { shownValue } from "../shown-value.js";
import { throwOnIssues } from "./metric-options.js";

/**
 * One exposition line as prom-client's registry formats it; without `metricName` it is the
 * metric's own name (which a counter needs: OpenMetrics output appends `_total` to it).
 */
export interface ExpositionValue {
  readonly metricName?: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/** What prom-client's registry reads from a metric at scrape time. */
export interface ExpositionMetric {
  readonly name: string;
  readonly help: string;
  readonly type: "histogram";
  readonly values: readonly ExpositionValue[];
  readonly aggregator: "sum";
}

/**
 * Upper bounds (seconds) of the T1/T2 latency buckets: 1 µs to 10 s. prom-client's defaults
 * start at 5 ms, where every engine call would land in the first bucket. 2.5 ms is a bound because
 * the decision-latency alert's threshold must be one: `histogram_quantile` interpolates inside a
 * bucket, and would read decisions of 2 ms in a 1–10 ms bucket as a p99 near 10 ms; so is 20 µs,
 * the hot-loop target the B3 benchmark gates decisions on, for a dashboard to read. The buckets
 * go on to 10 s, the longest the engine waits for an async actuator hook, so a hook that writes
 * over the network is measured rather than lumped into `+Inf`.
 */
export const MICROSECOND_BUCKETS: readonly number[] = [
  1e-6, 2.5e-6, 5e-6, 1e-5, 2e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 2.5e-2, 0.1, 0.25, 1,
  2.5, 10,
];

/**
 * Problems with bucket bounds given as `path` (`buckets`, or the caller's option name such as
 * `latencyBuckets`): an array of finite numbers > 0, ascending. Empty when valid (an empty array
 * is: the histogram then has its `+Inf` bucket only).
 */
export function bucketIssues(buckets: unknown, path: string): ConfigIssue[] {
  if (!Array.isArray(buckets))
    return [{ path, message: `must be an array of bucket bounds in seconds, got ${shownValue(buckets)}` }];
  // `+Inf` alone: every quantile of it is +Inf, so a latency alert on it could never fire.
  if (buckets.length === 0) return [{ path, message: "must hold at least one bound (seconds)" }];
  const issues: ConfigIssue[] = [];
  for (let i = 0; i < buckets.length; i++) {
    const bound: unknown = buckets[i];
    const previous: unknown = buckets[i - 1];
    if (!(typeof bound === "number" && Number.isFinite(bound) && bound > 0))
      issues.push({
        path: `${path}[${i}]`,
        message: `must be a finite number > 0, got ${shownValue(bound)}`,
      });
    else if (i > 0 && typeof previous === "number" && bound <= previous)
      issues.push({
        path: `${path}[${i}]`,
        message: `must be greater than ${path}[${i - 1}] (${shownValue(previous)}), got ${shownValue(bound)}`,
      });
  }
  return issues;
}

/**
 * A histogram recorded without allocation: {@link record} finds the bucket and bumps a slot of a
 * `Float64Array`; prom-client sees the counts only when the registry is scraped.
 *
 * @remarks
 * prom-client's own `Histogram.observe` hashes its labels on every call (it allocates), which is
 * why the hot path records here instead. The object registers itself on a registry as a
 * read-only metric with the same exposition as a prom-client histogram (`_bucket`, `_sum`,
 * `_count`) and the `reset()` that `registry.resetMetrics()` calls.
 */
export class LatencyHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram" as const;
  /** Upper bounds in seconds, ascending; a last `+Inf` bucket is implied. */
  readonly buckets: readonly number[];
  /** Observations per bucket (not cumulative); the last slot is `+Inf`. */
  private readonly counts: Float64Array;
  private sum = 0;
  private total = 0;

  constructor(name: string, help: string, buckets: readonly number[] = MICROSECOND_BUCKETS) {
    throwOnIssues("LatencyHistogram", bucketIssues(buckets, "buckets"));
    this.name = name;
    this.help = help;
    this.buckets = [...buckets];
    this.counts = new Float64Array(buckets.length + 1);
  }

  /** Counts one observation of `seconds` (ignored when not a finite number ≥ 0). Allocation-free. */
  record(seconds: number): void {
    if (!(seconds >= 0 && seconds < Number.POSITIVE_INFINITY)) return;
    const bounds = this.buckets;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.total++;
  }

  /** Observations recorded so far. */
  get count(): number {
    return this.total;
  }

  /** Forgets every observation (`registry.resetMetrics()` calls it). */
  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.total = 0;
  }

  /** The exposition prom-client's registry asks every metric for. */
  async get(): Promise<ExpositionMetric> {
    const values: ExpositionValue[] = [];
    this.samples(this.name, {}, values);
    return { name: this.name, help: this.help, type: this.type, values, aggregator: "sum" };
  }

  /**
   * Appends the histogram's samples under `name` to `into`, each with `labels` as well (the
   * buckets, then `_sum` and `_count`, as a prom-client histogram lists them).
   */
  samples(name: string, labels: Readonly<Record<string, string>>, into: ExpositionValue[]): void {
    let cumulative = 0;
    for (let i = 0; i <= this.buckets.length; i++) {
      cumulative += this.counts[i]!;
      const le = i < this.buckets.length ? this.buckets[i]! : "+Inf";
      into.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
    }
    into.push({ metricName: `${name}_sum`, labels, value: this.sum });
    into.push({ metricName: `${name}_count`, labels, value: this.total });
  }

  /** Adds this histogram to `registry` (prom-client accepts any object with `name` and `get()`). */
  registerOn(registry: { registerMetric(metric: Metric): void }): void {
    registry.registerMetric(this as unknown as Metric);
  }
}
