/**
 * Decision log: an append-only, segmented, CRC-framed record file with group commit, crash
 * recovery and compaction. The engine drains its audit events into it; the solver CLI keeps its
 * told results in it.
 */
export { type CompactOptions, type CompactResult, type CompactStep, compactDecisionLog } from "./compact.js";
export { crc32c } from "./crc32c.js";
export { DecisionLog } from "./decision-log.js";
export {
  createLoggedEngine,
  createLoggedEngineAsync,
  type EngineLogOptions,
  type EngineLogRestart,
  LoggedEngine,
} from "./engine-log.js";
export { LogCorruptionError, LogError } from "./errors.js";
export {
  acquireLogLock,
  FileLock,
  LOCK_FILE_NAME,
  type LockOwner,
  type LockRefusal,
  LogLockedError,
  type StaleLock,
  UNREADABLE_LOCK_STALE_MS,
} from "./lock.js";
export type { LoggedRepair } from "./log-records.js";
export { type DecisionLogContents, decisionLogRecords, type ReadOptions, readDecisionLog } from "./reader.js";
export type { LogEntry, LogHeader, LogRecord } from "./records.js";
export { CLOSE_MARKER_KIND, isCloseMarker } from "./records.js";
export type { Corruption, TornTail } from "./scan.js";
export { hasDecisionLog } from "./segments.js";
export {
  appendSolverSnapshot,
  createSolverLog,
  isLoggedSolver,
  type LoggedSolver,
  openSolverLog,
  type SolverLogHeader,
  type SolverLogOptions,
  type SolverLogRecord,
} from "./solver-log.js";
export {
  type DecisionLogOptions,
  DecisionLogWriter,
  type LiveCompaction,
  LogBackpressureError,
  type LogRecovery,
  openDecisionLog,
  openDecisionLogAsync,
} from "./writer.js";
