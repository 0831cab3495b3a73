import { UsageError } from "../index.js";
import { isLoggedSolver } from "../log/solver-log.js";
import { optionalNonEmpty, parseFlags, requiredString } from "./args.js";
import { oneLine, usageError } from "./cli-error.js";
import type { CliIo } from "./io.js";
import { parseJsonText, readJsonFile } from "./json-input.js";
import { openSolver } from "./open-solver.js";
import { describeProgress, describeRefineStart } from "./progress.js";
import { parseResults } from "./results-input.js";
import { hasSavedState, saveSolverState } from "./state-file.js";
import { withLockedState } from "./state-lock.js";

/** Help text of `arqon tell`. */
export const TELL_USAGE = `arqon tell --state <dir>|<state.json> [--results <results.json>]
  Tells results to the solver saved in --state, all or nothing (a decision-log directory gets one
  fsynced tell record; a .json snapshot is rewritten). Results (from --results or stdin) are
  an array of {"id":N,"value":X,"cost"?:C} for asked trials, {"params":{...},"value":X} for outside
  points, {"id":N,"pruned":true,"value"?:X} for a trial stopped early, or {"id":N,"failed":"reason"}
  for one whose evaluation failed. Prints {"told":N,"best":{"params":{...},"value":X}}.`;

/**
 * `arqon tell`: applies results to the saved solver and saves it again.
 *
 * @remarks
 * All or nothing: the shape of every result is checked first, then the solver validates ids and
 * bounds and refuses the whole batch on any problem. A refusal exits 2 and leaves the state
 * untouched (not even rewritten). With a decision-log state the accepted batch is one tell record,
 * written and fsynced before the command reports success. The results are read first; then the
 * state is locked from before it is read until it is saved (see `lockState`), so concurrent tells on
 * one state run one after the other (a second waits up to 2 s) and each sees the other's results.
 */
export async function tellCommand(argv: readonly string[], io: CliIo): Promise<0> {
  const flags = parseFlags("tell", argv, { state: { type: "string" }, results: { type: "string" } });
  if (flags.help === true) {
    io.stdout(`${TELL_USAGE}\n`);
    return 0;
  }
  const statePath = requiredString("tell", flags, "state");
  const resultsPath = optionalNonEmpty("tell", flags, "results");
  // A missing state is reported before any input is read (openSolver throws the usage error).
  if (!hasSavedState(io.cwd, statePath)) openSolver("tell", io.cwd, { statePath });

  let input: unknown;
  if (resultsPath !== undefined) {
    input = readJsonFile(io.cwd, resultsPath, "results");
  } else {
    if (io.stdinIsTerminal)
      throw usageError("arqon tell: pass --results <file> or pipe the results JSON on stdin");
    input = parseJsonText(await io.readStdin(), "results on stdin");
  }
  const results = parseResults(input);

  const { solver, wasClassified } = await withLockedState("tell", io, statePath, (held) => {
    const { solver } = openSolver("tell", io.cwd, { statePath, logLock: held?.logLock });
    try {
      const wasClassified = solver.classification !== null;
      try {
        solver.tell(results);
      } catch (error) {
        if (error instanceof UsageError)
          throw usageError(`arqon tell: results refused, nothing was told: ${withoutLead(error.message)}`);
        throw error;
      }
      saveSolverState(io.cwd, statePath, solver, held?.logLock);
      return { solver, wasClassified };
    } finally {
      if (isLoggedSolver(solver)) solver.closeLog();
    }
  });
  if (!wasClassified) {
    const refine = describeRefineStart(solver);
    if (refine !== undefined) io.stderr(`${refine}\n`);
  }
  io.stderr(`told ${results.length} result(s): ${describeProgress(solver)}\n`);
  io.stdout(`${JSON.stringify({ told: results.length, best: solver.best() })}\n`);
  return 0;
}

/** The solver's refusal without its own lead-in, which would repeat "nothing was told". */
function withoutLead(message: string): string {
  return oneLine(message).replace(/^tell rejected; nothing was recorded: /, "");
}
