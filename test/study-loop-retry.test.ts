/**
 * runSharedStudy keeps what it evaluated through a Redis outage: a tell or fail that Redis refuses
 * is tried again until Redis is back, or until `retryMs`, when the loop rejects naming the value.
 */
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import { JournalError, openSharedStudy, runSharedStudy, type SharedStudy } from "../src/study/index.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";

const CONFIG = { seed: 1, budget: 5, bounds: { x: { min: 0, max: 1 } } };

let server: RedisServer | undefined;
const clients: Redis[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await server?.stop();
  server = undefined;
});

/** A client that fails a command at the first lost connection, its errors kept quiet. */
function client(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  clients.push(redis);
  return redis;
}

/** Set by a test that killed the server: the next refused tell or fail restarts it. */
let down = false;

/** `study`, except that a tell or fail refused while the server is down restarts it first. */
function restartingOnFailure(study: SharedStudy): SharedStudy & { failures: number } {
  let failures = 0;
  const restartAfter =
    <A extends unknown[]>(operation: (...args: A) => Promise<void>) =>
    async (...args: A) => {
      try {
        await operation(...args);
      } catch (error) {
        failures++;
        if (down) {
          down = false;
          server = await server!.restart();
        }
        throw error;
      }
    };
  const tell = restartAfter(study.tell.bind(study));
  const fail = restartAfter(study.fail.bind(study));
  return new Proxy(study, {
    get(target, key) {
      if (key === "tell") return tell;
      if (key === "fail") return fail;
      if (key === "failures") return failures;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as SharedStudy & { failures: number };
}

async function journal(url: string, study: string): Promise<Record<string, unknown>[]> {
  const entries = await client(url).lrange(`arqon:study:${study}:journal`, 0, -1);
  return entries.map((e) => JSON.parse(e));
}

/**
 * Runs `study` with the loop, telling each trial its x, and calls `disrupt` while trial `id` is
 * evaluated: the loop's rejection and the value that trial returned.
 */
async function loopFailure(
  study: SharedStudy,
  id: number,
  disrupt: () => Promise<unknown>,
  options: { settleMs: number; retryMs?: number },
): Promise<{ error: Error | undefined; lost: number | undefined }> {
  let lost: number | undefined;
  const error = await runSharedStudy(
    study,
    async (params, trial) => {
      if (trial.id === id) {
        await disrupt();
        lost = params.x as number;
      }
      return params.x as number;
    },
    options,
  ).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  return { error, lost };
}

describe("runSharedStudy during a Redis outage", () => {
  it("tries a refused tell and fail again until Redis is back, and records every value", async () => {
    server = await startRedis({ appendOnly: true });
    const opened = await openSharedStudy(CONFIG, { redis: client(server.url), study: "blip" });
    const study = restartingOnFailure(opened);
    const values = new Map<number, number>();
    const result = await runSharedStudy(
      study,
      async (params, trial) => {
        // Redis dies while trial 2 (which then throws) and trial 4 (which returns) evaluate.
        if (trial.id === 2 || trial.id === 4) {
          await server!.kill();
          down = true;
        }
        if (trial.id === 2) throw new Error("no value");
        values.set(trial.id, params.x as number);
        return params.x as number;
      },
      { settleMs: 0, onError: "skip" },
    );
    expect(study.failures).toBeGreaterThanOrEqual(2);
    expect(result).toMatchObject({ evaluated: [1, 2, 3, 4, 5], failed: [2], pending: 0 });
    const entries = await journal(server.url, "blip");
    const told = entries.filter((e) => e.op === "tell").flatMap((e) => e.results as { id: number }[]);
    expect(told).toEqual([1, 3, 4, 5].map((id) => ({ id, value: values.get(id) })));
    expect(entries.filter((e) => e.op === "fail").map((e) => e.id)).toEqual([2]);
    await opened.close();
  });

  it("rejects after retryMs naming Redis, the trial and the value it could not record", async () => {
    server = await startRedis();
    const study = await openSharedStudy(CONFIG, { redis: client(server.url), study: "down" });
    const { error, lost } = await loopFailure(
      study,
      3,
      async () => {
        await server!.kill();
      },
      { settleMs: 0, retryMs: 300 },
    );
    expect(error).toBeInstanceOf(Error);
    expect(error!.cause).toBeInstanceOf(Error);
    expect(error!.message).toBe(
      `could not record trial 3 (value ${lost}) in study down: Redis failed for 0.3 s ` +
        `(${(error!.cause as Error).message}); the trial stays pending unless Redis wrote the ` +
        "last attempt: tell it again once Redis is back",
    );
    await study.close();
  });

  it("rejects naming the trial and the value when the study was closed during its evaluation", async () => {
    server = await startRedis();
    const study = await openSharedStudy(CONFIG, { redis: client(server.url), study: "closed" });
    const { error, lost } = await loopFailure(
      study,
      2,
      async () => {
        await study.close();
      },
      { settleMs: 0 },
    );
    expect(error).toBeInstanceOf(UsageError);
    expect(error!.message).toBe(
      `could not record trial 2 (value ${lost}): study closed: closed; open it again to go on`,
    );
  });

  it("rejects naming the trial and the value when Redis came back without the study", async () => {
    server = await startRedis(); // no persistence: a restart loses the journal
    const study = await openSharedStudy(CONFIG, { redis: client(server.url), study: "wiped" });
    const { error, lost } = await loopFailure(
      study,
      2,
      async () => {
        server = await server!.restart();
      },
      { settleMs: 0 },
    );
    expect(error).toBeInstanceOf(Error);
    expect(error!.cause).toBeInstanceOf(JournalError);
    expect(error!.message).toBe(
      `could not record trial 2 (value ${lost}): ${(error!.cause as Error).message}`,
    );
    expect(error!.message).toMatch(/: study wiped: its journal was deleted or replaced/);
    await study.close();
  });

  it("stops trying again when the signal aborts, naming the trial and the value", async () => {
    server = await startRedis();
    const opened = await openSharedStudy(CONFIG, { redis: client(server.url), study: "aborted" });
    const controller = new AbortController();
    // The first refused tell aborts the loop while it waits to try again (for up to a minute).
    const study = new Proxy(opened, {
      get(target, key) {
        if (key === "tell")
          return (...args: Parameters<typeof target.tell>) =>
            target.tell(...args).catch((error: unknown) => {
              setImmediate(() => controller.abort());
              throw error;
            });
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    let lost: number | undefined;
    const error = await runSharedStudy(
      study,
      async (params, trial) => {
        if (trial.id === 3) {
          await server!.kill();
          lost = params.x as number;
        }
        return params.x as number;
      },
      { settleMs: 0, retryMs: 60_000, signal: controller.signal },
    ).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(controller.signal.aborted).toBe(true);
    expect(error).toBeInstanceOf(Error);
    expect(error!.cause).toBeInstanceOf(Error);
    expect(error!.message).toBe(
      `could not record trial 3 (value ${lost}) in study aborted: Redis failed ` +
        `(${(error!.cause as Error).message}) and the signal aborted before it was tried again; the trial ` +
        "stays pending unless Redis wrote the last attempt: tell it again once Redis is back",
    );
    await opened.close();
  }, 10_000);

  it("refuses a retryMs that is not a finite number ≥ 0", async () => {
    const study = {} as SharedStudy;
    for (const retryMs of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      await expect(runSharedStudy(study, () => 0, { retryMs })).rejects.toThrow(
        `retryMs: must be a finite number ≥ 0, got ${retryMs}`,
      );
  });
});
