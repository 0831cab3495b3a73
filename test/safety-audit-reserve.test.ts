import { describe, expect, it } from "vitest";
import { AuditRecordType, ControlCommand } from "../src/audit/events.js";
import { AuditRing, CONTROL_EVENT_TYPES } from "../src/audit/ring.js";
import { engineRig, eventsOfType } from "./support/engine-harness.js";
import { bowl, feed, ONE, QUICK_EXIT } from "./support/safety-drill.js";

// The room a full audit ring keeps is for the records that say what the engine and the operator
// did. A frozen engine whose record sink is down still closes windows: their records used to take
// that room, so a later halt was refused by the full ring and left no trace (the trail's last
// mode change said frozen while the engine was halted).

describe("the audit ring's reserve", () => {
  it("a halt after the frozen ring filled with window records is in the trail once the sink recovers", () => {
    let down = false;
    const rig = engineRig({
      seed: 1,
      params: ONE,
      window: { digests: 1 },
      auditCapacity: 64,
      safety: { ...QUICK_EXIT, breaker: { failureThreshold: 2, baseBackoffMs: 1000, maxBackoffMs: 1000 } },
      auditRecordSink: () => {
        if (down) throw new Error("disk full");
      },
    });
    rig.expectViolations(); // the records the full ring dropped are gaps in the sequence (S6)
    const plant = bowl(2);
    feed(rig, 30, 100, plant);
    down = true;
    feed(rig, 300, 100, plant);
    const during = rig.engine.snapshot();
    expect(during.mode).toBe("frozen");
    expect(during.audit.dropped).toBeGreaterThan(0);
    rig.engine.halt("ops: disk full");
    expect(rig.engine.mode).toBe("halted");
    down = false;
    feed(rig, 50, 100, plant);
    rig.engine.flushEvents();

    const commands = eventsOfType(rig.events, "command").map((e) => [e.command, e.note]);
    expect(commands).toContainEqual(["halt", "ops: disk full"]);
    const modes = eventsOfType(rig.events, "mode.changed").map((e) => `${e.from}→${e.to}`);
    expect(modes.at(-1)).toBe("frozen→halted");
    // Only low-priority records were dropped: every loss is a sequence gap, the modes agree.
    const problems = rig.monitor
      .report()
      .violations.filter((v) => !/records \d+–?\d* are missing/.test(v.message));
    expect(problems).toEqual([]);
  });
});

describe("AuditRing.reserveFrom", () => {
  it("from the mark on stores control records only, dropping and counting the rest as a full ring does", () => {
    const ring = new AuditRing({ runId: "r", capacity: 8 });
    ring.reserveFrom(4);
    for (let i = 0; i < 4; i++)
      expect(ring.write(AuditRecordType.WindowClosed, i, 1, -1, 0, 1, 0, 0)).toBe(true);
    expect(ring.write(AuditRecordType.WindowClosed, 4, 1, -1, 0, 1, 0, 0)).toBe(false);
    expect(ring.writeVector(AuditRecordType.Decision, 4, 1, 0, 0, 0, 0, 0, [0.1])).toBe(false);
    expect(ring.write(AuditRecordType.Command, 5, 1, -1, ControlCommand.Halt, -1, 0, 0)).toBe(true);
    expect(ring.write(AuditRecordType.ModeChanged, 5, 1, -1, 2, 3, 0, 0)).toBe(true);
    expect(ring.dropped).toBe(2);
    // The dropped records used up their sequence numbers: the gap shows where they were.
    expect(ring.drain().map((e) => `${e.seq} ${e.type}`)).toEqual([
      "1 window.closed",
      "2 window.closed",
      "3 window.closed",
      "4 window.closed",
      "7 command",
      "8 mode.changed",
    ]);
  });

  it("keeps exactly the records whose events a refusing sink's backlog keeps (CONTROL_EVENT_TYPES)", () => {
    // The ring keeps its reserve by record type, the sink's backlog by event type: the two lists
    // must name the same records, or an outage would lose what the ring kept.
    const types = Object.values(AuditRecordType);
    const ring = new AuditRing({ runId: "r", capacity: types.length });
    ring.reserveFrom(0);
    for (const type of types) ring.write(type, 0, 1, -1, 0, 0, 0, 0);
    const kept = ring.drain().map((e) => e.type);
    expect(new Set(kept)).toEqual(CONTROL_EVENT_TYPES);
    expect(kept).toHaveLength(CONTROL_EVENT_TYPES.size);
  });

  it("refuses a mark outside [0, capacity], naming the range", () => {
    const ring = new AuditRing({ runId: "r", capacity: 8 });
    expect(() => ring.reserveFrom(9)).toThrow("audit reserve must start at a whole number in [0, 8], got 9");
    expect(() => ring.reserveFrom(1.5)).toThrow(RangeError);
  });
});
