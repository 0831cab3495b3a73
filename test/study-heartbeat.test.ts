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
import { simplexObjective as f, simplexConfig } from "./support/simplex-study.js";

const redis = redisForFile();

const CONFIG = simplexConfig(30);

/** The child worker (see test/support/heartbeat-child.ts) on study `study`. */
const child = (
  study: string,
  mode: "die" | "block" | "loop" | "leave" | "slow-start",
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
    const dying = child(name, "die", 100);
    const held = await dying.id;
    expect((await dying.exit).signal).toBe("SIGKILL");
    // The dead worker's key stays a while (it is how a judge sees the beat stopped), and expires:
    // read at once, before the study's run takes more of its 3 s.
    const journal = async () =>
      (await redis.admin.lrange(journalKey(name), 0, -1)).map((text) => JSON.parse(text));
    const ask = (await journal()).find((e) => e.op === "ask" && e.ids.includes(held));
    expect(ask).toMatchObject({ worker: "child-die", beatMs: 100 });
    expect(await redis.admin.pttl(beatKey(name, ask.beat))).toBeGreaterThan(0);
    // Without the heartbeat this is where the study stopped for good (test/study-loop-stuck).
    const result = await runSharedStudy(study, f, { pollMs: 1 });
    expect(result.stuck).toEqual([]);
    expect(result.pending).toBe(0);
    expect(study.asked).toBe(CONFIG.budget);
    expect(study.trialStatus(held)).toBe("failed");
    expect((await journal()).filter((e) => e.op === "fail")).toEqual([
      {
        op: "fail",
        worker: "main",
        id: held,
        reason: "no heartbeat from worker child-die for more than 0.3 s",
        token: expect.any(String),
      },
    ]);
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
    const dying = child(name, "die", 100);
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
    // Holds its loop for 30 beat intervals, ten times what a judge needs to call it dead.
    const blocking = child(name, "block", 100, 3000);
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
    const paused = child(name, "loop", 100, 200, config);
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
  it("deletes its beat: its trial is failed once the judge saw it missing for three intervals", async () => {
    const name = "hb-closed";
    const heartbeatMs = 100;
    const holder = await openSharedStudy(CONFIG, {
      redis: redis.server.url,
      study: name,
      worker: "holder",
      heartbeatMs,
    });
    const judge = await openSharedStudy(CONFIG, { redis: redis.server.url, study: name, worker: "judge" });
    const [trial] = (await holder.ask())!;
    const ask = JSON.parse((await redis.admin.lindex(journalKey(name), 1))!);
    // Alive: judged again and again for five intervals, never failed, the value changing.
    const values = new Set<string | null>();
    for (const until = performance.now() + 5 * heartbeatMs; performance.now() < until; ) {
      expect(await judge.failStaleTrials()).toEqual([]);
      values.add(await redis.admin.get(beatKey(name, ask.beat)));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(values.size).toBeGreaterThan(2);
    expect(values.has(null)).toBe(false);
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

  it("a trial told between the judge's read and its verdict stays told", async () => {
    const name = "hb-told";
    const holder = await openSharedStudy(CONFIG, {
      redis: redis.server.url,
      study: name,
      worker: "holder",
      heartbeatMs: 100,
    });
    // The judge's client tells the trial (from another handle) once its second read of the beats
    // is back: the verdict then comes after the journal moved, and must see it.
    const client = new Redis(redis.server.url);
    const judge = await openSharedStudy(CONFIG, { redis: client, study: name, worker: "judge" });
    const [trial] = (await holder.ask())!;
    const teller = await openSharedStudy(CONFIG, { redis: redis.server.url, study: name, worker: "teller" });
    await holder.close();
    let reads = 0;
    const mget = client.mget.bind(client);
    client.mget = (async (...args: Parameters<typeof mget>) => {
      const values = await mget(...args);
      if (++reads === 2) await teller.tell({ id: trial!.id, value: 2 });
      return values;
    }) as typeof client.mget;
    expect(await judge.failStaleTrials()).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    // More than three intervals after its first read, the same (no) value: a verdict, made on a
    // journal that has moved since the read.
    expect(await judge.failStaleTrials()).toEqual([]);
    expect(reads).toBe(2);
    expect(judge.trialStatus(trial!.id)).toBe("told");
    const ops = (await redis.admin.lrange(journalKey(name), 0, -1)).map((text) => JSON.parse(text).op);
    expect(ops).toEqual(["create", "ask", "tell"]);
    await Promise.all([judge.close(), teller.close()]);
    client.disconnect();
  }, 30_000);
});

describe("what a judge does not count", () => {
  /** A study whose trial is held by a closed handle (its beat gone), and a judge on `client`. */
  async function heldByClosed(name: string, client: Redis) {
    const holder = await openSharedStudy(CONFIG, {
      redis: redis.server.url,
      study: name,
      worker: "holder",
      heartbeatMs: 100,
    });
    const judge = await openSharedStudy(CONFIG, { redis: client, study: name, worker: "judge" });
    const [trial] = (await holder.ask())!;
    await holder.close();
    return { judge, id: trial!.id };
  }
  const afterGrace = () => new Promise((resolve) => setTimeout(resolve, 4 * 100));

  it("reads from before its connection was lost (a Redis restart, when nobody could beat)", async () => {
    const client = new Redis(redis.server.url);
    const { judge, id } = await heldByClosed("hb-reconnect", client);
    expect(await judge.failStaleTrials()).toEqual([]);
    // A new socket, as after a restart; the missing beat reads the same.
    client.disconnect(true);
    await new Promise((resolve) => client.once("ready", resolve));
    await afterGrace();
    expect(await judge.failStaleTrials()).toEqual([]);
    // Counted from the first read on the new socket. (Polled: a read that a busy machine stalls
    // for a beat interval judges nothing, as the next test shows.)
    await afterGrace();
    expect((await judgeUntilFailed(judge, 10_000)).failed).toEqual([id]);
    await judge.close();
    client.disconnect();
  }, 30_000);

  it("a read that took a beat interval or more (a stalled Redis may serve it before a beat)", async () => {
    const client = new Redis(redis.server.url);
    const { judge, id } = await heldByClosed("hb-slow-read", client);
    expect(await judge.failStaleTrials()).toEqual([]);
    await afterGrace();
    const mget = client.mget.bind(client);
    client.mget = (async (...args: Parameters<typeof mget>) => {
      const values = await mget(...args);
      // Half an interval more than the interval: a timer measured from the loop's cached clock can
      // fire a little before performance.now() shows its whole delay gone.
      await new Promise((resolve) => setTimeout(resolve, 150));
      return values;
    }) as typeof client.mget;
    expect(await judge.failStaleTrials()).toEqual([]);
    client.mget = mget as typeof client.mget;
    expect((await judgeUntilFailed(judge, 10_000)).failed).toEqual([id]);
    await judge.close();
    client.disconnect();
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
});

describe("a worker process that ends without closing its study", () => {
  it("exits all the same (the thread does not hold it), and its trial is then judged", async () => {
    const name = "hb-leave";
    const judge = await openSharedStudy(CONFIG, { redis: redis.server.url, study: name, worker: "judge" });
    const leaving = child(name, "leave", 100);
    const held = await leaving.id;
    expect(await leaving.exit).toMatchObject({ code: 0, signal: null, err: "" });
    const { failed } = await judgeUntilFailed(judge, 10_000);
    expect(failed).toEqual([held]);
    await judge.close();
  }, 30_000);
});

describe("the heartbeat's connection", () => {
  it("on a client you pass, beats with its options (its key prefix included)", async () => {
    const client = new Redis(redis.server.url, { keyPrefix: "tenant:" });
    const study = await openSharedStudy(CONFIG, { redis: client, study: "hb-client", heartbeatMs: 100 });
    await study.ask();
    const ask = JSON.parse((await redis.admin.lindex(`tenant:${journalKey("hb-client")}`, 1))!);
    expect(await redis.admin.exists(`tenant:${beatKey("hb-client", ask.beat)}`)).toBe(1);
    await study.close();
    expect(await redis.admin.exists(`tenant:${beatKey("hb-client", ask.beat)}`)).toBe(0);
    expect(client.status).toBe("ready");
    client.disconnect();
  });

  it("does not count the thread's own start against timeoutMs (a busy host, not a slow Redis)", async () => {
    // The child's event loop is held for a second while its thread starts, beats and reports: its
    // 300 ms to hear of the first beat count from the thread's start, not from the ask.
    const slow = child("hb-slow-start", "slow-start", 100, 1000);
    const outcome = await slow.exit;
    expect(outcome.code, outcome.err).toBe(0);
    expect(outcome.out.trim().split("\n").at(-1)).toBe("told");
  });

  it("starts on a connection without timeouts (timeoutMs: Infinity)", async () => {
    const study = await openSharedStudy(CONFIG, {
      redis: redis.server.url,
      study: "hb-no-timeout",
      heartbeatMs: 100,
      timeoutMs: Number.POSITIVE_INFINITY,
    });
    const [trial] = (await study.ask())!;
    const ask = JSON.parse((await redis.admin.lindex(journalKey("hb-no-timeout"), 1))!);
    expect(ask).toMatchObject({ ids: [trial!.id], beatMs: 100 });
    expect(await redis.admin.exists(beatKey("hb-no-timeout", ask.beat))).toBe(1);
    await study.close();
  });

  it("refuses a client whose connection the thread cannot follow (SELECT after it was made)", async () => {
    const client = new Redis(redis.server.url);
    await client.select(2);
    const study = await openSharedStudy(CONFIG, { redis: client, study: "hb-select", heartbeatMs: 100 });
    await expect(study.ask()).rejects.toThrow(
      new UsageError(
        "study hb-select: the heartbeat's own connection does not reach the Redis database this handle uses " +
          "(a client that ran SELECT after it was passed, or options a thread cannot copy): pass a URL, or a client on its first database",
      ),
    );
    // Nothing asked, and no thread left beating.
    expect(study.asked).toBe(0);
    expect(await redis.admin.keys("arqon:study:hb-select:beat:*")).toEqual([]);
    await study.close();
    client.disconnect();
  });

  it("refuses a heartbeatMs it cannot beat at, naming it and the value", async () => {
    for (const heartbeatMs of [50, 12.5, -100, Number.NaN, "500", 1e9])
      await expect(
        openSharedStudy(CONFIG, {
          redis: redis.server.url,
          study: "hb-bad",
          heartbeatMs: heartbeatMs as number,
        }),
      ).rejects.toThrow(
        new UsageError(
          `heartbeatMs: must be 0 (no heartbeat) or a whole number of ms in [100, 71582788], got ${
            typeof heartbeatMs === "string" ? JSON.stringify(heartbeatMs) : String(heartbeatMs)
          }`,
        ),
      );
    // Nothing was written.
    expect(await redis.admin.exists(journalKey("hb-bad"))).toBe(0);
  });
});
