/**
 * A handle whose study's journal was deleted (`DEL`, a Redis restart without persistence) or
 * re-created under the same name fails its next operation with a `JournalError` naming the study:
 * it neither retries without end nor replays another study's journal as its own.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { SOLVER_RULES } from "../src/solver/solver-rules.js";
import { JournalError, openSharedStudy, type SharedStudy } from "../src/study/index.js";
import { redisForFile } from "./support/redis-server.js";

const redis = redisForFile();

const configA = { seed: 1, budget: 20, bounds: { x: { min: 0, max: 1 } } };
const configB = { seed: 99, budget: 50, bounds: { x: { min: 1000, max: 2000 } } };
const key = (study: string) => `arqon:study:${study}:journal`;

/** Asks and tells `n` trials (2n journal entries). */
async function run(study: SharedStudy, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const [trial] = (await study.ask())!;
    await study.tell({ id: trial!.id, value: trial!.params.x as number });
  }
}

async function rejection(operation: Promise<unknown>): Promise<Error> {
  const error = await operation.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error, "the operation should have been refused").toBeDefined();
  return error!;
}

const REPLACED = (study: string) =>
  new RegExp(`^study ${study}: its journal was deleted or replaced since this worker read it`);

describe("a shared study whose journal was deleted or replaced", () => {
  it("fails the next operation once the journal was deleted, and writes nothing", async () => {
    const study = await openSharedStudy(configA, { redis: redis.server.url, study: "deleted", worker: "A" });
    await run(study, 3);
    await redis.admin.del(key("deleted"));
    const error = await rejection(study.ask());
    expect(error).toBeInstanceOf(JournalError);
    expect((error as JournalError).replaced).toBe(true);
    expect(error.message).toMatch(REPLACED("deleted"));
    expect(await redis.admin.exists(key("deleted"))).toBe(0);
    // The handle still shows the study it replayed; the next call is refused the same way.
    expect(study.asked).toBe(3);
    await expect(study.tell({ id: 1, value: 1 })).rejects.toThrow(REPLACED("deleted"));
    await study.close();
  }, 10_000);

  it("refuses to merge into a study re-created under the same name with another config", async () => {
    const a = await openSharedStudy(configA, { redis: redis.server.url, study: "recreated", worker: "A" });
    await run(a, 3);
    await redis.admin.del(key("recreated"));
    const b = await openSharedStudy(configB, { redis: redis.server.url, study: "recreated", worker: "B" });
    await run(b, 8); // longer than what A replayed
    const length = await redis.admin.llen(key("recreated"));
    await expect(a.ask()).rejects.toThrow(REPLACED("recreated"));
    await expect(a.refresh()).rejects.toThrow(JournalError);
    expect(a.asked).toBe(3);
    expect(a.config.bounds).toEqual(configA.bounds);
    const entries = (await redis.admin.lrange(key("recreated"), 0, -1)).map((e) => JSON.parse(e));
    expect(entries).toHaveLength(length);
    expect(entries.filter((e) => e.worker === "A")).toEqual([]);
    await a.close();
    await b.close();
  }, 10_000);

  it("tells a re-creation with the same config from the study it replayed", async () => {
    const a = await openSharedStudy(configA, { redis: redis.server.url, study: "same-config", worker: "A" });
    await run(a, 2);
    await redis.admin.del(key("same-config"));
    const b = await openSharedStudy(configA, { redis: redis.server.url, study: "same-config", worker: "B" });
    await run(b, 4);
    const length = await redis.admin.llen(key("same-config"));
    // On read (refresh) and on append (ask) alike.
    await expect(a.refresh()).rejects.toThrow(REPLACED("same-config"));
    await expect(a.ask()).rejects.toThrow(REPLACED("same-config"));
    expect(await redis.admin.llen(key("same-config"))).toBe(length);
    // A handle opened afresh joins the new study.
    const again = await openSharedStudy(configA, {
      redis: redis.server.url,
      study: "same-config",
      worker: "A",
    });
    expect(again.asked).toBe(4);
    await again.close();
    await a.close();
    await b.close();
  }, 10_000);

  it("checks in the append itself, for a journal replaced between the read and the append", async () => {
    const client = new Redis(redis.server.url, { maxRetriesPerRequest: 1 });
    const study = await openSharedStudy(configA, { redis: client, study: "raced", worker: "A" });
    await run(study, 2);
    // The next append (the study's only eval) runs just after another study took the name and
    // wrote as many entries as this handle replayed: only the append's own check can tell.
    const evaluate = client.eval.bind(client) as (...args: unknown[]) => Promise<unknown>;
    (client as { eval: unknown }).eval = async (...args: unknown[]) => {
      (client as { eval: unknown }).eval = evaluate;
      await redis.admin.del(key("raced"));
      const other = await openSharedStudy(configA, { redis: redis.server.url, study: "raced", worker: "B" });
      await run(other, 2);
      await other.close();
      return evaluate(...args);
    };
    const error = await rejection(study.ask());
    expect(error).toBeInstanceOf(JournalError);
    expect(error.message).toMatch(REPLACED("raced"));
    const entries = (await redis.admin.lrange(key("raced"), 0, -1)).map((e) => JSON.parse(e));
    expect(entries.filter((e) => e.worker === "A")).toEqual([]);
    expect(study.asked).toBe(2);
    await study.close();
    client.disconnect();
  }, 10_000);

  it("fails on read when the journal lost entries this worker replayed", async () => {
    const study = await openSharedStudy(configA, { redis: redis.server.url, study: "trimmed" });
    await run(study, 2);
    await redis.admin.ltrim(key("trimmed"), 0, 1); // the create entry and the first ask remain
    await expect(study.refresh()).rejects.toThrow(REPLACED("trimmed"));
    await study.close();
  }, 10_000);

  it("opens and runs a journal written without a nonce, and still sees it replaced", async () => {
    // Journals written before create entries carried a nonce.
    await redis.admin.rpush(
      key("no-nonce"),
      JSON.stringify({ op: "create", v: 1, rules: SOLVER_RULES, config: configA }),
    );
    const a = await openSharedStudy(configA, { redis: redis.server.url, study: "no-nonce", worker: "A" });
    const b = await openSharedStudy(configA, { redis: redis.server.url, study: "no-nonce", worker: "B" });
    await run(a, 2);
    await run(b, 1);
    await a.refresh();
    expect([a.asked, a.told, b.asked]).toEqual([3, 3, 3]);
    await redis.admin.del(key("no-nonce"));
    const c = await openSharedStudy(configA, { redis: redis.server.url, study: "no-nonce", worker: "C" });
    await run(c, 5);
    await expect(a.ask()).rejects.toThrow(REPLACED("no-nonce"));
    await Promise.all([a.close(), b.close(), c.close()]);
  }, 10_000);

  it("writes a nonce into the create entry of a new journal", async () => {
    const a = await openSharedStudy(configA, { redis: redis.server.url, study: "nonce" });
    const b = await openSharedStudy(configA, { redis: redis.server.url, study: "nonce-2" });
    const [first] = (await redis.admin.lrange(key("nonce"), 0, 0)).map((e) => JSON.parse(e));
    const [other] = (await redis.admin.lrange(key("nonce-2"), 0, 0)).map((e) => JSON.parse(e));
    expect(first.nonce).toMatch(/^[0-9a-f-]{36}$/);
    expect(other.nonce).not.toBe(first.nonce);
    await a.close();
    await b.close();
  });
});
