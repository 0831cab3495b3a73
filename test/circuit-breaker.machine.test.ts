import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type AnyEventObject, createActor, initialTransition, SimulatedClock, transition } from "xstate";
import {
  CIRCUIT_BREAKER_DEFAULTS,
  type CircuitBreakerEmitted,
  type CircuitBreakerEvent,
  type CircuitBreakerOptions,
  circuitBreakerMachine,
  circuitBreakerOptionProblems,
  resolveCircuitBreakerOptions,
} from "../machines/circuit-breaker.machine.js";
import { engineConfigIssues } from "../src/engine/config.js";

type Snapshot = ReturnType<typeof initialTransition<typeof circuitBreakerMachine>>[0];

interface Step {
  readonly snapshot: Snapshot;
  readonly value: unknown;
  /** Emitted events scheduled by the transition, in order. */
  readonly emitted: readonly CircuitBreakerEmitted[];
  /** Delays (ms) of the delayed events scheduled by the transition. */
  readonly delays: readonly number[];
}

interface ExecutableAction {
  readonly type: string;
  readonly params?: { readonly event?: unknown; readonly delay?: unknown };
}

function describeStep(snapshot: Snapshot, actions: readonly ExecutableAction[]): Step {
  const emitted: CircuitBreakerEmitted[] = [];
  const delays: number[] = [];
  for (const action of actions) {
    if (action.type === "xstate.emit") emitted.push(action.params!.event as CircuitBreakerEmitted);
    if (action.type === "xstate.raise" && typeof action.params?.delay === "number") {
      delays.push(action.params.delay);
    }
  }
  return { snapshot, value: snapshot.value, emitted, delays };
}

function start(options?: CircuitBreakerOptions): Step {
  const [snapshot, actions] = initialTransition(circuitBreakerMachine, options);
  return describeStep(snapshot, actions as readonly ExecutableAction[]);
}

/** The event XState raises when the open period (`after: { backoff }`) ends. */
const OPEN_ELAPSED = { type: "xstate.after.backoff.circuitBreaker.open" } as AnyEventObject;

function send(from: Step, event: CircuitBreakerEvent | AnyEventObject): Step {
  const [snapshot, actions] = transition(circuitBreakerMachine, from.snapshot, event as CircuitBreakerEvent);
  return describeStep(snapshot, actions as readonly ExecutableAction[]);
}

function run(from: Step, ...events: (CircuitBreakerEvent | AnyEventObject)[]): Step {
  return events.reduce(send, from);
}

const failed: CircuitBreakerEvent = { type: "call.failed" };
const succeeded: CircuitBreakerEvent = { type: "call.succeeded" };
const probe: CircuitBreakerEvent = { type: "probe.started" };

describe("circuit breaker machine (pure transitions)", () => {
  it("starts closed with the defaults and no failures", () => {
    const step = start();
    expect(step.value).toBe("closed");
    expect(step.snapshot.context).toEqual({
      ...CIRCUIT_BREAKER_DEFAULTS,
      failures: 0,
      backoffMs: CIRCUIT_BREAKER_DEFAULTS.baseBackoffMs,
      epoch: 0,
    });
    expect(step.emitted).toEqual([]);
  });

  it("opens on the threshold-th consecutive failure, emitting breaker.opened and scheduling the backoff", () => {
    const two = run(start({ failureThreshold: 3, baseBackoffMs: 100 }), failed, failed);
    expect(two.value).toBe("closed");
    expect(two.snapshot.context.failures).toBe(2);
    const opened = send(two, failed);
    expect(opened.value).toBe("open");
    expect(opened.emitted).toEqual([{ type: "breaker.opened", backoffMs: 100, probeFailed: false }]);
    expect(opened.delays).toEqual([100]);
  });

  it("a success while closed resets the consecutive count", () => {
    const step = run(start({ failureThreshold: 3 }), failed, failed, succeeded, failed, failed);
    expect(step.value).toBe("closed");
    expect(step.snapshot.context.failures).toBe(2);
  });

  it("threshold 1 opens on the first failure", () => {
    expect(send(start({ failureThreshold: 1 }), failed).value).toBe("open");
  });

  it("ignores call reports and probe starts while open", () => {
    const open = run(start({ failureThreshold: 1 }), failed);
    for (const event of [failed, succeeded, probe]) {
      const step = send(open, event);
      expect(step.value).toBe("open");
      expect(step.emitted).toEqual([]);
    }
  });

  it("goes half-open when the open period ends; only probe.started moves it on", () => {
    const ready = run(start({ failureThreshold: 1 }), failed, OPEN_ELAPSED);
    expect(ready.value).toEqual({ halfOpen: "ready" });
    expect(send(ready, succeeded).value).toEqual({ halfOpen: "ready" });
    expect(send(ready, failed).value).toEqual({ halfOpen: "ready" });
    expect(send(ready, probe).value).toEqual({ halfOpen: "probing" });
  });

  it("a second probe.started while probing changes nothing", () => {
    const probing = run(start({ failureThreshold: 1 }), failed, OPEN_ELAPSED, probe);
    const again = send(probing, probe);
    expect(again.value).toEqual({ halfOpen: "probing" });
    expect(again.snapshot.context).toEqual(probing.snapshot.context);
  });

  it("a good probe closes the breaker, emits breaker.closed and resets backoff and counts", () => {
    const options = { failureThreshold: 1, baseBackoffMs: 100, maxBackoffMs: 10_000 };
    // Two failed probes first, so the backoff is 400 before the good probe.
    const probing = run(start(options), failed, OPEN_ELAPSED, probe, failed, OPEN_ELAPSED, probe, failed);
    expect(probing.snapshot.context.backoffMs).toBe(400);
    const closed = run(probing, OPEN_ELAPSED, probe, succeeded);
    expect(closed.value).toBe("closed");
    expect(closed.emitted).toEqual([{ type: "breaker.closed" }]);
    expect(closed.snapshot.context).toMatchObject({ failures: 0, backoffMs: 100 });
    // The next trip starts again from the base backoff.
    expect(send(closed, failed).emitted).toEqual([
      { type: "breaker.opened", backoffMs: 100, probeFailed: false },
    ]);
  });

  it("a failed probe re-opens with the backoff doubled, capped at maxBackoffMs", () => {
    let step = run(start({ failureThreshold: 2, baseBackoffMs: 100, maxBackoffMs: 700 }), failed, failed);
    const seen: number[] = [step.delays[0]!];
    for (let i = 0; i < 5; i++) {
      step = run(step, OPEN_ELAPSED, probe, failed);
      expect(step.value).toBe("open");
      expect(step.emitted).toEqual([
        { type: "breaker.opened", backoffMs: step.delays[0], probeFailed: true },
      ]);
      seen.push(step.delays[0]!);
    }
    expect(seen).toEqual([100, 200, 400, 700, 700, 700]);
  });

  it("reset closes from open or half-open (emitting breaker.closed) and is silent when closed", () => {
    const open = run(start({ failureThreshold: 1 }), failed);
    for (const from of [open, send(open, OPEN_ELAPSED), run(open, OPEN_ELAPSED, probe)]) {
      const step = send(from, { type: "reset" });
      expect(step.value).toBe("closed");
      expect(step.emitted).toEqual([{ type: "breaker.closed" }]);
    }
    const closedWithFailures = run(start({ failureThreshold: 3 }), failed, failed);
    const reset = send(closedWithFailures, { type: "reset" });
    expect(reset.value).toBe("closed");
    expect(reset.emitted).toEqual([]);
    expect(reset.snapshot.context.failures).toBe(0);
  });

  it("in half-open only the probe's own outcome counts: a stale report (older epoch) neither closes nor re-opens", () => {
    const closed = start({ failureThreshold: 3, baseBackoffMs: 100 });
    const before = closed.snapshot.context.epoch; // a slow call let run now, before the outage
    const open = run(closed, failed, failed, failed);
    expect(open.value).toBe("open");
    const probing = run(open, OPEN_ELAPSED, probe);
    const probeEpoch = probing.snapshot.context.epoch;
    expect(probeEpoch).not.toBe(before);
    for (const stale of [
      { type: "call.succeeded", epoch: before },
      { type: "call.failed", epoch: before },
    ] as const) {
      const step = send(probing, stale);
      expect(step.value).toEqual({ halfOpen: "probing" });
      expect(step.emitted).toEqual([]);
      expect(step.snapshot.context).toEqual(probing.snapshot.context);
    }
    // The probe's own reports still decide.
    expect(send(probing, { type: "call.failed", epoch: probeEpoch }).emitted).toEqual([
      { type: "breaker.opened", backoffMs: 200, probeFailed: true },
    ]);
    const good = send(probing, { type: "call.succeeded", epoch: probeEpoch });
    expect(good.value).toBe("closed");
    expect(good.emitted).toEqual([{ type: "breaker.closed" }]);
  });

  it("while closed, outcomes of calls let run before the last open or reset are not counted", () => {
    const options = { failureThreshold: 2, baseBackoffMs: 100 };
    const first = start(options);
    const old = first.snapshot.context.epoch;
    const open = run(first, failed, failed);
    const reclosed = run(open, OPEN_ELAPSED, probe);
    const closed = send(reclosed, { type: "call.succeeded", epoch: reclosed.snapshot.context.epoch });
    expect(closed.value).toBe("closed");
    const now = closed.snapshot.context.epoch;
    // Two late failures from before the outage do not re-open it; current ones do.
    const stale = run(closed, { type: "call.failed", epoch: old }, { type: "call.failed", epoch: old });
    expect(stale.value).toBe("closed");
    expect(stale.snapshot.context.failures).toBe(0);
    const counted = send(closed, { type: "call.failed", epoch: now });
    expect(counted.snapshot.context.failures).toBe(1);
    // A stale success does not wipe the current count either.
    expect(send(counted, { type: "call.succeeded", epoch: old }).snapshot.context.failures).toBe(1);
    // A reset starts a new epoch too.
    const afterReset = send(counted, { type: "reset" });
    expect(afterReset.snapshot.context.epoch).not.toBe(now);
    expect(send(afterReset, { type: "call.failed", epoch: now }).snapshot.context.failures).toBe(0);
  });

  it("the backoff never exceeds the cap nor falls below the base over any event stream", () => {
    const eventArb = fc.constantFrom<CircuitBreakerEvent | AnyEventObject>(
      failed,
      succeeded,
      probe,
      OPEN_ELAPSED,
      { type: "reset" },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(eventArb, { maxLength: 60 }),
        (failureThreshold, baseBackoffMs, capFactor, events) => {
          const maxBackoffMs = baseBackoffMs * capFactor;
          let step = start({ failureThreshold, baseBackoffMs, maxBackoffMs });
          for (const event of events) {
            step = send(step, event);
            const { backoffMs, failures } = step.snapshot.context;
            expect(backoffMs).toBeGreaterThanOrEqual(baseBackoffMs);
            expect(backoffMs).toBeLessThanOrEqual(maxBackoffMs);
            expect(failures).toBeLessThan(failureThreshold);
            for (const delay of step.delays) expect(delay).toBe(backoffMs);
          }
        },
      ),
    );
  });
});

describe("circuit breaker options", () => {
  it("fills defaults and lifts the default cap to a larger base", () => {
    expect(resolveCircuitBreakerOptions()).toEqual(CIRCUIT_BREAKER_DEFAULTS);
    expect(resolveCircuitBreakerOptions({ baseBackoffMs: 120_000 }).maxBackoffMs).toBe(120_000);
  });

  it.each([
    { failureThreshold: 0 },
    { failureThreshold: 1.5 },
    { baseBackoffMs: 0 },
    { baseBackoffMs: Number.NaN },
    { baseBackoffMs: 100, maxBackoffMs: 99 },
    { maxBackoffMs: Number.POSITIVE_INFINITY },
  ])("rejects %o", (options) => {
    expect(() => resolveCircuitBreakerOptions(options)).toThrow(RangeError);
  });
});

describe("circuit breaker actor on a SimulatedClock", () => {
  it("stays open for exactly the backoff, then half-opens; a failed probe doubles it", () => {
    const clock = new SimulatedClock();
    const actor = createActor(circuitBreakerMachine, {
      input: { failureThreshold: 2, baseBackoffMs: 50, maxBackoffMs: 150 },
      clock,
    });
    const emitted: CircuitBreakerEmitted[] = [];
    actor.on("*", (event) => emitted.push(event));
    actor.start();
    actor.send(failed);
    actor.send(failed);
    expect(actor.getSnapshot().value).toBe("open");
    clock.increment(49);
    expect(actor.getSnapshot().value).toBe("open");
    clock.increment(1);
    expect(actor.getSnapshot().value).toEqual({ halfOpen: "ready" });

    actor.send(probe);
    actor.send(failed);
    clock.increment(99);
    expect(actor.getSnapshot().value).toBe("open");
    clock.increment(1);
    expect(actor.getSnapshot().value).toEqual({ halfOpen: "ready" });

    actor.send(probe);
    actor.send(failed);
    clock.increment(149);
    expect(actor.getSnapshot().value).toBe("open");
    clock.increment(1);
    expect(actor.getSnapshot().value).toEqual({ halfOpen: "ready" });

    actor.send(probe);
    actor.send(succeeded);
    expect(actor.getSnapshot().value).toBe("closed");
    expect(emitted).toEqual([
      { type: "breaker.opened", backoffMs: 50, probeFailed: false },
      { type: "breaker.opened", backoffMs: 100, probeFailed: true },
      { type: "breaker.opened", backoffMs: 150, probeFailed: true },
      { type: "breaker.closed" },
    ]);
    actor.stop();
  });

  it("a reset while open cancels the pending half-open timer", () => {
    const clock = new SimulatedClock();
    const actor = createActor(circuitBreakerMachine, {
      input: { failureThreshold: 1, baseBackoffMs: 10 },
      clock,
    });
    actor.start();
    actor.send(failed);
    actor.send({ type: "reset" });
    clock.increment(1000);
    expect(actor.getSnapshot().value).toBe("closed");
    actor.stop();
  });
});

describe("circuit-breaker options: one set of rules for the chart and the engine config", () => {
  it("reports every bad field, not only the first", () => {
    expect(
      circuitBreakerOptionProblems({
        failureThreshold: 0,
        baseBackoffMs: -1,
        maxBackoffMs: Number.POSITIVE_INFINITY,
      }),
    ).toEqual([
      { field: "failureThreshold", reason: "must be a whole number ≥ 1" },
      {
        field: "baseBackoffMs",
        reason:
          "must be a number of milliseconds > 0 and at most 2147483647 (about 24.8 days, the longest timer Node keeps)",
      },
      // The base was refused, so the cap's rule does not quote it as a floor.
      {
        field: "maxBackoffMs",
        reason:
          "must be a number of milliseconds > 0 and at most 2147483647 (about 24.8 days, the longest timer Node keeps)",
      },
    ]);
  });

  it("refuses non-objects, unknown keys and non-numbers; accepts undefined fields", () => {
    expect(circuitBreakerOptionProblems(null)).toEqual([
      { field: "", reason: "must be an object of circuit-breaker options" },
    ]);
    expect(circuitBreakerOptionProblems({ threshold: 3 }).map((p) => p.field)).toEqual(["threshold"]);
    expect(circuitBreakerOptionProblems({ baseBackoffMs: "5" }).map((p) => p.field)).toEqual([
      "baseBackoffMs",
    ]);
    expect(circuitBreakerOptionProblems({ failureThreshold: undefined })).toEqual([]);
    expect(circuitBreakerOptionProblems(undefined)).toEqual([]);
  });

  it("an unset cap is checked against the default base, and the resolver throws naming the fields", () => {
    expect(circuitBreakerOptionProblems({ maxBackoffMs: 500 }).map((p) => p.field)).toEqual(["maxBackoffMs"]);
    expect(() => resolveCircuitBreakerOptions({ failureThreshold: 1.5, maxBackoffMs: 10 })).toThrow(
      /failureThreshold: must be a whole number ≥ 1, got 1\.5; maxBackoffMs: must be ≥ baseBackoffMs \(1000\) and ≤ 2147483647 .*, got 10/,
    );
    // A string shown quoted; an unknown option with the known ones, and no value after them.
    expect(() => resolveCircuitBreakerOptions({ failureThreshold: "x" } as never)).toThrow(
      new RangeError('invalid circuit-breaker options: failureThreshold: must be a number, got "x"'),
    );
    expect(() => resolveCircuitBreakerOptions({ failureTreshold: 5 } as never)).toThrow(
      new RangeError(
        "invalid circuit-breaker options: failureTreshold: unknown option; known: failureThreshold, baseBackoffMs, maxBackoffMs",
      ),
    );
    expect(resolveCircuitBreakerOptions({ baseBackoffMs: 120_000 })).toEqual({
      failureThreshold: 3,
      baseBackoffMs: 120_000,
      maxBackoffMs: 120_000,
    });
  });

  it("the engine config reports the same problems at safety.breaker.<field>", () => {
    const issues = engineConfigIssues({
      seed: 1,
      params: { x: { min: 0, max: 1 } },
      safety: { breaker: { failureThreshold: 0, baseBackoffMs: 0 } },
    });
    expect(issues).toEqual([
      { path: "safety.breaker.failureThreshold", message: "must be a whole number ≥ 1, got 0" },
      {
        path: "safety.breaker.baseBackoffMs",
        message:
          "must be a number of milliseconds > 0 and at most 2147483647 (about 24.8 days, the longest timer Node keeps), got 0",
      },
    ]);
  });

  it("names the option a misspelt one likely meant, in the breaker's and SafeMode's options", () => {
    const issues = engineConfigIssues({
      seed: 1,
      params: { x: { min: 0, max: 1 } },
      safety: { breaker: { maxBackofMs: 5000 }, safeMode: { dwelMs: 10 } },
    } as never);
    expect(issues).toEqual([
      {
        path: "safety.safeMode.dwelMs",
        message: "unknown option (did you mean dwellMs?); known: dwellMs, healthyWindows",
      },
      {
        path: "safety.breaker.maxBackofMs",
        message:
          "unknown option (did you mean maxBackoffMs?); known: failureThreshold, baseBackoffMs, maxBackoffMs",
      },
    ]);
  });
});
