/**
 * A shared study shows readers only what its journal holds: an operation whose append is in
 * flight, fails or loses to another worker never shows in `asked`, `told`, `best()`,
 * `pendingTrials()` or the solver metrics, so the exported counters never go down.
 */
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerSolverMetrics } from "../src/metrics/index.js";
import { openSharedStudy, type SharedStudy } from "../src/study/index.js";
import { branin } from "../src/testing/functions.js";
import { holdNextAppend } from "./support/hold-append.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
});

const BRANIN = branin();
const config = { seed: 3, budget: 20, bounds: BRANIN.bounds };

/** What a reader of `study` sees, metrics scrape included. */
async function seen(study: SharedStudy, registry: Registry) {
  const text = await registry.metrics();
  const metric = (name: string) => Number(new RegExp(`^arqon_solver_${name} (\\S+)$`, "m").exec(text)?.[1]);
  return {
    asked: study.asked,
    told: study.told,
    best: study.best(),
    pending: study.pendingTrials().map((t) => t.id),
    askedTotal: metric("trials_asked_total"),
    toldTotal: metric("trials_told_total"),
  };
}

/** What the journal holds, as a handle that just read it sees it. */
async function journalState(name: string) {
  const fresh = await openSharedStudy(config, { redis: server.url, study: name, worker: "reader" });
  const state = {
    asked: fresh.asked,
    told: fresh.told,
    best: fresh.best(),
    pending: fresh.pendingTrials().map((t) => t.id),
  };
  await fresh.close();
  return { ...state, askedTotal: state.asked, toldTotal: state.told };
}

describe("shared study readers see committed state only", () => {
  it("shows neither a tell nor an ask whose append is in flight or fails", async () => {
    const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const study = await openSharedStudy(config, { redis: client, study: "failed-append" });
    const registry = new Registry();
    registerSolverMetrics(study, { registry });
    const [trial] = (await study.ask())!;
    const committed = await seen(study, registry);
    expect(committed).toEqual(await journalState("failed-append"));
    expect(committed).toMatchObject({ asked: 1, told: 0, askedTotal: 1, toldTotal: 0 });

    let held = holdNextAppend(client);
    const tell = study.tell({ id: trial!.id, value: 0.5 });
    await held.reached;
    expect(await seen(study, registry)).toEqual(committed);
    held.release("fail");
    await expect(tell).rejects.toThrow(/connection lost/);
    expect(await seen(study, registry)).toEqual(committed);

    held = holdNextAppend(client);
    const ask = study.ask();
    await held.reached;
    expect(await seen(study, registry)).toEqual(committed);
    held.release("fail");
    await expect(ask).rejects.toThrow(/connection lost/);
    expect(await seen(study, registry)).toEqual(committed);

    // The handle is in step: the same tell and ask go through and show once written.
    await study.tell({ id: trial!.id, value: 0.5 });
    const [next] = (await study.ask())!;
    expect(next!.id).toBe(trial!.id + 1);
    const after = await seen(study, registry);
    expect(after).toEqual(await journalState("failed-append"));
    expect(after).toMatchObject({ asked: 2, told: 1, askedTotal: 2, toldTotal: 1, pending: [next!.id] });
    await study.close();
    client.disconnect();
  });

  it("shows an operation that lost the append to another worker only once its retry is written", async () => {
    const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const study = await openSharedStudy(config, { redis: client, study: "lost-append", worker: "a" });
    const other = await openSharedStudy(config, { redis: server.url, study: "lost-append", worker: "b" });
    const registry = new Registry();
    registerSolverMetrics(study, { registry });
    const [mine] = (await study.ask())!;
    const committed = await seen(study, registry);

    const held = holdNextAppend(client);
    const tell = study.tell({ id: mine!.id, value: 0.5 });
    await held.reached;
    // Another worker appends first: this tell's append finds the journal grown and is retried.
    const [theirs] = (await other.ask())!;
    expect(await seen(study, registry)).toEqual(committed);
    held.release("send");
    await tell;
    const after = await seen(study, registry);
    expect(after).toEqual(await journalState("lost-append"));
    expect(after).toMatchObject({ asked: 2, told: 1, askedTotal: 2, toldTotal: 1, pending: [theirs!.id] });
    await other.close();
    await study.close();
    client.disconnect();
  });
});
