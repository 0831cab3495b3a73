/**
 * Telemetry microbenchmark: the per-digest costs of the engine's ingress, measured alone.
 *
 * Run on its own with `NODE_ENV=production npx tsx bench/telemetry.ts`, through the dispatcher
 * with `npm run bench -- telemetry`, or from code with {@link runTelemetryBench}.
 *
 * @remarks
 * Three paths, each at its steady state (inputs preallocated, code warmed up first):
 *
 * - `checkDigest` on a well-formed digest that is accepted (every check runs), on one rejected
 *   as WrongGeneration (the common rejection), and on accepted digests of four hidden classes
 *   (a host that builds digests in several places makes the property reads polymorphic);
 * - one value through `Subject.next` → `evaluationWindows` into an open window that does not
 *   close (the operator's per-value path plus RxJS's Subject fan-out);
 * - the same, pushed straight into the operator's source subscriber (no Subject), to show what
 *   the Subject itself costs.
 *
 * Time: values are timed in batches (default 1000 calls per `process.hrtime.bigint()` pair, which
 * costs tens of ns per batch, so < 0.1 ns per call); each batch gives one ns-per-value sample and
 * p50/p99/max are taken over the batches. A single call (~10–100 ns) is below the timer's useful
 * resolution, so per-call percentiles are not measurable this way: p99 here is the 99th percentile
 * of batch means and shows interference (GC, JIT, other processes), not a single slow call.
 *
 * Allocation: after warm-up and a full GC (when `gc` is reachable), 10^6 values run in chunks of
 * 1000, reading V8's `used_heap_size` before and after each chunk. V8 has no cumulative
 * "bytes allocated" counter, so heap growth is the measure, and it is exact only while no GC
 * runs: a young-generation GC inside a chunk frees far more than a chunk allocates (the young
 * generation is ≥ 1 MB, a chunk of even 250 B/value is 250 kB), so the heap shrinks and that
 * chunk is left out. What one pair of readings allocates by itself (its result objects) is
 * measured on empty chunks and subtracted. bytes/value = Σ growth / values in the kept chunks.
 * GC events over the whole run are counted with a `PerformanceObserver("gc")`; zero is the
 * target for a path that should not allocate. The forced GC before the run empties the young
 * generation, so an allocation-free loop cannot trip a scavenge left over from warm-up. `gc`
 * comes from `--expose-gc` when given (`NODE_OPTIONS=--expose-gc`); otherwise the flag is
 * switched on at run time with `v8.setFlagsFromString` and the function taken from a fresh VM
 * context, which Node allows.
 *
 * Findings that shape the engine:
 *
 * - Under Node, `rxjs` resolves to its ES5 CommonJS build, where `Subject.next` allocates a
 *   closure, an ES5 iterator and its step results on every call: about 240 B per value on top of the 16 B below, dozens
 *   of young-generation GCs per 10^6 digests, and p99 spikes. Feed the window operator through a
 *   captured source subscriber, not a Subject.
 * - Through RxJS's generic `Subscriber.next`, a non-integer number is boxed (one 16 B heap
 *   number) once the shared RxJS call sites have seen other observers, e.g. the control stream's
 *   "open" commands, which every real run interleaves with values (the warm-up here does too).
 *   The last row proves it: small integers, which V8 passes unboxed, cost 0 B on the same path.
 *   The operator's own per-value code allocates nothing; a caller that must not allocate at all
 *   per digest has to bypass RxJS for the value path.
 * - The same boxing hits `checkDigest` when digests come in several hidden classes and an
 *   optional metric holds a non-integer (the "4 digest shapes" row: one shape in four carries
 *   `latencyP99: 12.5`, so 16 B every fourth digest; with `latencyP99: 12` it is 0 B). With one
 *   digest shape, as a host that builds digests in one place produces, it allocates nothing.
 */
import { PerformanceObserver } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import v8 from "node:v8";
import { Observable, Subject, type Subscriber, type Subscription } from "rxjs";
import { checkDigest, DIGEST_ACCEPTED, type Digest, DigestRejection } from "../src/engine/digest.js";
import {
  createWindowStats,
  evaluationWindows,
  type WindowControl,
} from "../src/engine/evaluation-windows.js";
import type { Benchmark } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { findGc } from "./gc.js";
import { quantileSorted } from "./stats.js";
import { markdownTable } from "./table.js";

/** Knobs of {@link runTelemetryBench}; the defaults take a few seconds. */
export interface TelemetryBenchOptions {
  /** Calls per timed batch (default 1000). */
  readonly batchSize?: number;
  /** Timed batches per path (default 2000). */
  readonly batches?: number;
  /** Values in the allocation run (default 10^6). */
  readonly allocationValues?: number;
  /** Where progress lines go (default console.log); pass `() => {}` for silence. */
  readonly log?: (line: string) => void;
}

/** Results for one measured path. */
export interface TelemetryPathResult {
  readonly name: string;
  /** Percentiles of batch means, ns per value. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Bytes allocated per value: heap growth per value over the allocation run's GC-free chunks. */
  readonly bytesPerValue: number;
  /** GC events seen during the allocation run (0 is the target for an allocation-free path). */
  readonly gcEvents: number;
  /** Values in the allocation run. */
  readonly allocationValues: number;
}

/** What {@link runTelemetryBench} measured. */
export interface TelemetryBenchResult {
  readonly environment: string;
  /** Whether a full GC could be forced before each allocation run. */
  readonly forcedGc: boolean;
  readonly batchSize: number;
  readonly batches: number;
  readonly paths: readonly TelemetryPathResult[];
  /** The results as a Markdown table (also printed). */
  readonly table: string;
}

/** A measured path: `run(n)` performs n operations and must leave no pending work. */
interface Path {
  readonly name: string;
  /** Called between batches, outside the timed region (e.g. to reopen a window). */
  readonly reset?: () => void;
  readonly run: (n: number) => void;
  readonly dispose?: () => void;
}

/** Values per heap reading in the allocation run (small enough that a GC inside shows as shrinkage). */
const ALLOCATION_CHUNK = 1000;
const POOL = 1024; // distinct inputs, cycled, so the JIT cannot fold a constant input away
let sink = 0; // results are folded in here so no call is dead code

/** Digests of one hidden class, or of four (fields in other orders, optional fields present or not). */
function digestPool(mixedShapes: boolean): Digest[] {
  const digests: Digest[] = [];
  for (let i = 0; i < POOL; i++) {
    const objective = 10.125 + (i % 7) * 0.25;
    const timestamp = 900_000 + i;
    const shape = mixedShapes ? i & 3 : 0;
    if (shape === 0) digests.push({ objective, generation: 3, timestamp });
    else if (shape === 1) digests.push({ objective, generation: 3 });
    else if (shape === 2) digests.push({ generation: 3, timestamp, objective });
    else digests.push({ objective, generation: 3, timestamp, latencyP99: 12.5, errorRate: 0 });
  }
  return digests;
}

function digestPath(name: string, expectedGeneration: number, mixedShapes = false): Path {
  const digests = digestPool(mixedShapes);
  const expected = expectedGeneration === 3 ? DIGEST_ACCEPTED : DigestRejection.WrongGeneration;
  return {
    name,
    run(n) {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        acc += checkDigest(digests[i & (POOL - 1)], expectedGeneration, 0, 1_000_000, 10, 1e9, 1000);
      }
      if (acc !== expected * n) throw new Error(`${name}: unexpected result ${acc / n}`);
      sink += acc;
    },
  };
}

// One loop per feeding style, each its own function, so each call site stays monomorphic as it
// would be in the engine. (A loop shared by both styles becomes polymorphic, the call is no longer
// inlined, and every non-integer double argument is then boxed: 16 B per value.)
function feedSubject(subject: Subject<number>, values: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) subject.next(values[i & (POOL - 1)]!);
}

function feedSubscriber(target: Subscriber<number>, values: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) target.next(values[i & (POOL - 1)]!);
}

/**
 * A window of `count` slots that never fills during a run: between batches it is reopened
 * (outside timing); for the allocation run `count` exceeds the number of values.
 */
function windowPath(name: string, count: number, viaSubject: boolean, integers = false): Path {
  const control = new Subject<WindowControl>();
  const stats = createWindowStats();
  const values = new Float64Array(POOL);
  // Objectives are rarely whole numbers; whole numbers (small integers) travel unboxed in V8.
  for (let i = 0; i < POOL; i++) values[i] = integers ? 10 + (i % 7) : 10.125 + (i % 7) * 0.25;
  let feed: (n: number) => void;
  let source: Observable<number>;
  if (viaSubject) {
    const subject = new Subject<number>();
    source = subject;
    feed = (n) => feedSubject(subject, values, n);
  } else {
    let target: Subscriber<number> | undefined;
    source = new Observable<number>((subscriber) => {
      target = subscriber;
    });
    feed = (n) => feedSubscriber(target!, values, n);
  }
  // A time limit as in the engine's default config; long enough never to fire during the run.
  const subscription: Subscription = source
    .pipe(evaluationWindows(control, { count, ms: 3_600_000, aggregation: "trimmed-mean", trim: 0.1, stats }))
    .subscribe(() => {
      sink++;
    });
  control.next("open");
  const closed = (): number => stats.filled + stats.timedOut;
  return {
    name,
    reset: () => control.next("open"),
    run(n) {
      const closedBefore = closed();
      feed(n);
      if (closed() !== closedBefore || stats.dropped !== 0)
        throw new Error(`${name}: a window closed or dropped`);
    },
    dispose: () => subscription.unsubscribe(),
  };
}

function timeBatches(path: Path, batchSize: number, batches: number): Float64Array {
  const samples = new Float64Array(batches);
  for (let b = 0; b < batches; b++) {
    path.reset?.();
    const start = process.hrtime.bigint();
    path.run(batchSize);
    const end = process.hrtime.bigint();
    samples[b] = Number(end - start) / batchSize;
  }
  return samples.sort();
}

/** Heap growth of one `run(chunk)`, or NaN when a GC ran inside it (the heap shrank). */
function chunkGrowth(path: Path, chunk: number): number {
  const before = v8.getHeapStatistics().used_heap_size;
  path.run(chunk);
  const after = v8.getHeapStatistics().used_heap_size;
  return after >= before ? after - before : Number.NaN;
}

/**
 * Bytes allocated per value over `n` values, measured in chunks so that a chunk in which the
 * young generation was collected can be recognised (the heap shrinks) and left out.
 */
async function measureAllocation(
  path: Path,
  n: number,
  chunk: number,
  gc: (() => void) | undefined,
): Promise<{ bytesPerValue: number; gcEvents: number }> {
  path.reset?.();
  // What reading the heap statistics costs by itself (one result object per read).
  const idle: Path = { name: "idle", run: () => {} };
  let overhead = 0;
  let idleKept = 0;
  for (let i = 0; i < 256; i++) {
    const growth = chunkGrowth(idle, 0);
    if (!Number.isNaN(growth)) {
      overhead += growth;
      idleKept++;
    }
  }
  overhead /= idleKept;
  gc?.();
  let gcEvents = 0;
  const observer = new PerformanceObserver((list) => {
    gcEvents += list.getEntries().length;
  });
  observer.observe({ entryTypes: ["gc"] });
  let bytes = 0;
  let kept = 0;
  for (let done = 0; done < n; done += chunk) {
    const growth = chunkGrowth(path, chunk);
    if (!Number.isNaN(growth)) {
      bytes += growth - overhead;
      kept++;
    }
  }
  // GC entries are delivered asynchronously; let them arrive before reading the count.
  await new Promise((resolve) => setTimeout(resolve, 20));
  observer.disconnect();
  return { bytesPerValue: kept === 0 ? Number.NaN : Math.max(0, bytes / (kept * chunk)), gcEvents };
}

function formatNs(ns: number): string {
  return ns >= 100 ? ns.toFixed(0) : ns.toFixed(1);
}

/**
 * Measures checkDigest and the evaluation-window per-value path; prints and returns the results.
 *
 * @remarks
 * Call it in a production-mode process (`NODE_ENV=production`) with nothing else running.
 * Takes a few seconds with the defaults.
 */
export async function runTelemetryBench(options: TelemetryBenchOptions = {}): Promise<TelemetryBenchResult> {
  const batchSize = options.batchSize ?? 1000;
  const batches = options.batches ?? 2000;
  const allocationValues = options.allocationValues ?? 1_000_000;
  const log = options.log ?? ((line: string) => console.log(line));
  const gc = findGc();
  const environment = environmentLine(describeEnvironment());
  log(environment);
  if (gc === undefined) log("note: gc() unavailable; allocation runs start without a forced GC");

  // Each entry builds a fresh path whose window (if any) has `count` slots.
  const makers: { name: string; make: (count: number) => Path }[] = [
    { name: "checkDigest (accepted)", make: () => digestPath("checkDigest (accepted)", 3) },
    { name: "checkDigest (WrongGeneration)", make: () => digestPath("checkDigest (WrongGeneration)", 4) },
    {
      name: "checkDigest (accepted, 4 digest shapes)",
      make: () => digestPath("checkDigest (accepted, 4 digest shapes)", 3, true),
    },
    {
      name: "Subject.next → evaluationWindows",
      make: (count) => windowPath("Subject.next → evaluationWindows", count, true),
    },
    {
      name: "subscriber.next → evaluationWindows",
      make: (count) => windowPath("subscriber.next → evaluationWindows", count, false),
    },
    {
      name: "subscriber.next → evaluationWindows, integer values",
      make: (count) => windowPath("subscriber.next → evaluationWindows, integer values", count, false, true),
    },
  ];

  const results: TelemetryPathResult[] = [];
  for (const { name, make } of makers) {
    const path = make(2 * batchSize);
    for (let i = 0; i < 200; i++) {
      // Warm-up: enough calls for the optimising compiler to settle.
      path.reset?.();
      path.run(batchSize);
    }
    const samples = timeBatches(path, batchSize, batches);
    path.dispose?.();

    // A window with room for the whole allocation run, so it never closes during it.
    const roomy = make(allocationValues + 1);
    for (let i = 0; i < 200; i++) {
      roomy.reset?.();
      roomy.run(1000);
    }
    const { bytesPerValue, gcEvents } = await measureAllocation(
      roomy,
      allocationValues,
      ALLOCATION_CHUNK,
      gc,
    );
    roomy.dispose?.();

    const result: TelemetryPathResult = {
      name,
      p50: quantileSorted(samples, 0.5),
      p99: quantileSorted(samples, 0.99),
      max: samples[samples.length - 1]!,
      bytesPerValue,
      gcEvents,
      allocationValues,
    };
    results.push(result);
    log(
      `${result.name}: p50 ${formatNs(result.p50)} ns, p99 ${formatNs(result.p99)} ns, ` +
        `${result.bytesPerValue.toFixed(2)} B/value, ${gcEvents} GC events`,
    );
  }

  const table = markdownTable(
    ["path", "p50 ns/value", "p99 ns/value", "max ns/value", "bytes/value", "GC events"],
    results.map((r) => [
      r.name,
      formatNs(r.p50),
      formatNs(r.p99),
      formatNs(r.max),
      r.bytesPerValue.toFixed(2),
      `${r.gcEvents} / ${r.allocationValues.toExponential(0).replace("e+", "e")}`,
    ]),
  );
  log(`\n${batches} batches × ${batchSize} values per path; percentiles over batch means\n`);
  log(table);
  // Reading the folded results keeps them observable (they must be finite).
  if (!Number.isFinite(sink)) log("warning: a measured path produced a non-finite value");
  return { environment, forcedGc: gc !== undefined, batchSize, batches, paths: results, table };
}

/** Entry for `npm run bench -- telemetry`. */
export const benchmark: Benchmark = {
  name: "telemetry",
  title: "checkDigest and evaluation-window per-value cost (ns, bytes)",
  inAll: true,
  async run() {
    await runTelemetryBench();
  },
};

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  if (process.env.NODE_ENV !== "production") console.warn("warning: NODE_ENV is not 'production'");
  runTelemetryBench().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
