import { appendFileSync, cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Effect } from "effect";
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import { monitorEngine } from "../src/index.js";
import {
  compactDecisionLog,
  createLoggedEngine,
  createLoggedEngineAsync,
  LogCorruptionError,
  LogError,
  LoggedEngine,
  ReplayInputError,
  readDecisionLog,
  readReplayLog,
  replay,
  resumedConfig,
  resumePoint,
} from "../src/node.js";
import { tempLogDirs } from "./support/log-dir.js";

// `resume: true` starts a logged engine where its log's last run stopped, from the records the
// opening verifies anyway: the engine, its log and `resumedFrom` are those of the two-step restart
// (`createLoggedEngine(resumedConfig(config, resumePoint(dir)), { dir })`), read once.

const newDir = tempLogDirs();

/** One knob on [1, 256] from 16, cost lowest at 96; a scheduler of its own. */
function config(): EngineConfig<"workers"> {
  return {
    seed: 5,
    params: { workers: { min: 1, max: 256, init: 16, maxDelta: 8 } },
    window: { digests: 5 },
    scheduler: new VirtualTimeScheduler(),
  };
}

/** Serves `ticks` requests on a started engine, then closes it. */
async function serve(logged: LoggedEngine<"workers">, ticks: number): Promise<void> {
  const { engine } = logged;
  for (let tick = 1; tick <= ticks; tick++)
    engine.observe({ objective: 20 + ((engine.values[0]! - 96) / 40) ** 2, generation: engine.generation });
  await logged.close();
}

/** Serves `ticks` requests 10 ms apart on the engine's virtual clock, without closing it. */
function tune(logged: LoggedEngine<"workers">, own: EngineConfig<"workers">, ticks: number): void {
  const scheduler = own.scheduler as VirtualTimeScheduler;
  for (let tick = 1; tick <= ticks; tick++) {
    scheduler.schedule(() => {}, 10);
    scheduler.flush();
    logged.engine.observe({
      objective: 20 + ((logged.engine.values[0]! - 96) / 40) ** 2,
      generation: logged.engine.generation,
    });
  }
}

/** A log whose one run tuned for 300 requests (in segments of `segmentBytes`), and a copy of it. */
async function tunedLogPair(segmentBytes?: number): Promise<[string, string]> {
  const dir = newDir();
  const own = config();
  const logged = createLoggedEngine(own, { dir, ...(segmentBytes === undefined ? {} : { segmentBytes }) });
  tune(logged, own, 300);
  await logged.close();
  const copy = newDir();
  cpSync(dir, copy, { recursive: true });
  return [dir, copy];
}

/** What the second run's header says it started from, and whether the whole log replays. */
async function secondRun(dir: string) {
  const run = readReplayLog(dir).runs[1]!;
  return { params: run.header.config.params, replayed: (await replay(dir)).ok };
}

type Starter = (config: EngineConfig<"workers">, dir: string) => Promise<LoggedEngine<"workers">>;

const starters: [string, Starter][] = [
  ["createLoggedEngine", async (c, dir) => createLoggedEngine(c, { dir, resume: true })],
  ["createLoggedEngineAsync", (c, dir) => createLoggedEngineAsync(c, { dir, resume: true })],
  [
    "LoggedEngine.make",
    // The scope closes once the engine is made, closing it and its log; what it started from stays.
    (c, dir) => Effect.runPromise(Effect.scoped(LoggedEngine.make(c, { dir, resume: true }))),
  ],
];

describe("a logged engine started with resume: true", () => {
  for (const [name, start] of starters) {
    it(`${name}: starts where the two-step restart does, and its run replays`, async () => {
      const [twoStep, oneStep] = await tunedLogPair();
      const point = resumePoint(twoStep)!;
      // The run tuned away from init, so resuming is seen.
      expect(point.generation).toBeGreaterThan(0);
      expect(point.values.workers).not.toBe(16);

      const before = createLoggedEngine(resumedConfig(config(), point), { dir: twoStep });
      expect(before.resumedFrom).toBeUndefined();
      const expected = before.engine.values[0];
      await before.close();

      const logged = await start(config(), oneStep);
      expect(logged.resumedFrom).toEqual(point);
      expect(logged.engine.values[0]).toBe(expected);
      expect(logged.config.params).toEqual(resumedConfig(config(), point).params);
      expect(logged.restart).toBeDefined();
      await logged.close();

      expect(await secondRun(oneStep)).toEqual(await secondRun(twoStep));
      expect((await secondRun(oneStep)).replayed).toBe(true);
    });
  }

  it("hands out the config it started from, which a safety monitor then holds it to without a false alarm", async () => {
    const [first, second] = await tunedLogPair();
    const watched = async (dir: string, of: (logged: LoggedEngine<"workers">) => EngineConfig) => {
      const own = config();
      const logged = createLoggedEngine(own, { dir, resume: true });
      const watch = monitorEngine(logged.engine, of(logged), { haltOnViolation: false });
      tune(logged, own, 100);
      (own.scheduler as VirtualTimeScheduler).flush();
      const { violations, events } = watch.report();
      watch.stop();
      await logged.close();
      return { events, violations: violations.map((v) => v.property) };
    };
    const resumed = await watched(first, (logged) => logged.config);
    expect(resumed.events).toBeGreaterThan(100);
    expect(resumed.violations).toEqual([]);
    // The config given starts the monitor at init, far from where the engine resumed.
    expect((await watched(second, () => config())).violations).toContain("S2");
  });

  it("on a new directory: starts from the config, resumedFrom undefined", async () => {
    const dir = newDir();
    const logged = createLoggedEngine(config(), { dir, resume: true });
    expect(logged.resumedFrom).toBeUndefined();
    expect(logged.restart).toBeUndefined();
    expect(logged.engine.values[0]).toBe(16);
    await serve(logged, 20);
    expect((await replay(dir)).ok).toBe(true);
  });

  it("without resume: starts from the config on a log that holds a tuned run", async () => {
    const [dir] = await tunedLogPair();
    const logged = await createLoggedEngineAsync(config(), { dir });
    expect(logged.resumedFrom).toBeUndefined();
    expect(logged.engine.values[0]).toBe(16);
    await logged.close();
  });

  it("after a torn tail: resumes from the records the opening kept, as resumePoint reads them", async () => {
    const [dir] = await tunedLogPair();
    const last = readdirSync(dir)
      .filter((f) => f.endsWith(".alog"))
      .sort()
      .at(-1)!;
    // A write cut short by a crash: bytes that form no valid frame.
    appendFileSync(join(dir, last), Buffer.from([7, 0, 0, 0, 1, 2, 3]));
    const point = resumePoint(dir);
    expect(point?.generation).toBeGreaterThan(0);
    const logged = createLoggedEngine(config(), { dir, resume: true });
    expect(logged.recovery?.kind).toBe("torn-tail");
    expect(logged.resumedFrom).toEqual(point);
    await logged.close();
  });

  it("with strict: false, resumes from the records before the damage it set aside", async () => {
    const [dir, intact] = await tunedLogPair(16 * 1024);
    const segments = readdirSync(dir)
      .filter((f) => f.endsWith(".alog"))
      .sort();
    expect(segments.length).toBeGreaterThanOrEqual(3);
    // A flipped byte in the middle of a segment before the last: damage, not a torn tail.
    const damaged = join(dir, segments[Math.floor(segments.length / 2)]!);
    const bytes = readFileSync(damaged);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(damaged, bytes);
    expect(() => resumePoint(dir)).toThrow(LogCorruptionError);
    // What a lenient read keeps: the records before the damage.
    const kept = readDecisionLog(dir, { strict: false });
    const point = resumePoint(kept);
    expect(point!.generation).toBeGreaterThan(0);
    // The records set aside held later tuned points.
    expect(point!.generation).toBeLessThan(resumePoint(intact)!.generation);
    const logged = createLoggedEngine(config(), { dir, resume: true, strict: false });
    expect(logged.recovery?.kind).toBe("corruption");
    expect(logged.resumedFrom).toEqual(point);
    await logged.close();
  });

  it("refuses as resumePoint does when the log cannot tell where its last run ended, and leaves the log free", async () => {
    const [dir] = await tunedLogPair();
    compactDecisionLog(dir, 0);
    const records = readDecisionLog(dir).records.length;
    const refusal = (() => {
      try {
        resumePoint(dir);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(ReplayInputError);
    expect(() => createLoggedEngine(config(), { dir, resume: true })).toThrow(
      new ReplayInputError((refusal as Error).message),
    );
    await expect(createLoggedEngineAsync(config(), { dir, resume: true })).rejects.toThrow(
      (refusal as Error).message,
    );
    const failed = await Effect.runPromise(
      Effect.scoped(Effect.flip(LoggedEngine.make(config(), { dir, resume: true }))),
    );
    expect(failed).toBeInstanceOf(LogError);
    expect(failed.cause).toBeInstanceOf(ReplayInputError);
    expect(failed.message).toContain((refusal as Error).message);
    // No run was added to the log, and the opening closed it and released its lock: an engine
    // starts on it from the config.
    expect(readDecisionLog(dir).records.length).toBe(records);
    const logged = createLoggedEngine(config(), { dir });
    expect(logged.engine.values[0]).toBe(16);
    await logged.close();
  });

  it("refuses a resume that is not a boolean, naming it, before the directory is touched", () => {
    const dir = join(newDir(), "not-yet");
    const bad = { dir, resume: "yes" } as unknown as { dir: string; resume: boolean };
    expect(() => createLoggedEngine(config(), bad)).toThrow(
      new LogError('resume must be true or false, got "yes"'),
    );
    expect(() => readdirSync(dir)).toThrow(/ENOENT/);
  });
});
