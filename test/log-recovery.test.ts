import {
  appendFileSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_PAYLOAD_BYTES } from "../src/log/frame.js";
import {
  type CompactStep,
  compactDecisionLog,
  LogCorruptionError,
  LogError,
  openDecisionLog,
  readDecisionLog,
} from "../src/log/index.js";
import { Prng } from "../src/random/prng.js";
import { tempLogDirs } from "./support/log-dir.js";

const HEADER = { kind: "header", config: { seed: 3 }, packageVersion: "0.1.0" } as const;

const newDir = tempLogDirs();

/** A log with `n` records `{kind:"r", i}` (seq i), closed. */
function writeLog(dir: string, n: number, segmentBytes?: number): void {
  const writer = openDecisionLog({
    dir,
    header: HEADER,
    ...(segmentBytes === undefined ? {} : { segmentBytes }),
  });
  for (let i = 1; i <= n; i++) {
    writer.append({ kind: "r", i });
    if (i % 7 === 0) writer.flush();
  }
  writer.close();
}

const seqs = (dir: string, strict = true): number[] =>
  readDecisionLog(dir, { strict }).records.map((e) => e.seq);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
const segmentFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".alog"))
    .sort();

describe("decision log writer and reader", () => {
  it("reads back the header and every record in order, with seqs 1..n", () => {
    const dir = newDir();
    writeLog(dir, 50);
    const log = readDecisionLog(dir);
    expect(log.header).toEqual({ seq: 0, ...HEADER });
    expect(log.records.map((e) => e.record)).toEqual(range(50).map((i) => ({ seq: i, kind: "r", i })));
    expect(log.lastDurable?.seq).toBe(50);
    expect(log.tornTail).toBeNull();
  });

  it("rolls segments at the configured size, each later segment linked by a segment header", () => {
    const dir = newDir();
    writeLog(dir, 200, 600);
    expect(segmentFiles(dir).length).toBeGreaterThan(3);
    expect(seqs(dir)).toEqual(range(200));
    // The segment headers are not returned as records.
    expect(readDecisionLog(dir).records.every((e) => e.record.kind === "r")).toBe(true);
  });

  it("reopens an existing log and continues the seqs; the given header is ignored", () => {
    const dir = newDir();
    writeLog(dir, 5);
    const writer = openDecisionLog({ dir, header: { kind: "header", other: true } });
    expect(writer.created).toBe(false);
    expect(writer.header).toEqual({ seq: 0, ...HEADER });
    expect(writer.append({ kind: "r", i: 6 })).toBe(6);
    writer.close();
    expect(seqs(dir)).toEqual(range(6));
  });

  it("keeps records larger than its first buffer whole (64 KiB and up), after the header's commit", () => {
    const dir = newDir();
    const sizes = [65_500, 70_000, 300_000, 10];
    const writer = openDecisionLog({ dir, header: HEADER });
    for (const size of sizes) writer.append({ kind: "big", text: "x".repeat(size) });
    writer.close();
    const texts = readDecisionLog(dir).records.map(
      (e) => (e.record as unknown as { text: string }).text.length,
    );
    expect(texts).toEqual(sizes);
  });

  it("refuses to create a log without a header, and records that carry their own seq", () => {
    const dir = newDir();
    expect(() => openDecisionLog({ dir })).toThrow(LogError);
    const writer = openDecisionLog({ dir, header: HEADER });
    expect(() => writer.append({ seq: 4 })).toThrow(TypeError);
    writer.close();
    expect(() => writer.append({ kind: "late" })).toThrow(LogError);
  });

  it("refuses the kind the log keeps for its segment headers, and keeps nothing of it", () => {
    const dir = newDir();
    const writer = openDecisionLog({ dir, header: HEADER, fsync: "always" });
    // Shaped exactly like a seq mark of the first segment: read back, it would be skipped.
    expect(() => writer.append({ kind: "segment", segment: 1 })).toThrow(/kind.*"segment".*reserved/);
    expect(writer.append({ kind: "r" })).toBe(1);
    writer.close();
    expect(readDecisionLog(dir).records.map((e) => [e.seq, e.record.kind])).toEqual([[1, "r"]]);
  });

  it("refuses the kind of an engine's audit records, which a reader would fail to decode", () => {
    const dir = newDir();
    const writer = openDecisionLog({ dir, header: HEADER, fsync: "always" });
    expect(() => writer.append({ kind: "audit.ring", text: "mine" })).toThrow(
      /kind "audit\.ring" is reserved/,
    );
    expect(writer.append({ kind: "r" })).toBe(1);
    writer.close();
    // The log stays readable, and opens again for writing.
    expect(readDecisionLog(dir).records.map((e) => [e.seq, e.record.kind])).toEqual([[1, "r"]]);
    const again = openDecisionLog({ dir });
    expect(again.append({ kind: "r" })).toBe(2);
    again.close();
  });

  it("refuses a record over the frame limit before growing any buffer for it", () => {
    const dir = newDir();
    const writer = openDecisionLog({ dir, header: HEADER });
    const before = process.memoryUsage().arrayBuffers;
    expect(() => writer.append({ kind: "r", text: "x".repeat(MAX_PAYLOAD_BYTES) })).toThrow(
      /record 1 is too large/,
    );
    // Slabs keep the size they grow to: room for the refused record would have stayed held (≥ 192 MiB).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
    expect(writer.append({ kind: "r" })).toBe(1);
    writer.close();
    expect(readDecisionLog(dir).records).toHaveLength(1);
  });

  it("buffers appends until a flush, and appendCommand makes everything before it durable", () => {
    const dir = newDir();
    const writer = openDecisionLog({ dir, header: HEADER, flushMs: 60_000, flushRecords: 1000 });
    writer.append({ kind: "r", i: 1 });
    writer.append({ kind: "r", i: 2 });
    expect(writer.lagRecords).toBe(2);
    expect(writer.pending.records).toBe(2);
    expect(seqs(dir)).toEqual([]);
    writer.appendCommand({ kind: "rollback" });
    expect(writer.lagRecords).toBe(0);
    expect(writer.durableSeq).toBe(3);
    expect(seqs(dir)).toEqual([1, 2, 3]);
    writer.close();
  });

  it("with fsync always, every append is durable when it returns", () => {
    const dir = newDir();
    const durable: number[] = [];
    const writer = openDecisionLog({
      dir,
      header: HEADER,
      fsync: "always",
      onDurable: (s) => durable.push(s),
    });
    writer.append({ kind: "r", i: 1 });
    expect(seqs(dir)).toEqual([1]);
    writer.append({ kind: "r", i: 2 });
    expect(durable).toEqual([0, 1, 2]);
    writer.close();
  });

  it("flushes by itself once flushRecords records wait (after the caller yields, on the thread pool)", async () => {
    const dir = newDir();
    let durable!: (seq: number) => void;
    const committed = new Promise<number>((resolve) => {
      durable = resolve;
    });
    const writer = openDecisionLog({
      dir,
      header: HEADER,
      flushMs: 60_000,
      flushRecords: 4,
      onDurable: (seq) => {
        if (seq > 0) durable(seq);
      },
    });
    for (let i = 1; i <= 4; i++) writer.append({ kind: "r", i });
    expect(writer.lagRecords).toBe(4);
    // The commit starts after the caller yields and completes off the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    expect(writer.lagRecords).toBe(4);
    expect(await committed).toBe(4);
    expect(writer.lagRecords).toBe(0);
    expect(seqs(dir)).toEqual([1, 2, 3, 4]);
    writer.close();
  });
});

describe("decision log recovery", () => {
  it("truncates a torn tail at every possible cut inside the last record, and reports it", () => {
    const dir = newDir();
    writeLog(dir, 3);
    const [segment] = segmentFiles(dir);
    const path = join(dir, segment!);
    const full = readFileSync(path);
    const lastOffset = readDecisionLog(dir).lastDurable!.offset;
    for (let cut = lastOffset + 1; cut < full.length; cut++) {
      writeFileSync(path, full.subarray(0, cut));
      const read = readDecisionLog(dir);
      expect(read.records.map((e) => e.seq)).toEqual([1, 2]);
      expect(read.tornTail).toEqual({
        segment: path,
        truncatedAt: lastOffset,
        bytesDropped: cut - lastOffset,
      });
      const writer = openDecisionLog({ dir });
      expect(writer.recovery).toEqual({
        kind: "torn-tail",
        segment: path,
        truncatedAt: lastOffset,
        bytesDropped: cut - lastOffset,
      });
      expect(writer.lastDurableOnOpen?.seq).toBe(2);
      writer.close();
      expect(statSync(path).size).toBe(lastOffset);
    }
  });

  it("treats a zero-filled or garbage tail as torn and keeps appending after the valid prefix", () => {
    const dir = newDir();
    writeLog(dir, 4);
    const path = join(dir, segmentFiles(dir)[0]!);
    appendFileSync(path, new Uint8Array(100));
    const writer = openDecisionLog({ dir });
    expect(writer.recovery?.bytesDropped).toBe(100);
    writer.append({ kind: "r", i: 5 });
    writer.close();
    expect(seqs(dir)).toEqual(range(5));
  });

  it("rewrites a new segment's torn segment header and continues the seqs in it", () => {
    const dir = newDir();
    writeLog(dir, 60, 500);
    const files = segmentFiles(dir);
    const last = join(dir, files.at(-1)!);
    const kept = readDecisionLog(dir).records.filter((e) => e.segment !== last).length;
    truncateSync(last, 5);
    const writer = openDecisionLog({ dir });
    expect(writer.recovery).toMatchObject({
      kind: "torn-tail",
      segment: last,
      truncatedAt: 0,
      bytesDropped: 5,
    });
    expect(writer.append({ kind: "r", i: kept + 1 })).toBe(kept + 1);
    writer.close();
    expect(seqs(dir)).toEqual(range(kept + 1));
    expect(segmentFiles(dir)).toEqual(files);
  });

  it("detects every single-bit flip in a small log (header and records): strict read never returns altered data", () => {
    const dir = newDir();
    writeLog(dir, 2);
    const path = join(dir, segmentFiles(dir)[0]!);
    const original = readFileSync(path);
    const expected = readDecisionLog(dir).records.map((e) => e.record);
    for (let bit = 0; bit < original.length * 8; bit++) {
      const damaged = Buffer.from(original);
      damaged[bit >> 3]! ^= 1 << (bit & 7);
      writeFileSync(path, damaged);
      let read: ReturnType<typeof readDecisionLog> | undefined;
      try {
        read = readDecisionLog(dir);
      } catch (error) {
        expect(error).toBeInstanceOf(LogCorruptionError);
        continue;
      }
      // Not thrown: the flip must have been reported as a torn tail of the last record, and the
      // records returned are an unaltered prefix.
      expect(read.tornTail).not.toBeNull();
      expect(read.records.map((e) => e.record)).toEqual(expected.slice(0, read.records.length));
      expect(read.records.length).toBeLessThan(expected.length);
    }
  });

  it("detects sampled single-bit flips in large records (CRC mismatch, never accepted)", () => {
    const dir = newDir();
    const writer = openDecisionLog({ dir, header: HEADER });
    const big = "x".repeat(20_000);
    for (let i = 1; i <= 3; i++) writer.append({ kind: "big", i, big });
    writer.close();
    const path = join(dir, segmentFiles(dir)[0]!);
    const original = readFileSync(path);
    const prng = Prng.fromSeed(11, 0);
    for (let n = 0; n < 300; n++) {
      const bit = prng.int(original.length * 8);
      const damaged = Buffer.from(original);
      damaged[bit >> 3]! ^= 1 << (bit & 7);
      writeFileSync(path, damaged);
      const read = readDecisionLog(dir, { strict: false });
      expect(read.tornTail !== null || read.corruption !== null).toBe(true);
      for (const entry of read.records)
        expect(entry.record).toEqual({ seq: entry.seq, kind: "big", i: entry.seq, big });
    }
  });

  it("strict mode names the segment and offset of mid-file damage; non-strict stops there", () => {
    const dir = newDir();
    writeLog(dir, 10);
    const path = join(dir, segmentFiles(dir)[0]!);
    const entry = readDecisionLog(dir).records[4]!; // seq 5
    const damaged = readFileSync(path);
    damaged[entry.offset + 12]! ^= 0x10;
    writeFileSync(path, damaged);
    expect(() => readDecisionLog(dir)).toThrow(LogCorruptionError);
    try {
      readDecisionLog(dir);
    } catch (error) {
      expect((error as LogCorruptionError).segment).toBe(path);
      expect((error as LogCorruptionError).offset).toBe(entry.offset);
      expect((error as Error).message).toContain(`${path} at byte ${entry.offset}`);
    }
    const lenient = readDecisionLog(dir, { strict: false });
    expect(lenient.records.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(lenient.corruption).toMatchObject({ segment: path, offset: entry.offset });
    expect(() => openDecisionLog({ dir })).toThrow(LogCorruptionError);
  });

  it("damage at the end of a segment that is not the last is corruption, not a torn tail", () => {
    const dir = newDir();
    writeLog(dir, 60, 500);
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(2);
    const first = join(dir, files[0]!);
    truncateSync(first, statSync(first).size - 3);
    expect(() => readDecisionLog(dir)).toThrow(LogCorruptionError);
  });

  it("non-strict open sets the damaged bytes aside, keeps the valid prefix and continues the seqs", () => {
    const dir = newDir();
    writeLog(dir, 60, 500);
    const files = segmentFiles(dir);
    const second = join(dir, files[1]!);
    const entries = readDecisionLog(dir).records.filter((e) => e.segment === second);
    const victim = entries[1]!;
    const damaged = readFileSync(second);
    damaged[victim.offset + 10]! ^= 1;
    writeFileSync(second, damaged);
    const writer = openDecisionLog({ dir, strict: false });
    expect(writer.recovery).toMatchObject({
      kind: "corruption",
      segment: second,
      truncatedAt: victim.offset,
    });
    expect(writer.lastDurableOnOpen?.seq).toBe(victim.seq - 1);
    writer.append({ kind: "r", i: victim.seq });
    writer.close();
    expect(seqs(dir)).toEqual(range(victim.seq));
    expect(readdirSync(dir).filter((f) => f.endsWith(".dropped")).length).toBe(files.length - 1);
  });

  it("a segment missing in the middle: non-strict open continues after the gap's valid prefix, and the log then reads strictly", () => {
    const dir = newDir();
    writeLog(dir, 60, 500);
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    const keptSeqs = readDecisionLog(dir)
      .records.filter((e) => e.segment === join(dir, files[0]!))
      .map((e) => e.seq);
    const laterBytes = files.slice(2).map((f) => readFileSync(join(dir, f)));
    rmSync(join(dir, files[1]!));
    const writer = openDecisionLog({ dir, strict: false });
    // The valid data now ends with the first segment, whole.
    expect(writer.recovery).toMatchObject({
      kind: "corruption",
      segment: join(dir, files[0]!),
      truncatedAt: statSync(join(dir, files[0]!)).size,
      setAside: files.slice(2).map((f) => join(dir, `${f}.dropped`)),
    });
    expect(writer.lastDurableOnOpen?.seq).toBe(keptSeqs.at(-1));
    const next = writer.append({ kind: "r", i: 0 });
    writer.close();
    expect(next).toBe(keptSeqs.at(-1)! + 1);
    // No gap is left behind: a strict read and a strict open both succeed.
    expect(seqs(dir)).toEqual([...keptSeqs, next]);
    openDecisionLog({ dir }).close();
    // Every later segment's bytes are kept aside, whole.
    const aside = files.slice(2).map((f) => readFileSync(join(dir, `${f}.dropped`)));
    expect(aside).toEqual(laterBytes);
  });

  it("a second recovery of the same segment keeps the first one's set-aside bytes", () => {
    const dir = newDir();
    writeLog(dir, 60, 500);
    const first = join(dir, segmentFiles(dir)[0]!);
    const flipRecord = (index: number): void => {
      const inFirst = readDecisionLog(dir, { strict: false }).records.filter((e) => e.segment === first);
      const bytes = readFileSync(first);
      bytes[inFirst[index]!.offset + 10]! ^= 1;
      writeFileSync(first, bytes);
    };
    flipRecord(4);
    const damagedOnce = readFileSync(first);
    const once = openDecisionLog({ dir, strict: false });
    once.close();
    flipRecord(2);
    const damagedTwice = readFileSync(first);
    const twice = openDecisionLog({ dir, strict: false });
    twice.close();
    const [firstCopy] = once.recovery!.setAside!;
    const [secondCopy] = twice.recovery!.setAside!;
    expect(secondCopy).not.toBe(firstCopy);
    expect(readFileSync(firstCopy!)).toEqual(damagedOnce);
    expect(readFileSync(secondCopy!)).toEqual(damagedTwice);
  });
});

describe("decision log compaction", () => {
  it("keeps the header and the last N records with their seqs, and the log stays appendable", () => {
    const dir = newDir();
    writeLog(dir, 100, 800);
    const result = compactDecisionLog(dir, 10);
    expect(result).toMatchObject({ recordsBefore: 100, recordsKept: 10 });
    expect(segmentFiles(dir).length).toBe(1);
    expect(seqs(dir)).toEqual(range(10).map((i) => i + 90));
    const writer = openDecisionLog({ dir });
    expect(writer.append({ kind: "r", i: 101 })).toBe(101);
    writer.close();
    expect(readDecisionLog(dir).header).toEqual({ seq: 0, ...HEADER });
    expect(seqs(dir).at(-1)).toBe(101);
  });

  it("keeps the records a predicate selects", () => {
    const dir = newDir();
    writeLog(dir, 20);
    compactDecisionLog(dir, (e) => e.seq % 5 === 0);
    expect(seqs(dir)).toEqual([5, 10, 15, 20]);
  });

  const steps: CompactStep[] = ["tmp-written", "tmp-synced", "renamed", "dir-synced", "old-removed"];
  for (const failAt of steps) {
    it(`a failure after step ${failAt} leaves either the whole old log or the whole new one`, () => {
      const dir = newDir();
      writeLog(dir, 40, 400);
      const before = seqs(dir);
      const after = before.slice(-5);
      expect(() =>
        compactDecisionLog(dir, 5, {
          afterStep: (step) => {
            if (step === failAt) throw new Error(`injected failure after ${step}`);
          },
        }),
      ).toThrow(/injected failure/);
      const now = seqs(dir);
      const renamed = steps.indexOf(failAt) >= steps.indexOf("renamed");
      expect(now).toEqual(renamed ? after : before);
      // A writer cleans up the leftovers and sees the same log.
      openDecisionLog({ dir }).close();
      expect(seqs(dir)).toEqual(now);
      expect(readdirSync(dir).some((f) => f.endsWith(".tmp"))).toBe(false);
    });
  }
});
