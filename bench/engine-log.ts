/**
 * B3 with the decision log on: the cost of `engine.observe` for an engine that writes its decision
 * log (`createLoggedEngine`: digest capture, every audit event, group commit) against the same
 * engine without it, in the same process and run.
 *
 * Both engines see the same digests of a noisy quadratic, one per 10 ms of a replay clock, with
 * windows of 5 digests, so the timed calls include window closes, SPSA decisions and applies. Each
 * `observe` is timed with `process.hrtime.bigint()` (the median cost of an empty timer pair is
 * subtracted), and so is each window cycle end to end: its clock steps (which run the engine's
 * audit drain, where the logged engine encodes its records into the log's buffer), its digests and
 * its decision. Gate: logged window cycle p50 ≤ 2× the unlogged one. The host yields to the event
 * loop after every 500 digests (outside the timed region), when the log's group commit starts; its
 * write and fdatasync run on libuv's thread pool.
 *
 * T1 (`Executor.apply`) is not on the log's path at all; its figure is the hot-path benchmark's
 * (`npm run bench -- hotpath`), measured in the same session.
 */
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import v8 from "node:v8";
import { type EngineConfig, MAX_WINDOW_DIGESTS } from "../src/engine/config.js";
import { createEngine, type Engine } from "../src/engine/engine.js";
import { createLoggedEngine } from "../src/log/engine-log.js";
import { Prng } from "../src/random/prng.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { findGc } from "./gc.js";
import { writeSection } from "./report.js";
import { median, quantileSorted } from "./stats.js";
import { markdownTable, verdict } from "./table.js";
import { timerCost } from "./timer-cost.js";

const BATCH = 500;
/** Digests per evaluation window. */
const WINDOW = 5;
/** Gate: a logged window cycle costs at most this many times the unlogged one (medians). */
const LOGGED_WINDOW_GATE = 2;

function engineConfig(clock: ReplayClock): EngineConfig {
  const params: Record<string, { min: number; max: number; init: number; maxDelta: number }> = {};
  for (let i = 0; i < 16; i++) params[`p${i}`] = { min: 0, max: 100, init: 50, maxDelta: 10 };
  return { seed: 1, params, window: { digests: WINDOW }, scheduler: clock };
}

interface Figures {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** One window's cycle: its digests, the clock moving on (audit drain into the log), the decision. */
  readonly windowP50: number;
  readonly windowP99: number;
  readonly applies: number;
  readonly mode: string;
  readonly logRecords: number;
}

async function measure(
  engine: Engine,
  clock: ReplayClock,
  digests: number,
  overhead: number,
): Promise<Figures> {
  const noise = Prng.fromSeed(9, 1);
  const samples = new Float64Array(digests);
  const windows = new Float64Array(Math.floor(digests / WINDOW));
  const optimum = 30;
  let windowStart = process.hrtime.bigint();
  for (let k = 0; k < digests; k++) {
    // The clock's step runs the engine's due timers: the audit drain, which hands records to the log.
    clock.advanceTo(1_000 + (k + 1) * 10);
    let f = 0;
    for (let i = 0; i < engine.values.length; i++) {
      const e = (engine.values[i]! - optimum - i) / 100;
      f += e * e;
    }
    const digest = { objective: f + 0.01 * noise.normal(), generation: engine.generation };
    const start = process.hrtime.bigint();
    engine.observe(digest);
    const end = process.hrtime.bigint();
    samples[k] = Math.max(0, Number(end - start) - overhead);
    if ((k + 1) % WINDOW === 0) {
      windows[(k + 1) / WINDOW - 1] = Number(end - windowStart);
      if ((k + 1) % BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
      windowStart = process.hrtime.bigint();
    }
  }
  samples.sort();
  windows.sort();
  const snapshot = engine.snapshot();
  return {
    p50: quantileSorted(samples, 0.5),
    p99: quantileSorted(samples, 0.99),
    max: samples[samples.length - 1]!,
    windowP50: quantileSorted(windows, 0.5),
    windowP99: quantileSorted(windows, 0.99),
    applies: snapshot.applies.applied,
    mode: snapshot.mode,
    logRecords: 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Ingest allocation, log on and off (B3's method: one engine per fresh process)

/** Digests per allocation chunk; the host flushes the audit records between chunks. */
const CHUNK = 1000;

/** Chunks each ingest run feeds before it measures (the JIT settles on the ingest path). */
const WARMUP_CHUNKS = 200;

/**
 * What one child measured: heap growth per ingested digest (pass `"bytes"`) or GC events over the
 * run (pass `"gc"`; the other figure is NaN).
 */
interface IngestAllocation {
  readonly bytesPerDigest: number;
  readonly gcEvents: number;
  readonly digests: number;
  readonly logRecords: number;
}

/** The two passes of the ingest measurement, each in a fresh process. */
type IngestPass = "bytes" | "gc";

/**
 * B3's ingest (digests that never close a window, default wall clock, one hidden class) on one
 * engine, with its decision log (`createLoggedEngine`: digest capture on) or without. Between
 * chunks of {@link CHUNK} digests the host calls `flushEvents()` (the records go into the log's
 * buffer) and yields, so that group commit runs.
 *
 * Pass `"bytes"` reads the heap around each chunk (outside those flushes). Pass `"gc"` reads
 * nothing and counts GC events over the whole run, flushes and commits included: the readings
 * themselves allocate (`getHeapStatistics` builds an object), about 0.6 KB a chunk, enough for a
 * scavenge of their own every 10^6 digests. Its chunks are chained through one function on
 * `setImmediate` rather than awaited (a promise and an async continuation per chunk are another
 * ~1 KB of the host's own garbage); what is left of the host's is the Immediate of each yield.
 */
async function ingestAllocation(
  logged: boolean,
  digests: number,
  pass: IngestPass,
): Promise<IngestAllocation> {
  const params: Record<string, { min: number; max: number; init: number; maxDelta: number }> = {};
  for (let i = 0; i < 16; i++) params[`p${i}`] = { min: 0, max: 100, init: 50, maxDelta: 10 };
  // The largest window the engine takes, more digests than a run feeds: no window closes.
  const config: EngineConfig = { seed: 1, params, window: { digests: MAX_WINDOW_DIGESTS } };
  const dir = mkdtempSync(join(tmpdir(), "arqon-engine-log-ingest-"));
  const logging = logged ? createLoggedEngine(config, { dir: join(dir, "log") }) : undefined;
  const engine = logging?.engine ?? createEngine(config);
  try {
    engine.flushEvents();
    const pool: { objective: number; generation: number }[] = [];
    for (let i = 0; i < 1024; i++) pool.push({ objective: 10.125 + (i % 7) * 0.25, generation: 0 });
    let next = 0;
    const ingest = (): void => {
      for (let i = 0; i < CHUNK; i++)
        if (engine.observe(pool[next++ & 1023]!) !== "accepted") throw new Error("ingest: digest refused");
    };
    const between = async (): Promise<void> => {
      engine.flushEvents();
      await new Promise((resolve) => setImmediate(resolve));
    };
    for (let i = 0; i < WARMUP_CHUNKS; i++) {
      ingest();
      await between();
    }
    let reading = 0;
    if (pass === "bytes") {
      for (let i = 0; i < 256; i++) {
        const before = v8.getHeapStatistics().used_heap_size;
        reading += Math.max(0, v8.getHeapStatistics().used_heap_size - before);
      }
      reading /= 256;
    }
    let gcEvents = 0;
    const observer = new PerformanceObserver((list) => {
      gcEvents += list.getEntries().length;
    });
    findGc()?.();
    observer.observe({ entryTypes: ["gc"] });
    let bytes = 0;
    let kept = 0;
    if (pass === "gc") {
      // The same chunks, flushes and yields, chained through one function: no promise and no
      // async-function continuation per chunk (about 1 KB of the host's own garbage a chunk).
      await new Promise<void>((finished) => {
        let done = 0;
        const step = (): void => {
          ingest();
          engine.flushEvents();
          done += CHUNK;
          if (done < digests) setImmediate(step);
          else finished();
        };
        setImmediate(step);
      });
    } else
      for (let done = 0; done < digests; done += CHUNK) {
        const before = v8.getHeapStatistics().used_heap_size;
        ingest();
        const after = v8.getHeapStatistics().used_heap_size;
        if (after >= before) {
          bytes += after - before - reading;
          kept++;
        }
        await between();
      }
    await new Promise((resolve) => setTimeout(resolve, 20));
    observer.disconnect();
    if (engine.mode !== "normal") throw new Error(`ingest: engine left normal mode (${engine.mode})`);
    return {
      bytesPerDigest: pass === "gc" || kept === 0 ? Number.NaN : Math.max(0, bytes / (kept * CHUNK)),
      gcEvents: pass === "gc" ? gcEvents : Number.NaN,
      digests,
      logRecords: logging?.log.lastSeq ?? 0,
    };
  } finally {
    await (logging?.close() ?? engine.close());
    rmSync(dir, { recursive: true, force: true });
  }
}

const CHILD_ENV = "ARQON_ENGINE_LOG_CHILD";

/** {@link ingestAllocation} in a fresh Node process (a second engine in one process allocates more). */
function ingestAllocationInChild(
  logged: boolean,
  digests: number,
  pass: IngestPass,
): Promise<IngestAllocation> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: process.execArgv,
      env: { ...process.env, [CHILD_ENV]: JSON.stringify({ logged, digests, pass }) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let result: IngestAllocation | undefined;
    child.on("message", (message) => {
      result = message as IngestAllocation;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`engine-log ingest child exited with code ${code}`));
    });
  });
}

/** Runs the comparison and returns its markdown section. */
export async function runEngineLogBench(
  digests: number,
  runs: number,
  ingestDigests: number,
): Promise<{ readonly section: string; readonly pass: boolean }> {
  const environment = environmentLine(describeEnvironment());
  console.log(environment);
  const overhead = timerCost();
  const rows: string[][] = [];
  const plain: Figures[] = [];
  const logged: Figures[] = [];
  for (let run = 0; run < runs; run++) {
    const clockA = new ReplayClock(1_000);
    const a = createEngine(engineConfig(clockA));
    plain.push(await measure(a, clockA, digests, overhead));
    await a.close();

    const dir = mkdtempSync(join(tmpdir(), "arqon-engine-log-bench-"));
    try {
      const clockB = new ReplayClock(1_000);
      const b = createLoggedEngine(engineConfig(clockB), { dir: join(dir, "log") });
      const figures = await measure(b.engine, clockB, digests, overhead);
      await b.close();
      logged.push({ ...figures, logRecords: b.log.lastSeq });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(
      `run ${run + 1}: observe p50 ${plain[run]!.p50.toFixed(0)} ns without the log, ` +
        `${logged[run]!.p50.toFixed(0)} ns with it (${logged[run]!.logRecords} log records)`,
    );
  }
  type Key = "p50" | "p99" | "max" | "windowP50" | "windowP99";
  const med = (xs: Figures[], key: Key): number => median(xs.map((x) => x[key]));
  for (const [name, figures] of [
    ["engine", plain],
    ["engine + decision log", logged],
  ] as const) {
    rows.push([
      name,
      `${med(figures, "p50").toFixed(0)} ns`,
      `${(med(figures, "p99") / 1000).toFixed(1)} µs`,
      `${(med(figures, "max") / 1000).toFixed(0)} µs`,
      `${(med(figures, "windowP50") / 1000).toFixed(1)} µs`,
      `${(med(figures, "windowP99") / 1000).toFixed(1)} µs`,
      String(figures[0]!.applies),
      figures[0]!.mode,
      name === "engine" ? "–" : String(figures[0]!.logRecords),
    ]);
  }
  const table = markdownTable(
    [
      "",
      "observe p50",
      "p99",
      "max",
      "window cycle p50",
      "window p99",
      "applies",
      "mode at end",
      "log records",
    ],
    rows,
  );
  console.log(table);
  const allocation: string[][] = [];
  const ingestGates: string[] = [];
  let ingestPass = true;
  for (const withLog of [false, true]) {
    const samples: IngestAllocation[] = [];
    const gcSamples: IngestAllocation[] = [];
    for (let run = 0; run < runs; run++) {
      samples.push(await ingestAllocationInChild(withLog, ingestDigests, "bytes"));
      gcSamples.push(await ingestAllocationInChild(withLog, ingestDigests, "gc"));
    }
    const bytes = median(samples.map((x) => x.bytesPerDigest));
    const gc = Math.max(...gcSamples.map((x) => x.gcEvents));
    console.log(
      `ingest ${withLog ? "with" : "without"} the log: ${bytes.toFixed(1)} B/digest, ${gc} GC events`,
    );
    allocation.push([
      withLog ? "engine + decision log (digest capture)" : "engine",
      bytes.toFixed(1),
      `${gc} / ${ingestDigests.toLocaleString("en-US")} digests`,
      withLog ? String(samples[0]!.logRecords) : "–",
    ]);
    if (withLog) {
      // The issue-16 gate, read as printed: bytes that round to 0.0 and no GC event at all.
      const bytesPass = bytes < 0.05;
      const gcPass = gc === 0;
      ingestPass &&= bytesPass && gcPass;
      ingestGates.push(
        `${verdict(bytesPass)}: logged ingest allocates ${bytes.toFixed(1)} B per digest (gate 0)`,
        `${verdict(gcPass)}: logged ingest has ${gc} GC events per ${ingestDigests.toLocaleString("en-US")} digests (gate 0)`,
      );
    }
  }
  const allocationTable = markdownTable(
    ["ingest (16 params)", "bytes/digest", "GC events", "log records"],
    allocation,
  );
  console.log(allocationTable);
  for (const line of ingestGates) console.log(line);
  const ratio = med(logged, "windowP50") / med(plain, "windowP50");
  const gate = `${ratio <= LOGGED_WINDOW_GATE ? "PASS" : "FAIL"}: logged window cycle p50 is ${ratio.toFixed(2)}× the unlogged one (gate ≤ ${LOGGED_WINDOW_GATE}×)`;
  console.log(gate);
  const section = `${environment}

\`npm run bench -- engine-log\`: 16 parameters, ${digests.toLocaleString("en-US")} digests per engine (windows of ${WINDOW}, so
window closes, SPSA decisions and applies are inside the timed calls), ${runs} runs, medians over runs. A **window cycle**
is the wall time of one window's ${WINDOW} digests end to end: the clock's steps (which run the engine's audit drain, where
the logged engine encodes its records into the log's buffer), the \`observe\` calls and the decision. The host yields to the
event loop every ${BATCH} digests, outside the timed region: that is when the log's group commit (every 50 ms or 256
records, on libuv's thread pool) runs. The log holds every digest, apply, window, decision and mode change.

${table}

${gate}

**Ingest allocation** with the log on and off: B3's digest ingest (digests that never close a window, default wall
clock) at 16 parameters, ${ingestDigests.toLocaleString("en-US")} digests per run, ${runs} runs of two passes, each pass in a fresh process
(bytes: median; GC events: the largest count). In both, between chunks of ${CHUNK} digests the host calls \`flushEvents()\`
(the logged engine's records go into the log's buffer) and yields to the event loop (group commit). The bytes pass reads
the heap around each chunk (chunks with a GC inside left out; the flushes lie outside the readings). The GC pass reads
nothing (a reading allocates, about 0.6 KB a chunk, enough for a scavenge of its own), chains its chunks through one
function on \`setImmediate\` instead of awaiting a promise per chunk (another ~1 KB of the host's own garbage a chunk), and
counts GC events over the whole run, flushes, commits and the host's yields included. Gate (issue 16): 0 bytes and 0 GC
events per 10^6 digests with the log on.

${allocationTable}

${ingestGates.join("\n")}

The log's writer is not on the apply path: Tier 1's \`Executor.apply\` (T1) is the same code with or without it, and its
figure is the hot-path benchmark's above.`;
  return { section, pass: ratio <= LOGGED_WINDOW_GATE && ingestPass };
}

/** `npm run bench -- engine-log`. */
export const benchmark: Benchmark = {
  name: "engine-log",
  title: "B3 with the decision log on: engine.observe with and without createLoggedEngine",
  inAll: false,
  async run(args) {
    const options = parseOptions(args, ["digests", "runs", "ingest-digests"]);
    const ingestDigests = wholeOption(options, "ingest-digests", 1_000_000);
    // A run feeds the warm-up, then whole chunks: its one window must not close (the runs would
    // measure a decision too).
    const most = MAX_WINDOW_DIGESTS - 1 - WARMUP_CHUNKS * CHUNK;
    if (WARMUP_CHUNKS * CHUNK + Math.ceil(ingestDigests / CHUNK) * CHUNK >= MAX_WINDOW_DIGESTS)
      throw new Error(
        `--ingest-digests must be at most ${Math.floor(most / CHUNK) * CHUNK}, got ${ingestDigests}`,
      );
    const report = await runEngineLogBench(
      wholeOption(options, "digests", 100_000),
      wholeOption(options, "runs", 3),
      ingestDigests,
    );
    if (options.write) await writeSection("ENGINE-LOG", report.section);
    if (!report.pass) throw new Error("engine-log gate failed (FAIL above)");
  },
};

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
const childTask = process.env[CHILD_ENV];
if (invokedDirectly && childTask !== undefined) {
  const task = JSON.parse(childTask) as {
    readonly logged: boolean;
    readonly digests: number;
    readonly pass: IngestPass;
  };
  ingestAllocation(task.logged, task.digests, task.pass)
    .then((result) => new Promise<void>((resolve) => process.send!(result, () => resolve())))
    .then(() => process.disconnect?.())
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
