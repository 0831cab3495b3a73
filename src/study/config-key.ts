import type { SolverConfig } from "../solver/config.js";
import { configDifferences } from "../solver/config-differences.js";
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
  // The parameters both sides declare, in each side's order: the coordinates they set.
  const studyOrder = Object.keys(studyBounds).filter((name) => name in workerBounds);
  const workerOrder = Object.keys(workerBounds).filter((name) => name in studyBounds);
  const order =
    studyOrder.join("\0") === workerOrder.join("\0")
      ? []
      : [
          `parameter order: the study has [${studyOrder.join(", ")}], this worker [${workerOrder.join(", ")}]`,
        ];
  // The probe size follows from the budget, the probe ratio, the bounds and the start points: it
  // is named only when nothing a worker writes differs.
  const { probeSize: _studyProbe, ...studyWritten } = studyRest;
  const { probeSize: _workerProbe, ...workerWritten } = workerRest;
  const differences = (study: object, worker: object) =>
    configDifferences(
      [
        [study, worker, ""],
        [studyBounds, workerBounds, "bounds"],
      ],
      { kept: "the study", given: "this worker" },
      limit,
      order,
    );
  const writtenAlike =
    jsonKey({ ...studyWritten, parameters: Object.entries(studyBounds) }) ===
    jsonKey({ ...workerWritten, parameters: Object.entries(workerBounds) });
  return writtenAlike ? differences(studyRest, workerRest) : differences(studyWritten, workerWritten);
}
