/**
 * Telemetry delivered late: each digest is measured every 200 ms under the live generation and
 * reaches the engine 0.1 to 5 s later, out of order. Windows shorter than the delay time out
 * empty before the digests measured in them arrive (`eval.timeout`), which says nothing about the
 * service; windows longer than the delay decide as well without those records
 * (docs/concepts/evaluation-windows.md, "Telemetry that arrives late").
 */
import { describe, expect, it } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import { Prng } from "../src/random/prng.js";
import { digestOf, engineRig, eventsOfType } from "./support/engine-harness.js";
import { eventsSince } from "./support/safety-drill.js";

const KNOB = { x: { min: 0, max: 100, init: 20 } } as const satisfies EngineConfig["params"];

function lateRun(window?: EngineConfig["window"]) {
  const rig = engineRig({ seed: 1, params: KNOB, ...(window && { window }) });
  const noise = Prng.fromSeed(5, 1);
  for (let t = 0; t < 120_000; t += 200) {
    rig.clock.advanceBy(200);
    const digest = digestOf(rig.engine, (rig.engine.value("x") - 70) ** 2 / 100 + 10 + noise.next());
    // Log-uniform between 100 ms and 5 s.
    const delay = 100 * Math.exp(noise.next() * Math.log(50));
    rig.clock.schedule(() => void rig.engine.observe(digest), delay);
  }
  rig.clock.advanceBy(5000);
  const events = eventsSince(rig, 0);
  return {
    timeouts: eventsOfType(events, "eval.timeout").length,
    windows: eventsOfType(events, "window.closed").filter((w) => w.count > 0).length,
    decisions: eventsOfType(events, "decision").length,
    centre: rig.engine.snapshot().centre.x!,
  };
}

describe("digests delivered up to 5 s late", () => {
  it("time out most default windows empty first, and windows longer than the delay decide as well", () => {
    const defaults = lateRun();
    const long = lateRun({ digests: 1, ms: 6000 });
    // Most windows with a digest timed out empty before it: noise in the audit, not a gap.
    expect(defaults.timeouts).toBeGreaterThan(defaults.windows / 2);
    expect(long.timeouts).toBe(0);
    // As many decisions either way (66 and 68 here), and the same progress towards 70 from 20.
    expect(Math.abs(long.decisions - defaults.decisions)).toBeLessThanOrEqual(0.1 * defaults.decisions);
    expect(Math.abs(long.centre - defaults.centre)).toBeLessThan(2);
    expect(defaults.centre).toBeGreaterThan(60);
  });
});
