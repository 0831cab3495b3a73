import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { hostname, tmpdir } from "node:os";
import { join, relative as relativePath } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Effect } from "effect";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { lockState } from "../src/cli/state-lock.js";
import type { EngineConfig } from "../src/engine/config.js";
import { createLoggedEngine } from "../src/log/engine-log.js";
import {
  acquireLogLock,
  compactDecisionLog,
  DecisionLog,
  LOCK_FILE_NAME,
  LogLockedError,
  openDecisionLog,
  readDecisionLog,
} from "../src/log/index.js";
import { acquireFileLock, processStartTime } from "../src/log/lock.js";
import { listSegments } from "../src/log/segments.js";
import { replay } from "../src/replay/replay.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { runArqon, runArqonInProcess } from "./support/cli-run.js";

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A fresh directory (not created) for one log, inside a root removed after the file's tests. */
function newDir(): string {
  const root = mkdtempSync(join(tmpdir(), "arqon-lock-"));
  roots.push(root);
  return join(root, "log");
}

const HEADER = { kind: "header", test: "lock" } as const;
const lockPath = (dir: string): string => join(dir, LOCK_FILE_NAME);

/** Writes a closed log of `n` records. */
function writeLog(dir: string, n: number): void {
  const writer = openDecisionLog({ dir, header: HEADER });
  for (let i = 1; i <= n; i++) writer.append({ kind: "r", i });
  writer.close();
}

/** The error `run` throws, which must be a LogLockedError. */
/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  return child.pid!;
}

/** A lock record of our parent process (alive), with its real start time, as it would write it. */
function liveParentRecord(): Record<string, unknown> {
  return { ...ownLockRecord(), pid: process.ppid, startTime: processStartTime(process.ppid) };
}

/** What this process writes into a lock file (its boot id and pid namespace included). */
function ownLockRecord(): Record<string, unknown> {
  const dir = newDir();
  const writer = openDecisionLog({ dir, header: HEADER });
  const record = JSON.parse(readFileSync(lockPath(dir), "utf8")) as Record<string, unknown>;
  writer.close();
  return record;
}

function lockedError(run: () => unknown): LogLockedError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LogLockedError);
    return error as LogLockedError;
  }
  throw new Error("expected a LogLockedError, nothing was thrown");
}

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** The child: opens the log, writes three records durably, says so, then keeps the log open. */
const HOLDER_SOURCE = `
const { openDecisionLog } = await import(process.argv[1]);
const writer = openDecisionLog({ dir: process.argv[2], header: { kind: "header", test: "lock" } });
for (let i = 1; i <= 3; i++) writer.appendCommand({ kind: "r", i });
console.log("ready");
setInterval(() => {}, 60_000);
`;

/** Starts a child process holding the log `dir` open; resolves once it has written its records. */
function startHolder(dir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        tsxLoader,
        "--input-type=module",
        "-e",
        HOLDER_SOURCE,
        join(repoRoot, "src/log/index.ts"),
        dir,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      out += chunk;
      if (out.includes("ready\n")) resolve(child);
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (!out.includes("ready\n")) reject(new Error(`holder exited early (${code})`));
    });
  });
}

/**
 * The child: loads, says "loaded", and on "go" (stdin) tries to take the lock of every directory in
 * turn, keeping what it gets; prints one JSON array: "ok" or the refusal, per directory.
 */
const CONTENDER_SOURCE = `
const { acquireLogLock } = await import(process.argv[1]);
const dirs = JSON.parse(process.argv[2]);
process.stdin.once("data", () => {
  const outcomes = dirs.map((dir) => {
    try {
      acquireLogLock(dir);
      return "ok";
    } catch (error) {
      return error.refusal ?? error.message;
    }
  });
  console.log(JSON.stringify(outcomes));
  // Keep holding every lock won until told to exit: a contender that exited early would leave
  // locks of a dead process, which the other would rightly take over.
  process.stdin.once("data", () => process.exit(0));
});
console.log("loaded");
`;

/** A started contender: `go()` lets it run; `outcomes` resolves with what it printed; `exit()` ends it. */
interface Contender {
  readonly loaded: Promise<void>;
  readonly outcomes: Promise<string[]>;
  go(): void;
  exit(): Promise<void>;
}

function startContender(dirs: readonly string[]): Contender {
  const child = spawn(
    process.execPath,
    [
      "--import",
      tsxLoader,
      "--input-type=module",
      "-e",
      CONTENDER_SOURCE,
      join(repoRoot, "src/log/index.ts"),
      JSON.stringify(dirs),
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout!.setEncoding("utf8");
  const loaded = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: string) => {
      out += chunk;
      if (out.startsWith("loaded\n")) resolve();
    });
    child.on("error", reject);
  });
  const outcomes = new Promise<string[]>((resolve, reject) => {
    child.stdout!.on("data", () => {
      const rest = out.slice("loaded\n".length);
      if (!rest.endsWith("\n")) return;
      try {
        resolve(JSON.parse(rest) as string[]);
      } catch (error) {
        reject(error);
      }
    });
    child.on("exit", () => reject(new Error(`contender exited early: ${out}`)));
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return {
    loaded,
    outcomes,
    go: () => child.stdin!.write("go\n"),
    exit: () => {
      child.stdin!.write("exit\n");
      return exited;
    },
  };
}

/** SIGKILLs `child` and resolves once it is dead and reaped. */
function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

describe("decision-log lock: one writer per directory", () => {
  it("refuses a second writer in the same process, naming the directory and pid; a new one opens after close", () => {
    const dir = newDir();
    const first = openDecisionLog({ dir, header: HEADER });
    first.append({ kind: "r", i: 1 });
    const lock = JSON.parse(readFileSync(lockPath(dir), "utf8")) as Record<string, unknown>;
    expect(lock).toMatchObject({ pid: process.pid, hostname: hostname() });
    expect(Number.isNaN(Date.parse(String(lock.createdAt)))).toBe(false);

    const error = lockedError(() => openDecisionLog({ dir }));
    expect(error.refusal).toBe("this-process");
    expect(error.message).toContain(dir);
    expect(error.message).toContain(String(process.pid));
    expect(error.message).toContain("already open in this process");
    expect(error.owner).toMatchObject({ pid: process.pid });

    first.close();
    expect(existsSync(lockPath(dir))).toBe(false);
    const second = openDecisionLog({ dir });
    expect(second.recovery).toBeNull();
    expect(second.append({ kind: "r", i: 2 })).toBe(2);
    second.close();
    expect(readDecisionLog(dir).records.map((e) => e.seq)).toEqual([1, 2]);
  });

  it("refuses while a live child process holds the log, then takes the lock over once it is SIGKILLed", async () => {
    const dir = newDir();
    const child = await startHolder(dir);
    try {
      const error = lockedError(() => openDecisionLog({ dir }));
      expect(error.refusal).toBe("live-process");
      expect(error.message).toContain(dir);
      expect(error.message).toContain(`process ${child.pid}`);
      expect(error.message).toContain(hostname());
      expect(error.message).toMatch(/still running/);
    } finally {
      await kill(child);
    }
    const writer = openDecisionLog({ dir });
    try {
      expect(writer.recovery).toMatchObject({
        kind: "stale-lock",
        bytesDropped: 0,
        staleLock: { reason: "dead-process", owner: { pid: child.pid, hostname: hostname() } },
      });
      expect(JSON.parse(readFileSync(lockPath(dir), "utf8"))).toMatchObject({ pid: process.pid });
      // The child's records are intact and the seqs continue after them.
      expect(writer.append({ kind: "after" })).toBe(4);
    } finally {
      writer.close();
    }
    expect(readDecisionLog(dir).records.map((e) => e.record)).toEqual([
      { seq: 1, kind: "r", i: 1 },
      { seq: 2, kind: "r", i: 2 },
      { seq: 3, kind: "r", i: 3 },
      { seq: 4, kind: "after" },
    ]);
  }, 60_000);

  it("two processes taking over the same stale locks at once: exactly one wins each (200 locks)", async () => {
    const root = mkdtempSync(join(tmpdir(), "arqon-lock-race-"));
    roots.push(root);
    const old = (Date.now() - 60_000) / 1000;
    const dirs = Array.from({ length: 200 }, (_, i) => {
      const dir = join(root, String(i));
      mkdirSync(dir);
      writeFileSync(lockPath(dir), "{");
      utimesSync(lockPath(dir), old, old);
      return dir;
    });
    const contenders = [startContender(dirs), startContender(dirs)];
    await Promise.all(contenders.map((c) => c.loaded));
    for (const c of contenders) c.go();
    const [first, second] = await Promise.all(contenders.map((c) => c.outcomes));
    await Promise.all(contenders.map((c) => c.exit()));
    for (let i = 0; i < dirs.length; i++) {
      const pair = [first![i]!, second![i]!];
      expect(pair.filter((outcome) => outcome === "ok")).toHaveLength(1);
      expect(pair.find((outcome) => outcome !== "ok")).toMatch(/^(live-process|contended|unreadable)$/);
    }
  }, 90_000);

  it("refuses a lock held on another host and names the file to delete", () => {
    const dir = newDir();
    writeLog(dir, 2);
    const owner = { pid: 4242, hostname: `not-${hostname()}`, createdAt: new Date().toISOString() };
    writeFileSync(lockPath(dir), JSON.stringify(owner));
    const error = lockedError(() => openDecisionLog({ dir }));
    expect(error.refusal).toBe("other-host");
    expect(error.owner).toEqual(owner);
    expect(error.message).toContain(owner.hostname);
    expect(error.message).toContain("4242");
    expect(error.message).toContain(`delete ${lockPath(dir)}`);
    // Refused means untouched: the foreign lock is still there.
    expect(JSON.parse(readFileSync(lockPath(dir), "utf8"))).toEqual(owner);
  });

  it("takes over an unreadable lock file only when it is older than a few seconds", () => {
    const dir = newDir();
    writeLog(dir, 2);
    writeFileSync(lockPath(dir), '{"pid":');
    const fresh = lockedError(() => openDecisionLog({ dir }));
    expect(fresh.refusal).toBe("unreadable");
    expect(fresh.owner).toBeNull();
    expect(fresh.message).toMatch(/cannot be read yet and is only \d+ ms old/);

    const old = (Date.now() - 60_000) / 1000;
    utimesSync(lockPath(dir), old, old);
    const writer = openDecisionLog({ dir });
    expect(writer.recovery).toMatchObject({
      kind: "stale-lock",
      staleLock: { owner: null, reason: "unreadable" },
    });
    expect(writer.append({ kind: "r", i: 3 })).toBe(3);
    writer.close();
    expect(existsSync(lockPath(dir))).toBe(false);
  });

  it("takes over a lock from a previous boot (another boot id), even if its pid is alive now", () => {
    const dir = newDir();
    writeLog(dir, 1);
    const owner = {
      pid: process.ppid,
      hostname: hostname(),
      createdAt: new Date().toISOString(),
      bootId: "00000000-0000-0000-0000-000000000000",
    };
    writeFileSync(lockPath(dir), JSON.stringify(owner));
    const writer = openDecisionLog({ dir });
    expect(writer.recovery?.staleLock).toEqual({ owner, reason: "previous-boot" });
    writer.close();
  });

  it("judges liveness by pid, never by clocks: a live holder's lock is refused however old its createdAt", () => {
    const dir = newDir();
    writeLog(dir, 1);
    // This boot and pid namespace, a live process (our parent), and a clock that said 2000.
    writeFileSync(
      lockPath(dir),
      JSON.stringify({ ...liveParentRecord(), createdAt: "2000-01-01T00:00:00.000Z" }),
    );
    expect(lockedError(() => openDecisionLog({ dir })).refusal).toBe("live-process");
  });

  it("a live pid with another start time is a reused pid: its lock is taken over", () => {
    const dir = newDir();
    writeLog(dir, 1);
    const owner = { ...liveParentRecord(), startTime: "1" };
    writeFileSync(lockPath(dir), JSON.stringify(owner));
    const writer = openDecisionLog({ dir });
    expect(writer.recovery?.staleLock).toEqual({ owner, reason: "dead-process" });
    writer.close();
  });

  it("a holder that exited but was not reaped yet (a zombie) holds nothing: its lock is taken over", async () => {
    const dir = newDir();
    writeLog(dir, 1);
    // The shell backgrounds a short sleep, then becomes a long sleep that never reaps it.
    const parent = spawn("sh", ["-c", "sleep 0.1 & echo $!; exec sleep 30"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    try {
      const zombie = await new Promise<number>((resolve) =>
        parent.stdout!.once("data", (chunk: Buffer) => resolve(Number.parseInt(chunk.toString(), 10))),
      );
      const startTime = processStartTime(zombie);
      while (!readFileSync(`/proc/${zombie}/stat`, "utf8").includes(") Z ")) {
        await new Promise((done) => setTimeout(done, 20));
      }
      const owner = { ...ownLockRecord(), pid: zombie, startTime };
      writeFileSync(lockPath(dir), JSON.stringify(owner));
      const writer = openDecisionLog({ dir });
      expect(writer.recovery?.staleLock).toEqual({ owner, reason: "dead-process" });
      writer.close();
    } finally {
      parent.kill("SIGKILL");
    }
  });

  it("refuses a live lock of another machine that has the same host name (another machine id)", () => {
    const dir = newDir();
    writeLog(dir, 1);
    writeFileSync(lockPath(dir), JSON.stringify({ ...liveParentRecord(), machineId: "another-machine" }));
    const error = lockedError(() => openDecisionLog({ dir }));
    expect(error.refusal).toBe("other-host");
    expect(error.message).toContain("another machine with the same host name");
  });

  it("refuses a lock from another pid namespace on this host (a container sharing the directory)", () => {
    const dir = newDir();
    writeLog(dir, 1);
    const owner = {
      pid: deadPid(),
      hostname: hostname(),
      createdAt: new Date().toISOString(),
      pidNamespace: "pid:[1]",
    };
    writeFileSync(lockPath(dir), JSON.stringify(owner));
    const error = lockedError(() => openDecisionLog({ dir }));
    expect(error.refusal).toBe("other-host");
    expect(error.message).toContain("another pid namespace");
    expect(JSON.parse(readFileSync(lockPath(dir), "utf8"))).toEqual(owner);
  });

  it("a lock with this process's pid and another start time was left by an earlier process with that pid", () => {
    const dir = newDir();
    writeLog(dir, 1);
    const owner = { ...ownLockRecord(), startTime: "1" };
    writeFileSync(lockPath(dir), JSON.stringify(owner));
    const writer = openDecisionLog({ dir });
    expect(writer.recovery?.staleLock).toEqual({ owner, reason: "dead-process" });
    expect(lockedError(() => openDecisionLog({ dir })).refusal).toBe("this-process");
    writer.close();
  });

  it("this process is one holder whatever the path to the directory (a relative path, a symlink)", () => {
    const dir = newDir();
    const writer = openDecisionLog({ dir, header: HEADER });
    try {
      const relative = relativePath(process.cwd(), dir);
      expect(lockedError(() => openDecisionLog({ dir: relative })).refusal).toBe("this-process");
      const link = `${dir}-link`;
      symlinkSync(dir, link);
      expect(lockedError(() => openDecisionLog({ dir: link })).refusal).toBe("this-process");
    } finally {
      writer.close();
    }
  });

  it("a release while another process has the lock moved aside to check it leaves no lock behind", () => {
    const dir = newDir();
    mkdirSync(dir, { recursive: true });
    // The checker moves the live lock aside, finds it is not the stale one it judged, and puts it
    // back; the holder releases in between.
    const lock = acquireLogLock(dir);
    const aside = `${lockPath(dir)}.checker.aside`;
    renameSync(lockPath(dir), aside);
    lock.release();
    expect(existsSync(aside)).toBe(false);
    expect(() => linkSync(aside, lockPath(dir))).toThrow(/ENOENT/); // nothing left to put back
    expect(existsSync(lockPath(dir))).toBe(false);

    // The same, with the put-back landing before the release.
    const again = acquireLogLock(dir);
    renameSync(lockPath(dir), aside);
    linkSync(aside, lockPath(dir));
    again.release();
    rmSync(aside, { force: true }); // the checker drops its aside name
    expect(existsSync(lockPath(dir))).toBe(false);
    expect(acquireLogLock(dir).tookOver).toBeNull();
  });

  it("a holder's release never removes a lock someone else took since (each lock has its own id)", () => {
    const dir = newDir();
    mkdirSync(dir, { recursive: true });
    const first = acquireLogLock(dir);
    rmSync(lockPath(dir)); // removed by hand while held
    const second = acquireLogLock(dir);
    first.release();
    expect(JSON.parse(readFileSync(lockPath(dir), "utf8"))).toEqual(second.owner);
    expect(lockedError(() => acquireLogLock(dir)).refusal).toBe("this-process");
    second.release();
    expect(existsSync(lockPath(dir))).toBe(false);
  });

  it("adds the stale lock to a torn-tail recovery", () => {
    const dir = newDir();
    writeLog(dir, 3);
    const [segment] = listSegments(dir);
    writeFileSync(segment!.path, Buffer.concat([readFileSync(segment!.path), Buffer.from([9, 0, 0])]));
    const owner = { pid: deadPid(), hostname: hostname(), createdAt: "2001-01-01T00:00:00.000Z" };
    writeFileSync(lockPath(dir), JSON.stringify(owner));
    const writer = openDecisionLog({ dir });
    expect(writer.recovery).toMatchObject({ kind: "torn-tail", bytesDropped: 3, staleLock: { owner } });
    writer.close();
  });

  it("never removes a stale lock while another process holds the takeover guard", () => {
    const dir = newDir();
    writeLog(dir, 1);
    writeFileSync(lockPath(dir), "garbage");
    const old = (Date.now() - 60_000) / 1000;
    utimesSync(lockPath(dir), old, old);
    writeFileSync(`${lockPath(dir)}.takeover`, JSON.stringify(liveParentRecord()));
    const error = lockedError(() => openDecisionLog({ dir }));
    expect(error.refusal).toBe("contended");
    expect(readFileSync(lockPath(dir), "utf8")).toBe("garbage");
    // An old guard whose process still runs is only stalled: it stays, and so does the lock.
    utimesSync(`${lockPath(dir)}.takeover`, old, old);
    expect(lockedError(() => openDecisionLog({ dir })).refusal).toBe("contended");
    expect(readFileSync(lockPath(dir), "utf8")).toBe("garbage");
    // A guard left by a crash (its process gone) is cleared, and the takeover then goes ahead.
    writeFileSync(`${lockPath(dir)}.takeover`, JSON.stringify({ ...liveParentRecord(), pid: deadPid() }));
    const writer = openDecisionLog({ dir });
    expect(writer.recovery?.staleLock?.reason).toBe("unreadable");
    writer.close();
    expect(readdirSync(dir).filter((f) => f.startsWith(LOCK_FILE_NAME))).toEqual([]);
  });

  it("refuses compaction while a writer holds the lock and leaves the log unchanged; compacts after close", () => {
    const dir = newDir();
    writeLog(dir, 10);
    const writer = openDecisionLog({ dir });
    const before = listSegments(dir).map((s) => [s.path, readFileSync(s.path).toString("hex")]);
    const error = lockedError(() => compactDecisionLog(dir, 3));
    expect(error.message).toMatch(
      /^cannot compact decision log .*: it is already open in this process \(pid \d+/,
    );
    expect(listSegments(dir).map((s) => [s.path, readFileSync(s.path).toString("hex")])).toEqual(before);
    expect(JSON.parse(readFileSync(lockPath(dir), "utf8"))).toMatchObject({ pid: process.pid });
    writer.close();

    const result = compactDecisionLog(dir, 3);
    expect(result.recordsKept).toBe(3);
    expect(existsSync(lockPath(dir))).toBe(false);
    expect(readDecisionLog(dir).records.map((e) => e.seq)).toEqual([8, 9, 10]);
  });

  it("refuses to open a writer while a compaction-style holder has the lock", () => {
    const dir = newDir();
    writeLog(dir, 1);
    const lock = acquireLogLock(dir, `compact decision log ${dir}`);
    expect(lockedError(() => openDecisionLog({ dir })).refusal).toBe("this-process");
    lock.release();
    expect(lock.held).toBe(false);
    openDecisionLog({ dir }).close();
  });

  it("lets readers (readDecisionLog, replay) read while a writer holds the lock; LOCK is never a segment", async () => {
    const dir = newDir();
    const clock = new ReplayClock(1_000);
    const config: EngineConfig = {
      seed: 3,
      runId: "locked",
      params: { batchSize: { min: 1, max: 512, init: 64, maxDelta: 16 } },
      spsa: { calibrationIterations: 2 },
      window: { digests: 5 },
      scheduler: clock,
    };
    const logged = createLoggedEngine(config, { dir, flushMs: 5 });
    try {
      const { engine } = logged;
      for (let k = 1; k <= 200; k++) {
        clock.advanceTo(1_000 + k * 10);
        const b = (engine.values[0]! - 300) / 511;
        engine.observe({
          objective: 5 + 30 * b * b,
          generation: engine.generation,
          timestamp: 1_000 + k * 10,
        });
      }
      clock.advanceTo(10_000);
      logged.log.flush();
      expect(existsSync(lockPath(dir))).toBe(true);
      expect(listSegments(dir).some((s) => s.path.endsWith(LOCK_FILE_NAME))).toBe(false);
      const contents = readDecisionLog(dir);
      expect(contents.records.length).toBeGreaterThan(50);
      expect(contents.tornTail).toBeNull();
      const result = await replay(dir);
      expect(result.ok).toBe(true);
      // Reading took no lock: the writer still holds its own.
      expect(JSON.parse(readFileSync(lockPath(dir), "utf8"))).toMatchObject({ pid: process.pid });
    } finally {
      await logged.close();
    }
    expect(existsSync(lockPath(dir))).toBe(false);
  });

  it("removes the lock even when close() fails part-way", () => {
    const dir = newDir();
    const writer = openDecisionLog({ dir, header: HEADER, flushMs: 60_000 });
    writer.append({ kind: "r", i: 1 });
    // Pull the segment's descriptor from under the writer: the flush in close() then fails.
    closeSync((writer as unknown as { fd: number }).fd);
    expect(() => writer.close()).toThrow();
    expect(existsSync(lockPath(dir))).toBe(false);
    const again = openDecisionLog({ dir });
    expect(again.recovery).toBeNull();
    again.close();
  });

  it("an Effect-scoped log holds the lock while its scope is open and releases it when the scope closes", async () => {
    const dir = newDir();
    const seen = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const log = yield* DecisionLog.make({ dir, header: HEADER });
          log.append({ kind: "r", i: 1 });
          const refused = yield* Effect.flip(DecisionLog.make({ dir }));
          return { held: existsSync(lockPath(dir)), refused };
        }),
      ),
    );
    expect(seen.held).toBe(true);
    expect(seen.refused).toBeInstanceOf(LogLockedError);
    expect(existsSync(lockPath(dir))).toBe(false);
    expect(readDecisionLog(dir).records.map((e) => e.seq)).toEqual([1]);
  });

  it("releases the lock when opening fails after taking it", () => {
    const dir = newDir();
    mkdirSync(dir, { recursive: true });
    expect(() => openDecisionLog({ dir })).toThrow(/no header record/);
    expect(existsSync(lockPath(dir))).toBe(false);
  });

  it("keeps the invariant: the lock file exists exactly while a writer is open (random open/close/compact)", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("open", "close", "compact"), { maxLength: 25 }), (steps) => {
        const dir = newDir();
        writeLog(dir, 2);
        let open: ReturnType<typeof openDecisionLog> | null = null;
        for (const step of steps) {
          if (step === "open") {
            if (open === null) open = openDecisionLog({ dir });
            else expect(lockedError(() => openDecisionLog({ dir })).refusal).toBe("this-process");
          } else if (step === "close") {
            open?.close();
            open = null;
          } else if (open === null) {
            compactDecisionLog(dir, 1);
          } else {
            expect(lockedError(() => compactDecisionLog(dir, 1)).refusal).toBe("this-process");
          }
          expect(existsSync(lockPath(dir))).toBe(open !== null);
          // The lock is staged in a private file and linked into place: nothing staged stays behind.
          expect(readdirSync(dir).filter((f) => f.endsWith(".staged"))).toEqual([]);
          if (open !== null)
            expect(JSON.parse(readFileSync(lockPath(dir), "utf8"))).toMatchObject({ pid: process.pid });
        }
        open?.close();
        expect(readDecisionLog(dir).header).toMatchObject(HEADER);
      }),
      { numRuns: 40 },
    );
  });
});

describe("the CLI's --state lock", () => {
  const CONFIG = {
    seed: 5,
    budget: 20,
    bounds: { x: { min: -2, max: 2 }, y: { min: -2, max: 2 } },
  };

  /** A state at `name` in a fresh directory, with two trials asked; returns the dir and the trials. */
  async function stateWithTwoTrials(name: string): Promise<{ cwd: string; trials: { id: number }[] }> {
    const cwd = mkdtempSync(join(tmpdir(), "arqon-lock-cli-"));
    roots.push(cwd);
    writeFileSync(join(cwd, "c.json"), JSON.stringify(CONFIG));
    const asked = await runArqonInProcess(
      ["ask", "--state", name, "--config", "c.json", "--batch", "2"],
      cwd,
    );
    expect(asked.status).toBe(0);
    const trials = (JSON.parse(asked.stdout) as { trials: { id: number }[] }).trials;
    expect(trials).toHaveLength(2);
    return { cwd, trials };
  }

  /** Runs `arqon tell` in a child process, asynchronously; `onStderr` sees its stderr so far. */
  function tellChild(
    cwd: string,
    state: string,
    results: unknown,
    onStderr: (text: string) => void,
  ): Promise<{ status: number | null; err: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ["--import", tsxLoader, join(repoRoot, "src/cli/main.ts"), "tell", "--state", state],
        { cwd, stdio: ["pipe", "ignore", "pipe"] },
      );
      let err = "";
      child.stderr!.setEncoding("utf8");
      child.stderr!.on("data", (chunk: string) => {
        err += chunk;
        onStderr(err);
      });
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, err }));
      child.stdin!.end(JSON.stringify(results));
    });
  }

  for (const state of ["runlog", "s.json"]) {
    it(`two tells started together on one --state (${state}) both succeed and the state keeps both results`, async () => {
      const { cwd, trials } = await stateWithTwoTrials(state);
      // Held here until a tell says it waits, so at least one of them goes through the wait.
      const held =
        state === "s.json"
          ? acquireFileLock(join(cwd, "s.json.lock"), { purpose: "test" })
          : acquireLogLock(join(cwd, state));
      const releaseOnWait = (text: string): void => {
        if (text.includes("waiting up to 2000 ms")) held.release();
      };
      const [a, b] = await Promise.all([
        tellChild(cwd, state, [{ id: trials[0]!.id, value: 1.5 }], releaseOnWait),
        tellChild(cwd, state, [{ id: trials[1]!.id, value: 0.5 }], releaseOnWait),
      ]).finally(() => held.release());
      expect(a).toMatchObject({ status: 0 });
      expect(b).toMatchObject({ status: 0 });
      expect(`${a.err}${b.err}`).toMatch(
        new RegExp(`arqon tell: waiting up to 2000 ms: .*locked by process ${process.pid}`),
      );
      const status = await runArqonInProcess(["status", "--state", state], cwd);
      expect(JSON.parse(status.stdout)).toMatchObject({ told: 2, pending: [], best: { value: 0.5 } });
      expect(readdirSync(cwd).sort()).toEqual(["c.json", state].sort());
    }, 60_000);
  }

  it("a tell waits for a held state lock, then gives up with exit 1 naming the holder", async () => {
    const { cwd, trials } = await stateWithTwoTrials("runlog");
    const lock = acquireLogLock(join(cwd, "runlog"));
    try {
      const run = runArqon(
        ["tell", "--state", "runlog"],
        cwd,
        JSON.stringify([{ id: trials[0]!.id, value: 1 }]),
      );
      expect(run.status).toBe(1);
      const line = run.stderr.trim().split("\n").at(-1)!;
      expect(line).toMatch(
        /^arqon tell: gave up after waiting 2000 ms: cannot use state runlog: it is locked by process /,
      );
      expect(line).toContain(`locked by process ${process.pid} on ${hostname()}`);
    } finally {
      lock.release();
    }
    const status = await runArqonInProcess(["status", "--state", "runlog"], cwd);
    expect(JSON.parse(status.stdout)).toMatchObject({ told: 0 });
  }, 60_000);

  it("solve holds the --state lock for its whole run and releases it at the end", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "arqon-lock-cli-"));
    roots.push(cwd);
    writeFileSync(join(cwd, "c.json"), JSON.stringify({ ...CONFIG, budget: 4 }));
    // The objective reports 1 while the lock file exists, 99 otherwise.
    const probe = "console.log('RESULT=' + (require('fs').existsSync(process.argv[1]) ? 1 : 99))";
    const run = await runArqonInProcess(
      [
        "solve",
        "--config",
        "c.json",
        "--state",
        "runlog",
        "--",
        process.execPath,
        "-e",
        probe,
        lockPath(join(cwd, "runlog")),
      ],
      cwd,
    );
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 4, best: { value: 1 } });
    const told = readDecisionLog(join(cwd, "runlog"))
      .records.filter((e) => e.record.kind === "tell")
      .flatMap((e) => (e.record.results as { value: number }[]).map((r) => r.value));
    expect(told).toEqual([1, 1, 1, 1]);
    expect(existsSync(lockPath(join(cwd, "runlog")))).toBe(false);
  }, 60_000);

  it("a JSON state is locked beside it while a command runs, and status reads without the lock", async () => {
    const { cwd } = await stateWithTwoTrials("s.json");
    const lock = acquireFileLock(join(cwd, "s.json.lock"), { purpose: "test" });
    try {
      const status = await runArqonInProcess(["status", "--state", "s.json"], cwd);
      expect(status.status).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ asked: 2, told: 0 });
    } finally {
      lock.release();
    }
    expect(existsSync(join(cwd, "s.json.lock"))).toBe(false);
  });

  it("a command waiting on a new log state gets it when the holder that created the directory fails and removes it", async () => {
    const cwd = newDir();
    const first = await lockState("ask", cwd, "newlog");
    expect(existsSync(join(cwd, "newlog", LOCK_FILE_NAME))).toBe(true);
    const lines: string[] = [];
    let announced: () => void = () => {};
    const waiting = new Promise<void>((done) => {
      announced = done;
    });
    const second = lockState("ask", cwd, "newlog", { waitMs: 5_000, pollMs: 5 }, (line) => {
      lines.push(line);
      announced();
    });
    // The first command fails before writing anything: its release removes the lock and the empty directory.
    await waiting;
    first.release();
    const held = await second;
    expect(lines[0]).toMatch(/^arqon ask: waiting up to 5000 ms/);
    expect(existsSync(join(cwd, "newlog", LOCK_FILE_NAME))).toBe(true);
    held.release();
    expect(existsSync(join(cwd, "newlog"))).toBe(false);
  });

  it("a tell on a state whose lock was left by a dead process takes it over and says so", async () => {
    const { cwd, trials } = await stateWithTwoTrials("runlog");
    const owner = {
      pid: process.ppid,
      hostname: hostname(),
      createdAt: "2002-02-02T00:00:00.000Z",
      bootId: "00000000-0000-0000-0000-000000000000",
    };
    writeFileSync(lockPath(join(cwd, "runlog")), JSON.stringify(owner));
    const run = await runArqonInProcess(
      ["tell", "--state", "runlog"],
      cwd,
      JSON.stringify([{ id: trials[0]!.id, value: 2 }]),
    );
    expect(run.status).toBe(0);
    expect(run.stderr).toContain(
      `arqon tell: took over the lock of state runlog left by process ${owner.pid} on ${owner.hostname} since ${owner.createdAt}, taken before this machine last booted`,
    );
    expect(existsSync(lockPath(join(cwd, "runlog")))).toBe(false);
    expect(JSON.parse((await runArqonInProcess(["status", "--state", "runlog"], cwd)).stdout)).toMatchObject({
      told: 1,
    });
  });

  it("a failed ask on a new log state leaves no directory behind", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "arqon-lock-cli-"));
    roots.push(cwd);
    const run = await runArqonInProcess(["ask", "--state", "fresh"], cwd);
    expect(run.status).toBe(2);
    expect(existsSync(join(cwd, "fresh"))).toBe(false);
  });
});
