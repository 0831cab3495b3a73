/**
 * `arqon/study`: solver studies shared by many worker processes through a Redis journal (on
 * `ioredis`, an optional peer dependency), in the manner of Optuna's journal storage. Local
 * solvers (`createSolver`, `minimize` in `arqon`) remain the default.
 *
 * @packageDocumentation
 */

export { type JournalEntry, JournalError } from "./journal.js";
export {
  type RunSharedStudyOptions,
  type RunSharedStudyResult,
  runSharedStudy,
  type SharedObjectiveContext,
} from "./run-shared-study.js";
export {
  loadSharedStudy,
  openSharedStudy,
  type PendingHolder,
  type SharedStudy,
  type SharedStudyOptions,
} from "./shared-study.js";
