import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LogCorruptionError, LogError } from "../src/log/errors.js";
import { decisionLogRecords, openDecisionLog, readDecisionLog } from "../src/log/index.js";
import { engineLogHeader } from "../src/log/log-records.js";
import { visitDecisionLog, visitDecisionLogAsync } from "../src/log/reader.js";
import type { LogEntry, LogHeader } from "../src/log/records.js";
import { isSegmentGone } from "../src/log/scan.js";
import { readAgainIfCompacted, readReplayLog, readReplayLogAsync } from "../src/replay/read-log.js";
import { resumePoint, resumePointAsync } from "../src/replay/resume-point.js";
import { tempLogDirs } from "./support/log-dir.js";

// Readers of a long log (a restart's resumePoint, a compaction, decisionLogRecords) read it one
// segment at a time and hand each record on as it is verified, rather than holding the whole log.

const HEADER = { kind: "header", config: { seed: 5 } } as const;
const newDir = tempLogDirs();

/**
 * A log of `n` records `{ kind: "r", i }`, committed 20 at a time into segments of about
 * `segmentBytes` (a segment is closed at a commit); its segment files, in order.
 */
function writeLog(dir: string, n: number, segmentBytes = 2048): string[] {
  const writer = openDecisionLog({ dir, header: HEADER, segmentBytes });
  for (let i = 1; i <= n; i++) {
    writer.append({ kind: "r", i, pad: "x".repeat(40) });
    if (i % 20 === 0) writer.flush();
  }
  writer.close();
  return readdirSync(dir)
    .filter((f) => f.endsWith(".alog"))
    .sort()
    .map((f) => join(dir, f));
}

const brief = (entry: LogEntry) => [entry.seq, entry.record.kind];

describe("reading a log a segment at a time", () => {
  it("visits the header, then every record readDecisionLog returns, in order, sync and async", async () => {
    const dir = newDir();
    expect(writeLog(dir, 300).length).toBeGreaterThan(5);
    const { records, ...whole } = readDecisionLog(dir);
    const seen: LogEntry[] = [];
    const contents = visitDecisionLog(dir, (entry) => seen.push(entry));
    expect(seen[0]!.record).toEqual(whole.header);
    expect(seen.slice(1)).toEqual(records);
    expect(contents).toEqual(whole);
    const seenAsync: LogEntry[] = [];
    expect(await visitDecisionLogAsync(dir, (entry) => seenAsync.push(entry))).toEqual(whole);
    expect(seenAsync).toEqual(seen);
  });

  it("a read started by a visitor, mid-read, leaves the read it interrupts whole (segments of growing sizes)", () => {
    // A synchronous read reads every segment into one buffer; a read that starts while another is
    // under way must not read into the same one.
    const outer = newDir();
    const inner = newDir();
    writeLog(outer, 300);
    // Segments larger than any of the outer log's: a buffer the outer read had met grows for them.
    writeLog(inner, 150, 8192);
    const { records } = readDecisionLog(outer);
    const innerRecords = readDecisionLog(inner).records.map((r) => [r.seq, r.record]);
    const seen: unknown[] = [];
    let innerReads = 0;
    visitDecisionLog(outer, (entry) => {
      seen.push([entry.seq, entry.record]);
      if (entry.seq % 50 === 0) {
        expect(readDecisionLog(inner).records.map((r) => [r.seq, r.record])).toEqual(innerRecords);
        innerReads++;
      }
    });
    expect(innerReads).toBe(7);
    expect(seen.slice(1)).toEqual(records.map((r) => [r.seq, r.record]));
    // One read after another reads into the buffer the last one used: still the log's records.
    expect(readDecisionLog(outer).records).toEqual(records);
  });

  it("decisionLogRecords reads a segment only when the generator gets to it", () => {
    const dir = newDir();
    const segments = writeLog(dir, 300);
    const expected = readDecisionLog(dir).records;
    expect([...decisionLogRecords(dir)]).toEqual(expected);
    const records = decisionLogRecords(dir);
    const first = records.next().value as LogEntry;
    expect(first).toEqual(expected[0]);
    // The last segment goes while the generator is in the first: what came before it still comes.
    rmSync(segments.at(-1)!);
    const taken = [first];
    expect(() => {
      for (const entry of records) taken.push(entry);
    }).toThrow(LogError);
    expect(taken.length).toBeGreaterThan(1);
    expect(taken.map(brief)).toEqual(expected.slice(0, taken.length).map(brief));
  });

  it("a segment removed while it is read (a compaction) fails the read as one to read again", async () => {
    const dir = newDir();
    const segments = writeLog(dir, 300);
    let visited = 0;
    const reading = visitDecisionLogAsync(dir, () => {
      if (visited++ === 1) rmSync(segments[2]!);
    });
    const error = await reading.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogError);
    expect(isSegmentGone(error)).toBe(true);
    expect(String(error)).toContain(segments[2]!.split("/").at(-1));
    // Other failures are not mistaken for it.
    expect(isSegmentGone(new LogError("disk full"))).toBe(false);
    expect(isSegmentGone(Object.assign(new Error("gone"), { code: "ENOENT" }))).toBe(false);
  });

  it("readAgainIfCompacted reads a path again after a segment went, at most three times in all, and no other failure", async () => {
    const gone = new LogError("cannot read decision log d: 00000003.alog", {
      cause: Object.assign(new Error("no such file"), { code: "ENOENT" }),
    });
    let calls = 0;
    expect(
      await readAgainIfCompacted("/some/log", async () => {
        if (++calls < 3) throw gone;
        return "read";
      }),
    ).toBe("read");
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      readAgainIfCompacted("/some/log", async () => {
        calls++;
        throw gone;
      }),
    ).rejects.toBe(gone);
    expect(calls).toBe(3);
    calls = 0;
    const other = new LogError("decision log corrupt");
    await expect(
      readAgainIfCompacted("/some/log", async () => {
        calls++;
        throw other;
      }),
    ).rejects.toBe(other);
    expect(calls).toBe(1);
  });

  it("the async readers read records given once: a one-shot iterable's failure is theirs", async () => {
    const gone = new LogError("cannot read decision log d: 00000002.alog", {
      cause: Object.assign(new Error("no such file"), { code: "ENOENT" }),
    });
    const header = {
      seq: 0,
      ...engineLogHeader({ seed: 1, params: { x: { min: 0, max: 1 } } }, { startTime: 0 }),
    };
    function* records() {
      yield header;
      throw gone;
    }
    // Read again, the iterable would be empty: "the log is empty" would hide the real failure.
    await expect(readReplayLogAsync(records())).rejects.toBe(gone);
    await expect(resumePointAsync(records())).rejects.toBe(gone);
  });

  it("reports damage before a record it refuses earlier in the log, as a LogCorruptionError", async () => {
    const dir = newDir();
    // An engine header whose runsBefore is no whole number: refused at the very first record.
    const header = {
      ...engineLogHeader({ seed: 1, params: { x: { min: 0, max: 1 } } }, { startTime: 0 }),
      runsBefore: -2,
    };
    const writer = openDecisionLog({ dir, header: header as LogHeader, segmentBytes: 2048 });
    for (let i = 1; i <= 300; i++) {
      writer.append({ kind: "r", i, pad: "x".repeat(40) });
      if (i % 20 === 0) writer.flush();
    }
    writer.close();
    expect(() => readReplayLog(dir)).toThrow(/runsBefore -2, not a whole number/);
    const segments = readdirSync(dir)
      .filter((f) => f.endsWith(".alog"))
      .sort();
    const middle = join(dir, segments[Math.floor(segments.length / 2)]!);
    const bytes = readFileSync(middle);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(middle, bytes);
    expect(() => readReplayLog(dir)).toThrow(LogCorruptionError);
    expect(() => resumePoint(dir)).toThrow(LogCorruptionError);
    await expect(readReplayLogAsync(dir)).rejects.toThrow(LogCorruptionError);
    await expect(resumePointAsync(dir)).rejects.toThrow(LogCorruptionError);
  });
});
