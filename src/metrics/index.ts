/**
 * `arqon/metrics`: Prometheus metrics (on `prom-client`, an optional peer dependency) for an
 * engine, a solver or shared study, the fleet bus and a fleet replica. Every value is read or copied when the
 * registry is scraped; nothing is added to the engine's hot path.
 *
 * @packageDocumentation
 */

export {
  type BusMetricsOptions,
  type BusMetricsStats,
  type BusStats,
  type BusStatsSource,
  registerBusMetrics,
} from "./bus-metrics.js";
export {
  BREAKER_STATE_VALUE,
  createEngineMetrics,
  type EngineMetrics,
  type EngineMetricsOptions,
} from "./engine-metrics.js";
export { LatencyHistogram, MICROSECOND_BUCKETS } from "./latency-histogram.js";
export {
  type ReplicaMetricsOptions,
  type ReplicaStatusSource,
  registerReplicaMetrics,
} from "./replica-metrics.js";
export {
  registerSolverMetrics,
  type SolverMetricsOptions,
  type SolverStatsSource,
} from "./solver-metrics.js";
