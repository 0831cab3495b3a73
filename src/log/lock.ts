import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { threadId } from "node:worker_threads";
import { LogError } from "./errors.js";

/** File name of the lock inside a decision-log directory. */
export const LOCK_FILE_NAME = "LOCK";

/**
 * An unreadable lock file (a crash between creating it and writing it) younger than this is taken
 * to be in the middle of being written by a live writer; an older one is stale.
 */
export const UNREADABLE_LOCK_STALE_MS = 5_000;

/** Who holds a lock: what the lock file records. */
export interface LockOwner {
  /** Process id of the holder, on `hostname`, in the pid namespace `pidNamespace`. */
  readonly pid: number;
  /** Host name of the machine the holder runs on. */
  readonly hostname: string;
  /** When the lock was taken (ISO 8601, UTC; for people: liveness never depends on clocks). */
  readonly createdAt: string;
  /** The kernel's boot id when the lock was taken (Linux), so a lock from before a reboot is known stale. */
  readonly bootId?: string;
  /** The holder's pid namespace (Linux), so a pid is only checked where it means the same process. */
  readonly pidNamespace?: string;
}

/** A lock that was taken over because its holder was gone; `owner` is null when the file was unreadable. */
export interface StaleLock {
  readonly owner: LockOwner | null;
  /** Why it was judged stale: its process is gone, it was taken before the last reboot, or it is unreadable and old. */
  readonly reason: "dead-process" | "previous-boot" | "unreadable";
}

/**
 * Why a lock was not granted. `other-host` also covers another pid namespace on this host (a
 * container sharing the directory and the host name), where a pid cannot be checked either.
 */
export type LockRefusal = "this-process" | "live-process" | "other-host" | "unreadable" | "contended";

/** Lock files this process holds now: a second writer here is refused by this, not by its pid. */
const heldHere = new Set<string>();

/** Read once per process: the kernel's boot id and this process's pid namespace (undefined off Linux). */
const BOOT_ID = readText("/proc/sys/kernel/random/boot_id");
const PID_NAMESPACE = readLink("/proc/self/ns/pid");

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/**
 * A decision log (or CLI state) is locked by another writer. The message says who holds it, since
 * when, and what to do; `refusal` says why liveness could not rule it stale.
 */
export class LogLockedError extends LogError {
  override readonly name = "LogLockedError";
  /** The lock file. */
  readonly lockFile: string;
  /** The holder recorded in the lock file, or null when it could not be read. */
  readonly owner: LockOwner | null;
  readonly refusal: LockRefusal;

  constructor(message: string, lockFile: string, owner: LockOwner | null, refusal: LockRefusal) {
    super(message);
    this.lockFile = lockFile;
    this.owner = owner;
    this.refusal = refusal;
  }
}

/**
 * A held lock file. {@link FileLock.release} removes it (only while it still holds this holder's
 * record, so a lock someone else took over is never deleted).
 */
export class FileLock {
  /** Path of the lock file. */
  readonly file: string;
  /** The record written into the lock file. */
  readonly owner: LockOwner;
  /** The dead holder's lock this one replaced, or null when the file did not exist. */
  readonly tookOver: StaleLock | null;
  private readonly text: string;
  private released = false;

  /** @internal Use {@link acquireLogLock}. */
  constructor(file: string, owner: LockOwner, text: string, tookOver: StaleLock | null) {
    this.file = file;
    this.owner = owner;
    this.text = text;
    this.tookOver = tookOver;
  }

  /** Whether the lock is still held (not released). */
  get held(): boolean {
    return !this.released;
  }

  /** Removes the lock file if it is still this holder's. Idempotent; throws a LogError on an I/O failure. */
  release(): void {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.file);
    let current: string;
    try {
      current = readFileSync(this.file, "utf8");
    } catch (error) {
      if (isCode(error, "ENOENT")) return;
      throw new LogError(`cannot read lock file ${this.file} to release it`, { cause: error });
    }
    if (current !== this.text) return;
    try {
      rmSync(this.file, { force: true });
    } catch (error) {
      throw new LogError(`cannot remove lock file ${this.file}`, { cause: error });
    }
  }
}

/** Options of {@link acquireFileLock}. */
export interface AcquireLockOptions {
  /**
   * What the caller wants to do, naming what the lock protects, for messages: "open decision log
   * /var/x for writing" gives "cannot open decision log /var/x for writing: it is locked by …".
   */
  readonly purpose: string;
}

/**
 * Takes the decision-log lock of `dir` (the `LOCK` file in it; the directory must exist): one writer
 * or compaction at a time. `purpose` names what the caller wants to do, for the error message.
 *
 * @remarks
 * The file is created atomically (`open` with `wx`) holding `{ pid, hostname, createdAt }` and, on
 * Linux, the kernel's boot id and the pid namespace. When it exists, its holder decides: a live
 * process on this host (`kill(pid, 0)` succeeds or fails with EPERM), a lock this process holds, or
 * a holder on another host or in another pid namespace (whose liveness cannot be checked) means a
 * {@link LogLockedError}. A holder that no longer exists (ESRCH), a lock from before the last
 * reboot (another boot id), or an unreadable file older than {@link UNREADABLE_LOCK_STALE_MS} is
 * stale: it is replaced and {@link FileLock.tookOver} says what was. Liveness never depends on
 * clocks. Synchronous: a few system calls, no waiting.
 */
export function acquireLogLock(dir: string, purpose = `open decision log ${dir} for writing`): FileLock {
  return acquireFileLock(join(dir, LOCK_FILE_NAME), { purpose });
}

/**
 * {@link acquireLogLock} for any lock file `file` (the CLI's JSON states use `<state>.lock`), with
 * the same rules.
 *
 * @remarks
 * A stale lock is removed under a short-lived `<file>.takeover` guard and only if the file is still
 * the one judged stale (same inode, same bytes), then created again with `wx`; so two processes
 * taking over the same stale lock cannot both win: the loser finds the winner's live lock.
 */
export function acquireFileLock(file: string, options: AcquireLockOptions): FileLock {
  let tookOver: StaleLock | null = null;
  // A few rounds: the file may vanish or be replaced between our create and our read.
  for (let round = 0; round < 4; round++) {
    const owner: LockOwner = {
      pid: process.pid,
      hostname: hostname(),
      createdAt: new Date().toISOString(),
      ...(BOOT_ID === undefined ? {} : { bootId: BOOT_ID }),
      ...(PID_NAMESPACE === undefined ? {} : { pidNamespace: PID_NAMESPACE }),
    };
    const text = `${JSON.stringify(owner)}\n`;
    if (createExclusive(file, text)) {
      heldHere.add(file);
      return new FileLock(file, owner, text, tookOver);
    }
    const found = inspectLock(file);
    if (found === null) continue; // released meanwhile: try again
    const stale = judge(file, found, options);
    if (tryRemoveStale(file, found)) tookOver = stale;
  }
  throw new LogLockedError(
    `cannot ${options.purpose}: another process is taking its lock over, or the lock keeps changing hands (${file}); retry`,
    file,
    null,
    "contended",
  );
}

/** What a lock file held when it was read. */
interface FoundLock {
  readonly text: string;
  readonly inode: number;
  readonly ageMs: number;
  readonly owner: LockOwner | null;
}

/**
 * Creates `file` holding `text` unless it exists; false when it does. The text is written to a
 * private file first and hard-linked into place (`link` fails if the name exists), so a crash can
 * never leave an empty or half-written lock that would block the next writer. On a filesystem
 * without hard links it falls back to an exclusive create and a write.
 */
function createExclusive(file: string, text: string): boolean {
  // Private to this process and thread (worker threads share the pid).
  const staged = `${file}.${process.pid}-${threadId}.staged`;
  try {
    writeFileSync(staged, text, { flag: "w" });
  } catch (error) {
    throw new LogError(`cannot create lock file ${file}`, { cause: error });
  }
  try {
    linkSync(staged, file);
    return true;
  } catch (error) {
    if (isCode(error, "EEXIST")) return false;
    if (!(isCode(error, "EPERM") || isCode(error, "ENOTSUP") || isCode(error, "EOPNOTSUPP"))) {
      throw new LogError(`cannot create lock file ${file}`, { cause: error });
    }
    return createAndWrite(file, text);
  } finally {
    rmSync(staged, { force: true });
  }
}

/** {@link createExclusive} without hard links: exclusive create, then write (a crash between leaves it empty). */
function createAndWrite(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, "wx");
  } catch (error) {
    if (isCode(error, "EEXIST")) return false;
    throw new LogError(`cannot create lock file ${file}`, { cause: error });
  }
  try {
    writeSync(fd, text);
  } catch (error) {
    closeSync(fd);
    rmSync(file, { force: true });
    throw new LogError(`cannot write lock file ${file}`, { cause: error });
  }
  closeSync(fd);
  return true;
}

function inspectLock(file: string): FoundLock | null {
  try {
    const stat = statSync(file);
    const text = readFileSync(file, "utf8");
    return { text, inode: stat.ino, ageMs: Date.now() - stat.mtimeMs, owner: parseOwner(text) };
  } catch (error) {
    if (isCode(error, "ENOENT")) return null;
    throw new LogError(`cannot read lock file ${file}`, { cause: error });
  }
}

function parseOwner(text: string): LockOwner | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { pid, hostname: host, createdAt, bootId, pidNamespace } = value as Record<string, unknown>;
  if (!(Number.isSafeInteger(pid) && (pid as number) > 0)) return null;
  if (typeof host !== "string" || typeof createdAt !== "string" || Number.isNaN(Date.parse(createdAt)))
    return null;
  return {
    pid: pid as number,
    hostname: host,
    createdAt,
    ...(typeof bootId === "string" ? { bootId } : {}),
    ...(typeof pidNamespace === "string" ? { pidNamespace } : {}),
  };
}

/** Returns why `found` is stale, or throws the refusal. */
function judge(file: string, found: FoundLock, options: AcquireLockOptions): StaleLock {
  const refuse = (refusal: LockRefusal, why: string): never => {
    throw new LogLockedError(`cannot ${options.purpose}: it ${why}`, file, found.owner, refusal);
  };
  const owner = found.owner;
  if (owner === null) {
    if (found.ageMs > UNREADABLE_LOCK_STALE_MS) return { owner: null, reason: "unreadable" };
    return refuse(
      "unreadable",
      `has a lock file ${file} that cannot be read yet and is only ${Math.max(0, Math.round(found.ageMs))} ms old ` +
        `(another writer may be creating it); retry: after ${UNREADABLE_LOCK_STALE_MS / 1000} s an unreadable lock counts as stale`,
    );
  }
  const held = `is locked by process ${owner.pid} on ${owner.hostname} since ${owner.createdAt}`;
  if (owner.hostname !== hostname()) {
    return refuse(
      "other-host",
      `${held}; that is another host, so this one (${hostname()}) cannot check whether it still runs: ` +
        `if that writer is gone, delete ${file}`,
    );
  }
  // A lock from before the last reboot is stale whatever its pid now names (boot ids, not clocks).
  if (owner.bootId !== undefined && BOOT_ID !== undefined && owner.bootId !== BOOT_ID)
    return { owner, reason: "previous-boot" };
  if (
    owner.pidNamespace !== undefined &&
    PID_NAMESPACE !== undefined &&
    owner.pidNamespace !== PID_NAMESPACE
  ) {
    return refuse(
      "other-host",
      `${held}, in another pid namespace (another container on this host), where this process cannot ` +
        `check whether it still runs: if that writer is gone, delete ${file}`,
    );
  }
  if (owner.pid === process.pid) {
    // Our own pid: a lock this process holds, or one left by an earlier process that had this pid
    // (pids are reused), which is gone since we have its pid now.
    if (heldHere.has(file)) {
      return refuse(
        "this-process",
        `is already open in this process (pid ${owner.pid}, lock taken ${owner.createdAt}): close the other writer first`,
      );
    }
    return { owner, reason: "dead-process" };
  }
  if (processIsAlive(owner.pid)) {
    return refuse(
      "live-process",
      `${held}, which is still running; wait for it to finish or stop it (one writer at a time)`,
    );
  }
  return { owner, reason: "dead-process" };
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return !isCode(error, "ESRCH");
  }
}

/**
 * Removes the stale lock `found` if the file still is exactly it, under the `<file>.takeover` guard.
 * False when another process is taking it over at the same moment or already replaced it.
 */
function tryRemoveStale(file: string, found: FoundLock): boolean {
  const guard = `${file}.takeover`;
  const mine = `${process.pid}\n`;
  if (!createExclusive(guard, mine)) {
    removeAbandonedGuard(guard);
    return false;
  }
  try {
    const now = inspectLock(file);
    if (now === null || now.inode !== found.inode || now.text !== found.text) return false;
    rmSync(file, { force: true });
    return true;
  } finally {
    // Only our own guard: one we held so long that another process judged it abandoned is not ours.
    if (readText(guard) === mine.trim()) rmSync(guard, { force: true });
  }
}

/**
 * A takeover guard is held for microseconds. One older than {@link UNREADABLE_LOCK_STALE_MS} whose
 * process is gone (or that cannot be read) was left by a crash and is removed; one whose process
 * still runs is left alone, however old (that process may only be stalled, and will finish).
 */
function removeAbandonedGuard(guard: string): void {
  const found = inspectLock(guard);
  if (found === null || found.ageMs <= UNREADABLE_LOCK_STALE_MS) return;
  const pid = Number.parseInt(found.text, 10);
  if (Number.isSafeInteger(pid) && pid > 0 && (pid === process.pid || processIsAlive(pid))) return;
  rmSync(guard, { force: true });
}

function isCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === code;
}
