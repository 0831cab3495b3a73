import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeSafeMode, decodeSafeModeReasons } from "../machines/safe-mode-reasons.js";
import {
  AUDIT_HEADER_FIELDS,
  type AuditEvent,
  AuditRecordType,
  FIELD_TYPE,
  VECTOR_LENGTH_UNIT,
} from "../src/audit/events.js";
import { AuditRing } from "../src/audit/ring.js";
import { auditPayloadText } from "../src/log/audit-payload.js";
import { binaryAuditBound, readBinaryAudit, writeBinaryAudit } from "../src/log/binary-record.js";
import { compactDecisionLog } from "../src/log/compact.js";
import { createLoggedEngine } from "../src/log/engine-log.js";
import { LogCorruptionError } from "../src/log/errors.js";
import { auditEventOf, auditLogRecord } from "../src/log/log-records.js";
import { readDecisionLog, visitDecisionLogEvents } from "../src/log/reader.js";
import {
  AUDIT_CONTEXT_KIND,
  auditContextOf,
  auditContextRecord,
  DecodedAuditRecord,
  decodedRingRecord,
  decodeRingRecord,
  RING_RECORD_MAGIC,
  type RingCursor,
  readRingRecord,
  ringRecordBound,
  writeRingRecord,
} from "../src/log/ring-record.js";
import { listSegments } from "../src/log/segments.js";
import { openDecisionLog } from "../src/log/writer.js";
import { replay } from "../src/replay/replay.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { tempLogDirs } from "./support/log-dir.js";

const newDir = tempLogDirs();
const NAMES = ["alpha", "β", "gamma"];

/** A ring as an engine builds it, holding one record of every kind (notes, NaN, −0, ±∞ included). */
function filledRing(): AuditRing {
  const ring = new AuditRing({
    runId: "rün-7",
    paramNames: NAMES,
    decoders: { mode: decodeSafeMode, modeReasons: decodeSafeModeReasons },
  });
  const t = 1_000.25;
  ring.writeVector(AuditRecordType.Apply, t, 4, 9, 2, -1, 0, 0, [1, -0, Number.POSITIVE_INFINITY]);
  ring.write(AuditRecordType.Violation, t, 4, 10, 3, 1, 12.5, 10);
  ring.writeDigest(AuditRecordType.DigestRejected, t, 4, -1, 2, Number.NaN, 3, 999, Number.NaN, 0.5, 7, 0);
  ring.writeDigest(AuditRecordType.DigestAccepted, t + 1, 4, -1, 0, 0.1 + 0.2, 4, Number.NaN, -1, 2, 3, 4);
  ring.write(AuditRecordType.WindowClosed, t, 4, 10, 1, 5, 0.3, 950);
  ring.write(AuditRecordType.EvalTimeout, t, 4, -1, 0, -1, 2, 0);
  ring.writeVector(AuditRecordType.Rollback, t, 5, -1, 1, -1, 3, 0, [4, 5.5, -6]);
  ring.annotateLast('a "quoted" note ✓\n');
  ring.write(AuditRecordType.BaselineSet, t, 5, -1, 0, -1, 0, 0);
  ring.write(AuditRecordType.SpsaStalled, t, 5, -1, 0, -1, 40, 3);
  ring.write(AuditRecordType.ModeChanged, t, 5, -1, 0, 2, 0b1000001, 0);
  ring.writeVector(AuditRecordType.Decision, t, 5, 11, 0, 12, 1.5, -2.5, [0.1, -0.2, 1e-300]);
  ring.writeVector(AuditRecordType.DecisionStep, t, 6, 11, 1, 12, 0.01, 0.05, [0.001, 0, -0.002]);
  ring.write(AuditRecordType.Command, t, 6, -1, 2, -1, 0, 0);
  ring.annotateLast("");
  ring.write(AuditRecordType.RegimeShift, t, 6, -1, 1, 5, 3.5, 0.25);
  ring.writeVector(AuditRecordType.HomeostasisRecall, t, 6, -1, 2, 1, 0.5, 1.5, [10, 20, 30]);
  ring.write(AuditRecordType.BaselineSet, Number.NEGATIVE_INFINITY, 2 ** 40, -1, 0, -1, 0, 0);
  return ring;
}

/** Every pending record of `ring` as ring-record payloads, log seqs from 100. */
function ringPayloads(ring: AuditRing): Buffer[] {
  const cursor: RingCursor = { ring, k: 0 };
  const payloads: Buffer[] = [];
  for (let k = 0; k < ring.size; k++) {
    const out = Buffer.alloc(ringRecordBound(ring, k));
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    cursor.k = k;
    const end = writeRingRecord(out, view, 0, 100 + k, cursor);
    payloads.push(out.subarray(0, end));
  }
  return payloads;
}

/** The first payload of a filled ring's. */
function payloads0(): Buffer {
  return ringPayloads(filledRing())[0]!;
}

function binaryPayload(seq: number, event: AuditEvent): Buffer {
  const out = Buffer.alloc(binaryAuditBound(event));
  const end = writeBinaryAudit(out, new DataView(out.buffer, out.byteOffset, out.byteLength), 0, seq, event);
  return out.subarray(0, end);
}

/** Writes `ring`'s records, after its context, as a log in segments of 700 bytes in `dir`. */
function writeRingLog(dir: string, ring: AuditRing): void {
  const writer = openDecisionLog({ dir, header: { kind: "header" }, segmentBytes: 700 });
  writer.append(auditContextRecord(ring));
  const cursor: RingCursor = { ring, k: 0 };
  for (let k = 0; k < ring.size; k++) {
    cursor.k = k;
    writer.appendBytes(ringRecordBound(ring, k), writeRingRecord, cursor);
  }
  writer.close();
}
describe("ring records in the decision log", () => {
  it("decode to the same records as the JSON and 0xB1 binary forms of the drained events", () => {
    const ring = filledRing();
    const payloads = ringPayloads(ring);
    const context = auditContextOf(auditContextRecord(ring));
    const events = ring.drain();
    expect(events.length).toBe(payloads.length);
    for (const [k, event] of events.entries()) {
      const raw = readRingRecord(payloads[k]!, 0, payloads[k]!.length);
      expect(raw).not.toBeNull();
      const record = decodeRingRecord(raw!, context);
      const json = JSON.parse(auditPayloadText(100 + k, event));
      expect(record).toEqual(json);
      const binary = binaryPayload(100 + k, event);
      expect(record).toEqual(readBinaryAudit(binary, 0, binary.length));
      expect(auditEventOf(record)).toEqual(auditEventOf(auditLogRecord(event)));
      // Smaller than the 0xB1 form, whose every field carries its name.
      expect(payloads[k]!.length).toBeLessThan(binary.length);
    }
    const applied = auditEventOf(
      decodeRingRecord(readRingRecord(payloads[0]!, 0, payloads[0]!.length)!, context),
    );
    expect(Object.is((applied as { values: Record<string, number> }).values.β, -0)).toBe(true);
  });

  it("decoded as events, give the events their JSON form reads as, numbers untagged", () => {
    const ring = filledRing();
    const payloads = ringPayloads(ring);
    const context = auditContextOf(auditContextRecord(ring));
    const events = ring.drain();
    for (const [k, event] of events.entries()) {
      const raw = readRingRecord(payloads[k]!, 0, payloads[k]!.length)!;
      const decoded = decodedRingRecord(raw, context);
      expect(decoded).toBeInstanceOf(DecodedAuditRecord);
      expect(decoded!.seq).toBe(100 + k);
      // toEqual tells −0 from 0 and matches NaN: the event is the one the tagged form decodes to.
      expect(decoded!.event).toEqual(auditEventOf(decodeRingRecord(raw, context)));
      expect(auditEventOf(decoded)).toBe(decoded!.event);
      expect(auditEventOf({ segment: "s", record: decoded })).toBe(decoded!.event);
      expect(JSON.stringify(decoded)).toBe(JSON.stringify(decodeRingRecord(raw, context)));
      expect(decoded!.toJSON()).toEqual(JSON.parse(auditPayloadText(100 + k, event)));
    }
    const raw = readRingRecord(payloads[0]!, 0, payloads[0]!.length)!;
    expect(decodedRingRecord(raw, undefined)).toBeNull();
  });

  it("records read keep their own numbers while thousands more are read after them", () => {
    const ring = filledRing();
    const payloads = ringPayloads(ring);
    const context = auditContextOf(auditContextRecord(ring));
    const first = payloads.map((p) => readRingRecord(p, 0, p.length)!);
    const expected = first.map((raw) => decodeRingRecord(raw, context));
    // Far more slots than one of the slabs records are read into.
    for (let i = 0; i < 5_000; i++) for (const p of payloads) readRingRecord(p, 0, p.length);
    expect(first.map((raw) => decodeRingRecord(raw, context))).toEqual(expected);
  });

  it("reads a record with more slots than a slab holds", () => {
    // 9 fixed fields and a vector of 9,000, all NaN but the type: more than a writer makes, but
    // well-formed, so read whole rather than cut at a slab's end.
    const vector = 9_000;
    const count = AUDIT_HEADER_FIELDS + vector;
    const tagBytes = (count + 3) >> 2;
    const payload = Buffer.alloc(16 + tagBytes + 8);
    payload.set(RING_RECORD_MAGIC, 0);
    payload.writeDoubleLE(7, 2);
    payload.writeUInt16LE(count, 10);
    payload.writeUInt32LE(0, 12);
    payload.fill(0xaa, 16, 16 + tagBytes); // tag 2 (NaN) for every slot…
    payload[16 + (FIELD_TYPE >> 2)]! &= ~(3 << ((FIELD_TYPE & 3) << 1)); // …but the type's (an f64)
    payload.writeDoubleLE(vector * VECTOR_LENGTH_UNIT + AuditRecordType.Apply, 16 + tagBytes);
    const before = readRingRecord(payloads0(), 0, payloads0().length)!;
    const raw = readRingRecord(payload, 0, payload.length);
    expect(raw).not.toBeNull();
    expect(raw!.seq).toBe(7);
    expect(raw!.slots.length - raw!.at).toBeGreaterThanOrEqual(count);
    expect(raw!.slots[raw!.at + FIELD_TYPE]).toBe(vector * VECTOR_LENGTH_UNIT + AuditRecordType.Apply);
    expect(Number.isNaN(raw!.slots[raw!.at + count - 1])).toBe(true);
    expect(before.slots).not.toBe(raw!.slots);
  });

  it("a log read for its events hands on the events its JSON form reads as", () => {
    const dir = newDir();
    const ring = filledRing();
    writeRingLog(dir, ring);
    const whole = readDecisionLog(dir);
    const visited: unknown[] = [];
    const contents = visitDecisionLogEvents(dir, (entry) => visited.push(entry.record));
    expect(visited.slice(2).every((record) => record instanceof DecodedAuditRecord)).toBe(true);
    expect(visited.slice(1).map(auditEventOf)).toEqual(
      whole.records.map((entry) => auditEventOf(entry.record)),
    );
    // What the read says of the log's last record is its JSON form, as a whole read's.
    expect(contents.lastDurable).toEqual(whole.lastDurable);
    expect(contents.lastDurable!.record).not.toBeInstanceOf(DecodedAuditRecord);
  });

  it("cannot be decoded without the run's context, and a malformed payload is refused", () => {
    const ring = filledRing();
    const [first] = ringPayloads(ring);
    expect(decodeRingRecord(readRingRecord(first!, 0, first!.length)!, undefined)).toBeNull();
    expect(readRingRecord(first!, 0, first!.length - 1)).toBeNull();
    const longer = Buffer.concat([first!, Buffer.from([0])]);
    expect(readRingRecord(longer, 0, longer.length)).toBeNull();
  });

  it("a log of ring records reads, compacts and stays strict about damage", () => {
    const dir = newDir();
    const ring = filledRing();
    writeRingLog(dir, ring);
    expect(listSegments(dir).length).toBeGreaterThan(1);
    const expected = ring.drain().map((event) => auditEventOf(auditLogRecord(event)));
    const read = readDecisionLog(dir).records;
    expect(read[0]!.record.kind).toBe(AUDIT_CONTEXT_KIND);
    expect(read.slice(1).map((entry) => auditEventOf(entry.record))).toEqual(expected);

    compactDecisionLog(dir, 5);
    expect(readDecisionLog(dir).records.map((entry) => auditEventOf(entry.record))).toEqual(
      expected.slice(-5),
    );

    // Flip one byte of a ring record in the middle of the (compacted, now JSON) log's first
    // segment written afresh: strict reading names the damage.
    const fresh = newDir();
    const again = filledRing();
    const w2 = openDecisionLog({ dir: fresh, header: { kind: "header" } });
    w2.append(auditContextRecord(again));
    const c2: RingCursor = { ring: again, k: 0 };
    for (let k = 0; k < again.size; k++) {
      c2.k = k;
      w2.appendBytes(ringRecordBound(again, k), writeRingRecord, c2);
    }
    w2.close();
    const [segment] = listSegments(fresh);
    const bytes = readFileSync(segment!.path);
    const magicAt = bytes.indexOf(Buffer.from(RING_RECORD_MAGIC));
    bytes[magicAt + 20] ^= 0xff;
    writeFileSync(segment!.path, bytes);
    expect(() => readDecisionLog(fresh)).toThrow(LogCorruptionError);
  });

  it("a logged engine writes ring records that read back as exactly the events it emitted", async () => {
    const dir = newDir();
    const clock = new ReplayClock(1_000);
    const params: Record<string, { min: number; max: number; init: number; maxDelta: number }> = {};
    for (const name of NAMES) params[name] = { min: 0, max: 100, init: 50, maxDelta: 10 };
    const logged = createLoggedEngine(
      { seed: 3, runId: "ring-run", params, window: { digests: 3 }, scheduler: clock },
      { dir },
    );
    const emitted: AuditEvent[] = [];
    logged.engine.events.subscribe((event) => emitted.push(event));
    let time = 1_000;
    for (let i = 0; i < 300; i++) {
      time += 10;
      clock.advanceTo(time);
      logged.engine.observe({ objective: 5 + Math.sin(i), generation: logged.engine.generation });
    }
    logged.engine.rollback("checking notes");
    await logged.close();

    const segments = listSegments(dir).map((s) => readFileSync(s.path));
    let ringRecords = 0;
    for (const bytes of segments) {
      for (
        let p = bytes.indexOf(RING_RECORD_MAGIC[0]);
        p !== -1;
        p = bytes.indexOf(RING_RECORD_MAGIC[0], p + 1)
      )
        if (bytes[p + 1] === RING_RECORD_MAGIC[1] && bytes[p + 2] === 0) ringRecords++;
    }
    const entries = readDecisionLog(dir).records;
    const audit = entries.map((entry) => auditEventOf(entry.record)).filter((e) => e !== undefined);
    expect(audit.length).toBe(emitted.length);
    expect(ringRecords).toBeGreaterThanOrEqual(emitted.length);
    expect(audit).toEqual(emitted.map((event) => auditEventOf(auditLogRecord(event))));
    expect(audit.some((event) => event.type === "command" && event.note === "checking notes")).toBe(true);
    expect(entries.filter((entry) => entry.record.kind === AUDIT_CONTEXT_KIND).length).toBe(1);
  });

  it("a captured digest carries the clock's latest reading unless its entry reads the clock, and replays exactly", async () => {
    const dir = newDir();
    const clock = new ReplayClock(1_000);
    const params: Record<string, { min: number; max: number; init: number; maxDelta: number }> = {};
    for (const name of NAMES) params[name] = { min: 0, max: 100, init: 50, maxDelta: 10 };
    const logged = createLoggedEngine(
      { seed: 4, runId: "peek-run", params, window: { digests: 4 }, scheduler: clock, auditDrainMs: 1_000 },
      { dir },
    );
    const emitted: AuditEvent[] = [];
    logged.engine.events.subscribe((event) => emitted.push(event));
    let time = 1_000;
    for (let i = 0; i < 400; i++) {
      time += 7;
      clock.advanceTo(time);
      logged.engine.observe({ objective: 3 + Math.cos(i), generation: logged.engine.generation });
    }
    await logged.close();

    const digests = emitted.filter((event) => event.type === "digest.accepted");
    const windows = emitted.filter((event) => event.type === "window.closed");
    // The clock moves 7 ms per digest; digests that read no clock carry an earlier reading.
    expect(digests.some((event, i) => event.time < 1_007 + 7 * i)).toBe(true);
    // A digest that closed a window read the clock in its entry: it carries that entry's time.
    for (const window of windows) {
      const closer = digests.filter((event) => event.seq < window.seq).at(-1)!;
      expect(closer.time).toBe(window.time);
    }
    // Times never go backwards, and the log replays bit for bit.
    for (let i = 1; i < emitted.length; i++)
      expect(emitted[i]!.time).toBeGreaterThanOrEqual(emitted[i - 1]!.time);
    expect((await replay(dir)).ok).toBe(true);
  });
});
