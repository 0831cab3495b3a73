/**
 * Where an engine restarted on a decision log can pick up: the values its last run had tuned to,
 * and the baseline in force, so that a deploy does not send every knob back to its `init`.
 */
import { LastRunEnd, type ResumePoint } from "../log/last-run-end.js";
import { LogRunSplitter } from "../log/log-runs.js";
import { hasDecisionLog } from "../log/segments.js";
import {
  type DecisionLogInput,
  feedLog,
  feedLogAsync,
  readAgainIfCompacted,
  readAgainIfCompactedNow,
} from "./read-log.js";

export type { ResumePoint } from "../log/last-run-end.js";
export { resumedConfig } from "../log/resumed-config.js";

/**
 * Reads where the last run of the decision log in `log` ended: the values it had tuned to and the
 * baseline in force (see {@link ResumePoint}). Undefined when `log` is a directory that holds no
 * log yet (a first start), or when the log's last run records neither its values nor its start
 * (a log written before applies carried their values).
 *
 * @remarks
 * Cold path, for a restart: it reads the whole log and holds the caller's thread while it does
 * ({@link resumePointAsync} does not). It reads the log a segment at a time and keeps, of its
 * records, only what says where the last run stands, so memory stays within a few segments however
 * long the log. Give the result to {@link resumedConfig} and the config it returns to
 * `createLoggedEngine` on the same directory: the new run's header records the values it starts
 * from, so replay rebuilds it as it ran.
 *
 * On a compacted log (see `compactDecisionLog`), the last tuned point left of the last run, with
 * that run's number: when no audit record of the run after it is gone, or when the log still tells
 * the generation the run ended on (its close marker) and each generation after the point's is a
 * perturbation left in the log. Never the run's start once records that may have changed its values
 * are gone.
 *
 * @throws LogError when the log directory is damaged or cannot be read; ReplayInputError when it is
 * not an engine's decision log, or when records of its last run are gone (a compacted log) and
 * none of those left says where it ended (`keep` 0, or only the close marker kept, say).
 */
export function resumePoint(log: DecisionLogInput): ResumePoint | undefined {
  if (typeof log === "string" && !hasDecisionLog(log)) return undefined;
  return readAgainIfCompactedNow(log, () => {
    const reader = new LastRunEnd();
    const splitter = new LogRunSplitter(reader);
    const known = feedLog(log, (record) => splitter.take(record));
    return reader.point(splitter.end(), known.lastSeq);
  });
}

/** {@link resumePoint}, reading off the event loop's thread and in slices between which it turns. */
export async function resumePointAsync(log: DecisionLogInput): Promise<ResumePoint | undefined> {
  if (typeof log === "string" && !hasDecisionLog(log)) return undefined;
  return readAgainIfCompacted(log, async () => {
    const reader = new LastRunEnd();
    const splitter = new LogRunSplitter(reader);
    const known = await feedLogAsync(log, (record) => splitter.take(record));
    return reader.point(splitter.end(), known.lastSeq);
  });
}
