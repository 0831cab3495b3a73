import { describe, expect, it } from "vitest";
import { engineRig, eventsOfType } from "./support/engine-harness.js";
import { bowl, eventsSince, feed, ONE, QUICK_EXIT } from "./support/safety-drill.js";

// The push of a rollback's baseline failing has nothing to roll back from: the breaker counts it,
// nothing more. A throwing onApply must cost what a rejecting one does; it used to roll back a
// second time, spending the hour's allowance, so an operator's rollbacks during an actuator
// outage halted the engine with repeatedTrips.

/** Lets settled promises run their handlers. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("a failing push of a rollback's baseline", () => {
  it.each(["throws", "rejects"] as const)(
    "an operator's rollback while onApply %s is one rollback, not an automatic one as well",
    async (failure) => {
      let down = false;
      const rig = engineRig({
        seed: 1,
        params: ONE,
        window: { digests: 5, ms: 500 },
        safety: QUICK_EXIT,
        onApply: () => {
          if (!down) return undefined;
          if (failure === "throws") throw new Error("actuator down");
          return Promise.reject(new Error("actuator down"));
        },
      });
      feed(rig, 30, 100, bowl(3));
      rig.engine.flushEvents();
      const mark = rig.events.length;
      expect(rig.engine.values[0]).not.toBe(5);
      down = true;
      expect(rig.engine.rollback("operator: back to baseline")).toBe(true);
      await settled();
      rig.clock.advanceBy(1);
      const after = eventsSince(rig, mark);
      expect(eventsOfType(after, "rollback").map((e) => [e.reason, e.note])).toEqual([
        ["manual", "operator: back to baseline"],
      ]);
      expect(rig.engine.values[0]).toBe(5);
      expect(rig.engine.mode).toBe("normal");
    },
  );

  it("operator rollbacks during an actuator outage spend no automatic rollbacks and do not halt", () => {
    let down = false;
    const rig = engineRig({
      seed: 1,
      params: ONE,
      window: { digests: 5, ms: 500 },
      safety: { ...QUICK_EXIT, breaker: { failureThreshold: 50 } },
      onApply: () => {
        if (down) throw new Error("actuator down");
      },
    });
    feed(rig, 30, 100, bowl(3));
    down = true;
    rig.clock.advanceBy(1000);
    rig.engine.flushEvents();
    const mark = rig.events.length;
    for (let k = 0; k < 4; k++) {
      expect(rig.engine.rollback(`op ${k}`)).toBe(true);
      rig.clock.advanceBy(1000);
    }
    const after = eventsSince(rig, mark);
    expect(eventsOfType(after, "rollback").map((e) => e.reason)).toEqual([
      "manual",
      "manual",
      "manual",
      "manual",
    ]);
    expect(eventsOfType(after, "mode.changed")).toEqual([]);
    expect(rig.engine.mode).toBe("normal");
    expect(rig.engine.snapshot().reasons).toEqual([]);
  });
});
