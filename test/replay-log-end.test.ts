import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { createLoggedEngine, replay } from "../src/node.js";
import { runArqonInProcess } from "./support/cli-run.js";
import { tempLogDirs } from "./support/log-dir.js";

// How a decision log must end: a cleanly closed logged engine writes a close marker as its last
// record, so a log whose final segment was deleted (or that was cut at a segment boundary) is told
// apart from a complete one, and a segment missing in the middle is named, not replayed over.

const logDir = tempLogDirs();
const PARAMS = { batchSize: { min: 1, max: 256, init: 32, maxDelta: 8 } } as const;

/** Logs `ticks` digests 100 ms apart on small segments, so the log spans several files. */
async function loggedRun(dir: string, ticks: number, closeIt = true): Promise<void> {
  const scheduler = new VirtualTimeScheduler();
  const logged = createLoggedEngine(
    { seed: 4, params: PARAMS, window: { digests: 3 }, scheduler },
    { dir, flushMs: 50, segmentBytes: 4096 },
  );
  for (let i = 0; i < ticks; i++) {
    scheduler.schedule(() => {}, 100);
    scheduler.flush();
    const x = logged.engine.values[0]!;
    logged.engine.observe({ objective: ((x - 100) / 30) ** 2, generation: logged.engine.generation });
    // A group commit every 20 digests: the writer starts a new segment at a commit.
    if (i % 20 === 19) logged.log.flush();
  }
  if (closeIt) await logged.close();
  else {
    // A crash: the engine stops, the log is flushed but never closed (no close marker).
    logged.log.flush();
    await logged.engine.close();
    logged.log.flush();
  }
}

const segments = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".alog"))
    .sort();

describe("the end of a decision log", () => {
  it("a cleanly closed log ends with a close marker and replays with exit 0", async () => {
    const dir = logDir();
    await loggedRun(dir, 150);
    expect(segments(dir).length).toBeGreaterThan(3);
    const result = await replay(dir);
    expect(result.ok).toBe(true);
    expect(result.unclosed).toBeNull();
    const run = await runArqonInProcess(["replay", dir], dir);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });

  it("a deleted last segment is reported and exits 1 unless --accept-open", async () => {
    const dir = logDir();
    await loggedRun(dir, 150);
    rmSync(join(dir, segments(dir).at(-1)!));
    const result = await replay(dir);
    expect(result.unclosed).toContain("log ends without close marker");

    const refused = await runArqonInProcess(["replay", dir], dir);
    expect(refused.stderr).toContain(
      "arqon replay: log ends without close marker: last segment missing or run did not close",
    );
    expect(refused.stderr).toContain("exit 1 (--accept-open accepts it)");
    expect(refused.status).toBe(1);

    const accepted = await runArqonInProcess(["replay", dir, "--accept-open"], dir);
    expect(accepted.stderr).toContain("(accepted: --accept-open)");
    expect(accepted.status).toBe(0);
  });

  it("a run that never closed (a crash) is reported the same way, as open", async () => {
    const dir = logDir();
    await loggedRun(dir, 60, false);
    const refused = await runArqonInProcess(["replay", dir], dir);
    expect(refused.stdout).toMatch(/^replay OK: \d+ records identical\n$/);
    expect(refused.stderr).toContain("log ends without close marker");
    expect(refused.status).toBe(1);
  });

  it("a segment missing in the middle is named as a numbering gap, exit 1", async () => {
    const dir = logDir();
    await loggedRun(dir, 150);
    const names = segments(dir);
    rmSync(join(dir, names[1]!));
    const run = await runArqonInProcess(["replay", dir, "--accept-open"], dir);
    expect(run.stderr).toContain(
      `segment numbering gap: ${names[1]} is missing between ${names[0]} and ${names[2]}`,
    );
    expect(run.status).not.toBe(0);
  });
});
