import { resolve } from "node:path";
import { asyncScheduler } from "rxjs";
import type { DashboardServer } from "../dashboard/server.js";
import type { DashboardSource } from "../dashboard/source.js";
import { errorMessage } from "../errors.js";
import { optionalNonEmpty, optionalString, parseFlags, wholeNumberOf } from "./args.js";
import { runtimeError, usageError } from "./cli-error.js";
import type { CliIo } from "./io.js";

/** Help text of `arqon dashboard`. */
export const DASHBOARD_USAGE = `arqon dashboard [--log <file.jsonl|dir> | --study <state> | --demo] [--port N] [--seed N]
  Serves a local dashboard on 127.0.0.1 (objective vs a measured baseline, parameters, SafeMode
  timeline, statecharts with their active states, audit table; live over server-sent events)
  until Ctrl-C, SIGTERM or SIGHUP, or until its output closes (exit 141). Works offline.
  --log    show a recording and follow it as it grows: a JSON-lines audit file (e.g. from
           \`npm start -- --out F\`), a directory of them, or a decision-log directory; read-only
  --study  show a solver study instead: history, best so far and parameter slices of a state file
           or solver log (as \`arqon solve --state\` keeps it), updated as it changes
  --demo   run a built-in simulated service with a live engine and attach to it (the default)
  --port   TCP port (default 0: a free one)     --seed   seed of the demo (default 7)
  Prints the URL on stderr, and for a live engine the control token (halt, reset, rollback need it).`;

/**
 * `arqon dashboard`: serves the dashboard until `stop` is aborted, then closes the server (and the
 * demo engine) and resolves 0.
 */
export async function runDashboard(argv: readonly string[], io: CliIo, stop: AbortSignal): Promise<0> {
  const flags = parseFlags("dashboard", argv, {
    log: { type: "string" },
    study: { type: "string" },
    demo: { type: "boolean" },
    port: { type: "string" },
    seed: { type: "string" },
  });
  if (flags.help === true) {
    io.stdout(`${DASHBOARD_USAGE}\n`);
    return 0;
  }
  const log = optionalNonEmpty("dashboard", flags, "log");
  const study = optionalNonEmpty("dashboard", flags, "study");
  if ([log !== undefined, study !== undefined, flags.demo === true].filter(Boolean).length > 1)
    throw usageError("arqon dashboard: --log, --study and --demo exclude each other");
  const port = wholeNumber(optionalString(flags, "port"), "port", 0, 65535) ?? 0;
  const seed = wholeNumber(optionalString(flags, "seed"), "seed", 0, Number.MAX_SAFE_INTEGER) ?? 7;
  if (study !== undefined) return runStudy(resolve(io.cwd, study), port, io, stop);

  // Loaded here, not at the top: every other command would pay for the engine and the server.
  const { RecordingError } = await import("../dashboard/recorded-source.js");
  const { followRecording } = await import("../dashboard/followed-source.js");
  const { serveDashboard } = await import("../dashboard/server.js");
  let source: DashboardSource;
  let what: string;
  let stopDemo = async () => {};
  if (log !== undefined) {
    const path = resolve(io.cwd, log);
    try {
      const followed = await followRecording(path, {
        onError: (error) => io.stderr(`arqon dashboard: stopped following: ${error.message}\n`),
        // Ctrl-C during the first read of a long recording stops it there.
        signal: stop,
      });
      source = followed;
      stopDemo = () => followed.close();
      what = `recording ${path} (${followed.count} events so far, following it; read-only)`;
    } catch (error) {
      if (error instanceof RecordingError) throw usageError(`arqon dashboard: ${error.message}`);
      if (stop.aborted) {
        io.stderr("arqon dashboard: stopped\n");
        return 0;
      }
      throw error;
    }
  } else {
    const [{ DEMO_UNITS, startDemoService }, { engineSource }] = await Promise.all([
      import("../dashboard/demo-service.js"),
      import("../dashboard/engine-source.js"),
    ]);
    const demo = startDemoService({ scheduler: asyncScheduler, seed });
    source = engineSource(demo.engine, { units: DEMO_UNITS, twin: demo.twin });
    stopDemo = () => demo.stop();
    what = `live demo engine (seed ${seed}) beside its untuned twin`;
  }

  let server: DashboardServer;
  try {
    server = await serveDashboard(source, { port });
  } catch (error) {
    await stopDemo();
    throw runtimeError(`arqon dashboard: cannot listen on 127.0.0.1:${port}: ${errorMessage(error)}`);
  }
  // A recording has nothing to control: a token printed for it would suggest otherwise.
  const access =
    source.control === undefined
      ? `  open ${server.url}\n`
      : `  open ${server.url}#token=${server.token}\n  control token: ${server.token}\n`;
  io.stderr(`arqon dashboard: ${what}\n${access}  Ctrl-C stops it.\n`);
  if (!stop.aborted)
    await new Promise<void>((done) => stop.addEventListener("abort", () => done(), { once: true }));
  await server.close();
  await stopDemo();
  io.stderr("arqon dashboard: stopped\n");
  return 0;
}

/** `arqon dashboard --study`: serves the study view of a solver state until `stop` is aborted. */
async function runStudy(path: string, port: number, io: CliIo, stop: AbortSignal): Promise<0> {
  const [{ serveStudy }, { StudyError }] = await Promise.all([
    import("../dashboard/study-server.js"),
    import("../dashboard/study.js"),
  ]);
  let server: Awaited<ReturnType<typeof serveStudy>>;
  try {
    server = await serveStudy(path, { port });
  } catch (error) {
    if (error instanceof StudyError) throw usageError(`arqon dashboard: ${error.message}`);
    throw runtimeError(`arqon dashboard: cannot listen on 127.0.0.1:${port}: ${errorMessage(error)}`);
  }
  io.stderr(
    `arqon dashboard: study of ${path} (${server.study.trials.length} results, updated as it changes)\n` +
      `  open ${server.url}\n` +
      "  Ctrl-C stops it.\n",
  );
  if (!stop.aborted)
    await new Promise<void>((done) => stop.addEventListener("abort", () => done(), { once: true }));
  await server.close();
  io.stderr("arqon dashboard: stopped\n");
  return 0;
}

/**
 * `arqon dashboard` as a process command: runs until it is interrupted (Ctrl-C, SIGTERM, SIGHUP)
 * or its output closes (`… 2>&1 | head -3`: no one would see it stop or fail, and nothing would
 * stop it), then closes its server.
 */
export async function dashboardCommand(argv: readonly string[], io: CliIo): Promise<0> {
  const stop = new AbortController();
  // Heard once: a second Ctrl-C while it closes ends the process as Ctrl-C ends any program.
  const onInterrupt = () => {
    unsubscribe();
    stop.abort();
  };
  const unsubscribe = io.onInterrupt?.(onInterrupt) ?? onProcessSignals(onInterrupt);
  try {
    return await runDashboard(argv, io, stop.signal);
  } finally {
    unsubscribe();
  }
}

/** Calls `handler` once on SIGINT or SIGTERM until the returned function is called. */
function onProcessSignals(handler: () => void): () => void {
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

function wholeNumber(text: string | undefined, name: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = wholeNumberOf(text);
  if (!(value >= min && value <= max))
    throw usageError(
      `arqon dashboard: --${name} must be a whole number in [${min}, ${max}], got ${JSON.stringify(text)}`,
    );
  return value;
}
