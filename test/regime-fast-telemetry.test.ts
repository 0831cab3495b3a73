/**
 * The regime detector's clock is the evaluation windows', not the telemetry's: however fast the
 * digests come, it learns its level across the cycle's points and keeps SPSA stepping.
 */
import { type SchedulerAction, VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { createEngine } from "../src/engine/engine.js";
import { PointKind, RegimeDetector } from "../src/engine/safety/regime-detector.js";
import { Prng } from "../src/random/prng.js";

describe("the regime detector's warm-up", () => {
  it("learns only once its last digests hold the centre and both perturbed points", () => {
    const detector = new RegimeDetector({ warmup: 8 });
    // A paused cycle: the centre only, however long.
    for (let i = 0; i < 100; i++) detector.observe(1 + 0.001 * (i % 3), PointKind.Centre);
    expect(detector.ready).toBe(false);
    detector.observe(2, PointKind.Plus);
    expect(detector.ready).toBe(false);
    detector.observe(0.5, PointKind.Minus);
    // The ring's last 8: six centres, a plus and a minus. Its level is their median.
    expect(detector.ready).toBe(true);
    expect(detector.referenceLevel).toBeCloseTo(1.001, 3);
    // A kind that has left the ring no longer counts: the plus side is 8 digests back.
    detector.relearn();
    detector.observe(2, PointKind.Plus);
    for (let i = 0; i < 8; i++) detector.observe(1, PointKind.Centre);
    detector.observe(0.5, PointKind.Minus);
    expect(detector.ready).toBe(false);
    detector.observe(2, PointKind.Plus);
    expect(detector.ready).toBe(true);
  });
});

/** The getting-started engine, fed a digest every `every` ms for a virtual minute. */
function tune(every: number) {
  const scheduler = new VirtualTimeScheduler();
  const noise = Prng.fromSeed(12345, 1);
  const engine = createEngine({
    seed: 7,
    params: { batchSize: { min: 1, max: 512, init: 16, maxDelta: 16 } },
    spsa: { a: "auto" },
    window: { digests: 5, ms: 500 },
    guardrails: "balanced",
    scheduler,
  });
  let shifts = 0;
  engine.events.subscribe((event) => {
    if (event.type === "regime.shift") shifts++;
  });
  scheduler.schedule(function tick(this: SchedulerAction<undefined>) {
    const batchSize = engine.value("batchSize");
    const objective = 400 / batchSize + batchSize / 24 + 0.5 * (noise.next() - 0.5);
    engine.observe({ objective, generation: engine.generation, timestamp: engine.now() });
    this.schedule(undefined, every);
  }, every);
  scheduler.maxFrames = 60_000;
  scheduler.flush();
  engine.flushEvents();
  const { iteration, values } = engine.snapshot();
  void engine.close();
  return { iteration, batchSize: values.batchSize, shifts };
}

describe("telemetry much faster than the applies", () => {
  it.each([20, 5, 2])("a digest every %i ms: SPSA steps, and nothing is taken for a shift", (every) => {
    // At 2 ms, 50 digests measure each point between two applies (at most one per 100 ms): under
    // rules 13 the detector judged 300 shifts a minute and SPSA never stepped.
    const { iteration, batchSize, shifts } = tune(every);
    expect(shifts).toBe(0);
    expect(iteration).toBeGreaterThan(150);
    // The best batch size is near 98 (from 16).
    expect(Math.abs(batchSize - 98)).toBeLessThan(15);
  });
});

describe("after a pause of the cycle", () => {
  it("tunes again: the level learnt while only the centre was measured is not the cycle's", () => {
    // An actuator outage opens the breaker: the engine freezes (the centre only) for 30 s, then
    // tunes on. A level learnt from those centre digests alone took every perturbed window that
    // followed for the start of an excursion and measured it again, for good.
    const scheduler = new VirtualTimeScheduler();
    let failing = false;
    const engine = createEngine({
      seed: 1,
      params: { x: { min: 0, max: 10, init: 5, maxDelta: 2 } },
      scheduler,
      onApply: () => {
        if (failing) throw new Error("actuator down");
      },
    });
    scheduler.schedule(() => {
      failing = true;
    }, 1000);
    scheduler.schedule(() => {
      failing = false;
    }, 5000);
    let k = 0;
    scheduler.schedule(function tick(this: SchedulerAction<undefined>) {
      k++;
      engine.observe({
        objective: (engine.values[0]! - 7) ** 2 + 0.001 * Math.sin(k),
        generation: engine.generation,
      });
      this.schedule(undefined, 20);
    }, 20);
    scheduler.maxFrames = 62_000;
    scheduler.flush();
    const before = engine.snapshot();
    expect(before.mode).toBe("normal");
    scheduler.maxFrames = 121_000;
    scheduler.flush();
    const after = engine.snapshot();
    expect(after.iteration - before.iteration).toBeGreaterThan(100);
    expect(Math.abs(after.values.x - 7)).toBeLessThan(0.2);
    void engine.close();
  });
});
