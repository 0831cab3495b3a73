import { errorMessage, UsageError } from "../errors.js";
import { runtimeError, usageError } from "./cli-error.js";
import type { CliIo } from "./io.js";
import { plainTrial } from "./plain-trial.js";
import { describeProgress } from "./progress.js";
import { newStudyNote, openStudyForCli, type SharedStudyFlags } from "./shared-study-open.js";
import { loadValidConfig } from "./validate.js";

/**
 * `arqon ask --storage redis://… --study NAME --config c.json`: reserves trials of a shared study
 * for a loop driven from the shell, as `optuna ask --storage` does, and prints them as a local
 * `arqon ask` does.
 *
 * @remarks
 * One trial by default (`--batch N` for more), whatever the config's `batch`, as
 * `SharedStudy.ask` hands them out: each process that asks is a worker of its own. The trials are
 * reserved in the journal before they are printed; tell them (or fail them) with
 * `arqon tell --storage`, or they stay pending and count against the budget.
 */
export async function askShared(
  flags: SharedStudyFlags & { readonly study: string },
  configPath: string,
  batch: number | undefined,
  io: CliIo,
): Promise<0> {
  const config = loadValidConfig(io.cwd, configPath);
  const study = await openStudyForCli("ask", config, flags);
  if (study.created) io.stderr(`${newStudyNote(study.name, study.config.budget)}\n`);
  try {
    let trials: Awaited<ReturnType<typeof study.ask>>;
    try {
      trials = await study.ask({ max: batch ?? 1 });
    } catch (error) {
      throw (error instanceof UsageError ? usageError : runtimeError)(`arqon ask: ${errorMessage(error)}`);
    }
    const counts = `study ${study.name}: ${describeProgress(study)}, ${study.pendingTrials().length} pending`;
    if (trials === null) {
      const pending = study.pendingTrials().map((t) => t.id);
      const still =
        pending.length === 0 ? "" : `; tell pending trial(s) ${pending.join(", ")} before reading the best`;
      io.stderr(`done: ${counts}${still}\n`);
      io.stdout(
        `${JSON.stringify({ trials: null, done: true, ...(pending.length === 0 ? {} : { pending }) })}\n`,
      );
      return 0;
    }
    if (trials.length === 0) {
      const pending = study.pendingTrials().map((t) => t.id);
      io.stderr(
        `waiting: ${counts}; the study can propose nothing until trial(s) ${pending.join(", ")} are told (by any worker)\n`,
      );
    } else {
      io.stderr(`asked ${trials.length} trial(s): ${counts}\n`);
    }
    io.stdout(`${JSON.stringify({ trials: trials.map(plainTrial) })}\n`);
    return 0;
  } finally {
    await study.close();
  }
}
