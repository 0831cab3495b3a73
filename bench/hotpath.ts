/**
 * B3 hot-path microbenchmark: the cost of one successful Tier-1 apply (`Executor.apply`: validate
 * the target all-or-nothing, map it to raw units, write it, bump the generation, audit it), for
 * 1, 4, 16 and 64 parameters, against a bare clamp loop of the same size measured in the same run.
 *
 * Run on its own with `NODE_ENV=production npx tsx bench/hotpath.ts`, through the dispatcher with
 * `npm run bench -- hotpath`, or from code with {@link runHotpathBench}.
 *
 * @remarks
 * What is applied: every parameter is linear on [0, 100] with maxDelta 10 and starts at 50; the
 * proposals alternate between the unit targets 0.5 and 0.55 (raw 50 and 55, a move of 5), so
 * every apply passes every check. The guardrails are the balanced preset and the virtual clock
 * advances 250 ms per apply, so the rate limiter (10 per 1000 ms) and the minimum interval
 * (100 ms) run their full checks and never refuse. The benchmark throws unless every apply
 * returned 0 and the generation advanced once per apply. (Upstream's benchmark kept re-applying
 * inside one second and so measured the rate limiter's rejection path; the refusal rows below
 * show that path separately, at 16 parameters.) Times are whole milliseconds within the small
 * integer range (int32 locals in the driving loop), as an engine clock in virtual time gives; see
 * the note on boxing below.
 *
 * Baseline: the same-size clamp is a plain function over run-time arrays, as the executor's loop
 * is. A clamp whose size and arrays are compile-time constants runs about twice as fast (V8 drops
 * the per-element map and length checks); it is measured at 16 values and printed too.
 *
 * Time, two ways:
 * - Batched: 1000 applies between two `process.hrtime.bigint()` readings, divided by 1000; the
 *   timer's own cost (tens of ns per batch) is then below 0.1 ns per apply. p50 is the median
 *   of the batch means. This is the figure for the typical cost, and the one compared with the
 *   clamp baseline (timed the same way).
 * - Per call: each apply of a separate run is timed alone with a pair of `hrtime.bigint()`
 *   readings; the median cost of an empty pair (the timer overhead) is subtracted. These
 *   samples give the tail (p99, p99.9, max), which batch means would average away. Each reading
 *   allocates a BigInt, so this phase has GC events of its own, and a pause can land in a
 *   sample: max includes such pauses and the machine's interrupts and preemptions.
 *
 * Allocation: a fresh executor is warmed up, a full GC is forced (when `gc` can be reached), and
 * 10^6 applies run with no timer while a `PerformanceObserver("gc")` counts collections; the
 * audit ring is emptied every 1000 applies with the allocation-free `discard`. Zero is the
 * target. Heap growth over that run is reported as well (it is exact only when no GC ran).
 *
 * Boxing note: V8 passes a double that is not a small integer to a function it has not inlined
 * as a heap number, so a caller passing a fractional `now` (or proposal id) allocates 16 B per
 * call at the call boundary, outside the executor. A wall clock read with `Date.now()` already
 * returns such a heap number, so that allocation is the clock's, not the apply's.
 */
import { PerformanceObserver } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import v8 from "node:v8";
import { ApplyKind } from "../src/audit/apply-kind.js";
import { AuditRing } from "../src/audit/ring.js";
import { Violation, violationName } from "../src/audit/violation.js";
import { Executor } from "../src/hotpath/executor.js";
import { resolveGuardrails } from "../src/hotpath/guardrails.js";
import { LiveConfig } from "../src/hotpath/live-config.js";
import { ParamRegistry, type ParamSpec } from "../src/space/param-registry.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { findGc } from "./gc.js";
import { quantileSorted } from "./stats.js";
import { formatRatio, markdownTable, verdict } from "./table.js";

/** Knobs of {@link runHotpathBench}; the defaults take about ten seconds. */
export interface HotpathBenchOptions {
  /** Parameter counts (default 1, 4, 16, 64). */
  readonly sizes?: readonly number[];
  /** Also measure a live config shared with other threads (SharedArrayBuffer + seqlock; default true). */
  readonly shared?: boolean;
  /** Applies per timed batch (default 1000). */
  readonly batchSize?: number;
  /** Timed batches per row (default 2000). */
  readonly batches?: number;
  /** Individually timed applies per row (default 200 000). */
  readonly samples?: number;
  /** Applies in the GC-counting run (default 10^6). */
  readonly gcApplies?: number;
  /** Where progress lines go (default console.log); pass `() => {}` for silence. */
  readonly log?: (line: string) => void;
  /**
   * Count a failed gate of this run as the benchmark's (default true). A caller that runs it
   * several times and judges the median (engine-hotpath) passes false: one slow repeat on a
   * shared machine is not the verdict.
   */
  readonly judge?: boolean;
}

/** Measurements of one configuration (ns unless stated). */
export interface HotpathRow {
  readonly label: string;
  readonly params: number;
  readonly shared: boolean;
  /** Median and 99th percentile of batch means. */
  readonly batchP50: number;
  readonly batchP99: number;
  /** Percentiles of individually timed calls, timer overhead subtracted. */
  readonly callP50: number;
  readonly callP99: number;
  readonly callP999: number;
  readonly callMax: number;
  /** Median batch mean of the bare clamp loop over the same number of values (NaN for refusal rows). */
  readonly clampP50: number;
  /** batchP50 ÷ clampP50. */
  readonly ratio: number;
  /** GC events during the allocation run, and its length. */
  readonly gcEvents: number;
  readonly gcApplies: number;
  /** Heap growth per apply over the allocation run (bytes; exact only when gcEvents is 0). */
  readonly heapBytesPerApply: number;
}

/** One pass/fail check against the B3 targets. */
export interface HotpathGate {
  readonly name: string;
  readonly value: string;
  readonly pass: boolean;
}

/** What {@link runHotpathBench} measured. */
export interface HotpathBenchResult {
  readonly environment: string;
  /** Whether a full GC could be forced before each allocation run. */
  readonly forcedGc: boolean;
  /** Median cost of an empty `hrtime.bigint()` pair (ns), subtracted from per-call samples. */
  readonly timerOverhead: number;
  /**
   * Median batch mean (ns) of the 16-value clamp with compile-time-constant size and arrays (the
   * fastest plain loop; the gate's baseline has run-time arrays like the executor). NaN when 16
   * is not among the sizes.
   */
  readonly constantClampP50At16: number;
  readonly rows: readonly HotpathRow[];
  readonly gates: readonly HotpathGate[];
  /** The results as a Markdown table (also printed). */
  readonly table: string;
}

const RANGE_MAX = 100;
const START = 50;
const MAX_DELTA = 10;
/** Virtual milliseconds between applies: above the balanced minimum interval and rate limit. */
const TICK_MS = 250;
const AUDIT_CAPACITY = 4096;
let sink = 0; // folded results, so no measured call is dead code

/** An executor over `n` linear parameters with its live config, audit ring and virtual clock. */
interface Rig {
  readonly params: number;
  readonly executor: Executor;
  readonly live: LiveConfig;
  readonly audit: AuditRing;
  /** Two in-bounds unit targets within maxDelta of each other; applies alternate between them. */
  readonly targets: readonly [Float64Array, Float64Array];
  /** [0]: the virtual clock (ms); [1]: proposal id counter. Typed, so updates never allocate. */
  readonly state: Float64Array;
}

function makeRig(params: number, shared: boolean): Rig {
  const specs: Record<string, ParamSpec> = {};
  for (let i = 0; i < params; i++)
    specs[`p${i}`] = { min: 0, max: RANGE_MAX, init: START, maxDelta: MAX_DELTA };
  const registry = new ParamRegistry(specs);
  const live = new LiveConfig(registry.init, { shared });
  const audit = new AuditRing({ runId: "bench", capacity: AUDIT_CAPACITY });
  const executor = new Executor(registry, live, resolveGuardrails("balanced"), audit);
  const targets: [Float64Array, Float64Array] = [
    new Float64Array(params).fill(0.55),
    new Float64Array(params).fill(0.5),
  ];
  return { params, executor, live, audit, targets, state: new Float64Array(2) };
}

/** Runs `count` successful applies; returns the OR of their result codes (0 when all applied). */
function applyMany(rig: Rig, count: number): number {
  const executor = rig.executor;
  const [a, b] = rig.targets;
  const state = rig.state;
  // Whole numbers in int32 locals: passed to apply as small integers, never boxed.
  let now = state[0]! | 0;
  let id = state[1]! | 0;
  let codes = 0;
  for (let k = 0; k < count; k++) {
    now = (now + TICK_MS) | 0;
    id = (id + 1) | 0;
    codes |= executor.apply((id & 1) === 1 ? a : b, id, ApplyKind.Centre, now);
  }
  state[0] = now;
  state[1] = id;
  return codes;
}

/** Throws unless every apply so far succeeded (generation = applies) and the last batch returned 0. */
function expectApplied(rig: Rig, codes: number): void {
  if (codes !== 0) throw new Error(`an apply was refused: ${violationName(rig.executor.lastViolation.code)}`);
  if (rig.live.generation !== rig.state[1]) {
    throw new Error(`generation ${rig.live.generation} after ${rig.state[1]} applies`);
  }
}

function timeBatches(rig: Rig, batchSize: number, batches: number): Float64Array {
  const means = new Float64Array(batches);
  for (let b = 0; b < batches; b++) {
    rig.audit.discard();
    const start = process.hrtime.bigint();
    const codes = applyMany(rig, batchSize);
    const end = process.hrtime.bigint();
    expectApplied(rig, codes);
    means[b] = Number(end - start) / batchSize;
  }
  return means.sort();
}

/** Per-call times (ns, timer overhead not yet subtracted), sorted. */
function timeCalls(rig: Rig, samples: number): Float64Array {
  const times = new Float64Array(samples);
  const executor = rig.executor;
  const [a, b] = rig.targets;
  const state = rig.state;
  let codes = 0;
  for (let k = 0; k < samples; k++) {
    if (k % 1000 === 0) rig.audit.discard();
    const now = (state[0]! + TICK_MS) | 0;
    const id = (state[1]! + 1) | 0;
    state[0] = now;
    state[1] = id;
    const start = process.hrtime.bigint();
    codes |= executor.apply((id & 1) === 1 ? a : b, id, ApplyKind.Centre, now);
    const end = process.hrtime.bigint();
    times[k] = Number(end - start);
  }
  expectApplied(rig, codes);
  return times.sort();
}

/** Median cost of two back-to-back `hrtime.bigint()` readings. */
function timerOverhead(samples: number): number {
  const times = new Float64Array(samples);
  for (let k = 0; k < samples; k++) {
    const start = process.hrtime.bigint();
    const end = process.hrtime.bigint();
    times[k] = Number(end - start);
  }
  return quantileSorted(times.sort(), 0.5);
}

/**
 * The baseline: `count` passes of a bare loop clamping a Float64Array of values into per-element
 * bounds, alternating between two sources like the applies alternate between two targets.
 */
function clampPasses(
  count: number,
  out: Float64Array,
  even: Float64Array,
  odd: Float64Array,
  lo: Float64Array,
  hi: Float64Array,
): void {
  const size = out.length;
  for (let k = 0; k < count; k++) {
    const source = (k & 1) === 0 ? even : odd;
    for (let i = 0; i < size; i++) {
      const x = source[i]!;
      const min = lo[i]!;
      const max = hi[i]!;
      out[i] = x < min ? min : x > max ? max : x;
    }
  }
}

// The same clamp over 16 values whose size and arrays are module constants. V8 then drops the
// map and length checks that any loop over run-time arrays pays (the executor's included), so
// this is the fastest a plain loop gets; it is reported next to the gate's run-time baseline.
const FIXED_SIZE = 16;
const fixedLo = new Float64Array(FIXED_SIZE);
const fixedHi = new Float64Array(FIXED_SIZE).fill(RANGE_MAX);
const fixedInside = new Float64Array(FIXED_SIZE).fill(55);
const fixedAbove = new Float64Array(FIXED_SIZE).fill(155);
const fixedOut = new Float64Array(FIXED_SIZE);

function clampFixed(source: Float64Array): void {
  for (let i = 0; i < FIXED_SIZE; i++) {
    const x = source[i]!;
    const min = fixedLo[i]!;
    const max = fixedHi[i]!;
    fixedOut[i] = x < min ? min : x > max ? max : x;
  }
}

function clampFixedPasses(count: number): void {
  for (let k = 0; k < count; k++) clampFixed((k & 1) === 0 ? fixedInside : fixedAbove);
}

function timeFixedClampBatches(batchSize: number, batches: number): Float64Array {
  const means = new Float64Array(batches);
  for (let w = 0; w < 200; w++) clampFixedPasses(batchSize);
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint();
    clampFixedPasses(batchSize);
    const end = process.hrtime.bigint();
    means[b] = Number(end - start) / batchSize;
  }
  sink += fixedOut[0]!;
  return means.sort();
}

function timeClampBatches(size: number, batchSize: number, batches: number): Float64Array {
  const lo = new Float64Array(size);
  const hi = new Float64Array(size).fill(RANGE_MAX);
  // One source inside the bounds, one above, so both branches of the clamp run.
  const inside = new Float64Array(size).fill(55);
  const above = new Float64Array(size).fill(155);
  const out = new Float64Array(size);
  const means = new Float64Array(batches);
  for (let w = 0; w < 200; w++) clampPasses(batchSize, out, inside, above, lo, hi);
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint();
    clampPasses(batchSize, out, inside, above, lo, hi);
    const end = process.hrtime.bigint();
    means[b] = Number(end - start) / batchSize;
  }
  sink += out[0]!;
  return means.sort();
}

/** Counts GC events over `count` calls of `run(1000)`-sized chunks, with nothing else allocating. */
async function countGc(
  count: number,
  chunk: (n: number) => void,
  gc: (() => void) | undefined,
): Promise<{ events: number; heapBytesPerCall: number }> {
  gc?.();
  let events = 0;
  const observer = new PerformanceObserver((list) => {
    events += list.getEntries().length;
  });
  observer.observe({ entryTypes: ["gc"] });
  const before = v8.getHeapStatistics().used_heap_size;
  for (let done = 0; done < count; done += 1000) chunk(1000);
  const after = v8.getHeapStatistics().used_heap_size;
  // GC entries are delivered asynchronously; let them arrive before reading the count.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return { events, heapBytesPerCall: Math.max(0, after - before) / count };
}

async function measureApplies(
  params: number,
  shared: boolean,
  options: Required<Omit<HotpathBenchOptions, "sizes" | "shared" | "log" | "judge">>,
  clampP50: number,
  overhead: number,
  gc: (() => void) | undefined,
): Promise<HotpathRow> {
  const rig = makeRig(params, shared);
  for (let w = 0; w < 200; w++) {
    rig.audit.discard();
    expectApplied(rig, applyMany(rig, options.batchSize));
  }
  const batches = timeBatches(rig, options.batchSize, options.batches);
  const calls = timeCalls(rig, options.samples);
  const corrected = (q: number): number => Math.max(0, quantileSorted(calls, q) - overhead);

  // A fresh rig so the virtual clock stays within the small-integer range for the whole run.
  const quiet = makeRig(params, shared);
  for (let w = 0; w < 200; w++) {
    quiet.audit.discard();
    expectApplied(quiet, applyMany(quiet, 1000));
  }
  let codes = 0;
  const { events, heapBytesPerCall } = await countGc(
    options.gcApplies,
    (n) => {
      quiet.audit.discard();
      codes |= applyMany(quiet, n);
    },
    gc,
  );
  expectApplied(quiet, codes);

  const batchP50 = quantileSorted(batches, 0.5);
  return {
    label: `${params}`,
    params,
    shared,
    batchP50,
    batchP99: quantileSorted(batches, 0.99),
    callP50: corrected(0.5),
    callP99: corrected(0.99),
    callP999: corrected(0.999),
    callMax: corrected(1),
    clampP50,
    ratio: batchP50 / clampP50,
    gcEvents: events,
    gcApplies: options.gcApplies,
    heapBytesPerApply: heapBytesPerCall,
  };
}

/**
 * The refusal path at 16 parameters, for comparison with upstream's figure (which measured it by
 * mistake): every call is refused with `code` and audited as a violation.
 */
async function measureRefusals(
  code: typeof Violation.RateLimited | typeof Violation.DeltaTooLarge,
  options: Required<Omit<HotpathBenchOptions, "sizes" | "shared" | "log" | "judge">>,
  gc: (() => void) | undefined,
): Promise<HotpathRow> {
  const params = 16;
  const rig = makeRig(params, false);
  // Ten applies 100 ms apart fill the rate window; later calls at t = 950 ms are rate limited.
  for (let k = 0; k < 10; k++) {
    if (rig.executor.apply(rig.targets[k & 1]!, k, ApplyKind.Centre, 100 * k) !== 0)
      throw new Error("setup failed");
  }
  // A target 15 away from the live 50 (maxDelta 10) is too large a move at any time.
  const far = new Float64Array(params).fill(0.35);
  const target = code === Violation.RateLimited ? rig.targets[0] : far;
  const refuse = (count: number): void => {
    let wrong = 0;
    for (let k = 0; k < count; k++) {
      if (rig.executor.apply(target, k, ApplyKind.Centre, 950) !== code) wrong++;
    }
    if (wrong > 0) throw new Error(`${wrong} calls were not refused with ${violationName(code)}`);
  };
  for (let w = 0; w < 200; w++) {
    rig.audit.discard();
    refuse(options.batchSize);
  }
  const means = new Float64Array(options.batches);
  for (let b = 0; b < options.batches; b++) {
    rig.audit.discard();
    const start = process.hrtime.bigint();
    refuse(options.batchSize);
    const end = process.hrtime.bigint();
    means[b] = Number(end - start) / options.batchSize;
  }
  means.sort();
  const { events, heapBytesPerCall } = await countGc(
    options.gcApplies,
    (n) => {
      rig.audit.discard();
      refuse(n);
    },
    gc,
  );
  return {
    label: `${params}, refused: ${violationName(code)}`,
    params,
    shared: false,
    batchP50: quantileSorted(means, 0.5),
    batchP99: quantileSorted(means, 0.99),
    callP50: Number.NaN,
    callP99: Number.NaN,
    callP999: Number.NaN,
    callMax: Number.NaN,
    clampP50: Number.NaN,
    ratio: Number.NaN,
    gcEvents: events,
    gcApplies: options.gcApplies,
    heapBytesPerApply: heapBytesPerCall,
  };
}

function ns(value: number): string {
  if (!Number.isFinite(value)) return "–";
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/**
 * Measures successful T1 applies (and, for comparison, two refusal paths); prints and returns
 * the results with the B3 gates evaluated.
 *
 * @remarks
 * Call it in a production-mode process (`NODE_ENV=production`) with as little else running as
 * possible: the figures are medians, but a loaded machine still shifts them.
 */
export async function runHotpathBench(options: HotpathBenchOptions = {}): Promise<HotpathBenchResult> {
  const sizes = options.sizes ?? [1, 4, 16, 64];
  const withShared = options.shared ?? true;
  const settings = {
    batchSize: options.batchSize ?? 1000,
    batches: options.batches ?? 2000,
    samples: options.samples ?? 200_000,
    gcApplies: options.gcApplies ?? 1_000_000,
  };
  const log = options.log ?? ((line: string) => console.log(line));
  const gc = findGc();
  const environment = environmentLine(describeEnvironment());
  log(environment);
  if (gc === undefined) log("note: gc() unavailable; allocation runs start without a forced GC");

  const overhead = timerOverhead(100_000);
  const rows: HotpathRow[] = [];
  for (const params of sizes) {
    const clampP50 = quantileSorted(timeClampBatches(params, settings.batchSize, settings.batches), 0.5);
    for (const shared of withShared ? [false, true] : [false]) {
      const row = await measureApplies(params, shared, settings, clampP50, overhead, gc);
      rows.push(row);
      log(
        `${params} params${shared ? " (shared)" : ""}: p50 ${ns(row.batchP50)} ns batched; per call p50 ` +
          `${ns(row.callP50)}, p99 ${ns(row.callP99)}, p99.9 ${ns(row.callP999)}, max ${ns(row.callMax)} ns; ` +
          `clamp ${ns(clampP50)} ns, ratio ${formatRatio(row.ratio)}; ${row.gcEvents} GC events`,
      );
    }
  }
  const constantClampP50At16 = sizes.includes(16)
    ? quantileSorted(timeFixedClampBatches(settings.batchSize, settings.batches), 0.5)
    : Number.NaN;
  if (sizes.includes(16)) {
    for (const code of [Violation.RateLimited, Violation.DeltaTooLarge] as const) {
      const row = await measureRefusals(code, settings, gc);
      rows.push(row);
      log(`${row.label}: p50 ${ns(row.batchP50)} ns batched; ${row.gcEvents} GC events`);
    }
  }

  const table = markdownTable(
    [
      "params",
      "live config",
      "T1 p50 ns (batched)",
      "per-call p50 ns",
      "p99 ns",
      "p99.9 ns",
      "max ns",
      "clamp p50 ns (run-time arrays)",
      "T1 ÷ clamp",
      "GC events",
      "heap B/apply",
    ],
    rows.map((r) => [
      r.label,
      r.shared ? "shared (seqlock)" : "local",
      ns(r.batchP50),
      ns(r.callP50),
      ns(r.callP99),
      ns(r.callP999),
      ns(r.callMax),
      ns(r.clampP50),
      formatRatio(r.ratio),
      `${r.gcEvents} / ${r.gcApplies.toExponential(0).replace("e+", "e")}`,
      r.heapBytesPerApply.toFixed(2),
    ]),
  );

  const gates: HotpathGate[] = [];
  const at16 = rows.find((r) => r.params === 16 && !r.shared && Number.isFinite(r.clampP50));
  if (at16 !== undefined) {
    gates.push({
      name: "T1 apply p50 ≤ 150 ns at 16 params",
      value: `${ns(at16.batchP50)} ns`,
      pass: at16.batchP50 <= 150,
    });
    gates.push({
      name: "T1 apply p99 ≤ 1 µs at 16 params",
      value: `${ns(at16.callP99)} ns`,
      pass: at16.callP99 <= 1000,
    });
    gates.push({
      name: "T1 p50 ÷ bare-clamp p50 (run-time arrays) ≤ 4 at 16 params",
      value: formatRatio(at16.ratio),
      pass: at16.ratio <= 4,
    });
  }
  const applyRows = rows.filter((r) => Number.isFinite(r.clampP50));
  const gcTotal = applyRows.reduce((sum, r) => sum + r.gcEvents, 0);
  gates.push({
    name: `zero GC events over ${settings.gcApplies.toExponential(0).replace("e+", "e")} successful applies (every row)`,
    value: `${gcTotal}`,
    pass: gcTotal === 0,
  });

  log("");
  log(
    `Method: every apply succeeds (balanced guardrails, virtual clock +${TICK_MS} ms per apply, targets ` +
      `alternating 0.5/0.55 of [0, ${RANGE_MAX}] with maxDelta ${MAX_DELTA}; checked). "Batched" = ` +
      `${settings.batches} batches × ${settings.batchSize} applies, each timed with one hrtime.bigint() pair ` +
      "and divided; p50 is the median batch mean. Per-call = " +
      `${settings.samples} applies timed one by one, minus the median empty-pair cost (${ns(overhead)} ns); ` +
      "the timer allocates BigInts, so GC pauses and preemptions can land in max. Clamp = bare loop " +
      "clamping a Float64Array of the same size, batched the same way. GC events counted with " +
      `PerformanceObserver over ${settings.gcApplies} applies without timers${gc === undefined ? "" : " after a forced GC"}.`,
  );
  if (at16 !== undefined) {
    log(
      `A clamp over 16 values whose size and arrays are compile-time constants (no map or length checks) ` +
        `takes ${ns(constantClampP50At16)} ns; against it T1 at 16 params is ` +
        `${formatRatio(at16.batchP50 / constantClampP50At16)} (the gate uses the run-time baseline, ${ns(at16.clampP50)} ns).`,
    );
  }
  log("");
  log(table);
  log("");
  const judge = options.judge ?? true;
  for (const gate of gates)
    log(`${judge ? verdict(gate.pass) : gate.pass ? "PASS" : "FAIL"}  ${gate.name}: ${gate.value}`);
  // Reading the folded results keeps them observable (and they must be finite: clamped values).
  if (!Number.isFinite(sink)) log("warning: a measured kernel produced a non-finite value");
  return {
    environment,
    forcedGc: gc !== undefined,
    timerOverhead: overhead,
    constantClampP50At16,
    rows,
    gates,
    table,
  };
}

/** Entry for `npm run bench -- hotpath [--batches=N] [--samples=N] [--gc-applies=N]`. */
export const benchmark: Benchmark = {
  name: "hotpath",
  title: "B3 Tier-1 apply latency (1/4/16/64 params) vs a bare clamp loop, and GC events",
  inAll: true,
  async run(args) {
    const options = parseOptions(args, ["batches", "samples", "gc-applies"]);
    await runHotpathBench({
      batches: wholeOption(options, "batches", 2000),
      samples: wholeOption(options, "samples", 200_000),
      gcApplies: wholeOption(options, "gc-applies", 1_000_000),
    });
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
