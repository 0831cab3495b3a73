import { describe, expect, it } from "vitest";
import { DEFAULT_HIGH_WATER_FRACTION } from "../src/audit/ring.js";
import { engineConfigIssues, MAX_AUDIT_CAPACITY, MIN_AUDIT_CAPACITY } from "../src/engine/config.js";
import { AUDIT_RESERVE } from "../src/engine/control-safety.js";
import { createEngine } from "../src/engine/engine.js";
import { ConfigError } from "../src/errors.js";
import { ManualClock } from "./support/engine-clock.js";
import { digestOf, engineRig } from "./support/engine-harness.js";
import { bowl, ONE } from "./support/safety-drill.js";

// An audit ring too small for the records one window writes raised auditHighWater / auditFull
// with the engine's own records, and with every drain and re-raise the engine stayed frozen for
// ever (at 3 records, frozen with no reason left to show).

const MESSAGE = `expected a whole number from ${MIN_AUDIT_CAPACITY} (a smaller ring fills with the engine's own records of one window) to ${MAX_AUDIT_CAPACITY}`;

describe("auditCapacity has a minimum that holds a window's own records", () => {
  it("the minimum is the smallest ring whose high-water mark lies above the audit reserve", () => {
    const highWater = (capacity: number) => Math.floor(capacity * DEFAULT_HIGH_WATER_FRACTION);
    expect(highWater(MIN_AUDIT_CAPACITY)).toBeGreaterThan(AUDIT_RESERVE);
    expect(highWater(MIN_AUDIT_CAPACITY - 1)).toBeLessThanOrEqual(AUDIT_RESERVE);
  });

  it.each([1, 3, 4, MIN_AUDIT_CAPACITY - 1, MAX_AUDIT_CAPACITY + 1, 1e12])(
    "auditCapacity %d is a ConfigError naming auditCapacity",
    (capacity) => {
      const config = { seed: 7, params: ONE, auditCapacity: capacity };
      expect(engineConfigIssues(config)).toEqual([
        { path: "auditCapacity", message: `${MESSAGE}, got ${String(capacity)}` },
      ]);
      expect(() => createEngine({ ...config, scheduler: new ManualClock() })).toThrow(ConfigError);
    },
  );

  it("at the minimum, ten minutes of tuning raise no audit reason and drop nothing", () => {
    const rig = engineRig({ seed: 7, params: ONE, auditCapacity: MIN_AUDIT_CAPACITY });
    const { engine, events } = rig;
    const plant = bowl(7);
    for (let i = 0; i < 6000; i++) {
      rig.clock.advanceBy(100);
      engine.observe(digestOf(engine, plant(engine.values[0]!)));
    }
    const snapshot = engine.snapshot();
    expect(snapshot.audit.dropped).toBe(0);
    expect(events.filter((e) => e.type === "mode.changed")).toEqual([]);
    expect(snapshot.mode).toBe("normal");
    expect(snapshot.iteration).toBeGreaterThan(100);
    expect(snapshot.centre.x).toBeCloseTo(3, 0);
  });
});
