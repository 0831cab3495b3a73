/**
 * Stall detection is opt-in: a worker whose trial takes long (longer than any stallMs would) looks
 * just like a dead one, so runSharedStudy waits for it unless `stallMs` is given. The test moves
 * the clock (`Date`) instead of evaluating for a minute.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { openSharedStudy, runSharedStudy, type SharedStudy } from "../src/study/index.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";
import { simplexObjective as f, simplexConfig } from "./support/simplex-study.js";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
});
afterEach(() => {
  vi.useRealTimers();
});

const { bounds } = simplexConfig(0);

/** `study`, calling `onEmpty(n)` after its n-th ask that handed out nothing. */
function countingEmptyAsks(study: SharedStudy, onEmpty: (n: number) => void): SharedStudy {
  let empty = 0;
  return new Proxy(study, {
    get(target, key) {
      if (key === "ask")
        return async (options?: { max?: number }) => {
          const trials = await target.ask(options);
          if (trials !== null && trials.length === 0) onEmpty(++empty);
          return trials;
        };
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("runSharedStudy waiting for a live worker's slow trial", () => {
  // Forced Nelder–Mead waits for its probe's last result, so the slow worker's first trial holds
  // the study (the default strategy does not wait: see the test after these).
  const cases = [
    { strategy: "nelder-mead" as const, stallMs: undefined },
    { strategy: "nelder-mead" as const, stallMs: Number.POSITIVE_INFINITY },
  ];
  it.each(cases)(
    "does not stop early under $strategy with stallMs $stallMs",
    async ({ strategy, stallMs }) => {
      vi.useFakeTimers({ toFake: ["Date"] });
      const config = { seed: 3, budget: 30, strategy, bounds };
      const name = `slow-${strategy}-${String(stallMs)}`;
      const slow = await openSharedStudy(config, { redis: server.url, study: name, worker: "slow" });
      const fast = await openSharedStudy(config, { redis: server.url, study: name, worker: "fast" });
      // The slow worker holds the study's first trial: the study soon has nothing else to hand out.
      const [held] = (await slow.ask())!;
      let emptyAsks = 0;
      const watched = countingEmptyAsks(fast, (n) => {
        emptyAsks = n;
        // Once the loop waits (its first empty ask seen), the evaluation outlasts the 60 s a
        // stall watch used to wait by default…
        if (n === 2) vi.setSystemTime(Date.now() + 61_000);
        // …and then it ends, its value told.
        if (n === 4) void slow.tell({ id: held!.id, value: f(held!.params) });
      });
      const options = { pollMs: 1, settleMs: 0, ...(stallMs === undefined ? {} : { stallMs }) };
      const result = await runSharedStudy(watched, f, options);
      expect(emptyAsks).toBeGreaterThanOrEqual(4);
      expect(result.stuck).toEqual([]);
      expect(result.pending).toBe(0);
      expect(fast.asked).toBe(config.budget);
      expect(result.evaluated).toHaveLength(config.budget - 1);
      await slow.close();
      await fast.close();
    },
    15_000,
  );

  it("under the default strategy, goes on with the rest of the budget while a probe trial is held", async () => {
    const config = { seed: 3, budget: 30, bounds };
    const slow = await openSharedStudy(config, { redis: server.url, study: "slow-auto", worker: "slow" });
    const fast = await openSharedStudy(config, { redis: server.url, study: "slow-auto", worker: "fast" });
    const [held] = (await slow.ask())!;
    let emptyAsks = 0;
    const watched = countingEmptyAsks(fast, (n) => {
      emptyAsks = n;
    });
    // The rest of the budget is handed out, without one empty ask, while the held trial runs.
    const result = await runSharedStudy(watched, f, { pollMs: 1, settleMs: 0 });
    expect(emptyAsks).toBe(0);
    expect(result.evaluated).toHaveLength(config.budget - 1);
    expect(result.pending).toBe(1);
    await slow.tell({ id: held!.id, value: f(held!.params) });
    await slow.close();
    await fast.close();
  });

  it("stops at the first ask the study cannot answer with stallMs 0", async () => {
    const config = { seed: 3, budget: 30, strategy: "nelder-mead" as const, bounds };
    const slow = await openSharedStudy(config, { redis: server.url, study: "zero", worker: "slow" });
    const fast = await openSharedStudy(config, { redis: server.url, study: "zero", worker: "fast" });
    const [held] = (await slow.ask())!;
    const result = await runSharedStudy(fast, f, { pollMs: 1, settleMs: 0, stallMs: 0 });
    expect(result.stuck).toEqual([held!.id]);
    expect(fast.asked).toBeLessThan(config.budget);
    await slow.close();
    await fast.close();
  });
});
