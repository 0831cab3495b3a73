import { existsSync } from "node:fs";
import { join } from "node:path";
import { Effect } from "effect";
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import {
  createLoggedEngine,
  createLoggedEngineAsync,
  explain,
  LogError,
  LoggedEngine,
  openDecisionLog,
  ReplayInputError,
  replay,
} from "../src/node.js";
import { tempLogDirs } from "./support/log-dir.js";

// A decision log's options are checked before anything is opened or created: a misspelt or
// mistyped one would otherwise change what the log does without a word (`resum` starts the
// engine from init, `fsync: "Always"` commits in groups, `strict: "no"` is truthy).

const newDir = tempLogDirs();

function config(): EngineConfig<"x"> {
  return { seed: 1, params: { x: { min: 0, max: 1 } }, scheduler: new VirtualTimeScheduler() };
}

/** Each bad option with the refusal it gets, `dir` filled in by the test. */
const refusals: [string, Record<string, unknown>, string][] = [
  [
    "a misspelt key, with the one meant",
    { resum: true },
    'unknown option "resum" (did you mean resume? known: dir, flushMs, flushRecords, fsync, segmentBytes, strict, maxPendingBytes, keepRecords, onCompaction, onDurable, onError, lock, resume)',
  ],
  [
    "an fsync other than its two values",
    { fsync: "Always" },
    'fsync must be "group" or "always", got "Always"',
  ],
  ["a strict that is not a boolean", { strict: "no" }, 'strict must be true or false, got "no"'],
  ["a callback that is not a function", { onError: 5 }, "onError must be a function, got 5"],
  [
    "a segment size that is not whole",
    { segmentBytes: 100.5 },
    "segmentBytes must be a whole number > 0, got 100.5",
  ],
  [
    "a header, which the engine writes",
    { header: {} },
    'unknown option "header" (known: dir, flushMs, flushRecords, fsync, segmentBytes, strict, maxPendingBytes, keepRecords, onCompaction, onDurable, onError, lock, resume)',
  ],
];

describe("createLoggedEngine's options", () => {
  for (const [what, bad, message] of refusals) {
    it(`refuses ${what}, naming it, before the directory is made`, async () => {
      const dir = join(newDir(), "not-yet");
      const options = { dir, ...bad } as never;
      expect(() => createLoggedEngine(config(), options)).toThrow(new LogError(message));
      await expect(createLoggedEngineAsync(config(), options)).rejects.toThrow(new LogError(message));
      expect(existsSync(dir)).toBe(false);
    });
  }

  it("refuses no options and a missing dir with a LogError, not a TypeError", async () => {
    const none = new LogError('options must be an object such as { dir: "decisions" }, got undefined');
    expect(() => createLoggedEngine(config(), undefined as never)).toThrow(none);
    await expect(createLoggedEngineAsync(config(), undefined as never)).rejects.toThrow(none);
    const made = await Effect.runPromise(
      Effect.scoped(LoggedEngine.make(config(), undefined as never)).pipe(Effect.flip),
    );
    expect(made).toBeInstanceOf(LogError);
    expect((made as LogError).message).toBe(none.message);
    expect(() => createLoggedEngine(config(), { fsync: "always" } as never)).toThrow(
      new LogError("dir must be a directory's path, got undefined"),
    );
  });
});

describe("openDecisionLog's options", () => {
  it("refuses the same slips, and resume, which only an engine's log takes", () => {
    const dir = join(newDir(), "not-yet");
    expect(() => openDecisionLog({ dir, fsync: "Always" } as never)).toThrow(
      new LogError('fsync must be "group" or "always", got "Always"'),
    );
    expect(() => openDecisionLog({ dir, resume: true } as never)).toThrow(
      new LogError(
        'unknown option "resume" (known: dir, header, flushMs, flushRecords, fsync, segmentBytes, strict, maxPendingBytes, keepRecords, onCompaction, onDurable, onError, lock)',
      ),
    );
    expect(existsSync(dir)).toBe(false);
  });
});

describe("the log readers' options", () => {
  it("refuse a key they do not take and a generation that is not one, before reading the log", async () => {
    const dir = newDir();
    await createLoggedEngine(config(), { dir }).close();
    await expect(replay(dir, { runn: 1 } as never)).rejects.toThrow(
      new ReplayInputError(
        'replay: unknown option "runn" (did you mean run? known: context, override, createEngine, run)',
      ),
    );
    await expect(replay(dir, 1 as never)).rejects.toThrow(
      new ReplayInputError("replay: options must be an object, got 1"),
    );
    expect(() => explain(dir, 3, { runs: 1 } as never)).toThrow(
      new ReplayInputError('explain: unknown option "runs" (did you mean run? known: run)'),
    );
    // A generation read from a command line as text would have been reported as never created.
    expect(() => explain(dir, "3" as never)).toThrow(
      new ReplayInputError('explain: generation must be a whole number ≥ 0, got "3"'),
    );
    expect((await replay(dir, { run: 1 })).ok).toBe(true);
  });
});
