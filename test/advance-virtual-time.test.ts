import { type SchedulerAction, VirtualTimeScheduler } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { createEngine, type Engine } from "../src/index.js";
import { advanceVirtualTime } from "../src/testing/index.js";

const open: Engine[] = [];
afterEach(async () => {
  for (const engine of open.splice(0)) await engine.close();
});

/**
 * A service on virtual time whose pool is resized by an async actuator (it resolves at once), with
 * a digest every 500 ms of a cost whose best size is 40.
 */
function simulation() {
  const scheduler = new VirtualTimeScheduler();
  let size = 20;
  const engine = createEngine({
    seed: 3,
    scheduler,
    params: { poolSize: { min: 4, max: 128, init: 20, maxDelta: 4 } },
    window: { digests: 5, ms: 10_000 },
    onApply: async (values) => {
      size = values[0]!;
    },
  });
  open.push(engine);
  const rollbacks: string[] = [];
  engine.events.subscribe((event) => {
    if (event.type === "rollback") rollbacks.push(event.note ?? "");
  });
  scheduler.schedule(function tick(this: SchedulerAction<undefined>) {
    engine.observe({ objective: ((size - 40) / 10) ** 2 + 1, generation: engine.generation });
    this.schedule(undefined, 500);
  }, 500);
  return { scheduler, engine, rollbacks, size: () => size };
}

describe("advanceVirtualTime", () => {
  it("lets an async onApply settle, where one flush reads every apply as a failure", async () => {
    const flushed = simulation();
    flushed.scheduler.maxFrames = 5 * 60_000;
    flushed.scheduler.flush();
    expect(flushed.rollbacks[0]).toBe(
      "actuator failed: the callback's promise did not settle within 10000 ms",
    );

    const sliced = simulation();
    await advanceVirtualTime(sliced.scheduler, 5 * 60_000);
    expect(sliced.scheduler.now()).toBeGreaterThan(5 * 60_000 - 500);
    expect(sliced.rollbacks).toEqual([]);
    expect(sliced.engine.snapshot().mode).toBe("normal");
    expect(sliced.size()).toBeGreaterThan(30);
    expect(sliced.scheduler.maxFrames).toBe(Number.POSITIVE_INFINITY);
  });

  it("moves the clock by the whole duration, so that short steps reach an action far apart", async () => {
    const scheduler = new VirtualTimeScheduler();
    const runs: number[] = [];
    scheduler.schedule(function tick(this: SchedulerAction<undefined>) {
      runs.push(scheduler.now());
      this.schedule(undefined, 1500);
    }, 1500);
    // Before, each call counted from the last action run, 0 here: ten calls never reached 1500.
    for (let i = 0; i < 10; i++) await advanceVirtualTime(scheduler, 1000);
    expect(scheduler.now()).toBe(10_000);
    expect(runs).toEqual([1500, 3000, 4500, 6000, 7500, 9000]);
  });

  it("goes on from where the clock is, and refuses a duration or slice that is not a number of ms", async () => {
    const { scheduler } = simulation();
    await advanceVirtualTime(scheduler, 1000, 250);
    await advanceVirtualTime(scheduler, 1000);
    expect(scheduler.now()).toBe(2000);
    await expect(advanceVirtualTime(scheduler, Number.NaN)).rejects.toThrow(
      "advanceVirtualTime: durationMs must be a finite number ≥ 0, got NaN",
    );
    await expect(advanceVirtualTime(scheduler, 10, 0)).rejects.toThrow(
      "advanceVirtualTime: sliceMs must be a finite number > 0, got 0",
    );
  });
});
