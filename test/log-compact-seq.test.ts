import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AUDIT_SCHEMA_VERSION } from "../src/audit/events.js";
import { RecordingTail } from "../src/dashboard/recording-tail.js";
import { encodeFrame } from "../src/log/frame.js";
import { compactDecisionLog, openDecisionLog, readDecisionLog } from "../src/log/index.js";
import type { LogEntry } from "../src/log/records.js";
import { tempLogDirs } from "./support/log-dir.js";

// Compaction keeps seqs as they were: records appended after it follow every seq the log ever
// had, even when the records that held the last ones were dropped.

const HEADER = { kind: "header", config: { seed: 5 } } as const;

const newDir = tempLogDirs();

/** A log with `n` records `{kind:"r", i}` (seq i), closed. */
function writeLog(dir: string, n: number, segmentBytes?: number): void {
  const writer = openDecisionLog({
    dir,
    header: HEADER,
    ...(segmentBytes === undefined ? {} : { segmentBytes }),
  });
  for (let i = 1; i <= n; i++) writer.append({ kind: "r", i });
  writer.close();
}

/** Opens the log, appends one record and closes it; the seq it was given. */
function appendOne(dir: string, segmentBytes?: number): number {
  const writer = openDecisionLog({ dir, ...(segmentBytes === undefined ? {} : { segmentBytes }) });
  try {
    return writer.append({ kind: "after" });
  } finally {
    writer.close();
  }
}

const seqs = (dir: string): number[] => readDecisionLog(dir).records.map((e) => e.seq);

describe("compaction keeps the log's last seq", () => {
  const cases: [string, number | ((entry: LogEntry) => boolean), number[]][] = [
    ["keep 0", 0, []],
    ["a keep function that keeps nothing", () => false, []],
    ["keep 1", 1, [12]],
    ["a keep function that keeps only early records", (e) => e.seq <= 3, [1, 2, 3]],
  ];
  for (const [name, keep, kept] of cases) {
    it(`after ${name}, the next append follows every seq the log had`, () => {
      const dir = newDir();
      writeLog(dir, 12);
      const result = compactDecisionLog(dir, keep);
      expect(result).toMatchObject({ recordsBefore: 12, recordsKept: kept.length });
      // Readers see the kept records only.
      expect(seqs(dir)).toEqual(kept);
      expect(readDecisionLog(dir).header).toEqual({ seq: 0, ...HEADER });
      expect(appendOne(dir)).toBe(13);
      expect(seqs(dir)).toEqual([...kept, 13]);
      expect(appendOne(dir)).toBe(14);
    });
  }

  it("survives a second compaction with nothing appended in between", () => {
    const dir = newDir();
    writeLog(dir, 9);
    compactDecisionLog(dir, 0);
    expect(compactDecisionLog(dir, 0)).toMatchObject({ recordsBefore: 0, recordsKept: 0 });
    expect(readdirSync(dir).filter((f) => f.endsWith(".alog")).length).toBe(1);
    expect(appendOne(dir)).toBe(10);
  });

  it("writes the header and the kept records only when the last record is kept", () => {
    const dir = newDir();
    writeLog(dir, 6);
    const { segment } = compactDecisionLog(dir, (e) => e.seq >= 5);
    const frames = [
      { seq: 0, ...HEADER },
      { seq: 5, kind: "r", i: 5 },
      { seq: 6, kind: "r", i: 6 },
    ].map((record) => Buffer.from(encodeFrame(Buffer.from(JSON.stringify(record)))));
    expect(readFileSync(segment)).toEqual(Buffer.concat(frames));
    expect(appendOne(dir)).toBe(7);
  });

  it("keeps the seq across segments the writer rolls after the compaction", () => {
    const dir = newDir();
    writeLog(dir, 30, 600);
    compactDecisionLog(dir, 0);
    // Smaller than the compacted segment: the first commit starts a segment, whose header repeats
    // the seq the compaction kept.
    const writer = openDecisionLog({ dir, segmentBytes: 100 });
    const given: number[] = [];
    for (let i = 0; i < 6; i++) {
      given.push(writer.append({ kind: "after", i }));
      writer.flush();
    }
    writer.close();
    expect(given).toEqual([31, 32, 33, 34, 35, 36]);
    expect(readdirSync(dir).filter((f) => f.endsWith(".alog")).length).toBeGreaterThan(2);
    expect(seqs(dir)).toEqual(given);
    expect(appendOne(dir, 100)).toBe(37);
  });

  it("still reads a caller's records of kind segment, written before append refused them, as records", () => {
    const dir = newDir();
    const writer = openDecisionLog({ dir, header: HEADER });
    // An older arqon appended them as they came; append refuses the kind now.
    const asAppended = (seq: number, record: object) => `{"seq":${seq},${JSON.stringify(record).slice(1)}`;
    writer.appendEncoded(asAppended, { kind: "segment", segment: 2 });
    writer.appendEncoded(asAppended, { kind: "segment", segment: 1, note: "mine" });
    writer.appendEncoded(asAppended, { kind: "segment" });
    writer.close();
    expect(seqs(dir)).toEqual([1, 2, 3]);
    compactDecisionLog(dir, 2);
    expect(seqs(dir)).toEqual([2, 3]);
    expect(appendOne(dir)).toBe(4);
  });

  it("lets a dashboard tail that read the old records see the ones appended after keep 0", async () => {
    const dir = newDir();
    const base = {
      v: AUDIT_SCHEMA_VERSION,
      generation: 0,
      proposalId: -1,
      type: "baseline.set",
      runId: "log",
    };
    let writer = openDecisionLog({ dir, header: HEADER });
    for (let i = 1; i <= 8; i++) writer.append({ ...base, time: i });
    writer.close();
    const tail = await RecordingTail.open(dir);
    const polled = async (): Promise<number[]> => {
      const seen: number[] = [];
      do seen.push(...(await tail.poll()).map((e) => e.seq));
      while (tail.behind);
      return seen;
    };
    expect(await polled()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    compactDecisionLog(dir, 0);
    expect(await polled()).toEqual([]);
    writer = openDecisionLog({ dir });
    writer.append({ ...base, time: 9 });
    writer.close();
    expect(await polled()).toEqual([9]);
  });
});
