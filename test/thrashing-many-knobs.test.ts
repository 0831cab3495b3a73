import { VirtualAction, VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { advanceVirtualClock } from "../bench/drift-q4.js";
import { quadraticPlant } from "../bench/plants/tracking-plants.js";
import { createEngine } from "../src/index.js";

// With 64 knobs, SPSA's gradient estimate along a nearly flat direction is mostly the other
// directions' noise, so the centre wanders there slowly: legs of dozens of iterations that can
// still span more than the thrashing dead-band. Counting those swings as reversals froze the
// engine ("thrashing") on 11 of 30 seeds of this plant, which never oscillates. Seeds 14 and 16
// both tripped at about tick 2000, 500 ticks after the regime shift at 1500.
describe("thrashing on a plant with many knobs", () => {
  it("a slow wander in flat directions after a regime shift is not thrashing", async () => {
    const plant = quadraticPlant({
      name: "recurring-64",
      half: "development",
      dimension: 64,
      drift: "recurring",
      noise: "small",
      ticks: 6000,
    });
    for (const seed of [14, 16]) {
      const run = plant.run(seed);
      const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
      const engine = createEngine({ seed, params: plant.params, scheduler });
      const modes: string[] = [];
      let shifts = 0;
      engine.events.subscribe((event) => {
        if (event.type === "mode.changed") modes.push(`${event.to} [${event.reasons.join(", ")}]`);
        if (event.type === "regime.shift") shifts++;
      });
      const live = engine.values;
      for (let t = 0; t < 2300; t++) {
        advanceVirtualClock(scheduler, run.times[t]!);
        engine.observe({ objective: run.measure(t, live), generation: engine.generation });
      }
      engine.flushEvents();
      await engine.close();
      expect(shifts, `seed ${seed}`).toBeGreaterThanOrEqual(1);
      expect(modes, `seed ${seed}`).toEqual([]);
    }
  });
});
