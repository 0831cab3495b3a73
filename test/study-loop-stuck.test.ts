/**
 * A Nelder–Mead study waits for its simplex's last point: when the worker holding it died, the
 * other workers stop waiting once the study has not moved for `stallMs`, and name the trial.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stuckMessage } from "../src/cli/solve-shared.js";
import { UsageError } from "../src/errors.js";
import { openSharedStudy, runSharedStudy, type SharedStudy } from "../src/study/index.js";
import { lines, removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";
import {
  simplexObjective as f,
  sharedSolveArgs,
  simplexConfig,
  simplexWorkDir,
} from "./support/simplex-study.js";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  removeTempDirs();
  await server.stop();
});

const CONFIG = simplexConfig(30);

/**
 * A worker that evaluates the study's first 12 trials, then takes the 13th (a point of the simplex)
 * and dies holding it: the study can propose nothing more until it is told.
 */
async function dieHoldingATrial(study: string): Promise<number> {
  const dead = await openSharedStudy(CONFIG, { redis: server.url, study, worker: "dead" });
  for (;;) {
    const [trial] = (await dead.ask())!;
    if (dead.asked > 12) {
      await dead.close();
      return trial!.id;
    }
    await dead.tell({ id: trial!.id, value: f(trial!.params) });
  }
}

describe("a worker died holding the trial a Nelder–Mead study waits for", () => {
  it("runSharedStudy stops waiting after stallMs and names the stuck trial", async () => {
    const held = await dieHoldingATrial("nm-loop");
    const study = await openSharedStudy(CONFIG, { redis: server.url, study: "nm-loop" });
    const result = await runSharedStudy(study, f, { stallMs: 300, pollMs: 1 });
    expect(result.stuck).toEqual([held]);
    expect(result.pending).toBe(1);
    expect(study.asked).toBeLessThan(CONFIG.budget);
    expect(result.best).toEqual(study.best());
    await study.close();
  }, 15_000);

  it("arqon solve --storage --stall-ms prints its JSON with the pending trial, names it, and exits 1", async () => {
    const held = await dieHoldingATrial("nm-cli");
    const dir = simplexWorkDir(CONFIG);
    const args = sharedSolveArgs(server.url, "nm-cli", ["--stall-ms", "300"]);
    const { status, stdout, stderr } = await runArqonInProcess(args, dir);
    expect(status).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ stopped: true, interrupted: false, pending: 1 });
    // A long wait is no silent one: it says what it waits for, once.
    expect(lines(stderr).filter((line) => line.startsWith("waiting: "))).toEqual([
      `waiting: the study can propose no trial until trial ${held} is told (held by worker dead)`,
    ]);
    const results = `[{"id":${held},"failed":"worker died"}]`;
    const tell = `arqon tell --storage=${server.url} --study=nm-cli --config=c.json`;
    expect(lines(stderr).at(-1)).toBe(
      `arqon solve: study nm-cli can propose no trial until trial ${held} is told, and nothing ` +
        "moved for 0.3 s (held by worker dead: did it die?); mark it failed with " +
        `echo '${results}' | ${tell} (or study.fail of arqon/study), or run the same command again ` +
        "to wait longer",
    );
    // Doing as it says: the trial is failed, and the same command runs the study to its end.
    const told = await runArqonInProcess(tell.split(" ").slice(1), dir, results);
    expect(told.status, told.stderr).toBe(0);
    expect(JSON.parse(told.stdout)).toMatchObject({ told: 0, failed: 1 });
    expect(lines(told.stderr).at(-1)).toMatch(
      /^told 0 result\(s\), marked 1 failed in study nm-cli: \d+ told of \d+ asked, 0 pending$/,
    );
    const again = await runArqonInProcess(args, dir);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ stopped: false, pending: 0 });
  }, 30_000);

  it("arqon solve --stall-ms also ends the wait once the budget is spent, and names the trial", async () => {
    // The dead worker asked the study's last trial and died holding it.
    const config = { ...CONFIG, strategy: "tpe" as const, budget: 8 };
    const dead = await openSharedStudy(config, { redis: server.url, study: "spent", worker: "dead" });
    let held = 0;
    for (let trials = await dead.ask(); trials !== null; trials = await dead.ask()) {
      const [trial] = trials;
      if (dead.asked === config.budget) held = trial!.id;
      else await dead.tell({ id: trial!.id, value: f(trial!.params) });
    }
    await dead.close();
    const dir = tempDir();
    writeJson(dir, "c.json", config);
    const stalled = ["--storage", server.url, "--study", "spent", "--stall-ms", "300"];
    const { status, stdout, stderr } = await runArqonInProcess(
      ["solve", "--config", "c.json", ...stalled, "--", process.execPath, "-e", "console.log(1)"],
      dir,
    );
    // Its own work is done: a trial still running elsewhere (or held by a dead worker) is no
    // failure of this worker, which ends its wait after 0.3 s unmoved, not 60 s.
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ stopped: false, pending: 1 });
    expect(lines(stderr)).toContain(
      `budget spent: waiting while the study moves, as the study is over once trial ${held} is told (held by worker dead)`,
    );
    expect(lines(stderr).at(-1)).toBe(
      `done: study spent, 8 trials asked, 7 told, trial ${held} still pending (held by worker dead; ` +
        `if it died, mark it failed with echo '[{"id":${held},"failed":"worker died"}]' | arqon tell ` +
        `--storage=${server.url} --study=spent --config=c.json)`,
    );
  }, 30_000);

  it("refuses a stallMs that is not a number ≥ 0 (Infinity, the default, never stops)", async () => {
    const study = {} as SharedStudy;
    for (const stallMs of [-1, Number.NaN, Number.NEGATIVE_INFINITY, "60000" as never]) {
      const refused = runSharedStudy(study, () => 0, { stallMs });
      // A UsageError, as every other bad option of the loop is.
      await expect(refused).rejects.toThrow(UsageError);
      await expect(refused).rejects.toThrow(
        `stallMs: must be a number ≥ 0, or Infinity never to stop (the default), got ${stallMs}`,
      );
    }
    await expect(runSharedStudy(study, () => 0, { pollMs: -1 })).rejects.toThrow(UsageError);
  });
});

describe("the command the stall message gives", () => {
  const options = {
    study: "-cache",
    configPath: "my config.json",
    concurrency: 1,
    onError: "stop",
    quiet: false,
    stallMs: 300,
  } as const;

  it("keeps the password out and says where it goes, and quotes what the shell would split", () => {
    const message = stuckMessage("-cache", [3, 4], ["gpu-1:40", "gpu-2:41"], {
      ...options,
      storage: "redis://ops:s3cret@db:6379",
    });
    expect(message).not.toContain("s3cret");
    expect(message).toContain(
      `echo '[{"id":3,"failed":"worker died"},{"id":4,"failed":"worker died"}]' | arqon tell ` +
        "'--storage=redis://ops:<password>@db:6379' --study=-cache '--config=my config.json'",
    );
  });

  it("names the workers holding the trials, each once, and falls back when none is known", () => {
    const stall = { ...options, storage: "redis://db:6379" };
    expect(stuckMessage("c", [3, 4, 5], ["gpu-1:40", "gpu-2:41", "gpu-1:40"], stall)).toContain(
      "(held by workers gpu-1:40, gpu-2:41: did one die?)",
    );
    expect(stuckMessage("c", [3, 4], ["gpu-1:40", "gpu-1:40"], stall)).toContain(
      "(held by worker gpu-1:40: did it die?); mark them failed",
    );
    expect(stuckMessage("c", [3], [undefined], stall)).toContain("(did the worker holding it die?)");
  });
});
