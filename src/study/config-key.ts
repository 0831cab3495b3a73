import type { SolverConfig } from "../solver/config.js";
import { explicitSolverConfig } from "../solver/explicit-config.js";
import { jsonKey } from "../space/params.js";

/**
 * What two workers' configs must share to join one study: the config as the solver runs it
 * (every default written in, the inspection sink left out: `explicitSolverConfig`), written as
 * JSON with every object's keys in sorted order, so that `{ seed, budget, bounds }` and
 * `{ bounds, budget, seed }`, or a default written out and left out, are the same study (except
 * `probeRatio`: written out, it is followed exactly, uncapped, which is another probe). The
 * parameters keep their declared order: it sets the coordinates every worker's solver works in,
 * so a different order is another study.
 */
export function studyConfigKey(config: SolverConfig): string {
  const { bounds, ...rest } = explicitSolverConfig(config);
  return jsonKey({ ...rest, parameters: Object.entries(bounds) });
}

/**
 * Where two configs with different {@link studyConfigKey}s differ, for a refusal message: the
 * first `limit` differing settings as `path: the study has A, this worker B` (a parameter order
 * as `parameter order: …`), then `and N more` when there are more.
 */
export function studyConfigDifferences(study: SolverConfig, worker: SolverConfig, limit = 3): string[] {
  const { bounds: studyBounds, ...studyRest } = explicitSolverConfig(study);
  const { bounds: workerBounds, ...workerRest } = explicitSolverConfig(worker);
  const found: string[] = [];
  differences(studyRest, workerRest, "", found);
  differences(studyBounds, workerBounds, "bounds", found);
  // The parameters both sides declare, in each side's order: the coordinates they set.
  const studyOrder = Object.keys(studyBounds).filter((name) => name in workerBounds);
  const workerOrder = Object.keys(workerBounds).filter((name) => name in studyBounds);
  if (studyOrder.join("\0") !== workerOrder.join("\0"))
    found.push(
      `parameter order: the study has [${studyOrder.join(", ")}], this worker [${workerOrder.join(", ")}]`,
    );
  // Not expected (the keys differ, so something does), but a refusal must never read as empty.
  if (found.length === 0) found.push("a setting this check cannot name");
  return found.length > limit ? [...found.slice(0, limit), `and ${found.length - limit} more`] : found;
}

/** Appends to `found` each leaf (or array) where `a` and `b` differ, by path, keys sorted. */
function differences(a: unknown, b: unknown, path: string, found: string[]): void {
  if (jsonKey(a) === jsonKey(b)) return;
  if (isRecord(a) && isRecord(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort())
      differences(a[key], b[key], path === "" ? key : `${path}.${key}`, found);
    return;
  }
  found.push(`${path}: the study has ${shown(a)}, this worker ${shown(b)}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value as JSON, cut short when long (the message names a setting, it does not dump it). */
function shown(value: unknown): string {
  if (value === undefined) return "none";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
