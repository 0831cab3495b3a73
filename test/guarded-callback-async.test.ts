import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import {
  GuardedCallResult,
  guardedCallback,
  SettleTimeoutError,
  SynchronousCallbackError,
} from "../src/engine/safety/guarded-callback.js";

// Async callbacks behind the breaker: a rejection or a promise that never settles is a failure the
// breaker counts — never an unhandled rejection (vitest fails a run that has one).

/** A promise the test settles by hand. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets settled promises run their handlers. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("guardedCallback with async callbacks", () => {
  it("reports Pending, then success when the promise resolves", async () => {
    const d = deferred();
    const guard = guardedCallback(() => d.promise, {}, new SimulatedClock());
    expect(guard.call()).toBe(GuardedCallResult.Pending);
    d.resolve();
    await settled();
    expect(guard.stats).toEqual({ invocations: 1, failures: 0, refusals: 0 });
    expect(guard.hasFailed).toBe(false);
    expect(guard.state).toBe("closed");
    guard.stop();
  });

  it("counts a rejection as a failure, tells onFailure listeners, and opens after the threshold", async () => {
    const heard: unknown[] = [];
    const guard = guardedCallback(
      async () => Promise.reject(new Error("device busy")),
      { failureThreshold: 2 },
      new SimulatedClock(),
    );
    guard.onFailure((error) => heard.push(error));
    expect(guard.call()).toBe(GuardedCallResult.Pending);
    await settled();
    expect(guard.state).toBe("closed");
    expect(guard.call()).toBe(GuardedCallResult.Pending);
    await settled();
    expect(guard.state).toBe("open");
    expect(guard.stats.failures).toBe(2);
    expect((guard.lastError as Error).message).toBe("device busy");
    expect(heard.map((e) => (e as Error).message)).toEqual(["device busy", "device busy"]);
    expect(guard.call()).toBe(GuardedCallResult.RefusedOpen);
    guard.stop();
  });

  it("fails a promise that does not settle in time, once, and ignores its late outcome", async () => {
    const clock = new SimulatedClock();
    const d = deferred();
    const heard: unknown[] = [];
    const guard = guardedCallback(() => d.promise, {}, clock, { settleTimeoutMs: 5000 });
    guard.onFailure((error) => heard.push(error));
    guard.call();
    clock.increment(4999);
    expect(guard.stats.failures).toBe(0);
    clock.increment(1);
    expect(guard.stats.failures).toBe(1);
    expect(guard.lastError).toBeInstanceOf(SettleTimeoutError);
    expect((guard.lastError as Error).message).toBe("the callback's promise did not settle within 5000 ms");
    d.reject(new Error("too late")); // handled, not counted again
    await settled();
    expect(guard.stats.failures).toBe(1);
    expect(heard).toHaveLength(1);
    guard.stop();
  });

  it("keeps a half-open probe outstanding until its promise settles", async () => {
    const clock = new SimulatedClock();
    let fail = true;
    let d = deferred();
    const guard = guardedCallback(
      () => {
        if (fail) throw new Error("down");
        d = deferred();
        return d.promise;
      },
      { failureThreshold: 1, baseBackoffMs: 1000 },
      clock,
    );
    expect(guard.call()).toBe(GuardedCallResult.Failed);
    expect(guard.state).toBe("open");
    clock.increment(1000);
    expect(guard.state).toBe("halfOpen");
    fail = false;
    expect(guard.call()).toBe(GuardedCallResult.Pending);
    expect(guard.call()).toBe(GuardedCallResult.RefusedProbeOutstanding);
    d.resolve();
    await settled();
    expect(guard.state).toBe("closed");
    guard.stop();
  });

  it("a stale success (a call made before the breaker opened) neither closes the half-open breaker nor stands in for the probe", async () => {
    const clock = new SimulatedClock();
    const pending: ReturnType<typeof deferred>[] = [];
    let mode: "async" | "throw" = "async";
    const guard = guardedCallback(
      () => {
        if (mode === "throw") throw new Error("dependency down");
        const d = deferred();
        pending.push(d);
        return d.promise;
      },
      { failureThreshold: 3, baseBackoffMs: 1000 },
      clock,
    );
    const events: string[] = [];
    guard.on("breaker.opened", (e) => events.push(`opened ${e.backoffMs}`));
    guard.on("breaker.closed", () => events.push("closed"));
    expect(guard.call()).toBe(GuardedCallResult.Pending); // A: slow, made before the outage
    mode = "throw";
    for (let i = 0; i < 3; i++) expect(guard.call()).toBe(GuardedCallResult.Failed);
    expect(guard.state).toBe("open");
    clock.increment(1000);
    expect(guard.state).toBe("halfOpen");
    mode = "async";
    expect(guard.call()).toBe(GuardedCallResult.Pending); // P: the probe
    pending[0]!.resolve(); // A finally succeeds
    await settled();
    expect(guard.state).toBe("halfOpen");
    expect(guard.call()).toBe(GuardedCallResult.RefusedProbeOutstanding); // P is still the probe
    pending[1]!.reject(new Error("still down")); // P fails: re-open, backoff doubled
    await settled();
    expect(guard.state).toBe("open");
    expect(events).toEqual(["opened 1000", "opened 2000"]);
    // The next probe's success closes it.
    clock.increment(2000);
    expect(guard.call()).toBe(GuardedCallResult.Pending);
    pending[2]!.resolve();
    await settled();
    expect(guard.state).toBe("closed");
    expect(events).toEqual(["opened 1000", "opened 2000", "closed"]);
    guard.stop();
  });

  it("a stale failure neither re-opens a closed breaker nor fails a probe nor reaches onFailure; stats count it", async () => {
    const clock = new SimulatedClock();
    const pending: ReturnType<typeof deferred>[] = [];
    let mode: "async" | "throw" = "async";
    const heard: unknown[] = [];
    const guard = guardedCallback(
      () => {
        if (mode === "throw") throw new Error("down");
        const d = deferred();
        pending.push(d);
        return d.promise;
      },
      { failureThreshold: 1, baseBackoffMs: 100 },
      clock,
    );
    guard.onFailure((error) => heard.push(error));
    guard.call(); // A (pending[0]) and B (pending[1]), made while closed
    guard.call();
    mode = "throw";
    expect(guard.call()).toBe(GuardedCallResult.Failed);
    clock.increment(100);
    mode = "async";
    expect(guard.call()).toBe(GuardedCallResult.Pending); // the probe (pending[2])
    pending[0]!.reject(new Error("late A"));
    await settled();
    expect(guard.state).toBe("halfOpen");
    pending[2]!.resolve();
    await settled();
    expect(guard.state).toBe("closed");
    pending[1]!.reject(new Error("late B")); // threshold 1, but from before the outage
    await settled();
    expect(guard.state).toBe("closed");
    expect(guard.stats.failures).toBe(3);
    expect((guard.lastError as Error).message).toBe("late B");
    expect(heard).toEqual([]); // stale: not the listeners' business either
    guard.stop();
  });

  it("a reset makes the outcomes of calls made before it stale", async () => {
    const d = deferred();
    const guard = guardedCallback(() => d.promise, { failureThreshold: 1 }, new SimulatedClock());
    guard.call();
    guard.reset();
    d.reject(new Error("from before the reset"));
    await settled();
    expect(guard.state).toBe("closed");
    guard.stop();
  });

  it("a synchronous-only guard fails a promise result at once, does not await it and swallows its rejection", async () => {
    const seen: number[] = [];
    const guard = guardedCallback(
      async (n: number) => {
        seen.push(n);
        throw new Error("rejected later");
      },
      { failureThreshold: 2 },
      new SimulatedClock(),
      { synchronous: "auditSink" },
    );
    expect(guard.call(1)).toBe(GuardedCallResult.ReturnedPromise);
    expect(guard.lastError).toBeInstanceOf(SynchronousCallbackError);
    expect((guard.lastError as Error).message).toMatch(
      /^auditSink returned a promise: it must be synchronous/,
    );
    expect(guard.state).toBe("closed");
    expect(guard.callWith(2)).toBe(GuardedCallResult.ReturnedPromise);
    expect(guard.state).toBe("open");
    await settled(); // the rejections are handled: no unhandled rejection fails the run
    expect(guard.stats).toEqual({ invocations: 2, failures: 2, refusals: 0 });
    expect(seen).toEqual([1, 2]);
    // A hostile thenable whose `then` throws fails the same way, without escaping.
    const hostile = guardedCallback(
      () => ({
        // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose
        then() {
          throw new Error("hostile");
        },
      }),
      {},
      new SimulatedClock(),
      { synchronous: "auditRecordSink" },
    );
    expect(hostile.call()).toBe(GuardedCallResult.ReturnedPromise);
    expect(hostile.lastError).toBeInstanceOf(SynchronousCallbackError);
    hostile.stop();
    guard.stop();
  });

  it("stop() cancels pending settle timers", () => {
    const clock = new SimulatedClock();
    const guard = guardedCallback(() => new Promise<void>(() => {}), {}, clock, { settleTimeoutMs: 100 });
    guard.call();
    guard.stop();
    clock.increment(1000);
    expect(guard.stats.failures).toBe(0);
  });

  it("refuses a settle timeout that is not a positive finite number, naming it", () => {
    expect(() => guardedCallback(() => {}, {}, undefined, { settleTimeoutMs: 0 })).toThrow(
      "settleTimeoutMs: expected a finite number of ms > 0, got 0",
    );
    expect(() => guardedCallback(() => {}, {}, undefined, { settleTimeoutMs: Number.NaN })).toThrow(
      RangeError,
    );
  });
});
