import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { errorMessage, UsageError } from "../errors.js";
import { LogError } from "../log/errors.js";
import type { FileLock } from "../log/lock.js";
import { readDecisionLog } from "../log/reader.js";
import { hasDecisionLog } from "../log/segments.js";
import { appendSolverSnapshot, createSolverLog, isLoggedSolver, openSolverLog } from "../log/solver-log.js";
import { restoreSolver, type Solver } from "../solver/solver.js";
import { runtimeError, usageError } from "./cli-error.js";
import { parseJsonText } from "./json-input.js";
import { realStatePath } from "./state-path.js";

/**
 * Whether the state at `path` (relative to `cwd`) is a decision-log directory rather than a JSON
 * snapshot file: an existing directory is a log, an existing file a snapshot; a path that does not
 * exist yet becomes a snapshot file when it ends in `.json` (in any case), a log directory otherwise.
 *
 * @remarks
 * Here and in the functions below, the state is where `path` really is (see `realStatePath`): a
 * symbolic link is followed, so the state it points to is read and written and the link stays.
 */
export function isLogState(cwd: string, path: string): boolean {
  const target = realStatePath(cwd, path);
  if (existsSync(target)) return statSync(target).isDirectory();
  // The name the state will have: a dangling link's target's, not the link's. Any case: a
  // "run.JSON" meant as a file must not become a directory.
  return !/\.json$/i.test(target);
}

/** Whether a solver is saved at `path` (relative to `cwd`): a snapshot file, or a directory holding a log. */
export function hasSavedState(cwd: string, path: string): boolean {
  const target = realStatePath(cwd, path);
  if (!existsSync(target)) return false;
  return !statSync(target).isDirectory() || hasSavedLog(target);
}

/**
 * The solver saved at `path` (relative to `cwd`), or `undefined` when nothing is saved there yet. A
 * state that exists but cannot be restored is a usage error.
 *
 * @remarks
 * A JSON snapshot file holds `solver.toJSON()`: the config, every told result, the pending trials and
 * the strategy's internal state (PRNG included), so the restored solver asks exactly what the
 * original would have asked next. A decision-log directory is replayed instead (see
 * `openSolverLog`): a fresh solver from the logged config receives every logged ask, tell and fail
 * again, and the solver returned keeps appending to the log, under `logLock` when given (the
 * command's lock on the directory, see `lockState`).
 */
export function loadSolverState(cwd: string, path: string, logLock?: FileLock): Solver | undefined {
  const target = realStatePath(cwd, path);
  if (!existsSync(target)) return undefined;
  if (statSync(target).isDirectory()) {
    if (!hasSavedLog(target)) return undefined;
    try {
      return openSolverLog(target, { lock: logLock });
    } catch (error) {
      if (error instanceof LogError || error instanceof UsageError)
        throw usageError(`state log ${path} cannot be restored: ${error.message}`);
      throw error;
    }
  }
  let text: string;
  try {
    text = readFileSync(target, "utf8");
  } catch (error) {
    throw usageError(`cannot read state file ${path}: ${errorMessage(error)}`);
  }
  const artifact = parseJsonText(text, `state file ${path}`);
  try {
    return restoreSolver(artifact);
  } catch (error) {
    throw usageError(`state file ${path} is not a valid arqon solver state: ${errorMessage(error)}`);
  }
}

/**
 * The solver to use for a run whose state is kept at `path`: for a decision-log state, a solver that
 * writes every ask, tell and fail ahead to the log (creating the log, from `solver`'s config and
 * current state, when it does not exist yet); for a JSON snapshot state, `solver` itself. Its writes
 * use `logLock` when given (the command's lock on the directory).
 */
export function attachStateLog(cwd: string, path: string, solver: Solver, logLock?: FileLock): Solver {
  if (isLoggedSolver(solver) || !isLogState(cwd, path)) return solver;
  const target = realStatePath(cwd, path);
  const options = { lock: logLock };
  try {
    if (!hasSavedLog(target)) return createSolverLog(target, solver, options);
    appendSolverSnapshot(target, solver, options);
    return openSolverLog(target, options);
  } catch (error) {
    throw runtimeError(`cannot write state log ${path}: ${errorMessage(error)}`);
  }
}

let tmpCounter = 0;

/**
 * Saves the solver's state at `path` (relative to `cwd`).
 *
 * @remarks
 * A JSON snapshot state is written atomically: the JSON goes to a temporary file in the same
 * directory, is flushed to disk, then renamed over the file, so a crash or kill at any moment leaves
 * either the old complete file or the new complete one. When `path` is a symbolic link, that is the
 * file it points to, in that file's directory: the link stays a link. Synchronous on purpose: saves issued one
 * after another land in that order even when trials finish concurrently.
 *
 * A decision-log state needs no save for a solver from {@link loadSolverState} or
 * {@link attachStateLog}: each of its calls was written and fsynced before returning. Any other
 * solver is saved as a snapshot record (and the log created first when missing).
 */
export function saveSolverState(cwd: string, path: string, solver: Solver, logLock?: FileLock): void {
  if (isLoggedSolver(solver)) return;
  if (isLogState(cwd, path)) {
    const logged = attachStateLog(cwd, path, solver, logLock);
    if (isLoggedSolver(logged)) logged.closeLog();
    return;
  }
  const target = realStatePath(cwd, path);
  const text = `${JSON.stringify(solver.toJSON())}\n`;
  const tmp = `${target}.${process.pid}.${tmpCounter++}.tmp`;
  try {
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw runtimeError(`cannot save state file ${path}: ${errorMessage(error)}`);
  }
}

/**
 * Whether the directory holds a log with its header: segments whose first record never reached the
 * disk (a crash while the log was being created) hold no run to resume, and the writer starts the
 * log afresh over them.
 */
function hasSavedLog(dir: string): boolean {
  return hasDecisionLog(dir) && readDecisionLog(dir, { strict: false }).header !== null;
}
