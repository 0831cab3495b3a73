import { cpSync } from "node:fs";
import { join } from "node:path";
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it, vi } from "vitest";
import { compactFullSegments } from "../src/log/compact.js";
import { createLoggedEngine } from "../src/log/engine-log.js";
import { readDecisionLog, readDecisionLogAsync } from "../src/log/reader.js";
import { listSegments } from "../src/log/segments.js";
import { readReplayLog, readReplayLogAsync } from "../src/replay/read-log.js";
import { resumePoint, resumePointAsync } from "../src/replay/resume-point.js";
import { tempLogDirs } from "./support/log-dir.js";

// A reader takes no lock, and a writer with `keepRecords` compacts as it writes: a read can meet a
// segment that a compaction replaced after the read had found where the log starts. Here the
// compaction's rename is made to land at exactly that moment, just before the reader reads the
// segment it replaces, and every reader must then read the log again and give what it gives on
// the compacted log (never an error, never a mix of the two logs).

// Each segment read goes through here; `replaceOnRead` renames a compacted segment over one just
// before its first read.
const race = vi.hoisted(() => ({
  pending: undefined as { path: string; replacement: string } | undefined,
  happened: 0,
}));
function replaceIfDue(path: unknown, rename: (from: string, to: string) => void): void {
  const due = race.pending;
  if (due === undefined || path !== due.path) return;
  race.pending = undefined;
  rename(due.replacement, due.path);
  race.happened++;
}
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const readFileSync = ((path: unknown, ...rest: unknown[]) => {
    replaceIfDue(path, fs.renameSync);
    return (fs.readFileSync as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.readFileSync;
  // A synchronous scan reads each segment through a file descriptor of its own.
  const openSync = ((path: unknown, ...rest: unknown[]) => {
    replaceIfDue(path, fs.renameSync);
    return (fs.openSync as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.openSync;
  const wrapped = { ...fs, readFileSync, openSync };
  return { ...wrapped, default: wrapped };
});
vi.mock("node:fs/promises", async (importOriginal) => {
  const fsp = await importOriginal<typeof import("node:fs/promises")>();
  const fs = await import("node:fs");
  const readFile = ((path: unknown, ...rest: unknown[]) => {
    replaceIfDue(path, fs.renameSync);
    return (fsp.readFile as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof fsp.readFile;
  const wrapped = { ...fsp, readFile };
  return { ...wrapped, default: wrapped };
});

const newDir = tempLogDirs();

/** An engine's log of several full segments (closed), as the guide's service writes it. */
async function engineLog(): Promise<string> {
  const dir = newDir();
  const scheduler = new VirtualTimeScheduler();
  const { engine, close, log } = createLoggedEngine(
    {
      seed: 5,
      params: { b: { min: 1, max: 256, init: 16, maxDelta: 8 } },
      window: { digests: 5 },
      scheduler,
    },
    { dir, segmentBytes: 8192 },
  );
  for (let tick = 1; tick <= 600; tick++) {
    scheduler.schedule(() => {}, 10);
    scheduler.flush();
    engine.observe({ objective: 20 + ((engine.values[0]! - 96) / 40) ** 2, generation: engine.generation });
    // A commit every 10 ticks, on this thread: a segment rolls over at a commit, so the segments
    // end at the same records however fast the disk and the thread pool are.
    if (tick % 10 === 0) log.flush();
  }
  await close();
  return dir;
}

/**
 * `dir` as a writer's compaction leaves it at its rename: a copy compacted for real, and its new
 * segment staged beside `dir`'s last full one, to be renamed over it mid-read.
 */
async function stagedCompaction(dir: string): Promise<{ compacted: string; arm: () => void }> {
  const compacted = newDir();
  cpSync(dir, compacted, { recursive: true });
  const full = listSegments(compacted).slice(0, -1);
  const result = await compactFullSegments(compacted, full, 150, () => false);
  expect(result).not.toBeNull();
  const last = listSegments(dir).at(-2)!;
  let staged = 0;
  return {
    compacted,
    arm: () => {
      const replacement = `${last.path}.staged-${++staged}`;
      cpSync(join(compacted, result!.segment.split("/").at(-1)!), replacement);
      race.pending = { path: last.path, replacement };
    },
  };
}

/** A fresh copy of `dir` (each read below races on its own). */
function copyOf(dir: string): string {
  const copy = newDir();
  cpSync(dir, copy, { recursive: true });
  return copy;
}

describe("a read that a compaction's rename overtakes", () => {
  it("reads the compacted log, with each reader, sync and async", async () => {
    const original = await engineLog();
    expect(listSegments(original).length).toBeGreaterThan(3);
    // A log's records without where they lie (the directories differ).
    const contents = ({ header, lastSeq, records }: ReturnType<typeof readDecisionLog>) => ({
      header,
      lastSeq,
      records: records.map((r) => [r.seq, r.record]),
    });
    const reads = {
      readDecisionLog: (dir: string) => contents(readDecisionLog(dir)),
      readDecisionLogAsync: async (dir: string) => contents(await readDecisionLogAsync(dir)),
      readReplayLog: (dir: string) => readReplayLog(dir),
      readReplayLogAsync: (dir: string) => readReplayLogAsync(dir),
      resumePoint: (dir: string) => resumePoint(dir),
      resumePointAsync: (dir: string) => resumePointAsync(dir),
    };
    for (const [name, read] of Object.entries(reads)) {
      const dir = copyOf(original);
      const { compacted, arm } = await stagedCompaction(dir);
      const expected = await read(compacted);
      const before = race.happened;
      arm();
      const got = await read(dir);
      // The rename did land mid-read, and the read that met it was not the one returned.
      expect(race.happened, name).toBe(before + 1);
      expect(got, name).toEqual(expected);
      // Not what the log read before its compaction: the test would prove nothing then.
      expect(got, name).not.toEqual(await read(copyOf(original)));
    }
  });
});
