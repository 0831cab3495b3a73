/**
 * A transient that is the same at every knob value (a backlog draining: cost ×10, decaying with a
 * time constant of 0.5 or 2 s) hits an engine settled at its optimum. The regime detector judges
 * the rise a shift of the environment, and the cycle follows the new level; but while the backlog
 * drains, the second window of an estimate always measures less than the first, and that slope
 * was taken for the knob's. Under decision rules 20 the centre went from 5.7 to 18.4 in 2 s
 * (seed 1, 0.5 s) and took 15 s to come back; with 2 s, seeds 1 and 7 went 7.6 and 7.3 from the
 * optimum. Now, until the objective has settled, such estimates are dropped instead.
 */
import { describe, expect, it } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import { Prng } from "../src/random/prng.js";
import { digestOf, engineRig, eventsOfType } from "./support/engine-harness.js";
import { eventsSince } from "./support/safety-drill.js";

const BATCH = { batchSize: { min: 4, max: 64, init: 24 } } as const satisfies EngineConfig["params"];
const HIT_AT = 150_000;
const BEST = 5.5;

/**
 * Digests every 100 ms of a service's cost at its batch size, best at 5.5, with a backlog from
 * HIT_AT on that drains with time constant `tauMs`, until 30 s after it. The events from the hit
 * on, and the centre's largest distance from the optimum in the minute before and after it.
 */
function run(seed: number, tauMs: number) {
  const rig = engineRig({ seed, params: BATCH });
  const noise = Prng.fromSeed(seed, 5);
  const cost = (n: number, t: number) =>
    14 +
    0.03 * (n - BEST) ** 2 +
    0.6 * Math.abs(n - BEST) +
    (t >= HIT_AT ? 150 * Math.exp(-(t - HIT_AT) / tauMs) : 0) +
    4 * (noise.next() - 0.5);
  let from = 0;
  let before = 0;
  let after = 0;
  while (rig.engine.now() < HIT_AT + 30_000) {
    rig.clock.advanceBy(100);
    const t = rig.engine.now();
    if (t === HIT_AT) {
      rig.engine.flushEvents();
      from = rig.events.length;
    }
    rig.engine.observe(digestOf(rig.engine, cost(rig.engine.value("batchSize"), t)));
    const distance = Math.abs(rig.engine.snapshot().centre.batchSize! - BEST);
    if (t > HIT_AT) after = Math.max(after, distance);
    else if (t > HIT_AT - 60_000) before = Math.max(before, distance);
  }
  return { rig, events: eventsSince(rig, from), before, after };
}

describe("a transient the same at every knob value, judged a shift", () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])("seed %i: draining over about 2 s, it is not stepped on", (seed) => {
    const { rig, events, before, after } = run(seed, 500);
    expect(eventsOfType(events, "regime.shift").map((e) => e.verdict)).toEqual(["exogenous"]);
    // It roamed up to 2.4 from the optimum in the minute before the hit, 2.6 after it.
    expect(before).toBeLessThan(2.5);
    expect(after).toBeLessThan(3);
    // Until the objective settled, estimates were dropped (their last window measured again):
    // the first decision after the hit came after 1 to 1.6 s (400 ms under rules 20).
    const decisions = eventsOfType(events, "decision");
    expect(decisions[0]!.time - HIT_AT).toBeGreaterThanOrEqual(1000);
    expect(eventsOfType(events, "window.closed").filter((w) => w.remeasure).length).toBeGreaterThan(2);
    // Tuning went on: it did not stop at the drop.
    expect(decisions.length).toBeGreaterThan(50);
    expect(rig.engine.mode).toBe("normal");
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    "seed %i: draining over about 8 s, its fast start is not stepped on",
    (seed) => {
      const { events, after } = run(seed, 2000);
      expect(eventsOfType(events, "regime.shift").map((e) => e.verdict)).toEqual(["exogenous"]);
      // 1 to 2.2 s (400 ms under rules 20, when the first centre window agreed with itself).
      expect(eventsOfType(events, "decision")[0]!.time - HIT_AT).toBeGreaterThanOrEqual(1000);
      // At most 4.2 (seed 6) from the optimum: 7.6 and 7.3 for seeds 1 and 7 under rules 21. Later in
      // the drain its change from window to window is within the noise, and it is followed.
      expect(after).toBeLessThan(4.5);
    },
  );
});
