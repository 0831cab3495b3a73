/**
 * Shared-study heartbeats: a worker process that dies holding a trial is judged dead and its trial
 * failed, so a Nelder–Mead study (which waits for that trial) goes on; a worker whose objective
 * holds its event loop keeps beating from its thread and is never judged; a closed handle's trials
 * are judged after the grace period; workers without a heartbeat are never judged.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import { GRACE_BEATS } from "../src/study/heartbeat.js";
import { openSharedStudy, runSharedStudy, type SharedStudy } from "../src/study/index.js";
import { beatKey, journalKey } from "../src/study/journal.js";
import { heartbeatChild } from "./support/heartbeat-child-run.js";
import { redisForFile } from "./support/redis-server.js";

const redis = redisForFile();

const CONFIG = {
  seed: 3,
  budget: 30,
  strategy: "nelder-mead" as const,
  bounds: { x: { min: -5, max: 5 }, y: { min: -5, max: 5 } },
};
const f = (p: Record<string, unknown>) => ((p.x as number) - 1) ** 2 + ((p.y as number) + 2) ** 2;

/** The child worker (see test/support/heartbeat-child.ts) on study `study`. */
const child = (
  study: string,
  mode: "die" | "block" | "loop",
  heartbeatMs: number,
  holdMs = 0,
  config: object = CONFIG,
) => heartbeatChild(redis.server.url, study, config, mode, heartbeatMs, holdMs);

/** Tells the study's first 12 trials from this process: the 13th is a point of the simplex. */
async function evaluateTwelve(study: SharedStudy): Promise<void> {
  while (study.asked < 12) {
    const [trial] = (await study.ask())!;
    await study.tell({ id: trial!.id, value: f(trial!.params) });
  }
}

/** Calls `study.failStaleTrials()` until it fails a trial; resolves to what it failed, and when. */
async function judgeUntilFailed(
  study: SharedStudy,
  timeoutMs: number,
): Promise<{ failed: number[]; calls: number }> {
  const until = performance.now() + timeoutMs;
  for (let calls = 1; performance.now() < until; calls++) {
    const failed = await study.failStaleTrials();
    if (failed.length > 0) return { failed, calls };
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no trial judged stale within ${timeoutMs} ms`);
}

describe("a worker that dies holding a trial", () => {
  it("is judged dead: runSharedStudy fails its trial and spends the whole budget", async () => {
    const name = "hb-dead";
    const study = await openSharedStudy(CONFIG, { redis: redis.server.url, study: name, worker: "main" });
    await evaluateTwelve(study);
    const dying = child(name, "die", 50);
    const held = await dying.id;
    expect((await dying.exit).signal).toBe("SIGKILL");
    // Without the heartbeat this is where the study stopped for good (test/study-loop-stuck).
    const result = await runSharedStudy(study, f, { pollMs: 1 });
    expect(result.stuck).toEqual([]);
    expect(result.pending).toBe(0);
    expect(study.asked).toBe(CONFIG.budget);
    expect(study.trialStatus(held)).toBe("failed");
    const entries = (await redis.admin.lrange(journalKey(name), 0, -1)).map((text) => JSON.parse(text));
    const ask = entries.find((e) => e.op === "ask" && e.ids.includes(held));
    expect(ask).toMatchObject({ worker: "child-die", beatMs: 50 });
    expect(entries.filter((e) => e.op === "fail")).toEqual([
      {
        op: "fail",
        worker: "main",
        id: held,
        reason: `no heartbeat from worker child-die for more than ${(6 * 50) / 1000} s`,
        token: expect.any(String),
      },
    ]);
    // The dead worker's key expired by itself.
    expect(await redis.admin.exists(beatKey(name, ask.beat))).toBe(0);
    await study.close();
  }, 30_000);
});

describe("a worker that dies holding the study's last trial", () => {
  it("is judged while runSharedStudy waits for the last results: it reports at once, nothing pending", async () => {
    const name = "hb-settle";
    const study = await openSharedStudy(CONFIG, { redis: redis.server.url, study: name, worker: "main" });
    // Every trial but the last is told here; the child takes the last and dies.
    const stop = new AbortController();
    const onTrial = () => {
      if (study.asked === CONFIG.budget - 1) stop.abort();
    };
    await runSharedStudy(study, f, { pollMs: 1, settleMs: 0, signal: stop.signal, onTrial });
    expect(study.asked).toBe(CONFIG.budget - 1);
    const dying = child(name, "die", 50);
    const held = await dying.id;
    await dying.exit;
    // Waiting out settleMs (an hour) would time the test out.
    const result = await runSharedStudy(study, f, { pollMs: 1, settleMs: 3_600_000 });
    expect(result).toMatchObject({ evaluated: [], pending: 0, stuck: [] });
    expect(study.trialStatus(held)).toBe("failed");
    await study.close();
  }, 30_000);
});

describe("a worker whose objective holds its event loop", () => {
  it("keeps beating from its thread: never judged, and its result is recorded", async () => {
    const name = "hb-block";
    const study = await openSharedStudy(CONFIG, { redis: redis.server.url, study: name, worker: "main" });
    await evaluateTwelve(study);
    // Holds its loop for 30 beat intervals, five times what a judge needs to call it dead.
    const blocking = child(name, "block", 50, 1500);
    const held = await blocking.id;
    const judged: number[] = [];
    let calls = 0;
    let done = false;
    const exit = blocking.exit.then((outcome) => {
      done = true;
      return outcome;
    });
    while (!done) {
      judged.push(...(await study.failStaleTrials()));
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const { code, out, err } = await exit;
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out.trim().split("\n").at(-1)).toBe("told");
    expect(judged).toEqual([]);
    // The judge looked all along (not once before and once after).
    expect(calls).toBeGreaterThan(20);
    await study.refresh();
    expect(study.trialStatus(held)).toBe("told");
    await study.close();
  }, 30_000);
});

describe("a worker judged dead that was only paused", () => {
  it("finds its result refused, and its loop goes on with the next trials", async () => {
    const name = "hb-paused";
    const config = { ...CONFIG, strategy: "tpe" as const, budget: 12 };
    const judge = await openSharedStudy(config, { redis: redis.server.url, study: name, worker: "judge" });
    const paused = child(name, "loop", 20, 200, config);
    const held = await paused.id;
    // Stopped mid-evaluation, heartbeat thread and all, as a frozen VM or a SIGSTOP would be.
    paused.process.kill("SIGSTOP");
    const { failed } = await judgeUntilFailed(judge, 10_000);
    expect(failed).toEqual([held]);
    paused.process.kill("SIGCONT");
    const { code, out, err } = await paused.exit;
    expect({ code, err }).toEqual({ code: 0, err: "" });
    const result = JSON.parse(out.trim().split("\n").at(-1)!);
    expect(result.refused).toEqual([held]);
    expect(result.evaluated).toHaveLength(config.budget);
    expect(result.evaluated[0]).toBe(held);
    await judge.refresh();
    expect(judge.asked).toBe(config.budget);
    expect(judge.trialStatus(held)).toBe("failed");
    expect(judge.pendingTrials()).toEqual([]);
    await judge.close();
  }, 30_000);
});

describe("a handle that closes holding a trial", () => {
  it("deletes its beat: its trial is failed once the judge saw the beat missing for the grace period", async () => {
    const name = "hb-closed";
    const heartbeatMs = 20;
    const holder = await openSharedStudy(CONFIG, {
      redis: redis.server.url,
      study: name,
      worker: "holder",
      heartbeatMs,
    });
    const judge = await openSharedStudy(CONFIG, { redis: redis.server.url, study: name, worker: "judge" });
    const [trial] = (await holder.ask())!;
    const ask = JSON.parse((await redis.admin.lindex(journalKey(name), 1))!);
    expect(await redis.admin.get(beatKey(name, ask.beat))).toBe("holder");
    // Alive: judged again and again, never failed.
    for (let i = 0; i < 5; i++) expect(await judge.failStaleTrials()).toEqual([]);
    await holder.close();
    expect(await redis.admin.exists(beatKey(name, ask.beat))).toBe(0);
    const started = performance.now();
    const { failed, calls } = await judgeUntilFailed(judge, 10_000);
    expect(failed).toEqual([trial!.id]);
    expect(calls).toBeGreaterThan(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(GRACE_BEATS * heartbeatMs);
    expect(judge.trialStatus(trial!.id)).toBe("failed");
    // Judged once: a later call finds nothing more.
    expect(await judge.failStaleTrials()).toEqual([]);
    await judge.close();
  }, 30_000);

  it("a trial told while the judge waited stays told", async () => {
    const name = "hb-told";
    const holder = await openSharedStudy(CONFIG, {
      redis: redis.server.url,
      study: name,
      worker: "holder",
      heartbeatMs: 20,
    });
    const judge = await openSharedStudy(CONFIG, { redis: redis.server.url, study: name, worker: "judge" });
    const [trial] = (await holder.ask())!;
    const teller = await openSharedStudy(CONFIG, { redis: redis.server.url, study: name, worker: "teller" });
    await holder.close();
    // The judge has seen the beat missing once; the trial is told before it judges again.
    expect(await judge.failStaleTrials()).toEqual([]);
    await teller.tell({ id: trial!.id, value: 2 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await judge.failStaleTrials()).toEqual([]);
    expect(judge.trialStatus(trial!.id)).toBe("told");
    await Promise.all([judge.close(), teller.close()]);
  }, 30_000);
});

describe("workers without a heartbeat", () => {
  it("are never judged, and record no beat", async () => {
    const name = "hb-none";
    const holder = await openSharedStudy(CONFIG, { redis: redis.server.url, study: name, worker: "holder" });
    const judge = await openSharedStudy(CONFIG, { redis: redis.server.url, study: name, worker: "judge" });
    const [trial] = (await holder.ask())!;
    await holder.close();
    const ask = JSON.parse((await redis.admin.lindex(journalKey(name), 1))!);
    expect(ask).not.toHaveProperty("beat");
    expect(ask).not.toHaveProperty("beatMs");
    expect(await judge.failStaleTrials()).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await judge.failStaleTrials()).toEqual([]);
    expect(judge.trialStatus(trial!.id)).toBe("pending");
    await judge.close();
  });

  it("nor is a handle's own trial judged by itself", async () => {
    const name = "hb-own";
    const study = await openSharedStudy(CONFIG, { redis: redis.server.url, study: name, heartbeatMs: 10 });
    const [trial] = (await study.ask())!;
    expect(await study.failStaleTrials()).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await study.failStaleTrials()).toEqual([]);
    expect(study.trialStatus(trial!.id)).toBe("pending");
    await study.close();
  });
});

describe("the heartbeat's connection", () => {
  it("on a client you pass, beats with its options (its key prefix included)", async () => {
    const client = new Redis(redis.server.url, { keyPrefix: "tenant:" });
    const study = await openSharedStudy(CONFIG, { redis: client, study: "hb-client", heartbeatMs: 20 });
    await study.ask();
    const ask = JSON.parse((await redis.admin.lindex(`tenant:${journalKey("hb-client")}`, 1))!);
    expect(await redis.admin.exists(`tenant:${beatKey("hb-client", ask.beat)}`)).toBe(1);
    await study.close();
    expect(await redis.admin.exists(`tenant:${beatKey("hb-client", ask.beat)}`)).toBe(0);
    expect(client.status).toBe("ready");
    client.disconnect();
  });

  it("refuses a heartbeatMs that is not a whole number from 10, naming it and the value", async () => {
    for (const heartbeatMs of [5, 12.5, -10, Number.NaN, "50", 1e9])
      await expect(
        openSharedStudy(CONFIG, {
          redis: redis.server.url,
          study: "hb-bad",
          heartbeatMs: heartbeatMs as number,
        }),
      ).rejects.toThrow(
        new UsageError(
          `heartbeatMs: must be a whole number of ms from 10 to 715827882, or 0 for no heartbeat, got ${
            typeof heartbeatMs === "string" ? JSON.stringify(heartbeatMs) : String(heartbeatMs)
          }`,
        ),
      );
    // Nothing was written.
    expect(await redis.admin.exists(journalKey("hb-bad"))).toBe(0);
  });
});
