/**
 * `arqon solve --storage` keeps a value the study refuses because its trial was already told or
 * failed elsewhere (as the stall message advises, `study.fail` from another handle): the worker goes
 * on and names the value after its JSON. Values it could not record are named even when a fatal
 * error ends the worker.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { SharedSolveOptions } from "../src/cli/solve-shared.js";
import { openSharedStudy } from "../src/study/index.js";
import { lines, removeTempDirs } from "./support/cli-run.js";
import { watchRedisCommands } from "./support/redis-monitor.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";
import { heldTrialsDir, WatchedSolve } from "./support/watched-solve.js";

let server: RedisServer | undefined;
afterEach(async () => {
  removeTempDirs();
  await server?.stop();
  server = undefined;
});

const CONFIG = { seed: 4, budget: 6, bounds: { x: { min: 0, max: 1 } } };

/** A directory holding the config and the objective, whose trials `held` hold until `hold` is removed. */
function workDir(held: readonly number[]): string {
  return heldTrialsDir(CONFIG, held);
}

/** A worker on the rig's Redis. */
function watched(
  dir: string,
  options: Partial<SharedSolveOptions> & { readonly study: string },
): WatchedSolve {
  return new WatchedSolve(dir, server!.url, options);
}

/** Marks trial `id` of `study` failed from another handle, as the stall message advises. */
async function failElsewhere(study: string, id: number): Promise<void> {
  const other = await openSharedStudy(CONFIG, { redis: server!.url, study, worker: "other" });
  try {
    await other.fail(id, "worker presumed dead");
  } finally {
    await other.close();
  }
}

describe("arqon solve --storage: a result the study refuses", () => {
  it("keeps a value whose trial was failed elsewhere, goes on, names it after the JSON, exits 0", async () => {
    server = await startRedis();
    const dir = workDir([1]);
    const run = watched(dir, { study: "failed-elsewhere" });
    await run.stderrContains("holding trial 1\n");
    await failElsewhere("failed-elsewhere", 1);
    rmSync(join(dir, "hold"));
    expect(await run.status, run.stderr).toBe(0);
    // Trial 1 counts against the budget (failed); the worker evaluated all six, as
    // runSharedStudy's `evaluated` counts them, trial 1's value refused.
    expect(JSON.parse(run.stdout)).toMatchObject({
      evaluations: 6,
      failures: [],
      stopped: false,
      pending: 0,
    });
    expect(lines(run.stderr)).toContain(
      `arqon solve: could not record trial 1 (value ${run.value(1)}) in study failed-elsewhere: already ` +
        "told or failed in the study (trial 1 was already marked failed); the study keeps what it " +
        "recorded first, not this result",
    );
  }, 30_000);

  it("names a refused value before a fatal error ends the worker", async () => {
    server = await startRedis();
    const dir = workDir([1]);
    const run = watched(dir, { study: "refused-fatal" });
    await run.stderrContains("holding trial 1\n");
    await failElsewhere("refused-fatal", 1);
    // Trial 1's command has read the script: trial 2's cannot be started.
    rmSync(join(dir, "objective"));
    rmSync(join(dir, "hold"));
    await expect(run.status).rejects.toThrow('arqon solve: cannot run "./objective"');
    expect(lines(run.stderr).at(-1)).toBe(
      `arqon solve: could not record trial 1 (value ${run.value(1)}) in study refused-fatal: already ` +
        "told or failed in the study (trial 1 was already marked failed); the study keeps what it " +
        "recorded first, not this result",
    );
  }, 30_000);

  it("names a value Redis refused before a fatal error ends the worker", async () => {
    server = await startRedis();
    const dir = workDir([3]);
    // Trials 3 and 4 are asked together; 4 deletes the script: 5, asked next, cannot be started.
    writeFileSync(join(dir, "last"), "4");
    const watch = await watchRedisCommands(server.url);
    const fifthAsked = watch.seen(1, (args) =>
      args.some((arg) => arg.includes('"op":"ask"') && arg.includes('"ids":[5]')),
    );
    const run = watched(dir, { study: "unrecorded-fatal", concurrency: 2, retryMs: 300 });
    await run.stderrContains("holding trial 3\n");
    await fifthAsked;
    watch.close();
    await server.kill();
    rmSync(join(dir, "hold"));
    await expect(run.status).rejects.toThrow('arqon solve: cannot run "./objective"');
    // Trial 5, which the command could not run, is failed and cancelled at once: recorded when that
    // write reached Redis before the kill (it races the kill, which follows the ask), else named
    // with trial 3's value.
    const last = lines(run.stderr).at(-1)!;
    const trial3 = `trial 3 \\(value ${run.value(3)}\\) in study unrecorded-fatal: Redis failed for 0\\.3 s \\(.*\\); `;
    expect(last).toMatch(
      new RegExp(
        last.includes("trial 5")
          ? '^arqon solve: could not record trial 5 \\(failed: not run: cannot run "\\./objective": [^)]*\\)\\), ' +
              trial3 +
              "the trials stay pending unless Redis wrote the last attempt: tell them again once Redis is back$"
          : `^arqon solve: could not record ${trial3}` +
              "the trial stays pending unless Redis wrote the last attempt: tell it again once Redis is back$",
      ),
    );
  }, 30_000);
});
