/**
 * `arqon solve --storage` keeps what it evaluated through a Redis outage: a result Redis refuses is
 * tried again until Redis is back; after the retry time, or once the study's journal is gone, it
 * prints its JSON and names the values.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import type { SharedSolveOptions } from "../src/cli/solve-shared.js";
import { openSharedStudy } from "../src/study/index.js";
import { lines, removeTempDirs } from "./support/cli-run.js";
import { watchRedisCommands } from "./support/redis-monitor.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";
import { until } from "./support/until.js";
import { heldTrialsDir, WatchedSolve } from "./support/watched-solve.js";

let server: RedisServer | undefined;
afterEach(async () => {
  removeTempDirs();
  await server?.stop();
  server = undefined;
});

/** A study of `budget` trials whose trials `held` hold until the file `hold` is removed. */
function workDir(budget = 6, held: readonly number[] = [3, 4]): string {
  return heldTrialsDir({ seed: 4, budget, bounds: { x: { min: 0, max: 1 } } }, held);
}

/** A worker of `study` (default "outage") on the rig's Redis. */
function watched(dir: string, options: Partial<SharedSolveOptions> = {}): WatchedSolve {
  return new WatchedSolve(dir, server!.url, { ...options, study: options.study ?? "outage" });
}

async function journal(study: string): Promise<Record<string, unknown>[]> {
  const redis = new Redis(server!.url, { maxRetriesPerRequest: 1 });
  try {
    return (await redis.lrange(`arqon:study:${study}:journal`, 0, -1)).map((e) => JSON.parse(e));
  } finally {
    redis.disconnect();
  }
}

describe("arqon solve --storage during a Redis outage", () => {
  it("tries a refused tell again until Redis is back, and finishes the study", async () => {
    server = await startRedis({ appendOnly: true });
    const dir = workDir();
    const run = watched(dir, {});
    expect(await run.stderrContains("holding trial 3\n"), run.stderr).toBe(true);
    await server.kill();
    rmSync(join(dir, "hold"));
    const notice = "arqon solve: Redis failed to record trial 3 (";
    expect(await run.stderrContains(notice), run.stderr).toBe(true);
    expect(lines(run.stderr).find((line) => line.startsWith(notice))).toMatch(
      /\); trying again for up to 60 s$/,
    );
    server = await server.restart();
    expect(await run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 6, stopped: false, pending: 0 });
    const told = (await journal("outage"))
      .filter((e) => e.op === "tell")
      .flatMap((e) => e.results as { id: number; value: number }[]);
    expect(told.find((r) => r.id === 3)?.value).toBe(run.value(3));
    expect(told.map((r) => r.id).sort()).toEqual([1, 2, 3, 4, 5, 6]);
  }, 30_000);

  it("after the retry time prints its JSON, names every value it could not record, and exits 1", async () => {
    server = await startRedis();
    const dir = workDir();
    const run = watched(dir, { concurrency: 2, retryMs: 300 });
    expect(await run.stderrContains("holding trial 3\n"), run.stderr).toBe(true);
    expect(await run.stderrContains("holding trial 4\n"), run.stderr).toBe(true);
    await server.kill();
    rmSync(join(dir, "hold"));
    expect(await run.status, run.stderr).toBe(1);
    // Four commands ran; trials 3 and 4, pending in the study, are this worker's own (named below).
    expect(JSON.parse(run.stdout)).toMatchObject({
      evaluations: 4,
      failures: [],
      stopped: true,
      interrupted: false,
      pending: 0,
    });
    const last = lines(run.stderr).at(-1)!;
    expect(last).toMatch(/^arqon solve: could not record trial [34] \(value /);
    expect(last).toContain(`trial 3 (value ${run.value(3)})`);
    expect(last).toContain(`trial 4 (value ${run.value(4)})`);
    expect(last).toContain("in study outage: Redis failed for 0.3 s (");
    expect(last).toMatch(
      /; the trials stay pending unless Redis wrote the last attempt: tell them again once Redis is back$/,
    );
  }, 30_000);

  it("does the same when Redis fails while the study's last trial runs (no wait for the others)", async () => {
    server = await startRedis();
    const dir = workDir(2, [2]);
    const run = watched(dir, { study: "last", concurrency: 2, retryMs: 300 });
    expect(await run.stderrContains("holding trial 2\n"), run.stderr).toBe(true);
    // Both trials were asked at once (the probe grew to the second worker), so trial 2 holds while
    // trial 1's result is recorded: Redis goes once it is.
    const told = async () => (await journal("last")).some((e) => e.op === "tell");
    await until(told, 10_000, "trial 1's result in the journal");
    await server.kill();
    rmSync(join(dir, "hold"));
    expect(await run.status, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      evaluations: 2,
      failures: [],
      stopped: true,
      interrupted: false,
      pending: 0,
    });
    expect(lines(run.stderr).at(-1)).toMatch(
      new RegExp(
        `^arqon solve: could not record trial 2 \\(value ${run.value(2)}\\) in study last: ` +
          "Redis failed for 0\\.3 s \\(.*\\); the trial stays pending unless Redis wrote the last " +
          "attempt: tell it again once Redis is back$",
      ),
    );
  }, 30_000);

  it("a SIGTERM ends the tries at once: JSON, the value named, exit 143", async () => {
    server = await startRedis();
    const dir = workDir(6, [3]);
    // Tried for 10 minutes unless the signal ends the tries: the test's timeout would end it first.
    const run = watched(dir, { study: "sigterm", retryMs: 600_000 });
    expect(await run.stderrContains("holding trial 3\n"), run.stderr).toBe(true);
    await server.kill();
    rmSync(join(dir, "hold"));
    expect(await run.stderrContains("arqon solve: Redis failed to record trial 3 ("), run.stderr).toBe(true);
    run.interrupt("SIGTERM");
    // A supervisor's stop ended it: the exit says so (143), as any interrupted worker's does.
    expect(await run.status, run.stderr).toBe(143);
    expect(JSON.parse(run.stdout)).toMatchObject({
      evaluations: 3,
      stopped: true,
      interrupted: true,
      pending: 0,
    });
    expect(lines(run.stderr).at(-1)).toMatch(
      new RegExp(
        // Said as given up on by the interrupt (record-result's words), not after the retry time.
        `^arqon solve: could not record trial 3 \\(value ${run.value(3)}\\) in study sigterm: Redis ` +
          "failed \\(.*\\) and [^;]*abort[^;]*; the trial stays pending unless Redis " +
          "wrote the last attempt: tell it again once Redis is back$",
      ),
    );
  }, 30_000);

  it("a second Ctrl-C ends the tries as a SIGTERM does, exit 130", async () => {
    server = await startRedis();
    const dir = workDir(6, [3]);
    const run = watched(dir, { study: "ctrl-c", retryMs: 600_000 });
    expect(await run.stderrContains("holding trial 3\n"), run.stderr).toBe(true);
    await server.kill();
    rmSync(join(dir, "hold"));
    expect(await run.stderrContains("arqon solve: Redis failed to record trial 3 ("), run.stderr).toBe(true);
    run.interrupt("SIGINT");
    run.interrupt("SIGINT");
    expect(await run.status, run.stderr).toBe(130);
    expect(lines(run.stderr).at(-1)).toMatch(
      /^arqon solve: could not record trial 3 \(value .*\) in study ctrl-c: Redis failed \(.*\) and [^;]*abort[^;]*; /,
    );
  }, 30_000);

  it("the first Ctrl-C does not end the tries: the value is recorded once Redis is back", async () => {
    server = await startRedis({ appendOnly: true });
    const dir = workDir(6, [3]);
    const run = watched(dir, { study: "ctrl-c-once", retryMs: 600_000 });
    expect(await run.stderrContains("holding trial 3\n"), run.stderr).toBe(true);
    await server.kill();
    rmSync(join(dir, "hold"));
    expect(await run.stderrContains("arqon solve: Redis failed to record trial 3 ("), run.stderr).toBe(true);
    run.interrupt("SIGINT");
    server = await server.restart();
    expect(await run.status, run.stderr).toBe(130);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 3, interrupted: true, pending: 0 });
  }, 30_000);

  it("an ask Redis fails is tried again: a worker waiting on another's trial survives a restart", async () => {
    server = await startRedis({ appendOnly: true });
    const config = { seed: 4, budget: 8, strategy: "nelder-mead", bounds: { x: { min: 0, max: 1 } } };
    const dir = heldTrialsDir(config, []);
    // Another worker holds trial 1: the simplex cannot be built without it, so this one waits.
    const other = await openSharedStudy(config as never, {
      redis: server.url,
      study: "idle",
      worker: "other",
    });
    const [held] = (await other.ask())!;
    await other.close();
    const run = watched(dir, { study: "idle" });
    expect(await run.stderrContains("trial 2: "), run.stderr).toBe(true);
    // Its empty asks go on while it waits.
    const watch = await watchRedisCommands(server.url);
    await watch.seen(4);
    watch.close();
    await server.kill();
    const notice = "arqon solve: Redis failed an ask of study idle (";
    expect(await run.stderrContains(notice), run.stderr).toBe(true);
    expect(lines(run.stderr).find((line) => line.startsWith(notice))).toMatch(
      /\); trying again for up to 60 s$/,
    );
    server = await server.restart();
    const teller = await openSharedStudy(config as never, {
      redis: server.url,
      study: "idle",
      worker: "teller",
    });
    await teller.tell({ id: held!.id, value: 0.5 });
    await teller.close();
    expect(await run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 7, stopped: false, pending: 0 });
    // Said once for the outage, however many tries it took.
    expect(lines(run.stderr).filter((line) => line.startsWith(notice))).toHaveLength(1);
  }, 30_000);

  it("a Redis failure while it waits for the other workers' last results: its JSON as last read, exit 1", async () => {
    server = await startRedis();
    const dir = workDir(6, []);
    // Another worker takes trials 1 and 2 and tells only 1: this one waits for 2 once the budget is spent.
    const other = await openSharedStudy(
      { seed: 4, budget: 6, bounds: { x: { min: 0, max: 1 } } },
      { redis: server.url, study: "settle", worker: "other" },
    );
    const [first, second] = (await other.ask({ max: 2 }))!;
    expect(second?.id).toBe(2);
    await other.tell({ id: first!.id, value: 1 });
    await other.close();
    // Tried again for half a second: then it gives up on the read.
    const run = watched(dir, { study: "settle", retryMs: 500 });
    expect(await run.stderrContains("trial 6: "), run.stderr).toBe(true);
    // Six more commands to Redis: the ask that found the budget spent, then the wait's reads.
    const watch = await watchRedisCommands(server.url);
    await watch.seen(6);
    watch.close();
    await server.kill();
    expect(await run.status, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      evaluations: 4,
      failures: [],
      stopped: false,
      pending: 1,
    });
    expect(lines(run.stderr).at(-1)).toMatch(
      /^arqon solve: could not read the other workers' last results in study settle: Redis failed for 0\.5 s \(.+\); the JSON is the study as this worker last read it$/,
    );
  }, 30_000);
});

/** The line a worker ends with when the study's journal went away under `results`. */
const JOURNAL_GONE = (study: string, results: string) =>
  `arqon solve: could not record ${results} in study ${study}: its journal was deleted or replaced ` +
  "since this worker read it (";

describe("arqon solve --storage when the study's journal goes away", () => {
  it("an entry it cannot replay is not a journal gone: keeps the value, names it, exits 1", async () => {
    server = await startRedis();
    const dir = workDir(6, [3]);
    const run = watched(dir, { study: "corrupt" });
    expect(await run.stderrContains("holding trial 3\n"), run.stderr).toBe(true);
    const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const bad = { op: "tell", worker: "x", results: [{ id: 999, value: 1 }] };
    const at = (await admin.rpush("arqon:study:corrupt:journal", JSON.stringify(bad))) - 1;
    admin.disconnect();
    rmSync(join(dir, "hold"));
    expect(await run.status, run.stderr).toBe(1);
    // Three commands ran; trial 3, pending in the study, is this worker's own (named below).
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 3, failures: [], stopped: true, pending: 0 });
    expect(lines(run.stderr).at(-1)).toBe(
      `arqon solve: could not record trial 3 (value ${run.value(3)}) in study corrupt: its journal ` +
        `holds an entry this arqon cannot replay (shared study journal entry ${at} cannot be replayed: ` +
        "tell rejected; nothing was recorded: result.id: trial 999 was never asked); this worker " +
        "stopped, and the study does not hold this result",
    );
  }, 30_000);

  it("keeps a value it cannot record in a deleted journal: prints its JSON, names it, exits 1", async () => {
    server = await startRedis();
    const dir = workDir(6, [3]);
    const run = watched(dir, { study: "deleted" });
    expect(await run.stderrContains("holding trial 3\n"), run.stderr).toBe(true);
    const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
    await admin.del("arqon:study:deleted:journal");
    admin.disconnect();
    rmSync(join(dir, "hold"));
    expect(await run.status, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 3, failures: [], stopped: true, pending: 0 });
    const last = lines(run.stderr).at(-1)!;
    expect(last.startsWith(JOURNAL_GONE("deleted", `trial 3 (value ${run.value(3)})`)), last).toBe(true);
    expect(last).toMatch(
      /; the value is in no study now: running the same command again joins the study the journal holds now$/,
    );
    expect(await journal("deleted")).toEqual([]);
  }, 30_000);

  it("does the same for a journal lost in a Redis restart without persistence", async () => {
    server = await startRedis();
    const dir = workDir(6, [3]);
    const run = watched(dir, { study: "lost" });
    expect(await run.stderrContains("holding trial 3\n"), run.stderr).toBe(true);
    await server.kill();
    rmSync(join(dir, "hold"));
    expect(await run.stderrContains("arqon solve: Redis failed to record trial 3 ("), run.stderr).toBe(true);
    server = await server.restart();
    expect(await run.status, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 3, stopped: true, pending: 0 });
    const last = lines(run.stderr).at(-1)!;
    expect(last.startsWith(JOURNAL_GONE("lost", `trial 3 (value ${run.value(3)})`)), last).toBe(true);
  }, 30_000);
});
