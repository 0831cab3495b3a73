/**
 * SUPERVISOR: many engines in one process, through `createSupervisor`, at 10, 100, 1,000 and
 * 10,000 engines. Run with `npm run bench -- supervisor` (or `NODE_ENV=production npx tsx
 * bench/supervisor.ts`).
 *
 * @remarks
 * Every size runs in a fresh Node process (so one size's garbage and JIT state do not leak into
 * the next), which first spawns and stops {@link WARM_UP_ENGINES} engines, then churns
 * {@link WARM_UP_CHURN} more the way the probes do, to warm the JIT up.
 * Then, at N engines:
 *
 * - **spawn** and **stop** (the gates): with N idle engines running, {@link PROBE_ENGINES} more
 *   are spawned and stopped in rounds of {@link BATCH} (spawn 10, then stop those 10, awaited one by
 *   one), each batch timed; the figure is the median batch, per engine. Every size runs the same
 *   churn, so the only difference between sizes is how many engines run beside it: what the gate
 *   is about. **spawning / stopping all N**: the N idle engines' own spawns and stops, wall time
 *   over all of them, per engine (GC included). All of it straight after the warm-up: no forced GC
 *   comes before it (see {@link METHOD} for why that matters). **close**: N engines spawned
 *   again, one `close()` timed, divided by N.
 * - **memory per idle engine** (last, since it forces full GCs): after a full GC, the growth of V8's used heap plus array
 *   buffers (the engines' typed arrays live there) from before the first spawn to after the N-th,
 *   averaged with the drop from there to after the N stops, divided by N. The engines have received
 *   nothing yet.
 * - **digests/s**: rounds in which every engine receives one accepted digest, first through
 *   `supervisor.get(name).observe(digest)` held directly (the engines are looked up once), then
 *   through `supervisor.send(name, { type: "observe", digest })`; at least
 *   {@link THROUGHPUT_DIGESTS} digests per figure. The engines have count-only windows larger
 *   than the run (no window closes, so this is the ingest path and the supervisor's dispatch, not
 *   the SPSA decision) and the default clock; digests are one hidden class `{ objective,
 *   generation }` cycled from a pool.
 *
 * Engines have 4 parameters and default options otherwise. Figures are medians over `--runs`
 * processes per size (default 3), the runs going round the sizes. The machine is shared, so the
 * load average is written beside. The library measured is the compiled package (`dist/`, built
 * first), not the sources: the bench code runs under tsx, the engines and supervisor do not.
 */
import { fork } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import v8 from "node:v8";
import type { EngineConfig } from "../src/engine/config.js";
import type { Engine } from "../src/engine/engine.js";
import type { Supervisor } from "../src/engine/supervisor.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { buildCompiledPackage, compiledModule } from "./compiled.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { findGc } from "./gc.js";
import { writeSection } from "./report.js";
import { median } from "./stats.js";
import { formatValue, markdownTable, verdict } from "./table.js";

/** Engine counts of the protocol. */
export const SUPERVISOR_SIZES = Object.freeze([10, 100, 1_000, 10_000]);

/** The gates. */
export const SUPERVISOR_TARGETS = Object.freeze({
  /** Spawn and stop time per engine at every size within this fraction of their median over the sizes. */
  flatWithin: 0.2,
  /** Digests/s through direct observe at 1,000 engines. */
  directPerSecond: 2e6,
  /** Digests/s through `supervisor.send` at 1,000 engines. */
  sendPerSecond: 1e6,
  /** Bytes per idle engine. */
  bytesPerEngine: 50 * 1024,
});

/**
 * Engines spawned and stopped before anything is timed. With a few hundred, spawn and stop at 10
 * engines still ran partly unoptimised code while the 10,000-engine median came from thousands of
 * later, optimised spawns: a size effect that was only JIT warm-up.
 */
const WARM_UP_ENGINES = 2_000;
/**
 * Engines then spawned and stopped in the probes' own rounds (spawn {@link BATCH}, stop them),
 * before anything is timed. The one-pass warm-up above leaves the churn's paths (a stop right
 * after a spawn, a name reused at once) cold: the first 1,000 probes at 10 engines ran up to twice
 * as slow as the next 1,000 in the same process.
 */
const WARM_UP_CHURN = 3_000;
/**
 * Engines spawned and stopped beside the N running ones, per size, for the spawn and stop gates.
 * The same churn at every size: timing the N engines' own spawns instead made the sizes run
 * different workloads (a size of 10 cycled 100 times through spawn-10-stop-10, a size of 10,000
 * spawned once into a growing heap), whose garbage and GC timing differed by size. 5,000 rather
 * than 1,000, so that the median reads the steady state a long-running supervisor sees: over the
 * first thousand probes, spawns beside 10,000 engines ran about a third faster than beside 10 to
 * 1,000, warm-up churn or not.
 */
const PROBE_ENGINES = 5_000;
/** Digests per throughput figure, at least. */
const THROUGHPUT_DIGESTS = 2_000_000;

/** What one process measures at one size. */
export interface SizeFigures {
  readonly engines: number;
  readonly spawnUs: number;
  readonly stopUs: number;
  /** The process's CPU time (all its threads, GC included) per spawn and per stop. */
  readonly spawnCpuUs: number;
  readonly stopCpuUs: number;
  /** Wall time per engine of spawning the N engines, and of stopping them (GC included). */
  readonly fillUs: number;
  readonly drainUs: number;
  readonly closeUs: number;
  readonly bytesPerEngine: number;
  readonly directPerSecond: number;
  readonly sendPerSecond: number;
}

/** An engine with 4 parameters and default options; `windowDigests` gives count-only windows. */
function engineConfig(seed: number, windowDigests?: number): EngineConfig {
  return {
    seed,
    params: {
      a: { min: 0, max: 10, init: 5 },
      b: { min: 0, max: 1, init: 0.5 },
      c: { min: 1, max: 100, init: 10, scale: "log" },
      d: { min: -5, max: 5, init: 0 },
    },
    ...(windowDigests === undefined ? {} : { window: { digests: windowDigests } }),
  };
}

/** Engines per timed batch of spawns or stops. */
const BATCH = 10;

/**
 * Wall time per engine of every batch of {@link BATCH} (medians of batches shrug off the other
 * processes' bursts on the shared machine), and the process's CPU time over all of them: on a
 * machine shared by more processes than cores, wall time is mostly waiting for a core.
 */
interface Timing {
  readonly samples: number[];
  cpuUs: number;
  engines: number;
}

const timing = (): Timing => ({ samples: [], cpuUs: 0, engines: 0 });

function cpuUs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

/** Spawns `count` engines, timed into `timing`. */
function spawnAll(
  supervisor: Supervisor,
  count: number,
  prefix: string,
  into: Timing = timing(),
  windowDigests?: number,
): void {
  for (let from = 0; from < count; from += BATCH) {
    const to = Math.min(count, from + BATCH);
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (let i = from; i < to; i++) supervisor.spawn(`${prefix}${i}`, engineConfig(i + 1, windowDigests));
    into.samples.push(Number(process.hrtime.bigint() - started) / (to - from));
    into.cpuUs += cpuUs(cpu);
    into.engines += to - from;
  }
}

/** Stops the engines {@link spawnAll} made, timed the same way. */
async function stopAll(supervisor: Supervisor, count: number, prefix: string, into: Timing = timing()) {
  for (let from = 0; from < count; from += BATCH) {
    const to = Math.min(count, from + BATCH);
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (let i = from; i < to; i++) await supervisor.stop(`${prefix}${i}`);
    into.samples.push(Number(process.hrtime.bigint() - started) / (to - from));
    into.cpuUs += cpuUs(cpu);
    into.engines += to - from;
  }
}

function usedBytes(gc: () => void): number {
  gc();
  gc();
  return v8.getHeapStatistics().used_heap_size + process.memoryUsage().arrayBuffers;
}

/** Rounds of one digest per engine in one throughput figure. */
function roundsFor(count: number): number {
  return Math.max(1, Math.ceil(THROUGHPUT_DIGESTS / count));
}

/** Digests per second over rounds of one digest per engine, fed by `feed(i, digest)`. */
function throughput(
  engines: readonly Engine[],
  feed: (index: number, digest: { objective: number; generation: number }) => void,
): number {
  const pool = Array.from({ length: 64 }, (_, i) => ({ objective: 1.5 + i * 0.01, generation: 0 }));
  const rounds = roundsFor(engines.length);
  const once = (count: number) => {
    for (let round = 0; round < count; round++) {
      for (let i = 0; i < engines.length; i++) {
        const digest = pool[(round + i) & 63]!;
        digest.generation = engines[i]!.generation;
        feed(i, digest);
      }
    }
  };
  once(Math.max(1, Math.ceil(rounds / 10))); // warm-up
  const started = process.hrtime.bigint();
  once(rounds);
  const elapsed = Number(process.hrtime.bigint() - started);
  return (rounds * engines.length) / (elapsed / 1e9);
}

async function measureSize(count: number): Promise<SizeFigures> {
  // The compiled package (built by the parent process), as users run it.
  const { createSupervisor } = (await import(
    compiledModule("src/engine/supervisor.js")
  )) as typeof import("../src/engine/supervisor.js");
  const gc = findGc();
  if (gc === undefined) throw new Error("supervisor bench: no way to run the garbage collector");
  const warm = createSupervisor();
  spawnAll(warm, WARM_UP_ENGINES, "w");
  await stopAll(warm, WARM_UP_ENGINES, "w");
  for (let churned = 0; churned < WARM_UP_CHURN; churned += BATCH) {
    spawnAll(warm, BATCH, "c");
    await stopAll(warm, BATCH, "c");
  }
  await warm.close();

  // The gates' spawn and stop: the same churn of probe engines at every size, beside N idle ones,
  // straight after the warm-up and before any forced GC. Forced full GCs with no engine alive
  // (the memory figure's) left the spawn and stop paths to be optimised again: sizes of 1,000 and
  // more did it while spawning their N engines, 10 did it during the probes (see METHOD).
  // Spawning and stopping the N idle engines are the "all N" figures.
  const supervisor = createSupervisor();
  const fillStarted = process.hrtime.bigint();
  spawnAll(supervisor, count, "e");
  const fillNs = Number(process.hrtime.bigint() - fillStarted);
  const spawns = timing();
  const stops = timing();
  for (let probe = 0; probe < PROBE_ENGINES; probe += BATCH) {
    spawnAll(supervisor, BATCH, "p", spawns);
    await stopAll(supervisor, BATCH, "p", stops);
  }
  const drainStarted = process.hrtime.bigint();
  await stopAll(supervisor, count, "e");
  const drainNs = Number(process.hrtime.bigint() - drainStarted);

  // Busy engines whose count-only windows outlast the run (warm-up included): digests/s, close.
  // Two figures of 1.1 × rounds each (warm-up included), plus a check digest.
  spawnAll(supervisor, count, "t", timing(), Math.ceil(roundsFor(count) * 2.5) + 16);
  const names = supervisor.names();
  const engines = names.map((name) => supervisor.get(name)!);
  const directPerSecond = throughput(engines, (i, digest) => {
    engines[i]!.observe(digest);
  });
  const sendPerSecond = throughput(engines, (i, digest) => {
    supervisor.send(names[i]!, { type: "observe", digest });
  });
  for (const engine of engines) {
    const verdict = engine.observe({ objective: 1, generation: engine.generation });
    if (verdict !== "accepted") throw new Error(`supervisor bench: a digest was ${verdict} after the run`);
    if (engine.generation !== 0) throw new Error("supervisor bench: a window closed and applied");
  }
  const closeStarted = process.hrtime.bigint();
  await supervisor.close();
  const closeNs = Number(process.hrtime.bigint() - closeStarted);

  // Memory per idle engine, N engines with default options: last, since it forces full GCs.
  // A macrotask first, so that nothing of the runs above is still held when the baseline is taken.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const measured = createSupervisor();
  const before = usedBytes(gc);
  spawnAll(measured, count, "m");
  const withEngines = usedBytes(gc);
  await stopAll(measured, count, "m");
  // The heap left by the runs keeps shrinking for a while, which biases the growth since
  // `before` low (below zero at 10 engines) and what stopping the engines frees high, by about
  // the same amount: their mean cancels it.
  const bytesPerEngine = (withEngines - before + (withEngines - usedBytes(gc))) / 2 / count;
  await measured.close();
  return {
    engines: count,
    spawnUs: median(spawns.samples) / 1000,
    stopUs: median(stops.samples) / 1000,
    spawnCpuUs: spawns.cpuUs / spawns.engines,
    stopCpuUs: stops.cpuUs / stops.engines,
    fillUs: fillNs / count / 1000,
    drainUs: drainNs / count / 1000,
    closeUs: closeNs / count / 1000,
    bytesPerEngine,
    directPerSecond,
    sendPerSecond,
  };
}

const CHILD_ENV = "ARQON_SUPERVISOR_CHILD";

function inChild(count: number): Promise<SizeFigures> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: process.execArgv,
      env: { ...process.env, [CHILD_ENV]: String(count) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let result: SizeFigures | undefined;
    child.on("message", (message) => {
      result = message as SizeFigures;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`supervisor bench child (${count} engines) exited with code ${code}`));
    });
  });
}

/** Medians over runs, per size. */
function medianFigures(runs: readonly SizeFigures[]): SizeFigures {
  const of = (key: keyof SizeFigures) => median(runs.map((r) => r[key]));
  return {
    engines: runs[0]!.engines,
    spawnUs: of("spawnUs"),
    stopUs: of("stopUs"),
    spawnCpuUs: of("spawnCpuUs"),
    stopCpuUs: of("stopCpuUs"),
    fillUs: of("fillUs"),
    drainUs: of("drainUs"),
    closeUs: of("closeUs"),
    bytesPerEngine: of("bytesPerEngine"),
    directPerSecond: of("directPerSecond"),
    sendPerSecond: of("sendPerSecond"),
  };
}

/** The report, and whether every gate passed. */
export function supervisorReport(rows: readonly SizeFigures[]): { report: string; pass: boolean } {
  const t = SUPERVISOR_TARGETS;
  const flat = (key: "spawnUs" | "stopUs") => {
    const centre = median(rows.map((r) => r[key]));
    return rows.every((r) => Math.abs(r[key] / centre - 1) <= t.flatWithin);
  };
  const at1000 = rows.find((r) => r.engines === 1_000);
  const gates = [
    {
      name: `spawn µs per engine at every size within ±${t.flatWithin * 100} % of their median`,
      value: rows.map((r) => formatValue(r.spawnUs)).join(" / "),
      pass: flat("spawnUs"),
    },
    {
      name: `stop µs per engine at every size within ±${t.flatWithin * 100} % of their median`,
      value: rows.map((r) => formatValue(r.stopUs)).join(" / "),
      pass: flat("stopUs"),
    },
    {
      name: "1,000 engines, direct observe ≥ 2 M digests/s",
      value: at1000 === undefined ? "–" : `${formatValue(at1000.directPerSecond / 1e6)} M`,
      pass: at1000 !== undefined && at1000.directPerSecond >= t.directPerSecond,
    },
    {
      name: "1,000 engines, supervisor.send ≥ 1 M digests/s",
      value: at1000 === undefined ? "–" : `${formatValue(at1000.sendPerSecond / 1e6)} M`,
      pass: at1000 !== undefined && at1000.sendPerSecond >= t.sendPerSecond,
    },
    {
      name: "memory per idle engine ≤ 50 KB (every size)",
      value: rows.map((r) => formatValue(r.bytesPerEngine / 1024)).join(" / "),
      pass: rows.every((r) => r.bytesPerEngine <= t.bytesPerEngine),
    },
  ];
  const table = markdownTable(
    [
      "engines",
      "spawn µs/engine",
      "stop µs/engine",
      "spawn / stop CPU µs/engine",
      "spawning / stopping all N µs/engine",
      "close µs/engine",
      "KB/idle engine",
      "direct M digests/s",
      "send M digests/s",
    ],
    rows.map((r) => [
      r.engines.toLocaleString("en-US"),
      formatValue(r.spawnUs),
      formatValue(r.stopUs),
      `${formatValue(r.spawnCpuUs)} / ${formatValue(r.stopCpuUs)}`,
      `${formatValue(r.fillUs)} / ${formatValue(r.drainUs)}`,
      formatValue(r.closeUs),
      formatValue(r.bytesPerEngine / 1024),
      formatValue(r.directPerSecond / 1e6),
      formatValue(r.sendPerSecond / 1e6),
    ]),
  );
  const gateTable = markdownTable(
    ["gate", "measured", "verdict"],
    gates.map((g) => [g.name, g.value, verdict(g.pass)]),
  );
  return { report: `${table}\n\n${gateTable}`, pass: gates.every((g) => g.pass) };
}

const METHOD = [
  "Many engines in one process through `createSupervisor` (bench/supervisor.ts): each size in a",
  "fresh process after the same JIT warm-up (2,000 engines spawned and stopped, then 3,000 more",
  "churned in rounds of 10 as the probes are). Spawn / stop per engine, the gates' measure: straight",
  "after the warm-up, N idle engines are spawned, 5,000 more are spawned and stopped beside them in",
  "rounds of 10 (spawn 10, stop those 10), each batch timed, and the N are stopped; the median",
  "batch, wall time, with the process's CPU time over all batches (GC threads included) beside it.",
  "Every size runs this same churn, so only the number of running engines differs. No forced GC",
  "comes before it. Until 2026-11-24 the memory figure's forced full GCs (taken with no engine",
  "alive) ran between the warm-up and the probes, and after them V8 optimised the spawn and stop",
  "paths again: at 10 engines 259 TurboFan compiles during the 5,000 probes, 100 of them in the",
  "first 250, against 112 at 1,000, where spawning, stopping and respawning the 1,000 engines",
  "before the probes had already re-warmed them (37 and 40 with the same 2,000-engine churn before",
  "the probes at both sizes; 67 at 10 engines without the forced GCs). That, not the engine count,",
  "made 10 engines the one slow size (spawn 269 µs against 193-204, stop 105 against 77-84). A",
  "service forces no GC, so the forced GCs now come last. The heap does differ: with fewer live",
  "engines V8's old-generation limit is lower, and the probes beside 10 engines ran 3 full GCs",
  "against 1-2 beside 1,000 and 10,000: part of what the figures measure. Spawning / stopping all N",
  "engines (the idle ones above: wall time over all, GC included, per engine), `close()` per engine,",
  "digests/s in rounds of one accepted digest per engine (4 parameters, count-only windows that",
  "never close: the ingest path plus the supervisor's dispatch) through a held engine (`observe`)",
  "and through `supervisor.send`, then memory per idle engine (used heap + array buffers after a",
  "full GC, divided by the count: the mean of the growth from before the spawns and the drop after",
  "stopping them). Medians of the runs, which go round the sizes. The library is the compiled",
  "package (`dist/`, built by the bench), as users run it, not the sources through tsx.",
].join("\n");

export const benchmark: Benchmark = {
  name: "supervisor",
  title: "Many engines per process: spawn/stop/close time, memory per engine, digests/s",
  inAll: true,
  async run(args) {
    const options = parseOptions(args, ["runs", "max"]);
    const runs = wholeOption(options, "runs", 3);
    const max = wholeOption(options, "max", 10_000);
    const sizes = SUPERVISOR_SIZES.filter((size) => size <= max);
    const build = buildCompiledPackage();
    console.log(`supervisor bench: measuring the ${build}`);
    // Runs go round the sizes (10, 100, …, 10, 100, …) so that a slow spell of the shared machine
    // lands on every size rather than on one, which would fake a size effect.
    const perSize = sizes.map((): SizeFigures[] => []);
    for (let run = 0; run < runs; run++) {
      for (const [i, size] of sizes.entries()) {
        const figures = await inChild(size);
        console.log(`  ${size} engines, run ${run + 1}: ${JSON.stringify(figures)}`);
        perSize[i]!.push(figures);
      }
    }
    const rows = perSize.map(medianFigures);
    const environment = environmentLine(describeEnvironment());
    const { report, pass } = supervisorReport(rows);
    const body = `${report}\n\n${runs} run(s) per size, sizes interleaved; measured: ${build}; ${environment}`;
    console.log(body);
    if (options.write && runs >= 3 && max >= 10_000) await writeSection("SUPERVISOR", `${METHOD}\n\n${body}`);
    if (!pass) throw new Error("supervisor bench: FAIL (see the gates above)");
  },
};

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
const childTask = process.env[CHILD_ENV];
if (invokedDirectly && childTask !== undefined) {
  measureSize(Number(childTask))
    // Run by hand (no parent to send to), a size's figures are printed.
    .then((figures) =>
      process.send === undefined
        ? console.log(JSON.stringify(figures))
        : new Promise<void>((resolve) => process.send!(figures, () => resolve())),
    )
    .then(() => process.disconnect?.())
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
} else if (invokedDirectly) {
  benchmark.run(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
