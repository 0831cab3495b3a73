import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { readDecisionLog } from "../src/log/reader.js";
import type { SegmentIo } from "../src/log/segment-io.js";
import { type FlushScheduler, openWriter } from "../src/log/writer.js";
import { tempLogDirs } from "./support/log-dir.js";

const newDir = tempLogDirs();
const HEADER = { kind: "header", test: "in-flight" } as const;

/** Real files, with the background write and fdatasync held until the test lets them complete. */
function heldDisk(): { io: SegmentIo; release: () => boolean } {
  const held: (() => void)[] = [];
  const io: SegmentIo = {
    ...fs,
    write: ((
      fd: number,
      bytes: Uint8Array,
      offset: number,
      length: number,
      position: number,
      callback: (error: NodeJS.ErrnoException | null, written: number) => void,
    ) => {
      held.push(() => callback(null, fs.writeSync(fd, bytes, offset, length, position)));
    }) as SegmentIo["write"],
    fdatasync: ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      held.push(() => {
        fs.fdatasyncSync(fd);
        callback(null);
      });
    }) as SegmentIo["fdatasync"],
  };
  // Completes the oldest held call; false when none is held.
  const release = (): boolean => {
    const next = held.shift();
    next?.();
    return next !== undefined;
  };
  return { io, release };
}

/** A group-commit driver that only counts what the writer asks of it. */
function countingScheduler(): FlushScheduler & { soon: number; deadlines: number } {
  const counts = { soon: 0, deadlines: 0 };
  return Object.assign(counts, {
    armDeadline: () => {
      counts.deadlines++;
    },
    flushSoon: () => {
      counts.soon++;
    },
    cancel: () => {},
  });
}

describe("group commit while a commit is in flight", () => {
  it("asks for no run per append: the running commit's completion starts the next one", () => {
    const dir = newDir();
    const disk = heldDisk();
    const scheduler = countingScheduler();
    const writer = openWriter({ dir, header: HEADER, flushRecords: 4, io: disk.io }, scheduler);
    for (let i = 0; i < 4; i++) writer.append({ kind: "n", i });
    expect(scheduler.soon).toBe(1);
    // The scheduler's run: the first commit goes to the (held) disk.
    writer.flushInBackground();
    for (let i = 4; i < 16; i++) writer.append({ kind: "n", i });
    // Twelve appends past flushRecords while it runs: no run asked for.
    expect(scheduler.soon).toBe(1);
    expect(writer.durableSeq).toBe(0);
    // Write, then fdatasync, of the first commit; its completion starts the second at once.
    expect(disk.release()).toBe(true);
    expect(disk.release()).toBe(true);
    expect(writer.durableSeq).toBe(4);
    expect(disk.release()).toBe(true);
    expect(disk.release()).toBe(true);
    expect(writer.durableSeq).toBe(16);
    expect(disk.release()).toBe(false);
    expect(scheduler.soon).toBe(1);
    writer.close();
    const ns = readDecisionLog(dir).records.flatMap((entry) =>
      entry.record.kind === "n" ? [entry.record.i] : [],
    );
    expect(ns).toEqual([...Array(16).keys()]);
  });
});
