import { describe, expect, it } from "vitest";
import { AuditRecordType } from "../src/audit/events.js";
import { AuditRing } from "../src/audit/ring.js";

function ring(): AuditRing {
  return new AuditRing({ runId: "r", capacity: 8, paramNames: ["x", "y"] });
}

describe("AuditRing.writeDigestFields", () => {
  it("writes the same record as writeDigest", () => {
    const fields = {
      objective: 3.25,
      generation: 2,
      timestamp: 19.5,
      constraintMargin: Number.NaN,
      latencyP99: 120,
      throughput: Number.NaN,
      errorRate: 0.01,
    };
    const a = ring();
    const b = ring();
    a.writeDigest(
      AuditRecordType.DigestAccepted,
      20.5,
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
    b.writeDigestFields(AuditRecordType.DigestAccepted, 20.5, 2, 5, 0, fields);
    a.writeDigest(
      AuditRecordType.DigestRejected,
      21,
      2,
      -1,
      4,
      -1,
      1,
      Number.NaN,
      Number.NaN,
      Number.NaN,
      Number.NaN,
      Number.NaN,
    );
    b.writeDigestFields(AuditRecordType.DigestRejected, 21, 2, -1, 4, {
      ...fields,
      objective: -1,
      generation: 1,
      timestamp: Number.NaN,
      latencyP99: Number.NaN,
      errorRate: Number.NaN,
    });
    const fromA = a.drain();
    expect(fromA).toHaveLength(2);
    expect(b.drain()).toEqual(fromA);
  });
});
