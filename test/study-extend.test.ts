// A shared study's budget grows for every worker: SharedStudy.growBudget, a journal entry each
// worker replays, and a worker opened with a larger budget, against a real redis-server.
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import { createSolver, type Solver } from "../src/solver/solver.js";
import { openSharedStudy, runSharedStudy, type SharedStudy } from "../src/study/index.js";
import { branin } from "../src/testing/functions.js";
import { removeTempDirs, runArqonAsync, tempDir, writeJson } from "./support/cli-run.js";
import { redisForFile } from "./support/redis-server.js";
import { until } from "./support/until.js";

const redis = redisForFile();
afterAll(removeTempDirs);

const BRANIN = branin();
const config = (budget: number) => ({ seed: 7, budget, bounds: BRANIN.bounds });

/** Asks and tells one trial at a time until the study has nothing more to ask; returns how many. */
async function runOut(study: SharedStudy): Promise<number> {
  let ran = 0;
  for (let batch = await study.ask(); batch !== null && batch.length > 0; batch = await study.ask()) {
    for (const trial of batch) await study.tell({ id: trial.id, value: BRANIN.evaluate(trial.params) });
    ran += batch.length;
  }
  return ran;
}

/** The same for a local solver. */
function runOutLocal(solver: Solver): void {
  for (let batch = solver.ask({ max: 1 }); batch !== null; batch = solver.ask({ max: 1 }))
    for (const trial of batch) solver.tell({ id: trial.id, value: BRANIN.evaluate(trial.params) });
}

async function journal(study: string): Promise<{ op: string; budget?: number }[]> {
  const client = new Redis(redis.server.url);
  const entries = (await client.lrange(`arqon:study:${study}:journal`, 0, -1)).map((e) => JSON.parse(e));
  client.disconnect();
  return entries;
}

describe("SharedStudy.growBudget", () => {
  it("grows a spent study for every worker, and asks what a local solver grown alike asks", async () => {
    const options = { redis: redis.server.url, study: "grow" };
    const a = await openSharedStudy(config(12), { ...options, worker: "a" });
    expect(await runOut(a)).toBe(12);
    expect(await a.ask()).toBeNull();
    expect(await a.growBudget(18)).toBe(18);
    expect(a.config.budget).toBe(18);
    // A worker joining with the study's first config replays the growth, and runs the new trials.
    const b = await openSharedStudy(config(12), { ...options, worker: "b" });
    expect(b.config.budget).toBe(18);
    expect(b.asked).toBe(12);
    expect(await runOut(b)).toBe(6);
    await a.refresh();
    expect(a.asked).toBe(18);
    const local = createSolver(config(12));
    runOutLocal(local);
    local.extend(6);
    runOutLocal(local);
    expect(b.best()).toEqual(local.best());
    expect((await journal("grow")).filter((e) => e.op === "extend")).toEqual([
      expect.objectContaining({ op: "extend", worker: "a", budget: 18 }),
    ]);
    local.stop();
    await Promise.all([a.close(), b.close()]);
  });

  it("grows once to a total however often it is asked: two workers, and a retried call", async () => {
    const options = { redis: redis.server.url, study: "grow-both" };
    const [a, b] = await Promise.all(
      ["a", "b"].map((worker) => openSharedStudy(config(10), { ...options, worker })),
    );
    expect(await Promise.all([a!.growBudget(17), b!.growBudget(17)])).toEqual([17, 17]);
    // What a caller does after a lost reply: ask again, which finds the budget reached.
    expect(await a!.growBudget(17)).toBe(17);
    // A smaller total than the study has changes nothing either.
    expect(await b!.growBudget(12)).toBe(17);
    await Promise.all([a!.refresh(), b!.refresh()]);
    expect(a!.config.budget).toBe(17);
    expect(b!.config.budget).toBe(17);
    expect((await journal("grow-both")).filter((e) => e.op === "extend")).toHaveLength(1);
    await Promise.all([a!.close(), b!.close()]);
  });

  it("grows the study to a larger budget a worker opens it with, once however many do", async () => {
    const options = { redis: redis.server.url, study: "grow-to" };
    const first = await openSharedStudy(config(10), { ...options, worker: "first" });
    const joined = await Promise.all(
      ["c", "d", "e"].map((worker) => openSharedStudy(config(20), { ...options, worker })),
    );
    for (const handle of joined) expect(handle.config.budget).toBe(20);
    expect((await journal("grow-to")).filter((e) => e.op === "extend")).toHaveLength(1);
    // The study's first budget, or any up to its grown one, still joins, and changes nothing.
    const late = await openSharedStudy(config(15), { ...options, worker: "late" });
    expect(late.config.budget).toBe(20);
    await first.refresh();
    expect(first.config.budget).toBe(20);
    await Promise.all([first, late, ...joined].map((handle) => handle.close()));
  });

  it("refuses what is not a whole number, and a worker's budget below the study's first, writing nothing", async () => {
    const options = { redis: redis.server.url, study: "grow-bad" };
    const study = await openSharedStudy(config(10), options);
    const before = (await journal("grow-bad")).length;
    await expect(study.growBudget(0)).rejects.toThrow(
      new UsageError("growBudget: budget must be a whole number ≥ 1, got 0"),
    );
    await expect(study.growBudget(12.5)).rejects.toThrow(UsageError);
    await expect(openSharedStudy(config(8), options)).rejects.toThrow(
      "study grow-bad: budget: the study began with 10 trials, this worker gives 8; give the study's budget, or a larger one to grow it",
    );
    expect(await journal("grow-bad")).toHaveLength(before);
    expect(study.config.budget).toBe(10);
    await study.close();
  });

  it("compares a larger budget's config at the study's first budget: a probe ratio written out is another probe", async () => {
    const options = { redis: redis.server.url, study: "grow-ratio" };
    const study = await openSharedStudy(config(100), options);
    // Written out, 0.2 is followed uncapped: 20 points at budget 100, where the default takes 10.
    await expect(openSharedStudy({ ...config(120), probeRatio: 0.2 }, options)).rejects.toThrow(
      "study grow-ratio: exists with another solver configuration: probeSize: the study has 10, this worker 20",
    );
    expect((await journal("grow-ratio")).filter((e) => e.op === "extend")).toHaveLength(0);
    await study.close();
  });

  it("sends a runSharedStudy worker that waits for the others' last trials back to asking", async () => {
    const options = { redis: redis.server.url, study: "grow-running" };
    const holder = await openSharedStudy(config(6), { ...options, worker: "holder" });
    const [held] = (await holder.ask())!;
    const runner = await openSharedStudy(config(6), { ...options, worker: "runner" });
    let done = 0;
    const running = runSharedStudy(runner, (params) => BRANIN.evaluate(params), {
      pollMs: 5,
      settleMs: 20_000,
      onTrial: () => done++,
    });
    // The runner has spent the budget and waits for the holder's trial.
    await until(() => done === 5, 10_000, "the runner's five trials");
    await holder.growBudget(10);
    await holder.tell({ id: held!.id, value: BRANIN.evaluate(held!.params) });
    const result = await running;
    expect(result.evaluated).toHaveLength(9);
    expect(result.pending).toBe(0);
    expect(runner.asked).toBe(10);
    await Promise.all([holder.close(), runner.close()]);
  });

  it("sends an arqon solve --storage worker that waits for the last trials back to asking", async () => {
    const dir = tempDir();
    const bounds = { x: { min: -5, max: 5 } };
    writeJson(dir, "c.json", { seed: 5, budget: 12, bounds });
    const holder = await openSharedStudy(
      { seed: 5, budget: 12, bounds },
      { redis: redis.server.url, study: "grow-cli-wait" },
    );
    const [held] = (await holder.ask())!;
    let heard = "";
    const worker = runArqonAsync(
      [
        ...["solve", "--config", "c.json", "--storage", redis.server.url, "--study", "grow-cli-wait", "--"],
        ...[process.execPath, "-e", "console.log((Number(process.env.ARQON_X) - 1.5) ** 2)"],
      ],
      dir,
      (chunk) => {
        heard += chunk;
      },
    );
    // The worker has run the other eleven (the probe's other points give the strategy its first
    // results) and waits for the held trial: it says so once its ask found the budget spent (a
    // study grown before that ask would simply be asked on, which is not the case tested here).
    await until(
      () => heard.includes("budget spent: waiting"),
      20_000,
      "the worker waiting for the held trial",
    );
    await holder.refresh();
    expect(holder.told).toBe(11);
    await holder.growBudget(15);
    await holder.tell({ id: held!.id, value: 1 });
    const run = await worker;
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain("study grow-cli-wait grown to 15 trials: asking again");
    expect(JSON.parse(run.stdout.trim())).toMatchObject({ evaluations: 14, pending: 0 });
    await holder.close();
  });

  it("goes on from the command line: arqon solve --storage with a larger budget in --config", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 5, budget: 4, bounds: { x: { min: -5, max: 5 } } });
    writeJson(dir, "more.json", { seed: 5, budget: 7, bounds: { x: { min: -5, max: 5 } } });
    const solve = (file: string) =>
      runArqonAsync(
        [
          ...[
            "solve",
            "--config",
            file,
            "--storage",
            redis.server.url,
            "--study",
            "grow-cli",
            "--quiet",
            "--",
          ],
          ...[process.execPath, "-e", "console.log((Number(process.env.ARQON_X) - 1.5) ** 2)"],
        ],
        dir,
      );
    const first = await solve("c.json");
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout.trim())).toMatchObject({ evaluations: 4 });
    const more = await solve("more.json");
    expect(more.status, more.stderr).toBe(0);
    expect(JSON.parse(more.stdout.trim())).toMatchObject({ evaluations: 3, pending: 0 });
  });
});
