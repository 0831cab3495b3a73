import {
  appendFileSync,
  copyFileSync,
  readFileSync,
  renameSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RecordingTail } from "../src/dashboard/recording-tail.js";
import { auditEvent, auditLines, drainTail, seqsOf, tempDirs } from "./support/recording-tail.js";

// logrotate's copytruncate copies the file being written to a new name, then truncates it; the
// writer goes on at the start of the same file. The copy is a new file (a new inode) holding every
// event already shown: a tail must read each event once, whenever it polls during the rotation.

const event = (seq: number) => auditEvent("copy", seq);
const lines = (...seqs: number[]) => auditLines("copy", ...seqs);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const seqs = seqsOf;

const tempDir = tempDirs("arqon-copy-truncate-");

/** A directory whose live file holds seqs 1–5, and a tail that has read them. */
async function followed() {
  const dir = tempDir();
  const live = join(dir, "audit.jsonl");
  writeFileSync(live, lines(...range(1, 5)));
  const tail = await RecordingTail.open(dir);
  expect(seqs(await drainTail(tail))).toEqual(range(1, 5));
  return { dir, live, copy: join(dir, "audit.1.jsonl"), tail };
}

describe("a followed directory rotated by copy and truncate", () => {
  it("reads the copy on from where its original was read, and the truncated file from its start", async () => {
    const { live, copy, tail } = await followed();
    appendFileSync(live, lines(6, 7));
    copyFileSync(live, copy);
    truncateSync(live, 0);
    appendFileSync(live, lines(8, 9));
    expect(seqs(await drainTail(tail))).toEqual(range(6, 9));
    appendFileSync(live, lines(10));
    expect(seqs(await drainTail(tail))).toEqual([10]);
  });

  it("reads each event once when it polls between the copy and the truncation", async () => {
    const { live, copy, tail } = await followed();
    appendFileSync(live, lines(6, 7));
    copyFileSync(live, copy);
    // The copy (read first: its name sorts first) and its original both hold 6 and 7.
    expect(seqs(await drainTail(tail))).toEqual([6, 7]);
    appendFileSync(live, lines(8));
    expect(seqs(await drainTail(tail))).toEqual([8]);
    truncateSync(live, 0);
    appendFileSync(live, lines(9));
    expect(seqs(await drainTail(tail))).toEqual([9]);
  });

  it("reads nothing from a copy still being written, then nothing it already read", async () => {
    const { live, copy, tail } = await followed();
    appendFileSync(live, lines(6, 7));
    const whole = readFileSync(live);
    writeFileSync(copy, whole.subarray(0, Math.floor(whole.length / 3)));
    expect(seqs(await drainTail(tail))).toEqual([6, 7]);
    writeFileSync(copy, whole);
    expect(seqs(await drainTail(tail))).toEqual([]);
    truncateSync(live, 0);
    appendFileSync(live, lines(8));
    expect(seqs(await drainTail(tail))).toEqual([8]);
  });

  it("starts on a directory holding a copy and its original once each event", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "audit.jsonl"), lines(...range(1, 7)));
    copyFileSync(join(dir, "audit.jsonl"), join(dir, "audit.1.jsonl"));
    appendFileSync(join(dir, "audit.jsonl"), lines(8));
    const tail = await RecordingTail.open(dir);
    expect(seqs(await drainTail(tail))).toEqual(range(1, 8));
  });

  it("recognises a copy that appears after its original was truncated", async () => {
    const { dir, live, tail } = await followed();
    appendFileSync(live, lines(6, 7));
    // The copy is written elsewhere and moved in after the tail saw the truncated file.
    const outside = join(tempDir(), "audit.1.jsonl");
    copyFileSync(live, outside);
    truncateSync(live, 0);
    appendFileSync(live, lines(8));
    expect(seqs(await drainTail(tail))).toEqual([8]);
    renameSync(outside, join(dir, "audit.1.jsonl"));
    expect(seqs(await drainTail(tail))).toEqual([6, 7]);
  });

  it("reads a second rotation once when the old copy is deleted first (its inode may be reused)", async () => {
    const { live, copy, tail } = await followed();
    copyFileSync(live, copy);
    truncateSync(live, 0);
    appendFileSync(live, lines(6, 7));
    expect(seqs(await drainTail(tail))).toEqual([6, 7]);
    // rotate 1: logrotate removes the oldest copy, then copies; the new copy may get its inode.
    unlinkSync(copy);
    copyFileSync(live, copy);
    truncateSync(live, 0);
    appendFileSync(live, lines(8));
    expect(seqs(await drainTail(tail))).toEqual([8]);
  });

  it("keeps waiting on a shorter copy once its original is gone", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "audit.jsonl"), lines(...range(1, 8)));
    // A snapshot taken before event 8 was written: nothing in it is new.
    writeFileSync(join(dir, "audit_old.jsonl"), lines(...range(1, 7)));
    const tail = await RecordingTail.open(dir);
    expect(seqs(await drainTail(tail))).toEqual(range(1, 8));
    unlinkSync(join(dir, "audit.jsonl"));
    expect(seqs(await drainTail(tail))).toEqual([]);
    expect(seqs(await drainTail(tail))).toEqual([]);
  });

  it("waits on a snapshot still being written, not on an older one it also starts like", async () => {
    const { dir, live, tail } = await followed();
    // logrotate's copy (no truncation), rotate 2: yesterday's snapshot, then today's, half written.
    copyFileSync(live, join(dir, "audit.1.jsonl"));
    appendFileSync(live, lines(...range(6, 10)));
    expect(seqs(await drainTail(tail))).toEqual(range(6, 10));
    renameSync(join(dir, "audit.1.jsonl"), join(dir, "audit.2.jsonl"));
    const whole = readFileSync(live);
    const cut = whole.indexOf("\n", Math.floor(whole.length * 0.75)) + 1;
    writeFileSync(join(dir, "audit.1.jsonl"), whole.subarray(0, cut));
    expect(seqs(await drainTail(tail))).toEqual([]);
    writeFileSync(join(dir, "audit.1.jsonl"), whole);
    appendFileSync(live, lines(11));
    expect(seqs(await drainTail(tail))).toEqual([11]);
  });

  it("shows at once a shorter new run whose first event is another's to the byte", async () => {
    const dir = tempDir();
    // A run id given in the config and a clock that starts over: the first events are alike.
    const run = (n: number, tag: number) =>
      range(1, n)
        .map((seq) => `${JSON.stringify({ ...event(seq), proposalId: seq === 1 ? -1 : tag + seq })}\n`)
        .join("");
    writeFileSync(join(dir, "run-1.jsonl"), run(10, 100));
    const tail = await RecordingTail.open(dir);
    expect(seqs(await drainTail(tail))).toEqual(range(1, 10));
    writeFileSync(join(dir, "run-2.jsonl"), run(5, 200));
    expect(seqs(await drainTail(tail))).toEqual(range(1, 5));
  });

  it("reads a copy on a waiting copy's freed inode as a copy", async () => {
    const { live, copy, tail } = await followed();
    // cp read its source to the end before 6 was written, and is halfway through writing.
    const snapshot = readFileSync(live);
    writeFileSync(copy, snapshot.subarray(0, Math.floor(snapshot.length / 2)));
    appendFileSync(live, lines(6));
    expect(seqs(await drainTail(tail))).toEqual([6]);
    writeFileSync(copy, snapshot);
    truncateSync(live, 0);
    appendFileSync(live, lines(7, 8));
    expect(seqs(await drainTail(tail))).toEqual([7, 8]);
    // rotate 1: the waiting copy is deleted and the next copy takes its inode (here: rewritten).
    writeFileSync(copy, readFileSync(live));
    truncateSync(live, 0);
    appendFileSync(live, lines(9));
    expect(seqs(await drainTail(tail))).toEqual([9]);
  });

  it("reads a file rewritten to the size it was read up to", async () => {
    const dir = tempDir();
    const live = join(dir, "audit.jsonl");
    const copy = join(dir, "audit.1.jsonl");
    // Seqs of two digits: five lines of 11–15 are as long as five of 16–20.
    writeFileSync(live, lines(...range(11, 15)));
    const tail = await RecordingTail.open(dir);
    expect(seqs(await drainTail(tail))).toEqual(range(11, 15));
    copyFileSync(live, copy);
    truncateSync(live, 0);
    appendFileSync(live, lines(16, 17, 18));
    expect(seqs(await drainTail(tail))).toEqual([16, 17, 18]);
    appendFileSync(live, lines(19, 20));
    // rotate 1 on the copy's inode: the new copy is exactly as long as what was read of the old one.
    writeFileSync(copy, readFileSync(live));
    truncateSync(live, 0);
    appendFileSync(live, lines(21));
    expect(seqs(await drainTail(tail))).toEqual([19, 20, 21]);
  });

  it("waits on a copy cut inside its first line, then reads it as a copy", async () => {
    const { live, copy, tail } = await followed();
    appendFileSync(live, lines(6));
    const first = lines(1);
    // The first line without its newline: a whole event, which a new file would be read for.
    writeFileSync(copy, first.slice(0, -1));
    expect(seqs(await drainTail(tail))).toEqual([6]);
    copyFileSync(live, copy);
    truncateSync(live, 0);
    appendFileSync(live, lines(7));
    expect(seqs(await drainTail(tail))).toEqual([7]);
  });

  it("still reads in full a new file that only starts like another", async () => {
    const { dir, tail } = await followed();
    // The same first event, then other ones: not a copy past its first line.
    writeFileSync(join(dir, "other.jsonl"), lines(1) + lines(...range(20, 29)));
    expect(seqs(await drainTail(tail))).toEqual([1, ...range(20, 29)]);
  });
});
