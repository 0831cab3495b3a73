import { describe, expect, it } from "vitest";
import { createLoggedEngine } from "../src/log/engine-log.js";
import { FLUSH_LOG_KIND, TIMER_LOG_KIND, type TimeRecord, timeRecordOf } from "../src/log/log-records.js";
import { readDecisionLog } from "../src/log/reader.js";
import {
  isTimingRecord,
  readTimingRecord,
  TIMING_RECORD_BYTES,
  writeTimingRecord,
} from "../src/log/timing-record.js";
import { openDecisionLog } from "../src/log/writer.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { tempLogDirs } from "./support/log-dir.js";

const newDir = tempLogDirs();

function encoded(seq: number, timing: TimeRecord): Buffer {
  const out = Buffer.alloc(64);
  const end = writeTimingRecord(out, new DataView(out.buffer, out.byteOffset), 3, seq, timing);
  expect(end - 3).toBe(TIMING_RECORD_BYTES);
  return out.subarray(3, end);
}

describe("binary timing records", () => {
  it("read back as the JSON form's record: timer and flush, times and seqs exact", () => {
    const timer: TimeRecord = {
      kind: TIMER_LOG_KIND,
      id: 41,
      time: 1_732_412_345_678.25,
      after: 9_007_199_254_740,
    };
    const bytes = encoded(123_456, timer);
    expect(isTimingRecord(bytes, 0, bytes.length)).toBe(true);
    expect(readTimingRecord(bytes, 0, bytes.length)).toEqual({ seq: 123_456, ...timer });
    const flush: TimeRecord = { kind: FLUSH_LOG_KIND, id: -1, time: 0, after: 0 };
    const flushBytes = encoded(7, flush);
    expect(timeRecordOf(readTimingRecord(flushBytes, 0, flushBytes.length))).toEqual(flush);
  });

  it("a time that is not finite reads as null, which is no timing (as the JSON form wrote it)", () => {
    const bytes = encoded(5, { kind: TIMER_LOG_KIND, id: 0, time: Number.NaN, after: 4 });
    const record = readTimingRecord(bytes, 0, bytes.length);
    expect(record?.time).toBeNull();
    expect(timeRecordOf(record)).toBeUndefined();
  });

  it("other payloads are not taken for one: wrong length, wrong magic, unknown kind", () => {
    const bytes = encoded(5, { kind: TIMER_LOG_KIND, id: 0, time: 1, after: 4 });
    expect(isTimingRecord(bytes, 0, bytes.length - 1)).toBe(false);
    const magic = Buffer.from(bytes);
    magic[1] = 0x02;
    expect(isTimingRecord(magic, 0, magic.length)).toBe(false);
    const kind = Buffer.from(bytes);
    kind[10] = 9;
    expect(readTimingRecord(kind, 0, kind.length)).toBeNull();
  });

  it("a logged engine writes its timings in binary; the log reads them as timings, beside JSON ones", async () => {
    const dir = newDir();
    const clock = new ReplayClock(1_000);
    const logged = createLoggedEngine(
      {
        seed: 3,
        params: { x: { min: 0, max: 10, init: 5, maxDelta: 1 } },
        window: { digests: 2 },
        scheduler: clock,
      },
      { dir },
    );
    for (let k = 1; k <= 20; k++) {
      clock.advanceTo(1_000 + k * 10);
      logged.engine.observe({ objective: k % 3, generation: logged.engine.generation });
    }
    logged.engine.flushEvents();
    await logged.close();
    const timings = readDecisionLog(dir)
      .records.map((entry) => timeRecordOf(entry.record))
      .filter((t) => t !== undefined);
    expect(timings.length).toBeGreaterThan(5);
    expect(timings.at(-1)!.kind).toBe(FLUSH_LOG_KIND);
    expect(timings.every((t) => Number.isFinite(t.time) && t.after > 0)).toBe(true);
    // A log holding JSON timings (written before) reads them the same way.
    const old = newDir();
    const writer = openDecisionLog({ dir: old, header: { kind: "header" } });
    writer.append({ kind: TIMER_LOG_KIND, id: 3, time: 1_010, after: 2 });
    writer.close();
    expect(
      readDecisionLog(old)
        .records.map((entry) => timeRecordOf(entry.record))
        .find((t) => t !== undefined),
    ).toEqual({
      kind: TIMER_LOG_KIND,
      id: 3,
      time: 1_010,
      after: 2,
    });
  });
});
