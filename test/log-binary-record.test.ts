import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { auditPayloadText } from "../src/log/audit-payload.js";
import { binaryAuditBound, readBinaryAudit, writeBinaryAudit } from "../src/log/binary-record.js";
import { compactDecisionLog } from "../src/log/compact.js";
import { LogCorruptionError } from "../src/log/errors.js";
import { auditEventOf, auditLogRecord } from "../src/log/log-records.js";
import { readDecisionLog } from "../src/log/reader.js";
import { listSegments } from "../src/log/segments.js";
import { openDecisionLog } from "../src/log/writer.js";
import { tempLogDirs } from "./support/log-dir.js";

const newDir = tempLogDirs();
const base = { v: 1, runId: "rün-1", seq: 7, time: 1_000.5, generation: 3, proposalId: -1 } as const;

const EVENTS: AuditEvent[] = [
  { ...base, type: "digest.accepted", objective: 12.25, digestGeneration: 3, timestamp: 999 },
  {
    ...base,
    note: 'a "quoted" note ✓\n',
    type: "rollback",
    reason: "manual",
    restoredGeneration: 1,
    values: { a: 1, β: 2.5 },
  },
  { ...base, type: "apply", kind: "plus", values: { a: Number.NaN, b: -0, c: Number.POSITIVE_INFINITY } },
  { ...base, type: "digest.accepted", objective: Number.NEGATIVE_INFINITY, digestGeneration: 3 },
  { ...base, type: "mode.changed", from: "normal", to: "frozen", reasons: ["breakerOpen", "auditFull"] },
  { ...base, type: "window.closed", count: 5, value: 0.1 + 0.2, timedOut: false, openedAt: 950 },
] as unknown as AuditEvent[];

function binaryPayload(seq: number, event: AuditEvent): Buffer {
  const out = Buffer.alloc(binaryAuditBound(event));
  const end = writeBinaryAudit(out, new DataView(out.buffer, out.byteOffset, out.byteLength), 0, seq, event);
  return out.subarray(0, end);
}

describe("binary audit records", () => {
  it("read back as the same record the JSON form gives, every number bit for bit", () => {
    for (const [i, event] of EVENTS.entries()) {
      const payload = binaryPayload(40 + i, event);
      expect(payload.length).toBeLessThanOrEqual(binaryAuditBound(event));
      const record = readBinaryAudit(payload, 0, payload.length);
      expect(record).toEqual(JSON.parse(auditPayloadText(40 + i, event)));
      expect(auditEventOf(record)).toEqual(auditEventOf(auditLogRecord(event)));
    }
    const apply = auditEventOf(readBinaryAudit(...withLength(binaryPayload(1, EVENTS[2]!)))) as {
      values: Record<string, number>;
    };
    expect(Object.is(apply.values.b, -0)).toBe(true);
    expect(Number.isNaN(apply.values.a)).toBe(true);
  });

  it("a log mixing JSON audit records (the old format) and binary ones reads in order, and compacts", () => {
    const dir = newDir();
    const writer = openDecisionLog({ dir, header: { kind: "header" }, segmentBytes: 600 });
    for (const [i, event] of EVENTS.entries()) {
      if (i % 2 === 0) writer.appendEncoded(auditPayloadText, event);
      else writer.appendBytes(binaryAuditBound(event), writeBinaryAudit, event);
    }
    writer.close();
    expect(listSegments(dir).length).toBeGreaterThan(1);
    const read = readDecisionLog(dir).records;
    expect(read.map((entry) => entry.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(read.map((entry) => auditEventOf(entry.record))).toEqual(
      EVENTS.map((e) => auditEventOf(auditLogRecord(e))),
    );

    compactDecisionLog(dir, 4);
    const kept = readDecisionLog(dir).records;
    expect(kept.map((entry) => auditEventOf(entry.record))).toEqual(
      EVENTS.slice(2).map((e) => auditEventOf(auditLogRecord(e))),
    );
  });

  it("damage to a binary record in the middle of the log is corruption, never a torn tail", () => {
    const dir = newDir();
    const writer = openDecisionLog({ dir, header: { kind: "header" } });
    for (const event of EVENTS) writer.appendBytes(binaryAuditBound(event), writeBinaryAudit, event);
    writer.close();
    const entries = readDecisionLog(dir).records;
    const victim = entries[2]!;
    const bytes = readFileSync(victim.segment);
    bytes[victim.offset + 20] ^= 0x40;
    writeFileSync(victim.segment, bytes);
    expect(() => readDecisionLog(dir)).toThrow(LogCorruptionError);
    try {
      readDecisionLog(dir);
    } catch (error) {
      expect((error as LogCorruptionError).offset).toBe(victim.offset);
    }
  });
});

function withLength(payload: Buffer): [Buffer, number, number] {
  return [payload, 0, payload.length];
}
