import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { digestOf, engineRig } from "./support/engine-harness.js";

// A failing audit sink must not make the engine hold every record it could not deliver: the
// backlog is bounded by the ring's capacity, and what is given up is counted apart from ring drops.

describe("audit sink backlog", () => {
  it("stays bounded while the sink fails, counts what it gives up, and drains once it recovers", () => {
    let failing = true;
    const received: AuditEvent[] = [];
    const rig = engineRig({
      seed: 1,
      params: { x: { min: 0, max: 10, init: 5 } },
      window: { digests: 5 },
      captureDigests: true,
      auditCapacity: 256,
      auditSink: (events) => {
        if (failing) throw new Error("sink down");
        received.push(...events);
      },
    });
    const { engine } = rig;
    let peak = 0;
    for (let i = 0; i < 20_000; i++) {
      rig.clock.advanceBy(50);
      engine.observe(digestOf(engine, (engine.values[0]! - 3) ** 2));
      peak = Math.max(peak, engine.snapshot().audit.pending);
    }
    const during = engine.snapshot().audit;
    expect(peak).toBeLessThanOrEqual(2 * during.capacity);
    expect(during.sinkDropped).toBeGreaterThan(10_000);
    // Given up on the sink alone: every record reached engine.events.
    expect(during.dropped).toBe(0);
    expect(engine.snapshot().reasons).toContain("breakerOpen");

    failing = false;
    for (let i = 0; i < 2000 && engine.snapshot().audit.pending > 0; i++) {
      rig.clock.advanceBy(1000);
      engine.observe(digestOf(engine, (engine.values[0]! - 3) ** 2));
    }
    engine.flushEvents();
    expect(engine.snapshot().audit.pending).toBe(0);
    // The sink was down from the first record: what it finally gets starts after the records
    // given up (a gap from seq 1 it can see), and is contiguous from there.
    expect(received[0]!.seq).toBeGreaterThan(10_000);
    const gaps = received.slice(1).filter((e, k) => e.seq !== received[k]!.seq + 1);
    expect(gaps).toEqual([]);
    expect(rig.monitor.report().violations.map((v) => v.property)).toEqual([]);
  });
});
