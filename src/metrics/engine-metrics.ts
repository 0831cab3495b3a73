/**
 * Prometheus metrics of engines, read at scrape time.
 */
import { SAFE_MODE_LEVEL, SAFE_MODE_REASON_NAMES, SAFE_MODES } from "../../machines/safe-mode-reasons.js";
import { applyKindName } from "../audit/apply-kind.js";
import { type AuditEvent, measuredObjective } from "../audit/events.js";
import { rollbackReasonName } from "../audit/rollback-reason.js";
import { RESULT_CODE_COUNT, violationName } from "../audit/violation.js";
import type { Digest } from "../engine/digest.js";
import { rejectionName } from "../engine/digest.js";
import type { DigestVerdict, Engine, EngineSnapshot } from "../engine/engine.js";
import { notAnEngine } from "../engine/engine-argument.js";
import { isThenable } from "../engine/safety/guarded-callback.js";
import type { ConfigIssue } from "../errors.js";
import { shownValue } from "../shown-value.js";
import { BREAKER_STATE_VALUE } from "./breaker-state.js";
import { LabelledCounts, vocabulary } from "./labelled-counts.js";
import {
  bucketIssues,
  type ExpositionValue,
  LatencyHistogram,
  MICROSECOND_BUCKETS,
} from "./latency-histogram.js";
import { type AnyRegistry, commonOptionIssues, throwOnIssues } from "./metric-options.js";
import { ReadMetric, type ReadMetricType } from "./read-metric.js";
import { registerAll } from "./register-all.js";

/** Options of {@link createEngineMetrics}. */
export interface EngineMetricsOptions {
  /** The prom-client registry the metrics are registered on. */
  readonly registry: AnyRegistry;
  /** Prefix of every metric name (default `"arqon_"`). */
  readonly prefix?: string;
  /** Clock of the latency histograms, in milliseconds (default `performance.now`). */
  readonly clock?: () => number;
  /**
   * Upper bounds (seconds) of the latency buckets (default {@link MICROSECOND_BUCKETS}). Engines
   * sharing a registry share their histograms' buckets.
   */
  readonly latencyBuckets?: readonly number[];
  /**
   * Labels added to every series of this engine, such as `{ engine: "checkout" }`. Several
   * engines' metrics share one registry (and prefix) when each has labels of the same names with
   * other values; without labels, a registry holds one engine's metrics. Names are Prometheus
   * label names, other than the labels the metrics use themselves; values are strings.
   */
  readonly labels?: Readonly<Record<string, string>>;
}

export { BREAKER_STATE_VALUE } from "./breaker-state.js";

/**
 * The Prometheus view of an engine (`arqon_*` counters, gauges and histograms).
 *
 * @remarks
 * Nothing here runs on the engine's hot path. Totals, gauges and the SafeMode state are read from
 * `engine.snapshot()` and `engine.values` when the registry is scraped; breakdowns by label
 * (rejections by reason, refusals by violation, rollbacks by reason, applies by kind, SafeMode
 * transitions) are counted into typed arrays from `engine.events`, which the engine delivers off
 * its hot path. `arqon_applies_total` counts every Tier-1 write: `apply` records by their kind,
 * and each `rollback` record under `kind="rollback"` (so the kinds add up to the applies and
 * rollbacks whose actuator calls `arqon_t1_apply_seconds` times, and `kind="rollback"` is the sum
 * of `arqon_rollbacks_total` over its reasons). An audit record the ring dropped is missing from
 * the breakdowns; the drops themselves are `arqon_audit_dropped_total`. Records given up on a
 * refusing audit sink are still in the breakdowns: they count in `arqon_audit_sink_dropped_total`.
 *
 * Nothing is exported until an engine is attached. The gauges describe the engine attached and
 * leave the scrape when it is detached or closes; counters and histograms keep their totals, and
 * go on from them when the next engine is attached (an engine spawned again under the same name),
 * so they never go down.
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
  /** The labels on every series of these metrics (`{}` without the `labels` option). */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Starts reading `engine` (call it right after `createEngine`, since `engine.events` is a hot
   * stream). Throws, changing nothing, when an engine is attached, after
   * {@link EngineMetrics.remove}, or when `engine` is not an engine (a RangeError naming it; for
   * what `createLoggedEngine` returns, pass its `.engine`).
   */
  attach(engine: Engine): void;
  /** `engine.observe(digest)`, timed; `"closed"` when no engine is attached. */
  observe(digest: Digest): DigestVerdict;
  /**
   * Wraps an `onApply` actuator hook so that each call is timed (`arqon_t1_apply_seconds`). An
   * async hook is timed until its promise settles, and the wrapper returns that promise, so the
   * engine still sees a rejection (rollback, actuator breaker) as it would without the wrapper.
   */
  timeApply(
    onApply: (values: Float64Array, generation: number) => void | PromiseLike<void>,
  ): (values: Float64Array, generation: number) => void | PromiseLike<void>;
  /**
   * Stops reading the engine: its gauges leave the scrape, counters and histograms keep their
   * totals, and another engine may be attached. Done by itself when the engine closes.
   */
  detach(): void;
  /**
   * Detaches and takes every series of these metrics off the scrape for good; their labels may be
   * used by new metrics. Removing the last metrics of a registry unregisters the metric names.
   */
  remove(): void;
}

/**
 * Registers engine metrics on `options.registry`; attach the engine with
 * {@link EngineMetrics.attach}. Throws, registering nothing, when an option is invalid (a
 * RangeError naming each one), when a metric of the same name is already registered by someone
 * else, or when the registry already holds an engine's metrics under the same labels.
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
  const issues = commonOptionIssues(options, ["clock", "latencyBuckets", "labels"]);
  if (typeof options === "object" && options !== null) {
    const { clock, latencyBuckets, labels } = options;
    if (clock !== undefined && typeof clock !== "function")
      issues.push({
        path: "clock",
        message: `must be a function returning milliseconds, got ${shownValue(clock)}`,
      });
    if (latencyBuckets !== undefined) issues.push(...bucketIssues(latencyBuckets, "latencyBuckets"));
    if (labels !== undefined) issues.push(...labelIssues(labels));
  }
  throwOnIssues("createEngineMetrics", issues);
  const labels = { ...(options.labels ?? {}) };
  const buckets = options.latencyBuckets ?? MICROSECOND_BUCKETS;
  const family = joinFamily(options.registry, options.prefix ?? "arqon_", labels, buckets);
  const metrics = new EngineMetricsImpl(family, labels, buckets, options.clock ?? (() => performance.now()));
  family.members.push(metrics);
  return metrics;
}

/** Labels the metrics set themselves, which `labels` may not name. */
const OWN_LABELS = new Set(["reason", "kind", "violation", "cause", "to", "breaker", "param", "le"]);
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function labelIssues(labels: unknown): ConfigIssue[] {
  if (typeof labels !== "object" || labels === null || Array.isArray(labels))
    return [
      { path: "labels", message: `must be an object of label values by name, got ${shownValue(labels)}` },
    ];
  const issues: ConfigIssue[] = [];
  for (const [name, value] of Object.entries(labels)) {
    const path = `labels.${name}`;
    if (!LABEL_NAME.test(name) || name.startsWith("__"))
      issues.push({
        path,
        message: "must be a Prometheus label name (letters, digits, _; not starting with __)",
      });
    else if (OWN_LABELS.has(name))
      issues.push({
        path,
        message: `is a label the engine metrics use themselves (${[...OWN_LABELS].join(", ")})`,
      });
    if (typeof value !== "string")
      issues.push({ path, message: `must be a string, got ${shownValue(value)}` });
    // Prometheus reads an empty value as the label missing: the alert rules' joins on `engine`
    // would take such an engine for another kind of series.
    else if (value === "")
      issues.push({ path, message: "must not be empty (Prometheus reads it as no label)" });
  }
  return issues;
}

/** Why `engine` cannot be attached (see {@link notAnEngine}). */
function engineIssue(engine: unknown): ConfigIssue | undefined {
  const problem = notAnEngine(engine);
  return problem === undefined ? undefined : { path: "engine", message: problem };
}

const ROLLBACK_REASONS = vocabulary(rollbackReasonName, 1, 4);
const APPLY_KINDS = vocabulary(applyKindName, 0, 4);
const DIGEST_REJECTIONS = vocabulary(rejectionName, 1, 6);
/** Why the SPSA cycle stalled, as `spsa.stalled` events tell (their `shortWindows`). */
const STALL_CAUSES = ["no-telemetry", "short-windows"];
const VIOLATIONS = vocabulary(violationName, 1, RESULT_CODE_COUNT - 1);

/**
 * The engine metrics registered under one prefix on one registry, and the engines' metrics that
 * read into them: every metric name is registered once, and each scrape lists every member's
 * series under its labels.
 */
interface Family {
  readonly registry: AnyRegistry;
  readonly prefix: string;
  /** The label names every member gives, sorted. */
  readonly labelNames: string;
  readonly buckets: readonly number[];
  readonly members: EngineMetricsImpl[];
  /** The registered metrics, each with the name it was registered under. */
  readonly registered: readonly { readonly name: string; readonly metric: ReadMetric }[];
}

const families = new WeakMap<AnyRegistry, Map<string, Family>>();

const labelNamesOf = (labels: Readonly<Record<string, string>>): string =>
  Object.keys(labels).sort().join(",");
const shownLabels = (labels: Readonly<Record<string, string>>): string =>
  `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(", ")}}`;

/** The family `labels` joins on `registry` under `prefix`, registered first if there is none. */
function joinFamily(
  registry: AnyRegistry,
  prefix: string,
  labels: Readonly<Record<string, string>>,
  buckets: readonly number[],
): Family {
  const byPrefix = families.get(registry) ?? new Map<string, Family>();
  families.set(registry, byPrefix);
  const existing = byPrefix.get(prefix);
  // A registry cleared (or a metric removed) behind our back no longer holds the family.
  const live =
    existing?.registered.every(
      ({ name, metric }) => registry.getSingleMetric(name) === (metric as unknown),
    ) === true;
  if (existing !== undefined && live) {
    const fn = "createEngineMetrics";
    const names = labelNamesOf(labels);
    if (existing.labelNames === "")
      throw new Error(
        `${fn}: this registry already holds an engine's metrics under prefix "${prefix}" without labels (give each engine labels, such as { engine: "name" }, or use another registry or prefix); nothing was registered`,
      );
    const issues: ConfigIssue[] = [];
    if (names !== existing.labelNames)
      issues.push({
        path: "labels",
        message: `must name the labels the engine metrics already on this registry use (${existing.labelNames}), got ${shownLabels(labels)}`,
      });
    else if (existing.members.some((m) => names.split(",").every((k) => m.labels[k] === labels[k])))
      issues.push({
        path: "labels",
        message: `${shownLabels(labels)} are already used by an engine's metrics on this registry`,
      });
    if (existing.buckets.length !== buckets.length || existing.buckets.some((b, i) => b !== buckets[i]))
      issues.push({
        path: "latencyBuckets",
        message: `must be the buckets of the engine metrics already on this registry (${existing.buckets.join(", ")})`,
      });
    throwOnIssues(fn, issues);
    return existing;
  }
  const family: Family = {
    registry,
    prefix,
    labelNames: labelNamesOf(labels),
    buckets: [...buckets],
    members: [],
    registered: [],
  };
  const metrics = familyMetrics(family);
  registerAll("createEngineMetrics", registry, metrics);
  (family as { registered: Family["registered"] }).registered = metrics.map((metric) => ({
    name: metric.name,
    metric,
  }));
  byPrefix.set(prefix, family);
  return family;
}

/** Takes `member` out of its family, and the family's names off the registry when it was the last. */
function leaveFamily(family: Family, member: EngineMetricsImpl): void {
  const at = family.members.indexOf(member);
  if (at < 0) return;
  family.members.splice(at, 1);
  if (family.members.length > 0) return;
  for (const { name, metric } of family.registered)
    if (family.registry.getSingleMetric(name) === (metric as unknown))
      family.registry.removeSingleMetric(name);
  const byPrefix = families.get(family.registry);
  if (byPrefix?.get(family.prefix) === family) byPrefix.delete(family.prefix);
}

/** Appends one member's samples of a metric to a scrape. */
type Samples = (
  member: EngineMetricsImpl,
  push: (value: number, labels?: Record<string, string>) => void,
) => void;

/** The family's metrics: each scrape reads every member in turn. */
function familyMetrics(family: Family): ReadMetric[] {
  const p = family.prefix;
  const metric = (name: string, help: string, type: ReadMetricType, samples: Samples) =>
    new ReadMetric(p + name, help, type, () => {
      const values: ExpositionValue[] = [];
      for (const member of family.members)
        samples(member, (value, labels) => values.push({ labels: { ...member.labels, ...labels }, value }));
      return values;
    });
  /** A counter read from the engine: the member's folded totals plus the attached engine's. */
  const total = (slot: number) =>
    metric(SNAPSHOT_TOTALS[slot]!.name, SNAPSHOT_TOTALS[slot]!.help, "counter", (m, push) => {
      // The first metric registered is the first a scrape reads: each scrape takes a new snapshot.
      if (slot === 0) m.freshScrape();
      if (m.everAttached) push(m.total(slot));
    });
  /** A counter by label, from the audit stream. */
  const labelled = (
    name: string,
    help: string,
    label: string,
    counts: (m: EngineMetricsImpl) => LabelledCounts,
  ) =>
    metric(name, help, "counter", (m, push) => {
      if (!m.everAttached) return;
      const c = counts(m);
      for (let i = 0; i < c.names.length; i++) push(c.at(i), { [label]: c.names[i]! });
    });
  /** A gauge of the attached engine. */
  const gauge = (name: string, help: string, read: (m: EngineMetricsImpl) => number) =>
    metric(name, help, "gauge", (m, push) => {
      if (m.engine !== undefined) push(read(m));
    });
  const histogram = (name: string, help: string, pick: (m: EngineMetricsImpl) => LatencyHistogram) =>
    new ReadMetric(
      p + name,
      help,
      "histogram",
      () => {
        const values: ExpositionValue[] = [];
        for (const m of family.members) if (m.everAttached) pick(m).samples(p + name, m.labels, values);
        return values;
      },
      // registry.resetMetrics() empties the histograms; the counters keep reading their sources.
      () => {
        for (const m of family.members) pick(m).reset();
      },
    );
  return [
    total(0),
    labelled("digests_rejected_total", "Telemetry digests rejected, by reason.", "reason", (m) => m.rejected),
    labelled(
      "applies_total",
      "Values written by Tier 1, by kind (plus, minus, centre, rollback, manual); rollback counts every rollback, whatever its reason.",
      "kind",
      (m) => m.applies,
    ),
    labelled(
      "refusals_total",
      "Applies and rollbacks Tier 1 refused, by violation.",
      "violation",
      (m) => m.violations,
    ),
    labelled("rollbacks_total", "Rollbacks to the baseline, by reason.", "reason", (m) => m.rollbacks),
    labelled(
      "spsa_stalls_total",
      "SPSA cycle stalls (stallAfter evaluation windows in a row timed out empty), by cause: short-windows when digests keep coming but further apart than a window waits, no-telemetry otherwise.",
      "cause",
      (m) => m.stalls,
    ),
    labelled(
      "safe_mode_transitions_total",
      "SafeMode mode changes, by the mode entered.",
      "to",
      (m) => m.transitions,
    ),
    total(1),
    total(2),
    total(3),
    gauge("audit_pending", "Audit records waiting for delivery.", (m) => m.snapshot().audit.pending),
    gauge("generation", "Generation of the live configuration.", (m) => m.engine!.generation),
    gauge("spsa_iteration", "Completed SPSA gradient steps.", (m) => m.snapshot().iteration),
    metric(
      "window_limit_seconds",
      "The evaluation windows' time limit in force, in seconds (absent when they close on their digest count only): longer than window.ms while stretched.",
      "gauge",
      (m, push) => {
        const ms = m.engine === undefined ? null : m.snapshot().window.ms;
        if (ms !== null) push(ms / 1000);
      },
    ),
    gauge(
      "window_stretched",
      "1 while the evaluation windows' time limit is stretched past window.ms (windows timed out between digests at every one), else 0.",
      (m) => (m.snapshot().window.stretched ? 1 : 0),
    ),
    metric(
      "window_objective",
      "The objective as the latest evaluation window that measured it aggregated it (absent before one has), windows measured again for anomalous digests included.",
      "gauge",
      (m, push) => {
        if (m.engine !== undefined && !Number.isNaN(m.windowObjective)) push(m.windowObjective);
      },
    ),
    gauge(
      "safe_mode_level",
      "SafeMode mode: 0 normal, 1 conservative, 2 frozen, 3 halted.",
      (m) => SAFE_MODE_LEVEL[m.engine!.mode],
    ),
    gauge(
      "engine_failed",
      "1 when the engine stopped proposing after an internal error (a broken invariant), else 0.",
      (m) => (m.engine!.failure === undefined ? 0 : 1),
    ),
    metric("safe_mode_reason", "1 for each SafeMode reason in force, else 0.", "gauge", (m, push) => {
      if (m.engine === undefined) return;
      const reasons = m.snapshot().reasons;
      for (const reason of SAFE_MODE_REASON_NAMES) push(reasons.includes(reason) ? 1 : 0, { reason });
    }),
    metric(
      "breaker_state",
      "Circuit breaker state: 0 closed, 1 half-open, 2 open (absent when the callback is not given).",
      "gauge",
      (m, push) => {
        if (m.engine === undefined) return;
        const { actuator, auditSink } = m.snapshot().breakers;
        if (actuator !== "none") push(BREAKER_STATE_VALUE[actuator], { breaker: "actuator" });
        if (auditSink !== "none") push(BREAKER_STATE_VALUE[auditSink], { breaker: "audit_sink" });
      },
    ),
    metric("param_value", "Live value of each tuned parameter, in raw units.", "gauge", (m, push) => {
      const engine = m.engine;
      if (engine === undefined) return;
      // value(), not values: the host may write into its reader copy, which changes nothing live.
      for (const name of engine.names) push(engine.value(name), { param: name });
    }),
    histogram(
      "t1_apply_seconds",
      "Duration of the actuator hook (onApply) on each Tier-1 apply or rollback.",
      (m) => m.t1,
    ),
    histogram(
      "t2_decide_seconds",
      "Duration of observe() calls that closed an evaluation window or wrote through Tier 1, including the SPSA transition and Tier-1 apply unless Tier 1's pace deferred them to the engine's scheduler.",
      (m) => m.t2,
    ),
    histogram(
      "digest_ingest_seconds",
      "Duration of observe() calls that closed no evaluation window and wrote nothing through Tier 1.",
      (m) => m.ingest,
    ),
  ];
}

/** The counters read from the engine (its snapshot, its failure) at scrape time, by slot. */
const SNAPSHOT_TOTALS: readonly {
  name: string;
  help: string;
  read: (s: EngineSnapshot, e: Engine) => number;
}[] = [
  {
    name: "digests_accepted_total",
    help: "Telemetry digests the engine accepted.",
    read: (s) => s.digests.accepted,
  },
  {
    name: "audit_dropped_total",
    help: "Audit records dropped because the ring was full.",
    read: (s) => s.audit.dropped,
  },
  {
    name: "audit_sink_dropped_total",
    help: "Audit records given up undelivered to the audit sink while it refused them.",
    read: (s) => s.audit.sinkDropped,
  },
  {
    // A counter, where arqon_engine_failed is a gauge of the live engine: a supervised engine that
    // fails is closed (and its gauges gone) before any scrape, and this is what still shows it.
    name: "engine_failures_total",
    help: "Engines that stopped proposing after an internal error (a broken invariant).",
    read: (_, e) => (e.failure === undefined ? 0 : 1),
  },
];

class EngineMetricsImpl implements EngineMetrics {
  engine: Engine | undefined;
  /** True from the first attach on: counters and histograms are exported from then. */
  everAttached = false;
  readonly rejected = new LabelledCounts(DIGEST_REJECTIONS);
  readonly violations = new LabelledCounts(VIOLATIONS);
  readonly rollbacks = new LabelledCounts(ROLLBACK_REASONS);
  readonly applies = new LabelledCounts(APPLY_KINDS);
  readonly transitions = new LabelledCounts(SAFE_MODES);
  readonly stalls = new LabelledCounts(STALL_CAUSES);
  /** The latest closed window's aggregated objective (NaN before one that measured it). */
  windowObjective = Number.NaN;
  readonly t1: LatencyHistogram;
  readonly t2: LatencyHistogram;
  readonly ingest: LatencyHistogram;
  /** Totals of the engines detached before, by slot of {@link SNAPSHOT_TOTALS}. */
  private readonly folded = new Float64Array(SNAPSHOT_TOTALS.length);
  /** The attached engine's totals these metrics counted before it was attached again. */
  private counted = new Float64Array(SNAPSHOT_TOTALS.length);
  /**
   * What each engine's totals were when these metrics last stopped reading it: an engine attached
   * again is counted from there, not from its start once more. Other metrics count it whole.
   */
  private readonly countedTotals = new WeakMap<Engine, Float64Array>();
  /** The attached engine's snapshot, read once per scrape (see {@link snapshot}). */
  private scraped: EngineSnapshot | undefined;
  private subscription: { unsubscribe(): void } | undefined;
  private removed = false;

  constructor(
    private readonly family: Family,
    readonly labels: Readonly<Record<string, string>>,
    buckets: readonly number[],
    private readonly clock: () => number,
  ) {
    // Unregistered: the family's histogram metrics read them at scrape time.
    this.t1 = new LatencyHistogram("t1", "", buckets);
    this.t2 = new LatencyHistogram("t2", "", buckets);
    this.ingest = new LatencyHistogram("ingest", "", buckets);
  }

  /**
   * The attached engine's snapshot. A scrape reads every metric in one synchronous pass, so the
   * snapshot is taken once per pass, not once per metric: the family's first metric starts each
   * scrape with {@link freshScrape}, and a microtask ends the pass for reads of single metrics.
   */
  snapshot(): EngineSnapshot {
    if (this.scraped === undefined) {
      this.scraped = this.engine!.snapshot();
      queueMicrotask(() => {
        this.scraped = undefined;
      });
    }
    return this.scraped;
  }

  /** Forgets the snapshot of the pass before (a scrape begins). */
  freshScrape(): void {
    this.scraped = undefined;
  }

  /** Total `slot`: the detached engines' plus what the attached one added since it was attached. */
  total(slot: number): number {
    const engine = this.engine;
    if (engine === undefined) return this.folded[slot]!;
    return this.folded[slot]! + SNAPSHOT_TOTALS[slot]!.read(this.snapshot(), engine) - this.counted[slot]!;
  }

  attach(engine: Engine): void {
    if (this.removed) throw new Error("attach: these metrics were removed");
    // Checked before anything changes: something else held as the engine would fail every scrape
    // of the registry, and refuse the real engine as a second one.
    const issue = engineIssue(engine);
    if (issue !== undefined) throwOnIssues("attach", [issue]);
    if (this.engine !== undefined) throw new Error("attach: these metrics already read an engine");
    const everAttached = this.everAttached;
    this.engine = engine;
    this.everAttached = true;
    this.windowObjective = Number.NaN;
    this.counted = this.countedTotals.get(engine)?.slice() ?? new Float64Array(SNAPSHOT_TOTALS.length);
    this.scraped = undefined;
    try {
      this.subscription = engine.events.subscribe({
        next: (event) => this.count(event),
        // A closed engine keeps its last figures; the gauges must not go on showing them as live.
        complete: () => {
          if (this.engine === engine) this.release(engine);
        },
      });
    } catch (error) {
      // Not attached after all: the metrics stay as they were, free for another attach.
      if (this.engine === engine) this.engine = undefined;
      this.everAttached = everAttached;
      throw error;
    }
  }

  detach(): void {
    const engine = this.engine;
    if (engine === undefined) return;
    // Records the engine has not delivered yet belong to these counts: deliver them first.
    engine.flushEvents();
    if (this.engine === engine) this.release(engine);
  }

  /** Stops reading `engine`, folding what it added into the totals. */
  private release(engine: Engine): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    const snapshot = engine.snapshot();
    const totals = new Float64Array(SNAPSHOT_TOTALS.length);
    for (let slot = 0; slot < SNAPSHOT_TOTALS.length; slot++) {
      totals[slot] = SNAPSHOT_TOTALS[slot]!.read(snapshot, engine);
      this.folded[slot]! += totals[slot]! - this.counted[slot]!;
    }
    this.countedTotals.set(engine, totals);
    this.engine = undefined;
    this.scraped = undefined;
  }

  remove(): void {
    this.detach();
    this.removed = true;
    leaveFamily(this.family, this);
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
      case "spsa.stalled":
        this.stalls.add(event.shortWindows === true ? "short-windows" : "no-telemetry");
        break;
      case "window.closed":
        // A window of −constraintMargin, or a mix, measured no objective.
        if (event.count > 0 && measuredObjective(event)) this.windowObjective = event.value;
        break;
      default:
        break;
    }
  }
}
