/**
 * Solver demo: tune a simulated load test's knobs (batch size, flush timeout, worker count) with
 * `minimize`, four evaluations at a time, showing a live progress line and a final summary.
 *
 * Run: `npm run demo:solver` (or `npx tsx examples/solver-demo.ts --budget 80 --seed 3`).
 */
import { inspect, parseArgs } from "node:util";
import { minimize, type TrialOutcome } from "arqon";

const USAGE = `usage: tsx examples/solver-demo.ts [--budget N] [--seed N] [--concurrency N]
  --budget N        evaluations to run (default 100)
  --seed N          seed of the solver (default 42)
  --concurrency N   evaluations running at a time (default 4)
`;

/** The demo's settings, from the command line. */
interface SolverDemoSettings {
  readonly budget: number;
  readonly seed: number;
  readonly concurrency: number;
}

/** Reads the settings; throws an Error with a one-line message when one is invalid. */
function parseSolverDemoArgs(argv: readonly string[]): SolverDemoSettings | "help" {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      budget: { type: "string", default: "100" },
      seed: { type: "string", default: "42" },
      concurrency: { type: "string", default: "4" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const count = (name: "budget" | "concurrency") => {
    const n = Number(values[name]);
    if (!(Number.isSafeInteger(n) && n >= 1))
      throw new Error(`--${name} must be a whole number ≥ 1, got ${JSON.stringify(values[name])}`);
    return n;
  };
  const seed = Number(values.seed);
  if (values.seed.trim() === "" || !Number.isSafeInteger(seed))
    throw new Error(`--seed must be an integer, got ${JSON.stringify(values.seed)}`);
  return { budget: count("budget"), seed, concurrency: count("concurrency") };
}

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

const BOUNDS = {
  batchSize: { min: 1, max: 512, scale: "log" as const },
  flushTimeoutMs: { min: 1, max: 200, scale: "log" as const },
  workers: { type: "int" as const, min: 1, max: 32 },
};

/** The knobs: `minimize` infers them from the config's bounds, so `params.workers` is typed. */
type Knob = keyof typeof BOUNDS;

/** Exit code when stdout closed early (`… | head -1`): 128 + SIGPIPE, as the CLI's (src/cli/io.ts). */
const CLOSED_PIPE_EXIT_CODE = 141;

/**
 * Runs the demo and returns the process exit code (0 done, 2 bad arguments, 141 stdout closed:
 * the run then stops, quietly).
 */
async function runSolverDemo(argv: readonly string[]): Promise<number> {
  let settings: SolverDemoSettings | "help";
  try {
    settings = parseSolverDemoArgs(argv);
  } catch (error) {
    process.stdout.write(`solver-demo: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (settings === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const config = { seed: settings.seed, budget: settings.budget, bounds: BOUNDS };

  // A reader that went away (`| head -1`) ends the run: nothing more is written, nothing thrown.
  const stop = new AbortController();
  let stdoutError: NodeJS.ErrnoException | undefined;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    stdoutError ??= error;
    stop.abort();
  });
  const write = (text: string) => {
    if (stdoutError === undefined) process.stdout.write(text);
  };
  /** 0, or how a failed stdout ends the run: 141 for a closed pipe (as the CLI's), else 1. */
  const exitCode = (): number =>
    stdoutError === undefined ? 0 : stdoutError.code === "EPIPE" ? CLOSED_PIPE_EXIT_CODE : 1;

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
            .map(([k, v]) => `${k}=${k === "workers" ? String(v) : v.toFixed(2)}`)
            .join(" ");
    const line = `trial ${String(o.evaluations).padStart(3)}/${o.budget}  best p99 ${best?.value.toFixed(2) ?? "-"} ms  ${knobs}`;
    // A rewritten line is cut to the terminal's width, since a wrapped one cannot be rewritten.
    const width = process.stdout.columns ?? 0;
    write(isTty ? `\r${width > 1 ? line.slice(0, width - 1) : line}\x1b[K` : `${line}\n`);
  }

  const result = await minimize((params, { signal }) => loadTest(params, signal), config, {
    concurrency: settings.concurrency,
    onTrial: progress,
    signal: stop.signal,
  }).catch((error: unknown) => {
    if (stdoutError === undefined) throw error;
    return undefined;
  });
  if (result === undefined || stdoutError !== undefined) return exitCode();
  if (isTty) write("\n");

  const solver = result.solver;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  write(`\n${result.evaluations} evaluations in ${seconds} s (concurrency ${settings.concurrency})\n`);
  write(
    `landscape: ${solver.classification?.label} (score ${solver.classification?.score.toFixed(2)}), refined with ${solver.strategyName}\n`,
  );
  write(`best p99 latency: ${result.best?.value.toFixed(3)} ms at ${inspect(result.best?.params)}\n`);
  // A write into a closed pipe fails after it returned: wait until what was written is handed over
  // or has failed (and its 'error' has been emitted) before saying how the run ended.
  await new Promise<void>((done) => process.stdout.write("", () => setImmediate(done)));
  return exitCode();
}

process.exitCode = await runSolverDemo(process.argv.slice(2));
