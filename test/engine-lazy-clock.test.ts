import { describe, expect, it } from "vitest";
import { createEngine } from "../src/engine/engine.js";
import { ManualClock } from "./support/engine-clock.js";

/** A manual clock that counts how often it is read. */
function countingClock(): ManualClock & { reads: number } {
  const clock = new ManualClock() as ManualClock & { reads: number };
  clock.reads = 0;
  const read = clock.now;
  clock.now = () => {
    clock.reads++;
    return read();
  };
  return clock;
}

describe("engine digest time", () => {
  it("reads no clock for an untimed digest once the settle period is over, and rejects while settling", () => {
    const clock = countingClock();
    const engine = createEngine({
      seed: 3,
      params: { x: { min: 0, max: 10, init: 5 } },
      window: { digests: 4 },
      settleMs: 300,
      scheduler: clock,
    });
    clock.advanceTo(1000);
    // The first digest of a settled generation reads the clock once; later ones read none.
    expect(engine.observe({ objective: 1, generation: engine.generation })).toBe("accepted");
    const before = clock.reads;
    expect(engine.observe({ objective: 1.5, generation: engine.generation })).toBe("accepted");
    expect(engine.observe({ objective: 1.25, generation: engine.generation })).toBe("accepted");
    expect(clock.reads).toBe(before);
    // A timestamped digest is checked against the clock every time.
    expect(engine.observe({ objective: 1.25, generation: engine.generation, timestamp: 990 })).toBe(
      "accepted",
    );
    expect(clock.reads).toBeGreaterThan(before);

    // Feed windows until an apply makes a new generation, then: settling until 300 ms after it.
    let generation = engine.generation;
    for (let i = 0; i < 200 && engine.generation === generation; i++) {
      clock.advanceBy(400);
      engine.observe({ objective: 1 + i * 0.01, generation: engine.generation });
    }
    expect(engine.generation).toBeGreaterThan(generation);
    generation = engine.generation;
    expect(engine.observe({ objective: 2, generation })).toBe("settling");
    clock.advanceBy(299);
    expect(engine.observe({ objective: 2, generation })).toBe("settling");
    clock.advanceBy(1);
    expect(engine.observe({ objective: 2, generation })).toBe("accepted");
    const settled = clock.reads;
    expect(engine.observe({ objective: 2.5, generation })).toBe("accepted");
    expect(clock.reads).toBe(settled);
    void engine.close();
  });
});
