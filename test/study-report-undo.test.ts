/**
 * A shared study takes back a report whose append did not land (Redis failed it, or another worker
 * appended first) with the report's own undo, not a snapshot of the whole solver: readers never see
 * it, and the pruner judges what follows as if it had never been made, as every other worker does.
 *
 * The numbers are chosen so that a report left in the ASHA pruner's rungs changes a later verdict.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { SolverConfig } from "../src/solver/config.js";
import { openSharedStudy } from "../src/study/index.js";
import { holdNextAppend } from "./support/hold-append.js";
import { redisForFile } from "./support/redis-server.js";

const redis = redisForFile();

/** Four trials asked at once; ASHA with one rung at step 1, half of its trials promoted. */
const config: SolverConfig = {
  seed: 2,
  budget: 4,
  probeRatio: 1,
  bounds: { x: { min: 0, max: 1 } },
  pruner: { kind: "asha", minResource: 1, reductionFactor: 2 },
};

// Read while held, the study builds a view of the state before the report, and keeps that view
// when the append fails; unread, it takes the report back from its live solver.
describe.for([
  { read: true, when: "read while its append waits" },
  { read: false, when: "unread while its append waits" },
])("a shared study's report whose append does not land, $when", ({ read }) => {
  it("failed by Redis: never shown, and the pruner judges on as if it had not been made", async () => {
    const name = `report-failed-${read}`;
    const client = new Redis(redis.server.url, { maxRetriesPerRequest: 1 });
    const study = await openSharedStudy(config, { redis: client, study: name });
    const [a, b] = (await study.ask({ max: 2 }))!;
    const held = holdNextAppend(client);
    const report = study.report(a!.id, 1, 0);
    await held.reached;
    if (read) expect(study.intermediateValues(a!.id)).toEqual([]);
    held.release("fail");
    await expect(report).rejects.toThrow(/connection lost/);
    expect(study.intermediateValues(a!.id)).toEqual([]);
    expect(study.shouldPrune(a!.id)).toBe(false);
    // Alone in the rung, 5 goes on; had the lost 0 stayed there, 5 would be its worse half.
    expect(await study.report(b!.id, 1, 5)).toBe(false);
    const fresh = await openSharedStudy(config, { redis: redis.server.url, study: name });
    expect(fresh.intermediateValues(a!.id)).toEqual([]);
    expect(fresh.intermediateValues(b!.id)).toEqual([{ step: 1, value: 5 }]);
    await fresh.close();
    await study.close();
    client.disconnect();
  });

  it("beaten by another worker's append: tried again after it, with the verdicts every worker reaches", async () => {
    const name = `report-raced-${read}`;
    const client = new Redis(redis.server.url, { maxRetriesPerRequest: 1 });
    const mine = await openSharedStudy(config, { redis: client, study: name, worker: "a" });
    const theirs = await openSharedStudy(config, { redis: redis.server.url, study: name, worker: "b" });
    const [a, b, c, d] = (await mine.ask({ max: 4 }))!;
    await theirs.refresh();
    const held = holdNextAppend(client);
    const report = mine.report(a!.id, 1, 0);
    await held.reached;
    expect(await theirs.report(b!.id, 1, 5)).toBe(false);
    if (read) expect(mine.intermediateValues(a!.id)).toEqual([]);
    held.release("send");
    // Rung 1 holds {5, 0}: 0 is the better half.
    expect(await report).toBe(false);
    expect(mine.intermediateValues(a!.id)).toEqual([{ step: 1, value: 0 }]);
    // {0, 5, 3}: one promoted, 3 stops. {0, 5, 3, 1}: two promoted, 1 goes on; with the first try
    // of 0 left in the rung, {0, 0, 5, 3, 1} would promote the two 0s and stop 1.
    expect(await mine.report(c!.id, 1, 3)).toBe(true);
    expect(await mine.report(d!.id, 1, 1)).toBe(false);
    // A worker that reads the journal afresh replays every verdict and agrees (else it would refuse).
    const fresh = await openSharedStudy(config, { redis: redis.server.url, study: name });
    expect([a, b, c, d].map((t) => fresh.shouldPrune(t!.id))).toEqual([false, false, true, false]);
    await fresh.close();
    await theirs.close();
    await mine.close();
    client.disconnect();
  });
});
