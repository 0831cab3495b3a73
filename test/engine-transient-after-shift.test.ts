/**
 * A transient that is the same at every knob value (a backlog draining: cost ×10, decaying over
 * about 2 s) hits an engine settled at its optimum. The regime detector judges the rise a shift
 * of the environment, and the cycle follows the new level; but while the backlog drains, the
 * second window of an estimate always measures less than the first, and that slope was taken for
 * the knob's: under decision rules 20 the centre went from 5.7 to 18.4 in 2 s and took 15 s to
 * come back. Now, until the objective has settled, such estimates are dropped instead.
 */
import { describe, expect, it } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import { Prng } from "../src/random/prng.js";
import { digestOf, type EngineRig, engineRig, eventsOfType } from "./support/engine-harness.js";
import { eventsSince } from "./support/safety-drill.js";

const BATCH = { batchSize: { min: 4, max: 64, init: 24 } } as const satisfies EngineConfig["params"];
const HIT_AT = 150_000;

/** A service's cost at batch size `n` and time `t`: best at 5.5, with a backlog from HIT_AT on. */
function serviceCost(noise: Prng, height: number): (n: number, t: number) => number {
  return (n, t) =>
    14 +
    0.03 * (n - 5.5) ** 2 +
    0.6 * Math.abs(n - 5.5) +
    (t >= HIT_AT ? height * Math.exp(-(t - HIT_AT) / 500) : 0) +
    4 * (noise.next() - 0.5);
}

/** Feeds a digest every 100 ms until `untilMs`; returns the centre at each whole second from `fromMs`. */
function run(
  rig: EngineRig,
  cost: (n: number, t: number) => number,
  untilMs: number,
  fromMs: number,
): number[] {
  const centres: number[] = [];
  while (rig.engine.now() < untilMs) {
    rig.clock.advanceBy(100);
    const t = rig.engine.now();
    rig.engine.observe(digestOf(rig.engine, cost(rig.engine.value("batchSize"), t)));
    if (t >= fromMs && t % 1000 === 0) centres.push(rig.engine.snapshot().centre.batchSize!);
  }
  return centres;
}

describe("a transient the same at every knob value", () => {
  it.each([1, 2, 3, 4, 5])("seed %i: judged a shift, then not stepped on as it drains", (seed) => {
    const rig = engineRig({ seed, params: BATCH });
    const cost = serviceCost(Prng.fromSeed(seed, 5), 150);
    const before = run(rig, cost, HIT_AT, HIT_AT - 5000);
    rig.engine.flushEvents();
    const from = rig.events.length;
    const after = run(rig, cost, HIT_AT + 30_000, HIT_AT + 1000);
    const events = eventsSince(rig, from);
    expect(eventsOfType(events, "regime.shift").map((e) => e.verdict)).toEqual(["exogenous"]);
    // Settled near the optimum before the hit, and no further from it than it roamed before.
    for (const centre of before) expect(Math.abs(centre - 5.5)).toBeLessThan(2);
    for (const centre of after) expect(Math.abs(centre - 5.5)).toBeLessThan(3);
    // Until the objective settled, estimates were dropped (their last window measured again):
    // the first decision after the hit came once the backlog had mostly drained (after 400 ms
    // under rules 20).
    const decisions = eventsOfType(events, "decision");
    expect(decisions[0]!.time - HIT_AT).toBeGreaterThanOrEqual(1000);
    expect(eventsOfType(events, "window.closed").filter((w) => w.remeasure).length).toBeGreaterThan(2);
    // Tuning went on: it did not stop at the drop.
    expect(decisions.length).toBeGreaterThan(50);
    expect(rig.engine.mode).toBe("normal");
  });
});
