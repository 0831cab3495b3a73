import { renameSync, writeFileSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RecordingTail } from "../src/dashboard/recording-tail.js";
import { auditLines, drainTail, seqsOf, tempDirs } from "./support/recording-tail.js";

// A followed directory may hold more files than the process may open at once (ulimit -n): a poll
// must open them one at a time. `open` is wrapped to count the handles open at any moment, and
// to let a test rename files between a poll's ordering and its reads.

const fds = vi.hoisted(() => ({
  open: 0,
  most: 0,
  opens: 0,
  /** Runs before the open with this number (1-based), once. */
  before: new Map<number, () => void>(),
}));

vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs/promises")>();
  const open = async (...args: Parameters<typeof actual.open>): Promise<FileHandle> => {
    fds.opens++;
    fds.before.get(fds.opens)?.();
    const handle = await actual.open(...args);
    fds.open++;
    fds.most = Math.max(fds.most, fds.open);
    const close = handle.close.bind(handle);
    handle.close = () => {
      fds.open--;
      return close();
    };
    return handle;
  };
  return { ...actual, open, default: { ...actual, open } };
});

const lines = (...seqs: number[]) => auditLines("fds", ...seqs);
const seqs = seqsOf;

afterEach(() => {
  Object.assign(fds, { open: 0, most: 0, opens: 0 });
  fds.before.clear();
});
const tempDir = tempDirs("arqon-rotation-fds-");

describe("polling a directory of many JSON Lines files", () => {
  it("holds one file open at a time", async () => {
    const dir = tempDir();
    // Names sort against the order of the events (a39 holds seq 1), as after rotations.
    for (let i = 0; i < 40; i++)
      writeFileSync(join(dir, `a${String(i).padStart(2, "0")}.jsonl`), lines(40 - i));
    const tail = await RecordingTail.open(dir);
    expect(seqs(await tail.poll())).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    writeFileSync(join(dir, "b.jsonl"), lines(41));
    expect(seqs(await tail.poll())).toEqual([41]);
    expect(fds.most).toBe(1);
    expect(fds.open).toBe(0);
  });

  it("orders again when a rotation renames files between its ordering and its reads", async () => {
    const dir = tempDir();
    const live = join(dir, "audit.jsonl");
    writeFileSync(join(dir, "audit.1.jsonl"), lines(1, 2));
    writeFileSync(live, lines(3));
    const tail = await RecordingTail.open(dir);
    expect(seqs(await drainTail(tail))).toEqual([1, 2, 3]);
    // More events in both files (4, then 5); then, once the poll has ordered them and before it
    // reads them, a rotation moves audit.1.jsonl (1, 2, 4) to audit.2.jsonl and audit.jsonl
    // (3, 5) to audit.1.jsonl, and starts a new audit.jsonl (6).
    writeFileSync(join(dir, "audit.1.jsonl"), lines(1, 2, 4));
    writeFileSync(live, lines(3, 5));
    // Both first events are known from the reads above: the first open is the first read.
    const opensBefore = fds.opens;
    fds.before.set(opensBefore + 1, () => {
      renameSync(join(dir, "audit.1.jsonl"), join(dir, "audit.2.jsonl"));
      renameSync(live, join(dir, "audit.1.jsonl"));
      writeFileSync(live, lines(6));
    });
    // Read at the path ordered first, audit.jsonl's events would overtake audit.1.jsonl's 4.
    expect(seqs(await drainTail(tail))).toEqual([4, 5, 6]);
  });

  it("recognises a copy that was still empty when the poll ordered the files", async () => {
    const dir = tempDir();
    const live = join(dir, "audit.jsonl");
    writeFileSync(live, lines(1, 2, 3));
    const tail = await RecordingTail.open(dir);
    expect(seqs(await drainTail(tail))).toEqual([1, 2, 3]);
    // logrotate's copytruncate: cp has created audit.1.jsonl, and fills it after the poll looked
    // for its first event (the poll's first open) and before it reads it (its second).
    writeFileSync(live, lines(1, 2, 3, 4));
    writeFileSync(join(dir, "audit.1.jsonl"), "");
    fds.before.set(fds.opens + 2, () => writeFileSync(join(dir, "audit.1.jsonl"), lines(1, 2, 3, 4)));
    expect(seqs(await drainTail(tail))).toEqual([4]);
  });
});
