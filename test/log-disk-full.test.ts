import * as fs from "node:fs";
import { Cause, Effect, Exit } from "effect";
import { describe, expect, it } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import { createLoggedEngine, LoggedEngine } from "../src/log/engine-log.js";
import { LogBackpressureError, type LogError } from "../src/log/index.js";
import { auditEventOf } from "../src/log/log-records.js";
import { readDecisionLog } from "../src/log/reader.js";
import type { SegmentIo } from "../src/log/segment-io.js";
import { listSegments } from "../src/log/segments.js";
import { openDecisionLog } from "../src/log/writer.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { SERVICE_KNOBS } from "./support/engine-harness.js";
import { tempLogDirs } from "./support/log-dir.js";

const newDir = tempLogDirs();
const HEADER = { kind: "header", test: "disk-full" } as const;

/**
 * Real files, but writes fail with ENOSPC while `full` is set, after writing half their bytes (a
 * full disk takes part of a write, then refuses the rest).
 */
function fillableDisk(): { io: SegmentIo; full: { on: boolean }; refused: { count: number } } {
  const full = { on: false };
  const refused = { count: 0 };
  const enospc = (): NodeJS.ErrnoException =>
    Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  const io: SegmentIo = {
    ...fs,
    writeSync: ((fd: number, bytes: Uint8Array, offset: number, length: number, position: number) => {
      if (!full.on) return fs.writeSync(fd, bytes, offset, length, position);
      refused.count++;
      fs.writeSync(fd, bytes, offset, Math.floor(length / 2), position);
      throw enospc();
    }) as SegmentIo["writeSync"],
    write: ((
      fd: number,
      bytes: Uint8Array,
      offset: number,
      length: number,
      position: number,
      callback: (error: NodeJS.ErrnoException | null, written: number) => void,
    ) => {
      if (!full.on) {
        fs.write(fd, bytes, offset, length, position, callback);
        return;
      }
      refused.count++;
      fs.writeSync(fd, bytes, offset, Math.floor(length / 2), position);
      setImmediate(() => callback(enospc(), 0));
    }) as SegmentIo["write"],
  };
  return { io, full, refused };
}

/** Resolves with the next value passed to the returned callback that satisfies `accept`. */
function nextCall<T>(accept: (value: T) => boolean = () => true): {
  callback: (value: T) => void;
  next: () => Promise<T>;
} {
  let waiting: { accept: (value: T) => boolean; resolve: (value: T) => void } | undefined;
  return {
    callback: (value) => {
      if (waiting?.accept(value)) {
        const { resolve } = waiting;
        waiting = undefined;
        resolve(value);
      }
    },
    next: () =>
      new Promise<T>((resolve) => {
        waiting = { accept, resolve };
      }),
  };
}

describe("decision log commits off the event loop", () => {
  it("a command's synchronous flush while a background commit is in flight loses and alters nothing", async () => {
    const dir = newDir();
    // A slow disk: each background write lands 20 ms after it is asked for.
    const slow: SegmentIo = {
      ...fs,
      write: ((
        fd: number,
        bytes: Uint8Array,
        offset: number,
        length: number,
        position: number,
        callback: (error: NodeJS.ErrnoException | null, written: number) => void,
      ) => {
        setTimeout(() => fs.write(fd, bytes, offset, length, position, callback), 20);
      }) as SegmentIo["write"],
    };
    const durable = nextCall<number>();
    const writer = openDecisionLog({
      dir,
      header: HEADER,
      flushMs: 60_000,
      io: slow,
      onDurable: durable.callback,
    });
    const expected: string[] = [];
    const add = (n: number): void => {
      for (let i = 0; i < n; i++) {
        const tag = `r${expected.length + 1}-${"z".repeat(30)}`;
        expected.push(tag);
        writer.append({ kind: "r", tag });
      }
    };
    add(10);
    writer.flushInBackground(); // in flight for 20 ms
    for (let round = 0; round < 3; round++) {
      add(5);
      writer.appendCommand({ kind: "command" }); // synchronous: everything so far is durable now
      expected.push("command");
      expect(writer.lagRecords).toBe(0);
    }
    // Reusing the in-flight commit's buffer now would change the bytes its late write puts on disk.
    add(40);
    const last = durable.next();
    writer.flushInBackground();
    expect(await last).toBe(writer.lastSeq);
    writer.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const tags = readDecisionLog(dir).records.map((entry) => String(entry.record.tag ?? entry.record.kind));
    expect(tags).toEqual(expected);
  });
});

describe("decision log group commit through callbacks", () => {
  it("finishes short writes and reports file calls that throw, then retries the same bytes", async () => {
    const dir = newDir();
    // A disk that writes at most 7 bytes per background call, and whose write or fdatasync throws
    // (instead of calling back) while `broken` names it.
    const broken = { call: "" as "" | "write" | "fdatasync" };
    const eio = (call: string): NodeJS.ErrnoException =>
      Object.assign(new Error(`EIO: i/o error, ${call}`), { code: "EIO" });
    const io: SegmentIo = {
      ...fs,
      write: ((
        fd: number,
        bytes: Uint8Array,
        offset: number,
        length: number,
        position: number,
        callback: (error: NodeJS.ErrnoException | null, written: number) => void,
      ) => {
        if (broken.call === "write") throw eio("write");
        fs.write(fd, bytes, offset, Math.min(7, length), position, callback);
      }) as SegmentIo["write"],
      fdatasync: ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
        if (broken.call === "fdatasync") throw eio("fdatasync");
        fs.fdatasync(fd, callback);
      }) as SegmentIo["fdatasync"],
    };
    const errors = nextCall<LogError>();
    const durable = nextCall<number>((seq) => seq > 0);
    const writer = openDecisionLog({
      dir,
      header: HEADER,
      flushMs: 2,
      io,
      onError: errors.callback,
      onDurable: durable.callback,
    });
    let seq = 0;
    const appendSome = (n: number): void => {
      for (let i = 0; i < n; i++) seq = writer.append({ kind: "r", i: seq + 1, pad: "q".repeat(23) });
    };
    for (const call of ["write", "fdatasync"] as const) {
      appendSome(4);
      const ok = durable.next();
      writer.flushInBackground(); // dozens of 7-byte writes
      expect(await ok).toBe(seq);

      broken.call = call;
      appendSome(3);
      const failed = errors.next();
      writer.flushInBackground();
      expect((await failed).message).toContain(call);
      expect(writer.lastError).not.toBeNull();
      expect(() => writer.append({ kind: "r" })).toThrow(LogBackpressureError);
      // Mended, the retry (after flushMs) writes the same records at the same place.
      broken.call = "";
      const recovered = durable.next();
      expect(await recovered).toBe(seq);
      expect(writer.lastError).toBeNull();
    }
    writer.close();
    const seqs = readDecisionLog(dir).records.map((entry) => entry.seq);
    expect(seqs).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
  });
});

describe("decision log on a full disk", () => {
  it("refuses records while a commit fails, retries the same bytes, and every segment keeps its header", async () => {
    const dir = newDir();
    const disk = fillableDisk();
    const errors = nextCall<LogError>();
    const durable = nextCall<number>((seq) => seq > 0);
    const writer = openDecisionLog({
      dir,
      header: HEADER,
      flushMs: 2,
      segmentBytes: 400,
      io: disk.io,
      onError: errors.callback,
      onDurable: durable.callback,
    });
    let seq = 0;
    const appendSome = (n: number): void => {
      for (let i = 0; i < n; i++) seq = writer.append({ kind: "r", i: seq + 1, pad: "x".repeat(40) });
    };
    appendSome(5);
    const firstCommit = durable.next();
    writer.flushInBackground();
    await firstCommit;

    // The disk fills up: the next commit (which rolls to a new segment) fails half-way.
    disk.full.on = true;
    appendSome(6);
    const failed = errors.next();
    writer.flushInBackground();
    expect((await failed).message).toMatch(/ENOSPC/);
    expect(writer.lastError).not.toBeNull();
    // While failing, the log takes nothing new: memory stays bounded and the caller keeps its record.
    const before = writer.pending;
    expect(() => writer.append({ kind: "r" })).toThrow(LogBackpressureError);
    expect(writer.pending).toEqual(before);
    expect(writer.lastSeq).toBe(seq);
    // A command cannot be made durable either.
    expect(() => writer.flush()).toThrow(/ENOSPC/);
    // Retries keep failing while the disk is full (after flushMs each), and do not add segments.
    const retried = errors.next();
    expect((await retried).message).toMatch(/ENOSPC/);
    const segmentsWhileFull = listSegments(dir).length;

    // Space comes back: the retry writes the same bytes at the same place.
    disk.full.on = false;
    const recovered = durable.next();
    expect(await recovered).toBe(seq);
    expect(writer.lastError).toBeNull();
    expect(listSegments(dir).length).toBe(segmentsWhileFull);
    appendSome(20);
    writer.close();

    expect(disk.refused.count).toBeGreaterThanOrEqual(3);
    const { records } = readDecisionLog(dir);
    const seqs = records.map((entry) => entry.seq);
    expect(seqs).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    expect(listSegments(dir).length).toBeGreaterThan(2);
    // Every segment after the first starts with a segment header that links it to the one before.
    for (const segment of listSegments(dir).slice(1)) {
      const first = fs.readFileSync(segment.path).subarray(8, 60).toString("utf8");
      expect(first).toMatch(/^\{"seq":\d+,"kind":"segment","segment":/);
    }
  });

  it("refuses records once maxPendingBytes wait, without losing what it took", () => {
    const dir = newDir();
    const writer = openDecisionLog({ dir, header: HEADER, flushMs: 60_000, maxPendingBytes: 1_000 });
    let taken = 0;
    let refusal: unknown;
    for (let i = 0; i < 100; i++) {
      try {
        writer.append({ kind: "r", i, pad: "y".repeat(50) });
        taken++;
      } catch (error) {
        refusal = error;
        break;
      }
    }
    expect(refusal).toBeInstanceOf(LogBackpressureError);
    expect((refusal as LogBackpressureError).reason).toBe("full");
    expect((refusal as Error).message).toMatch(/maxPendingBytes 1000/);
    expect(writer.pending.bytes).toBeLessThan(1_000 + 100);
    writer.flush();
    writer.append({ kind: "r", i: "after" });
    writer.close();
    expect(readDecisionLog(dir).records.length).toBe(taken + 1);
  });

  it("close() after a disk failure that has passed still ends the log with its close marker", async () => {
    const dir = newDir();
    const disk = fillableDisk();
    const errors = nextCall<LogError>();
    const clock = new ReplayClock(1_000);
    const config: EngineConfig = { seed: 5, params: SERVICE_KNOBS, window: { digests: 5 }, scheduler: clock };
    const logged = createLoggedEngine(config, { dir, flushMs: 2, io: disk.io, onError: errors.callback });
    for (let i = 1; i <= 30; i++) {
      clock.advanceTo(1_000 + 10 * i);
      logged.engine.observe({ objective: 10 + (i % 3), generation: logged.engine.generation });
    }
    disk.full.on = true;
    const failed = errors.next();
    logged.engine.flushEvents();
    await failed;
    disk.full.on = false; // the disk has room again, but no commit has been retried yet
    await logged.close();
    const records = readDecisionLog(dir).records;
    expect(records.at(-1)!.record.kind).toBe("close");
  });

  it("a restart record the disk refuses leaves no engine or lock behind", async () => {
    const dir = newDir();
    const clock = new ReplayClock(1_000);
    const config: EngineConfig = { seed: 5, params: SERVICE_KNOBS, scheduler: clock };
    await createLoggedEngine(config, { dir }).close();
    const disk = fillableDisk();
    disk.full.on = true;
    expect(() => createLoggedEngine(config, { dir, io: disk.io })).toThrow(/no space left/);
    // The disk recovers: the same process can open the log again (no stale LOCK of its own).
    const again = createLoggedEngine(config, { dir });
    expect(again.restart).toBeDefined();
    await again.close();
  });

  it("LoggedEngine.make: a restart record the disk refuses fails with a LogError, not a defect", async () => {
    const dir = newDir();
    const config: EngineConfig = { seed: 5, params: SERVICE_KNOBS, scheduler: new ReplayClock(1_000) };
    await createLoggedEngine(config, { dir }).close();
    const disk = fillableDisk();
    disk.full.on = true;
    const exit = await Effect.runPromiseExit(Effect.scoped(LoggedEngine.make(config, { dir, io: disk.io })));
    expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(false);
    expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ name: "LogError" });
    disk.full.on = false;
    await createLoggedEngine(config, { dir }).close();
  });

  it("an open the disk refuses closes the segment file it opened, for a new log and an old one", () => {
    const disk = fillableDisk();
    const open = new Set<number>();
    const io: SegmentIo = {
      ...disk.io,
      openSync: ((path: fs.PathLike, flags: fs.OpenMode) => {
        const fd = fs.openSync(path, flags);
        open.add(fd);
        return fd;
      }) as SegmentIo["openSync"],
      closeSync: (fd: number) => {
        open.delete(fd);
        fs.closeSync(fd);
      },
    };
    disk.full.on = true;
    const fresh = newDir();
    expect(() => openDecisionLog({ dir: fresh, header: HEADER, io })).toThrow(/no space left/);
    expect(open.size).toBe(0);
    // An old log whose last segment lost its own header: opening writes it again, and fails.
    const old = newDir();
    openDecisionLog({ dir: old, header: HEADER, segmentBytes: 200 }).close();
    const writer = openDecisionLog({ dir: old, segmentBytes: 200 });
    for (let i = 0; i < 5; i++) writer.append({ kind: "r", i });
    writer.close();
    const last = listSegments(old).at(-1)!;
    fs.truncateSync(last.path, 0);
    expect(() => openDecisionLog({ dir: old, io })).toThrow(/no space left/);
    expect(open.size).toBe(0);
  });

  it("a logged engine whose log cannot be written freezes with reason breakerOpen and recovers", async () => {
    const dir = newDir();
    const disk = fillableDisk();
    const errors = nextCall<LogError>();
    const durable = nextCall<number>();
    const clock = new ReplayClock(1_000);
    const config: EngineConfig = {
      seed: 5,
      runId: "disk-full",
      params: SERVICE_KNOBS,
      spsa: { calibrationIterations: 4 },
      window: { digests: 5, ms: 500 },
      scheduler: clock,
    };
    const logged = createLoggedEngine(config, {
      dir,
      flushMs: 2,
      io: disk.io,
      onError: errors.callback,
      onDurable: durable.callback,
    });
    const { engine } = logged;
    let time = 1_000;
    const feed = (n: number): void => {
      for (let i = 0; i < n; i++) {
        time += 10;
        clock.advanceTo(time);
        engine.observe({ objective: 10 + (i % 3), generation: engine.generation, timestamp: time });
      }
    };
    feed(50);
    disk.full.on = true;
    const failed = errors.next();
    feed(5);
    await failed;
    // The engine's next audit drains are refused: its sink breaker opens and SafeMode freezes it.
    feed(100);
    expect(engine.snapshot().reasons).toContain("breakerOpen");
    expect(engine.mode).toBe("frozen");
    const waiting = logged.log.pending.bytes;
    feed(200);
    // The log holds no more than it held when the disk filled up.
    expect(logged.log.pending.bytes).toBe(waiting);

    disk.full.on = false;
    const recovered = durable.next();
    await recovered;
    // After the breaker's backoff its probe offers the kept batches again; they go to the log.
    for (let i = 0; i < 200 && engine.snapshot().reasons.includes("breakerOpen"); i++) feed(50);
    expect(engine.snapshot().reasons).not.toContain("breakerOpen");
    await logged.close();

    const seqs = readDecisionLog(dir).records.map((entry) => entry.seq);
    // Nothing was lost or repeated: the records the engine kept while the log refused came later.
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    const digests = readDecisionLog(dir).records.filter((entry) =>
      auditEventOf(entry.record)?.type.startsWith("digest."),
    );
    expect(digests.length).toBe(time / 10 - 100);
  });
});
