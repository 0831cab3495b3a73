/**
 * Prometheus metrics of one engine, read at scrape time.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import { SAFE_MODE_LEVEL, SAFE_MODE_REASON_NAMES, SAFE_MODES } from "../../machines/safe-mode-reasons.js";
import { applyKindName } from "../audit/apply-kind.js";
import type { AuditEvent } from "../audit/events.js";
import { rollbackReasonName } from "../audit/rollback-reason.js";
import { RESULT_CODE_COUNT, violationName } from "../audit/violation.js";
import type { Digest } from "../engine/digest.js";
import { rejectionName } from "../engine/digest.js";
import type { DigestVerdict, Engine } from "../engine/engine.js";
import { isThenable } from "../engine/safety/guarded-callback.js";
import { shownValue } from "../shown-value.js";
import { LabelledCounts, vocabulary } from "./labelled-counts.js";
import { bucketIssues, LatencyHistogram, MICROSECOND_BUCKETS } from "./latency-histogram.js";
import { commonOptionIssues, throwOnIssues } from "./metric-options.js";
import { type NamedMetric, registerAll } from "./register-all.js";

/** Options of {@link createEngineMetrics}. */
export interface EngineMetricsOptions {
  /** The prom-client registry the metrics are registered on (one engine per registry). */
  readonly registry: Registry;
  /** Prefix of every metric name (default `"arqon_"`). */
  readonly prefix?: string;
  /** Clock of the latency histograms, in milliseconds (default `performance.now`). */
  readonly clock?: () => number;
  /** Upper bounds (seconds) of the latency buckets (default {@link MICROSECOND_BUCKETS}). */
  readonly latencyBuckets?: readonly number[];
}

/** Value of `arqon_breaker_state` for each breaker state. */
export const BREAKER_STATE_VALUE = { closed: 0, halfOpen: 1, open: 2 } as const;

/**
 * The Prometheus view of one engine (`arqon_*` counters, gauges and histograms).
 *
 * @remarks
 * Nothing here runs on the engine's hot path. Totals, gauges and the SafeMode state are read from
 * `engine.snapshot()` and `engine.values` when the registry is scraped; breakdowns by label
 * (rejections by reason, refusals by violation, rollbacks by reason, applies by kind, SafeMode
 * transitions) are counted into typed arrays from `engine.events`, which the engine delivers off
 * its hot path. `arqon_applies_total` counts every Tier-1 write: `apply` records by their kind,
 * and each `rollback` record under `kind="rollback"` (so the kinds add up to the applies and
 * rollbacks whose actuator calls `arqon_t1_apply_seconds` times, and `kind="rollback"` is the sum
 * of `arqon_rollbacks_total` over its reasons). An audit record the ring dropped is missing from the breakdowns; the drops
 * themselves are `arqon_audit_dropped_total`. Records given up on a refusing audit sink are still in
 * the breakdowns: they count in `arqon_audit_sink_dropped_total`.
 *
 * Latency needs the host's help, because the engine does not time itself: call
 * {@link EngineMetrics.observe} instead of `engine.observe` (it records into
 * `arqon_t2_decide_seconds` when the digest closed an evaluation window or the call wrote through
 * Tier 1, else into `arqon_digest_ingest_seconds`), and wrap the actuator with
 * {@link EngineMetrics.timeApply} (`arqon_t1_apply_seconds`). Each records into a typed-array
 * histogram: two clock reads and a bucket search, no allocation. A window's decision counts as
 * one even when Tier 1's pace (`minIntervalMs`, `maxUpdatesPerSecond`) defers its SPSA transition
 * and apply to the engine's scheduler: `arqon_t2_decide_seconds` then times the window's close
 * only, and the deferred actuator call is timed in `arqon_t1_apply_seconds`.
 */
export interface EngineMetrics {
  /** The engine attached, if any. */
  readonly engine: Engine | undefined;
  /**
   * Starts reading `engine` (once; call it right after `createEngine`, since `engine.events` is a
   * hot stream). Throws when an engine is already attached.
   */
  attach(engine: Engine): void;
  /** `engine.observe(digest)`, timed. */
  observe(digest: Digest): DigestVerdict;
  /**
   * Wraps an `onApply` actuator hook so that each call is timed (`arqon_t1_apply_seconds`). An
   * async hook is timed until its promise settles, and the wrapper returns that promise, so the
   * engine still sees a rejection (rollback, actuator breaker) as it would without the wrapper.
   */
  timeApply(
    onApply: (values: Float64Array, generation: number) => void | PromiseLike<void>,
  ): (values: Float64Array, generation: number) => void | PromiseLike<void>;
  /** Stops counting audit events (the scrape-time gauges keep reading the engine). */
  detach(): void;
}

/**
 * Registers the engine metrics on `options.registry`; attach the engine with
 * {@link EngineMetrics.attach}. Throws, registering nothing, when an option is invalid (a
 * RangeError naming each one) or when a metric of the same name is already registered.
 *
 * @example
 * ```ts
 * const registry = new Registry();
 * const metrics = createEngineMetrics({ registry });
 * const engine = createEngine({ params, onApply: metrics.timeApply(pushToService) });
 * metrics.attach(engine);
 * // in the service: metrics.observe(digest) instead of engine.observe(digest)
 * ```
 */
export function createEngineMetrics(options: EngineMetricsOptions): EngineMetrics {
  const issues = commonOptionIssues(options);
  if (typeof options === "object" && options !== null) {
    const { clock, latencyBuckets } = options;
    if (clock !== undefined && typeof clock !== "function")
      issues.push({
        path: "clock",
        message: `must be a function returning milliseconds, got ${shownValue(clock)}`,
      });
    if (latencyBuckets !== undefined) issues.push(...bucketIssues(latencyBuckets, "latencyBuckets"));
  }
  throwOnIssues("createEngineMetrics", issues);
  return new EngineMetricsImpl(options);
}

const ROLLBACK_REASONS = vocabulary(rollbackReasonName, 1, 4);
const APPLY_KINDS = vocabulary(applyKindName, 0, 4);
const DIGEST_REJECTIONS = vocabulary(rejectionName, 1, 6);
const VIOLATIONS = vocabulary(violationName, 1, RESULT_CODE_COUNT - 1);

class EngineMetricsImpl implements EngineMetrics {
  engine: Engine | undefined;
  private readonly clock: () => number;
  private readonly rejected = new LabelledCounts(DIGEST_REJECTIONS);
  private readonly violations = new LabelledCounts(VIOLATIONS);
  private readonly rollbacks = new LabelledCounts(ROLLBACK_REASONS);
  private readonly applies = new LabelledCounts(APPLY_KINDS);
  private readonly transitions = new LabelledCounts(SAFE_MODES);
  private readonly t1: LatencyHistogram;
  private readonly t2: LatencyHistogram;
  private readonly ingest: LatencyHistogram;
  private subscription: { unsubscribe(): void } | undefined;

  constructor(options: EngineMetricsOptions) {
    const p = options.prefix ?? "arqon_";
    // Built unregistered (no registers), then registered all or none by registerAll.
    const registers: Registry[] = [];
    const metrics: NamedMetric[] = [];
    const add = <M extends NamedMetric>(metric: M): M => {
      metrics.push(metric);
      return metric;
    };
    this.clock = options.clock ?? (() => performance.now());
    const buckets = options.latencyBuckets ?? MICROSECOND_BUCKETS;
    const self = this;
    const snap = () => self.engine?.snapshot();

    const labelled = (name: string, help: string, label: string, counts: LabelledCounts) =>
      add(
        new Counter({
          name: p + name,
          help,
          labelNames: [label],
          registers,
          collect() {
            this.reset();
            for (let i = 0; i < counts.names.length; i++)
              this.inc({ [label]: counts.names[i]! }, counts.at(i));
          },
        }),
      );
    const total = (name: string, help: string, read: () => number | undefined) =>
      add(
        new Counter({
          name: p + name,
          help,
          registers,
          collect() {
            this.reset();
            this.inc(read() ?? 0);
          },
        }),
      );
    const gauge = (name: string, help: string, read: () => number | undefined) =>
      add(
        new Gauge({
          name: p + name,
          help,
          registers,
          collect() {
            const value = read();
            if (value === undefined) this.reset();
            else this.set(value);
          },
        }),
      );

    total("digests_accepted_total", "Telemetry digests the engine accepted.", () => snap()?.digests.accepted);
    labelled("digests_rejected_total", "Telemetry digests rejected, by reason.", "reason", this.rejected);
    labelled(
      "applies_total",
      "Values written by Tier 1, by kind (plus, minus, centre, rollback, manual); rollback counts every rollback, whatever its reason.",
      "kind",
      this.applies,
    );
    labelled(
      "refusals_total",
      "Applies and rollbacks Tier 1 refused, by violation.",
      "violation",
      this.violations,
    );
    labelled("rollbacks_total", "Rollbacks to the baseline, by reason.", "reason", this.rollbacks);
    labelled(
      "safe_mode_transitions_total",
      "SafeMode mode changes, by the mode entered.",
      "to",
      this.transitions,
    );
    total(
      "audit_dropped_total",
      "Audit records dropped because the ring was full.",
      () => snap()?.audit.dropped,
    );
    total(
      "audit_sink_dropped_total",
      "Audit records given up undelivered to the audit sink while it refused them.",
      () => snap()?.audit.sinkDropped,
    );
    gauge("audit_pending", "Audit records waiting for delivery.", () => snap()?.audit.pending);
    gauge("generation", "Generation of the live configuration.", () => self.engine?.generation);
    gauge("spsa_iteration", "Completed SPSA gradient steps.", () => snap()?.iteration);
    gauge(
      "safe_mode_level",
      "SafeMode mode: 0 normal, 1 conservative, 2 frozen, 3 halted.",
      () => self.engine && SAFE_MODE_LEVEL[self.engine.mode],
    );
    gauge(
      "engine_failed",
      "1 when the engine stopped proposing after an internal error (a broken invariant), else 0.",
      () => self.engine && (self.engine.failure === undefined ? 0 : 1),
    );
    add(
      new Gauge({
        name: `${p}safe_mode_reason`,
        help: "1 for each SafeMode reason in force, else 0.",
        labelNames: ["reason"],
        registers,
        collect() {
          this.reset();
          const s = snap();
          if (s === undefined) return;
          for (const reason of SAFE_MODE_REASON_NAMES)
            this.set({ reason }, s.reasons.includes(reason) ? 1 : 0);
        },
      }),
    );
    add(
      new Gauge({
        name: `${p}breaker_state`,
        help: "Circuit breaker state: 0 closed, 1 half-open, 2 open (absent when the callback is not given).",
        labelNames: ["breaker"],
        registers,
        collect() {
          this.reset();
          const breakers = snap()?.breakers;
          if (breakers === undefined) return;
          if (breakers.actuator !== "none")
            this.set({ breaker: "actuator" }, BREAKER_STATE_VALUE[breakers.actuator]);
          if (breakers.auditSink !== "none")
            this.set({ breaker: "audit_sink" }, BREAKER_STATE_VALUE[breakers.auditSink]);
        },
      }),
    );
    add(
      new Gauge({
        name: `${p}param_value`,
        help: "Live value of each tuned parameter, in raw units.",
        labelNames: ["param"],
        registers,
        collect() {
          this.reset();
          const engine = self.engine;
          if (engine === undefined) return;
          // value(), not values: the host may write into its reader copy, which changes nothing live.
          for (const name of engine.names) this.set({ param: name }, engine.value(name));
        },
      }),
    );
    this.t1 = new LatencyHistogram(
      `${p}t1_apply_seconds`,
      "Duration of the actuator hook (onApply) on each Tier-1 apply or rollback.",
      buckets,
    );
    this.t2 = new LatencyHistogram(
      `${p}t2_decide_seconds`,
      "Duration of observe() calls that closed an evaluation window or wrote through Tier 1, including the SPSA transition and Tier-1 apply unless Tier 1's pace deferred them to the engine's scheduler.",
      buckets,
    );
    this.ingest = new LatencyHistogram(
      `${p}digest_ingest_seconds`,
      "Duration of observe() calls that closed no evaluation window and wrote nothing through Tier 1.",
      buckets,
    );
    metrics.push(this.t1, this.t2, this.ingest);
    registerAll("createEngineMetrics", options.registry, metrics);
  }

  attach(engine: Engine): void {
    if (this.engine !== undefined) throw new Error("attach: these metrics already read an engine");
    this.engine = engine;
    this.subscription = engine.events.subscribe((event) => this.count(event));
  }

  detach(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  observe(digest: Digest): DigestVerdict {
    const engine = this.engine;
    if (engine === undefined) return "closed";
    const filled = engine.windowsFilled;
    const generation = engine.generation;
    const start = this.clock();
    const verdict = engine.observe(digest);
    const seconds = (this.clock() - start) / 1000;
    // A filled window is a decision even when Tier 1's pace defers its apply past this call.
    const decided = engine.windowsFilled !== filled || engine.generation !== generation;
    (decided ? this.t2 : this.ingest).record(seconds);
    return verdict;
  }

  timeApply(
    onApply: (values: Float64Array, generation: number) => void | PromiseLike<void>,
  ): (values: Float64Array, generation: number) => void | PromiseLike<void> {
    return (values, generation) => {
      const start = this.clock();
      let result: void | PromiseLike<void>;
      try {
        result = onApply(values, generation);
      } catch (error) {
        this.t1.record((this.clock() - start) / 1000);
        throw error;
      }
      if (!isThenable(result)) {
        this.t1.record((this.clock() - start) / 1000);
        return result;
      }
      // Returned, not dropped: the engine must see a rejection to roll back and count it.
      const record = () => this.t1.record((this.clock() - start) / 1000);
      return Promise.resolve(result).finally(record);
    };
  }

  private count(event: AuditEvent): void {
    switch (event.type) {
      case "digest.rejected":
        this.rejected.add(event.reason);
        break;
      case "violation":
        this.violations.add(event.violation);
        break;
      case "rollback":
        // A rollback is a Tier-1 write too (the baseline written back as a new generation): it is
        // audited as a `rollback` record, never as an `apply`, so it is counted under that kind here.
        this.rollbacks.add(event.reason);
        this.applies.add("rollback");
        break;
      case "apply":
        this.applies.add(event.kind);
        break;
      case "mode.changed":
        this.transitions.add(event.to);
        break;
      default:
        break;
    }
  }
}
