import type { SchedulerAction, SchedulerLike } from "rxjs";
import { describe, expect, it } from "vitest";
import { createActor } from "xstate";
import { EngineFailedError, engineOf, fromEngine } from "../src/engine/from-engine.js";
import { createSupervisor } from "../src/engine/supervisor.js";
import { createEngine } from "../src/index.js";
import { brokenOnce, ManualClock } from "./support/engine-clock.js";

// An internal error (here a scheduler that fails once, as a broken runtime would) is kept in
// `engine.failure`, never thrown into the host's loop, and the engine stops proposing changes.

/** 100 digests 150 ms apart on an engine whose scheduler fails once as `breaks` says. */
function run(breaks: (call: number, delay: number | undefined) => boolean) {
  const clock = new ManualClock();
  const engine = createEngine({
    seed: 1,
    params: { x: { min: 0, max: 10 } },
    scheduler: brokenOnce(clock, breaks),
  });
  const failed: unknown[] = [];
  engine.failed.subscribe((error) => failed.push(error));
  let generationAtFailure = -1;
  for (let i = 1; i <= 100; i++) {
    clock.advanceTo(i * 150);
    expect(() =>
      engine.observe({ objective: (engine.values[0]! - 3) ** 2, generation: engine.generation }),
    ).not.toThrow();
    if (engine.failure !== undefined && generationAtFailure < 0) generationAtFailure = engine.generation;
  }
  return { engine, failed, generationAtFailure };
}

describe("an engine after an internal failure", () => {
  it("stops proposing changes: no apply after the failure", async () => {
    const { engine, failed, generationAtFailure } = run((call, delay) => call >= 4 && delay === 0);
    expect(engine.failure).toBeInstanceOf(Error);
    expect(generationAtFailure).toBeGreaterThanOrEqual(0);
    expect(engine.generation).toBe(generationAtFailure);
    expect(failed).toEqual([engine.failure]);
    await engine.close();
  });

  it("keeps a failure of a window's time limit in `failure`, not thrown later from a timer", async () => {
    const { engine, generationAtFailure } = run((call, delay) => delay === 500 && call >= 3);
    expect((engine.failure as Error).message).toMatch(/failed/);
    expect(engine.generation).toBe(generationAtFailure);
    await engine.close();
  });

  it("announces no failure when none happens, and completes `failed` on close", async () => {
    const { engine, failed } = run(() => false);
    expect(engine.failure).toBeUndefined();
    expect(engine.generation).toBeGreaterThan(10);
    let completed = false;
    engine.failed.subscribe({ complete: () => (completed = true) });
    await engine.close();
    expect(completed).toBe(true);
    expect(failed).toEqual([]);
  });
});

describe("a failed engine and its operator", () => {
  it("stays paused through a halt and an acknowledged reset: nothing resumes adaptation", async () => {
    const clock = new ManualClock();
    const engine = createEngine({
      seed: 1,
      params: { x: { min: 0, max: 10 } },
      scheduler: brokenOnce(clock, (call, delay) => call >= 4 && delay === 0),
    });
    const feed = (digests: number) => {
      for (let i = 0; i < digests; i++) {
        clock.advanceTo(clock.now() + 150);
        engine.observe({ objective: (engine.values[0]! - 3) ** 2, generation: engine.generation });
      }
    };
    feed(100);
    expect(engine.failure).toBeInstanceOf(Error);
    const failedAt = engine.generation;
    engine.halt("look at the failure");
    expect(engine.resetSafeMode({ acknowledge: "ops: looked at it" })).toBe(true);
    expect(engine.mode).toBe("normal");
    feed(200);
    // SafeMode is back to normal, yet the cycle stays paused: no apply after the failure.
    expect(engine.generation).toBe(failedAt);
    await engine.close();
  });
});

describe("a scheduler that keeps failing for a while", () => {
  it("leaves the engine's actors running: a halt, a rollback and a reset are still taken", async () => {
    // Timers are set from inside the actors' actions too (a paused cycle's rest, a paced apply),
    // where a throw stopped the actor system: every later command was dropped, the mode read
    // normal after a halt, and the engine still answered observe().
    const clock = new ManualClock();
    let failing = false;
    const scheduler: SchedulerLike = {
      now: () => clock.now(),
      schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T) {
        if (failing) throw new Error("the runtime's timers are gone");
        return clock.schedule(work, delay, state);
      },
    };
    const engine = createEngine({
      seed: 3,
      params: { x: { min: 0, max: 10 } },
      window: { digests: 1 },
      guardrails: { preset: "balanced", minIntervalMs: 1000 },
      scheduler,
    });
    const feed = (digests: number, apartMs: number) => {
      for (let i = 0; i < digests; i++) {
        clock.advanceBy(apartMs);
        engine.observe({ objective: (engine.values[0]! - 3) ** 2, generation: engine.generation });
      }
    };
    feed(5, 1000);
    failing = true;
    // Digests closer than the guardrails' interval: the cycle, paused by the failure, sets a
    // timer for its next window from inside its actor.
    feed(3, 0);
    expect(engine.failure).toBeInstanceOf(Error);
    expect(engine.actor.getSnapshot().status).toBe("active");
    // Windows still close while the timers are gone (a refused rest opens the next window at
    // once), so SafeMode keeps judging the telemetry.
    const filled = engine.windowsFilled;
    feed(5, 0);
    expect(engine.windowsFilled).toBe(filled + 5);
    const failedAt = engine.generation;
    expect(engine.rollback("failed engine: back to the baseline")).toBe(true);
    expect(engine.generation).toBe(failedAt + 1);
    engine.halt("look at the failure");
    expect(engine.mode).toBe("halted");
    failing = false;
    expect(engine.resetSafeMode({ acknowledge: "ops: looked at it" })).toBe(true);
    expect(engine.mode).toBe("normal");
    const recovered = engine.windowsFilled;
    feed(50, 1000);
    expect(engine.windowsFilled).toBe(recovered + 50);
    // Still no adaptation after the failure: only the operator's rollback moved the values.
    expect(engine.generation).toBe(failedAt + 1);
    expect(engine.actor.getSnapshot().status).toBe("active");
    await engine.close();
  });
});

describe("an engine actor whose engine fails on a timer", () => {
  it("fails with an EngineFailedError at once, and its engine is closed", async () => {
    const clock = new ManualClock();
    // The window's time limit (a 500 ms timer) is the call that fails: no command is running then.
    const scheduler = brokenOnce(clock, (call, delay) => delay === 500 && call >= 3);
    const errors: unknown[] = [];
    const actor = createActor(fromEngine({ seed: 1, params: { x: { min: 0, max: 10 } }, scheduler }));
    actor.subscribe({ error: (error) => errors.push(error) });
    actor.start();
    const engine = engineOf(actor)!;
    for (let i = 1; i <= 100 && engine.failure === undefined; i++) {
      clock.advanceTo(i * 150);
      engine.observe({ objective: (engine.values[0]! - 3) ** 2, generation: engine.generation });
    }
    expect(engine.failure).toBeInstanceOf(Error);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(EngineFailedError);
    expect(actor.getSnapshot().status).toBe("error");
    expect(engine.observe({ objective: 1, generation: engine.generation })).toBe("closed");
  });

  it("is stopped and recorded by a supervisor, which names it no more", () => {
    const clock = new ManualClock();
    const scheduler = brokenOnce(clock, (call, delay) => delay === 500 && call >= 3);
    const failures: string[] = [];
    const supervisor = createSupervisor({ onFailure: (name) => failures.push(name) });
    const engine = supervisor.spawn("web", { seed: 1, params: { x: { min: 0, max: 10 } }, scheduler });
    for (let i = 1; i <= 100 && engine.failure === undefined; i++) {
      clock.advanceTo(i * 150);
      engine.observe({ objective: (engine.values[0]! - 3) ** 2, generation: engine.generation });
    }
    expect(failures).toEqual(["web"]);
    expect(supervisor.names()).toEqual([]);
    expect(supervisor.failure("web")).toBeInstanceOf(EngineFailedError);
  });
});

describe("a scheduler that fails at any one call", () => {
  it("never throws out of observe() or a timer; the failure is kept and adaptation stops", async () => {
    // Every position of the failing call in a run with digest capture (as a logged engine runs).
    for (let target = 1; target <= 45; target++) {
      const clock = new ManualClock();
      const scheduler = brokenOnce(clock, (call) => call === target);
      const engine = createEngine({
        seed: 1,
        params: { x: { min: 0, max: 10 } },
        window: { digests: 3 },
        auditDrainMs: 25,
        captureDigests: true,
        scheduler,
      });
      let generationAtFailure = -1;
      for (let i = 1; i <= 60; i++) {
        expect(() => clock.advanceTo(i * 150), `call ${target}, timer at ${i * 150} ms`).not.toThrow();
        expect(
          () => engine.observe({ objective: (engine.values[0]! - 3) ** 2, generation: engine.generation }),
          `call ${target}, digest ${i}`,
        ).not.toThrow();
        if (engine.failure !== undefined && generationAtFailure < 0) generationAtFailure = engine.generation;
      }
      if (engine.failure !== undefined) expect(engine.generation, `call ${target}`).toBe(generationAtFailure);
      await engine.close();
    }
  });
});

describe("an engine that fails while it is being created", () => {
  it("fails its actor at once", () => {
    const clock = new ManualClock();
    const errors: unknown[] = [];
    const scheduler = brokenOnce(clock, (call) => call === 1);
    const actor = createActor(fromEngine({ seed: 1, params: { x: { min: 0, max: 10 } }, scheduler }));
    actor.subscribe({ error: (error) => errors.push(error) });
    actor.start();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(EngineFailedError);
  });

  it("makes a supervisor's spawn throw, as an engine that cannot start does, and is not listed", () => {
    const clock = new ManualClock();
    const failures: string[] = [];
    const supervisor = createSupervisor({ onFailure: (name) => failures.push(name) });
    const scheduler = brokenOnce(clock, (call) => call === 1);
    expect(() => supervisor.spawn("web", { seed: 1, params: { x: { min: 0, max: 10 } }, scheduler })).toThrow(
      EngineFailedError,
    );
    // onFailure is for engines that fail after they started; this one never did.
    expect(failures).toEqual([]);
    expect(supervisor.names()).toEqual([]);
    expect(supervisor.failure("web")).toBeInstanceOf(EngineFailedError);
  });
});
