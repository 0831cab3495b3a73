/**
 * A handle reads its journal a page at a time: a journal of hundreds of thousands of entries in one
 * reply took longer than the 5 s command timeout over a slow link, and the create entry (the whole
 * configuration) came back with every poll. Each page is checked against the journal the handle
 * replayed, so a journal replaced between two pages is still seen.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { createSolver } from "../src/solver/solver.js";
import { SOLVER_RULES } from "../src/solver/solver-rules.js";
import { openSharedStudy } from "../src/study/index.js";
import { JOURNAL_PAGE_SIZE, JournalError, RedisJournal } from "../src/study/journal.js";
import { redisForFile } from "./support/redis-server.js";

const redis = redisForFile();

const key = (study: string) => `arqon:study:${study}:journal`;
const create = (nonce: string, budget = 10) =>
  JSON.stringify({
    op: "create",
    v: 1,
    nonce,
    rules: SOLVER_RULES,
    config: { seed: 1, budget, bounds: { x: { min: 0, max: 1 } } },
  });

/** `client`, calling `onReply` with each reply Redis sends it (before the caller gets it). */
function watchReplies(client: Redis, onReply: (reply: unknown) => Promise<void> | void): void {
  const send = client.sendCommand.bind(client) as (command: object, ...rest: unknown[]) => unknown;
  // A command sent before the connection is ready passes here again when it is.
  const watched = new WeakMap<object, Promise<unknown>>();
  (client as { sendCommand: unknown }).sendCommand = (command: object, ...rest: unknown[]) => {
    const sent = send(command, ...rest);
    if (!(sent instanceof Promise)) return sent;
    let reply = watched.get(command);
    if (reply === undefined) {
      reply = sent.then(async (value: unknown) => {
        await onReply(value);
        return value;
      });
      watched.set(command, reply);
    }
    return reply;
  };
}

/** The journal entries (JSON texts of an op) a reply holds, at any depth. */
function entriesIn(reply: unknown): string[] {
  if (Array.isArray(reply)) return reply.flatMap(entriesIn);
  return typeof reply === "string" && reply.startsWith('{"op":') ? [reply] : [];
}

describe("reading a shared study's journal", () => {
  it("opens a journal of more entries than a page, a page per reply, and replays it", async () => {
    // A study of 1100 trials, asked and told one by one (2201 entries), written as a worker would.
    const config = { seed: 5, budget: 1100, strategy: "tpe" as const, bounds: { x: { min: 0, max: 1 } } };
    const solver = createSolver(config);
    const entries = [JSON.stringify({ op: "create", v: 1, nonce: "n", rules: SOLVER_RULES, config })];
    for (let trials = solver.ask({ max: 1 }); trials !== null; trials = solver.ask({ max: 1 })) {
      const [trial] = trials;
      entries.push(JSON.stringify({ op: "ask", worker: "w", max: 1, ids: [trial!.id] }));
      const results = [{ id: trial!.id, value: Math.abs((trial!.params.x as number) - 0.3) }];
      solver.tell(results);
      entries.push(JSON.stringify({ op: "tell", worker: "w", results }));
    }
    expect(entries.length).toBeGreaterThan(JOURNAL_PAGE_SIZE);
    await redis.admin.rpush(key("big"), ...entries);

    const client = new Redis(redis.server.url, { maxRetriesPerRequest: 1 });
    const replies: string[][] = [];
    watchReplies(client, (reply) => {
      replies.push(entriesIn(reply));
    });
    const study = await openSharedStudy(config, { redis: client, study: "big" });
    expect(Math.max(...replies.map((r) => r.length))).toBeLessThanOrEqual(JOURNAL_PAGE_SIZE);
    expect(replies.flat()).toEqual(entries);
    expect([study.asked, study.told, study.pendingTrials()]).toEqual([1100, 1100, []]);
    expect(study.best()).toEqual(solver.best());
    // A poll reads what is new, not the create entry again.
    replies.length = 0;
    await study.refresh();
    expect(replies.flat()).toEqual([]);
    await study.close();
    client.disconnect();
    solver.stop();
  }, 20_000);

  it("reads every page of a journal with a page size of its own", async () => {
    const texts = [
      create("a"),
      ...Array.from({ length: 10 }, (_, i) => `{"op":"fail","worker":"w","id":${i},"reason":"r"}`),
    ];
    await redis.admin.rpush(key("paged"), ...texts);
    const client = new Redis(redis.server.url, { maxRetriesPerRequest: 1 });
    const replies: string[][] = [];
    watchReplies(client, (reply) => {
      replies.push(entriesIn(reply));
    });
    const journal = new RedisJournal(client, "paged", 3);
    expect((await journal.readFrom(0)).map((e) => JSON.stringify(e))).toEqual(texts);
    expect(replies.filter((r) => r.length > 0).map((r) => r.length)).toEqual([3, 3, 3, 2]);
    replies.length = 0;
    expect((await journal.readFrom(9)).map((e) => JSON.stringify(e))).toEqual(texts.slice(9));
    expect(replies.flat()).toEqual(texts.slice(9));
    client.disconnect();
  });

  it("fails when the journal is replaced between two pages of one read", async () => {
    const texts = [
      create("a"),
      ...Array.from({ length: 6 }, (_, i) => `{"op":"fail","worker":"w","id":${i},"reason":"r"}`),
    ];
    await redis.admin.rpush(key("swapped"), ...texts);
    const client = new Redis(redis.server.url, { maxRetriesPerRequest: 1 });
    let pages = 0;
    watchReplies(client, async (reply) => {
      // After the first page: another study takes the name and writes as many entries.
      if (entriesIn(reply).length > 0 && ++pages === 1) {
        await redis.admin.del(key("swapped"));
        await redis.admin.rpush(key("swapped"), create("b"), ...texts.slice(1));
      }
    });
    const journal = new RedisJournal(client, "swapped", 3);
    const error = await journal.readFrom(0).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JournalError);
    expect((error as Error).message).toMatch(/^study swapped: its journal was deleted or replaced/);
    client.disconnect();
  });

  it("reads on after SCRIPT FLUSH by EVAL, which needs no SCRIPT permission", async () => {
    const client = new Redis(redis.server.url, { maxRetriesPerRequest: 1 });
    const study = await openSharedStudy(
      { seed: 1, budget: 10, bounds: { x: { min: 0, max: 1 } } },
      { redis: client, study: "flushed" },
    );
    // As for a user (or a proxy) that may run EVAL and EVALSHA but not SCRIPT.
    (client as { script: unknown }).script = () => Promise.reject(new Error("NOPERM script"));
    await redis.admin.script("FLUSH");
    const [trial] = (await study.ask())!;
    await study.tell({ id: trial!.id, value: 1 });
    await redis.admin.script("FLUSH");
    await study.refresh();
    expect(study.told).toBe(1);
    await study.close();
    client.disconnect();
  });
});
