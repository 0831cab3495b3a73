import { mkdirSync, rmdirSync } from "node:fs";
import { dirname, isAbsolute, relative, sep } from "node:path";
import { errorMessage, hasErrorCode } from "../errors.js";
import { LogError } from "../log/errors.js";
import {
  acquireFileLock,
  acquireLogLock,
  type FileLock,
  LogLockedError,
  type StaleLock,
} from "../log/lock.js";
import { logHeaderOf } from "../log/scan.js";
import { hasDecisionLog } from "../log/segments.js";
import { notSolverLogReason } from "../log/solver-log.js";
import { runtimeError, usageError } from "./cli-error.js";
import type { CliIo } from "./io.js";
import { isLogState } from "./state-file.js";
import { pinStatePath, realStatePath } from "./state-path.js";

/** How long a `--state` command waits for another command to release the state, and how often it looks. */
export interface StateLockWait {
  readonly waitMs: number;
  readonly pollMs: number;
}

/** The CLI's default: wait up to 2 s, looking every 25 ms. */
export const STATE_LOCK_WAIT: StateLockWait = { waitMs: 2_000, pollMs: 25 };

/** A `--state` this command holds until {@link HeldState.release}. */
export interface HeldState {
  /** For a decision-log state: the directory's lock, to hand to the solver log (its writers then take none). */
  readonly logLock: FileLock | undefined;
  /** Releases the lock (and removes a log directory this command created but left empty). Idempotent. */
  release(): void;
}

/**
 * Refuses, before its lock is touched, a directory holding another program's decision log (an
 * engine's, say): taking over that log's stale lock would change a directory the command then
 * refuses. A log whose header cannot be read is left to the command, which reports it.
 */
function refuseOtherLog(command: string, path: string, dir: string): void {
  let reason: string | undefined;
  try {
    // A log with no header yet (a crash while it was created) is the command's to start afresh.
    const header = hasDecisionLog(dir) ? logHeaderOf(dir) : null;
    reason = header === null ? undefined : notSolverLogReason(header);
  } catch {
    return;
  }
  if (reason !== undefined)
    throw usageError(`arqon ${command}: state ${path} is not a solver state: ${reason}`);
}

/**
 * Takes the lock of the state at `path` (relative to `cwd`) for a command that reads, changes and
 * writes it: the `LOCK` file of a decision-log directory (the same lock every log writer takes), or
 * `<file>.lock` beside a JSON snapshot. While another command or writer holds it, retries every
 * `pollMs` for up to `waitMs` (real time), then fails with a runtime error (exit 1) that says who
 * holds it. `notify` gets one line when the waiting starts, and one when a stale lock was taken
 * over (the CLI prints them on stderr).
 *
 * @remarks
 * Held from before the state is read until after the last write, so two commands on one state run
 * one after the other and neither loses the other's results. A stale lock (its process is gone) is
 * taken over at once. Read-only commands (`status`) need no lock.
 *
 * The lock is taken where the state really is (see `realStatePath`): a symbolic link and the state
 * it points to are one state with one lock, and until the release every read and write of this
 * command goes to the state it locked, even if the link is changed meanwhile. Missing directories
 * are created (a log directory with its parents, the directory of a JSON snapshot likewise); the
 * release removes those this command created if it left them empty (it saved nothing).
 */
export async function lockState(
  command: string,
  cwd: string,
  path: string,
  wait: StateLockWait = STATE_LOCK_WAIT,
  notify: (line: string) => void = () => {},
): Promise<HeldState> {
  const target = realStatePath(cwd, path);
  const log = isLogState(cwd, path);
  if (log) refuseOtherLog(command, path, target);
  /** The directory the lock file goes in. */
  const dir = log ? target : dirname(target);
  /** The outermost directory this command created, if it created any. */
  let createdFrom: string | undefined;
  const purpose = `use state ${path}`;
  const take = (): FileLock => {
    // Before every attempt: a holder that created the directory and then failed removed it again.
    try {
      createdFrom = mkdirSync(dir, { recursive: true }) ?? createdFrom;
    } catch (error) {
      throw runtimeError(
        `arqon ${command}: cannot create the directory of state ${path}: ${errorMessage(error)}`,
      );
    }
    return log ? acquireLogLock(target, purpose) : acquireFileLock(`${target}.lock`, { purpose });
  };
  /** Removes the directories this command created, deepest first, as long as they are empty. */
  const removeCreatedDirs = (): void => {
    const outermost = createdFrom;
    createdFrom = undefined;
    if (outermost === undefined || !isWithin(dir, outermost)) return;
    for (let created = dir; ; created = dirname(created)) {
      try {
        rmdirSync(created);
      } catch (error) {
        // Not empty: the state was saved, or another command just created its lock in it
        // (ENOTEMPTY, EEXIST on some systems); or another command removed it (ENOENT).
        if (["ENOTEMPTY", "EEXIST", "ENOENT"].some((code) => hasErrorCode(error, code))) return;
        throw error;
      }
      if (created === outermost) return;
    }
  };
  const deadline = Date.now() + wait.waitMs;
  let waiting = false;
  for (;;) {
    try {
      const lock = take();
      if (lock.tookOver !== null) {
        try {
          notify(`arqon ${command}: ${describeTakeover(path, lock.tookOver)}`);
        } catch (error) {
          lock.release();
          removeCreatedDirs();
          throw error;
        }
      }
      const unpin = pinStatePath(cwd, path, target);
      return {
        logLock: log ? lock : undefined,
        release: () => {
          lock.release();
          unpin();
          // A command that failed before saving leaves no empty directory behind.
          removeCreatedDirs();
        },
      };
    } catch (error) {
      // The directory vanished between our create and our lock (its creator failed and removed it).
      if (error instanceof LogError && hasErrorCode(error.cause, "ENOENT") && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, wait.pollMs));
        continue;
      }
      if (error instanceof LogLockedError && Date.now() < deadline) {
        if (!waiting) notify(`arqon ${command}: waiting up to ${wait.waitMs} ms: ${error.message}`);
        waiting = true;
        await new Promise((done) => setTimeout(done, wait.pollMs));
        continue;
      }
      removeCreatedDirs();
      if (error instanceof LogLockedError)
        throw runtimeError(`arqon ${command}: gave up after waiting ${wait.waitMs} ms: ${error.message}`);
      if (error instanceof LogError)
        throw runtimeError(`arqon ${command}: cannot lock state ${path}: ${error.message}`);
      throw error;
    }
  }
}

/** Whether `path` is `dir` or inside it. */
function isWithin(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** One line about a stale lock taken over, for stderr. */
function describeTakeover(path: string, stale: StaleLock): string {
  const owner = stale.owner;
  if (owner === null) return `took over the unreadable, old lock of state ${path}`;
  const why =
    stale.reason === "previous-boot" ? "taken before this machine last booted" : "whose process is gone";
  return `took over the lock of state ${path} left by process ${owner.pid} on ${owner.hostname} since ${owner.createdAt}, ${why}`;
}

/**
 * Runs `body` with the state at `path` locked (see {@link lockState}), or without a lock when the
 * command has no `--state`; releases the lock however `body` ends. A wait is announced on `io.stderr`.
 */
export async function withLockedState<T>(
  command: string,
  io: CliIo,
  path: string | undefined,
  body: (held: HeldState | undefined) => T | Promise<T>,
  wait: StateLockWait = STATE_LOCK_WAIT,
): Promise<T> {
  if (path === undefined) return await body(undefined);
  const held = await lockState(command, io.cwd, path, wait, (line) => io.stderr(`${line}\n`));
  try {
    return await body(held);
  } finally {
    held.release();
  }
}
