import type { Solver, Trial } from "../index.js";
import type { FileLock } from "../log/lock.js";
import { isLoggedSolver } from "../log/solver-log.js";
import {
  optionalChoice,
  optionalPositiveInt,
  optionalString,
  parseFlags,
  splitAtDoubleDash,
} from "./args.js";
import { CliError, runtimeError, usageError } from "./cli-error.js";
import { trialVariables, variableClashes } from "./env-names.js";
import type { CliIo } from "./io.js";
import type { ObjectiveReading } from "./objective-output.js";
import { openSolver } from "./open-solver.js";
import { describeProgress, describeRefineStart, formatValue } from "./progress.js";
import { runObjectiveCommand } from "./run-command.js";
import { solveShared } from "./solve-shared.js";
import { attachStateLog, saveSolverState } from "./state-file.js";
import { withLockedState } from "./state-lock.js";

/** Help text of `arqon solve`. */
export const SOLVE_USAGE = `arqon solve --config <config.json> [--state <dir>|<state.json> | --storage redis://… --study <name>] [--concurrency N] [--on-error stop|skip] -- <command> [args...]
  Minimises the value printed by <command>, run once per trial (directly, no shell) with ARQON_<NAME>
  set for each parameter (name upper-cased, other characters -> _) and ARQON_TRIAL_ID. The value is
  the last number on the last non-empty stdout line ("RESULT=0.99" -> 0.99). A non-zero exit or no
  number fails the trial: --on-error stop (default) ends the run with exit 1, skip goes on.
  With --state the run survives a kill; rerunning with the same --state resumes, pending trials first.
  A directory (any path not ending in .json) is a decision log: every ask and told result is written
  and fsynced before it takes effect. A .json path is a snapshot rewritten after every ask and tell.
  The --state stays locked for the whole run: an ask, tell or solve on it waits up to 2 s, then exits 1.
  Prints {"best":{...},"evaluations":N,"failures":[...]} when done.
  --storage redis://host:port --study <name> (instead of --state): this process is one worker of a
  study shared through Redis; run the same command on other machines to share the budget.`;

/** A trial whose command failed, as reported in the final JSON. */
interface FailedTrial {
  readonly id: number;
  readonly params: Record<string, number>;
  readonly error: string;
}

type TrialOutcome =
  | { readonly trial: Trial; readonly reading: ObjectiveReading }
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
export async function solveCommand(argv: readonly string[], io: CliIo): Promise<0 | 1> {
  const split = splitAtDoubleDash(argv);
  const flags = parseFlags("solve", split.flags, {
    config: { type: "string" },
    state: { type: "string" },
    concurrency: { type: "string" },
    "on-error": { type: "string" },
    storage: { type: "string" },
    study: { type: "string" },
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
  const statePath = optionalString(flags, "state");
  const configPath = optionalString(flags, "config");
  const storage = optionalString(flags, "storage");
  if (storage !== undefined) {
    if (statePath !== undefined) throw usageError("arqon solve: give --state or --storage, not both");
    const study = optionalString(flags, "study");
    return await solveShared(command, { storage, study, configPath, concurrency, onError }, io);
  }
  return await withLockedState("solve", io, statePath, async (held) => {
    const logLock = held?.logLock;
    const opened = openSolver("solve", io.cwd, { statePath, configPath, logLock });
    const solver =
      statePath === undefined ? opened.solver : attachStateLog(io.cwd, statePath, opened.solver, logLock);
    try {
      return await runSolve(solver, command, concurrency, onError, statePath, logLock, io);
    } finally {
      if (isLoggedSolver(solver)) solver.closeLog();
    }
  });
}

async function runSolve(
  solver: Solver,
  command: readonly string[],
  concurrency: number,
  onError: "stop" | "skip",
  statePath: string | undefined,
  logLock: FileLock | undefined,
  io: CliIo,
): Promise<0 | 1> {
  const clashes = variableClashes(Object.keys(solver.config.bounds));
  if (clashes.length > 0)
    throw usageError(`arqon solve: ambiguous environment variables: ${clashes.join("; ")}`);

  // A logging solver has already made each call durable; a JSON state is rewritten after each.
  const save =
    statePath === undefined || isLoggedSolver(solver)
      ? () => {}
      : () => saveSolverState(io.cwd, statePath, solver, logLock);
  save();
  const queue: Trial[] = solver.pendingTrials();
  if (queue.length > 0) io.stderr(`resuming: re-running ${queue.length} pending trial(s) first\n`);

  let classified = solver.classification !== null;
  const noteClassification = () => {
    if (classified) return;
    const line = describeRefineStart(solver);
    if (line === undefined) return;
    classified = true;
    io.stderr(`${line}\n`);
  };

  const runTrial = async (trial: Trial): Promise<TrialOutcome> => {
    try {
      const reading = await runObjectiveCommand({
        command,
        cwd: io.cwd,
        env: { ...io.env, ...trialVariables(trial.id, trial.params) },
        onStderr: io.stderr,
      });
      return { trial, reading };
    } catch (error) {
      return { trial, fatal: error };
    }
  };

  const running = new Map<number, Promise<TrialOutcome>>();
  const failures: FailedTrial[] = [];
  let evaluations = 0;
  let stopReason: string | undefined;
  let fatal: unknown;
  let finished = false;

  for (;;) {
    while (stopReason === undefined && fatal === undefined && !finished && running.size < concurrency) {
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
    }
    if (running.size === 0) break;

    const outcome = await Promise.race(running.values());
    running.delete(outcome.trial.id);
    const { trial } = outcome;
    if ("fatal" in outcome) {
      fatal ??= outcome.fatal;
      continue;
    }
    if (outcome.reading.ok) {
      solver.tell({ id: trial.id, value: outcome.reading.value });
      evaluations++;
      save();
      noteClassification();
      io.stderr(`trial ${trial.id}: ${formatValue(outcome.reading.value)} (${describeProgress(solver)})\n`);
    } else {
      const reason = outcome.reading.reason;
      failures.push({ id: trial.id, params: { ...trial.params }, error: reason });
      io.stderr(`trial ${trial.id} failed: ${reason}\n`);
      if (onError === "skip") {
        // Counted against the budget, never the best; the strategy moves on.
        solver.fail(trial.id, reason);
        save();
        noteClassification();
      } else {
        // Left pending, so a rerun with the same --state evaluates it again.
        stopReason ??= `trial ${trial.id} failed (${reason}); stopped`;
      }
    }
  }

  if (fatal !== undefined) throw fatal instanceof CliError ? fatal : runtimeError(String(fatal));
  if (!finished && stopReason === undefined) {
    // Defensive: nothing running and the solver proposes nothing, yet it is not done.
    const waiting = solver
      .pendingTrials()
      .map((t) => t.id)
      .join(", ");
    stopReason = `the solver proposes no trial while waiting for pending trial(s) [${waiting}]`;
  }
  const best = solver.best();
  io.stdout(`${JSON.stringify({ best, evaluations, failures, stopped: stopReason !== undefined })}\n`);
  if (stopReason !== undefined) {
    io.stderr(
      `arqon solve: ${stopReason}${statePath === undefined ? "" : `; rerun with --state ${statePath} to resume`}\n`,
    );
    return 1;
  }
  if (best === null) {
    io.stderr("arqon solve: no trial produced a value\n");
    return 1;
  }
  io.stderr(`done: ${describeProgress(solver)}\n`);
  return 0;
}
