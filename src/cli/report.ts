import { UsageError } from "../errors.js";
import { isLoggedSolver } from "../log/solver-log.js";
import { optionalNonEmpty, parseFlags, requiredString, wholeNumberOf } from "./args.js";
import { usageError } from "./cli-error.js";
import type { CliIo } from "./io.js";
import { missingStateError, openSolver } from "./open-solver.js";
import { reportShared } from "./report-shared.js";
import { refuseSharedStudyFlags, sharedStudyFlags } from "./shared-study-open.js";
import { hasSavedState, saveSolverState } from "./state-file.js";
import { withLockedState } from "./state-lock.js";
import { notPending } from "./tell.js";

/** Help text of `arqon report`. */
export const REPORT_USAGE = `arqon report --state <dir>|<state.json> --id <trial> --step <n> --value <x>
arqon report --storage redis://… --study <name> [--timeout-ms N] [--config <config.json>] --id <trial> --step <n> --value <x>
  Records an intermediate value of a pending trial, for pruning in a loop driven by arqon ask and
  arqon tell: --step is a whole number after the trial's previous one, --value lower is better (or
  higher under "direction": "maximize"). Prints {"prune":true|false}, whether the config's pruner
  advises stopping the trial (always false without one). On true, stop it and tell
  {"id":N,"pruned":true}; otherwise go on, report again, and tell its final value. A decision-log
  state gets one fsynced report record; a .json snapshot is rewritten. The same step and value
  again (a retry) is answered without being recorded twice. A value that starts with a dash is
  written --value=-0.5. With --storage, the value goes to the existing shared study --study (a
  trial asked with arqon ask --storage), whose pruner every worker runs alike; --config, when
  given, is checked against the study's. A study without a pruner records nothing (it says so).
  --timeout-ms N: how long Redis may take to connect and to answer each command (default 5000).`;

/** A decimal number as the value of a flag: sign, fraction and exponent allowed, nothing else. */
const DECIMAL = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * `arqon report`: records one intermediate value of a pending trial in the saved solver, and says
 * whether its pruner advises stopping the trial.
 *
 * @remarks
 * The state is locked from before it is read until it is saved, as for `arqon tell`. A refused
 * report (a trial that is not pending, a step not after the previous one) exits 2 and records
 * nothing.
 */
export async function reportCommand(argv: readonly string[], io: CliIo): Promise<0> {
  const flags = parseFlags("report", argv, {
    state: { type: "string" },
    id: { type: "string" },
    step: { type: "string" },
    value: { type: "string" },
    storage: { type: "string" },
    study: { type: "string" },
    "timeout-ms": { type: "string" },
    config: { type: "string" },
  });
  if (flags.help === true) {
    io.stdout(`${REPORT_USAGE}\n`);
    return 0;
  }
  const storage = optionalNonEmpty("report", flags, "storage");
  if (storage !== undefined) {
    if (flags.state !== undefined) throw usageError("arqon report: give --state or --storage, not both");
    const shared = sharedStudyFlags("report", flags, storage);
    return reportShared(shared, optionalNonEmpty("report", flags, "config"), reportFlags(flags), io);
  }
  refuseSharedStudyFlags("report", flags);
  if (flags.config !== undefined)
    throw usageError("arqon report: --config needs --storage (a --state holds its own configuration)");
  const statePath = requiredString("report", flags, "state");
  const { id, step, value } = reportFlags(flags);
  // A missing state is reported before anything else.
  if (!hasSavedState(io.cwd, statePath)) throw missingStateError("report", io.cwd, statePath);

  const prune = await withLockedState("report", io, statePath, (held) => {
    const { solver } = openSolver("report", io.cwd, { statePath, logLock: held?.logLock });
    try {
      if (!solver.pendingTrials().some((trial) => trial.id === id))
        throw usageError(`arqon report: trial ${id} ${notPending(solver, id)}: nothing was recorded`);
      // The same report again (a retry after a failure to save, or to read the answer once more):
      // answered again, recorded once.
      const last = solver.intermediateValues(id).at(-1);
      if (last !== undefined && last.step === step && Object.is(last.value, value))
        return solver.shouldPrune(id);
      try {
        solver.report(id, step, value);
      } catch (error) {
        if (error instanceof UsageError) throw usageError(`arqon ${error.message}: nothing was recorded`);
        throw error;
      }
      saveSolverState(io.cwd, statePath, solver, held?.logLock);
      return solver.shouldPrune(id);
    } finally {
      if (isLoggedSolver(solver)) solver.closeLog();
    }
  });
  io.stdout(`${JSON.stringify({ prune })}\n`);
  return 0;
}

/** The trial, step and value of the report, or a usage error naming the flag at fault. */
function reportFlags(flags: Parameters<typeof requiredString>[1]): {
  id: number;
  step: number;
  value: number;
} {
  const id = wholeNumberFlag(flags, "id");
  const step = wholeNumberFlag(flags, "step");
  const valueText = requiredString("report", flags, "value");
  // The minus sign U+2212 is a minus, as in the values arqon solve reads.
  const decimal = valueText.trim().replaceAll("\u2212", "-");
  const value = DECIMAL.test(decimal) ? Number(decimal) : Number.NaN;
  if (!Number.isFinite(value))
    throw usageError(
      `arqon report: --value must be a finite decimal number, got ${JSON.stringify(valueText)}`,
    );
  return { id, step, value };
}

/** Flag `name` as a whole number ≥ 0, or a usage error naming it. */
function wholeNumberFlag(flags: Parameters<typeof requiredString>[1], name: string): number {
  const text = requiredString("report", flags, name);
  const value = wholeNumberOf(text);
  if (Number.isNaN(value))
    throw usageError(`arqon report: --${name} must be a whole number >= 0, got ${JSON.stringify(text)}`);
  return value;
}
