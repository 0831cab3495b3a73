import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { digestOf, engineRig } from "./support/engine-harness.js";

// A failing audit sink must not make the engine hold every record it could not deliver: the
// backlog is bounded by the ring's capacity, and what is given up is counted apart from ring drops.
// What is given up are measurements: every control record (applies, rollbacks, mode changes,
// commands) reaches the sink once it is back, as the ring itself keeps room for them.

const SMALL_RING = {
  seed: 1,
  params: { x: { min: 0, max: 10, init: 5 } },
  window: { digests: 5 },
  auditCapacity: 256,
};

/** An audit sink that refuses every batch while `failing`, and keeps what it takes in `received`. */
function failingSink() {
  const sink = {
    failing: true,
    received: [] as AuditEvent[],
    take: (events: readonly AuditEvent[]) => {
      if (sink.failing) throw new Error("sink down");
      sink.received.push(...events);
    },
  };
  return sink;
}

describe("audit sink backlog", () => {
  it("stays bounded while the sink fails, counts what it gives up, and drains once it recovers", () => {
    const sink = failingSink();
    const { received } = sink;
    const rig = engineRig({ ...SMALL_RING, captureDigests: true, auditSink: sink.take });
    const { engine, events: all } = rig;
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

    sink.failing = false;
    for (let i = 0; i < 2000 && engine.snapshot().audit.pending > 0; i++) {
      rig.clock.advanceBy(1000);
      engine.observe(digestOf(engine, (engine.values[0]! - 3) ** 2));
    }
    engine.flushEvents();
    expect(engine.snapshot().audit.pending).toBe(0);
    // The sink was down from the first record: it gets every control record, in order, and the
    // measurements it lost show as gaps in the sequence numbers.
    const control = new Set(["apply", "violation", "rollback", "baseline.set", "mode.changed", "command"]);
    const seqs = received.map((e) => e.seq);
    expect(seqs.slice(1).every((seq, k) => seq > seqs[k]!)).toBe(true);
    const got = new Set(seqs);
    const lost = all.filter((e) => !got.has(e.seq));
    expect(lost.length).toBe(engine.snapshot().audit.sinkDropped);
    expect(lost.filter((e) => control.has(e.type))).toEqual([]);
    expect(all.filter((e) => control.has(e.type)).length).toBeGreaterThan(0);
    expect(rig.monitor.report().violations.map((v) => v.property)).toEqual([]);
  });

  it("keeps an operator's commands for the sink during an outage, and refuses one it cannot keep", () => {
    const sink = failingSink();
    const { received } = sink;
    const rig = engineRig({ ...SMALL_RING, auditSink: sink.take });
    const { engine } = rig;
    const feed = (digests: number) => {
      for (let i = 0; i < digests; i++) {
        rig.clock.advanceBy(50);
        engine.observe(digestOf(engine, (engine.values[0]! - 3) ** 2));
      }
    };
    feed(5000);
    expect(engine.snapshot().reasons).toContain("auditFull");
    // The backlog holds the ring's worth: commands ask for room counting it, as the docs say. It
    // took the operator's rollback (the sink lost it before) while a halt's records stay free, and
    // then refuses the reset, naming what is held.
    expect(engine.rollback("operator, during the outage")).toBe(true);
    engine.halt("operator");
    expect(() => engine.resetSafeMode({ acknowledge: "alice" })).toThrow(
      /resetSafeMode not applied: the audit ring is full \(256 of 256 records held, its sink not draining them\)/,
    );
    feed(5000);
    expect(engine.mode).toBe("halted");
    sink.failing = false;
    feed(2000);
    engine.flushEvents();
    expect(
      received.filter((e) => e.type === "command").map((e) => e.type === "command" && e.command),
    ).toEqual(["rollback", "halt"]);
    expect(
      received.filter((e) => e.type === "mode.changed").map((e) => e.type === "mode.changed" && e.to),
    ).toContain("halted");
    // Now that the sink takes records again, the reset goes through and reaches it.
    expect(engine.resetSafeMode({ acknowledge: "alice" })).toBe(true);
    engine.flushEvents();
    expect(
      received.filter((e) => e.type === "command").map((e) => e.type === "command" && e.command),
    ).toEqual(["rollback", "halt", "resetSafeMode"]);
  });

  it("lets a safety rollback take room from the backlog's measurements, not be skipped", () => {
    const sink = failingSink();
    const rig = engineRig({ ...SMALL_RING, auditSink: sink.take });
    const { engine } = rig;
    for (let i = 0; i < 5000; i++) {
      rig.clock.advanceBy(50);
      engine.observe(digestOf(engine, (engine.values[0]! - 3) ** 2));
    }
    // A host's batch in one synchronous call: no drain between digests, and the ring's records and
    // the backlog's measurements together leave no room.
    for (let i = 0; i < 20; i++) engine.observe(digestOf(engine, (engine.values[0]! - 3) ** 2));
    const generation = engine.generation;
    engine.observe(digestOf(engine, 1, { constraintMargin: -1 }));
    // The constraint emergency's rollback went through (it was skipped, generation unchanged).
    expect(engine.generation).toBe(generation + 1);
    expect(engine.snapshot().reasons).toContain("constraintEmergency");
    sink.failing = false;
    for (let i = 0; i < 200; i++) {
      rig.clock.advanceBy(1000);
      engine.observe(digestOf(engine, 1));
    }
    engine.flushEvents();
    const rollbacks = sink.received.filter((e) => e.type === "rollback");
    expect(rollbacks.map((e) => e.type === "rollback" && e.generation)).toContain(generation + 1);
  });

  it("gives up just enough of its oldest measurements once halts push it past its capacity", () => {
    const sink = failingSink();
    const rig = engineRig({ ...SMALL_RING, captureDigests: true, auditSink: sink.take });
    const { engine, events } = rig;
    // The oldest batch the sink refused holds many measurements (a host's batch of digests).
    for (let i = 0; i < 20; i++) engine.observe(digestOf(engine, 1));
    for (let i = 0; i < 5000; i++) {
      rig.clock.advanceBy(50);
      engine.observe(digestOf(engine, (engine.values[0]! - 3) ** 2));
    }
    engine.flushEvents();
    const before = engine.snapshot().audit;
    const recordsBefore = events.length;
    // A halt always goes ahead: forty of them push the backlog past the ring's capacity, and each
    // time exactly the excess goes, measurements first, so the backlog sits at the capacity.
    for (let k = 0; k < 40; k++) {
      engine.halt(`operator ${k}`);
      engine.flushEvents();
      const audit = engine.snapshot().audit;
      const made = events.length - recordsBefore;
      expect(audit.pending + audit.sinkDropped).toBe(before.pending + before.sinkDropped + made);
      expect(audit.pending).toBe(Math.min(before.capacity, before.pending + made));
    }
    sink.failing = false;
    for (let i = 0; i < 200; i++) {
      rig.clock.advanceBy(1000);
      engine.observe(digestOf(engine, 1));
    }
    engine.flushEvents();
    const halts = sink.received.filter((e) => e.type === "command" && e.command === "halt");
    expect(halts.length).toBe(40);
  });
});
