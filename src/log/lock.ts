import { randomUUID } from "node:crypto";
import {
  closeSync,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { errorMessage, hasErrorCode } from "../errors.js";
import { LogError } from "./errors.js";

/** File name of the lock inside a decision-log directory. */
export const LOCK_FILE_NAME = "LOCK";

/**
 * An unreadable lock file (a crash between creating it and writing it) younger than this is taken
 * to be in the middle of being written by a live writer; an older one is stale.
 */
export const UNREADABLE_LOCK_STALE_MS = 5_000;

/**
 * Who holds a lock: what the lock file records. The optional fields are read from Linux's `/proc`
 * and `/etc/machine-id`; where they are missing, the checks that need them are skipped.
 */
export interface LockOwner {
  /** Process id of the holder, on `hostname`, in the pid namespace `pidNamespace`. */
  readonly pid: number;
  /** Host name of the machine the holder runs on. */
  readonly hostname: string;
  /** When the lock was taken (ISO 8601, UTC; for people: liveness never depends on clocks). */
  readonly createdAt: string;
  /** Unique per lock taken, so a holder never mistakes another holder's lock file for its own. */
  readonly lockId?: string;
  /** The machine's id: a host name shared by two machines (cloned VMs) does not make them one. */
  readonly machineId?: string;
  /** The kernel's boot id when the lock was taken, so a lock from before a reboot is known stale. */
  readonly bootId?: string;
  /** The holder's pid namespace, so a pid is only checked where it means the same process. */
  readonly pidNamespace?: string;
  /** The holder's start time (clock ticks since boot), so a reused pid is not taken for its holder. */
  readonly startTime?: string;
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

/** Read once per process (undefined where the system does not say): who this process is. */
const MACHINE_ID = readText("/etc/machine-id") ?? readText("/var/lib/dbus/machine-id");
const BOOT_ID = readText("/proc/sys/kernel/random/boot_id");
const PID_NAMESPACE = readLink("/proc/self/ns/pid");
/**
 * Whether `/proc/<pid>` names processes of our pid namespace: in a namespace without its own
 * `/proc` mount, `/proc/<our pid>` is some other process, and start times must not be read there.
 */
const PROC_IS_OURS = readLink("/proc/self") === String(process.pid);
const START_TIME = PROC_IS_OURS ? processStat("self")?.startTime : undefined;

/** The state (field 3) and start time in clock ticks since boot (field 22) of `/proc/<pid>/stat`. */
function processStat(pid: number | "self"): { state: string; startTime: string } | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces and parentheses: count the
  // fields after its last closing one (field 3 comes first).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const startTime = fields[19];
  return state === undefined || startTime === undefined ? undefined : { state, startTime };
}

/**
 * @internal A process's start time in clock ticks since boot, or undefined when there is no such
 * process, no `/proc`, or a `/proc` of another pid namespace.
 */
export function processStartTime(pid: number): string | undefined {
  return PROC_IS_OURS ? processStat(pid)?.startTime : undefined;
}

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
  /**
   * @internal Whether a writer opened under this lock is open: a second one would write the same
   * seqs at the same offsets as the first and overwrite its records.
   */
  writerOpen = false;

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
    try {
      removeOwn(this.file, this.text);
    } catch (error) {
      throw new LogError(`cannot release lock file ${this.file}`, { cause: error });
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
 * The file appears atomically, complete (staged and hard-linked into place), holding
 * `{ pid, hostname, createdAt, lockId }` and, on Linux, the machine id, boot id, pid namespace and
 * process start time. When it exists, its holder decides: a live process on this host (`kill(pid, 0)`
 * succeeds or fails with EPERM, and its start time matches), this process (any thread, any path),
 * or a holder on another host, another machine of the same name or another pid namespace (whose
 * liveness cannot be checked) means a {@link LogLockedError}. A holder that no longer exists, a
 * reused pid (another start time), a lock from before the last reboot (another boot id), or an
 * unreadable file older than {@link UNREADABLE_LOCK_STALE_MS} is stale: it is replaced and
 * {@link FileLock.tookOver} says what was. Liveness never depends on clocks, and a zombie (exited,
 * not reaped) holds nothing. A lock is this process's whatever thread took it: one left by a worker
 * thread that ended without releasing it stays held until the process exits. Synchronous: a few
 * system calls, no waiting.
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
    const owner = thisProcess();
    const text = `${JSON.stringify(owner)}\n`;
    if (createExclusive(file, text)) return new FileLock(file, owner, text, tookOver);
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
  // A name no other process, thread, namespace or host can be using, created exclusively.
  const staged = `${file}.${randomUUID()}.staged`;
  try {
    try {
      writeFileSync(staged, text, { flag: "wx" });
    } catch (error) {
      throw cannotCreate(file, error);
    }
    try {
      linkSync(staged, file);
      return true;
    } catch (error) {
      if (hasErrorCode(error, "EEXIST")) return false;
      if (!LINK_UNSUPPORTED.some((code) => hasErrorCode(error, code))) throw cannotCreate(file, error);
      return createAndWrite(file, text);
    }
  } finally {
    try {
      rmSync(staged, { force: true });
    } catch {
      // Where the staged file could not even be created (a directory that is a file, say), removing
      // it fails too; the error above says why.
    }
  }
}

/** A lock file that could not be created, with the reason. */
function cannotCreate(file: string, error: unknown): LogError {
  return new LogError(`cannot create lock file ${file}: ${errorMessage(error)}`, { cause: error });
}

/** What `link` fails with on a filesystem without hard links. */
const LINK_UNSUPPORTED = ["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"];

/** {@link createExclusive} without hard links: exclusive create, then write (a crash between leaves it empty). */
function createAndWrite(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, "wx");
  } catch (error) {
    if (hasErrorCode(error, "EEXIST")) return false;
    throw cannotCreate(file, error);
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
    if (hasErrorCode(error, "ENOENT")) return null;
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
  const record = value as Record<string, unknown>;
  const { pid, hostname: host, createdAt } = record;
  if (!(Number.isSafeInteger(pid) && (pid as number) > 0)) return null;
  if (typeof host !== "string" || typeof createdAt !== "string" || Number.isNaN(Date.parse(createdAt)))
    return null;
  const optional: Record<string, string> = {};
  for (const key of ["lockId", "machineId", "bootId", "pidNamespace", "startTime"] as const) {
    if (typeof record[key] === "string") optional[key] = record[key];
  }
  return { pid: pid as number, hostname: host, createdAt, ...optional };
}

/** This process as a lock records it, with a fresh lock id. */
function thisProcess(): LockOwner {
  return {
    pid: process.pid,
    hostname: hostname(),
    createdAt: new Date().toISOString(),
    lockId: randomUUID(),
    ...(MACHINE_ID === undefined ? {} : { machineId: MACHINE_ID }),
    ...(BOOT_ID === undefined ? {} : { bootId: BOOT_ID }),
    ...(PID_NAMESPACE === undefined ? {} : { pidNamespace: PID_NAMESPACE }),
    ...(START_TIME === undefined ? {} : { startTime: START_TIME }),
  };
}

/** What this process can tell about a recorded holder. */
type Liveness =
  | { readonly kind: "this-process" }
  | { readonly kind: "alive" }
  | { readonly kind: "gone"; readonly reason: "dead-process" | "previous-boot" }
  | { readonly kind: "unverifiable"; readonly where: string };

/**
 * Whether the process `owner` records still runs. Only facts decide, never clocks: another host,
 * another machine under the same name or another pid namespace cannot be checked; another boot of
 * this machine means gone; else the pid, with its start time to tell a reused pid from its holder.
 * (A machine whose id is unknown is taken to be the one its host name says.)
 */
function liveness(owner: LockOwner): Liveness {
  if (owner.hostname !== hostname()) return { kind: "unverifiable", where: "another host" };
  if (owner.machineId !== undefined && MACHINE_ID !== undefined && owner.machineId !== MACHINE_ID)
    return { kind: "unverifiable", where: "another machine with the same host name" };
  if (owner.bootId !== undefined && BOOT_ID !== undefined && owner.bootId !== BOOT_ID)
    return { kind: "gone", reason: "previous-boot" };
  if (owner.pidNamespace !== undefined && PID_NAMESPACE !== undefined && owner.pidNamespace !== PID_NAMESPACE)
    return { kind: "unverifiable", where: "another pid namespace (another container on this host)" };
  const knownStart = owner.startTime !== undefined;
  if (owner.pid === process.pid) {
    // Our pid: this process (any thread, any path to the file), unless the start time says it was
    // an earlier process that had our pid.
    return !knownStart || START_TIME === undefined || owner.startTime === START_TIME
      ? { kind: "this-process" }
      : { kind: "gone", reason: "dead-process" };
  }
  if (!processIsAlive(owner.pid)) return { kind: "gone", reason: "dead-process" };
  const stat = PROC_IS_OURS ? processStat(owner.pid) : undefined;
  // A zombie (exited, not yet reaped by its parent) answers kill(pid, 0) but holds nothing.
  if (stat !== undefined && (stat.state === "Z" || stat.state === "X"))
    return { kind: "gone", reason: "dead-process" };
  if (knownStart && stat !== undefined && stat.startTime !== owner.startTime)
    return { kind: "gone", reason: "dead-process" };
  return { kind: "alive" };
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
  const state = liveness(owner);
  switch (state.kind) {
    case "gone":
      return { owner, reason: state.reason };
    case "this-process":
      return refuse(
        "this-process",
        `is already open in this process (pid ${owner.pid}, lock taken ${owner.createdAt}): close the other writer first`,
      );
    case "unverifiable":
      return refuse(
        "other-host",
        `${held}; that is ${state.where}, so this process cannot check whether it still runs: ` +
          `if that writer is gone, delete ${file}`,
      );
    case "alive":
      return refuse(
        "live-process",
        `${held}, which is still running; wait for it to finish or stop it (one writer at a time)`,
      );
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return !hasErrorCode(error, "ESRCH");
  }
}

/**
 * Removes the stale lock `found` if the file still is exactly it, under the `<file>.takeover` guard.
 * False when another process is taking it over at the same moment or already replaced it.
 */
function tryRemoveStale(file: string, found: FoundLock): boolean {
  const guard = `${file}.takeover`;
  // The guard records its holder like a lock does, so an abandoned one can be told from a live one.
  const mine = `${JSON.stringify(thisProcess())}\n`;
  if (!createExclusive(guard, mine)) {
    removeAbandonedGuard(guard);
    return false;
  }
  try {
    return removeIfStill(file, found);
  } finally {
    // Only our own guard (its lock id is unique): one judged abandoned and replaced is not ours.
    removeOwn(guard, mine);
  }
}

/** How old a guard whose holder cannot be checked (another host or namespace) must be to count as abandoned. */
const UNVERIFIABLE_GUARD_STALE_MS = 60_000;

/**
 * A takeover guard is held for microseconds. One whose holder is gone (or rebooted away), an
 * unreadable one older than {@link UNREADABLE_LOCK_STALE_MS}, or one whose holder cannot be checked
 * and that is older than a minute was left by a crash and is removed; one whose holder runs is
 * left alone however old (that process may only be stalled, and will finish).
 */
function removeAbandonedGuard(guard: string): void {
  const found = inspectLock(guard);
  if (found === null) return;
  const owner = found.owner;
  let abandoned: boolean;
  if (owner === null) abandoned = found.ageMs > UNREADABLE_LOCK_STALE_MS;
  else {
    const state = liveness(owner);
    abandoned =
      state.kind === "gone" || (state.kind === "unverifiable" && found.ageMs > UNVERIFIABLE_GUARD_STALE_MS);
  }
  if (abandoned) removeIfStill(guard, found);
}

/**
 * Removes `path` only if it still is the file `judged` (same inode and bytes), and says whether it
 * did. Never deletes by name a path judged earlier, since another process may have put its own live
 * file there since: the file is moved aside (atomic: only one process can move a given file), checked,
 * and put back if it is not the judged one. (Only a third process creating the name in the instant
 * between the move and the put-back could still be in conflict with the one whose file was moved.)
 */
function removeIfStill(path: string, judged: FoundLock): boolean {
  const aside = `${path}.${randomUUID()}.aside`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if (hasErrorCode(error, "ENOENT")) return false; // someone else removed it
    throw new LogError(`cannot remove ${path}`, { cause: error });
  }
  let moved: FoundLock | null;
  try {
    moved = inspectLock(aside);
  } catch (error) {
    // Unreadable here (another user's lock, say): it is not known to be the judged one; put it back.
    restore(aside, path);
    throw error;
  }
  if (moved !== null && moved.inode === judged.inode && moved.text === judged.text) {
    rmSync(aside, { force: true });
    return true;
  }
  // Null: its owner released it meanwhile (see removeOwn).
  if (moved !== null) restore(aside, path);
  return false;
}

/**
 * Puts a file moved aside back under `path` and drops the aside name. The name may be taken since
 * (EEXIST: a newer file stays), or the aside file gone (ENOENT: its owner released it meanwhile).
 */
function restore(aside: string, path: string): void {
  try {
    linkSync(aside, path);
  } catch (error) {
    if (!hasErrorCode(error, "EEXIST") && !hasErrorCode(error, "ENOENT")) {
      throw new LogError(`cannot restore ${path}`, { cause: error });
    }
  } finally {
    rmSync(aside, { force: true });
  }
}

/**
 * Removes this holder's lock or guard `path` (the one holding exactly `text`). Another process may
 * have moved it aside for an instant to check it ({@link removeIfStill}) and will put it back: the
 * aside copy is removed too, and the name looked at again, so the file cannot come back after release.
 */
function removeOwn(path: string, text: string): void {
  if (readText(path) === text.trim()) {
    rmSync(path, { force: true });
    return;
  }
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix) || !name.endsWith(".aside")) continue;
    if (readText(join(dir, name)) === text.trim()) rmSync(join(dir, name), { force: true });
  }
  if (readText(path) === text.trim()) rmSync(path, { force: true });
}
