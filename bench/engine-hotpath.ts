/**
 * B3, the hot path (shared/BENCHMARKS.md B3) measured through the ENGINE API, for 1, 4, 16 and
 * 64 parameters.
 *
 * Run on its own with `NODE_ENV=production npx tsx bench/engine-hotpath.ts`, through the
 * dispatcher with `npm run bench -- engine-hotpath`, or from code with {@link runEngineHotPathBench}.
 *
 * @remarks
 * Figures:
 *
 * - **Digest ingest**: `engine.observe(digest)` of an accepted digest that does not close its
 *   evaluation window. The engine has count-only windows far larger than the run (no timers, no
 *   window ever closes) and the default clock (`asyncScheduler`, i.e. `Date.now()`); digests are
 *   one hidden class `{ objective, generation }` with non-integer objectives, cycled from a pool.
 * - **T2 decision**: `engine.observe(digest)` of a digest that closes a window of one digest,
 *   through the SPSA cycle's transition and the Tier-1 apply it causes. The engine runs on a
 *   `VirtualTimeScheduler` advanced 100 ms before every digest (outside the timed region), so the
 *   balanced guardrails (10 applies/s, 100 ms minimum interval) never refuse; every decision must
 *   bump `engine.generation` by exactly one, or the benchmark fails. Timed twice per process: right
 *   after calibration (start-up) and in steady state (see {@link STEADY_AFTER_DECISIONS}).
 * - **T1 apply** and the **bare clamp baseline**: `runHotpathBench` of `bench/hotpath.ts` (the
 *   executor measured on its own, with the clamp loop in the same run); see {@link T1Figures}.
 *
 * Time. Two methods, both with `process.hrtime.bigint()`:
 *
 * - batched: one timer pair around `batchSize` consecutive calls gives one ns-per-call sample;
 *   p50 is taken over batch means (timer cost < 0.1 ns per call). This is the p50 to compare
 *   with a target, since a single ingest (tens of ns) is close to the timer's own cost.
 * - per call: one timer pair around every call, minus the median cost of an empty timer pair;
 *   p50 / p99 / p99.9 / max are taken over these samples. They include everything that lands on
 *   a call: timer granularity, JIT, GC pauses (also those caused by the timer's own BigInts),
 *   interrupts and the other processes on the machine. T2 decisions are timed this way only (the
 *   virtual clock must advance between two decisions).
 *
 * Allocation: V8 has no cumulative "bytes allocated" counter, so heap growth is read with
 * `v8.getHeapStatistics().used_heap_size` around chunks of calls after warm-up (1000 digests per
 * chunk; one decision per chunk); a chunk in which a GC ran shows as shrinkage and is left out,
 * and the cost of the readings themselves (measured on empty chunks) is subtracted. GC events are
 * counted with a `PerformanceObserver("gc")` over the run (10^6 digests; the decisions), after a
 * forced full GC (`gc` from `--expose-gc`, or switched on at run time). This is the method of
 * `bench/telemetry.ts`, re-implemented here because that module does not export it.
 *
 * Processes: every ingest and decision repeat runs in a fresh Node process ({@link inChild}) that
 * creates exactly one engine, as a host does; T1 runs in this process. The machine has 2 cores
 * shared with other work, so every figure is the median over `--runs` repeats (default 3) and GC
 * counts are the largest of any repeat.
 */
import { fork } from "node:child_process";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import v8 from "node:v8";
import { VirtualAction, VirtualTimeScheduler } from "rxjs";
import { createEngine, type Engine } from "../src/engine/engine.js";
import { Prng } from "../src/random/prng.js";
import type { ParamSpec } from "../src/space/param-registry.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { advanceVirtualClock, TICK_MS } from "./drift-q4.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { findGc } from "./gc.js";
import { type HotpathRow, runHotpathBench } from "./hotpath.js";
import { writeSection } from "./report.js";
import { median, quantileSorted } from "./stats.js";
import { markdownTable, verdict } from "./table.js";
import { timerCost } from "./timer-cost.js";

/** Parameter counts of the protocol. */
export const HOT_PATH_SIZES = Object.freeze([1, 4, 16, 64]);

/** The B3 targets. */
export const HOT_PATH_TARGETS = Object.freeze({
  /** T1 apply p50 at 16 parameters, ns. */
  applyP50Ns: 150,
  /** T1 apply p99 at 16 parameters, ns. */
  applyP99Ns: 1000,
  /** Digest ingest p50, ns (every size). */
  ingestP50Ns: 100,
  /** GC events over 10^6 ingested digests (every size). */
  ingestGcEvents: 0,
  /** Bytes allocated per T2 decision (every size). */
  decisionBytes: 2048,
  /** T2 decision p99, ns (every size). */
  decisionP99Ns: 20_000,
  /** GC events over 10^6 applies. */
  applyGcEvents: 0,
  /** T1 apply p50 ÷ bare clamp p50 (16 parameters). */
  applyOverClamp: 4,
});

/**
 * T1 figures for one parameter count, as the hot-path benchmark reports them (all optional: the
 * table shows "–" for what it does not provide).
 */
export interface T1Figures {
  readonly params: number;
  readonly applyP50Ns?: number;
  readonly applyP99Ns?: number;
  readonly applyP999Ns?: number;
  readonly applyMaxNs?: number;
  readonly clampP50Ns?: number;
  readonly gcEvents?: number;
  readonly applies?: number;
}

/** Knobs of {@link runEngineHotPathBench}; the defaults take about a minute. */
export interface EngineHotPathOptions {
  /** Parameter counts (default 1, 4, 16, 64). */
  readonly sizes?: readonly number[];
  /** Repeats of every timing measurement; figures are medians over them (default 3). */
  readonly runs?: number;
  /** Calls per timed batch (default 1000). */
  readonly batchSize?: number;
  /** Timed batches per run (default 500). */
  readonly batches?: number;
  /** Per-call ingest samples per run (default 200 000). */
  readonly callSamples?: number;
  /** Timed decisions per run (default 20 000). */
  readonly decisions?: number;
  /** Digests in the allocation run (default 10^6). */
  readonly allocationDigests?: number;
  /** Decisions in the allocation run (default 10 000). */
  readonly allocationDecisions?: number;
  /** T1 figures to show (default: measured with `runHotpathBench` of bench/hotpath.ts). */
  readonly t1?: readonly T1Figures[];
  /** Progress lines (default console.log). */
  readonly log?: (line: string) => void;
}

/** Tail figures of one path, ns per call. */
export interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** Everything measured at one parameter count. */
export interface EngineHotPathSize {
  readonly params: number;
  /** Ingest: p50 of batch means (median over runs). */
  readonly ingestBatchP50: number;
  /** Ingest: per-call percentiles (each the median over runs). */
  readonly ingestCall: Percentiles;
  readonly ingestBytes: number;
  readonly ingestGcEvents: number;
  readonly ingestDigests: number;
  /** T2 decisions in steady state: per-call percentiles (each the median over runs). */
  readonly decision: Percentiles;
  /** Steady-state decisions over the target per 1000 (median over runs). */
  readonly decisionSlowPer1000: number;
  /** T2 decisions right after calibration, the process's first timed ones (medians over runs). */
  readonly decisionStartup: Percentiles;
  /** Start-up decisions over the target per 1000 (median over runs). */
  readonly decisionStartupSlowPer1000: number;
  readonly decisionBytes: number;
  readonly decisionGcEvents: number;
  readonly decisionsMeasured: number;
  readonly t1: T1Figures | undefined;
}

/** What {@link runEngineHotPathBench} measured. */
export interface EngineHotPathResult {
  readonly environment: string;
  readonly sizes: readonly EngineHotPathSize[];
  /** Ingest at 16 parameters in a process where another engine ran first. */
  readonly secondEngineIngest: IngestFigures;
  readonly checks: readonly {
    readonly target: string;
    readonly value: string;
    readonly pass: boolean | undefined;
  }[];
  /** Markdown (also printed). */
  readonly report: string;
}

const POOL = 1024; // distinct digests, cycled, so the JIT cannot fold a constant input away
/** Window size of the ingest engines: larger than every run, so no window closes. */
const INGEST_WINDOW = 1 << 21;

function hotPathParams(n: number): Record<string, ParamSpec> {
  const params: Record<string, ParamSpec> = {};
  for (let i = 0; i < n; i++) params[`p${i}`] = { min: 0, max: 100, init: 50, maxDelta: 10 };
  return params;
}

/** Counts GC events between start() and stop() (entries arrive asynchronously). */
function gcCounter(): { start(): void; stop(): Promise<number> } {
  let count = 0;
  const observer = new PerformanceObserver((list) => {
    count += list.getEntries().length;
  });
  return {
    start() {
      count = 0;
      observer.observe({ entryTypes: ["gc"] });
    },
    async stop() {
      await new Promise((resolve) => setTimeout(resolve, 20));
      observer.disconnect();
      return count;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Digest ingest

interface IngestRig {
  readonly engine: Engine;
  readonly digests: { objective: number; generation: number }[];
  /** Digests the window can still take. */
  room: number;
}

function ingestRig(n: number): IngestRig {
  const engine = createEngine({ seed: 1, params: hotPathParams(n), window: { digests: INGEST_WINDOW } });
  engine.flushEvents(); // the start-up baseline record, so nothing is pending
  const digests: { objective: number; generation: number }[] = [];
  for (let i = 0; i < POOL; i++) digests.push({ objective: 10.125 + (i % 7) * 0.25, generation: 0 });
  return { engine, digests, room: INGEST_WINDOW };
}

function take(rig: IngestRig, n: number): void {
  if (n > rig.room) throw new Error("ingest window would close: raise INGEST_WINDOW");
  rig.room -= n;
}

// One function per loop so every call site stays monomorphic.
function ingest(rig: IngestRig, n: number): void {
  take(rig, n);
  const { engine, digests } = rig;
  let accepted = 0;
  for (let i = 0; i < n; i++) if (engine.observe(digests[i & (POOL - 1)]!) === "accepted") accepted++;
  if (accepted !== n) throw new Error(`ingest: ${n - accepted} digests not accepted`);
}

function ingestPerCall(rig: IngestRig, samples: Float64Array): void {
  take(rig, samples.length);
  const { engine, digests } = rig;
  let accepted = 0;
  for (let i = 0; i < samples.length; i++) {
    const start = process.hrtime.bigint();
    const verdict = engine.observe(digests[i & (POOL - 1)]!);
    const end = process.hrtime.bigint();
    samples[i] = Number(end - start);
    if (verdict === "accepted") accepted++;
  }
  if (accepted !== samples.length) throw new Error("ingest: digest not accepted");
}

function percentiles(samples: Float64Array, overhead: number): Percentiles {
  for (let i = 0; i < samples.length; i++) samples[i] = Math.max(0, samples[i]! - overhead);
  samples.sort();
  return {
    p50: quantileSorted(samples, 0.5),
    p90: quantileSorted(samples, 0.9),
    p99: quantileSorted(samples, 0.99),
    p999: quantileSorted(samples, 0.999),
    max: samples[samples.length - 1]!,
  };
}

/** Samples (already net of the timer's cost) above the T2 target, per 1000. */
function overTargetPer1000(samples: Float64Array): number {
  let over = 0;
  for (let i = 0; i < samples.length; i++) if (samples[i]! > HOT_PATH_TARGETS.decisionP99Ns) over++;
  return (1000 * over) / samples.length;
}

function medianPercentiles(runs: readonly Percentiles[]): Percentiles {
  return {
    p50: median(runs.map((r) => r.p50)),
    p90: median(runs.map((r) => r.p90)),
    p99: median(runs.map((r) => r.p99)),
    p999: median(runs.map((r) => r.p999)),
    max: median(runs.map((r) => r.max)),
  };
}

/** Heap growth of `run()`, or NaN when a GC ran inside it (the heap shrank). */
function heapGrowth(run: () => void): number {
  const before = v8.getHeapStatistics().used_heap_size;
  run();
  const after = v8.getHeapStatistics().used_heap_size;
  return after >= before ? after - before : Number.NaN;
}

/** What a pair of heap readings allocates by itself (mean over empty chunks). */
function readingCost(): number {
  let sum = 0;
  let kept = 0;
  for (let i = 0; i < 256; i++) {
    const growth = heapGrowth(() => {});
    if (!Number.isNaN(growth)) {
      sum += growth;
      kept++;
    }
  }
  return sum / kept;
}

/** Settings of one measurement (a child process runs one). */
type Settings = Required<Omit<EngineHotPathOptions, "t1" | "log" | "sizes">>;

/** Ingest figures of one engine in one process. */
export interface IngestFigures {
  readonly batchP50: number;
  readonly call: Percentiles;
  readonly bytes: number;
  readonly gcEvents: number;
  readonly digests: number;
}

/**
 * Ingest on one engine: warm-up, batched timing, per-call timing, then the allocation run. With
 * `otherEngines` > 0, that many engines are created and fed first in the same process.
 */
async function ingestOnce(n: number, o: Settings, otherEngines: number): Promise<IngestFigures> {
  const gc = findGc();
  const overhead = timerCost();
  for (let e = 0; e < otherEngines; e++) {
    const other = ingestRig(n);
    for (let i = 0; i < 100; i++) ingest(other, 1000);
    await other.engine.close();
  }
  const rig = ingestRig(n);
  for (let i = 0; i < 100; i++) ingest(rig, 1000); // warm-up
  const batches = new Float64Array(o.batches);
  for (let b = 0; b < o.batches; b++) {
    const start = process.hrtime.bigint();
    ingest(rig, o.batchSize);
    batches[b] = Number(process.hrtime.bigint() - start) / o.batchSize;
  }
  const samples = new Float64Array(o.callSamples);
  ingestPerCall(rig, samples);

  // Allocation, on the same engine (its window still has room).
  const reading = readingCost();
  const chunk = 1000;
  const counter = gcCounter();
  gc?.();
  counter.start();
  let bytes = 0;
  let kept = 0;
  for (let done = 0; done < o.allocationDigests; done += chunk) {
    const growth = heapGrowth(() => ingest(rig, chunk));
    if (!Number.isNaN(growth)) {
      bytes += growth - reading;
      kept++;
    }
  }
  const gcEvents = await counter.stop();
  await rig.engine.close();
  return {
    batchP50: quantileSorted(batches.sort(), 0.5),
    call: percentiles(samples, overhead),
    bytes: kept === 0 ? Number.NaN : Math.max(0, bytes / (kept * chunk)),
    gcEvents,
    digests: o.allocationDigests,
  };
}

// ---------------------------------------------------------------------------------------------
// T2 decisions

interface DecisionRig {
  readonly engine: Engine;
  readonly scheduler: VirtualTimeScheduler;
  readonly noise: Prng;
  readonly optimum: Float64Array;
}

function decisionRig(n: number, seed: number): DecisionRig {
  const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
  const engine = createEngine({
    seed,
    params: hotPathParams(n),
    window: { digests: 1 },
    scheduler,
    // Every detector runs (its cost is in the figure) but cannot trip: this synthetic objective
    // really does get worse under SPSA's first noisy steps at 64 parameters, and a SafeMode trip
    // would change the path being timed (decisions would stop ending in one apply).
    safety: {
      governor: { divergenceWindows: 1_000_000, spikeHold: 1_000_000 },
      thrashing: { flipLimit: 1000 },
      changeBudget: { changeBudget: Number.POSITIVE_INFINITY },
    },
  });
  const optimum = new Float64Array(n);
  for (let i = 0; i < n; i++) optimum[i] = 30 + ((i * 37) % 40);
  return { engine, scheduler, noise: Prng.fromSeed(seed, 77), optimum };
}

/** The host's side of a decision: advance the clock, then a digest measured at the live point. */
function nextDigest(rig: DecisionRig): { objective: number; generation: number } {
  advanceVirtualClock(rig.scheduler, rig.scheduler.now() + TICK_MS);
  const values = rig.engine.values;
  let f = 0;
  for (let i = 0; i < values.length; i++) {
    const e = (values[i]! - rig.optimum[i]!) / 100;
    f += e * e;
  }
  return { objective: f + 0.01 * rig.noise.normal(), generation: rig.engine.generation };
}

function failDecision(rig: DecisionRig, verdict: string, generation: number): never {
  throw new Error(
    `decision did not end in exactly one apply: verdict ${verdict}, generation ${generation} → ` +
      `${rig.engine.generation}, phase ${rig.engine.snapshot().phase}`,
  );
}

function decide(rig: DecisionRig, count: number): void {
  for (let k = 0; k < count; k++) {
    const digest = nextDigest(rig);
    const verdict = rig.engine.observe(digest);
    if (verdict !== "accepted" || rig.engine.generation !== digest.generation + 1)
      failDecision(rig, verdict, digest.generation);
  }
}

function decidePerCall(rig: DecisionRig, samples: Float64Array): void {
  const engine = rig.engine;
  for (let k = 0; k < samples.length; k++) {
    const digest = nextDigest(rig);
    const start = process.hrtime.bigint();
    const verdict = engine.observe(digest);
    const end = process.hrtime.bigint();
    samples[k] = Number(end - start);
    if (verdict !== "accepted" || engine.generation !== digest.generation + 1)
      failDecision(rig, verdict, digest.generation);
  }
}

/** Decisions before any is timed: past the `a: "auto"` calibration iterations. */
const CALIBRATION_DECISIONS = 3000;

/** Decisions timed right after calibration (the start-up sample: decisions 3,001 to 10,000). */
const STARTUP_DECISIONS = 7000;

/**
 * Decisions a process has made before the steady-state sample starts. Until about 10 000 decisions
 * in, V8 is still optimising the decision path and collecting what start-up left in the heap, and
 * the count of decisions over the target (the start-up and steady "> 20 µs per 1000" columns)
 * shows it; 30 000 leaves a margin. In a real engine that is a count of decisions, not a time: at
 * the balanced guardrails' 10 applies/s, 30 000 decisions take 50 minutes.
 */
const STEADY_AFTER_DECISIONS = 30_000;

/** Decision figures of one engine in one process. */
interface DecisionFigures {
  /** Per-call percentiles in steady state (after {@link STEADY_AFTER_DECISIONS}). */
  readonly call: Percentiles;
  /** Decisions over the T2 target per 1000, steady state. */
  readonly slowPer1000: number;
  /** Per-call percentiles right after calibration: the process's first timed decisions. */
  readonly startupCall: Percentiles;
  /** Decisions over the T2 target per 1000, right after calibration. */
  readonly startupSlowPer1000: number;
  readonly bytes: number;
  readonly gcEvents: number;
  readonly decisions: number;
}

/**
 * T2 decisions on one engine: calibration, per-call timing right after it (start-up), more
 * warm-up, per-call timing in steady state, then the allocation run.
 */
async function decisionsOnce(n: number, o: Settings, seed: number): Promise<DecisionFigures> {
  const gc = findGc();
  const overhead = timerCost();
  const rig = decisionRig(n, seed);
  decide(rig, CALIBRATION_DECISIONS);
  const startup = new Float64Array(STARTUP_DECISIONS);
  decidePerCall(rig, startup);
  decide(rig, STEADY_AFTER_DECISIONS - CALIBRATION_DECISIONS - STARTUP_DECISIONS);
  const samples = new Float64Array(o.decisions);
  decidePerCall(rig, samples);

  // Allocation: heap growth around each observe() alone (the clock advance and the digest are
  // outside the readings).
  const reading = readingCost();
  const counter = gcCounter();
  gc?.();
  counter.start();
  let bytes = 0;
  let kept = 0;
  for (let k = 0; k < o.allocationDecisions; k++) {
    const digest = nextDigest(rig);
    let verdict = "";
    const growth = heapGrowth(() => {
      verdict = rig.engine.observe(digest);
    });
    if (verdict !== "accepted" || rig.engine.generation !== digest.generation + 1)
      failDecision(rig, verdict, digest.generation);
    if (!Number.isNaN(growth)) {
      bytes += growth - reading;
      kept++;
    }
  }
  const gcEvents = await counter.stop();
  await rig.engine.close();
  const call = percentiles(samples, overhead);
  const startupCall = percentiles(startup, overhead);
  return {
    call,
    slowPer1000: overTargetPer1000(samples),
    startupCall,
    startupSlowPer1000: overTargetPer1000(startup),
    bytes: kept === 0 ? Number.NaN : Math.max(0, bytes / kept),
    gcEvents,
    decisions: o.allocationDecisions,
  };
}

// ---------------------------------------------------------------------------------------------
// One fresh process per measurement

/** What a child process measures. */
type ChildTask =
  | {
      readonly kind: "ingest";
      readonly params: number;
      readonly otherEngines: number;
      readonly settings: Settings;
    }
  | {
      readonly kind: "decisions";
      readonly params: number;
      readonly seed: number;
      readonly settings: Settings;
    };

const CHILD_ENV = "ARQON_B3_CHILD";

/**
 * Runs one measurement in a fresh Node process (same loader flags and environment).
 *
 * Why: V8 optimises the engine's per-digest path for the objects it has seen. Once a second
 * engine exists in a process, shared call sites in RxJS become polymorphic and the ingest path
 * allocates several times more (see the "after another engine" row). A host normally runs one
 * engine, so each figure is taken in a process that has created exactly one.
 */
function inChild<T>(task: ChildTask): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: process.execArgv,
      env: { ...process.env, [CHILD_ENV]: JSON.stringify(task) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let result: T | undefined;
    child.on("message", (message) => {
      result = message as T;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`B3 child (${task.kind}, ${task.params} params) exited with code ${code}`));
    });
  });
}

async function runChild(task: ChildTask): Promise<void> {
  const result =
    task.kind === "ingest"
      ? await ingestOnce(task.params, task.settings, task.otherEngines)
      : await decisionsOnce(task.params, task.settings, task.seed);
  await new Promise<void>((resolve) => process.send!(result, () => resolve()));
  process.disconnect?.();
}

// ---------------------------------------------------------------------------------------------
// T1 from bench/hotpath.ts

/**
 * T1 figures from the hot-path benchmark (`runHotpathBench` of bench/hotpath.ts: the executor on
 * its own, successful applies, with the bare clamp loop timed in the same run), repeated `runs`
 * times in this process: medians of the timings, the largest GC count.
 */
async function measureT1(
  sizes: readonly number[],
  runs: number,
  log: (line: string) => void,
): Promise<T1Figures[]> {
  const rows: HotpathRow[][] = [];
  for (let run = 0; run < runs; run++) {
    // Judged below on the median of the repeats, not on each.
    const result = await runHotpathBench({ sizes, shared: false, log: () => {}, judge: false });
    // Successful-apply rows on a local live config (refusal rows have no clamp baseline).
    rows.push(result.rows.filter((r) => !r.shared && Number.isFinite(r.clampP50)));
    log(`T1 run ${run + 1}: ${rows[run]!.map((r) => `${r.params}p ${ns(r.batchP50)} ns`).join(", ")}`);
  }
  return sizes.map((params) => {
    const mine = rows.map((r) => r.find((row) => row.params === params)).filter((r) => r !== undefined);
    return {
      params,
      applyP50Ns: median(mine.map((r) => r.batchP50)),
      applyP99Ns: median(mine.map((r) => r.callP99)),
      applyP999Ns: median(mine.map((r) => r.callP999)),
      applyMaxNs: median(mine.map((r) => r.callMax)),
      clampP50Ns: median(mine.map((r) => r.clampP50)),
      gcEvents: Math.max(...mine.map((r) => r.gcEvents)),
      applies: mine[0]?.gcApplies ?? Number.NaN,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Report

function ns(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return "–";
  if (value >= 10_000) return Math.round(value).toLocaleString("en-US");
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function checks(sizes: readonly EngineHotPathSize[]): EngineHotPathResult["checks"] {
  const T = HOT_PATH_TARGETS;
  const out: { target: string; value: string; pass: boolean | undefined }[] = [];
  const t16 = sizes.find((s) => s.params === 16)?.t1;
  const known = (x: number | undefined) => x !== undefined && Number.isFinite(x);
  out.push({
    target: `T1 apply p50 ≤ ${T.applyP50Ns} ns (16 params)`,
    value: `${ns(t16?.applyP50Ns)} ns`,
    pass: known(t16?.applyP50Ns) ? t16!.applyP50Ns! <= T.applyP50Ns : undefined,
  });
  out.push({
    target: `T1 apply p99 ≤ ${T.applyP99Ns} ns (16 params)`,
    value: `${ns(t16?.applyP99Ns)} ns`,
    pass: known(t16?.applyP99Ns) ? t16!.applyP99Ns! <= T.applyP99Ns : undefined,
  });
  const ratio =
    known(t16?.applyP50Ns) && known(t16?.clampP50Ns) ? t16!.applyP50Ns! / t16!.clampP50Ns! : Number.NaN;
  out.push({
    target: `T1 p50 ÷ bare clamp p50 ≤ ${T.applyOverClamp} (16 params)`,
    value: Number.isNaN(ratio) ? "–" : ratio.toFixed(2),
    pass: Number.isNaN(ratio) ? undefined : ratio <= T.applyOverClamp,
  });
  const gcSizes = sizes.filter((s) => known(s.t1?.gcEvents));
  out.push({
    target: `GC events over 10^6 applies = ${T.applyGcEvents}`,
    value: gcSizes.length === 0 ? "–" : gcSizes.map((s) => `${s.t1!.gcEvents} (${s.params}p)`).join(", "),
    pass: gcSizes.length === 0 ? undefined : gcSizes.every((s) => s.t1!.gcEvents === T.applyGcEvents),
  });
  for (const s of sizes) {
    out.push({
      target: `digest ingest p50 ≤ ${T.ingestP50Ns} ns (${s.params} params)`,
      value: `${ns(s.ingestBatchP50)} ns`,
      pass: s.ingestBatchP50 <= T.ingestP50Ns,
    });
  }
  for (const s of sizes) {
    out.push({
      target: `digest ingest GC events = ${T.ingestGcEvents} over 10^6 digests (${s.params} params)`,
      value: `${s.ingestGcEvents} (${ns(s.ingestBytes)} bytes/digest)`,
      pass: s.ingestGcEvents === T.ingestGcEvents,
    });
  }
  for (const s of sizes) {
    out.push({
      target: `T2 decision bytes ≤ ${T.decisionBytes} (${s.params} params)`,
      value: `${ns(s.decisionBytes)} bytes`,
      pass: s.decisionBytes <= T.decisionBytes,
    });
  }
  for (const s of sizes) {
    out.push({
      target: `T2 decision p99 ≤ ${T.decisionP99Ns / 1000} µs (${s.params} params)`,
      value: `${ns(s.decision.p99)} ns`,
      pass: s.decision.p99 <= T.decisionP99Ns,
    });
  }
  return out;
}

function tables(sizes: readonly EngineHotPathSize[], second: IngestFigures, settings: Settings): string {
  const { runs, decisions: settingsDecisions } = settings;
  const digests = (count: number) => `${count.toExponential(0).replace("e+", "e")} digests`;
  const ingest = markdownTable(
    ["params", "p50 (batched)", "p50 (per call)", "p99", "p99.9", "max", "bytes/digest", "GC events"],
    [
      ...sizes.map((s) => [
        String(s.params),
        ns(s.ingestBatchP50),
        ns(s.ingestCall.p50),
        ns(s.ingestCall.p99),
        ns(s.ingestCall.p999),
        ns(s.ingestCall.max),
        s.ingestBytes.toFixed(1),
        `${s.ingestGcEvents} / ${digests(s.ingestDigests)}`,
      ]),
      [
        "16, after another engine ran in the process (one run)",
        ns(second.batchP50),
        ns(second.call.p50),
        ns(second.call.p99),
        ns(second.call.p999),
        ns(second.call.max),
        second.bytes.toFixed(1),
        `${second.gcEvents} / ${digests(second.digests)}`,
      ],
    ],
  );
  const over = `> ${HOT_PATH_TARGETS.decisionP99Ns / 1000} µs per 1000`;
  const decision = markdownTable(
    [
      "params",
      "p50",
      "p90",
      "p99",
      "p99.9",
      "max",
      over,
      "start-up p99",
      "start-up p99.9",
      `start-up ${over}`,
      "bytes/decision",
      "GC events",
    ],
    sizes.map((s) => [
      String(s.params),
      ns(s.decision.p50),
      ns(s.decision.p90),
      ns(s.decision.p99),
      ns(s.decision.p999),
      ns(s.decision.max),
      s.decisionSlowPer1000.toFixed(1),
      ns(s.decisionStartup.p99),
      ns(s.decisionStartup.p999),
      s.decisionStartupSlowPer1000.toFixed(1),
      Math.round(s.decisionBytes).toLocaleString("en-US"),
      `${s.decisionGcEvents} / ${s.decisionsMeasured.toLocaleString("en-US")} decisions`,
    ]),
  );
  const t1 = markdownTable(
    [
      "params",
      "T1 apply p50",
      "p99",
      "p99.9",
      "max",
      "bare clamp p50",
      "apply ÷ clamp",
      "GC events / applies",
    ],
    sizes.map((s) => {
      const t = s.t1;
      const ratio =
        t?.applyP50Ns !== undefined && t.clampP50Ns !== undefined
          ? (t.applyP50Ns / t.clampP50Ns).toFixed(2)
          : "–";
      return [
        String(s.params),
        ns(t?.applyP50Ns),
        ns(t?.applyP99Ns),
        ns(t?.applyP999Ns),
        ns(t?.applyMaxNs),
        ns(t?.clampP50Ns),
        ratio,
        t?.gcEvents === undefined
          ? "–"
          : `${t.gcEvents} / ${t.applies?.toExponential(0).replace("e+", "e") ?? "?"}`,
      ];
    }),
  );
  const targetTable = markdownTable(
    ["target", "measured", "verdict"],
    checks(sizes).map((c) => [c.target, c.value, c.pass === undefined ? "not measured" : verdict(c.pass)]),
  );
  return [
    `Figures in ns. Each repeat runs in a fresh process; timing figures and bytes are medians over ${runs} ` +
      "repeats, GC events the largest count of any repeat (shared 2-core machine).",
    "**Digest ingest** (`observe()` of a digest that does not close its window):",
    ingest,
    "**T2 decision** (`observe()` of a digest that closes a window of 1, through the apply it causes; per-call timing only). " +
      `Steady state: decisions ${(STEADY_AFTER_DECISIONS + 1).toLocaleString("en-US")} to ` +
      `${(STEADY_AFTER_DECISIONS + settingsDecisions).toLocaleString("en-US")} of the process (the target is checked on these); ` +
      `start-up: decisions ${(CALIBRATION_DECISIONS + 1).toLocaleString("en-US")} to ` +
      `${(CALIBRATION_DECISIONS + STARTUP_DECISIONS).toLocaleString("en-US")}, right after calibration:`,
    decision,
    "**T1 apply** (`runHotpathBench` of `bench/hotpath.ts`, in the parent process; clamp timed in the same run):",
    t1,
    "**Targets**:",
    targetTable,
  ].join("\n\n");
}

/** Median over runs of each figure; GC events: the largest count of any run. */
function combine(
  n: number,
  ingests: readonly IngestFigures[],
  decisions: readonly DecisionFigures[],
  t1: T1Figures | undefined,
): EngineHotPathSize {
  return {
    params: n,
    ingestBatchP50: median(ingests.map((r) => r.batchP50)),
    ingestCall: medianPercentiles(ingests.map((r) => r.call)),
    ingestBytes: median(ingests.map((r) => r.bytes)),
    ingestGcEvents: Math.max(...ingests.map((r) => r.gcEvents)),
    ingestDigests: ingests[0]!.digests,
    decision: medianPercentiles(decisions.map((r) => r.call)),
    decisionSlowPer1000: median(decisions.map((r) => r.slowPer1000)),
    decisionStartup: medianPercentiles(decisions.map((r) => r.startupCall)),
    decisionStartupSlowPer1000: median(decisions.map((r) => r.startupSlowPer1000)),
    decisionBytes: median(decisions.map((r) => r.bytes)),
    decisionGcEvents: Math.max(...decisions.map((r) => r.gcEvents)),
    decisionsMeasured: decisions[0]!.decisions,
    t1,
  };
}

/** Measures B3 through the engine API; prints and returns the tables. */
export async function runEngineHotPathBench(
  options: EngineHotPathOptions = {},
): Promise<EngineHotPathResult> {
  const sizes = options.sizes ?? HOT_PATH_SIZES;
  const settings: Settings = {
    runs: options.runs ?? 3,
    batchSize: options.batchSize ?? 1000,
    batches: options.batches ?? 500,
    callSamples: options.callSamples ?? 200_000,
    decisions: options.decisions ?? 20_000,
    allocationDigests: options.allocationDigests ?? 1_000_000,
    allocationDecisions: options.allocationDecisions ?? 10_000,
  };
  const log = options.log ?? ((line: string) => console.log(line));
  const environment = environmentLine(describeEnvironment());
  log(environment);
  if (process.env.NODE_ENV !== "production") log("warning: NODE_ENV is not 'production'");
  log(`empty process.hrtime.bigint() pair here: ${timerCost().toFixed(0)} ns (each child measures its own)`);

  const t1 = options.t1 ?? (await measureT1(sizes, settings.runs, log));
  const results: EngineHotPathSize[] = [];
  for (const n of sizes) {
    const ingests: IngestFigures[] = [];
    const decisions: DecisionFigures[] = [];
    for (let run = 0; run < settings.runs; run++) {
      const ingestFigures = await inChild<IngestFigures>({
        kind: "ingest",
        params: n,
        otherEngines: 0,
        settings,
      });
      ingests.push(ingestFigures);
      const decisionFigures = await inChild<DecisionFigures>({
        kind: "decisions",
        params: n,
        seed: run + 1,
        settings,
      });
      decisions.push(decisionFigures);
      log(
        `${n} params, run ${run + 1}: ingest p50 ${ns(ingestFigures.batchP50)} ns (batched), p99 ` +
          `${ns(ingestFigures.call.p99)} ns, ${ingestFigures.bytes.toFixed(1)} B/digest, ` +
          `${ingestFigures.gcEvents} GC; decision p50 ${ns(decisionFigures.call.p50)} ns, p99 ` +
          `${ns(decisionFigures.call.p99)} ns (start-up p99 ${ns(decisionFigures.startupCall.p99)} ns), ${Math.round(decisionFigures.bytes)} B/decision, ` +
          `${decisionFigures.gcEvents} GC`,
      );
    }
    results.push(
      combine(
        n,
        ingests,
        decisions,
        t1?.find((t) => t.params === n),
      ),
    );
  }
  // The same ingest in a process where another engine ran first (see inChild).
  const second = await inChild<IngestFigures>({ kind: "ingest", params: 16, otherEngines: 1, settings });
  log(
    `16 params after another engine: ingest p50 ${ns(second.batchP50)} ns, ${second.bytes.toFixed(1)} B/digest`,
  );
  const report = `${environment}.\n\n${tables(results, second, settings)}`;
  log(`\n${report}`);
  return { environment, sizes: results, secondEngineIngest: second, checks: checks(results), report };
}

const METHOD = `## B3. Hot path through the engine

\`npm run bench -- engine-hotpath\` (\`bench/engine-hotpath.ts\`), NODE_ENV=production, outside
vitest. Parameters on [0, 100], init 50, maxDelta 10, default SPSA options, balanced guardrails.

- **Digest ingest**: \`engine.observe(digest)\` of an accepted digest that does not close its
  window (count-only windows larger than the run, so no timers; default clock \`asyncScheduler\`;
  digests \`{ objective, generation }\` of one hidden class, non-integer objectives, no timestamp).
- **T2 decision**: \`engine.observe(digest)\` of a digest that closes a window of one digest, through
  the SPSA transition and the Tier-1 apply it causes. The engine's clock is a
  \`VirtualTimeScheduler\` advanced ${TICK_MS} ms before each digest (outside the timed region), so
  the guardrails never refuse; every decision is checked to bump \`engine.generation\` by exactly
  one (the benchmark fails otherwise). Plus, minus and centre decisions are mixed. Two samples per
  repeat: **start-up**, decisions ${CALIBRATION_DECISIONS + 1} to ${CALIBRATION_DECISIONS + STARTUP_DECISIONS} of the process (the first
  ${CALIBRATION_DECISIONS} are past the \`a: "auto"\` calibration), and **steady state**, decisions from
  ${STEADY_AFTER_DECISIONS + 1} on. **The target is checked on the steady state only**: during its first
  ~10 000 decisions a process is still being optimised by V8 and still collecting what start-up
  left in the heap, and the "> ${HOT_PATH_TARGETS.decisionP99Ns / 1000} µs per 1000" columns (decisions over the target) show how
  much heavier that tail is. The warm-up is a number of decisions, not a time: a real engine at the
  balanced guardrails' 10 applies/s makes ${STEADY_AFTER_DECISIONS} decisions in 50 minutes; the
  benchmark makes them back to back in under a second.
- **T1 apply** and the **bare clamp baseline**: \`runHotpathBench\` of \`bench/hotpath.ts\` (the
  executor alone, successful applies, the clamp loop timed in the same run, 10^6 applies for the GC
  count), repeated in the parent process; local (not shared) live config.

Each ingest and decision repeat runs in a fresh Node process that creates exactly one engine: once a
second engine exists in a process, call sites shared by the two turn polymorphic and the ingest
path allocates several times more (the "after another engine" row shows it).

What the ingest figures rest on: an untimed digest reads the engine's clock only while the settle
period after the last apply may still run (on Node 20 every \`Date.now()\` allocates a 16-byte heap
number), and no number on the digest path crosses a call V8 may leave un-inlined as an argument or
a return value (that would box it). The decision figures: the SPSA chart's \`window.closed\`
transitions are replayed from the first time XState computed them from each state (same snapshot,
same actions; \`src/engine/cached-transitions.ts\`), so what a decision allocates is the action
records XState's executor takes, the window's result and event, and the audit drain's timer.

Timing with \`process.hrtime.bigint()\`: "batched" = one timer pair around 1000 calls, p50 over batch
means (the figure compared with the ingest and T1 targets); "per call" = a timer pair around each call
minus the median cost of an empty pair, percentiles over the samples (200 000 digests; 20 000 steady-state and
${STARTUP_DECISIONS} start-up decisions per repeat). Per-call tails include timer granularity, GC pauses (some caused by the
timer's own BigInts), interrupts and preemption by the other processes on this shared 2-core machine;
a decision, which takes far longer than an apply, is that much likelier to be hit by any of them.
Allocation: growth of \`used_heap_size\` around chunks of calls after warm-up (1000 digests per
chunk over 10^6 digests; one decision per chunk over 10 000 decisions), chunks with a GC inside
left out, the readings' own cost subtracted; GC events counted with \`PerformanceObserver("gc")\`
after a forced full GC.`;

/** Entry for `npm run bench -- engine-hotpath`. */
export const benchmark: Benchmark = {
  name: "engine-hotpath",
  title: "B3 hot path through the engine API: digest ingest, T2 decision, T1 apply, allocation",
  inAll: true,
  async run(args) {
    const options = parseOptions(args, ["runs"]);
    const runs = wholeOption(options, "runs", 3);
    const result = await runEngineHotPathBench({ runs });
    if (options.write && runs >= 3) await writeSection("B3", `${METHOD}\n\n${result.report}`);
  },
};

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
const childTask = process.env[CHILD_ENV];
if (invokedDirectly && childTask !== undefined) {
  runChild(JSON.parse(childTask) as ChildTask).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
} else if (invokedDirectly) {
  benchmark.run(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
