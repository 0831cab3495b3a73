import type { CliIo } from "./io.js";
import { plainTrial } from "./plain-trial.js";
import { countUntold } from "./progress.js";
import { openStudyForCli, type SharedStudyFlags } from "./shared-study-open.js";

/**
 * `arqon status --storage redis://… --study NAME`: where a shared study stands, read from its
 * journal under its own configuration, its pending trials with the worker holding each, and those
 * workers with their heartbeats; writes nothing (a study that does not exist is refused, not
 * created).
 */
export async function statusShared(
  flags: SharedStudyFlags & { readonly study: string },
  io: CliIo,
): Promise<0> {
  const study = await openStudyForCli("status", undefined, flags, true);
  try {
    const workers = await study.holders();
    io.stdout(
      `${JSON.stringify({
        study: study.name,
        asked: study.asked,
        told: study.told,
        ...countUntold(study),
        budget: study.config.budget,
        best: study.best(),
        // Which worker holds each: the machine and process to look at when one seems stuck.
        pending: study
          .pendingTrials()
          .map((trial) => ({ ...plainTrial(trial), worker: study.heldBy(trial.id) })),
        // And whether each still beats: a silent one has likely died with its trials.
        workers,
      })}\n`,
    );
    return 0;
  } finally {
    await study.close();
  }
}
