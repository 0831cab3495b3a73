/**
 * A shared study's journal records trial ids, not points, so every worker must propose by the
 * solver rules of the one that created it: a worker under other rules would pair the others'
 * results with points they never evaluated. The create entry records them, and a worker whose
 * rules differ is refused before it replays or appends anything.
 */
import { describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import { SOLVER_RULES } from "../src/solver/solver-rules.js";
import { JournalError, openSharedStudy } from "../src/study/index.js";
import { redisForFile } from "./support/redis-server.js";

const redis = redisForFile();

const config = { seed: 1, budget: 20, bounds: { n: { type: "int", min: 0, max: 9 } } } as const;
const key = (study: string) => `arqon:study:${study}:journal`;

/** A journal as another arqon left it: its create entry with `fields`, one trial asked and told. */
async function writtenBy(study: string, fields: Record<string, unknown>): Promise<void> {
  await redis.admin.rpush(
    key(study),
    JSON.stringify({ op: "create", v: 1, nonce: "n", ...fields, config }),
    JSON.stringify({ op: "ask", worker: "old", max: 1, ids: [1] }),
    JSON.stringify({ op: "tell", worker: "old", results: [{ id: 1, value: 3 }] }),
  );
}

describe("the solver rules of a shared study", () => {
  it("a new study's create entry records this arqon's rules, and its workers join it", async () => {
    const a = await openSharedStudy(config, { redis: redis.server.url, study: "today", worker: "A" });
    const b = await openSharedStudy(config, { redis: redis.server.url, study: "today", worker: "B" });
    const [first] = (await redis.admin.lrange(key("today"), 0, 0)).map((e) => JSON.parse(e));
    expect(first.rules).toBe(SOLVER_RULES);
    // Version 2: an arqon from before the rules reads only version 1 and so refuses the study,
    // where it would otherwise replay it under its own rules.
    expect(first.v).toBe(2);
    const [trial] = (await a.ask())!;
    await a.tell({ id: trial!.id, value: 1 });
    await b.refresh();
    expect(b.told).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  it("refuses a worker whose rules are not the study's, before it writes anything", async () => {
    await writtenBy("newer", { rules: SOLVER_RULES + 1 });
    await expect(openSharedStudy(config, { redis: redis.server.url, study: "newer" })).rejects.toThrow(
      new UsageError(
        `study newer: was created under solver rules ${SOLVER_RULES + 1}, and this arqon proposes by rules ${SOLVER_RULES}: every worker of a study must propose alike, so finish it with the arqon that began it, or start a new study`,
      ),
    );
    expect(await redis.admin.llen(key("newer"))).toBe(3);
  });

  it("refuses a study created before the rules were versioned", async () => {
    await writtenBy("unversioned", {});
    await expect(openSharedStudy(config, { redis: redis.server.url, study: "unversioned" })).rejects.toThrow(
      `study unversioned: was created before solver rules were versioned, and this arqon proposes by rules ${SOLVER_RULES}`,
    );
    expect(await redis.admin.llen(key("unversioned"))).toBe(3);
  });

  it("a create entry whose rules is not a version is a JournalError naming the entry", async () => {
    for (const [i, bad] of [0, 1.5, "1", null].entries()) {
      await writtenBy(`bad-${i}`, { rules: bad });
      const opened = openSharedStudy(config, { redis: redis.server.url, study: `bad-${i}` });
      await expect(opened).rejects.toThrow(JournalError);
      await expect(openSharedStudy(config, { redis: redis.server.url, study: `bad-${i}` })).rejects.toThrow(
        `shared study journal entry 0 has rules ${JSON.stringify(bad)}, not a solver-rules version (a whole number from 1)`,
      );
    }
  });

  it("refuses a create entry of a version it does not know, naming both it reads", async () => {
    await redis.admin.rpush(
      key("v3"),
      JSON.stringify({ op: "create", v: 3, nonce: "n", rules: SOLVER_RULES, config }),
    );
    await expect(openSharedStudy(config, { redis: redis.server.url, study: "v3" })).rejects.toThrow(
      new JournalError(0, "has version 3, expected 1 or 2"),
    );
  });
});
