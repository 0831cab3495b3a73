/**
 * `arqon solve --storage` beats by default: its asks record a heartbeat of 10 s (none with
 * `--heartbeat-ms 0`), and a worker that waits for the trial of one killed with it fails that
 * trial and finishes the study.
 */
import { afterAll, describe, expect, it } from "vitest";
import { openSharedStudy } from "../src/study/index.js";
import { journalKey } from "../src/study/journal.js";
import { lines, removeTempDirs, runArqonInProcess } from "./support/cli-run.js";
import { heartbeatChild } from "./support/heartbeat-child-run.js";
import { redisForFile } from "./support/redis-server.js";
import { sharedSolveArgs, simplexConfig, simplexWorkDir } from "./support/simplex-study.js";

const redis = redisForFile();
afterAll(removeTempDirs);

const CONFIG = simplexConfig(30);
const workDir = () => simplexWorkDir(CONFIG);

async function askEntries(study: string): Promise<Record<string, unknown>[]> {
  return (await redis.admin.lrange(journalKey(study), 0, -1))
    .map((text) => JSON.parse(text))
    .filter((e) => e.op === "ask");
}

const solve = (study: string, ...flags: string[]) => sharedSolveArgs(redis.server.url, study, flags);

describe("arqon solve --storage heartbeats", () => {
  it("beats every 10 s by default, and not at all with --heartbeat-ms 0", async () => {
    const dir = workDir();
    expect((await runArqonInProcess(solve("cli-hb-default"), dir)).status).toBe(0);
    const beating = await askEntries("cli-hb-default");
    expect(beating).toHaveLength(CONFIG.budget);
    expect(new Set(beating.map((e) => e.beatMs))).toEqual(new Set([10_000]));
    // One heartbeat for the whole run, deleted at the end.
    expect(new Set(beating.map((e) => e.beat)).size).toBe(1);
    expect(await redis.admin.keys("arqon:study:cli-hb-default:beat:*")).toEqual([]);

    expect((await runArqonInProcess(solve("cli-hb-off", "--heartbeat-ms", "0"), dir)).status).toBe(0);
    const silent = await askEntries("cli-hb-off");
    expect(silent).toHaveLength(CONFIG.budget);
    for (const entry of silent) expect(entry).not.toHaveProperty("beat");
  }, 60_000);

  it("refuses a --heartbeat-ms it cannot beat at, and one without --storage", async () => {
    const dir = workDir();
    for (const given of ["50", "1.5", "x", "71582789"]) {
      const { status, stderr } = await runArqonInProcess(solve("cli-hb-bad", "--heartbeat-ms", given), dir);
      expect(status).toBe(2);
      expect(lines(stderr).at(-1)).toBe(
        `arqon solve: --heartbeat-ms must be 0 (no heartbeat) or a whole number of ms in [100, 71582788], got ${JSON.stringify(given)}`,
      );
    }
    expect(await redis.admin.exists(journalKey("cli-hb-bad"))).toBe(0);
    const local = [
      "solve",
      "--config",
      "c.json",
      "--heartbeat-ms",
      "500",
      "--",
      process.execPath,
      "objective.js",
    ];
    const { status, stderr } = await runArqonInProcess(local, dir);
    expect(status).toBe(2);
    expect(lines(stderr).at(-1)).toBe(
      "arqon solve: --heartbeat-ms needs --storage (it applies to a shared study)",
    );
  }, 60_000);

  it("fails the trial of a worker killed holding it, and finishes the study", async () => {
    const name = "cli-hb-dead";
    const study = await openSharedStudy(CONFIG, { redis: redis.server.url, study: name, worker: "main" });
    while (study.asked < 12) {
      const [trial] = (await study.ask())!;
      const { x, y } = trial!.params as { x: number; y: number };
      await study.tell({ id: trial!.id, value: (x - 1) ** 2 + (y + 2) ** 2 });
    }
    // A worker with a heartbeat takes the simplex's 13th point and is killed.
    const dying = heartbeatChild(redis.server.url, name, CONFIG, "die", 100);
    const held = await dying.id;
    expect((await dying.exit).signal).toBe("SIGKILL");
    const { status, stdout, stderr } = await runArqonInProcess(solve(name), workDir());
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ stopped: false, pending: 0, evaluations: CONFIG.budget - 13 });
    // It says which trial it failed, and why.
    expect(lines(stderr)).toContain(
      `trial ${held} marked failed in study ${name}: the worker holding it stopped beating`,
    );
    await study.refresh();
    expect(study.trialStatus(held)).toBe("failed");
    expect(study.asked).toBe(CONFIG.budget);
    await study.close();
  }, 60_000);
});
