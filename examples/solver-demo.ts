/**
 * Solver demo: tune a simulated load test's knobs (batch size, flush timeout, worker count) with
 * `minimize`, four evaluations at a time, showing a live progress line and a final summary.
 *
 * Run: `npm run demo:solver` (or `npx tsx examples/solver-demo.ts --budget 80 --seed 3`).
 */
import { parseArgs } from "node:util";
import { minimize, type TrialOutcome } from "arqon";

const { values: args } = parseArgs({
  options: {
    budget: { type: "string", default: "100" },
    seed: { type: "string", default: "42" },
    concurrency: { type: "string", default: "4" },
  },
});

/**
 * The simulated load test: p99 latency (ms) of a batching service as a function of its knobs.
 * Small batches waste per-request overhead, large ones wait to fill; a short flush timeout
 * sends half-empty batches, a long one adds queueing delay; workers help until they contend.
 * Each "run" takes a few milliseconds, as a real (much longer) load test would take its time.
 */
async function loadTest(params: Record<Knob, number>, signal: AbortSignal): Promise<number> {
  const batch = params.batchSize;
  const timeout = params.flushTimeoutMs;
  const workers = params.workers;
  await new Promise((resolve) => setTimeout(resolve, 5));
  signal.throwIfAborted();
  const overhead = 40 / Math.sqrt(batch);
  const fillWait = (batch / (20 * workers)) * 10;
  const flush = Math.abs(Math.log(timeout / 12)) * 6;
  const contention = 0.15 * (workers - 6) ** 2;
  return 20 + overhead + Math.min(fillWait, timeout) + flush + contention;
}

const config = {
  seed: Number(args.seed),
  budget: Number(args.budget),
  bounds: {
    batchSize: { min: 1, max: 512, scale: "log" as const },
    flushTimeoutMs: { min: 1, max: 200, scale: "log" as const },
    workers: { min: 1, max: 32 },
  },
};

/** The knobs: `minimize` infers them from `config.bounds`, so `params.workers` is typed. */
type Knob = keyof typeof config.bounds;

const started = performance.now();
const isTty = process.stdout.isTTY === true;
let lastPrint = 0;

function progress(o: TrialOutcome<Knob>): void {
  const now = performance.now();
  if (!isTty && now - lastPrint < 250 && o.evaluations < o.budget) return;
  lastPrint = now;
  const best = o.best;
  const knobs =
    best === null
      ? ""
      : Object.entries(best.params)
          .map(([k, v]) => `${k}=${v.toFixed(k === "workers" ? 1 : 2)}`)
          .join(" ");
  const line = `trial ${String(o.evaluations).padStart(3)}/${o.budget}  best p99 ${best?.value.toFixed(2) ?? "-"} ms  ${knobs}`;
  process.stdout.write(isTty ? `\r${line.padEnd(100)}` : `${line}\n`);
}

const result = await minimize((params, { signal }) => loadTest(params, signal), config, {
  concurrency: Number(args.concurrency),
  onTrial: progress,
});
if (isTty) process.stdout.write("\n");

const solver = result.solver;
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`\n${result.evaluations} evaluations in ${seconds} s (concurrency ${args.concurrency})`);
console.log(
  `landscape: ${solver.classification?.label} (score ${solver.classification?.score.toFixed(2)}), refined with ${solver.strategyName}`,
);
console.log(`best p99 latency: ${result.best?.value.toFixed(3)} ms at`, result.best?.params);
