import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { auditPayloadText } from "../src/log/audit-payload.js";
import { auditEventOf, auditLogRecord } from "../src/log/log-records.js";
import { payloadText } from "../src/log/records.js";

const base = { v: 1, runId: "r", seq: 7, time: 1_000.5, generation: 3, proposalId: -1 } as const;

const EVENTS: AuditEvent[] = [
  { ...base, type: "digest.accepted", objective: 12.25, digestGeneration: 3, timestamp: 999 },
  {
    ...base,
    note: 'a "quoted" note\n',
    type: "rollback",
    reason: "manual",
    restoredGeneration: 1,
    values: { a: 1, b: 2.5 },
  },
  { ...base, type: "apply", kind: "plus", values: { a: Number.NaN, b: -0, c: Number.POSITIVE_INFINITY } },
  { ...base, type: "digest.accepted", objective: Number.NEGATIVE_INFINITY, digestGeneration: 3 },
  { ...base, type: "mode.changed", from: "normal", to: "frozen", reasons: ["breakerOpen"] },
  { ...base, type: "decision", iteration: 4, outcome: "step", yPlus: 1, yMinus: -0, gradient: { a: 0.5 } },
] as unknown as AuditEvent[];

describe("auditPayloadText", () => {
  it("writes the same bytes as the tagged copy did, so old and new logs read alike", () => {
    for (const [i, event] of EVENTS.entries()) {
      expect(auditPayloadText(100 + i, event)).toBe(payloadText(100 + i, auditLogRecord(event)));
    }
  });

  it("reads back every event exactly, NaN, ±Infinity and −0 included", () => {
    for (const event of EVENTS) {
      const record = JSON.parse(auditPayloadText(1, event));
      expect(Object.is(record.seq, 1)).toBe(true);
      expect(auditEventOf(record)).toEqual(event);
    }
    const apply = auditEventOf(JSON.parse(auditPayloadText(1, EVENTS[2]!))) as {
      values: Record<string, number>;
    };
    expect(Object.is(apply.values.b, -0)).toBe(true);
  });
});
