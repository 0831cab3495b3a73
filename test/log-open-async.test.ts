import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Effect, Exit } from "effect";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import { ConfigError } from "../src/errors.js";
import { createLoggedEngine, createLoggedEngineAsync, LoggedEngine } from "../src/log/engine-log.js";
import { LogCorruptionError, LogError } from "../src/log/errors.js";
import { LOCK_FILE_NAME, LogLockedError } from "../src/log/lock.js";
import { readDecisionLog } from "../src/log/reader.js";
import { openDecisionLog, openDecisionLogAsync } from "../src/log/writer.js";
import { Prng } from "../src/random/prng.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { runAtOnce, type Steps } from "../src/runtime/event-loop-slices.js";
import { SERVICE_KNOBS, serviceCost } from "./support/engine-harness.js";
import { fastClock, turnsDuring } from "./support/event-loop-turns.js";
import { tempDirs } from "./support/recording-tail.js";

// Restarting a logged engine verifies the whole log before the engine exists. The synchronous
// opening holds the caller's thread meanwhile; the asynchronous one must let the event loop turn
// (a supervisor restarting an engine keeps serving), take the directory's lock first and hold it
// throughout, and fail as the synchronous one fails. Slices are timed on fastClock's
// performance.now (5 ms later at every call), so they end after two frames on any machine.

const tempDir = tempDirs("arqon-open-async-");

afterEach(() => {
  vi.restoreAllMocks();
});

const START = 1_000;

function config(clock: ReplayClock): EngineConfig {
  return {
    seed: 3,
    runId: "open-async",
    params: SERVICE_KNOBS,
    spsa: { calibrationIterations: 4 },
    window: { digests: 5, ms: 500 },
    scheduler: clock,
  };
}

/** A logged engine's run of `ticks` digests in segments of 1 KiB, closed; returns its last generation. */
async function loggedRun(dir: string, ticks: number): Promise<number> {
  const clock = new ReplayClock(START);
  const logged = createLoggedEngine(config(clock), { dir, segmentBytes: 1024 });
  const noise = Prng.fromSeed(8, 1);
  for (let k = 1; k <= ticks; k++) {
    const time = START + k * 10;
    clock.advanceTo(time);
    logged.engine.observe({
      objective: serviceCost(logged.engine.values, noise),
      generation: logged.engine.generation,
      timestamp: time,
    });
    // A group commit every 20 digests: segments end at commits, so the run spans many.
    if (k % 20 === 0) logged.log.flush();
  }
  const generation = logged.engine.generation;
  await logged.close();
  return generation;
}

const segmentsOf = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".alog"));

/** Every file of `dir` with its bytes. */
function filesOf(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) files[name] = readFileSync(join(dir, name)).toString("base64");
  return files;
}

describe("createLoggedEngineAsync", () => {
  it("lets the event loop turn while it verifies a long log, and continues it", async () => {
    const dir = join(tempDir(), "log");
    const lastGeneration = await loggedRun(dir, 400);
    expect(segmentsOf(dir).length).toBeGreaterThan(5);
    fastClock();
    const blocking = await turnsDuring(async () =>
      createLoggedEngine(config(new ReplayClock(START)), { dir }),
    );
    await blocking.result.close();
    // The synchronous opening ran between two turns; the asynchronous one verifies in slices.
    expect(blocking.turns).toBeLessThanOrEqual(1);
    const opened = await turnsDuring(() => createLoggedEngineAsync(config(new ReplayClock(START)), { dir }));
    expect(opened.turns).toBeGreaterThanOrEqual(150);
    expect(opened.result.restart).toEqual({ lastDurableGeneration: 0, liveGeneration: 0, gap: 0 });
    await opened.result.close();
    const restarts = readDecisionLog(dir).records.filter((entry) => entry.record.kind === "restart");
    expect(restarts.map((entry) => entry.record.lastDurableGeneration)).toEqual([lastGeneration, 0]);
  });

  it("holds the directory's lock from the start: a second writer is refused while it verifies", async () => {
    const dir = join(tempDir(), "log");
    await loggedRun(dir, 200);
    const opening = createLoggedEngineAsync(config(new ReplayClock(START)), { dir });
    // The opening has taken the lock and is reading the log: another writer must wait for it.
    expect(() => createLoggedEngine(config(new ReplayClock(START)), { dir })).toThrow(LogLockedError);
    await expect(openDecisionLogAsync({ dir })).rejects.toBeInstanceOf(LogLockedError);
    const logged = await opening;
    expect(logged.restart).toBeDefined();
    await logged.close();
    expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(false);
  });

  it("rejects mid-log damage in strict mode, leaving the log as it was and its lock released", async () => {
    const dir = join(tempDir(), "log");
    await loggedRun(dir, 200);
    const entries = readDecisionLog(dir).records;
    const target = entries[Math.floor(entries.length / 3)]!;
    const bytes = readFileSync(target.segment);
    bytes[target.offset + 12]! ^= 0xff;
    writeFileSync(target.segment, bytes);
    const before = filesOf(dir);
    const error = await createLoggedEngineAsync(config(new ReplayClock(START)), { dir }).catch((e) => e);
    expect(error).toBeInstanceOf(LogCorruptionError);
    expect(error.segment).toBe(target.segment);
    expect(error.offset).toBe(target.offset);
    expect(filesOf(dir)).toEqual(before);
    // Lenient, it sets the damage aside and continues from what the log still holds.
    const logged = await createLoggedEngineAsync(config(new ReplayClock(START)), { dir, strict: false });
    expect(logged.recovery).toMatchObject({
      kind: "corruption",
      segment: target.segment,
      truncatedAt: target.offset,
    });
    await logged.close();
  });

  it("refuses a log that is not an engine's, leaving it as it was", async () => {
    const dir = join(tempDir(), "log");
    const other = openDecisionLog({ dir, header: { kind: "header", format: "someone.else" } });
    other.appendCommand({ kind: "note", text: "theirs" });
    other.close();
    const before = filesOf(dir);
    const error = await createLoggedEngineAsync(config(new ReplayClock(START)), { dir }).catch((e) => e);
    expect(error).toBeInstanceOf(LogError);
    expect(error.message).toContain(`it is not an engine log (its header's format is "someone.else"`);
    expect(filesOf(dir)).toEqual(before);
    // A bad config too: the config's error comes first, from every opening alike.
    const bad = { ...config(new ReplayClock(START)), window: { digests: 0, ms: 500 } };
    expect(() => createLoggedEngine(bad, { dir })).toThrow(ConfigError);
    await expect(createLoggedEngineAsync(bad, { dir })).rejects.toBeInstanceOf(ConfigError);
    const exit = await Effect.runPromiseExit(Effect.scoped(LoggedEngine.make(bad, { dir })));
    expect(Exit.isFailure(exit) && String(exit.cause)).toContain("ConfigError");
    expect(filesOf(dir)).toEqual(before);
  });

  it("rejects a bad config with a ConfigError naming the field, before the directory is touched", async () => {
    const dir = join(tempDir(), "never-made");
    const bad = { ...config(new ReplayClock(START)), window: { digests: 0, ms: 500 } };
    const error = await createLoggedEngineAsync(bad, { dir }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain("window.digests");
    expect(existsSync(dir)).toBe(false);
  });

  it("creates a new log whose header carries the engine's start time", async () => {
    const dir = join(tempDir(), "log");
    const clock = new ReplayClock(START + 250);
    const logged = await createLoggedEngineAsync(config(clock), { dir });
    expect(logged.log.created).toBe(true);
    expect(logged.restart).toBeUndefined();
    await logged.close();
    const log = readDecisionLog(dir);
    expect(log.header?.startTime).toBe(START + 250);
    expect(log.records.at(-1)?.record.kind).toBe("close");
  });
});

describe("LoggedEngine.make", () => {
  it("verifies an existing log in slices too, and continues it", async () => {
    const dir = join(tempDir(), "log");
    const lastGeneration = await loggedRun(dir, 400);
    fastClock();
    const opened = await turnsDuring(() =>
      Effect.runPromise(
        Effect.scoped(
          Effect.map(LoggedEngine.make(config(new ReplayClock(START)), { dir }), (logged) => logged.restart),
        ),
      ),
    );
    expect(opened.turns).toBeGreaterThanOrEqual(150);
    expect(opened.result).toEqual({
      lastDurableGeneration: lastGeneration,
      liveGeneration: 0,
      gap: lastGeneration,
    });
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        LoggedEngine.make({ ...config(new ReplayClock(START)), window: { digests: 0, ms: 1 } }, { dir }),
      ),
    );
    expect(Exit.isFailure(exit) && String(exit.cause)).toContain("ConfigError");
  });
});

describe("openDecisionLogAsync", () => {
  it("recovers a torn tail as openDecisionLog does, and appends after it", async () => {
    const dirs = [join(tempDir(), "a"), join(tempDir(), "b")];
    for (const dir of dirs) {
      const writer = openDecisionLog({ dir, header: { kind: "header" } });
      for (let n = 1; n <= 50; n++) writer.appendCommand({ kind: "note", n });
      writer.close();
      const segment = join(dir, segmentsOf(dir)[0]!);
      writeFileSync(segment, readFileSync(segment).subarray(0, -7));
    }
    const sync = openDecisionLog({ dir: dirs[0]! });
    const async = await openDecisionLogAsync({ dir: dirs[1]! });
    expect(async.recovery).toMatchObject({ kind: "torn-tail", bytesDropped: sync.recovery!.bytesDropped });
    expect(async.lastSeq).toBe(sync.lastSeq);
    for (const writer of [sync, async]) {
      writer.appendCommand({ kind: "note", n: 51 });
      writer.close();
    }
    expect(readDecisionLog(dirs[1]!).records.map((e) => e.record)).toEqual(
      readDecisionLog(dirs[0]!).records.map((e) => e.record),
    );
  });
});

describe("steps that wait for a promise", () => {
  it("cannot run at once: a synchronous run refuses them, running their cleanup", () => {
    let cleaned = false;
    function* waits(): Steps<number> {
      try {
        // Rejected: the refusal must not leave it unhandled (vitest fails on an unhandled rejection).
        return (yield Promise.reject(new Error("never read"))) as number;
      } finally {
        cleaned = true;
      }
    }
    expect(() => runAtOnce(waits())).toThrow("runAtOnce: the steps waited for a promise");
    expect(cleaned).toBe(true);
  });
});
