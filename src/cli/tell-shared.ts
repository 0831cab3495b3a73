import { errorMessage, ResultsRejectedError, UsageError } from "../errors.js";
import type { Told } from "../solver/solver.js";
import { runtimeError, usageError } from "./cli-error.js";
import type { CliIo } from "./io.js";
import type { FailedEntry } from "./results-input.js";
import { openStudyForCli, type SharedStudyFlags } from "./shared-study-open.js";
import { failureProblems, inputNamed, notPending, toldCounts } from "./tell.js";
import { loadValidConfig } from "./validate.js";

/**
 * `arqon tell --storage redis://… --study NAME [--config c.json]`: tells results to a shared study
 * and marks failed trials failed, such as the trials a worker that died left pending (which hold
 * every other worker once the study can propose nothing else).
 *
 * @remarks
 * Checked before anything is recorded: every failed trial must be pending in the study, once, and
 * not also told in the batch, and the study refuses a batch of results with any problem. The
 * results are one journal entry; each failure is one more, appended after them.
 */
export async function tellShared(
  parsed: {
    readonly told: readonly Told[];
    readonly toldAt: readonly number[];
    readonly failed: readonly FailedEntry[];
  },
  flags: SharedStudyFlags & { readonly study: string },
  configPath: string | undefined,
  io: CliIo,
): Promise<0> {
  const { told, toldAt, failed } = parsed;
  // Told to a study some worker began: a misspelt name must not begin another.
  const config = configPath === undefined ? undefined : loadValidConfig(io.cwd, configPath);
  const study = await openStudyForCli("tell", config, flags, true);
  try {
    const pending = new Set(study.pendingTrials().map((trial) => trial.id));
    const problems = failureProblems(
      pending,
      told,
      failed,
      (id) => `${notPending(study, id)} in study ${study.name}`,
    );
    if (problems.length > 0)
      throw usageError(`arqon tell: results refused, nothing was told: ${problems.join("; ")}`);
    if (told.length > 0) {
      try {
        await study.tell(told);
      } catch (error) {
        if (error instanceof ResultsRejectedError)
          throw usageError(
            `arqon tell: results refused, nothing was told: ${inputNamed(error.issues, toldAt)}`,
          );
        throw (error instanceof UsageError ? usageError : runtimeError)(`arqon tell: ${errorMessage(error)}`);
      }
    }
    for (const [n, { id, reason }] of failed.entries()) {
      try {
        await study.fail(id, reason);
      } catch (error) {
        // Another worker told or failed it since the check: what came before stays recorded.
        const done = `told ${told.length} result(s) and marked ${n} failed`;
        throw (error instanceof UsageError ? usageError : runtimeError)(
          `arqon tell: ${done}, then trial ${id} could not be marked failed: ${errorMessage(error)}; ` +
            "those are recorded: take them out of the results before running this again",
        );
      }
    }
    const counts = toldCounts(told, failed.length);
    io.stderr(
      `${counts.line} in study ${study.name}: ${study.told} told of ${study.asked} asked, ` +
        `${study.pendingTrials().length} pending\n`,
    );
    io.stdout(`${JSON.stringify({ ...counts.json, best: study.best() })}\n`);
    return 0;
  } finally {
    await study.close();
  }
}
