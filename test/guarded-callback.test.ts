import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import type { CircuitBreakerEmitted } from "../machines/circuit-breaker.machine.js";
import {
  type GuardedCallback,
  GuardedCallResult,
  guardedCallback,
} from "../src/engine/safety/guarded-callback.js";

/** An actuator hook whose behaviour the test switches, recording every invocation. */
function scriptedActuator() {
  const calls: [Readonly<Record<string, number>>, number][] = [];
  const state = { failing: false };
  const fn = (values: Readonly<Record<string, number>>, generation: number): void => {
    calls.push([values, generation]);
    if (state.failing) throw new Error(`actuator down at generation ${generation}`);
  };
  return { calls, state, fn };
}

function collectEmitted<A extends readonly unknown[]>(guard: GuardedCallback<A>) {
  const emitted: CircuitBreakerEmitted[] = [];
  guard.on("breaker.opened", (event) => emitted.push(event));
  guard.on("breaker.closed", (event) => emitted.push(event));
  return emitted;
}

describe("guardedCallback", () => {
  it("callWith: one argument, the same breaker, counts and outcomes as call", () => {
    const seen: number[] = [];
    let failing = false;
    const guard = guardedCallback(
      (n: number) => {
        seen.push(n);
        if (failing) throw new Error(`sink down at ${n}`);
      },
      { failureThreshold: 2 },
      new SimulatedClock(),
    );
    expect(guard.callWith(1)).toBe(GuardedCallResult.Succeeded);
    failing = true;
    expect(guard.callWith(2)).toBe(GuardedCallResult.Failed);
    expect((guard.lastError as Error).message).toBe("sink down at 2");
    expect(guard.call(3)).toBe(GuardedCallResult.Failed);
    // Two failures opened the breaker: callWith is refused like call, without running.
    expect(guard.state).toBe("open");
    expect(guard.callWith(4)).toBe(GuardedCallResult.RefusedOpen);
    expect(seen).toEqual([1, 2, 3]);
    expect(guard.stats).toEqual({ invocations: 3, failures: 2, refusals: 1 });
    guard.stop();
    expect(guard.callWith(5)).toBe(GuardedCallResult.RefusedStopped);
  });

  it("passes the arguments through and reports success while closed", () => {
    const actuator = scriptedActuator();
    const guard = guardedCallback(actuator.fn, {}, new SimulatedClock());
    expect(guard.call({ x: 1 }, 7)).toBe(GuardedCallResult.Succeeded);
    expect(actuator.calls).toEqual([[{ x: 1 }, 7]]);
    expect(guard.state).toBe("closed");
    expect(guard.hasFailed).toBe(false);
    expect(guard.lastError).toBeUndefined();
    expect(guard.stats).toEqual({ invocations: 1, failures: 0, refusals: 0 });
    guard.stop();
  });

  it("never throws: a throw is caught, kept and reported as Failed", () => {
    const actuator = scriptedActuator();
    actuator.state.failing = true;
    const guard = guardedCallback(actuator.fn, { failureThreshold: 3 }, new SimulatedClock());
    expect(guard.call({ x: 1 }, 1)).toBe(GuardedCallResult.Failed);
    expect(guard.hasFailed).toBe(true);
    expect(guard.lastError).toBeInstanceOf(Error);
    expect((guard.lastError as Error).message).toBe("actuator down at generation 1");
    expect(guard.state).toBe("closed");
    guard.stop();
  });

  it("fails a call whose return value throws when read or awaited, without throwing itself", () => {
    const hostile = [
      {
        // biome-ignore lint/suspicious/noThenProperty: a thenable that throws is what is tested
        then: () => {
          throw new Error("then threw");
        },
      },
      // biome-ignore lint/suspicious/noThenProperty: a `then` getter that throws is what is tested
      Object.defineProperty({}, "then", {
        get: () => {
          throw new Error("getter threw");
        },
      }),
      (() => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return proxy;
      })(),
    ];
    for (const value of hostile) {
      const guard = guardedCallback(() => value, { failureThreshold: 3 }, new SimulatedClock());
      expect(guard.call()).toBe(GuardedCallResult.Failed);
      expect(guard.hasFailed).toBe(true);
      expect(guard.stats).toEqual({ invocations: 1, failures: 1, refusals: 0 });
      guard.stop();
    }
  });

  it("catches non-Error throws, including undefined", () => {
    const guard = guardedCallback(
      () => {
        throw undefined;
      },
      { failureThreshold: 5 },
      new SimulatedClock(),
    );
    expect(guard.call()).toBe(GuardedCallResult.Failed);
    expect(guard.hasFailed).toBe(true);
    expect(guard.lastError).toBeUndefined();
    guard.stop();
  });

  it("opens after the threshold and refuses without invoking until the backoff elapses", () => {
    const clock = new SimulatedClock();
    const actuator = scriptedActuator();
    actuator.state.failing = true;
    const guard = guardedCallback(actuator.fn, { failureThreshold: 3, baseBackoffMs: 100 }, clock);
    const emitted = collectEmitted(guard);
    expect([guard.call({}, 1), guard.call({}, 2), guard.call({}, 3)]).toEqual([
      GuardedCallResult.Failed,
      GuardedCallResult.Failed,
      GuardedCallResult.Failed,
    ]);
    expect(guard.state).toBe("open");
    expect(emitted).toEqual([{ type: "breaker.opened", backoffMs: 100, probeFailed: false }]);

    expect(guard.call({}, 4)).toBe(GuardedCallResult.RefusedOpen);
    clock.increment(99);
    expect(guard.call({}, 5)).toBe(GuardedCallResult.RefusedOpen);
    expect(actuator.calls.map(([, generation]) => generation)).toEqual([1, 2, 3]);
    expect(guard.stats).toEqual({ invocations: 3, failures: 3, refusals: 2 });

    clock.increment(1);
    expect(guard.state).toBe("halfOpen");
    guard.stop();
  });

  it("half-open runs exactly one probe: success closes and clears the backoff", () => {
    const clock = new SimulatedClock();
    const actuator = scriptedActuator();
    actuator.state.failing = true;
    const guard = guardedCallback(actuator.fn, { failureThreshold: 1, baseBackoffMs: 10 }, clock);
    const emitted = collectEmitted(guard);
    guard.call({}, 1);
    clock.increment(10);
    actuator.state.failing = false;
    expect(guard.call({}, 2)).toBe(GuardedCallResult.Succeeded);
    expect(guard.state).toBe("closed");
    expect(guard.backoffMs).toBe(10);
    expect(guard.call({}, 3)).toBe(GuardedCallResult.Succeeded);
    expect(actuator.calls.map(([, generation]) => generation)).toEqual([1, 2, 3]);
    expect(emitted.map((event) => event.type)).toEqual(["breaker.opened", "breaker.closed"]);
    // The last error stays inspectable after recovery.
    expect((guard.lastError as Error).message).toBe("actuator down at generation 1");
    guard.stop();
  });

  it("a failed probe re-opens with the backoff doubled up to the cap", () => {
    const clock = new SimulatedClock();
    const actuator = scriptedActuator();
    actuator.state.failing = true;
    const guard = guardedCallback(
      actuator.fn,
      { failureThreshold: 1, baseBackoffMs: 10, maxBackoffMs: 35 },
      clock,
    );
    const emitted = collectEmitted(guard);
    guard.call({}, 0);
    const openFor: number[] = [];
    for (let probe = 1; probe <= 4; probe++) {
      // Count how many ms the breaker stays open (refusing) before the probe is let through.
      let waited = 0;
      while (guard.call({}, -1) === GuardedCallResult.RefusedOpen) {
        clock.increment(1);
        waited++;
      }
      openFor.push(waited);
    }
    expect(openFor).toEqual([10, 20, 35, 35]);
    // One invocation per open period (the probe), never the refused ones.
    expect(actuator.calls).toHaveLength(5);
    expect(emitted).toEqual([
      { type: "breaker.opened", backoffMs: 10, probeFailed: false },
      { type: "breaker.opened", backoffMs: 20, probeFailed: true },
      { type: "breaker.opened", backoffMs: 35, probeFailed: true },
      { type: "breaker.opened", backoffMs: 35, probeFailed: true },
      { type: "breaker.opened", backoffMs: 35, probeFailed: true },
    ]);
    guard.stop();
  });

  it("refuses a re-entrant call while the half-open probe is outstanding", () => {
    const clock = new SimulatedClock();
    let failing = true;
    const inner: number[] = [];
    let invocations = 0;
    const guard: GuardedCallback<[boolean]> = guardedCallback(
      (reenter: boolean) => {
        invocations++;
        // The probe calls the guard again before it returns: that call must be refused.
        if (reenter) inner.push(guard.call(false));
        if (failing) throw new Error("down");
      },
      { failureThreshold: 1, baseBackoffMs: 5 },
      clock,
    );
    guard.call(false);
    clock.increment(5);
    failing = false;
    expect(guard.call(true)).toBe(GuardedCallResult.Succeeded);
    expect(inner).toEqual([GuardedCallResult.RefusedProbeOutstanding]);
    expect(invocations).toBe(2);
    expect(guard.state).toBe("closed");
    guard.stop();
  });

  it("re-entrant calls while closed are ordinary calls", () => {
    const inner: number[] = [];
    const guard: GuardedCallback<[boolean]> = guardedCallback(
      (reenter: boolean) => {
        if (reenter) inner.push(guard.call(false));
      },
      {},
      new SimulatedClock(),
    );
    expect(guard.call(true)).toBe(GuardedCallResult.Succeeded);
    expect(inner).toEqual([GuardedCallResult.Succeeded]);
    guard.stop();
  });

  it("a throwing listener neither propagates nor breaks the breaker", () => {
    const clock = new SimulatedClock();
    const guard = guardedCallback(
      () => {
        throw new Error("down");
      },
      { failureThreshold: 1, baseBackoffMs: 5 },
      clock,
    );
    guard.on("breaker.opened", () => {
      throw new Error("listener broke");
    });
    expect(guard.call()).toBe(GuardedCallResult.Failed);
    expect((guard.lastListenerError as Error).message).toBe("listener broke");
    expect(guard.state).toBe("open");
    clock.increment(5);
    expect(guard.state).toBe("halfOpen");
    guard.stop();
  });

  it("reset closes an open breaker; stop refuses everything after", () => {
    const actuator = scriptedActuator();
    actuator.state.failing = true;
    const guard = guardedCallback(actuator.fn, { failureThreshold: 1 }, new SimulatedClock());
    const emitted = collectEmitted(guard);
    guard.call({}, 1);
    guard.reset();
    expect(guard.state).toBe("closed");
    expect(emitted.map((event) => event.type)).toEqual(["breaker.opened", "breaker.closed"]);
    actuator.state.failing = false;
    expect(guard.call({}, 2)).toBe(GuardedCallResult.Succeeded);
    guard.stop();
    expect(guard.call({}, 3)).toBe(GuardedCallResult.RefusedStopped);
    expect(actuator.calls).toHaveLength(2);
  });

  it("rejects out-of-range options when built", () => {
    expect(() => guardedCallback(() => {}, { failureThreshold: 0 })).toThrow(RangeError);
  });

  it("over random outcome/time streams: never throws, invokes only when allowed, counts add up", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.record({ fails: fc.boolean(), advanceMs: fc.integer({ min: 0, max: 60 }) }), {
          maxLength: 80,
        }),
        (failureThreshold, steps) => {
          const clock = new SimulatedClock();
          let failing = false;
          let invoked = 0;
          const guard = guardedCallback(
            () => {
              invoked++;
              if (failing) throw new Error("x");
            },
            { failureThreshold, baseBackoffMs: 10, maxBackoffMs: 80 },
            clock,
          );
          let opens = 0;
          let closes = 0;
          guard.on("breaker.opened", (event) => {
            if (!event.probeFailed) opens++;
          });
          guard.on("breaker.closed", () => closes++);
          let expectedInvocations = 0;
          let expectedFailures = 0;
          for (const step of steps) {
            failing = step.fails;
            const before = guard.state;
            const result = guard.call();
            if (before === "open") {
              expect(result).toBe(GuardedCallResult.RefusedOpen);
            } else {
              expectedInvocations++;
              expect(result).toBe(step.fails ? GuardedCallResult.Failed : GuardedCallResult.Succeeded);
              if (step.fails) expectedFailures++;
              // A probe always settles the half-open state.
              if (before === "halfOpen") expect(guard.state).toBe(step.fails ? "open" : "closed");
            }
            clock.increment(step.advanceMs);
          }
          expect(invoked).toBe(expectedInvocations);
          expect(guard.stats).toEqual({
            invocations: expectedInvocations,
            failures: expectedFailures,
            refusals: steps.length - expectedInvocations,
          });
          // Each close ends one threshold trip (re-opens after a failed probe belong to the same trip).
          expect(opens - closes).toBe(guard.state === "closed" ? 0 : 1);
          guard.stop();
        },
      ),
    );
  });
});
