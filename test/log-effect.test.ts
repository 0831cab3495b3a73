import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Effect, Exit, Scope, TestClock, TestContext } from "effect";
import { describe, expect, it } from "vitest";
import { DecisionLog, LogCorruptionError, LogError, readDecisionLog } from "../src/log/index.js";
import { durableWatch } from "./support/durable-watch.js";
import { tempLogDirs } from "./support/log-dir.js";

const newDir = tempLogDirs();

const HEADER = { kind: "header", engine: { seed: 7 } } as const;

describe("DecisionLog.make (Effect)", () => {
  it("drains appends in its fiber, wakes early at flushRecords, and closing the scope makes everything durable", async () => {
    const dir = newDir();
    const scope = Effect.runSync(Scope.make());
    const watch = durableWatch();
    const options = { dir, header: HEADER, flushMs: 60_000, flushRecords: 3, onDurable: watch.onDurable };
    const log = await Effect.runPromise(Scope.extend(DecisionLog.make(options), scope));
    log.append({ kind: "r", i: 1 });
    log.append({ kind: "r", i: 2 });
    expect(log.lagRecords).toBe(2);
    log.append({ kind: "r", i: 3 }); // reaches flushRecords: the fiber is woken
    // The interval is a minute away: only the wake-up can make record 3 durable.
    await watch.atLeast(3);
    expect(log.lagRecords).toBe(0);
    expect(readDecisionLog(dir).records.map((e) => e.seq)).toEqual([1, 2, 3]);
    log.append({ kind: "r", i: 4 });
    expect(log.pending.records).toBe(1);
    await Effect.runPromise(Scope.close(scope, Exit.void));
    expect(readDecisionLog(dir).records.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(() => log.append({ kind: "late" })).toThrow(LogError);
  });

  it("flushes on its interval without reaching flushRecords", async () => {
    const dir = newDir();
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const watch = durableWatch();
          const options = { dir, header: HEADER, flushMs: 5, flushRecords: 1000, onDurable: watch.onDurable };
          const log = yield* DecisionLog.make(options);
          log.append({ kind: "r", i: 1 });
          yield* TestClock.adjust("5 millis");
          yield* Effect.promise(() => watch.atLeast(1));
          expect(log.durableSeq).toBe(1);
        }),
      ).pipe(Effect.provide(TestContext.TestContext)),
    );
  });

  it("fails with a typed LogError for a missing header and a LogCorruptionError for mid-log damage", async () => {
    const dir = newDir();
    const missing = await Effect.runPromise(Effect.scoped(DecisionLog.make({ dir })).pipe(Effect.flip));
    expect(missing).toBeInstanceOf(LogError);
    expect(missing.message).toMatch(/no header record/);

    const writer = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const log = yield* DecisionLog.make({ dir, header: HEADER });
          for (let i = 1; i <= 5; i++) log.append({ kind: "r", i });
          return log;
        }),
      ),
    );
    expect(writer.durableSeq).toBe(5);
    const segment = `${dir}/${readdirSync(dir)[0]}`;
    const bytes = readFileSync(segment);
    const third = readDecisionLog(dir).records[2]!;
    bytes[third.offset + 9]! ^= 4;
    writeFileSync(segment, bytes);
    const damaged = await Effect.runPromise(Effect.scoped(DecisionLog.make({ dir })).pipe(Effect.flip));
    expect(damaged).toBeInstanceOf(LogCorruptionError);
    expect((damaged as LogCorruptionError).offset).toBe(third.offset);
  });
});
