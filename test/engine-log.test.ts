import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Cause, Effect, Exit, Option, TestClock, TestContext } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import { ConfigError } from "../src/errors.js";
import {
  createLoggedEngine,
  createLoggedEngineAsync,
  type EngineLogOptions,
  LoggedEngine,
} from "../src/log/engine-log.js";
import { auditEventOf } from "../src/log/log-records.js";
import { readDecisionLog } from "../src/log/reader.js";
import { Prng } from "../src/random/prng.js";
import { explain } from "../src/replay/explain.js";
import { replay } from "../src/replay/replay.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { durableWatch } from "./support/durable-watch.js";
import { SERVICE_KNOBS, serviceCost } from "./support/engine-harness.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function logDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "arqon-engine-log-"));
  dirs.push(dir);
  return join(dir, "log");
}

const START = 1_000;
const TICK_MS = 10;

function config(clock: ReplayClock): EngineConfig {
  return {
    seed: 11,
    runId: "logged",
    params: SERVICE_KNOBS,
    spsa: { calibrationIterations: 4 },
    window: { digests: 5, ms: 500 },
    scheduler: clock,
  };
}

/** Feeds `ticks` digests of a seeded noisy quadratic, one per 10 ms. */
function drive(logged: LoggedEngine, clock: ReplayClock, from: number, ticks: number, noise: Prng): void {
  const { engine } = logged;
  for (let k = from; k < from + ticks; k++) {
    const time = START + k * TICK_MS;
    clock.advanceTo(time);
    engine.observe({
      objective: serviceCost(engine.values, noise),
      generation: engine.generation,
      timestamp: time,
    });
  }
}

/** The seq of the log's (first) restart record. */
function restartSeq(dir: string): number {
  return readDecisionLog(dir).records.find((e) => e.record.kind === "restart")!.seq;
}

function kinds(dir: string): string[] {
  return readDecisionLog(dir).records.map((entry) => {
    const event = auditEventOf(entry.record);
    return event === undefined ? String(entry.record.kind) : event.type;
  });
}

describe("createLoggedEngine", () => {
  it("logs a run that replays bit for bit, and explains a generation from the file", async () => {
    const dir = logDir();
    const clock = new ReplayClock(START);
    const logged = createLoggedEngine(config(clock), { dir, flushMs: 5 });
    const noise = Prng.fromSeed(3, 1);
    drive(logged, clock, 1, 1500, noise);
    logged.engine.rollback("operator check");
    drive(logged, clock, 1501, 300, noise);
    logged.engine.halt("maintenance");
    drive(logged, clock, 1801, 50, noise);
    expect(logged.engine.resetSafeMode({ acknowledge: "done (ops)" })).toBe(true);
    drive(logged, clock, 1851, 400, noise);
    const generation = logged.engine.generation;
    await logged.close();

    const types = new Set(kinds(dir));
    for (const type of [
      "digest.accepted",
      "apply",
      "decision",
      "decision.step",
      "command",
      "mode.changed",
      "rollback",
    ])
      expect(types).toContain(type);
    const result = await replay(dir);
    expect(result.ok).toBe(true);
    expect(result.ok && result.records).toBeGreaterThan(2000);
    // The latest centre apply is explained from the file alone.
    const last = readDecisionLog(dir)
      .records.map((entry) => auditEventOf(entry.record))
      .filter((e) => e?.type === "apply" && e.kind === "centre")
      .at(-1);
    expect(last).toBeDefined();
    const why = explain(dir, last!.generation);
    expect(why.generation).toBe(last!.generation);
    expect(generation).toBeGreaterThanOrEqual(last!.generation);
  });

  it("makes a command durable before it takes effect", async () => {
    const dir = logDir();
    const clock = new ReplayClock(START);
    let seenAtCommand: string[] = [];
    let generationAtCommand = -1;
    let logged: LoggedEngine | undefined;
    logged = createLoggedEngine(
      {
        ...config(clock),
        onCommand: () => {
          // Runs after the log's own fsync: read what is on disk right now.
          seenAtCommand = kinds(dir);
          generationAtCommand = logged?.engine.generation ?? -1;
        },
      },
      { dir, flushMs: 60_000, flushRecords: 1_000_000 },
    );
    drive(logged, clock, 1, 200, Prng.fromSeed(4, 1));
    const before = logged.engine.generation;
    expect(logged.engine.rollback("durable first")).toBe(true);
    // On disk before the rollback ran: everything up to the command, and no rollback record yet.
    expect(seenAtCommand.at(-1)).toBe("command");
    expect(seenAtCommand).not.toContain("rollback");
    expect(seenAtCommand.filter((k) => k === "digest.accepted").length).toBe(200);
    expect(generationAtCommand).toBe(before);
    expect(logged.log.durableSeq).toBeGreaterThan(0);
    await logged.close();
  });

  it("refuses a command that cannot be made durable, but still halts", async () => {
    const dir = logDir();
    const clock = new ReplayClock(START);
    const logged = createLoggedEngine(
      {
        ...config(clock),
        onCommand: () => {
          throw new Error("disk full");
        },
      },
      { dir },
    );
    const seen: string[] = [];
    logged.engine.events.subscribe((e) => seen.push(e.type));
    drive(logged, clock, 1, 100, Prng.fromSeed(5, 1));
    const generation = logged.engine.generation;
    expect(() => logged.engine.rollback("needs the log")).toThrow(/rollback not applied.*disk full/);
    expect(logged.engine.generation).toBe(generation);
    drive(logged, clock, 101, 100, Prng.fromSeed(5, 2));
    logged.engine.halt("halting needs no log");
    expect(logged.engine.mode).toBe("halted");
    await logged.close();
    // The refused command's record was already written: the one after it says it took no effect,
    // so the log, the events and a replay all agree that no rollback happened.
    const events = readDecisionLog(dir).records.flatMap((entry) => auditEventOf(entry.record) ?? []);
    const at = events.findIndex((e) => e.type === "command" && e.command === "rollback");
    expect(events[at + 1]).toMatchObject({ type: "command.refused", command: "rollback", note: "disk full" });
    expect(events.filter((e) => e.type === "rollback")).toEqual([]);
    // A halt goes ahead whatever the log says: it is never refused.
    expect(events.filter((e) => e.type === "command.refused")).toHaveLength(1);
    expect(seen).toContain("command.refused");
    const replayed = await replay(dir);
    expect(replayed.ok, JSON.stringify(replayed)).toBe(true);
  });
});

// The synchronous and the asynchronous opening must continue a log alike.
describe.each([
  ["createLoggedEngine", async (c: EngineConfig, o: EngineLogOptions) => createLoggedEngine(c, o)],
  ["createLoggedEngineAsync", createLoggedEngineAsync],
] as const)("%s on an existing log", (_name, open) => {
  it("continues an existing log after a restart and records the generation gap", async () => {
    const dir = logDir();
    const clock = new ReplayClock(START);
    const first = await open(config(clock), { dir });
    drive(first, clock, 1, 600, Prng.fromSeed(6, 1));
    const lastGeneration = first.engine.generation;
    await first.close();
    expect(lastGeneration).toBeGreaterThan(10);

    const clock2 = new ReplayClock(START);
    const second = await open(config(clock2), { dir });
    expect(second.restart).toEqual({
      lastDurableGeneration: lastGeneration,
      liveGeneration: 0,
      gap: lastGeneration,
    });
    drive(second, clock2, 1, 100, Prng.fromSeed(7, 1));
    await second.close();
    const records = readDecisionLog(dir).records.map((entry) => entry.record);
    const restart = records.find((r) => r.kind === "restart");
    expect(restart).toMatchObject({
      lastDurableGeneration: lastGeneration,
      liveGeneration: 0,
      gap: lastGeneration,
    });
    // Replay rebuilds each run from its own header: the first up to the restart, then the second.
    const result = await replay(dir);
    expect(result.ok).toBe(true);
    expect(result.runs.length).toBe(2);
  });

  it("measures a restart's gap from the previous run, not from the log's highest generation", async () => {
    const dir = logDir();
    const runs = [600, 100, 100];
    const ends: number[] = [];
    for (const [k, ticks] of runs.entries()) {
      const clock = new ReplayClock(START);
      const logged = await open(config(clock), { dir });
      if (k > 0) expect(logged.restart?.lastDurableGeneration).toBe(ends[k - 1]);
      drive(logged, clock, 1, ticks, Prng.fromSeed(20 + k, 1));
      ends.push(logged.engine.generation);
      await logged.close();
    }
    expect(ends[0]).toBeGreaterThan(ends[1]!);
    const restarts = readDecisionLog(dir).records.filter((entry) => entry.record.kind === "restart");
    expect(restarts.map((entry) => entry.record.lastDurableGeneration)).toEqual([ends[0], ends[1]]);
  });

  it("reads a restart's gap from the end of a log of many segments, whatever the last run wrote", async () => {
    const dir = logDir();
    // Runs of 600, 0 and 100 digests in segments of 1 KiB: the last run's records span segments,
    // and a run that saw no digest leaves a segment with no generation above its baseline's.
    const runs = [600, 0, 100, 50];
    const ends: number[] = [];
    for (const [k, ticks] of runs.entries()) {
      const clock = new ReplayClock(START);
      const logged = await open(config(clock), { dir, segmentBytes: 1024 });
      if (k > 0) expect(logged.restart?.lastDurableGeneration).toBe(ends[k - 1]);
      drive(logged, clock, 1, ticks, Prng.fromSeed(40 + k, 1));
      ends.push(logged.engine.generation);
      await logged.close();
    }
    expect(readdirSync(dir).filter((f) => f.endsWith(".alog")).length).toBeGreaterThan(8);
    expect(ends[0]).toBeGreaterThan(ends[2]!);
    const result = await replay(dir);
    expect(result.ok).toBe(true);
    expect(result.runs.length).toBe(4);
  });

  it("after damage a lenient reopen sets aside, takes the gap from what the log still holds", async () => {
    const dir = logDir();
    for (const [k, ticks] of [200, 400].entries()) {
      const clock = new ReplayClock(START);
      const logged = await open(config(clock), { dir, segmentBytes: 1024 });
      const noise = Prng.fromSeed(50 + k, 1);
      // A group commit every 40 digests, in segments of 1 KiB: each run spans many segments.
      for (let from = 1; from <= ticks; from += 40) {
        drive(logged, clock, from, 40, noise);
        logged.log.flush();
      }
      await logged.close();
    }
    // Flip a byte a third of the way into the second run: everything from there on is set aside.
    const runTwo = readDecisionLog(dir).records.filter((e) => e.seq > restartSeq(dir));
    const target = runTwo[Math.floor(runTwo.length / 3)]!;
    expect(runTwo.length).toBeGreaterThan(30);
    const bytes = readFileSync(target.segment);
    bytes[target.offset + 12]! ^= 0xff;
    writeFileSync(target.segment, bytes);
    // What the log holds before the damage: the second run's highest generation up to there.
    let expected = -1;
    for (const entry of readDecisionLog(dir, { strict: false }).records) {
      if (entry.record.kind === "restart") expected = -1;
      const generation = auditEventOf(entry.record)?.generation;
      if (generation !== undefined) expected = Math.max(expected, generation);
    }
    const clock = new ReplayClock(START);
    const third = await open(config(clock), { dir, strict: false });
    expect(third.recovery?.kind).toBe("corruption");
    expect(third.restart?.lastDurableGeneration).toBe(expected);
    // The repair is written into the log with the restart, so its readers learn of it too.
    const repair = {
      kind: "corruption",
      segment: basename(third.recovery!.segment),
      truncatedAt: third.recovery!.truncatedAt,
      bytesDropped: third.recovery!.bytesDropped,
      reason: third.recovery!.reason,
      setAside: third.recovery!.setAside!.map((path) => basename(path)),
    };
    expect(repair.bytesDropped).toBeGreaterThan(0);
    expect(repair.setAside.length).toBeGreaterThan(0);
    expect(third.restart?.repair).toEqual(repair);
    await third.close();
    const result = await replay(dir);
    expect(result.runs.map((r) => r.repair)).toEqual([undefined, undefined, repair]);
  });

  it("a log created over an empty first segment (a crash before its header) is a first run", async () => {
    const dir = join(logDir(), "decisions");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "00000001.alog"), "");
    const clock = new ReplayClock(START);
    const logged = await open(config(clock), { dir });
    expect(logged.log.created).toBe(true);
    expect(logged.restart).toBeUndefined();
    drive(logged, clock, 1, 100, Prng.fromSeed(9, 1));
    await logged.close();
    expect(kinds(dir)).not.toContain("restart");
    const result = await replay(dir);
    expect(result.ok).toBe(true);
    expect(result.runs.length).toBe(1);
  });
});

describe("createLoggedEngine (scoped, closing)", () => {
  it("LoggedEngine.make: the log's group commits run in a fiber of the scope, and closing the scope closes both", async () => {
    const dir = logDir();
    const clock = new ReplayClock(START);
    const closed = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const watch = durableWatch();
          // flushRecords above what the run appends: only the interval wakes the fiber.
          const options = { dir, flushMs: 1, flushRecords: 1_000_000, onDurable: watch.onDurable };
          const logged = yield* LoggedEngine.make(config(clock), options);
          drive(logged, clock, 1, 300, Prng.fromSeed(8, 1));
          logged.engine.flushEvents();
          const appended = logged.log.lastSeq;
          expect(logged.log.durableSeq).toBeLessThan(appended);
          // The fiber commits on its own when its interval passes (no flush called here).
          yield* TestClock.adjust("2 millis");
          // Its write completes on the thread pool: wait for the commit's callback.
          yield* Effect.promise(() => watch.atLeast(appended));
          expect(logged.log.durableSeq).toBe(appended);
          return logged;
        }),
      ).pipe(Effect.provide(TestContext.TestContext)),
    );
    expect(closed.engine.observe({ objective: 1, generation: closed.engine.generation })).toBe("closed");
    expect(() => closed.log.append({ kind: "late" })).toThrow(/closed/);
    // The scope wrote the close marker after the engine stopped and before the log closed.
    expect(kinds(dir).at(-1)).toBe("close");
    const result = await replay(dir);
    expect(result.ok).toBe(true);
    expect(result.unclosed).toBeNull();
  });

  it("close() may be called again or concurrently: one close marker, and every call resolves", async () => {
    const dir = logDir();
    const logged = createLoggedEngine(config(new ReplayClock(START)), { dir });
    await Promise.all([logged.close(), logged.close()]);
    await logged.close();
    expect(kinds(dir).filter((kind) => kind === "close")).toHaveLength(1);
  });

  it("LoggedEngine.make: close() inside the scope closes the log too; a bad config fails as a ConfigError", async () => {
    const dir = logDir();
    const clock = new ReplayClock(START);
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const logged = yield* LoggedEngine.make(config(clock), { dir });
          yield* Effect.promise(() => logged.close());
          // Closed before the scope ends: the marker is written and the LOCK released.
          expect(kinds(dir).at(-1)).toBe("close");
          expect(existsSync(join(dir, "LOCK"))).toBe(false);
        }),
      ),
    );
    expect(kinds(dir).filter((kind) => kind === "close")).toHaveLength(1);
    const bad = await Effect.runPromiseExit(
      Effect.scoped(
        LoggedEngine.make({ ...config(clock), params: { x: { min: 5, max: 1 } } }, { dir: logDir() }),
      ),
    );
    expect(Exit.isFailure(bad) && Cause.failureOption(bad.cause).pipe(Option.getOrUndefined)).toBeInstanceOf(
      ConfigError,
    );
  });

  it("close() delivers the last records to the log before the sink stops (a halt just before it included)", async () => {
    const dir = logDir();
    const clock = new ReplayClock(START);
    const logged = createLoggedEngine(config(clock), { dir });
    drive(logged, clock, 1, 50, Prng.fromSeed(9, 1));
    logged.engine.halt("stop now");
    drive(logged, clock, 51, 1, Prng.fromSeed(9, 2));
    await logged.close();
    const types = kinds(dir);
    expect(types).toContain("mode.changed");
    // The close marker ends the log; the last audit record before it is the last digest.
    expect(types.at(-1)).toBe("close");
    expect(types.filter((kind) => !["timer", "flush", "close"].includes(kind)).at(-1)).toBe(
      "digest.accepted",
    );
    expect((await replay(dir)).ok).toBe(true);
  });

  it("a host sink that fails never makes the log repeat a record, and a command is refused while its record is not in the log", async () => {
    const dir = logDir();
    const clock = new ReplayClock(START);
    let throwing = 1;
    const logged = createLoggedEngine(
      {
        ...config(clock),
        safety: { breaker: { failureThreshold: 2, baseBackoffMs: 60_000 } },
        auditSink: () => {
          if (throwing > 0) {
            throwing--;
            throw new Error("host sink down");
          }
        },
      },
      { dir },
    );
    drive(logged, clock, 1, 300, Prng.fromSeed(10, 1));
    // One failure, then the batch was offered again: every audit seq is in the log exactly once.
    logged.log.flush();
    const seqs = readDecisionLog(dir)
      .records.map((entry) => auditEventOf(entry.record)?.seq)
      .filter((seq) => seq !== undefined);
    expect(seqs.length).toBeGreaterThan(300);
    expect(new Set(seqs).size).toBe(seqs.length);
    // Now the host sink keeps failing: its breaker opens and the log no longer takes records.
    throwing = 1_000_000;
    drive(logged, clock, 301, 200, Prng.fromSeed(10, 2));
    expect(logged.engine.snapshot().reasons).toContain("breakerOpen");
    const generation = logged.engine.generation;
    expect(() => logged.engine.rollback("needs the log")).toThrow(/rollback not applied.*not taken/);
    expect(logged.engine.generation).toBe(generation);
    await logged.close();
  });
});
