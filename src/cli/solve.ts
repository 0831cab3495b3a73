import { errorMessage } from "../errors.js";
import type { FileLock } from "../log/lock.js";
import { isLoggedSolver } from "../log/solver-log.js";
import type { Solver, Trial } from "../solver/solver.js";
import type { ParamValue } from "../space/params.js";
import { MAX_HEARTBEAT_MS, MIN_HEARTBEAT_MS } from "../study/heartbeat.js";
import {
  type FlagValues,
  optionalChoice,
  optionalNonEmpty,
  optionalPositiveInt,
  optionalString,
  optionalTimerMs,
  parseFlags,
  splitAtDoubleDash,
  wholeNumberOf,
} from "./args.js";
import { CliError, runtimeError, usageError } from "./cli-error.js";
import { objectiveEnvironment, variableProblems } from "./env-names.js";
import { programProblem } from "./find-program.js";
import type { CliIo } from "./io.js";
import { type ObjectiveReading, readReport, unreadReport } from "./objective-output.js";
import { grownNote, missingStateError, newRunNote, openSolver } from "./open-solver.js";
import { describeInterrupt, describeProgress, describeRefineStart } from "./progress.js";
import { runObjectiveCommand } from "./run-command.js";
import { type SolveExit, SolveInterrupts } from "./solve-interrupt.js";
import { everySecond, SolveProgress } from "./solve-progress.js";
import { solveShared } from "./solve-shared.js";
import { attachStateLog, hasSavedState, saveSolverState } from "./state-file.js";
import { withLockedState } from "./state-lock.js";
import { TrialStderr } from "./trial-stderr.js";

/** Help text of `arqon solve`. */
export const SOLVE_USAGE = `arqon solve --config <config.json> [--state <dir>|<state.json> | --storage redis://… --study <name> [--stall-ms N] [--heartbeat-ms N] [--timeout-ms N]] [--concurrency N] [--on-error stop|skip] [--trial-timeout-ms N] [--quiet] -- <command> [args...]
  Minimises the value printed by <command>, run once per trial (directly, no shell) with ARQON_<NAME>
  set for each parameter (name upper-cased, other characters -> _) and ARQON_TRIAL_ID. The value is
  the one number standing alone on the last non-empty stdout line ("0.99", "RESULT=0.99",
  "loss: 0.99" -> 0.99), or its "value" if that line is an object ({"value": 0.99, "acc": 0.8} ->
  0.99). A number glued to other text ("ckpt-12.pt", "3.2s", "gpu-0") is none; several numbers,
  or a bare one with words after it ("took 12 ms"), are refused: print the value alone, last. A
  non-zero exit or no value fails the trial: --on-error stop (default) ends the run with exit 1,
  skip goes on. --trial-timeout-ms N: a
  command still running after N ms is stopped (SIGTERM, SIGKILL 5 s later) and its trial fails
  ("timed out after N s").
  With --state the run survives a kill; rerunning with the same --state resumes, pending trials first.
  A directory (any path not ending in .json, in any case) is a decision log: every ask and told
  result is written and fsynced before it takes effect. A .json path is a snapshot rewritten after
  every ask and tell.
  The --state stays locked for the whole run: an ask, tell or solve on it waits up to 2 s, then exits 1.
  Progress goes to stderr: on a terminal one updating line (trials done/budget, best so far, elapsed
  time, ETA), otherwise one line per trial; --quiet prints only failures, errors, and the line
  saying a new run or study was begun (a mistyped --state or --study shows).
  Ctrl-C stops asking and waits for the running trials (Ctrl-C again aborts them, a third time
  kills them; they stay pending), saves the state, prints the best so far and the command that
  resumes, and exits 130. Each command runs in a process group of its own (not on Windows): a
  terminal's Ctrl-C reaches arqon alone, and a stop reaches what the command started.
  Prints {"best":{...},"evaluations":N,"pruned":N,"failures":[...],"stopped":B,"interrupted":B} when done.
  --storage redis://host:port --study <name> (instead of --state): one worker of a
  study shared through Redis; run the same command on other machines to share the budget. Once the
  budget is spent, a worker waits up to 60 s for the others' last results, then prints the study's
  best with "pending": how many trials were still without a result. Progress, --quiet and Ctrl-C
  work as above, except that a trial Ctrl-C stops is marked failed in the study (no worker waits
  for it); running the same command again joins the study. --stall-ms N: when the study can
  propose nothing until other workers' pending trials are told and it has not moved for N ms (did
  the worker holding them die?), stop, name them and exit 1; once the budget is spent, it also
  bounds the 60 s wait for the others' last results; off by default, so a worker waits for a slow
  study. --heartbeat-ms N (default 10000; 0 for none): the worker beats every N ms from a thread of
  its own; once it stops (killed, out of memory, a lost machine), the workers that wait for its
  trials mark them failed 3 N ms or more after its last beat. --timeout-ms N: how long Redis may take to connect and to
  answer each command (default 5000); a result Redis does not record is tried again for up to
  60 s. With a pruner, report lines
  go to the study's journal and every worker's pruner judges them alike (none without one).
  Intermediate values: each stdout line {"step":<whole number>,"value":<number>} (those two keys
  alone) before the last line is recorded for the trial (steps increasing).
  With a "pruner" in the config, a trial the pruner advises stopping gets SIGTERM (SIGKILL 5 s
  later) and is recorded as pruned, whatever its exit code; a command that exits on its own before the SIGTERM, with 0 and a value (not a
  report), completed (e.g. its output was block-buffered until its exit: flush each report line,
  python -u, for pruning to stop it early), and one whose output already ends in its value gets
  1 s to exit before the SIGTERM.`;

/** A trial whose command failed, as reported in the final JSON. */
interface FailedTrial {
  readonly id: number;
  readonly params: Record<string, ParamValue>;
  readonly error: string;
}

type TrialOutcome =
  | { readonly trial: Trial; readonly reading: ObjectiveReading }
  | { readonly trial: Trial; readonly pruned: true }
  | { readonly trial: Trial; readonly fatal: unknown };

/**
 * `arqon solve`: runs an objective command for every trial the solver asks, with bounded concurrency,
 * telling each value as soon as its command finishes.
 *
 * @remarks
 * The loop is the CLI's own over ask/tell (rather than `minimize`) so that the state is durable after
 * every ask and every tell: a run killed at any point resumes without losing a told result and
 * re-runs the trials that were in flight. With a decision-log state each ask and tell is appended and
 * fsynced as it happens (one small record, not a rewrite of the whole state); with a JSON state the
 * snapshot is rewritten atomically after each. Results are told in completion order, which depends on
 * timing when `--concurrency` > 1; with 1 the run is fully deterministic for a deterministic command.
 *
 * A failed trial under `skip` is marked failed in the solver (`solver.fail`), so it uses budget but
 * never blocks the run. Under `stop`, no new trial starts, the ones in flight finish and are told,
 * and the failed trial stays pending: rerunning with the same `--state` evaluates it again.
 *
 * The `--state` is locked for the whole run (see `lockState`): another command on the same state
 * waits up to 2 s and then fails naming this process, rather than interleaving with it.
 */
export async function solveCommand(argv: readonly string[], io: CliIo): Promise<SolveExit> {
  const split = splitAtDoubleDash(argv);
  const flags = parseFlags("solve", split.flags, {
    config: { type: "string" },
    state: { type: "string" },
    concurrency: { type: "string" },
    "on-error": { type: "string" },
    quiet: { type: "boolean" },
    storage: { type: "string" },
    study: { type: "string" },
    "stall-ms": { type: "string" },
    "heartbeat-ms": { type: "string" },
    "timeout-ms": { type: "string" },
    "trial-timeout-ms": { type: "string" },
  });
  if (flags.help === true) {
    io.stdout(`${SOLVE_USAGE}\n`);
    return 0;
  }
  const command = split.rest ?? [];
  if (command.length === 0) {
    throw usageError(
      "arqon solve: give the objective command after --, e.g. arqon solve --config c.json -- node f.js",
    );
  }
  const concurrency = optionalPositiveInt("solve", flags, "concurrency") ?? 1;
  const onError = optionalChoice("solve", flags, "on-error", ["stop", "skip"], "stop");
  const statePath = optionalNonEmpty("solve", flags, "state");
  const configPath = optionalNonEmpty("solve", flags, "config");
  const storage = optionalNonEmpty("solve", flags, "storage");
  const stallMs = optionalPositiveInt("solve", flags, "stall-ms");
  const timeoutMs = optionalTimerMs("solve", flags, "timeout-ms");
  const heartbeatMs = optionalHeartbeatMs(flags);
  const trialTimeoutMs = optionalTimerMs("solve", flags, "trial-timeout-ms");
  // Checked before any state is touched: a misspelt command changes nothing.
  const notStarted = programProblem(command[0]!, io.cwd, io.env);
  if (notStarted !== undefined) {
    throw usageError(`arqon solve: cannot run ${JSON.stringify(command[0])}: ${notStarted}`);
  }
  const quiet = flags.quiet === true;
  if (storage !== undefined) {
    if (statePath !== undefined) throw usageError("arqon solve: give --state or --storage, not both");
    const study = optionalNonEmpty("solve", flags, "study");
    const shared = {
      storage,
      study,
      configPath,
      concurrency,
      onError,
      quiet,
      stallMs,
      heartbeatMs,
      timeoutMs,
      trialTimeoutMs,
    };
    return await solveShared(command, shared, io);
  }
  for (const flag of ["stall-ms", "heartbeat-ms", "timeout-ms"])
    if (flags[flag] !== undefined)
      throw usageError(`arqon solve: --${flag} needs --storage (it applies to a shared study)`);
  const options: SolveOptions = { command, concurrency, onError, statePath, quiet, trialTimeoutMs };
  // Before the lock, which creates a missing directory: the message says what the user has.
  if (statePath !== undefined && configPath === undefined && !hasSavedState(io.cwd, statePath))
    throw missingStateError("solve", io.cwd, statePath);
  return await withLockedState("solve", io, statePath, async (held) => {
    const logLock = held?.logLock;
    const opened = openSolver("solve", io.cwd, { statePath, configPath, logLock });
    if (opened.grown > 0 && !quiet) io.stderr(`${grownNote(opened.grown, opened.solver)}\n`);
    // Before a log directory is created for it: a config this refuses leaves nothing behind.
    const problem = variableProblems(opened.solver.config.bounds);
    if (problem !== undefined) throw usageError(`arqon solve: ${problem}`);
    const solver =
      statePath === undefined ? opened.solver : attachStateLog(io.cwd, statePath, opened.solver, logLock);
    try {
      return await runSolve(solver, options, logLock, io, opened.created);
    } finally {
      if (isLoggedSolver(solver)) solver.closeLog();
    }
  });
}

/** `--heartbeat-ms`: 0 (no heartbeat) or a whole number of ms a study beats at, `undefined` when not given. */
function optionalHeartbeatMs(flags: FlagValues): number | undefined {
  const text = optionalString(flags, "heartbeat-ms");
  if (text === undefined) return undefined;
  const value = wholeNumberOf(text);
  if (!(value === 0 || (value >= MIN_HEARTBEAT_MS && value <= MAX_HEARTBEAT_MS)))
    throw usageError(
      `arqon solve: --heartbeat-ms must be 0 (no heartbeat) or a whole number of ms in [${MIN_HEARTBEAT_MS}, ${MAX_HEARTBEAT_MS}], got ${JSON.stringify(text)}`,
    );
  return value;
}

/** What `arqon solve` was asked to do, from its command line. */
interface SolveOptions {
  readonly command: readonly string[];
  readonly concurrency: number;
  readonly onError: "stop" | "skip";
  readonly statePath: string | undefined;
  readonly quiet: boolean;
  /** `--trial-timeout-ms`: a command running longer is stopped and its trial failed. */
  readonly trialTimeoutMs: number | undefined;
}

async function runSolve(
  solver: Solver,
  options: SolveOptions,
  logLock: FileLock | undefined,
  io: CliIo,
  created: boolean,
): Promise<SolveExit> {
  const { command, concurrency, onError, statePath } = options;
  const names = Object.keys(solver.config.bounds);
  // A logging solver has already made each call durable; a JSON state is rewritten after each.
  const save =
    statePath === undefined || isLoggedSolver(solver)
      ? () => {}
      : () => saveSolverState(io.cwd, statePath, solver, logLock);
  save();
  const progress = new SolveProgress(
    {
      write: io.stderr,
      terminal: io.stderrIsTerminal === true,
      quiet: options.quiet,
      now: io.now ?? (() => performance.now()),
      tick: everySecond,
    },
    solver,
  );
  // Said first, so that a mistyped --state (a run meant to resume) is seen before any trial runs.
  if (created && statePath !== undefined) progress.notice(newRunNote(io.cwd, statePath));
  const queue: Trial[] = solver.pendingTrials();
  if (queue.length > 0) progress.note(`resuming: re-running ${queue.length} pending trial(s) first`);

  let classified = solver.classification !== null;
  const noteClassification = () => {
    if (classified) return;
    const line = describeRefineStart(solver);
    if (line === undefined) return;
    classified = true;
    progress.note(line);
  };

  const running = new Map<number, Promise<TrialOutcome>>();
  const interrupts = new SolveInterrupts(
    progress,
    () => running.size,
    "they stay pending",
    io.now ?? (() => performance.now()),
  );

  const runTrial = async (trial: Trial): Promise<TrialOutcome> => {
    // A trial the pruner stopped before an interrupted run could record it: pruned, not run again.
    if (solver.shouldPrune(trial.id)) return { trial, pruned: true };
    // Set when the command must stop early: pruned, or a report line the solver refused.
    const stop = new AbortController();
    let refused: string | undefined;
    // A trial re-run after an interrupted run already holds the steps it reported then: a line
    // at one of those steps, in their order, is printed again and skipped (whatever its value: a
    // re-run need not be deterministic). Any other line goes to the solver as in a fresh run, so
    // a report it refused then is refused again.
    const earlier = solver.intermediateValues(trial.id);
    let next = 0;
    const onLine = (line: string) => {
      if (refused !== undefined) return; // the trial has failed: the rest is not its record
      const report = readReport(line);
      if (report === undefined) {
        const why = unreadReport(line);
        if (why !== undefined) progress.unreadReport(trial.id, line, why);
        return;
      }
      // Searched from `next` on: a re-run of n recorded steps then costs O(n), not O(n²).
      let seen = -1;
      for (let i = next; i < earlier.length; i++) {
        if (earlier[i]!.step === report.step) {
          seen = i;
          break;
        }
      }
      next = seen < 0 ? earlier.length : seen + 1;
      if (seen >= 0) return;
      try {
        solver.report(trial.id, report.step, report.value);
      } catch (error) {
        refused = `refused intermediate value ${line.trim()}: ${errorMessage(error).replace(/^report: /, "")}`;
        stop.abort();
        return;
      }
      if (solver.shouldPrune(trial.id)) stop.abort();
    };
    const stderr = new TrialStderr(trial.id, concurrency > 1, (text) => progress.passthrough(text));
    try {
      const read = await runObjectiveCommand({
        command,
        cwd: io.cwd,
        env: objectiveEnvironment(io.env, names, trial),
        onStderr: stderr.take,
        signal: interrupts.abortSignal,
        forceSignal: interrupts.killSignal,
        onLine,
        stopSignal: stop.signal,
        timeoutMs: options.trialTimeoutMs,
      });
      const reading = await interrupts.classify(read);
      // A refused report fails the trial even if the command went on to print a value.
      if (refused !== undefined) return { trial, reading: { ok: false, reason: refused } };
      if (reading.ok || reading.stopped !== true) return { trial, reading };
      return { trial, pruned: true };
    } catch (error) {
      return { trial, fatal: error };
    } finally {
      stderr.end();
    }
  };

  const unsubscribe = interrupts.listen(io);
  try {
    return await loop();
  } finally {
    unsubscribe();
    progress.finish();
  }

  async function loop(): Promise<SolveExit> {
    const failures: FailedTrial[] = [];
    let evaluations = 0;
    let pruned = 0;
    // Failures counted against the budget (--on-error skip); under stop the trial stays pending.
    let failuresCounted = 0;
    let stopReason: string | undefined;
    let fatal: unknown;
    let finished = false;
    let leftPending = 0;

    for (;;) {
      while (
        !interrupts.stopAsking &&
        stopReason === undefined &&
        fatal === undefined &&
        !finished &&
        running.size < concurrency
      ) {
        let trial = queue.shift();
        if (trial === undefined) {
          const batch = solver.ask({ max: concurrency - running.size });
          noteClassification();
          if (batch === null) {
            finished = true;
            break;
          }
          if (batch.length === 0) break; // the solver waits for results still running
          save();
          queue.push(...batch);
          trial = queue.shift()!;
        }
        running.set(trial.id, runTrial(trial));
        progress.started();
      }
      if (running.size === 0) break;

      const outcome = await Promise.race(running.values());
      running.delete(outcome.trial.id);
      const { trial } = outcome;
      if ("fatal" in outcome) {
        fatal ??= outcome.fatal;
        continue;
      }
      if ("pruned" in outcome) {
        solver.tell({ id: trial.id, pruned: true });
        pruned++;
        save();
        noteClassification();
        progress.finished(trial.id, { pruned: true });
        continue;
      }
      if (outcome.reading.ok) {
        solver.tell({ id: trial.id, value: outcome.reading.value });
        evaluations++;
        save();
        noteClassification();
        progress.finished(trial.id, { value: outcome.reading.value });
      } else if (interrupts.caused(outcome.reading)) {
        // Left pending, so resuming evaluates it again.
        leftPending++;
      } else {
        const reason = outcome.reading.reason;
        failures.push({ id: trial.id, params: { ...trial.params }, error: reason });
        progress.finished(trial.id, { failure: reason });
        if (onError === "skip") {
          // Counted against the budget, never the best; the strategy moves on.
          solver.fail(trial.id, reason);
          failuresCounted++;
          save();
          noteClassification();
        } else {
          // Left pending, so a rerun with the same --state evaluates it again.
          stopReason ??= `stopped after trial ${trial.id} failed (${reason})`;
        }
      }
    }

    if (fatal !== undefined)
      throw fatal instanceof CliError ? fatal : runtimeError(`arqon solve: ${errorMessage(fatal)}`);
    progress.finish();
    if (interrupts.stopAsking) {
      save();
      const best = solver.best();
      io.stdout(
        `${JSON.stringify({ best, evaluations, pruned, failures, stopped: true, interrupted: true })}\n`,
      );
      const unfinished = leftPending > 0 ? `${leftPending} left pending` : undefined;
      const saved = options.statePath === undefined ? "" : "state saved; ";
      io.stderr(
        `${describeInterrupt(solver, evaluations + pruned + failuresCounted, unfinished, `${saved}${howToResume(options)}`)}\n`,
      );
      return interrupts.exitCode;
    }
    if (!finished && stopReason === undefined) {
      // Defensive: nothing running and the solver proposes nothing, yet it is not done.
      const waiting = solver
        .pendingTrials()
        .map((t) => t.id)
        .join(", ");
      stopReason = `the solver proposes no trial while waiting for pending trial(s) [${waiting}]`;
    }
    const best = solver.best();
    io.stdout(
      `${JSON.stringify({ best, evaluations, pruned, failures, stopped: stopReason !== undefined, interrupted: false })}\n`,
    );
    if (stopReason !== undefined) {
      io.stderr(`arqon solve: ${stopReason}; ${howToResume(options)}\n`);
      return 1;
    }
    if (best === null) {
      io.stderr("arqon solve: no trial produced a value\n");
      return 1;
    }
    progress.note(`done: ${describeProgress(solver)}`);
    return 0;
  }
}

/** The exact command that continues this run, or why there is none (no --state). */
function howToResume(options: SolveOptions): string {
  if (options.statePath === undefined) return "nothing was saved (no --state), so the run cannot be resumed";
  const flags = ["--state", options.statePath];
  if (options.concurrency !== 1) flags.push("--concurrency", String(options.concurrency));
  if (options.onError !== "stop") flags.push("--on-error", options.onError);
  if (options.quiet) flags.push("--quiet");
  if (options.trialTimeoutMs !== undefined) flags.push("--trial-timeout-ms", String(options.trialTimeoutMs));
  return `resume with: ${["arqon", "solve", ...flags, "--", ...options.command].map(shellWord).join(" ")}`;
}

/** `word` as a POSIX shell word: bare when it is safe, else single-quoted. */
export function shellWord(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
