/**
 * Several intermediate values of one trial recorded in a shared study as one journal entry: what
 * `arqon solve --storage` sends when a command prints report lines faster than Redis answers.
 * Asked through a symbol-keyed method, as `lost-appends.ts` does, so that the code that asks needs
 * no Redis client loaded.
 */
import type { UsageError } from "../errors.js";

export const REPORT_STEPS: unique symbol = Symbol("arqon.study.reportSteps");

/** `[step, value]` pairs of one trial, in the order they were reported. */
export type StepReports = readonly (readonly [number, number])[];

/** What recording several reports gave. */
export interface StepsOutcome {
  /** The pruner's verdict once the accepted reports are recorded. */
  readonly prune: boolean;
  /**
   * The first report the study refused (a step not after the previous one, a value that is not a
   * finite number), by its index in the pairs given: the ones before it are recorded, it and the
   * ones after it are not.
   */
  readonly refused?: { readonly index: number; readonly error: UsageError };
}

/** A handle that records several reports of one trial at once. */
export interface ReportsSteps {
  [REPORT_STEPS](id: number, reports: StepReports): Promise<StepsOutcome>;
}

/** Records `reports` of trial `id` in `study` as one journal entry (see {@link StepsOutcome}). */
export function reportSteps(study: object, id: number, reports: StepReports): Promise<StepsOutcome> {
  const record = (study as Partial<ReportsSteps>)[REPORT_STEPS];
  if (typeof record !== "function") throw new TypeError("not a shared study handle");
  return record.call(study, id, reports);
}
