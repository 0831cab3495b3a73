import { type Classification, hasEvidence } from "../solver/classify.js";
import { optionalNonEmpty, parseFlags, requiredString } from "./args.js";
import { usageError } from "./cli-error.js";
import type { CliIo } from "./io.js";
import { openSolver } from "./open-solver.js";
import { plainTrial } from "./plain-trial.js";
import { countUntold } from "./progress.js";
import { refuseSharedStudyFlags, sharedStudyFlags } from "./shared-study-open.js";
import { statusShared } from "./status-shared.js";

/** Help text of `arqon status`. */
export const STATUS_USAGE = `arqon status --state <dir>|<state.json>
arqon status --storage redis://… --study <name> [--timeout-ms N]
  Prints where a saved run stands: {"phase","asked","told","pruned","failed","budget","best","pending",
  "classification","strategy"}. A pruned or failed trial is not told. The classification is null
  until the probe is complete, {"label","score","statistic"} once classified, and {"label":"not
  classified","statistic"} when the probe could not be judged. Does not change the state.
  With --storage, where the shared study --study stands, under its own configuration:
  {"study","asked","told","pruned","failed","budget","best","pending","workers"}, each pending trial
  with the worker holding it ({"id","params","worker"}), and each such worker with its trials and
  heartbeat ({"worker","trials","heartbeat":{"everyMs","lastBeatMsAgo"}}, heartbeat null without
  one, lastBeatMsAgo null when Redis holds no beat of it); writes nothing, and a study that does
  not exist is refused.
  --timeout-ms N: how long Redis may take to connect and to answer each command (default 5000).`;

/** `arqon status`: a read-only JSON summary of a saved solver, including its pending trials. */
export function statusCommand(argv: readonly string[], io: CliIo): 0 | Promise<0> {
  const flags = parseFlags("status", argv, {
    state: { type: "string" },
    storage: { type: "string" },
    study: { type: "string" },
    "timeout-ms": { type: "string" },
  });
  if (flags.help === true) {
    io.stdout(`${STATUS_USAGE}\n`);
    return 0;
  }
  const storage = optionalNonEmpty("status", flags, "storage");
  if (storage !== undefined) {
    if (flags.state !== undefined) throw usageError("arqon status: give --state or --storage, not both");
    const shared = sharedStudyFlags("status", flags, storage);
    return statusShared(shared, io);
  }
  refuseSharedStudyFlags("status", flags);
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
      classification: shownClassification(solver.classification),
      strategy: solver.strategyName,
    })}\n`,
  );
  return 0;
}

/**
 * The classification as status prints it: a probe that could not be judged (too few values, or all
 * equal) carries the label "chaotic" and score 0 by convention, which would claim a finding the
 * probe did not make; it reads "not classified", with the reason, as the line solve prints says.
 */
function shownClassification(
  classification: Classification | null,
): Classification | { readonly label: "not classified"; readonly statistic: string } | null {
  if (classification === null || hasEvidence(classification)) return classification;
  return { label: "not classified", statistic: classification.statistic };
}
