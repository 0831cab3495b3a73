import { isLoggedSolver } from "../log/solver-log.js";
import { optionalNonEmpty, optionalPositiveInt, parseFlags, requiredString } from "./args.js";
import { askShared } from "./ask-shared.js";
import { usageError } from "./cli-error.js";
import type { CliIo } from "./io.js";
import { grownNote, missingStateError, newRunNote, openSolver } from "./open-solver.js";
import { plainTrial } from "./plain-trial.js";
import { describeProgress, describeRefineStart } from "./progress.js";
import { refuseSharedStudyFlags, sharedStudyFlags } from "./shared-study-open.js";
import { hasSavedState, saveSolverState } from "./state-file.js";
import { withLockedState } from "./state-lock.js";

/** Help text of `arqon ask`. */
export const ASK_USAGE = `arqon ask --state <dir>|<state.json> [--config <config.json>] [--batch N]
arqon ask --storage redis://… --study <name> [--timeout-ms N] --config <config.json> [--batch N]
  Asks the solver for trials and records them as pending in the state (created from --config when
  missing; a directory is a decision log, a .json path a snapshot). Prints
  {"trials":[{"id":1,"params":{...}},...]}, {"trials":[]} when it must wait for pending results,
  or {"trials":null,"done":true} when there is nothing more to ask (with "pending":[ids] while
  trials asked earlier are still to be told).
  With --storage, reserves them in the shared study --study (created, or joined with the same
  --config as its other workers): one trial unless --batch says more. Tell them with
  arqon tell --storage; report intermediate values with arqon report --storage.
  --timeout-ms N: how long Redis may take to connect and to answer each command (default 5000).`;

/**
 * `arqon ask`: one `ask()` on the solver saved in `--state`, persisted again before printing, so the
 * pending trials and the strategy's internal state carry over to the next invocation.
 *
 * @remarks
 * The state is locked from before it is read until it is saved (see `lockState`): a concurrent
 * `ask`, `tell` or `solve` on the same state waits for it (up to 2 s), so no trial is handed out
 * twice and no result is lost.
 */
export async function askCommand(argv: readonly string[], io: CliIo): Promise<0> {
  const flags = parseFlags("ask", argv, {
    state: { type: "string" },
    config: { type: "string" },
    batch: { type: "string" },
    storage: { type: "string" },
    study: { type: "string" },
    "timeout-ms": { type: "string" },
  });
  if (flags.help === true) {
    io.stdout(`${ASK_USAGE}\n`);
    return 0;
  }
  const batch = optionalPositiveInt("ask", flags, "batch");
  const configPath = optionalNonEmpty("ask", flags, "config");
  const storage = optionalNonEmpty("ask", flags, "storage");
  if (storage !== undefined) {
    if (flags.state !== undefined) throw usageError("arqon ask: give --state or --storage, not both");
    const shared = sharedStudyFlags("ask", flags, storage);
    if (configPath === undefined)
      throw usageError(
        "arqon ask: --storage needs --config (the study's configuration, to begin it or to check it)",
      );
    return askShared(shared, configPath, batch, io);
  }
  refuseSharedStudyFlags("ask", flags);
  const statePath = requiredString("ask", flags, "state");
  // Before the lock, which creates a missing directory: the message says what the user has.
  if (configPath === undefined && !hasSavedState(io.cwd, statePath))
    throw missingStateError("ask", io.cwd, statePath);
  const { solver, trials } = await withLockedState("ask", io, statePath, (held) => {
    const { solver, created, grown } = openSolver("ask", io.cwd, {
      statePath,
      configPath,
      logLock: held?.logLock,
    });
    if (created) io.stderr(`${newRunNote(io.cwd, statePath)}\n`);
    if (grown > 0) io.stderr(`${grownNote(grown, solver)}\n`);
    try {
      const wasClassified = solver.classification !== null;
      const trials = solver.ask(batch === undefined ? {} : { max: batch });
      if (!wasClassified) {
        const refine = describeRefineStart(solver);
        if (refine !== undefined) io.stderr(`${refine}\n`);
      }
      // Save before printing: a trial printed but not recorded could never be told.
      if (created || grown > 0 || (trials !== null && trials.length > 0))
        saveSolverState(io.cwd, statePath, solver, held?.logLock);
      return { solver, trials };
    } finally {
      if (isLoggedSolver(solver)) solver.closeLog();
    }
  });

  if (trials === null) {
    // Nothing more to ask; trials handed out earlier may still be running, and the best is not
    // final until they are told.
    const pending = solver.pendingTrials().map((t) => t.id);
    const still =
      pending.length === 0 ? "" : `; tell pending trial(s) ${pending.join(", ")} before reading the best`;
    io.stderr(`done: ${describeProgress(solver)}${still}\n`);
    io.stdout(
      `${JSON.stringify({ trials: null, done: true, ...(pending.length === 0 ? {} : { pending }) })}\n`,
    );
    return 0;
  }
  if (trials.length === 0) {
    const pending = solver.pendingTrials().map((t) => t.id);
    io.stderr(`waiting: tell the results of pending trial(s) ${pending.join(", ")} before asking again\n`);
  } else {
    io.stderr(`asked ${trials.length} trial(s): ${describeProgress(solver)}\n`);
  }
  io.stdout(`${JSON.stringify({ trials: trials.map(plainTrial) })}\n`);
  return 0;
}
