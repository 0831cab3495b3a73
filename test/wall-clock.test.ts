import { type SchedulerLike, VirtualAction, VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { resolveEngineConfig } from "../src/engine/config.js";
import { createEngine } from "../src/engine/engine.js";
import { monotonicClock, wallClock } from "../src/runtime/wall-clock.js";

describe("monotonicClock", () => {
  it("goes on from where it was when the clock it reads steps back, at that clock's rate", () => {
    let wall = 1000;
    const now = monotonicClock(() => wall);
    expect(now()).toBe(1000);
    wall = 1500;
    expect(now()).toBe(1500);
    wall = 900; // stepped back 600 ms
    expect(now()).toBe(1500);
    wall = 950;
    expect(now()).toBe(1550);
    wall = 600; // and again
    expect(now()).toBe(1550);
    wall = 700;
    expect(now()).toBe(1650);
    wall = 5000; // a step forward is kept: nothing says it is wrong
    expect(now()).toBe(5950);
  });

  it("is the engine's default clock", () => {
    expect(resolveEngineConfig({ seed: 1, params: { x: { min: 0, max: 1 } } }).scheduler).toBe(wallClock);
    expect(wallClock.now()).toBeGreaterThanOrEqual(Date.now() - 1);
  });
});

describe("an engine on a wall clock that steps back", () => {
  /** Virtual time read through a wall clock `offset` ms off, made monotonic as the default is. */
  function steppingClock(): {
    scheduler: SchedulerLike;
    virtual: VirtualTimeScheduler;
    step: (ms: number) => void;
  } {
    const virtual = new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY);
    let offset = 1_700_000_000_000;
    const scheduler: SchedulerLike = {
      now: monotonicClock(() => virtual.now() + offset),
      schedule: virtual.schedule.bind(virtual) as SchedulerLike["schedule"],
    };
    return { scheduler, virtual, step: (ms) => (offset -= ms) };
  }

  it("keeps accepting digests and applying after the system clock goes back a minute", () => {
    const { scheduler, virtual, step } = steppingClock();
    const engine = createEngine({
      seed: 1,
      params: { x: { min: 0, max: 100, init: 50, maxDelta: 5 } },
      scheduler,
    });
    let t = 0;
    const run = (ms: number) => {
      const verdicts: Record<string, number> = {};
      const generation = engine.generation;
      for (const end = t + ms; t < end; t += 50) {
        virtual.schedule(() => {
          const v = engine.observe({
            objective: (engine.values[0]! - 30) ** 2,
            generation: engine.generation,
          });
          verdicts[v] = (verdicts[v] ?? 0) + 1;
        }, t - virtual.now());
      }
      virtual.maxFrames = t;
      virtual.flush();
      return { verdicts, applies: engine.generation - generation };
    };
    const before = run(10_000);
    expect(before.verdicts).toEqual({ accepted: 200 });
    step(60_000);
    // Read back a minute, the raw clock made every digest "settling" and held every apply for it.
    const after = run(10_000);
    expect(after.verdicts).toEqual({ accepted: 200 });
    expect(after.applies).toBeGreaterThan(before.applies / 2);
    void engine.close();
  });
});
