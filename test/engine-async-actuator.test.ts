import { describe, expect, it } from "vitest";
import { Prng } from "../src/random/prng.js";
import { digestOf, type EngineRig, engineRig, eventsOfType } from "./support/engine-harness.js";

// An async actuator hook (onApply returning a promise): its rejection, or a promise that never
// settles, is an actuator failure like a throw — rolled back and audited, never an unhandled
// rejection that kills the host (vitest fails the run on one).

const ONE = { x: { min: 0, max: 10, init: 5 } } as const;

/** Lets settled promises run their handlers. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

function feed(rig: EngineRig, count: number): void {
  const noise = Prng.fromSeed(7, 1);
  for (let i = 0; i < count; i++) {
    rig.clock.advanceBy(100);
    rig.engine.observe(digestOf(rig.engine, (rig.engine.values[0]! - 3) ** 2 + 0.05 * noise.normal()));
  }
}

describe("async onApply", () => {
  it("a rejection rolls back to the baseline and is audited with its reason", async () => {
    let failing = false;
    const pushed: number[] = [];
    const rig = engineRig({
      seed: 1,
      params: ONE,
      window: { digests: 5, ms: 500 },
      onApply: async (values) => {
        const x = values[0]!; // copied before the first await, as the hook's TSDoc asks
        await Promise.resolve();
        if (failing) throw new Error("controller unreachable");
        pushed.push(x);
      },
    });
    feed(rig, 12);
    await settled();
    expect(pushed.length).toBeGreaterThan(0);
    expect(rig.engine.values[0]).not.toBe(5);
    failing = true;
    feed(rig, 12); // the next apply's push rejects
    await settled();
    rig.engine.flushEvents();
    const rollbacks = eventsOfType(rig.events, "rollback");
    expect(rollbacks.map((e) => e.note)).toContain("actuator failed: controller unreachable");
    expect(rig.engine.values[0]).toBe(5);
  });

  it("a promise that never settles fails after 10 s of engine time and rolls back", async () => {
    let hang = false;
    const rig = engineRig({
      seed: 1,
      params: ONE,
      window: { digests: 5, ms: 500 },
      onApply: () => (hang ? new Promise<void>(() => {}) : undefined),
    });
    feed(rig, 12);
    hang = true;
    feed(rig, 12);
    const applied = rig.engine.values[0];
    expect(applied).not.toBe(5);
    expect(eventsOfType(rig.events, "rollback")).toEqual([]);
    rig.clock.advanceBy(10_000);
    rig.engine.flushEvents();
    const rollbacks = eventsOfType(rig.events, "rollback");
    expect(rollbacks.length).toBeGreaterThan(0);
    expect(rollbacks[0]!.note).toBe("actuator failed: the callback's promise did not settle within 10000 ms");
    expect(rig.engine.values[0]).toBe(5);
  });

  it("an actuator that is down for a while costs the same whether it throws or rejects", async () => {
    // Calls 2 to 6 fail. The push of each rollback's baseline, and the breaker's probes, fail too:
    // they must not count as further rollbacks, or an async actuator's outage halts the engine.
    const run = async (asynchronous: boolean) => {
      let calls = 0;
      const rig = engineRig({
        seed: 1,
        params: { x: { min: 0, max: 10, init: 2 } },
        onApply: () => {
          calls++;
          const down = calls >= 2 && calls <= 6;
          if (asynchronous) return down ? Promise.reject(new Error(`down ${calls}`)) : Promise.resolve();
          if (down) throw new Error(`down ${calls}`);
          return undefined;
        },
      });
      for (let i = 0; i < 6000; i++) {
        rig.clock.advanceBy(20);
        rig.engine.observe(digestOf(rig.engine, (rig.engine.values[0]! - 7) ** 2));
        await Promise.resolve();
      }
      await settled();
      rig.engine.flushEvents();
      return { mode: rig.engine.mode, rollbacks: eventsOfType(rig.events, "rollback").length };
    };
    const thrown = await run(false);
    const rejected = await run(true);
    expect(thrown.mode).toBe("normal");
    expect(rejected).toEqual(thrown);
  });
});
