import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeTempDirs, runArqonAsync, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  removeTempDirs();
  await server.stop();
});

const objective = [
  process.execPath,
  "-e",
  "console.log('RESULT=' + (Number(process.env.ARQON_X) - 1.5) ** 2)",
];

describe("arqon solve --storage redis://", () => {
  it("--on-error stop marks the failed trial failed, so that running again goes on", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 5, budget: 6, bounds: { x: { min: -5, max: 5 } } });
    const args = (command: readonly string[]) => [
      "solve",
      "--config",
      "c.json",
      "--storage",
      server.url,
      "--study",
      "stop-then-again",
      "--quiet",
      "--",
      ...command,
    ];
    const failing = await runArqonAsync(args([process.execPath, "-e", "process.exit(3)"]), dir);
    expect(failing.status).toBe(1);
    expect(failing.stderr).toContain(
      "arqon solve: trial 1 failed (exit code 3); stopped; it is marked failed in study stop-then-again, which the same command run again joins and goes on with",
    );
    // Left pending, trial 1 made this run wait for it for good.
    const again = await runArqonAsync(args(objective), dir);
    expect(again.status).toBe(0);
    // The first worker's one failed trial and this worker's five share the budget of 6.
    expect(JSON.parse(again.stdout.trim())).toMatchObject({ evaluations: 5, pending: 0, failures: [] });
  });

  it("reads a worker command's value as arqon solve --state does: a number glued to text is none", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 5, budget: 2, bounds: { x: { min: -5, max: 5 } } });
    const args = (study: string, body: string) => [
      ...["solve", "--config", "c.json", "--storage", server.url, "--study", study, "--quiet", "--"],
      ...[process.execPath, "-e", body],
    ];
    const glued = await runArqonAsync(
      args("glued-value", "console.log(process.env.ARQON_X); console.log('Done in 3.2s')"),
      dir,
    );
    expect(glued.status).toBe(1);
    expect(glued.stderr).toContain(
      'arqon solve: trial 1 failed (no number stands alone on the last output line "Done in 3.2s"; print the value alone on the last line (0.42, loss=0.42 or {"value": 0.42})); stopped;',
    );
    const alone = await runArqonAsync(
      args("standalone-value", "console.log('on gpu-0 loss ' + process.env.ARQON_X)"),
      dir,
    );
    expect(alone.status, alone.stderr).toBe(0);
    const out = JSON.parse(alone.stdout.trim()) as { best: { params: { x: number }; value: number } };
    expect(out.best.value).toBe(out.best.params.x);
  });

  it("says whether it began the study or joined one, and how far that one is", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 5, budget: 3, bounds: { x: { min: -5, max: 5 } } });
    const solve = () =>
      runArqonInProcess(
        ["solve", "--config", "c.json", "--storage", server.url, "--study", "begun", "--", ...objective],
        dir,
      );
    const first = await solve();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr.split("\n")[0]).toBe("new study begun: begun by this worker (budget 3)");
    // The same name again (a nightly job, say) joins the finished study: it says so.
    const again = await solve();
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr.split("\n")[0]).toBe(
      "joined study begun: 3 of 3 trials asked, 3 told (its budget is spent)",
    );
    expect(JSON.parse(again.stdout)).toMatchObject({ evaluations: 0 });
  });

  it("a command that cannot start leaves no trial pending either", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 5, budget: 4, bounds: { x: { min: -5, max: 5 } } });
    const args = (command: readonly string[]) => [
      ...["solve", "--config", "c.json", "--storage", server.url, "--study", "not-run", "--quiet", "--"],
      ...command,
    ];
    const typo = await runArqonAsync(args(["./no-such-objective"]), dir);
    expect(typo.status).toBe(2);
    // Cancelled, the trial that never ran went back to the budget: all 4 are evaluated now. Left
    // pending, it held this run for good.
    const again = await runArqonAsync(args(objective), dir);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout.trim())).toMatchObject({ evaluations: 4, pending: 0 });
  });

  it("a worker running trials at once names the trial on each line of their stderr", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 5, budget: 4, bounds: { x: { min: -5, max: 5 } } });
    // A line written in two pieces, and a last line without a line break.
    const chatty = [
      process.execPath,
      "-e",
      "process.stderr.write('x is '); setTimeout(() => { process.stderr.write(process.env.ARQON_X + '\\ndone'); console.log(1) }, 20)",
    ];
    const run = await runArqonAsync(
      [
        ...["solve", "--config", "c.json", "--storage", server.url, "--study", "chatty"],
        ...["--concurrency", "2", "--quiet", "--", ...chatty],
      ],
      dir,
    );
    expect(run.status, run.stderr).toBe(0);
    // Under --quiet, the line saying the study was begun and the trials' own stderr.
    const [begun, ...written] = run.stderr.split("\n").filter((line) => line !== "");
    expect(begun).toBe("new study chatty: begun by this worker (budget 4)");
    expect(written).toHaveLength(8);
    for (const line of written) expect(line).toMatch(/^\[trial \d+\] (x is \S+|done)$/);
  });

  it("three CLI workers share one budget; each prints the study's best", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 5, budget: 12, bounds: { x: { min: -5, max: 5 } } });
    const args = [
      "solve",
      "--config",
      "c.json",
      "--storage",
      server.url,
      "--study",
      "cli",
      "--",
      ...objective,
    ];
    const runs = await Promise.all([0, 1, 2].map(() => runArqonAsync(args, dir)));
    let evaluations = 0;
    for (const run of runs) {
      expect(run.status, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout.trim());
      // The shape of a local run's JSON, and "pending".
      expect(Object.keys(out)).toEqual([
        "best",
        "evaluations",
        "pruned",
        "failures",
        "stopped",
        "interrupted",
        "pending",
      ]);
      expect(out.pruned).toBe(0);
      evaluations += out.evaluations;
      expect(out.failures).toEqual([]);
      // Each worker waited for the others' last results: every one reports the same, final best.
      expect(out.pending).toBe(0);
      expect(out.best).toEqual(JSON.parse(runs[0]!.stdout.trim()).best);
      expect(out.best.value).toBeCloseTo((out.best.params.x - 1.5) ** 2, 12);
    }
    expect(evaluations).toBe(12);
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const ids = (await redis.lrange("arqon:study:cli:journal", 0, -1))
      .map((e) => JSON.parse(e))
      .filter((e) => e.op === "ask")
      .flatMap((e) => e.ids as number[]);
    redis.disconnect();
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);
  }, 60_000);

  it("refuses bad combinations with a one-line usage error", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 5, budget: 4, bounds: { x: { min: -5, max: 5 } } });
    const base = ["solve", "--config", "c.json"];
    const cases: [string[], RegExp][] = [
      [["--storage", server.url, "--state", "s.json"], /give --state or --storage, not both/],
      [["--storage", server.url], /--storage needs --study <name>/],
      [["--storage", "http://x", "--study", "a"], /--storage must be a redis:\/\/ or rediss:\/\/ URL/],
      // A mistyped scheme keeps its password out of the message.
      [["--storage", "http://:s3cret@x", "--study", "a"], /URL, got the given URL\n?$/],
      [["--storage", server.url, "--study", "bad name"], /study: must be 1 to 200 characters/],
    ];
    for (const [extra, message] of cases) {
      const run = await runArqonInProcess([...base, ...extra, "--", ...objective], dir);
      expect(run.status).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stderr).toMatch(message);
    }
    writeJson(dir, "other.json", { seed: 6, budget: 4, bounds: { x: { min: -5, max: 5 } } });
    const first = await runArqonInProcess(
      [...base, "--storage", server.url, "--study", "mixed", "--", ...objective],
      dir,
    );
    expect(first.status).toBe(0);
    const other = ["solve", "--config", join(dir, "other.json"), "--storage", server.url, "--study", "mixed"];
    const refused = await runArqonInProcess([...other, "--", ...objective], dir);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/study mixed: exists with another solver configuration/);
  }, 60_000);
});
