import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logBenchEngine } from "../bench/log-bench-engine.js";
import type { ApplyEvent } from "../src/audit/events.js";
import { createEngine } from "../src/engine/engine.js";
import { ReplayInputError } from "../src/log/replay-input-error.js";
import { explain } from "../src/replay/explain.js";
import { readReplayLog } from "../src/replay/read-log.js";
import { type ReplayEngine, replay } from "../src/replay/replay.js";
import { bundleForNode } from "./support/node-bundle.js";

// Replay held every event of the log, and every event its engine wrote, until the end of the run;
// explain held every event too: a day's log of a busy engine ran a heap of several GB out. Replay
// now replays a run as it is read and lets go of each event once compared, and explain keeps only
// the records around a run's last changes, so both read a log far larger than their heap.

const REPLAY_CHILD = fileURLToPath(new URL("./support/long-replay-child.ts", import.meta.url));
const READ_CHILD = fileURLToPath(new URL("./support/long-log-child.ts", import.meta.url));
const DIGESTS = 100_000;
const HEAP_CAP_MB = 32;
let root: string;
const cleanups: (() => void)[] = [];

/**
 * Writes the log LOG-READS measures (a logged engine fed `digests` digests of a noisy quadratic) in
 * segments of `segmentBytes`, written every `flushEvery` digests (a segment ends only between two
 * writes).
 */
async function writeLog(
  dir: string,
  digests: number,
  segmentBytes: number,
  flushEvery: number,
): Promise<void> {
  const { log, close, feed } = logBenchEngine({ dir, segmentBytes });
  for (let i = 1; i <= digests; i++) {
    feed(i);
    if (i % flushEvery === 0) log.flush();
  }
  await close();
}

/** Runs the bundled `script` on `args` with the heap capped: its exit status and what it printed. */
function capped(script: string, args: string[]): { status: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, [`--max-old-space-size=${HEAP_CAP_MB}`, script, ...args], {
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: run.status, out: run.stdout, err: run.stderr };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "arqon-long-replay-"));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  for (const cleanup of cleanups) cleanup();
});

describe(`replaying a decision log far larger than a ${HEAP_CAP_MB} MB heap`, () => {
  let dir: string;
  let replayChild: string;
  let readChild: string;

  beforeAll(async () => {
    dir = join(root, "long");
    await writeLog(dir, DIGESTS, 1 << 20, 2_000);
    // Bare `node` on one bundled file each: tsx's own heap would take most of the cap.
    const [replayBundle, readBundle] = await Promise.all([
      bundleForNode(REPLAY_CHILD),
      bundleForNode(READ_CHILD),
    ]);
    cleanups.push(replayBundle.cleanup, readBundle.cleanup);
    replayChild = replayBundle.script;
    readChild = readBundle.script;
  }, 120_000);

  it("is a log whose events alone, as readReplayLog holds them, run the heap out", () => {
    const bytes = readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
    expect(readdirSync(dir).length).toBeGreaterThan(10);
    expect(bytes / 2 ** 20).toBeGreaterThan(10);
    const control = capped(readChild, ["replay-log", dir]);
    expect(control.status).not.toBe(0);
    expect(control.err).toMatch(/heap out of memory/);
  }, 120_000);

  it("explains a generation at its end within it, as the log says it came about", () => {
    // The parent's heap is not capped: it reads the log whole to know what explain must find.
    const { events } = readReplayLog(dir).runs[0]!;
    const changes = events.filter((e) => e.type === "apply" || e.type === "rollback");
    const k = changes.findLastIndex((e) => e.type === "apply" && e.kind === "centre");
    const change = changes[k]!;
    const run = capped(replayChild, [dir, String(change.generation)]);
    expect(run.err).toBe("");
    expect(JSON.parse(run.out).result).toEqual({
      run: 1,
      runCount: 1,
      change,
      previousValues: (changes[k - 1] as { values: unknown }).values,
      windows: [
        { role: "plus", generation: changes[k - 2]!.generation, digests: 5 },
        { role: "minus", generation: changes[k - 1]!.generation, digests: 5 },
      ],
    });
  }, 120_000);

  it("replays within it, every logged event compared and identical", () => {
    const run = capped(replayChild, [dir]);
    expect(run.err).toBe("");
    const { result } = JSON.parse(run.out) as { result: { ok: boolean; records: number } };
    // Each digest's acceptance, each window and apply (one per 5 digests), and more.
    expect(result.ok).toBe(true);
    expect(result.records).toBeGreaterThan(DIGESTS + (2 * DIGESTS) / 5);
  }, 120_000);
});

describe("a long run read as it comes", () => {
  let dir: string;

  beforeAll(async () => {
    dir = join(root, "segments");
    // A run across many small segments: its events are compared in flight, across their bounds.
    await writeLog(dir, 3_000, 16 << 10, 100);
  }, 60_000);

  it("reports a difference deep in the run at its record, with the logged events before it", async () => {
    const nudged = 2_500;
    let observed = 0;
    const nudging = (config: Parameters<typeof createEngine>[0]): ReplayEngine => {
      const engine = createEngine(config);
      return {
        events: engine.events,
        observe: (digest) =>
          engine.observe(++observed === nudged ? { ...digest, objective: digest.objective + 1 } : digest),
        setBaseline: () => engine.setBaseline(),
        rollback: (reason) => engine.rollback(reason),
        get generation() {
          return engine.generation;
        },
        flushEvents: () => engine.flushEvents(),
        close: () => engine.close(),
      };
    };
    expect(readdirSync(dir).length).toBeGreaterThan(10);
    const result = await replay(dir, { createEngine: nudging });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    // The log as read whole: the nudged digest is the 2,500th acceptance of its one run.
    const { events, indices } = readReplayLog(dir).runs[0]!;
    const k = events.flatMap((e, i) => (e.type === "digest.accepted" ? [i] : []))[nudged - 1]!;
    expect(result.divergence).toEqual({
      run: 1,
      index: indices[k],
      seq: events[k]!.seq,
      reason: "objective",
      expected: events[k],
      actual: expect.objectContaining({
        type: "digest.accepted",
        seq: events[k]!.seq,
        objective: (events[k] as { objective: number }).objective + 1,
      }),
      context: events.slice(k - 5, k),
      dropped: [],
    });
    expect(result.runs).toHaveLength(1);
    expect(result.runs[0]!.records).toBe(events.length);
  }, 60_000);

  it("explains its changes from the records around each one, as the whole run tells", () => {
    const { events } = readReplayLog(dir).runs[0]!;
    const changes = events.flatMap((e, i) => (e.type === "apply" || e.type === "rollback" ? [i] : []));
    expect(changes.length).toBeGreaterThan(500);
    // Every 37th change, from the second on (the first starts from the header's values).
    for (let c = 2; c < changes.length; c += 37) {
      const change = events[changes[c]!] as ApplyEvent;
      const explained = explain(dir, change.generation);
      expect(explained.change).toEqual(change);
      expect(explained.previousValues).toEqual((events[changes[c - 1]!] as ApplyEvent).values);
      const measured =
        change.kind === "centre"
          ? [changes[c - 2]!, changes[c - 1]!].map((i) => events[i]!.generation)
          : [change.generation - 1];
      expect([...new Set(explained.windows.map((w) => w.generation))]).toEqual(measured);
      for (const w of explained.windows) {
        // Its digests, as read off the whole run: accepted after the window before it closed.
        const k = events.findIndex((e) => e.seq === w.window.seq);
        expect(events[k]).toEqual(w.window);
        const from = events.findLastIndex((e, i) => i < k && e.type === "window.closed") + 1;
        const fed = events
          .slice(from, k)
          .filter(
            (e) =>
              e.type === "digest.accepted" &&
              e.digestGeneration <= w.generation &&
              e.time >= w.window.openedAt,
          )
          .slice(-w.window.count);
        expect(w.digests).toEqual(fed);
      }
    }
  });

  it("refuses a context that is not a whole number ≥ 0, naming the option", async () => {
    for (const context of [-1, 2.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = await replay(dir, { context }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReplayInputError);
      expect((error as Error).message).toBe(
        `replay: context must be a whole number ≥ 0, got ${String(context)}`,
      );
    }
  });
});
