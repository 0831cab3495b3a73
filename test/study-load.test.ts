/**
 * Joining only an existing shared study (`loadSharedStudy`, `create: false`), and the commands that
 * must never begin one: `arqon tell`, `report` and `status` with `--storage`.
 */
import { afterAll, describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import { loadSharedStudy, openSharedStudy } from "../src/study/index.js";
import { removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";
import { redisForFile } from "./support/redis-server.js";

const redis = redisForFile();
afterAll(removeTempDirs);

const CONFIG = {
  seed: 3,
  budget: 6,
  probeRatio: 0.5,
  bounds: { x: { min: 0, max: 1 } },
  pruner: { kind: "median" as const, startupTrials: 1 },
};

const journalKey = (study: string) => `arqon:study:${study}:journal`;

describe("loadSharedStudy and create: false", () => {
  it("refuse a study that does not exist, and write nothing", async () => {
    const missing = "study no-such: does not exist (Redis holds no arqon:study:no-such:journal)";
    await expect(loadSharedStudy({ redis: redis.server.url, study: "no-such" })).rejects.toThrow(missing);
    await expect(
      openSharedStudy(CONFIG, { redis: redis.server.url, study: "no-such", create: false }),
    ).rejects.toThrow(UsageError);
    expect(await redis.admin.exists(journalKey("no-such"))).toBe(0);
  });

  it("join an existing study: load under its own config, create: false checked against the given one", async () => {
    const first = await openSharedStudy(CONFIG, { redis: redis.server.url, study: "existing" });
    const [trial] = (await first.ask())!;
    await first.tell({ id: trial!.id, value: 0.25 });
    const loaded = await loadSharedStudy({ redis: redis.server.url, study: "existing" });
    expect(loaded.config).toEqual(first.config);
    expect(loaded.best()).toEqual(first.best());
    const joined = await openSharedStudy(CONFIG, {
      redis: redis.server.url,
      study: "existing",
      create: false,
    });
    expect(joined.asked).toBe(1);
    await expect(
      openSharedStudy(
        { ...CONFIG, budget: 5 },
        { redis: redis.server.url, study: "existing", create: false },
      ),
    ).rejects.toThrow("study existing: budget: the study began with 6 trials, this worker gives 5");
    await Promise.all([first.close(), loaded.close(), joined.close()]);
  });

  it("refuse options they do not take", async () => {
    await expect(
      openSharedStudy(CONFIG, { redis: redis.server.url, study: "x", create: "no" as never }),
    ).rejects.toThrow('create: must be true or false, got "no"');
    await expect(
      loadSharedStudy({ redis: redis.server.url, study: "x", create: true } as never),
    ).rejects.toThrow(
      'loadSharedStudy: unknown option "create" (known: redis, study, worker, timeoutMs, heartbeatMs)',
    );
  });
});

describe("arqon tell, report and status with --storage", () => {
  it("refuse a study that does not exist, creating nothing", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONFIG);
    const at = ["--storage", redis.server.url, "--study", "typo"];
    const runs = [
      await runArqonInProcess(
        ["report", ...at, "--config", "c.json", "--id", "1", "--step", "1", "--value", "1"],
        dir,
      ),
      await runArqonInProcess(["tell", ...at], dir, '[{"id":1,"value":1}]'),
      await runArqonInProcess(["status", ...at], dir),
    ];
    for (const [run, command] of runs.map((r, i) => [r, ["report", "tell", "status"][i]] as const)) {
      expect(run.status).toBe(2);
      expect(run.stderr).toContain(
        `arqon ${command}: study typo: does not exist (Redis holds no arqon:study:typo:journal)`,
      );
    }
    expect(await redis.admin.exists(journalKey("typo"))).toBe(0);
  });

  it("work on an existing study without its config, and status says where it stands", async () => {
    const worker = await openSharedStudy(CONFIG, { redis: redis.server.url, study: "ops" });
    const [a, b, c] = (await worker.ask({ max: 3 }))!;
    // Trial a's curve, completed below: the median that judges b.
    await worker.report(a!.id, 1, 0.6);
    await worker.report(a!.id, 2, 0.5);
    const dir = tempDir();
    const at = ["--storage", redis.server.url, "--study", "ops"];
    const told = await runArqonInProcess(["tell", ...at], dir, JSON.stringify([{ id: a!.id, value: 0.5 }]));
    expect(told.status, told.stderr).toBe(0);
    for (const [step, value] of [
      [1, 0.9],
      [2, 0.8],
    ])
      expect(
        (
          await runArqonInProcess(
            ["report", ...at, "--id", `${b!.id}`, "--step", `${step}`, `--value=${value}`],
            dir,
          )
        ).stdout,
      ).toBe('{"prune":true}\n');
    await worker.refresh();
    await worker.tell({ id: b!.id, pruned: true });
    await worker.fail(c!.id, "crashed");
    const status = await runArqonInProcess(["status", ...at], dir);
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual({
      study: "ops",
      asked: 3,
      told: 1,
      pruned: 1,
      failed: 1,
      budget: 6,
      best: { params: a!.params, value: 0.5 },
      pending: [],
      workers: [],
    });
    await worker.close();
  });
});
