/**
 * B4, online tracking on DRIFT-Q4 (shared/BENCHMARKS.md B4) through the ENGINE API.
 *
 * Run on its own with `NODE_ENV=production npx tsx bench/drift-q4.ts`, through the dispatcher
 * with `npm run bench -- drift-q4`, or from code with {@link runDriftQ4Bench}.
 *
 * @remarks
 * Per seed and σ, one engine (`createEngine`) with p = 4 parameters on [−5, 5], init 0, maxDelta
 * 0.5, windows of one digest (count only, so no timers), balanced guardrails (10 applies/s, 100 ms
 * minimum interval) and an RxJS `VirtualTimeScheduler` as its clock. Tick t:
 *
 * 1. the virtual clock advances to t·100 ms (every action due by then runs, nothing later);
 * 2. the plant measures the live point `engine.values` (noise from the plant's own stream, one
 *    draw per tick) and the metrics record the tick at that point;
 * 3. `engine.observe({ objective, generation: engine.generation })`, which closes the window and
 *    synchronously causes the next apply; then `engine.flushEvents()` delivers the audit events.
 *
 * Step 3 is the engine's CPU per tick (`process.hrtime.bigint()` around observe + flush). An apply
 * shows as a change of `engine.generation`; its kind (plus / minus / centre) comes from the `apply`
 * audit event delivered by the flush, and only centres feed the reversal filter
 * ({@link TrackingMetrics.applied}). Violation events and refused applies count as guardrail
 * violations, as do moves beyond maxDelta seen by the metrics.
 *
 * The same run also drives `SpsaCore` directly with the engine's SPSA options ("direct core"
 * rows): plus, minus, centre as three applies, one digest each, the apply before the tick's
 * measurement, no holding window; it is the reference the engine should reproduce statistically
 * (its perturbation signs come from another PRNG stream and its cycle starts one tick earlier,
 * so the runs are not identical).
 *
 * Over the 10 seeds: regret, time in band and reversals are means, recovery is the median
 * (with the range); violations are summed; CPU per tick is the median over seeds.
 */
import { pathToFileURL } from "node:url";
import { VirtualAction, VirtualTimeScheduler } from "rxjs";
import type { AuditEvent } from "../src/audit/events.js";
import { createEngine, type Engine } from "../src/engine/engine.js";
import type { SafetyOptions } from "../src/engine/safety/safety-config.js";
import { resolveSpsaOptions, type SpsaOptions } from "../src/engine/spsa/options.js";
import { CommitResult, SpsaCore } from "../src/engine/spsa/spsa-core.js";
import { Prng } from "../src/random/prng.js";
import { ParamRegistry, type ParamSpec } from "../src/space/param-registry.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { DRIFT_Q4, DriftQ4Plant } from "./plants/drift-q4.js";
import { TrackingMetrics, type TrackingResult } from "./plants/metrics.js";
import { writeSection } from "./report.js";
import { median } from "./stats.js";
import { formatMicros, markdownTable, verdict } from "./table.js";

/** Seeds of the extra run of the default configuration (the 10-seed means carry seed noise). */
const WIDE_SEEDS = 40;

/** Milliseconds of virtual time per tick: balanced guardrails allow one apply per 100 ms. */
export const TICK_MS = 100;

/** The B4 targets (BENCHMARKS.md B4 and the engine brief). */
export const DRIFT_Q4_TARGETS = Object.freeze({
  regretSigma05: 0.3,
  inBandSigma05: 98,
  recoverySigma05: 350,
  reversalsSigma05: 15,
  regretSigma2: 0.65,
});

/** One engine configuration measured on DRIFT-Q4. */
export interface DriftQ4Config {
  /** Short name (also the `--configs=` key). */
  readonly name: string;
  /** What is varied, in words (printed under the table). */
  readonly description: string;
  /** The engine's `spsa` option (undefined: the engine's defaults). */
  readonly spsa: SpsaOptions | undefined;
  /** The engine's `safety` option (undefined: the defaults, every detector on). */
  readonly safety?: SafetyOptions;
}

/**
 * The configurations of the standard run. Gains are in unit-cube units; with the range 10 of
 * DRIFT-Q4, a_unit = a_raw / 100 and c_unit = c_raw / 10.
 */
export const DRIFT_Q4_CONFIGS: readonly DriftQ4Config[] = Object.freeze([
  {
    name: "default",
    description: 'no `spsa` options: constant gains, `a: "auto"`, smoothing and adaptive c on',
    spsa: undefined,
  },
  {
    name: "default-detectors-off",
    description:
      "the defaults with the safety detectors off (`safety: { governor: false, thrashing: false, changeBudget: false }`): the reference for the cost of the safety layer",
    spsa: undefined,
    safety: { governor: false, thrashing: false, changeBudget: false },
  },
  {
    name: "constant",
    description:
      'explicit constant gains `{ schedule: "constant", a: 1.5e-4, c: 0.02 }` (raw a 0.015, c 0.2)',
    spsa: { schedule: "constant", a: 1.5e-4, c: 0.02 },
  },
  {
    name: "plain",
    description:
      "BENCHMARKS.md's plain SPSA baseline `{ a: 2e-4, c: 0.02, smoothing: 0, adaptC: false }` (raw a 0.02, c 0.2)",
    spsa: { schedule: "constant", a: 2e-4, c: 0.02, smoothing: 0, adaptC: false },
  },
  {
    name: "decaying",
    description: '`{ schedule: "decaying" }`: α 0.602, γ 0.101, `a: "auto"`, A 10',
    spsa: { schedule: "decaying" },
  },
  {
    name: "decaying-A100",
    description: '`{ schedule: "decaying", A: 100 }`',
    spsa: { schedule: "decaying", A: 100 },
  },
]);

/** Knobs of {@link runDriftQ4Bench}. */
export interface DriftQ4BenchOptions {
  /** Seeds 1..seeds (default 10). */
  readonly seeds?: number;
  /** Noise levels (default 0.5 and 2). */
  readonly sigmas?: readonly number[];
  /** Configurations (default {@link DRIFT_Q4_CONFIGS}). */
  readonly configs?: readonly DriftQ4Config[];
  /** Also drive SpsaCore directly for each configuration (default true). */
  readonly direct?: boolean;
  /** Progress lines (default console.log). */
  readonly log?: (line: string) => void;
}

/** One seed through the engine (or the direct core). */
export interface DriftQ4RunResult extends TrackingResult {
  /** Applies seen by kind. */
  readonly plus: number;
  readonly minus: number;
  readonly centres: number;
  /** Violation audit events plus refused applies (the engine's count). */
  readonly refused: number;
  /** Ticks whose digest closed a window without causing an apply. */
  readonly idleTicks: number;
  /** Time inside observe() alone, ns per tick (the CPU figure also counts the event flush). */
  readonly observeNsPerTick: number;
  /** Calibrated base step gain a (unit cube), NaN when not readable. */
  readonly a: number;
  /** Base perturbation half-width c at the end of the run (unit cube). */
  readonly c: number;
  /** SafeMode escalations out of normal (mode changes from "normal"). */
  readonly trips: number;
  /** Rollbacks to the baseline (SafeMode's; exempt from maxDelta, so not violations). */
  readonly rollbacks: number;
  /** Ticks spent in each mode other than normal. */
  readonly ticksConservative: number;
  readonly ticksFrozen: number;
}

/** Seed-aggregated figures of one configuration and σ. */
export interface DriftQ4Summary {
  readonly config: string;
  readonly driver: "engine" | "direct core";
  readonly sigma: number;
  readonly seeds: number;
  readonly regretPerTick: number;
  readonly inBandPercent: number;
  readonly reversalsPer1000PerParam: number;
  /** Median recovery (null when more than half the seeds never recover). */
  readonly recoveryMedian: number | null;
  readonly recoveryMin: number | null;
  readonly recoveryMax: number | null;
  readonly violations: number;
  readonly cpuNsPerTick: number;
  readonly observeNsPerTick: number;
  readonly idleTicks: number;
  readonly a: number;
  readonly c: number;
  readonly regretMin: number;
  readonly regretMax: number;
  /** SafeMode escalations out of normal, summed over seeds. */
  readonly trips: number;
  /** Rollbacks to the baseline, summed over seeds. */
  readonly rollbacks: number;
  /** Share of ticks in conservative / frozen-or-halted mode (%). */
  readonly conservativePercent: number;
  readonly frozenPercent: number;
  /** Standard error of the regret mean over seeds (sample sd / √seeds). */
  readonly regretStandardError: number;
}

/** What {@link runDriftQ4Bench} measured. */
export interface DriftQ4BenchResult {
  readonly environment: string;
  readonly summaries: readonly DriftQ4Summary[];
  /** Markdown (also printed). */
  readonly report: string;
  /** Wall time of the whole run, seconds. */
  readonly seconds: number;
}

function driftParams(): Record<string, ParamSpec> {
  const params: Record<string, ParamSpec> = {};
  for (let i = 0; i < 4; i++) {
    params[`x${i}`] = { min: DRIFT_Q4.lower, max: DRIFT_Q4.upper, init: 0, maxDelta: DRIFT_Q4.maxDelta };
  }
  return params;
}

/**
 * Advances a `VirtualTimeScheduler` to `time`: runs every action due by then (and nothing later)
 * and leaves the clock exactly at `time`.
 */
export function advanceVirtualClock(scheduler: VirtualTimeScheduler, time: number): void {
  // A no-op at `time` makes the frame land exactly there even when nothing else is due.
  scheduler.schedule(() => {}, time - scheduler.now());
  scheduler.maxFrames = time;
  scheduler.flush();
}

/** Reads the calibrated step gain and width from the engine's SPSA core (diagnostic only). */
function coreGains(engine: Engine): { a: number; c: number } {
  // The engine does not expose its SPSA gains; the bench peeks at the private core for the report.
  const core = (engine as unknown as { core?: SpsaCore }).core;
  return core instanceof SpsaCore
    ? { a: core.a, c: core.perturbationScale }
    : { a: Number.NaN, c: Number.NaN };
}

/** One seed of DRIFT-Q4 through the engine API. */
export async function runEngineSeed(
  spsa: SpsaOptions | undefined,
  sigma: number,
  seed: number,
  safety?: SafetyOptions,
): Promise<DriftQ4RunResult> {
  const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
  const engine = createEngine({
    seed,
    params: driftParams(),
    ...(spsa === undefined ? {} : { spsa }),
    ...(safety === undefined ? {} : { safety }),
    window: { digests: 1 },
    guardrails: "balanced",
    scheduler,
  });
  const plant = new DriftQ4Plant({ sigma, seed });
  const metrics = new TrackingMetrics(plant);
  let writes = 0;
  let refused = 0;
  let plus = 0;
  let minus = 0;
  let centres = 0;
  let rollbacks = 0;
  let idleTicks = 0;
  let trips = 0;
  let ticksConservative = 0;
  let ticksFrozen = 0;
  const names = engine.names;
  const point = new Float64Array(names.length);
  // Every change of the live point is taken from the audit events, which carry the values written:
  // SafeMode's timers can apply between two digests (a return to the centre when a mode steps
  // down), and those moves must be checked too.
  const subscription = engine.events.subscribe((event: AuditEvent) => {
    if (event.type === "mode.changed" && event.from === "normal") trips++;
    if (event.type === "apply" || event.type === "rollback") {
      writes++;
      const values = event.values;
      if (values === undefined) throw new Error(`${event.type} event without values (seq ${event.seq})`);
      for (let i = 0; i < names.length; i++) point[i] = values[names[i]!]!;
      if (event.type === "rollback") {
        // A rollback restores the baseline: exempt from maxDelta by design, counted apart.
        rollbacks++;
        metrics.restored(point);
        return;
      }
      if (event.kind === "plus") plus++;
      else if (event.kind === "minus") minus++;
      else if (event.kind === "centre") centres++;
      else throw new Error(`unexpected apply kind ${event.kind}`);
      metrics.applied(point, event.kind === "centre");
    } else if (event.type === "violation") refused++;
  });
  const values = engine.values;
  let cpu = 0n;
  let observing = 0n;
  try {
    for (let t = 0; t < DRIFT_Q4.ticks; t++) {
      advanceVirtualClock(scheduler, t * TICK_MS);
      const y = plant.measure(t, values);
      metrics.tick(t, values);
      const generation = engine.generation;
      const started = process.hrtime.bigint();
      const verdict = engine.observe({ objective: y, generation });
      const observed = process.hrtime.bigint();
      engine.flushEvents();
      cpu += process.hrtime.bigint() - started;
      observing += observed - started;
      if (verdict !== "accepted") throw new Error(`tick ${t}: digest ${verdict}`);
      const mode = engine.mode;
      if (mode === "conservative") ticksConservative++;
      else if (mode !== "normal") ticksFrozen++;
      if (engine.generation === generation) idleTicks++;
    }
    engine.flushEvents();
    // Every generation is accounted for by exactly one apply or rollback event.
    if (writes !== engine.generation)
      throw new Error(`${engine.generation} generations, ${writes} write events`);
    if (engine.failure !== undefined) throw engine.failure;
    const snapshot = engine.snapshot();
    refused = Math.max(refused, snapshot.applies.refused);
    if (snapshot.audit.dropped !== 0) throw new Error(`${snapshot.audit.dropped} audit records dropped`);
    metrics.rejected(refused);
    metrics.cpu(Number(cpu));
    const { a, c } = coreGains(engine);
    const observeNsPerTick = Number(observing) / DRIFT_Q4.ticks;
    return {
      ...metrics.result(),
      plus,
      minus,
      centres,
      refused,
      idleTicks,
      observeNsPerTick,
      a,
      c,
      trips,
      rollbacks,
      ticksConservative,
      ticksFrozen,
    };
  } finally {
    subscription.unsubscribe();
    await engine.close();
  }
}

/**
 * One seed with SpsaCore driven directly (no engine): plus, minus, centre applied in turn, each
 * before its tick's measurement; the reference for the engine rows.
 */
export function runDirectSeed(spsa: SpsaOptions | undefined, sigma: number, seed: number): DriftQ4RunResult {
  const registry = new ParamRegistry(driftParams());
  const core = new SpsaCore(registry, resolveSpsaOptions(spsa), Prng.fromSeed(seed, 1));
  const plant = new DriftQ4Plant({ sigma, seed });
  const metrics = new TrackingMetrics(plant);
  const p = registry.size;
  const target = new Float64Array(p);
  const live = new Float64Array(p);
  let cpu = 0n;
  let phase = 0;
  const kinds = [0, 0, 0]; // plus, minus, centre applies
  for (let t = 0; t < DRIFT_Q4.ticks; t++) {
    const started = process.hrtime.bigint();
    if (phase === 0) {
      core.beginIteration();
      core.plusTarget(target);
    } else if (phase === 1) core.minusTarget(target);
    else if (core.commit(target) === CommitResult.NotReady) throw new Error(`tick ${t}: commit not ready`);
    cpu += process.hrtime.bigint() - started;
    for (let i = 0; i < p; i++) live[i] = registry.toRaw(i, target[i]!);
    metrics.applied(live, phase === 2);
    kinds[phase]!++;
    const y = plant.measure(t, live);
    metrics.tick(t, live);
    const recorded = process.hrtime.bigint();
    if (phase === 0) core.recordPlus(y);
    else if (phase === 1) core.recordMinus(y);
    else core.recordCentre(y);
    cpu += process.hrtime.bigint() - recorded;
    phase = phase === 2 ? 0 : phase + 1;
  }
  metrics.cpu(Number(cpu));
  return {
    ...metrics.result(),
    plus: kinds[0]!,
    minus: kinds[1]!,
    centres: kinds[2]!,
    refused: 0,
    idleTicks: 0,
    observeNsPerTick: Number.NaN,
    a: core.a,
    c: core.perturbationScale,
    trips: 0,
    rollbacks: 0,
    ticksConservative: 0,
    ticksFrozen: 0,
  };
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

function summarize(
  config: string,
  driver: DriftQ4Summary["driver"],
  sigma: number,
  runs: readonly DriftQ4RunResult[],
): DriftQ4Summary {
  const recoveries = runs.map((r) => r.recoveryTicks ?? Number.POSITIVE_INFINITY);
  const recoveryMedian = median(recoveries);
  const finite = recoveries.filter(Number.isFinite);
  const regrets = runs.map((r) => r.regretPerTick);
  const regretMean = mean(regrets);
  const variance =
    runs.length < 2
      ? Number.NaN
      : regrets.reduce((sum, r) => sum + (r - regretMean) ** 2, 0) / (runs.length - 1);
  return {
    config,
    driver,
    sigma,
    seeds: runs.length,
    regretPerTick: regretMean,
    inBandPercent: mean(runs.map((r) => r.inBandPercent)),
    reversalsPer1000PerParam: mean(runs.map((r) => r.reversalsPer1000PerParam)),
    recoveryMedian: Number.isFinite(recoveryMedian) ? recoveryMedian : null,
    recoveryMin: finite.length === 0 ? null : Math.min(...finite),
    recoveryMax: finite.length < runs.length ? null : Math.max(...finite),
    violations: runs.reduce((sum, r) => sum + r.violations, 0),
    cpuNsPerTick: median(runs.map((r) => r.cpuNsPerTick)),
    observeNsPerTick: median(runs.map((r) => r.observeNsPerTick)),
    idleTicks: runs.reduce((sum, r) => sum + r.idleTicks, 0),
    a: median(runs.map((r) => r.a)),
    c: median(runs.map((r) => r.c)),
    regretMin: Math.min(...regrets),
    regretMax: Math.max(...regrets),
    regretStandardError: Math.sqrt(variance / runs.length),
    trips: runs.reduce((sum, r) => sum + r.trips, 0),
    rollbacks: runs.reduce((sum, r) => sum + r.rollbacks, 0),
    conservativePercent:
      (100 * runs.reduce((sum, r) => sum + r.ticksConservative, 0)) / (runs.length * DRIFT_Q4.ticks),
    frozenPercent: (100 * runs.reduce((sum, r) => sum + r.ticksFrozen, 0)) / (runs.length * DRIFT_Q4.ticks),
  };
}

/** Pass/fail of every target that applies to σ; empty for other noise levels. */
export function targetChecks(s: DriftQ4Summary): { name: string; pass: boolean }[] {
  const T = DRIFT_Q4_TARGETS;
  const zero = { name: "violations = 0", pass: s.violations === 0 };
  // With the default safety layer on, a benign drift (and its regime shift) must not trip SafeMode.
  const noTrips =
    s.config === "default" && s.driver === "engine"
      ? [{ name: "SafeMode trips = 0", pass: s.trips === 0 }]
      : [];
  if (s.sigma === 0.5) {
    return [
      ...noTrips,
      { name: `regret ≤ ${T.regretSigma05}`, pass: s.regretPerTick <= T.regretSigma05 },
      { name: `in band ≥ ${T.inBandSigma05} %`, pass: s.inBandPercent >= T.inBandSigma05 },
      {
        name: `recovery ≤ ${T.recoverySigma05}`,
        pass: s.recoveryMedian !== null && s.recoveryMedian <= T.recoverySigma05,
      },
      { name: `reversals ≤ ${T.reversalsSigma05}`, pass: s.reversalsPer1000PerParam <= T.reversalsSigma05 },
      zero,
    ];
  }
  if (s.sigma === 2)
    return [
      ...noTrips,
      { name: `regret ≤ ${T.regretSigma2}`, pass: s.regretPerTick <= T.regretSigma2 },
      zero,
    ];
  return [zero];
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "–";
}

function recoveryCell(s: DriftQ4Summary): string {
  if (s.recoveryMedian === null) return "never";
  const range = `${s.recoveryMin ?? "–"}–${s.recoveryMax ?? "never"}`;
  return `${Math.round(s.recoveryMedian)} (${range})`;
}

/**
 * The targets are gates for the defaults through the engine (what users get); the other rows are
 * comparisons, whose misses are shown without failing the run.
 */
function targetCell(s: DriftQ4Summary, failed: readonly string[]): string {
  if (s.config === "default" && s.driver === "engine") {
    return failed.length === 0 ? verdict(true) : `${verdict(false)}: ${failed.join(", ")}`;
  }
  return failed.length === 0 ? "meets" : `misses: ${failed.join(", ")}`;
}

function summaryRow(s: DriftQ4Summary): string[] {
  const checks = targetChecks(s);
  const failed = checks.filter((c) => !c.pass).map((c) => c.name);
  return [
    s.config,
    s.driver,
    String(s.sigma),
    `${s.regretPerTick.toFixed(3)} ± ${fixed(s.regretStandardError, 3)} (${s.regretMin.toFixed(3)}–${s.regretMax.toFixed(3)})`,
    s.inBandPercent.toFixed(1),
    recoveryCell(s),
    s.reversalsPer1000PerParam.toFixed(1),
    String(s.violations),
    s.driver === "engine"
      ? `${s.trips} / ${s.rollbacks} (${s.conservativePercent.toFixed(1)} / ${s.frozenPercent.toFixed(1)})`
      : "–",
    formatMicros(s.cpuNsPerTick),
    formatMicros(s.observeNsPerTick),
    // Gains are unit-cube; ×100 gives raw a, ×10 raw c on this plant.
    Number.isFinite(s.a) ? (s.a * 100).toPrecision(3) : "–",
    Number.isFinite(s.c) ? (s.c * 10).toPrecision(3) : "–",
    targetCell(s, failed),
  ];
}

const HEADER = [
  "config",
  "driver",
  "σ",
  "regret/tick ± SE (range)",
  "in band %",
  "recovery ticks (range)",
  "reversals /1000/param",
  "violations",
  "SafeMode trips / rollbacks (% ticks conservative / frozen)",
  "CPU µs/tick",
  "of which observe µs",
  "a (raw)",
  "c (raw)",
  "targets",
];

/**
 * Runs B4 through the engine API for every configuration, σ and seed (and the direct-core
 * reference), prints and returns the tables.
 */
export async function runDriftQ4Bench(options: DriftQ4BenchOptions = {}): Promise<DriftQ4BenchResult> {
  const seeds = options.seeds ?? DRIFT_Q4.seeds.length;
  const sigmas = options.sigmas ?? DRIFT_Q4.sigmas;
  const configs = options.configs ?? DRIFT_Q4_CONFIGS;
  const direct = options.direct ?? true;
  const log = options.log ?? ((line: string) => console.log(line));
  const environment = environmentLine(describeEnvironment());
  log(environment);
  const started = performance.now();
  const summaries: DriftQ4Summary[] = [];
  for (const sigma of sigmas) {
    for (const config of configs) {
      const engineRuns: DriftQ4RunResult[] = [];
      for (let seed = 1; seed <= seeds; seed++)
        engineRuns.push(await runEngineSeed(config.spsa, sigma, seed, config.safety));
      const summary = summarize(config.name, "engine", sigma, engineRuns);
      summaries.push(summary);
      log(summaryRow(summary).join(" | "));
      if (direct) {
        const directRuns: DriftQ4RunResult[] = [];
        for (let seed = 1; seed <= seeds; seed++) directRuns.push(runDirectSeed(config.spsa, sigma, seed));
        const reference = summarize(config.name, "direct core", sigma, directRuns);
        summaries.push(reference);
        log(summaryRow(reference).join(" | "));
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const table = markdownTable(HEADER, summaries.map(summaryRow));
  const engineRows = summaries.filter((s) => s.driver === "engine");
  const idle = engineRows.reduce((sum, s) => sum + s.idleTicks, 0);
  const report = [
    `${environment}.`,
    `${seeds} seeds × σ ∈ {${sigmas.join(", ")}} × ${DRIFT_Q4.ticks} ticks per configuration; ` +
      `the whole run took ${seconds.toFixed(0)} s. Ticks whose digest caused no apply, over all engine ` +
      `runs: ${idle}${idle === 0 ? " (every digest closed a window and the cycle applied its next point at once)" : ""}.`,
    table,
    "Configurations:",
    configs.map((c) => `- \`${c.name}\`: ${c.description}.`).join("\n"),
  ].join("\n\n");
  log(`\n${table}\n\n${seeds} seeds; ${seconds.toFixed(0)} s`);
  return { environment, summaries, report, seconds };
}

const METHOD = `## B4. Online tracking (DRIFT-Q4) through the engine

\`npm run bench -- drift-q4\` (\`bench/drift-q4.ts\`). DRIFT-Q4 as BENCHMARKS.md B4 specifies
(p = 4, bounds [−5, 5], start 0, strict maxDelta 0.5 per apply counting every move, shift at
t = 10 000, T = 20 000, seeds 1..10), driven through the public engine API: \`createEngine\` with
windows of one digest (count only), balanced guardrails (10 applies/s, 100 ms minimum interval)
and a \`VirtualTimeScheduler\` advanced ${TICK_MS} ms per tick. Each tick the plant measures
\`engine.values\` and the host calls \`engine.observe({ objective, generation: engine.generation })\`,
then \`engine.flushEvents()\`. Every change of the live point is taken from the \`apply\` and
\`rollback\` audit events, which carry the values written (SafeMode's timers can apply between two
digests, e.g. the return to the centre when a mode steps down), and only centres feed the reversal
filter. Violations = applies the executor refused (violation events) + applies that moved beyond
maxDelta or out of bounds; a rollback to the baseline is exempt from maxDelta by design and counted
apart. The safety layer runs with its defaults in every row but \`default-detectors-off\`; "SafeMode
trips" counts escalations out of normal. CPU per tick is observe + flush (median over seeds; shared
2-core machine, so indicative only).

Rows "direct core" drive \`SpsaCore\` with the same options and no engine (plus, minus, centre,
one digest each): the reference the engine must reproduce. They are not bit-identical to the
engine rows: the engine measures its starting point in a first window (one tick) before the first
perturbation, and draws its perturbation signs from its own PRNG stream.

Aggregation over seeds: regret, in band and reversals are means (regret ± its standard error
over seeds, with the seed range in brackets), recovery is the median with its range, violations
are summed. Targets: σ = 0.5 regret
≤ 0.30, in band ≥ 98 %, recovery ≤ 350 ticks, reversals ≤ 15 /1000 ticks/param, zero violations;
σ = 2 regret ≤ 0.65. They are gates (PASS/FAIL, and a FAIL fails \`npm run bench\`) for the
\`default\` configuration through the engine, the one users get; on the other rows they are a
comparison ("meets" or "misses"). The defaults were tuned on this very plant and these seeds, so
B4 is an in-sample result. Gains are shown in raw units of this plant (a × 100, c × 10 of the
unit-cube values; for \`a: "auto"\` the value the engine calibrated, median over seeds).`;

/** Entry for `npm run bench -- drift-q4`. */
export const benchmark: Benchmark = {
  name: "drift-q4",
  title: "B4 DRIFT-Q4 online tracking through the engine API (regret, band, recovery, reversals)",
  inAll: true,
  async run(args) {
    const options = parseOptions(args, ["seeds", "configs"]);
    const seeds = wholeOption(options, "seeds", DRIFT_Q4.seeds.length);
    const names = options.values.get("configs")?.split(",");
    const configs =
      names === undefined ? DRIFT_Q4_CONFIGS : DRIFT_Q4_CONFIGS.filter((c) => names.includes(c.name));
    if (configs.length === 0) {
      throw new Error(`--configs names none of: ${DRIFT_Q4_CONFIGS.map((c) => c.name).join(", ")}`);
    }
    const result = await runDriftQ4Bench({ seeds, configs });
    const fullProtocol = seeds === DRIFT_Q4.seeds.length && names === undefined;
    if (!fullProtocol) return;
    // The default configuration again over more seeds: how far do the 10-seed means move?
    const wide = await runDriftQ4Bench({ seeds: WIDE_SEEDS, configs: [DRIFT_Q4_CONFIGS[0]!] });
    const wideTable = markdownTable(HEADER, wide.summaries.map(summaryRow));
    // Only the full protocol (10 seeds, every configuration) is written to the results page.
    if (options.write) {
      await writeSection(
        "B4",
        `${METHOD}\n\n${result.report}\n\nThe \`default\` configuration again over seeds 1..${WIDE_SEEDS} ` +
          `(otherwise the same protocol; ${wide.seconds.toFixed(0)} s), to show how far the 10-seed ` +
          `figures move with the seeds:\n\n${wideTable}`,
      );
    }
  },
};

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  if (process.env.NODE_ENV !== "production") console.warn("warning: NODE_ENV is not 'production'");
  benchmark.run(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
