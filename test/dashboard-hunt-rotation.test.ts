import {
  appendFileSync,
  mkdirSync,
  renameSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RecordingTail } from "../src/dashboard/recording-tail.js";
import { auditLines, drainTail, seqsOf, tempDirs } from "./support/recording-tail.js";

// Log rotation renames the file being written and starts a new one at its name; a tail must read
// each file's bytes once, whatever its name now, and take a file missing for a moment (between the
// rename and the new file) as nothing new. Every test drives the tail by explicit polls.

const lines = (...seqs: number[]) => auditLines("rot", ...seqs);
const seqs = seqsOf;

const tempDir = tempDirs("arqon-hunt-rotation-");

describe("following a rotated directory of JSON lines", () => {
  it("reads a renamed file on from where it was, and the new file at its name from its start", async () => {
    const dir = tempDir();
    const live = join(dir, "audit.jsonl");
    writeFileSync(live, lines(1, 2, 3));
    const tail = await RecordingTail.open(dir);
    expect(seqs(await drainTail(tail))).toEqual([1, 2, 3]);
    // Rotation: the writer still appends to the renamed file before it opens the new one.
    renameSync(live, join(dir, "audit.1.jsonl"));
    appendFileSync(join(dir, "audit.1.jsonl"), lines(4));
    writeFileSync(live, lines(5, 6));
    expect(seqs(await drainTail(tail))).toEqual([4, 5, 6]);
    // A second rotation shifts the names again; retention deletes the oldest.
    renameSync(join(dir, "audit.1.jsonl"), join(dir, "audit.2.jsonl"));
    renameSync(live, join(dir, "audit.1.jsonl"));
    writeFileSync(live, lines(7));
    expect(seqs(await drainTail(tail))).toEqual([7]);
    unlinkSync(join(dir, "audit.2.jsonl"));
    appendFileSync(live, lines(8));
    expect(seqs(await drainTail(tail))).toEqual([8]);
  });

  it("skips a file that vanished between the listing and its read", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "a.jsonl"), lines(1));
    const tail = await RecordingTail.open(dir);
    expect(seqs(await drainTail(tail))).toEqual([1]);
    // A name listed whose file is gone: a dangling link reads as such.
    symlinkSync(join(dir, "gone.jsonl"), join(dir, "b.jsonl"));
    expect(await drainTail(tail)).toEqual([]);
    writeFileSync(join(dir, "gone.jsonl"), lines(2));
    expect(seqs(await drainTail(tail))).toEqual([2]);
  });

  it("still reads a file shrunk or rewritten in place again from its start", async () => {
    const dir = tempDir();
    const live = join(dir, "audit.jsonl");
    writeFileSync(live, lines(1, 2, 3));
    const tail = await RecordingTail.open(dir);
    expect(seqs(await drainTail(tail))).toEqual([1, 2, 3]);
    truncateSync(live, 0);
    appendFileSync(live, lines(1));
    expect(seqs(await drainTail(tail))).toEqual([1]);
  });

  it("takes a directory missing for a while as nothing new", async () => {
    const root = tempDir();
    const dir = join(root, "logs");
    mkdirSync(dir);
    writeFileSync(join(dir, "a.jsonl"), lines(1));
    const tail = await RecordingTail.open(dir);
    expect(seqs(await drainTail(tail))).toEqual([1]);
    // The followed directory, moved away and back.
    renameSync(dir, join(root, "logs.old"));
    expect(await drainTail(tail)).toEqual([]);
    renameSync(join(root, "logs.old"), dir);
    appendFileSync(join(dir, "a.jsonl"), lines(2));
    expect(seqs(await drainTail(tail))).toEqual([2]);
  });
});

describe("following a single rotated file", () => {
  it("takes the file missing for a while as nothing new, then reads the new one from its start", async () => {
    const dir = tempDir();
    const file = join(dir, "single.jsonl");
    writeFileSync(file, lines(1));
    const tail = await RecordingTail.open(file);
    expect(seqs(await drainTail(tail))).toEqual([1]);
    renameSync(file, `${file}.1`);
    expect(await drainTail(tail)).toEqual([]);
    expect(await drainTail(tail)).toEqual([]);
    writeFileSync(file, lines(2));
    expect(seqs(await drainTail(tail))).toEqual([2]);
    appendFileSync(file, lines(3));
    expect(seqs(await drainTail(tail))).toEqual([3]);
  });
});
