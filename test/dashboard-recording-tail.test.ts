import {
  appendFileSync,
  closeSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../src/audit/events.js";
import { followRecording } from "../src/dashboard/followed-source.js";
import { RecordingError } from "../src/dashboard/recorded-source.js";
import { MAX_READ_BYTES, RecordingTail } from "../src/dashboard/recording-tail.js";
import { compactDecisionLog } from "../src/log/compact.js";
import { createLoggedEngine } from "../src/log/engine-log.js";
import { encodeFrame } from "../src/log/frame.js";
import { auditEventOf } from "../src/log/log-records.js";
import { readDecisionLog } from "../src/log/reader.js";
import { openDecisionLog } from "../src/log/writer.js";
import { drainTail, tempDirs } from "./support/recording-tail.js";

// Every test drives the tail by explicit polls: no timers, no waiting.

const base = { v: AUDIT_SCHEMA_VERSION, generation: 0, proposalId: -1, type: "baseline.set" } as const;
const event = (seq: number, extra: object = {}) => ({
  ...base,
  runId: "tail",
  seq,
  time: seq * 100,
  ...extra,
});
const line = (e: object) => `${JSON.stringify(e)}\n`;
/** A log record without its seq (the writer assigns it). */
const record = (time: number, extra: object = {}) => ({ ...base, runId: "log", time, ...extra });

const tempDir = tempDirs("arqon-tail-");

const seqs = (events: readonly AuditEvent[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const segmentBytes = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.endsWith(".alog"))
    .reduce((sum, n) => sum + statSync(join(dir, n)).size, 0);

describe("following a decision log", () => {
  it("reads only the bytes appended since the last poll", async () => {
    const dir = join(tempDir(), "log");
    const log = openDecisionLog({ dir, header: { kind: "header", engine: "test" } });
    for (let i = 1; i <= 2000; i++) log.append(record(i));
    log.flush();
    const tail = await RecordingTail.open(dir);
    expect(seqs(await drainTail(tail))).toEqual(range(1, 2000));
    for (let n = 2001; n <= 2003; n++) {
      const size = segmentBytes(dir);
      const read = tail.bytesRead;
      log.append(record(n));
      log.flush();
      expect(seqs(await tail.poll())).toEqual([n]);
      expect(tail.bytesRead - read).toBe(segmentBytes(dir) - size);
    }
    const read = tail.bytesRead;
    expect(await tail.poll()).toEqual([]);
    expect(tail.bytesRead).toBe(read);
    log.close();
  });

  it("reads no record twice: damage to records already read later goes unseen", async () => {
    const dir = join(tempDir(), "log");
    const log = openDecisionLog({ dir, header: { kind: "header", engine: "test" } });
    for (let i = 1; i <= 50; i++) log.append(record(i));
    log.flush();
    const tail = await RecordingTail.open(dir);
    expect(seqs(await drainTail(tail))).toEqual(range(1, 50));
    // Overwrite bytes in the middle of the segment (a reader of the whole log stops there).
    const segment = join(dir, readdirSync(dir).find((n) => n.endsWith(".alog"))!);
    const fd = openSync(segment, "r+");
    writeSync(fd, Buffer.from("XXXXXXXX"), 0, 8, Math.floor(statSync(segment).size / 2));
    closeSync(fd);
    log.append(record(51));
    log.flush();
    expect(seqs(await tail.poll())).toEqual([51]);
    log.close();
  });

  it("delivers records across segment rollovers and a compaction exactly once, in order", async () => {
    const dir = join(tempDir(), "log");
    let log = openDecisionLog({ dir, header: { kind: "header", engine: "test" }, segmentBytes: 2048 });
    const tail = await RecordingTail.open(dir);
    const seen: number[] = [];
    let seq = 0;
    const appendAndPoll = async (n: number) => {
      for (let i = 0; i < n; i++) log.append(record(++seq, { note: "n".repeat(40) }));
      log.flush();
      seen.push(...seqs(await drainTail(tail)));
    };
    for (let round = 0; round < 8; round++) await appendAndPoll(7 + round);
    expect(readdirSync(dir).filter((n) => n.endsWith(".alog")).length).toBeGreaterThan(3);
    log.close();
    // Compaction writes the last records to a new segment above the others and removes them.
    compactDecisionLog(dir, 5);
    expect(await drainTail(tail)).toEqual([]);
    log = openDecisionLog({ dir, segmentBytes: 2048 });
    await appendAndPoll(30);
    expect(seen).toEqual(range(1, seq));
    log.close();
  });

  it("reads a compaction that appears before the old segments are removed, once", async () => {
    const dir = join(tempDir(), "log");
    const log = openDecisionLog({ dir, header: { kind: "header", engine: "test" }, segmentBytes: 1024 });
    for (let i = 1; i <= 40; i++) log.append(record(i, { note: "m".repeat(30) }));
    log.close();
    const tail = await RecordingTail.open(dir);
    const seen = seqs(await drainTail(tail));
    // A compaction that stopped after its segment took its place, before the old ones were
    // removed: both are there, and the new one starts the log.
    expect(() =>
      compactDecisionLog(dir, 10, {
        afterStep: (step) => {
          if (step === "dir-synced") throw new Error("stopped");
        },
      }),
    ).toThrow();
    expect(readdirSync(dir).filter((n) => n.endsWith(".alog")).length).toBeGreaterThan(2);
    expect(await drainTail(tail)).toEqual([]);
    const again = openDecisionLog({ dir });
    again.append(record(41));
    again.close();
    seen.push(...seqs(await drainTail(tail)));
    expect(seen).toEqual(range(1, 41));
  });

  it("moves to the next segment only once the one before it holds every record its header follows", async () => {
    // A log arriving file by file (a copy) can show a new segment before the one before it is
    // complete: the new segment's header says which seq that one ends with.
    const dir = tempDir();
    const frame = (value: object) => Buffer.from(encodeFrame(Buffer.from(JSON.stringify(value))));
    const entry = (seq: number) => frame({ seq, kind: "audit", event: event(seq) });
    const first = join(dir, "00000001.alog");
    writeFileSync(first, Buffer.concat([frame({ seq: 0, kind: "header" }), entry(1), entry(2), entry(3)]));
    const tail = await RecordingTail.open(dir);
    expect(seqs(await drainTail(tail))).toEqual([1, 2, 3]);
    writeFileSync(
      join(dir, "00000002.alog"),
      Buffer.concat([frame({ seq: 5, kind: "segment", segment: 2 }), entry(6)]),
    );
    expect(await drainTail(tail)).toEqual([]);
    appendFileSync(first, Buffer.concat([entry(4), entry(5)]));
    expect(seqs(await drainTail(tail))).toEqual([4, 5, 6]);
  });

  it("decodes an engine's ring records across segments as the log's reader does", async () => {
    const dir = join(tempDir(), "decisions");
    const scheduler = new VirtualTimeScheduler();
    const { engine, close } = createLoggedEngine(
      {
        seed: 5,
        params: { batchSize: { min: 1, max: 256, init: 16, maxDelta: 8 } },
        window: { digests: 5 },
        scheduler,
      },
      { dir, flushMs: 50, segmentBytes: 4096 },
    );
    const tail = await RecordingTail.open(dir);
    const seen: AuditEvent[] = [];
    for (let tick = 1; tick <= 300; tick++) {
      scheduler.schedule(() => {}, 10);
      scheduler.flush();
      engine.observe({ objective: 20 + ((engine.values[0]! - 96) / 40) ** 2, generation: engine.generation });
      if (tick % 25 === 0) seen.push(...(await drainTail(tail)));
    }
    await close();
    seen.push(...(await drainTail(tail)));
    const expected = readDecisionLog(dir).records.flatMap((entry) => auditEventOf(entry.record) ?? []);
    expect(readdirSync(dir).filter((n) => n.endsWith(".alog")).length).toBeGreaterThan(2);
    expect(expected.length).toBeGreaterThan(100);
    expect(seen).toEqual(expected);
  });

  it("delivers an engine's events once, in order, while its log compacts itself (keepRecords)", async () => {
    const dir = join(tempDir(), "decisions");
    const scheduler = new VirtualTimeScheduler();
    const compactions: boolean[] = [];
    const { engine, close, log } = createLoggedEngine(
      {
        seed: 5,
        params: { batchSize: { min: 1, max: 256, init: 16, maxDelta: 8 } },
        window: { digests: 5 },
        scheduler,
      },
      { dir, flushMs: 50, segmentBytes: 4096, keepRecords: 300, onCompaction: (o) => compactions.push(o.ok) },
    );
    const tail = await RecordingTail.open(dir);
    const seen: AuditEvent[] = [];
    for (let tick = 1; tick <= 1000; tick++) {
      scheduler.schedule(() => {}, 10);
      scheduler.flush();
      engine.observe({ objective: 20 + ((engine.values[0]! - 96) / 40) ** 2, generation: engine.generation });
      if (tick % 10 === 0) {
        // Everything appended is committed now, not in a burst of `flushRecords` (256) later: a
        // compaction keeps the last 300 records, so a tail that polls after more than that was
        // committed rightly misses the ones it dropped.
        log.flush();
        // The compaction a full segment started ends first: its rename replaces the segment the
        // tail may be reading, and the audit records it copied (as they are) must decode there.
        while (log.compactionRunning) await new Promise((resolve) => setImmediate(resolve));
        seen.push(...(await drainTail(tail)));
      }
    }
    await close();
    seen.push(...(await drainTail(tail)));
    expect(compactions.length).toBeGreaterThan(5);
    expect(compactions.every((ok) => ok)).toBe(true);
    // Every event the engine audited, once and in order, though the log kept only the last ones.
    expect(seqs(seen)).toEqual(range(1, seen.length));
    const kept = readDecisionLog(dir).records.flatMap((entry) => auditEventOf(entry.record) ?? []);
    expect(kept.length).toBeLessThan(seen.length / 2);
    expect(seen.slice(-kept.length)).toEqual(kept);
  });

  it("reads a log larger than one read step in bounded steps, a frame larger than a step alone", async () => {
    // Framed by hand: the records are larger than the writer takes.
    const dir = tempDir();
    const mib = 1024 * 1024;
    const frame = (value: object) => Buffer.from(encodeFrame(Buffer.from(JSON.stringify(value))));
    const frames = [frame({ seq: 0, kind: "header", engine: "test" })];
    for (let seq = 1; seq <= 5; seq++)
      frames.push(frame({ seq, ...record(seq, { note: "a".repeat(3 * mib) }) }));
    frames.push(frame({ seq: 6, ...record(6, { note: "b".repeat(MAX_READ_BYTES + mib) }) }));
    frames.push(frame({ seq: 7, ...record(7) }));
    writeFileSync(join(dir, "00000001.alog"), Buffer.concat(frames));
    const tail = await RecordingTail.open(dir);
    const first = await tail.poll();
    expect(tail.behind).toBe(true);
    expect(seqs(first)).toEqual([1, 2]);
    const rest = await drainTail(tail);
    expect(seqs([...first, ...rest])).toEqual(range(1, 7));
  });
});

describe("a damaged decision log", () => {
  /** A log of `count` records over segments of about 2 KiB, closed; returns its directory and segment paths. */
  const writtenLog = (count: number) => {
    const dir = join(tempDir(), "log");
    const log = openDecisionLog({ dir, header: { kind: "header", engine: "test" }, segmentBytes: 2048 });
    for (let i = 1; i <= count; i++) {
      log.append(record(i, { note: "n".repeat(40) }));
      // A segment rolls over between commits: commit every ten records.
      if (i % 10 === 0) log.flush();
    }
    log.close();
    const segments = readdirSync(dir)
      .filter((n) => n.endsWith(".alog"))
      .sort()
      .map((n) => join(dir, n));
    return { dir, segments };
  };
  /** Inverts the byte at `at` of the file at `path`. */
  const flip = (path: string, at: number) => {
    const fd = openSync(path, "r+");
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0xff;
    writeSync(fd, byte, 0, 1, at);
    closeSync(fd);
  };

  it("reports a bad frame with valid ones after it, naming the segment and offset, as replay does", async () => {
    const { dir, segments } = writtenLog(60);
    const last = segments.at(-1)!;
    flip(last, 300);
    const tail = await RecordingTail.open(dir);
    await expect(drainTail(tail)).rejects.toThrow(
      new RegExp(
        `decision log corrupt: ${last.replaceAll("/", "\\/")} at byte \\d+: bad frame \\(length or CRC\\)`,
      ),
    );
    await expect(followRecording(dir, { intervalMs: 20 })).rejects.toThrow(RecordingError);
    expect(() => readDecisionLog(dir)).toThrow(/decision log corrupt: .* bad frame \(length or CRC\)/);
  });

  it("reports a bad frame in a segment that a later one follows, even with nothing valid after it", async () => {
    const { dir, segments } = writtenLog(60);
    expect(segments.length).toBeGreaterThan(2);
    const middle = segments[1]!;
    truncateSync(middle, statSync(middle).size - 3);
    appendFileSync(middle, Buffer.from([1, 2, 3]));
    await expect(drainTail(await RecordingTail.open(dir))).rejects.toThrow(/bad frame \(length or CRC\)/);
  });

  it("reports a missing segment and a damaged header", async () => {
    const gap = writtenLog(60);
    rmSync(gap.segments[1]!);
    await expect(drainTail(await RecordingTail.open(gap.dir))).rejects.toThrow(
      /segment numbering gap: 00000002\.alog is missing between 00000001\.alog and 00000003\.alog/,
    );
    const header = writtenLog(10);
    flip(header.segments[0]!, 12);
    await expect(followRecording(header.dir, { intervalMs: 20 })).rejects.toThrow(
      /decision log corrupt: .*00000001\.alog at byte 0: bad frame/,
    );
  });

  it("reports seqs that go back inside a segment", async () => {
    const dir = tempDir();
    const frame = (value: object) => Buffer.from(encodeFrame(Buffer.from(JSON.stringify(value))));
    const entry = (seq: number) => frame({ seq, kind: "audit", event: event(seq) });
    writeFileSync(
      join(dir, "00000001.alog"),
      Buffer.concat([frame({ seq: 0, kind: "header" }), entry(1), entry(2), entry(5), entry(3), entry(6)]),
    );
    await expect(drainTail(await RecordingTail.open(dir))).rejects.toThrow(/seq 3 does not follow seq 5/);
  });

  it("holds, then reports, an emptied middle segment and a log whose first segment is gone", async () => {
    const emptied = writtenLog(60);
    truncateSync(emptied.segments[1]!, 0);
    const held = await RecordingTail.open(emptied.dir);
    for (let i = 0; i < 19; i++) await drainTail(held);
    await expect(held.poll()).rejects.toThrow(
      /00000002\.alog at byte 0: segment is empty or its first frame is incomplete, and a later segment exists, unchanged over 20 reads$/,
    );
    const headless = writtenLog(60);
    rmSync(headless.segments[0]!);
    const tail = await RecordingTail.open(headless.dir);
    for (let i = 0; i < 19; i++) expect(await tail.poll()).toEqual([]);
    await expect(tail.poll()).rejects.toThrow(
      /no segment starts with the log header, unchanged over 20 reads$/,
    );
  });

  it("reads a compaction's new log when the old one, awaiting removal, ends in a torn write", async () => {
    const { dir, segments } = writtenLog(40);
    const torn = Buffer.from(encodeFrame(Buffer.from(JSON.stringify({ seq: 41, ...record(41) }))));
    appendFileSync(segments.at(-1)!, torn.subarray(0, torn.length - 5));
    const tail = await RecordingTail.open(dir);
    expect(seqs(await drainTail(tail))).toEqual(range(1, 40));
    // The compaction stops after its new log is in place, before the old segments are removed:
    // the old log's torn end is no longer the end of the last segment.
    expect(() =>
      compactDecisionLog(dir, 10, {
        afterStep: (step) => {
          if (step === "dir-synced") throw new Error("stopped");
        },
      }),
    ).toThrow(/stopped/);
    for (let i = 0; i < 25; i++) expect(await drainTail(tail)).toEqual([]);
    expect(readDecisionLog(dir).records.length).toBe(10);
  });

  it("waits at a torn tail at the end of the log, and reads on once it is written whole", async () => {
    const dir = tempDir();
    const frame = (value: object) => Buffer.from(encodeFrame(Buffer.from(JSON.stringify(value))));
    const entry = (seq: number) => frame({ seq, kind: "audit", event: event(seq) });
    const segment = join(dir, "00000001.alog");
    const second = entry(2);
    writeFileSync(
      segment,
      Buffer.concat([frame({ seq: 0, kind: "header" }), entry(1), second.subarray(0, 10)]),
    );
    const tail = await RecordingTail.open(dir);
    expect(seqs(await drainTail(tail))).toEqual([1]);
    for (let i = 0; i < 30; i++) expect(await tail.poll()).toEqual([]);
    appendFileSync(segment, second.subarray(10));
    expect(seqs(await drainTail(tail))).toEqual([2]);
  });

  it("reports a segment cut short before its successor once reads stay held there", async () => {
    const dir = tempDir();
    const frame = (value: object) => Buffer.from(encodeFrame(Buffer.from(JSON.stringify(value))));
    const entry = (seq: number) => frame({ seq, kind: "audit", event: event(seq) });
    writeFileSync(join(dir, "00000001.alog"), Buffer.concat([frame({ seq: 0, kind: "header" }), entry(1)]));
    writeFileSync(
      join(dir, "00000002.alog"),
      Buffer.concat([frame({ seq: 3, kind: "segment", segment: 2 }), entry(4)]),
    );
    const tail = await RecordingTail.open(dir);
    expect(seqs(await tail.poll())).toEqual([1]);
    // The first segment could still be arriving: held, not yet damage.
    for (let i = 0; i < 18; i++) expect(await tail.poll()).toEqual([]);
    await expect(tail.poll()).rejects.toThrow(
      /00000001\.alog at byte \d+: segment ends at seq 1, but the next one's header follows seq 3, unchanged over 20 reads$/,
    );
  });
});

describe("following JSON lines", () => {
  it("reports a line longer than one read step, naming the file and the line", async () => {
    const file = join(tempDir(), "run.jsonl");
    writeFileSync(
      file,
      line(event(1)) + line(event(2, { note: "x".repeat(MAX_READ_BYTES + 10) })) + line(event(3)),
    );
    const tail = await RecordingTail.open(file);
    expect(seqs(await tail.poll())).toEqual([1]);
    await expect(tail.poll()).rejects.toThrow(/run\.jsonl:2: line longer than 8 MiB/);
    await expect(followRecording(file, { intervalMs: 20 })).rejects.toThrow(RecordingError);
    // A last line still being written is no different once it reaches the limit.
    const open = join(tempDir(), "open.jsonl");
    writeFileSync(open, "x".repeat(MAX_READ_BYTES + 1));
    await expect((await RecordingTail.open(open)).poll()).rejects.toThrow(/open\.jsonl:1: line longer/);
  });

  it("stops the first read of a long recording when its signal is aborted", async () => {
    const file = join(tempDir(), "run.jsonl");
    writeFileSync(file, line(event(1)));
    const stop = new AbortController();
    stop.abort(new Error("stopped by the user"));
    await expect(followRecording(file, { intervalMs: 20, signal: stop.signal })).rejects.toThrow(
      "stopped by the user",
    );
  });

  it("reads a directory's files in name order when one is longer than a read step", async () => {
    const dir = tempDir();
    const pad = "p".repeat(1000);
    let text = "";
    let seq = 0;
    while (text.length < MAX_READ_BYTES * 1.5) text += line(event(++seq, { note: pad }));
    writeFileSync(join(dir, "a.jsonl"), text);
    const lastOfA = seq;
    writeFileSync(join(dir, "b.jsonl"), line(event(++seq)) + line(event(++seq)));
    const tail = await RecordingTail.open(dir);
    const first = await tail.poll();
    expect(tail.behind).toBe(true);
    expect(first.every((e) => e.seq <= lastOfA)).toBe(true);
    expect(seqs([...first, ...(await drainTail(tail))])).toEqual(range(1, seq));
  });

  it("reads a file replaced by another, or rewritten in place, from its start", async () => {
    const dir = tempDir();
    const run = (runId: string, n: number) =>
      range(1, n)
        .map((seq) => line({ ...event(seq), runId }))
        .join("");
    const replace = (file: string, text: string) => {
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
    };
    const rewrite = (file: string, text: string) => {
      truncateSync(file, 0);
      appendFileSync(file, text);
    };
    for (const [name, change] of [
      ["replaced", replace],
      ["rewritten", rewrite],
    ] as const) {
      for (const runId of ["new", "new-run"]) {
        const file = join(dir, `${name}-${runId}.jsonl`);
        writeFileSync(file, run("old", 2));
        const tail = await RecordingTail.open(file);
        expect((await drainTail(tail)).map((e) => `${e.runId}#${e.seq}`)).toEqual(["old#1", "old#2"]);
        change(file, run(runId, 5));
        expect((await drainTail(tail)).map((e) => `${e.runId}#${e.seq}`)).toEqual(
          range(1, 5).map((seq) => `${runId}#${seq}`),
        );
        appendFileSync(file, line({ ...event(6), runId }));
        expect(seqs(await drainTail(tail))).toEqual([6]);
      }
    }
  });

  it("counts lines right after a last line taken before its newline arrived", async () => {
    const file = join(tempDir(), "run.jsonl");
    writeFileSync(file, JSON.stringify(event(1)));
    const tail = await RecordingTail.open(file);
    expect(seqs(await tail.poll())).toEqual([1]);
    appendFileSync(file, `\n${line(event(2))}{broken\n`);
    await expect(tail.poll()).rejects.toThrow(/run\.jsonl:3: not JSON/);

    const more = join(tempDir(), "more.jsonl");
    writeFileSync(more, JSON.stringify(event(1)));
    const other = await RecordingTail.open(more);
    expect(seqs(await other.poll())).toEqual([1]);
    appendFileSync(more, "\n");
    expect(await other.poll()).toEqual([]);
    appendFileSync(more, line(event(2)) + JSON.stringify(event(3)));
    expect(seqs(await other.poll())).toEqual([2, 3]);
    appendFileSync(more, `${JSON.stringify(event(4))}\n`);
    await expect(other.poll()).rejects.toThrow(/more\.jsonl:3: more text after the event on this line/);
  });
});
