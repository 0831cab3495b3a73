/**
 * Prometheus metrics of one fleet replica (the process it runs in), read at scrape time.
 */
import type { ReplicaStatus } from "../fleet/replica.js";
import { shownValue } from "../shown-value.js";
import { BREAKER_STATE_VALUE } from "./breaker-state.js";
import type { ExpositionValue } from "./latency-histogram.js";
import { type AnyRegistry, commonOptionIssues, throwOnIssues } from "./metric-options.js";
import { ReadMetric, type ReadMetricType } from "./read-metric.js";
import { registerAll } from "./register-all.js";
import { ScrapePass } from "./scrape-pass.js";

/** Anything that reports a replica's {@link ReplicaStatus}, such as the replica itself. */
export interface ReplicaStatusSource {
  status(): ReplicaStatus;
}

/** Options of {@link registerReplicaMetrics}. */
export interface ReplicaMetricsOptions {
  readonly registry: AnyRegistry;
  /** Prefix of every metric name (default `"arqon_"`). */
  readonly prefix?: string;
}

/** The fates of a published digest that {@link registerReplicaMetrics} counts, by `outcome`. */
const TELEMETRY_OUTCOMES = [
  ["shipped", (t: ReplicaStatus["telemetry"]) => t.shipped],
  ["dropped_full", (t: ReplicaStatus["telemetry"]) => t.droppedFull],
  ["refused", (t: ReplicaStatus["telemetry"]) => t.refused],
  ["lost_in_flight", (t: ReplicaStatus["telemetry"]) => t.lostInFlight],
  ["unshipped", (t: ReplicaStatus["telemetry"]) => t.unshipped],
] as const;

/**
 * Registers the metrics of a fleet replica, each read from `source.status()` once per scrape: the
 * generation live here and the one it moves to, the highest leader epoch seen, the live value of
 * each parameter, whether its params differ from the fleet's (so it holds still), the commands it
 * accepted and refused (by reason, every reason exported from the first scrape on), the steps its
 * Tier-1 executor refused and its `onApply` failed, and what became of its telemetry (digests by
 * outcome, the buffer, the bus breaker's state). The coordinator's bus metrics see the fleet from
 * Redis; these see one replica from inside its process, where a dropped digest, a refused command
 * or a failing actuator is known first.
 *
 * @remarks
 * When `status()` throws, the scrape still succeeds: the series keep their last values and
 * `arqon_replica_up` is 0 (absent until a call has succeeded, but for `arqon_replica_up`). A
 * replica's counts start at 0 with its process, as Prometheus expects of a counter. Throws,
 * registering nothing, when an option or `source` is invalid (a RangeError naming each one) or when
 * a metric of the same name is already registered (one replica per registry).
 */
export function registerReplicaMetrics(source: ReplicaStatusSource, options: ReplicaMetricsOptions): void {
  const issues = commonOptionIssues(options);
  if (typeof (source as { status?: unknown } | null)?.status !== "function")
    issues.unshift({ path: "source", message: `must have a status() method, got ${shownValue(source)}` });
  throwOnIssues("registerReplicaMetrics", issues);
  const p = `${options.prefix ?? "arqon_"}replica_`;
  let last: ReplicaStatus | undefined;
  let up = 0;
  const pass = new ScrapePass((): ReplicaStatus | undefined => {
    try {
      last = source.status();
      up = 1;
    } catch {
      up = 0; // a failing source must not fail the whole scrape
    }
    return last;
  });
  const read = () => pass.get();
  const metric = (
    name: string,
    help: string,
    type: ReadMetricType,
    samples: (s: ReplicaStatus) => ExpositionValue[],
  ) =>
    new ReadMetric(p + name, help, type, () => {
      const status = read();
      return status === undefined ? [] : samples(status);
    });
  const one = (value: number): ExpositionValue[] => [{ labels: {}, value }];
  const gauge = (name: string, help: string, pick: (s: ReplicaStatus) => number) =>
    metric(name, help, "gauge", (s) => one(pick(s)));
  const total = (name: string, help: string, pick: (s: ReplicaStatus) => number) =>
    metric(name, help, "counter", (s) => one(pick(s)));
  const upGauge = new ReadMetric(
    `${p}up`,
    "1 when the last status() call of the replica succeeded, else 0 (the replica series then keep their last values).",
    "gauge",
    () => {
      // Registered first, so read first by a scrape: each scrape reads the status afresh.
      pass.newPass();
      read();
      return one(up);
    },
  );
  registerAll("registerReplicaMetrics", options.registry, [
    upGauge,
    gauge("generation", "The fleet generation whose values are live on this replica.", (s) => s.generation),
    gauge(
      "target_generation",
      "The fleet generation this replica moves to (above arqon_replica_generation while it catches up).",
      (s) => s.targetGeneration,
    ),
    gauge("epoch", "The highest leader epoch this replica has seen.", (s) => s.epoch),
    metric("param_value", "Live value of each tuned parameter on this replica.", "gauge", (s) =>
      Object.entries(s.values).map(([param, value]) => ({ labels: { param }, value })),
    ),
    gauge(
      "params_mismatch",
      "1 while this replica's params differ from the fleet's stored ones (it refuses the fleet's commands and holds its values), else 0.",
      (s) => (s.paramsMismatch === undefined ? 0 : 1),
    ),
    total("commands_accepted_total", "Fleet commands this replica accepted.", (s) => s.accepted),
    metric("commands_rejected_total", "Fleet commands this replica refused, by reason.", "counter", (s) =>
      // The replica counts every reason from 0 on, in check order.
      Object.entries(s.rejected).map(([reason, value]) => ({ labels: { reason }, value })),
    ),
    total(
      "tier1_refusals_total",
      "Steps toward a fleet target that this replica's Tier-1 executor refused.",
      (s) => s.tier1Refusals,
    ),
    total(
      "apply_failures_total",
      "Steps this replica's onApply refused (threw or rejected); each is tried again after a back-off.",
      (s) => s.applyFailures,
    ),
    total("telemetry_published_total", "Digests published on this replica.", (s) => s.telemetry.published),
    metric(
      "telemetry_digests_total",
      "Published digests by what became of them: shipped to Redis, dropped on a full buffer, refused by publish, lost with a failed write, or left unshipped at close.",
      "counter",
      (s) => TELEMETRY_OUTCOMES.map(([outcome, pick]) => ({ labels: { outcome }, value: pick(s.telemetry) })),
    ),
    gauge("telemetry_buffered", "Digests waiting in this replica's buffer.", (s) => s.telemetry.buffered),
    gauge(
      "telemetry_breaker_state",
      "The telemetry bus breaker: 0 closed, 1 half-open, 2 open.",
      (s) => BREAKER_STATE_VALUE[s.telemetry.breaker],
    ),
  ]);
}
