import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import {
  GuardedCallResult,
  guardedCallback,
  SettleTimeoutError,
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
