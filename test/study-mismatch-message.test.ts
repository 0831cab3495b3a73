/**
 * A worker whose configuration differs from its study's is refused with a message that names
 * what differs (the first few settings, with both values), not the study's whole configuration.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import { openSharedStudy, type SharedStudy } from "../src/study/index.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";

let server: RedisServer;
let study: SharedStudy;
const x = { min: 0, max: 1 };
const y = { min: 0, max: 1 };
const base = { seed: 1, budget: 50, bounds: { x, y } };
beforeAll(async () => {
  server = await startRedis();
  study = await openSharedStudy(base, { redis: server.url, study: "mismatch" });
});
afterAll(async () => {
  await study.close();
  await server.stop();
});

async function refusal(config: Parameters<typeof openSharedStudy>[0]): Promise<Error> {
  const error = await openSharedStudy(config, { redis: server.url, study: "mismatch" }).then(
    (joined) => {
      void joined.close();
      return undefined;
    },
    (e: unknown) => e as Error,
  );
  expect(error, "the worker should have been refused").toBeInstanceOf(UsageError);
  return error!;
}

const PREFIX = "study mismatch: exists with another solver configuration: ";

describe("a worker whose configuration differs from the study's", () => {
  it("names a smaller budget or another seed with both values", async () => {
    // A larger budget alone grows the study (see study-extend.test.ts); a smaller one is refused.
    expect((await refusal({ ...base, budget: 40 })).message).toBe(
      "study mismatch: budget: the study began with 50 trials, this worker gives 40; give the study's budget, or a larger one to grow it",
    );
    expect((await refusal({ ...base, seed: 2 })).message).toBe(
      `${PREFIX}seed: the study has 1, this worker 2`,
    );
  });

  it("names a parameter order that differs as such", async () => {
    expect((await refusal({ ...base, bounds: { y, x } })).message).toBe(
      `${PREFIX}parameter order: the study has [x, y], this worker [y, x]`,
    );
  });

  it("names a parameter's setting, and a parameter only one side has", async () => {
    expect((await refusal({ ...base, bounds: { x: { min: 0, max: 2 }, y } })).message).toBe(
      `${PREFIX}bounds.x.max: the study has 1, this worker 2`,
    );
    expect((await refusal({ ...base, bounds: { x, y, z: { type: "int", min: 1, max: 3 } } })).message).toBe(
      `${PREFIX}bounds.z: the study has none, this worker {"step":1,"scale":"linear","type":"int","min":1,"max":3}`,
    );
  });

  it("names the first three differences and counts the rest", async () => {
    const message = (
      await refusal({
        seed: 2,
        budget: 60,
        batch: 4,
        direction: "maximize",
        bounds: { x: { min: -1, max: 1 }, y },
      })
    ).message;
    expect(message).toMatch(new RegExp(`^${PREFIX}`));
    const differences = message.slice(PREFIX.length).split("; ");
    // Read at the study's budget: a larger one alone would grow the study, so it is not named.
    expect(differences).toEqual([
      "batch: the study has none, this worker 4",
      'direction: the study has "minimize", this worker "maximize"',
      "seed: the study has 1, this worker 2",
      "and 1 more",
    ]);
    expect(message).not.toContain('"bounds"'); // the stored config is not dumped
  });
});
