import { cpSync, existsSync, readdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import { compactFullSegments } from "../src/log/compact.js";
import { visitDecisionLog, visitDecisionLogAsync } from "../src/log/reader.js";
import { scanDecisionLog } from "../src/log/scan.js";
import { listSegments, segmentName } from "../src/log/segments.js";
import {
  type CompactStep,
  compactDecisionLog,
  createLoggedEngine,
  type DecisionLogOptions,
  type DecisionLogWriter,
  type EngineLogOptions,
  type LiveCompaction,
  LogError,
  LogLockedError,
  openDecisionLog,
  readDecisionLog,
  readReplayLog,
  resumedConfig,
  resumePoint,
} from "../src/node.js";
import { tempLogDirs } from "./support/log-dir.js";

// A writer running for weeks wrote its log without bound: only a compaction at a restart bounded
// it. With `keepRecords` the writer compacts its full segments itself, in the background, each
// time it moves on to a new segment; what is left must read exactly as an offline compaction of
// the same log would, whatever step the compaction was stopped, failed or crashed at.

const newDir = tempLogDirs();

const HEADER = { kind: "header", format: "test.compact-live", version: 1 } as const;
/** About 60 bytes a record: a 2 KiB segment holds about 30. */
const SEGMENT_BYTES = 2048;
const KEEP = 40;

/** Lets the writer's background work (a compaction's reads, writes and renames) go on. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function open(dir: string, options: Partial<DecisionLogOptions> = {}): DecisionLogWriter {
  return openDecisionLog({ dir, header: HEADER, segmentBytes: SEGMENT_BYTES, ...options });
}

/**
 * Appends records `from`..`to` - 1 to every writer alike, a commit every 5 records, turning the
 * event loop after each commit so that compactions run while records keep coming. With `settle`,
 * each commit waits for a compaction it started to end, as a real log does, whose segments take
 * hours to fill and a compaction seconds; without it, segments fill faster than compactions run.
 */
async function write(
  writers: readonly DecisionLogWriter[],
  from: number,
  to: number,
  settle = false,
): Promise<void> {
  for (let i = from; i < to; i++) {
    for (const writer of writers) writer.append({ kind: "sample", i, note: `record number ${i}` });
    if (i % 5 === 4) {
      for (const writer of writers) writer.flush();
      await turn();
      while (settle && writers.some((writer) => writer.compactionRunning)) await turn();
    }
  }
  for (const writer of writers) writer.flush();
}

/** Bytes of the log's segment files (and of anything else in the directory). */
function bytesOf(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

/**
 * What an offline compaction of `full` (the same records, never compacted) gives when it keeps
 * the records `live` kept: the log `live` must read as.
 */
function offlineTwin(full: string, live: string) {
  const kept = new Set(readDecisionLog(live).records.map((r) => r.seq));
  const copy = newDir();
  cpSync(full, copy, { recursive: true });
  compactDecisionLog(copy, (entry) => kept.has(entry.seq));
  return readDecisionLog(copy);
}

/** A log compacting as it is written (`keepRecords` KEEP) beside one that keeps everything. */
async function writtenPair(records: number, options: Partial<DecisionLogOptions> = {}, settle = true) {
  const live = newDir();
  const full = newDir();
  const outcomes: LiveCompaction[] = [];
  const compacting = open(live, { keepRecords: KEEP, onCompaction: (o) => outcomes.push(o), ...options });
  const keeping = open(full);
  let most = 0;
  for (let from = 0; from < records; from += 100) {
    await write([compacting, keeping], from, Math.min(records, from + 100), settle);
    most = Math.max(most, listSegments(live).length);
  }
  compacting.close();
  keeping.close();
  await compacting.released();
  return { live, full, outcomes, most };
}

describe("a writer compacting its full segments as it writes (keepRecords)", () => {
  it("stays bounded while it writes, and reads as an offline compaction of the whole log", async () => {
    const { live, full, outcomes, most } = await writtenPair(3000);
    const errors = outcomes.filter((o) => !o.ok);
    expect(errors).toEqual([]);
    // About 100 segments filled; each was compacted once full.
    expect(listSegments(full).length).toBeGreaterThan(80);
    expect(outcomes.length).toBeGreaterThan(80);
    // At any time: the last KEEP records of the full segments (two segments' worth at most) and
    // the segment being written.
    expect(most).toBeLessThanOrEqual(3);
    expect(bytesOf(live)).toBeLessThan(bytesOf(full) / 20);

    const read = readDecisionLog(live);
    const whole = readDecisionLog(full);
    expect(read.records.length).toBeGreaterThanOrEqual(KEEP);
    expect(read.lastSeq).toBe(whole.lastSeq);
    // A suffix of the whole log, record for record and seq for seq...
    expect(read.records.map((r) => [r.seq, r.record])).toEqual(
      whole.records.filter((r) => r.seq >= read.records[0]!.seq).map((r) => [r.seq, r.record]),
    );
    // ...and what an offline compaction keeping that suffix reads as, header included.
    const twin = offlineTwin(full, live);
    expect(read.header).toEqual(twin.header);
    expect(read.records.map((r) => [r.seq, r.record])).toEqual(twin.records.map((r) => [r.seq, r.record]));
  });

  it("compacts segments that filled while a compaction ran together, once it ends", async () => {
    const { live, full, outcomes } = await writtenPair(3000, {}, false);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    // Fewer compactions than full segments, each taking all those that filled before it.
    expect(outcomes.length).toBeGreaterThan(0);
    expect(outcomes.length).toBeLessThan(listSegments(full).length - 1);
    const twin = offlineTwin(full, live);
    expect(readDecisionLog(live).records.map((r) => [r.seq, r.record])).toEqual(
      twin.records.map((r) => [r.seq, r.record]),
    );
  });

  it("leaves a log a writer opens and continues: seqs follow every seq written", async () => {
    const { live } = await writtenPair(600);
    const before = readDecisionLog(live).lastSeq;
    const again = open(live);
    expect(again.recovery).toBeNull();
    expect(again.append({ kind: "sample", i: -1 })).toBe(before + 1);
    again.close();
    const read = readDecisionLog(live);
    expect(read.records.at(-1)!.seq).toBe(before + 1);
  });

  it("does nothing without keepRecords, or while the full segments hold keepRecords records or fewer", async () => {
    const dir = newDir();
    const outcomes: LiveCompaction[] = [];
    const writer = open(dir, { keepRecords: 10_000, onCompaction: (o) => outcomes.push(o) });
    await write([writer], 0, 500);
    writer.close();
    await writer.released();
    expect(outcomes).toEqual([]);
    expect(readDecisionLog(dir).records.length).toBe(500);
    expect(listSegments(dir).length).toBeGreaterThan(10);
  });

  it("refuses a keepRecords that is not a whole number ≥ 1, naming it, and leaves the log as it was", async () => {
    const dir = newDir();
    const writer = open(dir);
    await write([writer], 0, 100);
    writer.close();
    const before = readDecisionLog(dir);
    for (const keepRecords of [0, -3, 2.5, Number.NaN, Number.POSITIVE_INFINITY, "10" as unknown as number]) {
      expect(() => open(dir, { keepRecords })).toThrow(/keepRecords must be a whole number ≥ 1, got/);
    }
    expect(readDecisionLog(dir)).toEqual(before);
    // The refusals released the lock.
    open(dir).close();
  });

  it("keeps the directory locked until a compaction stopped by close() has ended, and changes nothing then", async () => {
    const dir = newDir();
    let resume!: () => void;
    let paused!: () => void;
    const reachedPause = new Promise<void>((resolve) => {
      paused = resolve;
    });
    const outcomes: LiveCompaction[] = [];
    const writer = open(dir, {
      keepRecords: KEEP,
      onCompaction: (o) => outcomes.push(o),
      afterCompactionStep: (step) => {
        if (step !== "tmp-synced") return undefined;
        paused();
        return new Promise<void>((resolve) => {
          resume = resolve;
        });
      },
    });
    // Records until the first compaction stops at its pause (the full segments then hold > KEEP).
    let i = 0;
    let reached = false;
    void reachedPause.then(() => {
      reached = true;
    });
    while (!reached) {
      await write([writer], i, i + 5);
      i += 5;
      await turn();
    }
    const segmentsBefore = listSegments(dir).map((s) => [s.number, statSync(s.path).size]);
    const recordsBefore = readDecisionLog(dir).records;
    writer.close();
    expect(() => openDecisionLog({ dir })).toThrow(LogLockedError);
    resume();
    await writer.released();
    // Stopped before its rename: the temporary file is gone and the log is what it was.
    expect(outcomes).toEqual([]);
    expect(readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    expect(listSegments(dir).map((s) => [s.number, statSync(s.path).size])).toEqual(segmentsBefore);
    expect(readDecisionLog(dir).records).toEqual(recordsBefore);
    open(dir).close();
  });

  it("after a failure at any step, reads as the old log or the compacted one, and the next segment compacts again", async () => {
    const steps: CompactStep[] = ["tmp-written", "tmp-synced", "renamed", "dir-synced", "old-removed"];
    for (const failAt of steps) {
      let failed = false;
      const { live, full, outcomes } = await writtenPair(400, {
        afterCompactionStep: (step) => {
          if (step !== failAt || failed) return;
          failed = true;
          throw new Error(`disk gone at ${step}`);
        },
      });
      const failures = outcomes.filter((o) => !o.ok);
      expect(failures.map((o) => (o.ok ? "" : o.error.message))).toEqual([
        `compaction of ${live} failed: disk gone at ${failAt}`,
      ]);
      expect(failures[0]!.ok === false && failures[0]!.error).toBeInstanceOf(LogError);
      // Later segments compacted again, and the log reads as an offline compaction would.
      expect(outcomes.filter((o) => o.ok).length).toBeGreaterThan(3);
      expect(readdirSync(live).filter((name) => name.endsWith(".tmp"))).toEqual([]);
      const twin = offlineTwin(full, live);
      expect(readDecisionLog(live).records.map((r) => [r.seq, r.record])).toEqual(
        twin.records.map((r) => [r.seq, r.record]),
      );
    }
  });

  it("a crash at any step leaves the old log or the compacted one, which the next writer opens whole", async () => {
    const steps: CompactStep[] = ["tmp-written", "tmp-synced", "renamed", "dir-synced", "old-removed"];
    for (const crashAt of steps) {
      const dir = newDir();
      const full = newDir();
      const crashed = newDir();
      let copied = false;
      const compacting = open(dir, {
        keepRecords: KEEP,
        // The directory as a crash there would leave it (every write before it was made durable).
        afterCompactionStep: (step) => {
          if (step !== crashAt || copied) return;
          copied = true;
          cpSync(dir, crashed, { recursive: true });
        },
      });
      const keeping = open(full);
      let i = 0;
      while (!copied) {
        await write([compacting, keeping], i, i + 5);
        i += 5;
      }
      const lastSeq = readDecisionLog(crashed).lastSeq;
      compacting.close();
      keeping.close();
      await compacting.released();
      // The copy holds the lock file of a writer that is alive (this process): take it over as
      // after a crash, by removing it (a crashed writer's pid would be gone).
      const lock = join(crashed, "LOCK");
      if (existsSync(lock)) renameSync(lock, `${lock}.old`);
      const reopened = open(crashed);
      const read = readDecisionLog(crashed);
      expect(read.lastSeq).toBe(lastSeq);
      const whole = readDecisionLog(full);
      expect(read.records.map((r) => [r.seq, r.record])).toEqual(
        whole.records
          .filter((r) => r.seq >= read.records[0]!.seq && r.seq <= lastSeq)
          .map((r) => [r.seq, r.record]),
      );
      // Nothing left over: no temporary file, no superseded segment.
      expect(readdirSync(crashed).filter((name) => name.endsWith(".tmp"))).toEqual([]);
      const scan = scanDecisionLog(crashed, true, "check");
      expect(scan.header).not.toBeNull();
      expect(scan.superseded).toEqual([]);
      expect(listSegments(crashed)).toEqual(scan.segments);
      reopened.close();
    }
  });

  it("a reader that meets a segment replaced under it reads the log again (sync and async)", async () => {
    // A log of several full segments, and the segment a compaction of them would put in place of
    // the last full one.
    const dir = newDir();
    const writer = open(dir);
    await write([writer], 0, 200);
    writer.close();
    const segments = listSegments(dir);
    const full = segments.slice(0, -1);
    const last = full.at(-1)!;
    const scratch = newDir();
    cpSync(dir, scratch, { recursive: true });
    await compactFullSegments(scratch, listSegments(scratch).slice(0, -1), KEEP, () => false);
    const replacement = join(scratch, segmentName(last.number));
    const expected = readDecisionLog(scratch);
    expect(expected.records.length).toBeLessThan(readDecisionLog(dir).records.length);

    for (const mode of ["sync", "async"] as const) {
      const target = newDir();
      cpSync(dir, target, { recursive: true });
      const staged = `${replacement}.${mode}`;
      cpSync(replacement, staged);
      // Replaced once the reader has taken the first segment's first record: it has found where
      // the log starts (the old first segment) and reads the later segments after this.
      let replaced = false;
      const seen: number[] = [];
      const visit = (entry: { seq: number }) => {
        if (!replaced && entry.seq > 0) {
          replaced = true;
          renameSync(staged, join(target, segmentName(last.number)));
        }
        seen.push(entry.seq);
      };
      if (mode === "sync")
        expect(() => visitDecisionLog(target, visit)).toThrow(/was replaced by a compaction/);
      else await expect(visitDecisionLogAsync(target, visit)).rejects.toThrow(/was replaced by a compaction/);
      // Reading it again (what readDecisionLog, resumePoint and readReplayLog do) finds the new log.
      const again = readDecisionLog(target).records;
      expect(again.map((r) => [r.seq, r.record])).toEqual(expected.records.map((r) => [r.seq, r.record]));
    }
  });
});

/** The guide's service (docs/guide/decision-log.md): one knob on [1, 256] from 16, cost lowest at 96. */
function serviceConfig(): EngineConfig {
  return {
    seed: 5,
    params: { b: { min: 1, max: 256, init: 16, maxDelta: 8 } },
    window: { digests: 5 },
    scheduler: new VirtualTimeScheduler(),
  };
}

/**
 * One process's life on each log alike (the same config, resumed where its own log's last run
 * ended, and the same requests): `ticks` requests, the event loop turning every 10 so that group
 * commits and compactions run while the engine serves.
 */
async function serveBoth(
  dirs: readonly string[],
  options: readonly Partial<EngineLogOptions>[],
  ticks: number,
) {
  const engines = dirs.map((dir, i) => {
    const own = serviceConfig();
    const logged = createLoggedEngine(resumedConfig(own, resumePoint(dir)), {
      dir,
      segmentBytes: 8192,
      flushRecords: 16,
      ...options[i],
    });
    return { logged, scheduler: own.scheduler as VirtualTimeScheduler };
  });
  for (let tick = 1; tick <= ticks; tick++) {
    for (const { logged, scheduler } of engines) {
      scheduler.schedule(() => {}, 10);
      scheduler.flush();
      const { engine } = logged;
      engine.observe({ objective: 20 + ((engine.values[0]! - 96) / 40) ** 2, generation: engine.generation });
    }
    if (tick % 10 === 0) {
      await turn();
      while (engines.some(({ logged }) => logged.log.compactionRunning || logged.log.lagRecords > 0))
        await turn();
    }
  }
  for (const { logged } of engines) await logged.close();
  return engines.map(({ logged }) => logged.engine.snapshot().centre.b!);
}

describe("an engine's log compacted as the engine runs (keepRecords)", () => {
  it("stays bounded over runs, resumes where the last run ended, and reads as an offline compaction", async () => {
    const live = newDir();
    const full = newDir();
    const outcomes: LiveCompaction[] = [];
    const options = [{ keepRecords: 150, onCompaction: (o: LiveCompaction) => outcomes.push(o) }, {}];
    const first = await serveBoth([live, full], options, 1000);
    const second = await serveBoth([live, full], options, 1000);
    // The same tuning on both logs: the compacted one resumed run 2 where run 1 ended.
    expect(first[0]).toBe(first[1]);
    expect(second[0]).toBe(second[1]);
    expect(second[0]).not.toBe(first[0]);

    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(5);
    expect(listSegments(full).length).toBeGreaterThan(15);
    expect(listSegments(live).length).toBeLessThanOrEqual(3);
    expect(bytesOf(live)).toBeLessThan(bytesOf(full) / 4);

    // Run 1 went whole; run 2 keeps its restart record and its number.
    const twin = offlineTwin(full, live);
    const read = readDecisionLog(live);
    expect(read.header).toEqual(twin.header);
    expect(read.header?.runsBefore).toBe(1);
    expect(read.records.map((r) => [r.seq, r.record])).toEqual(twin.records.map((r) => [r.seq, r.record]));
    expect(readReplayLog(live).runs.map((r) => r.run)).toEqual([2]);
    // Where run 2 ended: as on the whole log, but the baseline, whose record is gone.
    expect(resumePoint(live)).toEqual({ ...resumePoint(full)!, baseline: undefined });
  });
});
