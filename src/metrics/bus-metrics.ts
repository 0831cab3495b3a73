/**
 * Prometheus metrics of the fleet's telemetry and command bus, read at scrape time.
 */
import { SAFE_MODE_REASON_NAMES } from "../../machines/safe-mode-reasons.js";
import type { BusStats } from "../fleet/fleet-report.js";
import { shownValue } from "../shown-value.js";
import { type AnyRegistry, commonOptionIssues, throwOnIssues } from "./metric-options.js";
import { ReadMetric } from "./read-metric.js";
import { registerAll } from "./register-all.js";
import { ScrapePass } from "./scrape-pass.js";

// The same shape the coordinator reports and the dashboard reads: one definition, re-exported here.
export type { BusStats } from "../fleet/fleet-report.js";

/** What {@link registerBusMetrics} reads: {@link BusStats} (the reasons of a halt included). */
export type BusMetricsStats = BusStats;

/** Anything that reports {@link BusStats} (and, optionally, the reasons of a halt). */
export interface BusStatsSource {
  busStats(): BusMetricsStats;
}

/** Options of {@link registerBusMetrics}. */
export interface BusMetricsOptions {
  readonly registry: AnyRegistry;
  /** Prefix of every metric name (default `"arqon_"`). */
  readonly prefix?: string;
}

/**
 * Registers the bus metrics (`arqon_bus_lag`, `arqon_bus_pending`, `arqon_bus_replicas`,
 * `arqon_bus_lagging_replicas` gauges, and `arqon_bus_leader`, `arqon_bus_params_mismatch`,
 * `arqon_bus_halted` and `arqon_bus_halt_reason{reason}`, 0 or 1, when the source says them, from
 * its latest figures even stale ones, as they are its own state;
 * `arqon_bus_dead_letters_total`,
 * `arqon_bus_rejected_commands_total`, `arqon_bus_digests_processed_total` counters, and
 * `arqon_bus_publish_failures_total`, `arqon_bus_command_stream_resets_total` when the source says
 * them), each read from
 * `busStats()` once per scrape (keep it cheap and synchronous). When it throws, the scrape still
 * succeeds: the bus series keep their last values (and are absent until a call has succeeded) and
 * `arqon_bus_up` is 0. So while the figures say they are `stale` (a coordinator whose latest read
 * of Redis failed): they are not taken, and the last fresh ones stay. The
 * totals are exported as they are read, so the source must never let them go down (Prometheus
 * would take it for a reset and count the whole value again); the coordinator keeps them
 * monotonic, across replica restarts and its own tenures included. Throws, registering nothing, when an option or
 * `source` is invalid (a RangeError naming each one) or when a metric of the same name is already
 * registered.
 */
export function registerBusMetrics(source: BusStatsSource, options: BusMetricsOptions): void {
  const issues = commonOptionIssues(options);
  // Checked here: a source without busStats() would only show as arqon_bus_up 0 at every scrape.
  if (typeof (source as { busStats?: unknown } | null)?.busStats !== "function")
    issues.unshift({ path: "source", message: `must have a busStats() method, got ${shownValue(source)}` });
  throwOnIssues("registerBusMetrics", issues);
  const p = options.prefix ?? "arqon_";
  // The last figures read; a failing source keeps them and turns arqon_bus_up to 0. Until a read
  // succeeds there are none, and the bus series are absent rather than 0.
  let last: BusMetricsStats | undefined;
  // The latest figures, stale or not: whether the coordinator leads and whether the fleet is
  // halted are its own state, not read from Redis, so a stale view does not hold them back (a
  // leader cut off from Redis loses its lease, and must stop saying it leads). Not before the
  // first fresh read, though: a coordinator that never reached Redis has no fleet state to tell
  // (a standby would say "not halted" of a fleet it never read).
  let latest: BusMetricsStats | undefined;
  let up = 0;
  const pass = new ScrapePass((): BusMetricsStats | undefined => {
    try {
      // Stale figures were not read from Redis this time: the last fresh ones stay (none before
      // the first fresh read, so a coordinator that never reached Redis exports no replica count).
      const stats = source.busStats();
      up = stats.stale === true ? 0 : 1;
      latest = stats;
      if (up === 1) last = stats;
    } catch {
      up = 0; // a failing source must not fail the whole scrape
    }
    return last;
  });
  const read = () => pass.get();
  const series = (
    name: string,
    help: string,
    type: "gauge" | "counter",
    pick: (s: BusStats) => number | undefined,
    current = false,
  ) =>
    new ReadMetric(p + name, help, type, () => {
      const fresh = read();
      const stats = current && fresh !== undefined ? latest : fresh;
      const value = stats === undefined ? undefined : pick(stats);
      return value === undefined ? [] : [{ labels: {}, value }];
    });
  /** A 0/1 gauge of the coordinator's own state, from its latest figures, stale or not. */
  const flag = (name: string, help: string, pick: (s: BusStats) => boolean | undefined) =>
    series(
      name,
      help,
      "gauge",
      (s) => {
        const value = pick(s);
        return value === undefined ? undefined : value ? 1 : 0;
      },
      true,
    );
  const gauge = (name: string, help: string, pick: (s: BusStats) => number | undefined) =>
    series(name, help, "gauge", pick);
  const total = (name: string, help: string, pick: (s: BusStats) => number | undefined) =>
    series(name, help, "counter", pick);
  // Every reason at 0 or 1, as arqon_safe_mode_reason: a rule can tell an operator's halt
  // (manualHalt alone) from SafeMode's, and a reason's series exists before it is first 1.
  const haltReason = new ReadMetric(
    `${p}bus_halt_reason`,
    "1 for each SafeMode reason of the fleet's halt (manualHalt: an operator's engine.halt), else 0.",
    "gauge",
    () => {
      if (read() === undefined) return [];
      const reasons = latest?.haltReasons;
      if (reasons === undefined) return [];
      const halted = latest?.halted !== false;
      return SAFE_MODE_REASON_NAMES.map((reason) => ({
        labels: { reason },
        value: halted && reasons.includes(reason) ? 1 : 0,
      }));
    },
  );
  const upGauge = new ReadMetric(
    `${p}bus_up`,
    "1 when the last busStats() call returned fresh figures, else 0 (it failed, or the source could not read Redis: the bus series then keep their last values).",
    "gauge",
    () => {
      // Registered first, so read first by a scrape: each scrape calls busStats() afresh.
      pass.newPass();
      read();
      return [{ labels: {}, value: up }];
    },
  );
  registerAll("registerBusMetrics", options.registry, [
    upGauge,
    gauge("bus_lag", "Telemetry entries not yet delivered to the coordinator.", (s) => s.lag),
    gauge("bus_pending", "Telemetry entries delivered but not acknowledged.", (s) => s.pending),
    gauge("bus_replicas", "Replicas known to the coordinator.", (s) => s.replicas),
    gauge("bus_lagging_replicas", "Replicas behind the latest generation.", (s) => s.laggingReplicas),
    flag("bus_leader", "1 when this coordinator leads the fleet, else 0.", (s) => s.leader),
    flag(
      "bus_params_mismatch",
      "1 while this coordinator will not lead because its params differ from the fleet's stored ones, else 0.",
      (s) => s.paramsMismatch,
    ),
    flag(
      "bus_halted",
      "1 when the fleet is halted (its engine is in SafeMode halted: an operator's halt or SafeMode's), else 0.",
      (s) => s.halted,
    ),
    haltReason,
    total("bus_dead_letters_total", "Telemetry entries dead-lettered.", (s) => s.deadLetters),
    total(
      "bus_rejected_commands_total",
      "Commands refused by replicas, added up from their reports (a replica restart does not lower it).",
      (s) => s.rejectedCommands,
    ),
    total("bus_digests_processed_total", "Digests the coordinator processed.", (s) => s.digestsProcessed),
    total(
      "bus_publish_failures_total",
      "Commands Redis did not take from the coordinator: refused (which ends its tenure), lost with the connection, or run after its lease had passed.",
      (s) => s.publishFailures,
    ),
    total(
      "bus_expired_replicas_total",
      "Replica reports the leader removed because they went unchanged for replicaExpiryMs (the replica taken as gone).",
      (s) => s.expiredReplicas,
    ),
    total(
      "bus_command_stream_resets_total",
      "Command streams the coordinator wrote anew because their ids were used up.",
      (s) => s.commandStreamResets,
    ),
  ]);
}
