/**
 * `arqon tell --storage`: results and failures told to a shared study from the command line, as
 * an operator does for the trials a worker that died left pending.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSharedStudy } from "../src/study/index.js";
import { lines, removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  removeTempDirs();
  await server.stop();
});

// Five probe points: all can be asked at once.
const CONFIG = { seed: 2, budget: 10, probeRatio: 0.5, bounds: { x: { min: -5, max: 5 } } };

/** A study with three trials asked by a worker that then went away, and the dir of its config. */
async function threePending(study: string) {
  const worker = await openSharedStudy(CONFIG, { redis: server.url, study });
  const trials = (await worker.ask({ max: 3 }))!;
  await worker.close();
  const dir = tempDir();
  writeJson(dir, "c.json", CONFIG);
  const tell = (results: unknown, ...extra: string[]) =>
    runArqonInProcess(
      ["tell", "--storage", server.url, "--study", study, "--config", "c.json", ...extra],
      dir,
      JSON.stringify(results),
    );
  return { ids: trials.map((t) => t.id), dir, tell };
}

async function statusOf(study: string, id: number) {
  const reader = await openSharedStudy(CONFIG, { redis: server.url, study });
  try {
    return {
      pending: reader.pendingTrials().some((t) => t.id === id),
      best: reader.best(),
    };
  } finally {
    await reader.close();
  }
}

describe("arqon tell --storage", () => {
  it("tells a value and fails a trial of a shared study in one call", async () => {
    const { ids, tell } = await threePending("t-both");
    const run = await tell([
      { id: ids[0], value: 0.5 },
      { id: ids[1], failed: "worker died" },
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ told: 1, failed: 1, best: { value: 0.5 } });
    expect(lines(run.stderr).at(-1)).toBe(
      "told 1 result(s), marked 1 failed in study t-both: 1 told of 3 asked, 1 pending",
    );
    expect(await statusOf("t-both", ids[1]!)).toMatchObject({ pending: false, best: { value: 0.5 } });
    expect(await statusOf("t-both", ids[2]!)).toMatchObject({ pending: true });
  });

  it("refuses the whole batch when a failed trial is not pending, recording nothing", async () => {
    const { ids, tell } = await threePending("t-refused");
    const run = await tell([
      { id: ids[0], value: 0.5 },
      { id: 99, failed: "gone" },
    ]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      "arqon tell: results refused, nothing was told: results[1].id: trial 99 was never asked in study t-refused",
    );
    expect(await statusOf("t-refused", ids[0]!)).toMatchObject({ pending: true, best: null });
    // One already settled is named as such: a repeated command must not read as never asked.
    expect((await tell([{ id: ids[1], failed: "worker died" }])).status).toBe(0);
    expect((await tell([{ id: ids[0], value: 0.5 }])).status).toBe(0);
    const again = await tell([
      { id: ids[1], failed: "worker died" },
      { id: ids[0], failed: "worker died" },
    ]);
    expect(again.status).toBe(2);
    expect(lines(again.stderr).at(-1)).toBe(
      "arqon tell: results refused, nothing was told: " +
        `results[0].id: trial ${ids[1]} was already marked failed in study t-refused; ` +
        `results[1].id: trial ${ids[0]} was already told in study t-refused`,
    );
  });

  it("names a result the study refuses by its place in the input", async () => {
    const { ids, tell } = await threePending("t-bounds");
    const run = await tell([
      { id: ids[0], failed: "worker died" },
      { params: { x: 99 }, value: 1 },
    ]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/results refused, nothing was told: results\[1\]\.params\.x: /);
    expect(await statusOf("t-bounds", ids[0]!)).toMatchObject({ pending: true });
  });

  it("refuses another config than the study's, and flags that belong to one mode or the other", async () => {
    const { dir } = await threePending("t-flags");
    writeJson(dir, "other.json", { ...CONFIG, seed: 3 });
    const base = ["tell", "--storage", server.url, "--study", "t-flags"];
    const one = JSON.stringify([{ id: 0, failed: "worker died" }]);
    const other = await runArqonInProcess([...base, "--config", "other.json"], dir, one);
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/^arqon tell: .*t-flags.*seed/m);
    const both = await runArqonInProcess([...base, "--config", "c.json", "--state", "s.json"], dir, one);
    expect(both.stderr).toContain("arqon tell: give --state or --storage, not both");
    const noStudy = await runArqonInProcess(
      ["tell", "--storage", server.url, "--config", "c.json"],
      dir,
      "[]",
    );
    expect(noStudy.stderr).toContain("arqon tell: --storage needs --study <name>");
    // Without --config, the study's own configuration: the results are checked against it.
    const noConfig = await runArqonInProcess(base, dir, one);
    expect(noConfig.stderr).toContain(
      "arqon tell: results refused, nothing was told: results[0].id: trial 0 was never asked in study t-flags",
    );
    const noStorage = await runArqonInProcess(["tell", "--state", "s.json", "--study", "t-flags"], dir, one);
    expect(noStorage.stderr).toContain("arqon tell: --study needs --storage (it names a shared study)");
    for (const run of [both, noStudy, noConfig, noStorage]) expect(run.status).toBe(2);
  });
});
