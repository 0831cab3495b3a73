/**
 * `npm start`: a live demo of the online engine tuning a simulated batching service.
 *
 * The service (examples/sim/queueing-service.ts) has two knobs, `batchSize` and `timeoutMs`; its
 * cost per request is latency plus a penalty for timed-out and shed requests, and the best knobs
 * drift while the run goes on, with a traffic surge halfway through. An engine embedded in the
 * service receives one digest every 20 ms and moves the knobs; an untuned twin keeps the initial
 * knobs, under the same conditions and the same noise, so the progress line can show what tuning
 * buys. Every audit event goes to a JSON-lines file named at the end.
 *
 * Usage: `tsx examples/engine-demo.ts [--seconds N] [--fast] [--out PATH] [--seed N]`
 * - `--seconds N` (or env ARQON_DEMO_SECONDS): length of the run (default 20).
 * - `--fast`: the same scenario in virtual time, finished at once.
 * - `--out PATH`: where the audit events go (default `arqon-demo-<timestamp>.jsonl` in the OS
 *   temporary directory).
 * - `--seed N`: seed of the engine and the noise (default 7).
 *
 * Ctrl-C ends the run early: the summary and the complete audit file are still written (exit 0).
 */
import { createWriteStream, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { finished } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { AuditEvent } from "arqon";
import { asyncScheduler, VirtualAction, VirtualTimeScheduler } from "rxjs";
import { knobList, SafetyLog } from "./safety-log.js";
import { KNOB_BOUNDS } from "./sim/queueing-service.js";
import {
  INITIAL_KNOBS,
  runTuningSession,
  type SessionProgress,
  type SessionSummary,
} from "./sim/tuning-session.js";

/** Where the demo writes its human-readable output. */
export interface DemoOutput {
  /** Writes text as is (no newline added). */
  write(text: string): void;
  /** Whether the output is a terminal (then the progress line is rewritten in place). */
  readonly isTTY: boolean;
  /** Width of the terminal; a rewritten line is cut to fit, since a wrapped one cannot be rewritten. */
  readonly columns?: number;
}

/** The demo's settings, from the command line and the environment. */
export interface DemoSettings {
  /** Length of the run, seconds of engine-clock time. */
  readonly seconds: number;
  /** Run in virtual time (at once) instead of real time. */
  readonly fast: boolean;
  /** Absolute path of the JSON-lines audit file. */
  readonly out: string;
  /** Seed of the engine and of the simulated noise. */
  readonly seed: number;
}

const DEFAULT_SECONDS = 20;
/** Longest run accepted (an hour): the demo is meant to be bounded. */
const MAX_SECONDS = 3600;

const USAGE = `usage: tsx examples/engine-demo.ts [--seconds N] [--fast] [--out PATH] [--seed N]
  --seconds N   length of the run in seconds (default ${DEFAULT_SECONDS}; env ARQON_DEMO_SECONDS)
  --fast        run the same scenario in virtual time, at once
  --out PATH    JSON-lines file for the audit events (default: a new file in ${tmpdir()})
  --seed N      seed of the engine and of the simulated noise (default 7)
`;

/** Reads the demo's settings; throws an Error with a one-line message when one is invalid. */
export function parseDemoArgs(argv: readonly string[], env: NodeJS.ProcessEnv, now: Date): DemoSettings {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seconds: { type: "string" },
      fast: { type: "boolean", default: false },
      out: { type: "string" },
      seed: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) throw new HelpRequested();
  const secondsText = values.seconds ?? env.ARQON_DEMO_SECONDS;
  const seconds = secondsText === undefined ? DEFAULT_SECONDS : Number(secondsText);
  if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= MAX_SECONDS)) {
    const from = values.seconds === undefined ? "ARQON_DEMO_SECONDS" : "--seconds";
    throw new Error(
      `${from} must be a number of seconds in (0, ${MAX_SECONDS}], got ${JSON.stringify(secondsText)}`,
    );
  }
  const seed = values.seed === undefined ? 7 : Number(values.seed);
  if (!Number.isSafeInteger(seed))
    throw new Error(`--seed must be an integer, got ${JSON.stringify(values.seed)}`);
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "");
  const out = resolve(values.out ?? join(tmpdir(), `arqon-demo-${stamp}.jsonl`));
  return { seconds, fast: values.fast, out, seed };
}

/** Thrown by {@link parseDemoArgs} for `--help`. */
class HelpRequested extends Error {}

/**
 * Runs the demo and returns the process exit code (0 done, also when `signal` ended it early,
 * 1 could not write the audit file, 2 bad arguments).
 */
export async function runDemo(
  argv: readonly string[],
  output: DemoOutput,
  env: NodeJS.ProcessEnv = process.env,
  signal?: AbortSignal,
): Promise<number> {
  let settings: DemoSettings;
  try {
    settings = parseDemoArgs(argv, env, new Date());
  } catch (error) {
    if (error instanceof HelpRequested) {
      output.write(USAGE);
      return 0;
    }
    output.write(`engine-demo: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }

  // Open the audit file first so that a bad path fails before the run, not after it.
  let fd: number;
  try {
    fd = openSync(settings.out, "w");
  } catch (error) {
    output.write(`engine-demo: cannot write ${settings.out}: ${(error as Error).message}\n`);
    return 1;
  }
  const audit = createWriteStream("", { fd });
  let writeError: Error | undefined;
  audit.on("error", (error) => {
    writeError ??= error;
  });

  const { seconds, fast } = settings;
  const clock = fast ? "virtual time" : "real time";
  output.write(
    `arqon engine demo: tuning a simulated batching service for ${seconds} s (${clock}).\n` +
      `Knobs: batchSize ${range(KNOB_BOUNDS.batchSize)}, timeoutMs ${range(KNOB_BOUNDS.timeoutMs)}; ` +
      `start at batchSize ${INITIAL_KNOBS.batchSize}, timeoutMs ${INITIAL_KNOBS.timeoutMs}.\n` +
      "Objective: cost per request in ms (latency + penalty for timeouts and shed requests), smoothed;\n" +
      "baseline: the same service with the starting knobs frozen. The load surges halfway through.\n\n",
  );

  const live = output.isTTY && !fast;
  let lineOpen = false;
  const onProgress = (progress: SessionProgress) => {
    const line = describeProgress(progress);
    if (live) {
      const width = output.columns ?? 0;
      output.write(`\r${width > 1 ? line.slice(0, width - 1) : line}\x1b[K`);
      lineOpen = true;
    } else {
      output.write(`${line}\n`);
    }
  };
  // Say at once that the Ctrl-C was seen, so a user does not press it again.
  const onAbort = () => {
    output.write(`${lineOpen ? "\n" : ""}Interrupted: stopping at the next digest; the summary follows.\n`);
    lineOpen = false;
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  const counts = new Map<string, number>();
  const safety = new SafetyLog();
  const onEvent = (event: AuditEvent) => {
    counts.set(event.type, (counts.get(event.type) ?? 0) + 1);
    safety.note(event);
    audit.write(`${JSON.stringify(event)}\n`);
  };

  const scheduler = fast ? new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY) : asyncScheduler;
  const summary = await runTuningSession({
    durationMs: seconds * 1000,
    scheduler,
    seed: settings.seed,
    progressEveryMs: live ? 250 : 2000,
    onProgress,
    onEvent,
    ...(signal === undefined ? {} : { signal }),
  });
  signal?.removeEventListener("abort", onAbort);
  if (lineOpen) output.write("\n");
  audit.end();
  await finished(audit).catch((error: Error) => {
    writeError ??= error;
  });
  if (writeError !== undefined) {
    output.write(`engine-demo: writing ${settings.out} failed: ${writeError.message}\n`);
    return 1;
  }
  output.write(describeSummary(summary, counts, settings.out, safety));
  return 0;
}

/**
 * The progress line: elapsed time, smoothed cost vs the baseline's (and the change: negative is
 * better), the knobs, the generation, the mode and the digests accepted / rejected.
 */
export function describeProgress(p: SessionProgress): string {
  const s = p.snapshot;
  const knobs = Object.entries(p.values)
    .map(([name, value]) => `${name} ${value.toFixed(1)}`)
    .join("  ");
  const change = Number.isFinite(p.improvement) ? `${signed(-100 * p.improvement)} %` : "n/a";
  return (
    `${(p.elapsedMs / 1000).toFixed(1).padStart(5)} s  ` +
    `cost ${p.objective.toFixed(2)} ms vs baseline ${p.baseline.toFixed(2)} (${change})  ` +
    `${knobs}  gen ${s.generation}  mode ${p.mode}  ` +
    `digests ${s.digests.accepted} ok ${s.digests.rejected} rejected`
  );
}

/** The closing summary: improvement, applies and refusals, final knobs, SafeMode, audit file. */
export function describeSummary(
  summary: SessionSummary,
  counts: ReadonlyMap<string, number>,
  auditPath: string,
  safety?: SafetyLog,
): string {
  const s = summary.snapshot;
  const best = summary.optimumAtEnd;
  const byType = [...counts.entries()].map(([type, n]) => `${n} ${type}`).join(", ");
  return (
    `\nDone after ${(summary.elapsedMs / 1000).toFixed(1)} s: ${summary.digests} digests ` +
    `(${s.digests.accepted} accepted, ${s.digests.rejected} rejected), ${s.applies.applied} applies, ` +
    `${s.applies.refused} refusals, ${s.iteration} SPSA iterations.\n` +
    `Cost over the whole run: ${versus(summary.improvement)} than the untuned baseline.\n` +
    (Number.isFinite(summary.finalCost)
      ? `Over the last quarter: ${summary.finalCost.toFixed(2)} ms per request vs ` +
        `${summary.finalBaselineCost.toFixed(2)} ms (${versus(summary.finalImprovement)}).\n`
      : "") +
    `Tuned knobs (the SPSA centre): ${knobList(s.centre)}; live: ${knobList(s.values)}.\n` +
    `Best knobs for the final conditions: ${knobList(best.knobs)} (${best.cost.toFixed(2)} ms per request).\n` +
    (safety === undefined ? "" : safety.describe(s)) +
    `Audit: ${summary.auditEvents} events (${byType || "none"}) written to\n  ${auditPath}\n`
  );
}

/** "12.3 % better" or "4.5 % worse" for an improvement fraction. */
function versus(improvement: number): string {
  if (!Number.isFinite(improvement)) return "n/a";
  return `${percent(Math.abs(improvement))} ${improvement >= 0 ? "better" : "worse"}`;
}

function signed(x: number): string {
  return `${x > 0 ? "+" : x < 0 ? "−" : ""}${Math.abs(x).toFixed(1)}`;
}

function percent(fraction: number): string {
  return Number.isFinite(fraction) ? `${(100 * fraction).toFixed(1)} %` : "n/a";
}

function range(bounds: { readonly min: number; readonly max: number }): string {
  return `[${bounds.min}, ${bounds.max}]`;
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const stop = new AbortController();
  // Ctrl-C ends the run at the next digest; the summary and the audit file are still written.
  // The handler stays for the whole run: a terminal signals tsx and the demo alike, and tsx relays
  // the signal again when the demo is slow to acknowledge it; a second SIGINT meeting no handler
  // would kill the demo before its summary. Repeats change nothing while it runs; once it is done,
  // a Ctrl-C ends the process with the run's exit code (should anything keep it alive).
  let done: number | undefined;
  process.on("SIGINT", () => {
    if (done !== undefined) process.exit(done);
    if (!stop.signal.aborted) stop.abort();
  });
  // A reader that went away (`… | head -1`) ends the run as a Ctrl-C does (the audit file is still
  // completed and closed), with nothing more written to stdout and no error thrown; the exit code
  // is then 141 (128 + SIGPIPE, as the CLI's in src/cli/io.ts), or 1 for another write failure.
  let stdoutError: NodeJS.ErrnoException | undefined;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    stdoutError ??= error;
    if (!stop.signal.aborted) stop.abort();
  });
  const code = await runDemo(
    process.argv.slice(2),
    {
      write: (text) => {
        if (stdoutError === undefined) process.stdout.write(text);
      },
      isTTY: process.stdout.isTTY === true,
      get columns() {
        return process.stdout.columns;
      },
    },
    process.env,
    stop.signal,
  );
  done = stdoutError === undefined || code !== 0 ? code : stdoutError.code === "EPIPE" ? 141 : 1;
  process.exitCode = done;
}
