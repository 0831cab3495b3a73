import { parseFlags, requiredString } from "./args.js";
import type { CliIo } from "./io.js";
import { openSolver } from "./open-solver.js";
import { plainTrial } from "./plain-trial.js";
import { countUntold } from "./progress.js";

/** Help text of `arqon status`. */
export const STATUS_USAGE = `arqon status --state <dir>|<state.json>
  Prints where a saved run stands: {"phase","asked","told","pruned","failed","budget","best","pending",
  "classification","strategy"}. A pruned or failed trial is not told. Does not change the state.`;

/** `arqon status`: a read-only JSON summary of a saved solver, including its pending trials. */
export function statusCommand(argv: readonly string[], io: CliIo): 0 {
  const flags = parseFlags("status", argv, { state: { type: "string" } });
  if (flags.help === true) {
    io.stdout(`${STATUS_USAGE}\n`);
    return 0;
  }
  const { solver } = openSolver("status", io.cwd, { statePath: requiredString("status", flags, "state") });
  io.stdout(
    `${JSON.stringify({
      phase: solver.phase,
      asked: solver.asked,
      told: solver.told,
      ...countUntold(solver),
      budget: solver.config.budget,
      best: solver.best(),
      pending: solver.pendingTrials().map(plainTrial),
      classification: solver.classification,
      strategy: solver.strategyName,
    })}\n`,
  );
  return 0;
}
