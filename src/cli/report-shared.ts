import { errorMessage, UsageError } from "../errors.js";
import { runtimeError, usageError } from "./cli-error.js";
import type { CliIo } from "./io.js";
import { openStudyForCli, type SharedStudyFlags } from "./shared-study-open.js";
import { notPending } from "./tell.js";
import { loadValidConfig } from "./validate.js";

/**
 * `arqon report --storage redis://… --study NAME [--config c.json] --id N --step K --value X`:
 * records an intermediate value of a pending trial of a shared study and prints whether the
 * study's pruner advises stopping it, for loops driven by `arqon ask --storage`.
 *
 * @remarks
 * The report is one journal entry, judged by every worker's pruner alike. The same step and value
 * as the trial's last report (a retry: each call is a process of its own, which cannot know
 * whether an earlier one's append landed) is answered again without a second entry. A refused
 * report (a trial not pending in the study, a step not after the previous one) exits 2 and
 * records nothing.
 */
export async function reportShared(
  flags: SharedStudyFlags & { readonly study: string },
  configPath: string | undefined,
  report: { readonly id: number; readonly step: number; readonly value: number },
  io: CliIo,
): Promise<0> {
  // Reported to a study some worker began: a misspelt name must not begin another.
  const config = configPath === undefined ? undefined : loadValidConfig(io.cwd, configPath);
  const study = await openStudyForCli("report", config, flags, true);
  try {
    const { id, step, value } = report;
    if (!study.pendingTrials().some((trial) => trial.id === id))
      throw usageError(
        `arqon report: trial ${id} ${notPending(study, id)} in study ${study.name}: nothing was recorded`,
      );
    // The same report again (a retry after an error, or to read the answer once more): answered
    // again, recorded once, as arqon report answers it on a saved state.
    const last = study.intermediateValues(id).at(-1);
    if (last !== undefined && last.step === step && last.value === value) {
      io.stdout(`${JSON.stringify({ prune: study.shouldPrune(id) })}\n`);
      return 0;
    }
    let prune: boolean;
    try {
      prune = await study.report(id, step, value);
    } catch (error) {
      if (error instanceof UsageError) throw usageError(`arqon ${error.message}: nothing was recorded`);
      throw runtimeError(`arqon report: ${errorMessage(error)}`);
    }
    if (study.config.pruner === undefined)
      io.stderr(
        `arqon report: study ${study.name} has no pruner: nothing was recorded (nothing would read it)\n`,
      );
    io.stdout(`${JSON.stringify({ prune })}\n`);
    return 0;
  } finally {
    await study.close();
  }
}
