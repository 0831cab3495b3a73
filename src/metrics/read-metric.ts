/**
 * A metric whose samples are read from their source when the registry is scraped.
 */
import type { ExpositionValue } from "./latency-histogram.js";

/** The Prometheus types a {@link ReadMetric} can declare. */
export type ReadMetricType = "counter" | "gauge" | "histogram";

/**
 * A counter, gauge or histogram that holds nothing itself: every scrape asks `read` for its
 * samples, so a series the source cannot vouch for is left out rather than shown as 0.
 *
 * @remarks
 * prom-client's own unlabelled `Counter` and `Gauge` always expose a value (0 until set), which
 * would report figures nobody measured before an engine is attached or a bus first read.
 * prom-client's registry reads any object with `name`, `help`, `type` and `get()`; in OpenMetrics
 * output it renames a counter (dropping `_total`) and appends `_total` to each sample, so a
 * counter's samples leave `metricName` unset. `reset()` is what `registry.resetMetrics()` calls:
 * it runs `onReset`, for a source that keeps counts of its own (a histogram's).
 */
export class ReadMetric {
  name: string;
  readonly help: string;
  readonly type: ReadMetricType;
  readonly aggregator = "sum" as const;
  private readonly read: () => ExpositionValue[];
  private readonly onReset: () => void;

  constructor(
    name: string,
    help: string,
    type: ReadMetricType,
    read: () => ExpositionValue[],
    onReset: () => void = () => {},
  ) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.read = read;
    this.onReset = onReset;
  }

  async get(): Promise<{
    name: string;
    help: string;
    type: ReadMetricType;
    values: ExpositionValue[];
    aggregator: "sum";
  }> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values: this.read(),
      aggregator: this.aggregator,
    };
  }

  reset(): void {
    this.onReset();
  }
}
