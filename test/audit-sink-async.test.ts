import { describe, expect, it } from "vitest";
import type { AuditRing } from "../src/audit/ring.js";
import { digestOf, engineRig } from "./support/engine-harness.js";

// The audit sinks must be synchronous: whether a batch was taken is decided when the call returns.
// One that returns a promise anyway (an `async` function is assignable to `(events) => void`) has
// been handed the batch: the batch counts as taken, so it is never offered twice, but the call is
// a failure of the sink (SynchronousCallbackError), so its breaker opens and the engine freezes
// with breakerOpen, visibly, instead of re-offering the same batch forever.

/** Lets settled promises run their handlers (microtasks only: no real time passes). */
async function microtasks(): Promise<void> {
  for (let i = 0; i < 3; i++) await Promise.resolve();
}

const CONFIG = {
  seed: 1,
  params: { x: { min: 0, max: 100, maxDelta: 10 } },
  window: { digests: 1 },
} as const;

describe("an async audit sink", () => {
  it("auditSink: no batch is delivered twice; the breaker opens and the engine freezes with breakerOpen", async () => {
    const seen: number[] = [];
    let rejections = 0;
    const rig = engineRig({
      ...CONFIG,
      auditSink: async (events) => {
        for (const e of events) seen.push(e.seq);
        rejections++;
        throw new Error("written nowhere"); // a rejection, after the sink was handed the batch
      },
    });
    const { engine, clock } = rig;
    for (let i = 0; i < 300; i++) {
      clock.advanceBy(100);
      await microtasks();
      engine.observe(digestOf(engine, (engine.value("x") - 30) ** 2));
    }
    const snapshot = engine.snapshot();
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen).size).toBe(seen.length); // never the same event twice
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(rejections).toBeGreaterThanOrEqual(3); // the rejections were handled, none unhandled
    expect(snapshot.breakers.auditSink).not.toBe("closed");
    expect(snapshot.mode).toBe("frozen");
    expect(snapshot.reasons).toContain("breakerOpen");
    await engine.close();
  });

  it("auditRecordSink: records handed to it are removed from the ring, never offered twice", async () => {
    const offered: [number, number][] = [];
    const rig = engineRig({
      ...CONFIG,
      auditRecordSink: async (ring: AuditRing) => {
        offered.push([ring.lastSeq - ring.size + 1, ring.lastSeq]);
      },
    });
    const { engine, clock } = rig;
    for (let i = 0; i < 300; i++) {
      clock.advanceBy(100);
      await microtasks();
      engine.observe(digestOf(engine, (engine.value("x") - 30) ** 2));
    }
    const snapshot = engine.snapshot();
    expect(offered.length).toBeGreaterThanOrEqual(3);
    for (let k = 1; k < offered.length; k++) {
      expect(offered[k]![0], `offer ${k}`).toBeGreaterThan(offered[k - 1]![1]);
    }
    expect(snapshot.breakers.auditSink).not.toBe("closed");
    expect(snapshot.mode).toBe("frozen");
    expect(snapshot.reasons).toContain("breakerOpen");
    await engine.close();
  });
});
