import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApplyKind } from "../src/audit/apply-kind.js";
import { AUDIT_SCHEMA_VERSION, type AuditEvent, AuditRecordType } from "../src/audit/events.js";
import { AuditRing, DEFAULT_AUDIT_CAPACITY, INITIAL_AUDIT_SLOTS } from "../src/audit/ring.js";
import { RollbackReason } from "../src/audit/rollback-reason.js";
import { Violation } from "../src/audit/violation.js";
import { DigestRejection } from "../src/engine/digest.js";

/** Writes an eval-timeout record whose `a` field carries `tag`, to follow records through the ring. */
function writeTagged(ring: AuditRing, tag: number): boolean {
  return ring.write(AuditRecordType.EvalTimeout, tag, 0, -1, 0, -1, tag, 0);
}

function tags(events: readonly AuditEvent[]): number[] {
  return events.map((e) => (e.type === "eval.timeout" ? e.consecutive : Number.NaN));
}

describe("AuditRing capacity and high water", () => {
  it("defaults to 4096 records with the high-water mark at 80 %", () => {
    const ring = new AuditRing({ runId: "r" });
    expect(ring.capacity).toBe(DEFAULT_AUDIT_CAPACITY);
    expect(ring.capacity).toBe(4096);
    expect(ring.highWaterMark).toBe(3276);
    expect(ring.size).toBe(0);
  });

  it("reports high water from the 8th record of 10, and from the 1st of 2", () => {
    const ten = new AuditRing({ runId: "r", capacity: 10 });
    expect(ten.highWaterMark).toBe(8);
    for (let k = 1; k <= 7; k++) writeTagged(ten, k);
    expect(ten.aboveHighWater).toBe(false);
    writeTagged(ten, 8);
    expect(ten.aboveHighWater).toBe(true);
    ten.drain(1);
    expect(ten.aboveHighWater).toBe(false);

    const two = new AuditRing({ runId: "r", capacity: 2 });
    expect(two.highWaterMark).toBe(1);
    writeTagged(two, 1);
    expect(two.aboveHighWater).toBe(true);
  });

  it("accepts an explicit high-water mark and rejects invalid sizes", () => {
    expect(new AuditRing({ runId: "r", capacity: 10, highWaterMark: 3 }).highWaterMark).toBe(3);
    expect(() => new AuditRing({ runId: "r", capacity: 0 })).toThrow(RangeError);
    expect(() => new AuditRing({ runId: "r", capacity: 2.5 })).toThrow(RangeError);
    expect(() => new AuditRing({ runId: "r", capacity: 10, highWaterMark: 11 })).toThrow(RangeError);
    expect(() => new AuditRing({ runId: "r", capacity: 10, highWaterMark: 0 })).toThrow(RangeError);
  });

  it("refuses writes when full, counting each dropped record, and keeps its size", () => {
    const ring = new AuditRing({ runId: "r", capacity: 5 });
    for (let k = 1; k <= 5; k++) expect(writeTagged(ring, k)).toBe(true);
    for (let k = 6; k <= 15; k++) expect(writeTagged(ring, k)).toBe(false);
    expect(ring.dropped).toBe(10);
    expect(ring.size).toBe(5);
    // The stored records are the first five; nothing was overwritten.
    expect(tags(ring.drain())).toEqual([1, 2, 3, 4, 5]);
  });

  it("holds exactly its capacity: 100 fit, the 101st is refused, a drain returns 100", () => {
    const ring = new AuditRing({ runId: "r", capacity: 100 });
    for (let k = 1; k <= 100; k++) expect(writeTagged(ring, k)).toBe(true);
    expect(writeTagged(ring, 101)).toBe(false);
    expect(ring.drain()).toHaveLength(100);
    expect(ring.size).toBe(0);
  });

  it("remembers the largest size ever reached as its peak", () => {
    const ring = new AuditRing({ runId: "r", capacity: 8 });
    for (let k = 1; k <= 6; k++) writeTagged(ring, k);
    ring.drain(4);
    writeTagged(ring, 7);
    expect(ring.size).toBe(3);
    expect(ring.peak).toBe(6);
    for (let k = 8; k <= 20; k++) writeTagged(ring, k);
    expect(ring.peak).toBe(8);
  });
});

describe("AuditRing sequence numbers and draining", () => {
  it("numbers write attempts from 1, dropped ones included, so gaps show losses", () => {
    const ring = new AuditRing({ runId: "r", capacity: 2 });
    expect(ring.lastSeq).toBe(0);
    writeTagged(ring, 1);
    writeTagged(ring, 2);
    writeTagged(ring, 3); // dropped, takes seq 3
    expect(ring.lastSeq).toBe(3);
    expect(ring.drain().map((e) => e.seq)).toEqual([1, 2]);
    writeTagged(ring, 4);
    expect(ring.drain().map((e) => e.seq)).toEqual([4]);
  });

  it("drains oldest first, up to a limit, across the wrap-around", () => {
    const ring = new AuditRing({ runId: "r", capacity: 4 });
    for (let k = 1; k <= 3; k++) writeTagged(ring, k);
    expect(tags(ring.drain(2))).toEqual([1, 2]);
    for (let k = 4; k <= 6; k++) writeTagged(ring, k); // slots 3, 0, 1
    expect(ring.size).toBe(4);
    expect(tags(ring.drain(3))).toEqual([3, 4, 5]);
    expect(tags(ring.drain())).toEqual([6]);
    expect(ring.drain()).toEqual([]);
  });

  it("treats a NaN, zero or negative drain limit as none, and discards without decoding", () => {
    const ring = new AuditRing({ runId: "r", capacity: 4 });
    for (let k = 1; k <= 4; k++) writeTagged(ring, k);
    expect(ring.drain(Number.NaN)).toEqual([]);
    expect(ring.drain(-1)).toEqual([]);
    expect(ring.drain(0)).toEqual([]);
    expect(ring.discard(3)).toBe(3);
    expect(tags(ring.drain())).toEqual([4]);
    expect(ring.discard()).toBe(0);
  });

  it("behaves like an unbounded FIFO with drop-newest on overflow (property)", () => {
    const op = fc.oneof(
      fc.record({ write: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ drain: fc.integer({ min: 0, max: 8 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.array(op, { maxLength: 60 }), (capacity, ops) => {
        const ring = new AuditRing({ runId: "r", capacity });
        const model: number[] = [];
        let seq = 0;
        let dropped = 0;
        let peak = 0;
        for (const step of ops) {
          if ("write" in step) {
            for (let k = 0; k < step.write; k++) {
              seq++;
              const stored = writeTagged(ring, seq);
              expect(stored).toBe(model.length < capacity);
              if (stored) model.push(seq);
              else dropped++;
              peak = Math.max(peak, model.length);
            }
          } else {
            const events = ring.drain(step.drain);
            const expected = model.splice(0, step.drain);
            expect(events.map((e) => e.seq)).toEqual(expected);
            expect(tags(events)).toEqual(expected);
          }
          expect(ring.size).toBe(model.length);
          expect(ring.dropped).toBe(dropped);
          expect(ring.peak).toBe(peak);
          expect(ring.lastSeq).toBe(seq);
        }
      }),
    );
  });
});

describe("AuditRing decoding (schema v2)", () => {
  it("decodes every record type with its names and fields", () => {
    const ring = new AuditRing({
      runId: "run-7",
      capacity: 16,
      paramNames: ["alpha", "beta"],
      decoders: {
        mode: (code) => (["normal", "frozen"] as const)[code] ?? `mode-${code}`,
        modeReasons: (bits) => (bits & 1 ? ["thrashing"] : []),
      },
    });
    ring.write(AuditRecordType.Apply, 10, 1, 5, ApplyKind.Minus, -1, 0, 0);
    ring.write(AuditRecordType.Violation, 11, 1, 6, Violation.DeltaTooLarge, 0, 3, 2);
    ring.write(AuditRecordType.DigestRejected, 12, 1, -1, DigestRejection.WrongGeneration, -1, 4.5, 0);
    ring.write(AuditRecordType.WindowClosed, 13, 1, 5, 1, 3, 2.25, 9);
    ring.write(AuditRecordType.EvalTimeout, 14, 1, 5, 0, -1, 2, 0);
    ring.write(AuditRecordType.Rollback, 15, 2, -1, RollbackReason.Regression, -1, 0, 0);
    ring.write(AuditRecordType.BaselineSet, 16, 2, -1, 0, -1, 0, 0);
    ring.write(AuditRecordType.SpsaStalled, 17, 2, -1, 0, -1, 40, 12);
    ring.write(AuditRecordType.ModeChanged, 18, 2, -1, 0, 1, 1, 0);
    const base = (seq: number, time: number, generation: number, proposalId: number) => ({
      v: AUDIT_SCHEMA_VERSION,
      runId: "run-7",
      seq,
      time,
      generation,
      proposalId,
    });
    expect(ring.drain()).toEqual([
      { ...base(1, 10, 1, 5), type: "apply", kind: "minus" },
      {
        ...base(2, 11, 1, 6),
        type: "violation",
        violation: "DeltaTooLarge",
        param: 0,
        paramName: "alpha",
        value: 3,
        limit: 2,
      },
      {
        ...base(3, 12, 1, -1),
        type: "digest.rejected",
        reason: "WrongGeneration",
        value: 4.5,
        digestGeneration: 0,
      },
      { ...base(4, 13, 1, 5), type: "window.closed", count: 3, value: 2.25, timedOut: true, openedAt: 9 },
      { ...base(5, 14, 1, 5), type: "eval.timeout", consecutive: 2 },
      { ...base(6, 15, 2, -1), type: "rollback", reason: "regression", restoredGeneration: 0 },
      { ...base(7, 16, 2, -1), type: "baseline.set" },
      { ...base(8, 17, 2, -1), type: "spsa.stalled", iteration: 40, stalledFor: 12 },
      { ...base(9, 18, 2, -1), type: "mode.changed", from: "normal", to: "frozen", reasons: ["thrashing"] },
    ]);
  });

  it("omits paramName without names or parameter, and uses generic mode names by default", () => {
    const ring = new AuditRing({ runId: "r", capacity: 4 });
    ring.write(AuditRecordType.Violation, 1, 0, 2, Violation.RateLimited, -1, 10, 10);
    ring.write(AuditRecordType.Violation, 2, 1, 3, Violation.DeltaTooLarge, 0, 0.1, 1);
    ring.write(AuditRecordType.ModeChanged, 3, 1, -1, 0, 2, 0b101, 0);
    const [violation, unnamed, mode] = ring.drain();
    expect(violation).not.toHaveProperty("paramName");
    expect(unnamed).toMatchObject({ param: 0 });
    expect(unnamed).not.toHaveProperty("paramName");
    expect(mode).toMatchObject({ from: "mode-0", to: "mode-2", reasons: ["reason-0", "reason-2"] });
  });

  it("attaches a note to the record just written, but not to a dropped one", () => {
    const ring = new AuditRing({ runId: "r", capacity: 2 });
    ring.write(AuditRecordType.Rollback, 1, 1, -1, RollbackReason.Manual, -1, 0, 0);
    expect(ring.annotateLast("operator: latency spike")).toBe(true);
    writeTagged(ring, 2);
    writeTagged(ring, 3); // dropped
    expect(ring.annotateLast("lost")).toBe(false);
    const [rollback, timeout] = ring.drain();
    expect(rollback).toMatchObject({ type: "rollback", reason: "manual", note: "operator: latency spike" });
    expect(timeout).not.toHaveProperty("note");
    // A slot reused after draining does not inherit the old note.
    writeTagged(ring, 4);
    expect(ring.drain()[0]).not.toHaveProperty("note");
  });

  it("makes drained events serialisable as JSON", () => {
    const ring = new AuditRing({ runId: "json", capacity: 2 });
    ring.write(AuditRecordType.Violation, 1.5, 1, 1, Violation.DeltaTooLarge, 0, 0.25, 1);
    const [event] = ring.drain();
    expect(JSON.parse(JSON.stringify(event))).toEqual(event);
  });
});

describe("AuditRing growth", () => {
  it("starts small and grows while full, keeping order, notes and the last record across a wrap", () => {
    const ring = new AuditRing({ runId: "r", capacity: 100 });
    // Wrap the initial room first: head moves to the middle, then the ring fills up again.
    for (let k = 1; k <= INITIAL_AUDIT_SLOTS; k++) writeTagged(ring, k);
    expect(tags(ring.drain(10))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (let k = INITIAL_AUDIT_SLOTS + 1; k <= 60; k++) {
      expect(writeTagged(ring, k)).toBe(true);
      if (k === 30) expect(ring.annotateLast("thirty")).toBe(true);
    }
    expect(ring.annotateLast("sixty")).toBe(true);
    expect(ring.size).toBe(50);
    const events = ring.drain();
    expect(tags(events)).toEqual(Array.from({ length: 50 }, (_, i) => i + 11));
    const notes = events.flatMap((e) => ("note" in e && e.note !== undefined ? [e.note] : []));
    expect(notes).toEqual(["thirty", "sixty"]);
    expect(ring.dropped).toBe(0);
  });

  it("never grows past its capacity: a full ring drops and counts", () => {
    const ring = new AuditRing({ runId: "r", capacity: 40 });
    for (let k = 1; k <= 45; k++) writeTagged(ring, k);
    expect(ring.size).toBe(40);
    expect(ring.peak).toBe(40);
    expect(ring.dropped).toBe(5);
    expect(tags(ring.drain())).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("drops and counts, keeping what it holds, when the memory to grow cannot be had", () => {
    const ring = new AuditRing({ runId: "r", capacity: 1_000_000 });
    for (let k = 1; k <= INITIAL_AUDIT_SLOTS; k++) writeTagged(ring, k);
    // The next write needs a larger array; make that allocation fail as an exhausted heap would.
    const real = globalThis.Float64Array;
    globalThis.Float64Array = class extends real {
      constructor(length: number) {
        if (length > 0) throw new RangeError("Array buffer allocation failed");
        super(length);
      }
    } as Float64ArrayConstructor;
    let written: boolean;
    try {
      written = writeTagged(ring, INITIAL_AUDIT_SLOTS + 1);
    } finally {
      globalThis.Float64Array = real;
    }
    expect(written).toBe(false);
    expect(ring.dropped).toBe(1);
    expect(ring.size).toBe(INITIAL_AUDIT_SLOTS);
    expect(ring.outOfMemory).toBe(true); // as full as at capacity, for the safety layer
    // Memory back: the ring grows again on the next write.
    expect(writeTagged(ring, INITIAL_AUDIT_SLOTS + 2)).toBe(true);
    expect(ring.outOfMemory).toBe(false);
    expect(tags(ring.drain())).toEqual([
      ...Array.from({ length: INITIAL_AUDIT_SLOTS }, (_, i) => i + 1),
      INITIAL_AUDIT_SLOTS + 2,
    ]);
  });
});
