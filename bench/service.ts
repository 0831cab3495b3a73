/**
 * B6: the engine inside a real node:http service under load, with the engine off, on, and on with
 * its decision log, side by side in one run.
 *
 * The service (`bench/service-server.ts`) runs in a child process of its own, so its event loop
 * carries only its own work: per request it hashes a 16 KiB payload six times (SHA-256), keeps the
 * result in a bounded in-memory store and, with the engine on, feeds it one digest (the request's
 * service time). An open-loop generator in this process sends requests on 127.0.0.1 at a fixed
 * rate, each on its schedule whatever the replies do, and times each one from its send (a service
 * stall is charged to every request sent meanwhile: they wait on their sockets). The configurations run in interleaved rounds,
 * each on a fresh child. The service measures its own event-loop delay
 * (`perf_hooks.monitorEventLoopDelay`, 1 ms resolution). Beside the logged runs, a probe here writes
 * 4 KiB and fdatasyncs it in the log's directory every 20 ms: the disk's own fsync latency.
 *
 * Gates, at every rate: with the decision log on, the service's p99 latency ≤ 1.1× the engine-off
 * service's, and its event-loop delay p99 ≤ 2 ms above the engine-off one.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { writeSection } from "./report.js";
import type { ServiceFigures, ServiceMode } from "./service-server.js";
import { median, quantileSorted } from "./stats.js";
import { markdownTable, verdict } from "./table.js";

const SERVER = fileURLToPath(new URL("./service-server.ts", import.meta.url));
const MODES: readonly ServiceMode[] = ["off", "on", "logged"];
const MODE_NAMES: Readonly<Record<ServiceMode, string>> = {
  off: "engine off",
  on: "engine on",
  logged: "engine on + decision log",
};
const WARMUP_MS = 1_000;
const P99_GATE = 1.1;
const LOOP_DELAY_GATE_MS = 2;

interface RunFigures extends ServiceFigures {
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Every request's latency in this run, ms (pooled over rounds for the table and the gates). */
  readonly latencies: Float64Array;
  readonly throughput: number;
  readonly errors: number;
}

/** Starts the service child in `mode` and resolves once it listens. */
async function startService(
  mode: ServiceMode,
  logDir: string,
): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(SERVER, [mode, logDir], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (message) => resolve((message as { port: number }).port));
    child.once("exit", (code) => reject(new Error(`service child exited early (${code})`)));
  });
  return { child, port };
}

/** Sends requests at `rate` per second for `ms` (after a warm-up); returns latencies in ms. */
async function openLoop(
  port: number,
  rate: number,
  ms: number,
  onMeasuring: () => void,
): Promise<{ latencies: Float64Array; completed: number; errors: number; elapsedMs: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(((WARMUP_MS + ms) / 1000) * rate);
  const warmup = Math.round((WARMUP_MS / 1000) * rate);
  const latencies = new Float64Array(total - warmup);
  let completed = 0;
  let errors = 0;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    if (i === warmup) onMeasuring();
    // Timed from the send: the generator's own lateness (this process shares the CPU) is not the
    // service's; a service stall still delays every request sent meanwhile, which queue on the socket.
    const sent = performance.now();
    pending.push(
      new Promise<void>((resolve) => {
        const req = request({ host: "127.0.0.1", port, path: `/?k=${i}`, agent }, (res) => {
          res.resume();
          res.on("end", () => {
            if (i >= warmup) {
              latencies[i - warmup] = performance.now() - sent;
              completed++;
            }
            resolve();
          });
        });
        req.on("error", () => {
          errors++;
          if (i >= warmup) latencies[i - warmup] = Number.POSITIVE_INFINITY;
          resolve();
        });
        req.end();
      }),
    );
  }
  await Promise.all(pending);
  const elapsedMs = performance.now() - start - WARMUP_MS;
  agent.destroy();
  return { latencies: latencies.sort(), completed, errors, elapsedMs };
}

/** The disk's fsync latency in `dir` while `running()`: 4 KiB written and fdatasynced every 20 ms. */
async function probeFsync(dir: string, running: () => boolean): Promise<number[]> {
  const file = await open(join(dir, "fsync-probe"), "w");
  const block = new Uint8Array(4096).fill(7);
  const samples: number[] = [];
  try {
    let position = 0;
    while (running()) {
      await file.write(block, 0, block.length, position);
      position = (position + block.length) % (1024 * 1024);
      const start = performance.now();
      await file.datasync();
      samples.push(performance.now() - start);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await file.close();
  }
  return samples;
}

async function runOnce(
  mode: ServiceMode,
  rate: number,
  ms: number,
  fsyncSamples: number[],
): Promise<RunFigures> {
  const root = mkdtempSync(join(tmpdir(), "arqon-b6-"));
  try {
    const { child, port } = await startService(mode, join(root, "log"));
    let measuring = true;
    const probe = mode === "logged" ? probeFsync(root, () => measuring) : Promise.resolve([]);
    const load = await openLoop(port, rate, ms, () => child.send("start"));
    measuring = false;
    fsyncSamples.push(...(await probe));
    const figures = await new Promise<ServiceFigures>((resolve) => {
      child.once("message", (message) => resolve(message as ServiceFigures));
      child.send("stop");
    });
    await new Promise((resolve) => (child.exitCode === null ? child.once("exit", resolve) : resolve(0)));
    return {
      ...figures,
      p50Ms: quantileSorted(load.latencies, 0.5),
      p99Ms: quantileSorted(load.latencies, 0.99),
      latencies: load.latencies,
      throughput: (load.completed / load.elapsedMs) * 1000,
      errors: load.errors,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Runs B6 and returns its markdown section and whether every gate passed. */
export async function runServiceBench(
  rates: readonly number[],
  ms: number,
  rounds: number,
): Promise<{ readonly section: string; readonly pass: boolean }> {
  const environment = environmentLine(describeEnvironment());
  console.log(environment);
  const rows: string[][] = [];
  const gates: string[] = [];
  const fsyncSamples: number[] = [];
  let pass = true;
  for (const rate of rates) {
    const runs = new Map<ServiceMode, RunFigures[]>(MODES.map((m) => [m, []]));
    for (let round = 0; round < rounds; round++) {
      for (const mode of MODES) {
        const figures = await runOnce(mode, rate, ms, fsyncSamples);
        runs.get(mode)!.push(figures);
        console.log(
          `${rate} req/s, round ${round + 1}, ${MODE_NAMES[mode]}: p50 ${figures.p50Ms.toFixed(2)} ms, ` +
            `p99 ${figures.p99Ms.toFixed(2)} ms, loop delay p99 ${figures.loopDelayP99Ms.toFixed(2)} ms, ` +
            `${figures.throughput.toFixed(0)} req/s, ${figures.errors} errors, ${figures.logRecords} log records`,
        );
      }
    }
    const med = (mode: ServiceMode, key: keyof RunFigures): number =>
      median(runs.get(mode)!.map((r) => r[key] as number));
    // Latency percentiles over every request of every round: a p99 read from a few thousand
    // requests, not a median of per-round p99s that each rest on a dozen slow requests.
    const pooled = (mode: ServiceMode, q: number): number => {
      const all = runs.get(mode)!.flatMap((r) => Array.from(r.latencies));
      return quantileSorted(Float64Array.from(all).sort(), q);
    };
    for (const mode of MODES) {
      const last = runs.get(mode)!.at(-1)!;
      rows.push([
        `${rate} req/s`,
        MODE_NAMES[mode],
        `${pooled(mode, 0.5).toFixed(2)} ms`,
        `${pooled(mode, 0.99).toFixed(2)} ms`,
        `${med(mode, "throughput").toFixed(0)} req/s`,
        `${med(mode, "loopDelayP50Ms").toFixed(2)} ms`,
        `${med(mode, "loopDelayP99Ms").toFixed(2)} ms`,
        `${med(mode, "loopDelayMaxMs").toFixed(1)} ms`,
        mode === "off" ? "–" : `${last.applies} / ${last.mode}`,
        mode === "logged" ? med(mode, "logRecords").toFixed(0) : "–",
      ]);
    }
    const p99Ratio = pooled("logged", 0.99) / pooled("off", 0.99);
    const loopExcess = med("logged", "loopDelayP99Ms") - med("off", "loopDelayP99Ms");
    const p99Pass = p99Ratio <= P99_GATE;
    const loopPass = loopExcess <= LOOP_DELAY_GATE_MS;
    pass &&= p99Pass && loopPass;
    gates.push(
      `${verdict(p99Pass)}: at ${rate} req/s, p99 with the decision log is ${p99Ratio.toFixed(2)}× the engine-off p99 (gate ≤ ${P99_GATE}×)`,
      `${verdict(loopPass)}: at ${rate} req/s, event-loop delay p99 with the decision log is ${loopExcess >= 0 ? "+" : ""}${loopExcess.toFixed(2)} ms against engine off (gate ≤ +${LOOP_DELAY_GATE_MS} ms)`,
    );
  }
  const sortedFsync = Float64Array.from(fsyncSamples).sort();
  const fsyncLine =
    sortedFsync.length === 0
      ? "The fsync probe took no sample."
      : `The disk's own fdatasync latency in the log's directory, measured beside the logged runs (${sortedFsync.length} samples of 4 KiB): ` +
        `p50 ${quantileSorted(sortedFsync, 0.5).toFixed(2)} ms, p99 ${quantileSorted(sortedFsync, 0.99).toFixed(2)} ms, ` +
        `max ${sortedFsync[sortedFsync.length - 1]!.toFixed(2)} ms.`;
  const table = markdownTable(
    [
      "load",
      "service",
      "latency p50",
      "p99",
      "throughput",
      "loop delay p50",
      "loop delay p99",
      "loop delay max",
      "applies / mode",
      "log records",
    ],
    rows,
  );
  console.log(table);
  console.log(fsyncLine);
  for (const gate of gates) console.log(gate);
  const section = `${environment}

\`npm run bench -- service\`: a node:http service on 127.0.0.1 in a child process (per request: SHA-256 over 6 × 16 KiB, a
bounded in-memory store, one engine digest when the engine is on), under an open-loop generator at ${rates.join(" and ")}
req/s for ${ms / 1000} s after a ${WARMUP_MS / 1000} s warm-up (requests are sent on schedule whatever the replies do; latency counts
from each send). Engine off, on,
and on with its decision log (\`createLoggedEngine\`, default group commit), interleaved, ${rounds} round(s) each on a fresh
service. Latency percentiles are over every request of every round of a configuration; the other columns are medians over
rounds. Event-loop delay is the service's own (\`monitorEventLoopDelay\`, 1 ms resolution).

${table}

${fsyncLine}

${gates.join("\n")}`;
  return { section, pass };
}

/** `npm run bench -- service`. */
export const benchmark: Benchmark = {
  name: "service",
  title: "B6: a node:http service under open-loop load with the engine off, on, and on with its decision log",
  inAll: true,
  async run(args) {
    const options = parseOptions(args, ["rates", "seconds", "rounds"]);
    const rates = (options.values.get("rates") ?? "160,400").split(",").map((r) => {
      const rate = Number(r);
      if (!Number.isSafeInteger(rate) || rate < 1)
        throw new Error(`--rates needs whole numbers ≥ 1, got ${r}`);
      return rate;
    });
    const report = await runServiceBench(
      rates,
      wholeOption(options, "seconds", 8) * 1000,
      wholeOption(options, "rounds", 4),
    );
    if (options.write) await writeSection("B6", report.section);
    if (!report.pass) throw new Error("B6 gate failed (FAIL above)");
  },
};
