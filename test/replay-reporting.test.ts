import { appendFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { createLoggedEngine, replay } from "../src/node.js";
import { droppedRanges } from "../src/replay/replay.js";
import { runArqonInProcess } from "./support/cli-run.js";
import { tempLogDirs } from "./support/log-dir.js";

// What replay says about a log it cannot fully check: a torn tail (a crash cut the last write
// short) is reported and makes `arqon replay` exit 1 unless accepted; audit records a full ring
// dropped are named, and a divergence after them is blamed on them, not on a field.

const logDir = tempLogDirs();
const PARAMS = { batchSize: { min: 1, max: 256, init: 32, maxDelta: 8 } } as const;

/**
 * Logs `ticks` digests of a bowl, one every 100 ms of virtual time; the first `standStill` of them
 * arrive while the clock stands still (no audit drain runs, so a small ring overflows).
 */
async function loggedRun(dir: string, ticks: number, auditCapacity?: number, standStill = 0): Promise<void> {
  const scheduler = new VirtualTimeScheduler();
  const { engine, close } = createLoggedEngine(
    {
      seed: 2,
      params: PARAMS,
      window: { digests: 3 },
      scheduler,
      ...(auditCapacity ? { auditCapacity } : {}),
    },
    { dir, flushMs: 50 },
  );
  for (let i = 0; i < ticks; i++) {
    if (i >= standStill) {
      scheduler.schedule(() => {}, 100);
      scheduler.flush();
    }
    engine.observe({ objective: ((engine.values[0]! - 100) / 30) ** 2, generation: engine.generation });
  }
  scheduler.schedule(() => {}, 1000);
  scheduler.flush();
  await close();
}

function lastSegment(dir: string): string {
  return join(
    dir,
    readdirSync(dir)
      .filter((f) => f.endsWith(".alog"))
      .sort()
      .at(-1)!,
  );
}

describe("replay of a log with a torn tail", () => {
  it("reports the torn bytes; the CLI exits 1 unless --accept-torn-tail", async () => {
    const dir = logDir();
    await loggedRun(dir, 200);
    appendFileSync(lastSegment(dir), Buffer.alloc(37, 0xab));
    const result = await replay(dir);
    expect(result.ok).toBe(true);
    expect(result.tornTail).toMatchObject({ bytesDropped: 37, segment: lastSegment(dir) });

    const refused = await runArqonInProcess(["replay", dir], dir);
    expect(refused.stdout).toMatch(/^replay INCOMPLETE: \d+ records identical\n$/);
    expect(refused.stderr).toContain("arqon replay: the log ends in a torn write: 37 bytes at offset");
    expect(refused.stderr).toContain("were not replayed; exit 1 (--accept-torn-tail accepts it)");
    expect(refused.status).toBe(1);

    const accepted = await runArqonInProcess(["replay", dir, "--accept-torn-tail"], dir);
    expect(accepted.stderr).toContain("(accepted: --accept-torn-tail)");
    expect(accepted.stdout).toMatch(/^replay OK: \d+ records identical\n$/);
    expect(accepted.status).toBe(0);
  });

  it("says when a later run's open cut the torn tail off, so the repair is not silent", async () => {
    const dir = logDir();
    await loggedRun(dir, 200);
    const segment = lastSegment(dir);
    appendFileSync(segment, Buffer.alloc(37, 0xab));
    await loggedRun(dir, 20);
    const result = await replay(dir);
    expect(result.ok).toBe(true);
    expect(result.tornTail).toBeNull();
    expect(result.runs[1]!.repair).toMatchObject({ kind: "torn-tail", bytesDropped: 37 });
    const cli = await runArqonInProcess(["replay", dir], dir);
    expect(cli.stderr).toMatch(
      new RegExp(
        `^arqon replay: before run 2 began, the log was repaired: a torn last write was cut off \\(the log now ends at byte \\d+ of ${basename(segment).replace(".", "\\.")}, 37 bytes taken out\\); the runs before it may have lost their last records\n$`,
      ),
    );
    expect(cli.status).toBe(0);
  });

  it("a clean log has no torn tail and exits 0", async () => {
    const dir = logDir();
    await loggedRun(dir, 50);
    expect((await replay(dir)).tornTail).toBeNull();
    const clean = await runArqonInProcess(["replay", dir], dir);
    expect(clean.stderr).toBe("");
    expect(clean.status).toBe(0);
  });
});

describe("replay of a log whose audit ring overflowed", () => {
  it("names the dropped records and blames the divergence on them", async () => {
    const dir = logDir();
    // 300 digests arrive while the clock stands still, so no drain runs and a 64-record ring
    // overflows; 200 more arrive in moving time, so records after the gap reach the log.
    await loggedRun(dir, 500, 64, 300);
    const result = await replay(dir);
    const run = result.runs[0]!;
    expect(run.dropped.length).toBeGreaterThan(0);
    const [first] = run.dropped;
    expect(first!.to).toBeGreaterThanOrEqual(first!.from);
    // The log's own record seqs run on across the gap: the ring dropped them, nothing removed them.
    expect(first!.cause).toBe("ring");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.divergence.dropped.length).toBeGreaterThan(0);
    expect(result.divergence.reason).toMatch(
      /^audit records? \d+(–\d+)?(, records? \d+(–\d+)?)* of this run (was|were) dropped \(the audit ring was full\), so inputs they held were not replayed; first difference after that: /,
    );
    const cli = await runArqonInProcess(["replay", dir], dir);
    expect(cli.stdout).toContain("were dropped (the audit ring was full)");
    expect(cli.status).toBe(1);
  });

  it("droppedRanges finds every gap in a run's sequence", () => {
    const at = (seq: number) => ({ seq }) as never;
    expect(droppedRanges([at(1), at(2), at(5), at(6), at(9)])).toEqual([
      { from: 3, to: 4 },
      { from: 7, to: 8 },
    ]);
    expect(droppedRanges([at(3)])).toEqual([{ from: 1, to: 2 }]);
    expect(droppedRanges([at(1), at(2)])).toEqual([]);
  });
});
