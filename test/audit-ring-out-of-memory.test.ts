// A ring that cannot grow drops records exactly as a full one does, so the safety layer must
// react the same way: frozen, not tuning on while its applies go unrecorded.
import { afterEach, describe, expect, it } from "vitest";
import { INITIAL_AUDIT_SLOTS } from "../src/audit/ring.js";
import { digestOf, engineRig } from "./support/engine-harness.js";
import { ONE } from "./support/safety-drill.js";

const realFloat64Array = globalThis.Float64Array;
afterEach(() => {
  globalThis.Float64Array = realFloat64Array;
});

/** From now on, any Float64Array of more than `limit` elements fails as an exhausted heap would. */
function failAllocationsAbove(limit: number): void {
  globalThis.Float64Array = class extends realFloat64Array {
    constructor(...args: unknown[]) {
      if (typeof args[0] === "number" && args[0] > limit)
        throw new RangeError("Array buffer allocation failed");
      super(...(args as [number]));
    }
  } as Float64ArrayConstructor;
}

describe("an audit ring out of memory", () => {
  it("freezes the engine as a full ring does, and lets it go once drained", () => {
    const rig = engineRig({ seed: 7, params: ONE, captureDigests: true, auditDrainMs: 1000 });
    const { engine, clock } = rig;
    clock.advanceBy(10);
    engine.flushEvents();
    // From here no typed array can be had: the hot path allocates none, the ring's growth one.
    failAllocationsAbove(0);
    for (let i = 0; i < 2 * INITIAL_AUDIT_SLOTS; i++) engine.observe(digestOf(engine, 1));
    expect(engine.snapshot().audit.dropped).toBeGreaterThan(0);
    expect(engine.mode).toBe("frozen");
    expect(engine.snapshot().reasons).toContain("auditFull");
    globalThis.Float64Array = realFloat64Array;
    clock.advanceBy(1000);
    engine.flushEvents();
    expect(engine.snapshot().reasons).not.toContain("auditFull");
    // Digests dropped past the reserve leave a gap the monitor reports (S6); nothing else.
    rig.expectViolations();
    expect(rig.monitor.report().violations.map((v) => v.property)).toEqual(["S6"]);
  });

  it("still records the freeze, an operator's halt and its mode change, in the reserve", () => {
    const rig = engineRig({ seed: 7, params: ONE, captureDigests: true, auditDrainMs: 1000 });
    const { engine, clock } = rig;
    clock.advanceBy(10);
    engine.flushEvents();
    failAllocationsAbove(0);
    for (let i = 0; i < 2 * INITIAL_AUDIT_SLOTS; i++) engine.observe(digestOf(engine, 1));
    engine.halt("ops: out of memory");
    globalThis.Float64Array = realFloat64Array;
    clock.advanceBy(1000);
    engine.flushEvents();
    for (let i = 0; i < 3; i++) engine.observe(digestOf(engine, 1));
    clock.advanceBy(1000);
    engine.flushEvents();
    expect(engine.mode).toBe("halted");
    const control = rig.events.flatMap((e) =>
      e.type === "mode.changed"
        ? [`${e.from}->${e.to}`]
        : e.type === "command"
          ? [`command ${e.command}`]
          : [],
    );
    expect(control).toEqual(["normal->frozen", "command halt", "frozen->halted"]);
    rig.expectViolations();
    expect(rig.monitor.report().violations.map((v) => v.property)).toEqual(["S6"]);
  });
});
