import { readdirSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import type { CompactStep } from "../src/log/compact.js";
import { readDecisionLog } from "../src/log/reader.js";
import { listSegments } from "../src/log/segments.js";
import { type LiveCompaction, openDecisionLog } from "../src/log/writer.js";
import { tempLogDirs } from "./support/log-dir.js";

// A writer closed while its `keepRecords` compaction reads the log must not wait for the rest of
// that compaction (two passes over the full segments, a file written and made durable: seconds on
// a busy log) before it frees the directory. Here the compaction's first read of a segment is held
// until the writer is closed, and what the compaction does after must be nothing.

const gate = vi.hoisted(() => ({
  armed: false,
  held: undefined as (() => void) | undefined,
  reached: undefined as (() => void) | undefined,
}));
vi.mock("node:fs/promises", async (importOriginal) => {
  const fsp = await importOriginal<typeof import("node:fs/promises")>();
  const readFile = (async (path: unknown, ...rest: unknown[]) => {
    if (gate.armed && String(path).endsWith(".alog")) {
      gate.armed = false;
      await new Promise<void>((resolve) => {
        gate.held = resolve;
        gate.reached?.();
      });
    }
    return (fsp.readFile as (...a: unknown[]) => Promise<unknown>)(path, ...rest);
  }) as typeof fsp.readFile;
  const wrapped = { ...fsp, readFile };
  return { ...wrapped, default: wrapped };
});

const newDir = tempLogDirs();

describe("a compaction that its writer's close() overtakes", () => {
  it("stops at its next step after the read it was waiting for, writing nothing", async () => {
    const dir = newDir();
    const steps: CompactStep[] = [];
    const outcomes: LiveCompaction[] = [];
    const writer = openDecisionLog({
      dir,
      header: { kind: "header", format: "test.compact-stop", version: 1 },
      segmentBytes: 2048,
      // Fewer than a full segment holds: left to run, the compaction would write a new segment.
      keepRecords: 5,
      onCompaction: (o) => outcomes.push(o),
      afterCompactionStep: (step) => {
        steps.push(step);
      },
    });
    const reached = new Promise<void>((resolve) => {
      gate.reached = resolve;
    });
    gate.armed = true;
    // Records, the event loop turning, until the compaction of the first full segment reads it.
    let i = 0;
    while (gate.held === undefined) {
      writer.append({ kind: "sample", i, note: `record number ${i}` });
      if (++i % 5 === 0) {
        writer.flush();
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    await reached;
    writer.close();
    expect(writer.compactionRunning).toBe(true);
    gate.held();
    await writer.released();
    // Nothing written, no outcome, every record still there; the directory is free.
    expect(steps).toEqual([]);
    expect(outcomes).toEqual([]);
    expect(readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    const read = readDecisionLog(dir);
    expect(read.records.map((r) => r.record.i)).toEqual(Array.from({ length: i }, (_, k) => k));
    expect(listSegments(dir).length).toBeGreaterThan(1);
    openDecisionLog({ dir }).close();
  });
});
