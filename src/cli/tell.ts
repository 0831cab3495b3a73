import { type ResultIssue, ResultsRejectedError } from "../errors.js";
import { isLoggedSolver } from "../log/solver-log.js";
import type { Solver, Told, TrialStatus } from "../solver/solver.js";
import { optionalNonEmpty, parseFlags, requiredString } from "./args.js";
import { usageError } from "./cli-error.js";
import type { CliIo } from "./io.js";
import { parseJsonText, readJsonFile } from "./json-input.js";
import { missingStateError, openSolver } from "./open-solver.js";
import { describeProgress, describeRefineStart } from "./progress.js";
import { type FailedEntry, parseResults } from "./results-input.js";
import { refuseSharedStudyFlags, sharedStudyFlags } from "./shared-study-open.js";
import { hasSavedState, saveSolverState } from "./state-file.js";
import { withLockedState } from "./state-lock.js";
import { tellShared } from "./tell-shared.js";

/** Help text of `arqon tell`. */
export const TELL_USAGE = `arqon tell --state <dir>|<state.json> [--results <results.json>]
arqon tell --storage redis://… --study <name> [--timeout-ms N] [--config <config.json>] [--results <results.json>]
  Tells results to the solver saved in --state, all or nothing (a decision-log directory gets one
  fsynced tell record, and a fail record per failed trial; a .json snapshot is rewritten). Results (from --results or stdin) are
  an array of {"id":N,"value":X,"cost"?:C} for asked trials, {"params":{...},"value":X} for outside
  points, {"id":N,"pruned":true,"value"?:X} for a trial stopped early, or {"id":N,"failed":"reason"}
  for one whose evaluation failed. Prints {"told":N,"pruned":P,"failed":M,"best":{...}} (N values).
  With --storage, tells them to the existing shared study --study (checked against --config when
  given; a study that does not exist is refused, not created): e.g. to fail the trials a worker
  that died left pending.
  --timeout-ms N: how long Redis may take to connect and to answer each command (default 5000).`;

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
  const flags = parseFlags("tell", argv, {
    state: { type: "string" },
    results: { type: "string" },
    storage: { type: "string" },
    study: { type: "string" },
    "timeout-ms": { type: "string" },
    config: { type: "string" },
  });
  if (flags.help === true) {
    io.stdout(`${TELL_USAGE}\n`);
    return 0;
  }
  const storage = optionalNonEmpty("tell", flags, "storage");
  const resultsPath = optionalNonEmpty("tell", flags, "results");
  if (storage !== undefined) {
    if (flags.state !== undefined) throw usageError("arqon tell: give --state or --storage, not both");
    const shared = sharedStudyFlags("tell", flags, storage);
    const configPath = optionalNonEmpty("tell", flags, "config");
    return tellShared(parseResults(await readResults(io, resultsPath)), shared, configPath, io);
  }
  refuseSharedStudyFlags("tell", flags);
  if (flags.config !== undefined)
    throw usageError("arqon tell: --config needs --storage (a --state holds its own configuration)");
  const statePath = requiredString("tell", flags, "state");
  // A missing state is reported before any input is read.
  if (!hasSavedState(io.cwd, statePath)) throw missingStateError("tell", io.cwd, statePath);

  const { told: results, toldAt, failed } = parseResults(await readResults(io, resultsPath));

  const { solver, wasClassified } = await withLockedState("tell", io, statePath, (held) => {
    const { solver } = openSolver("tell", io.cwd, { statePath, logLock: held?.logLock });
    try {
      const wasClassified = solver.classification !== null;
      // Every failure is checked before anything is recorded: all or nothing, failures included.
      const pending = new Set(solver.pendingTrials().map((trial) => trial.id));
      const refused = failureProblems(pending, results, failed, (id) => notPending(solver, id));
      if (refused.length > 0)
        throw usageError(`arqon tell: results refused, nothing was told: ${refused.join("; ")}`);
      try {
        if (results.length > 0) solver.tell(results);
      } catch (error) {
        if (error instanceof ResultsRejectedError) {
          const reason = inputNamed(error.issues, toldAt);
          throw usageError(`arqon tell: results refused, nothing was told: ${reason}`);
        }
        throw error;
      }
      for (const { id, reason } of failed) solver.fail(id, reason);
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
  const counts = toldCounts(results, failed.length);
  io.stderr(`${counts.line}: ${describeProgress(solver)}\n`);
  io.stdout(`${JSON.stringify({ ...counts.json, best: solver.best() })}\n`);
  return 0;
}

/** The results JSON, from `--results` or stdin. */
async function readResults(io: CliIo, resultsPath: string | undefined): Promise<unknown> {
  if (resultsPath !== undefined) return readJsonFile(io.cwd, resultsPath, "results", NON_FINITE_RESULT);
  if (io.stdinIsTerminal)
    throw usageError("arqon tell: pass --results <file> or pipe the results JSON on stdin");
  return parseJsonText(await io.readStdin(), "results on stdin", NON_FINITE_RESULT);
}

/** What to tell instead of a NaN or an infinite value. */
const NON_FINITE_RESULT = 'a value is finite, and a trial that produced none is {"id": N, "failed": "why"}';

/**
 * Why the failed trials of a batch cannot all be marked failed (each must be pending, once, and
 * not also told in the batch), one problem per entry; empty when they can. `notPending` says why
 * a trial that is not pending cannot fail.
 */
export function failureProblems(
  pending: ReadonlySet<number>,
  told: readonly Told[],
  failed: readonly FailedEntry[],
  notPending: (id: number) => string,
): string[] {
  const toldIds = new Set(told.flatMap((result) => ("id" in result ? [result.id] : [])));
  const seen = new Set<number>();
  const problems: string[] = [];
  for (const { path, id } of failed) {
    if (!pending.has(id)) problems.push(`${path}.id: trial ${id} ${notPending(id)}`);
    else if (toldIds.has(id) || seen.has(id))
      problems.push(`${path}.id: trial ${id} appears twice in these results`);
    seen.add(id);
  }
  return problems;
}

/** Why trial `id`, which is not pending, cannot fail. */
export function notPending(solver: Pick<Solver, "trialStatus">, id: number): string {
  let status: TrialStatus;
  try {
    status = solver.trialStatus(id);
  } catch {
    return "was never asked";
  }
  return status === "failed"
    ? "was already marked failed"
    : status === "pruned"
      ? "was already told pruned"
      : "was already told";
}

/**
 * What a tell did, counted as `arqon status` counts trials: values told, trials told pruned, and
 * trials marked failed (a pruned entry is not a told value).
 */
export function toldCounts(
  results: readonly Told[],
  failed: number,
): { readonly json: { told: number; pruned: number; failed: number }; readonly line: string } {
  const pruned = results.filter((result) => "pruned" in result && result.pruned === true).length;
  const told = results.length - pruned;
  const parts = [`told ${told} result(s)`];
  if (pruned > 0) parts.push(`${pruned} pruned`);
  if (failed > 0) parts.push(`marked ${failed} failed`);
  return { json: { told, pruned, failed }, line: parts.join(", ") };
}

/**
 * The solver's refusal with each entry named as the input names it (`results[i]`): the failed
 * trials were taken out before the solver saw the rest, so its positions are not the input's.
 */
export function inputNamed(issues: readonly ResultIssue[], toldAt: readonly number[]): string {
  return issues.map(({ index, path, message }) => `results[${toldAt[index]}]${path}: ${message}`).join("; ");
}
