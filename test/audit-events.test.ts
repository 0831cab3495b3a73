import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeSafeMode, decodeSafeModeReasons, reasonMask } from "../machines/safe-mode-reasons.js";
import { ApplyKind } from "../src/audit/apply-kind.js";
import {
  AUDIT_HEADER_FIELDS,
  AUDIT_SCHEMA_VERSION,
  AuditRecordType,
  ControlCommand,
  controlCommandName,
  DecisionOutcome,
  DIGEST_SLOTS,
} from "../src/audit/events.js";
import { AuditRing } from "../src/audit/ring.js";
import { RollbackReason } from "../src/audit/rollback-reason.js";
import { DigestRejection } from "../src/engine/digest.js";

const names = ["alpha", "beta", "gamma"];

function ring(capacity = 16): AuditRing {
  return new AuditRing({
    runId: "v2",
    capacity,
    paramNames: names,
    decoders: { mode: decodeSafeMode, modeReasons: decodeSafeModeReasons },
  });
}

const base = (seq: number, time: number, generation: number, proposalId: number) => ({
  v: AUDIT_SCHEMA_VERSION,
  runId: "v2",
  seq,
  time,
  generation,
  proposalId,
});

describe("audit schema v2 layout", () => {
  it("is version 9 (v2 layout, later versions add types and fields) with 9 fixed fields and max(d, 5) vector slots per record", () => {
    expect(AUDIT_SCHEMA_VERSION).toBe(9);
    expect(AUDIT_HEADER_FIELDS).toBe(9);
    expect(ring().vectorSlots).toBe(DIGEST_SLOTS);
    expect(ring().recordWidth).toBe(9 + 5);
    const wide = new AuditRing({
      runId: "w",
      capacity: 2,
      paramNames: Array.from({ length: 16 }, (_, i) => `p${i}`),
    });
    expect(wide.vectorSlots).toBe(16);
    expect(wide.recordWidth).toBe(25);
    expect(new AuditRing({ runId: "x", capacity: 2, vectorWidth: 7 }).vectorSlots).toBe(7);
    expect(() => new AuditRing({ runId: "x", vectorWidth: -1 })).toThrow(RangeError);
    expect(() => new AuditRing({ runId: "x", vectorWidth: 256 })).toThrow(RangeError);
  });
});

describe("audit schema v2 decoding", () => {
  it("puts the applied and restored raw values on apply and rollback events", () => {
    const r = ring();
    r.writeVector(
      AuditRecordType.Apply,
      10,
      3,
      7,
      ApplyKind.Centre,
      -1,
      0,
      0,
      new Float64Array([1.5, -0, 1e-300]),
    );
    r.writeVector(AuditRecordType.Rollback, 11, 4, -1, RollbackReason.Manual, -1, 1, 0, [2, 3, 4]);
    r.write(AuditRecordType.Apply, 12, 5, 8, ApplyKind.Plus, -1, 0, 0);
    const [apply, rollback, plain] = r.drain();
    expect(apply).toEqual({
      ...base(1, 10, 3, 7),
      type: "apply",
      kind: "centre",
      values: { alpha: 1.5, beta: -0, gamma: 1e-300 },
    });
    // -0 survives bit for bit (toEqual treats -0 and +0 alike, Object.is does not).
    expect(apply?.type === "apply" && Object.is(apply.values?.beta, -0)).toBe(true);
    expect(rollback).toEqual({
      ...base(2, 11, 4, -1),
      type: "rollback",
      reason: "manual",
      restoredGeneration: 1,
      values: { alpha: 2, beta: 3, gamma: 4 },
    });
    // A record written without a vector decodes without values, even in a slot that held one.
    expect(plain).not.toHaveProperty("values");
    r.writeVector(AuditRecordType.Apply, 13, 6, 9, ApplyKind.Minus, -1, 0, 0, [9, 9, 9]);
    r.drain();
    for (let k = 0; k < 16; k++) r.write(AuditRecordType.Apply, 14, 7, 10, ApplyKind.Plus, -1, 0, 0);
    expect(r.drain().every((e) => !("values" in e))).toBe(true);
  });

  it("attaches a vector to the record just written, not to a dropped or drained one", () => {
    const r = ring(2);
    r.write(AuditRecordType.Apply, 10, 3, 7, ApplyKind.Centre, -1, 0, 0);
    expect(r.attachVector(new Float64Array([1, 2, 3]))).toBe(true);
    // Attaching again replaces the vector (and its length).
    expect(r.attachVector([4, 5])).toBe(true);
    r.write(AuditRecordType.Apply, 11, 4, 8, ApplyKind.Plus, -1, 0, 0);
    expect(r.write(AuditRecordType.Apply, 12, 5, 9, ApplyKind.Minus, -1, 0, 0)).toBe(false);
    expect(r.attachVector([9, 9, 9])).toBe(false);
    const [first, second] = r.drain();
    expect(first).toMatchObject({ type: "apply", kind: "centre", values: { alpha: 4, beta: 5 } });
    expect(second).not.toHaveProperty("values");
    expect(r.attachVector([1, 1, 1])).toBe(false);
    // Wide vectors take the typed-array copy; a longer vector is cut to the slots there are.
    const wide = new AuditRing({ runId: "v2", capacity: 2, vectorWidth: 12 });
    wide.write(AuditRecordType.Rollback, 1, 1, -1, RollbackReason.Manual, -1, 0, 0);
    wide.attachVector(Float64Array.from({ length: 12 }, (_, i) => i / 4));
    wide.write(AuditRecordType.Apply, 2, 2, 1, ApplyKind.Plus, -1, 0, 0);
    wide.attachVector(Float64Array.from({ length: 20 }, (_, i) => i));
    const [rollback, apply] = wide.drain();
    expect(rollback?.type === "rollback" && Object.values(rollback.values ?? {})).toEqual(
      Array.from({ length: 12 }, (_, i) => i / 4),
    );
    expect(apply?.type === "apply" && Object.keys(apply.values ?? {})).toHaveLength(12);
  });

  it("decodes captured digests with exactly the fields the host gave", () => {
    const r = ring();
    r.writeDigest(
      AuditRecordType.DigestAccepted,
      20,
      2,
      5,
      0,
      3.25,
      2,
      19.5,
      Number.NaN,
      120,
      Number.NaN,
      0.01,
    );
    r.writeDigest(
      AuditRecordType.DigestAccepted,
      21,
      2,
      5,
      0,
      4,
      2,
      Number.NaN,
      -1,
      Number.NaN,
      900,
      Number.NaN,
    );
    r.writeDigest(
      AuditRecordType.DigestRejected,
      22,
      2,
      -1,
      DigestRejection.TooOld,
      5,
      2,
      1,
      Number.NaN,
      Number.NaN,
      Number.NaN,
      Number.NaN,
    );
    r.write(AuditRecordType.DigestRejected, 23, 2, -1, DigestRejection.WrongGeneration, -1, 6, 1);
    expect(r.drain()).toEqual([
      {
        ...base(1, 20, 2, 5),
        type: "digest.accepted",
        objective: 3.25,
        digestGeneration: 2,
        timestamp: 19.5,
        latencyP99: 120,
        errorRate: 0.01,
      },
      {
        ...base(2, 21, 2, 5),
        type: "digest.accepted",
        objective: 4,
        digestGeneration: 2,
        constraintMargin: -1,
        throughput: 900,
      },
      {
        ...base(3, 22, 2, -1),
        type: "digest.rejected",
        reason: "TooOld",
        value: 5,
        digestGeneration: 2,
        captured: true,
        timestamp: 1,
      },
      {
        ...base(4, 23, 2, -1),
        type: "digest.rejected",
        reason: "WrongGeneration",
        value: 6,
        digestGeneration: 1,
      },
    ]);
  });

  it("decodes the gradient estimate and the step of a decision", () => {
    const r = ring();
    r.writeVector(
      AuditRecordType.Decision,
      30,
      8,
      12,
      DecisionOutcome.Stepped,
      4,
      10.5,
      9.5,
      new Float64Array([12.5, -25, 0]),
    );
    r.writeVector(
      AuditRecordType.DecisionStep,
      30,
      8,
      12,
      1,
      4,
      0.01,
      0.02,
      new Float64Array([-0.125, 0.03, 0]),
    );
    r.writeVector(AuditRecordType.Decision, 31, 8, 13, DecisionOutcome.Calibrating, 0, 1, 2, [0, 0, 0]);
    const [decision, step, calibrating] = r.drain();
    expect(decision).toEqual({
      ...base(1, 30, 8, 12),
      type: "decision",
      iteration: 4,
      outcome: "stepped",
      yPlus: 10.5,
      yMinus: 9.5,
      gradient: { alpha: 12.5, beta: -25, gamma: 0 },
    });
    expect(step).toEqual({
      ...base(2, 30, 8, 12),
      type: "decision.step",
      iteration: 4,
      a: 0.01,
      c: 0.02,
      clipped: 1,
      step: { alpha: -0.125, beta: 0.03, gamma: 0 },
    });
    expect(calibrating).toMatchObject({ type: "decision", outcome: "calibrating", iteration: 0 });
  });

  it("decodes control commands with their notes", () => {
    const r = ring();
    const commands = [
      [ControlCommand.SetBaseline, undefined],
      [ControlCommand.Rollback, "latency regression"],
      [ControlCommand.Halt, "operator stop"],
      [ControlCommand.ResetSafeMode, "checked the queue"],
      [ControlCommand.Reload, "guardrails"],
    ] as const;
    for (const [code, note] of commands) {
      r.write(AuditRecordType.Command, 40, 1, -1, code, -1, 0, 0);
      if (note !== undefined) r.annotateLast(note);
    }
    expect(r.drain()).toEqual([
      { ...base(1, 40, 1, -1), type: "command", command: "setBaseline" },
      { ...base(2, 40, 1, -1), type: "command", command: "rollback", note: "latency regression" },
      { ...base(3, 40, 1, -1), type: "command", command: "halt", note: "operator stop" },
      { ...base(4, 40, 1, -1), type: "command", command: "resetSafeMode", note: "checked the queue" },
      { ...base(5, 40, 1, -1), type: "command", command: "reload", note: "guardrails" },
    ]);
    expect(controlCommandName(99)).toBe("unknown");
  });

  it("decodes mode changes with the safety layer's decoders", () => {
    const r = ring();
    const bits = reasonMask("spike") | reasonMask("thrashing");
    r.write(AuditRecordType.ModeChanged, 50, 9, -1, 0, 2, bits, 0);
    expect(r.drain()[0]).toEqual({
      ...base(1, 50, 9, -1),
      type: "mode.changed",
      from: "normal",
      to: "frozen",
      reasons: decodeSafeModeReasons(bits),
    });
    expect(decodeSafeModeReasons(bits)).toEqual(expect.arrayContaining(["spike", "thrashing"]));
  });

  it("stores only the vector slots it has and drops vector records like any other when full", () => {
    const r = new AuditRing({ runId: "v2", capacity: 1, paramNames: ["a"], vectorWidth: 5 });
    expect(
      r.writeVector(AuditRecordType.Apply, 1, 1, 1, ApplyKind.Plus, -1, 0, 0, [1, 2, 3, 4, 5, 6, 7]),
    ).toBe(true);
    expect(r.writeVector(AuditRecordType.Apply, 2, 2, 2, ApplyKind.Plus, -1, 0, 0, [1])).toBe(false);
    expect(r.writeDigest(AuditRecordType.DigestAccepted, 3, 2, 2, 0, 1, 2, 3, 4, 5, 6, 7)).toBe(false);
    expect(r.dropped).toBe(2);
    expect(r.lastSeq).toBe(3);
    const [event] = r.drain();
    expect(event).toMatchObject({ seq: 1, values: { a: 1, "1": 2, "2": 3, "3": 4, "4": 5 } });
  });

  it("round-trips any finite vector bit for bit (property)", () => {
    const r = ring(4);
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true }), { minLength: 3, maxLength: 3 }), (values) => {
        r.writeVector(AuditRecordType.Apply, 1, 1, 1, ApplyKind.Centre, -1, 0, 0, values);
        const [event] = r.drain();
        if (event?.type !== "apply" || event.values === undefined) return false;
        return names.every((name, i) => Object.is(event.values?.[name], values[i]));
      }),
    );
  });
});
