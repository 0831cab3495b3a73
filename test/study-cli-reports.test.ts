/**
 * `arqon solve --storage` with a pruner, when reports come faster than Redis answers and when the
 * study cannot record them.
 */
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeTempDirs, tempDir, writeJson } from "./support/cli-run.js";
import { redisForFile, startRedis } from "./support/redis-server.js";
import { studyJournal } from "./support/study-journal.js";
import { WatchedSolve } from "./support/watched-solve.js";

const redis = redisForFile();
afterAll(removeTempDirs);

const CONFIG = { seed: 1, budget: 2, bounds: { x: { min: 0, max: 1 } }, pruner: { kind: "median" } };

/** A directory with the config and `script` as the executable objective. */
function withObjective(script: string): string {
  const dir = tempDir();
  writeJson(dir, "c.json", CONFIG);
  writeFileSync(join(dir, "objective"), `#!${process.execPath}\n${script}`);
  chmodSync(join(dir, "objective"), 0o755);
  return dir;
}

/**
 * Holds (saying so on stderr) until the file `go` exists, then reports a step and, 300 ms later,
 * prints its value, writing the file `value` first.
 */
const HOLD_THEN_REPORT = `
const fs = require("node:fs");
process.stderr.write("holding\\n");
const timer = setInterval(() => {
  if (!fs.existsSync("go")) return;
  clearInterval(timer);
  console.log(JSON.stringify({ step: 1, value: 2 }));
  setTimeout(() => { fs.writeFileSync("value", "0.5"); console.log(0.5); }, 300);
}, 20);
`;

const journal = (study: string) => studyJournal(redis.admin, study);

describe("report lines of arqon solve --storage", () => {
  it("sends lines that come while a report is on its way together, in order, before the result", async () => {
    const dir = withObjective(`
const lines = [];
for (let s = 1; s <= 5000; s++) lines.push(JSON.stringify({ step: s, value: 1 / s }));
lines.push("0.5");
process.stdout.write(lines.join("\\n") + "\\n");
`);
    const worker = new WatchedSolve(dir, redis.server.url, { study: "burst" });
    expect(await worker.status, worker.stderr).toBe(0);
    const entries = await journal("burst");
    for (const id of [1, 2]) {
      const reports = entries.filter((e) => e.op === "report" && e.id === id);
      const steps = reports.flatMap((e) => (e.op === "report" ? e.reports.map(([step]) => step) : []));
      expect(steps).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
      // One entry per round trip to Redis, not one per line.
      expect(reports.length).toBeLessThan(500);
      const toldAt = entries.findIndex(
        (e) => e.op === "tell" && e.results.some((r) => "id" in r && r.id === id),
      );
      expect(entries.lastIndexOf(reports.at(-1)!)).toBeLessThan(toldAt);
    }
  });

  it("stops a trial whose study's journal went away, since nothing of it can be recorded", async () => {
    const dir = withObjective(HOLD_THEN_REPORT);
    const worker = new WatchedSolve(dir, redis.server.url, { study: "gone" });
    expect(await worker.stderrContains("holding\n")).toBe(true);
    // The study's journal goes away under the running trial.
    await redis.admin.del("arqon:study:gone:journal");
    writeFileSync(join(dir, "go"), "");
    expect(await worker.status).toBe(1);
    expect(worker.stderr).toContain(
      "arqon solve: could not record an intermediate value of trial 1 in study gone (study gone: its journal was deleted or replaced",
    );
    expect(worker.stderr).toContain("the trial is stopped: nothing of it can be recorded\n");
    expect(worker.stderr).toContain(
      "arqon solve: could not record trial 1 (failed: stopped: the study's journal went away) in study gone",
    );
    // Stopped before its value: it never wrote it.
    expect(existsSync(join(dir, "value"))).toBe(false);
  });

  it("lets a trial whose report Redis failed run to its end without a verdict, and says so", async () => {
    const own = await startRedis();
    try {
      const dir = withObjective(HOLD_THEN_REPORT);
      const worker = new WatchedSolve(dir, own.url, { study: "down", retryMs: 200 });
      expect(await worker.stderrContains("holding\n")).toBe(true);
      await own.stop();
      writeFileSync(join(dir, "go"), "");
      expect(await worker.status).toBe(1);
      expect(worker.stderr).toContain(
        "arqon solve: could not record an intermediate value of trial 1 in study down (study down: cannot reach Redis at",
      );
      expect(worker.stderr).toContain("the trial runs to its end without the pruner's verdict\n");
      // It ran to its end: its value is the one the worker could not record.
      expect(existsSync(join(dir, "value"))).toBe(true);
      expect(worker.stderr).toMatch(/could not record trial 1 \(value 0\.5\) in study down: Redis failed/);
    } finally {
      await own.stop();
    }
  });
});
