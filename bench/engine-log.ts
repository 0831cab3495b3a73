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
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineConfig } from "../src/engine/config.js";
import { createEngine, type Engine } from "../src/engine/engine.js";
import { createLoggedEngine } from "../src/log/engine-log.js";
import { Prng } from "../src/random/prng.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { writeSection } from "./report.js";
import { median, quantileSorted } from "./stats.js";
import { markdownTable } from "./table.js";
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

/** Runs the comparison and returns its markdown section. */
export async function runEngineLogBench(
  digests: number,
  runs: number,
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

The log's writer is not on the apply path: Tier 1's \`Executor.apply\` (T1) is the same code with or without it, and its
figure is the hot-path benchmark's above.`;
  return { section, pass: ratio <= LOGGED_WINDOW_GATE };
}

/** `npm run bench -- engine-log`. */
export const benchmark: Benchmark = {
  name: "engine-log",
  title: "B3 with the decision log on: engine.observe with and without createLoggedEngine",
  inAll: false,
  async run(args) {
    const options = parseOptions(args, ["digests", "runs"]);
    const report = await runEngineLogBench(
      wholeOption(options, "digests", 100_000),
      wholeOption(options, "runs", 3),
    );
    if (options.write) await writeSection("ENGINE-LOG", report.section);
    if (!report.pass) throw new Error("engine-log gate failed (FAIL above)");
  },
};
