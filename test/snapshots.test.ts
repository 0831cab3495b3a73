import { map, NEVER, type Observable, queueScheduler, Subject } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import type { EngineSnapshot } from "../src/engine/engine.js";
import { engineSnapshots } from "../src/engine/snapshots.js";
import { UsageError } from "../src/errors.js";
import { digestOf, engineRig } from "./support/engine-harness.js";

/**
 * A stand-in engine whose events come from a marble and whose snapshot reports the scheduler time
 * it was taken at (as its generation), so the marbles show when snapshots are taken.
 */
function fakeEngine(events: Observable<unknown>, scheduler: TestScheduler) {
  let taken = 0;
  return {
    events: events as Observable<AuditEvent>,
    snapshot: () => {
      taken++;
      return { generation: scheduler.now() } as EngineSnapshot;
    },
    taken: () => taken,
  };
}

const generationAt = map((s: EngineSnapshot) => s.generation);

function marbles(
  run: (helpers: Parameters<Parameters<TestScheduler["run"]>[0]>[0], ts: TestScheduler) => void,
) {
  const ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  ts.run((helpers) => run(helpers, ts));
}

describe("engineSnapshots", () => {
  it("emits one snapshot on subscribe, then one per burst of events, at the end of the wait", () => {
    marbles(({ hot, expectObservable }, ts) => {
      const events = hot("  --a-b-c-----------d--|");
      // The last burst's snapshot is taken when the events complete (the engine closed), not
      // at the end of its wait.
      const expected = "    a---------b----------(c|)";
      const engine = fakeEngine(events, ts);
      const snapshots = engineSnapshots(engine, { everyMs: 8, scheduler: ts }).pipe(generationAt);
      expectObservable(snapshots).toBe(expected, { a: 0, b: 10, c: 21 });
    });
  });

  it("takes no snapshot while the engine is idle", () => {
    marbles(({ expectObservable, flush }, ts) => {
      const engine = fakeEngine(NEVER, ts);
      expectObservable(engineSnapshots(engine, { scheduler: ts }).pipe(generationAt), "^ 10s !").toBe("a", {
        a: 0,
      });
      flush();
      expect(engine.taken()).toBe(1);
    });
  });

  it("delivers the pending snapshot at once when the engine closes mid-burst, then completes", () => {
    marbles(({ hot, expectObservable }, ts) => {
      const events = hot("-a-|");
      const engine = fakeEngine(events, ts);
      // No timer outlives the close (it would hold the host's process for up to everyMs).
      expectObservable(engineSnapshots(engine, { everyMs: 5, scheduler: ts }).pipe(generationAt)).toBe(
        "a--(b|)",
        { a: 0, b: 3 },
      );
    });
  });

  it("gives each subscriber its own first snapshot and unsubscribes from the events with it", () => {
    marbles(({ hot, expectObservable, expectSubscriptions }, ts) => {
      const events = hot("---a---b---");
      const engine = fakeEngine(events, ts);
      const snapshots = engineSnapshots(engine, { everyMs: 0, scheduler: ts }).pipe(generationAt);
      expectObservable(snapshots, "^------!").toBe("a--b---", { a: 0, b: 3 });
      expectObservable(snapshots, "--^------!").toBe("--ab---c", { a: 2, b: 3, c: 7 });
      expectSubscriptions(events.subscriptions).toBe(["^------!", "--^------!"]);
    });
  });

  it("forwards an error of the event stream", () => {
    marbles(({ cold, expectObservable }, ts) => {
      const engine = fakeEngine(cold("--#", undefined, new Error("boom")), ts);
      expectObservable(engineSnapshots(engine, { scheduler: ts }).pipe(generationAt)).toBe(
        "a-#",
        { a: 0 },
        new Error("boom"),
      );
    });
  });

  it("keeps taking snapshots on a scheduler that runs due work at once", () => {
    const events = new Subject<AuditEvent>();
    let taken = 0;
    const engine = { events, snapshot: () => ({ generation: taken++ }) as EngineSnapshot };
    const seen: number[] = [];
    engineSnapshots(engine, { everyMs: 0, scheduler: queueScheduler }).subscribe((s) =>
      seen.push(s.generation),
    );
    for (let k = 0; k < 4; k++) events.next({} as AuditEvent);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it("rejects a negative, non-finite or too long everyMs", () => {
    const engine = { events: new Subject<AuditEvent>(), snapshot: () => ({}) as EngineSnapshot };
    expect(() => engineSnapshots(engine, { everyMs: -1 })).toThrow(UsageError);
    expect(() => engineSnapshots(engine, { everyMs: Number.NaN })).toThrow(/everyMs/);
    // Past Node's longest timer, the throttle would fire after 1 ms: refused, not silently off.
    expect(() => engineSnapshots(engine, { everyMs: 3e9 })).toThrow(/everyMs .*at most 2147483647/);
    expect(() => engineSnapshots(engine, { everyMs: 2_147_483_647 })).not.toThrow();
    // A string shows as one, and a misspelt option is named rather than dropped.
    expect(() => engineSnapshots(engine, { everyMs: "5" } as never)).toThrow(/, got "5"$/);
    expect(() => engineSnapshots(engine, { everyMS: 5 } as never)).toThrow(
      'engineSnapshots: unknown option "everyMS" (did you mean everyMs? known: everyMs, scheduler)',
    );
  });

  it("rejects a scheduler that is none when called, not at the first event inside the engine", () => {
    const engine = { events: new Subject<AuditEvent>(), snapshot: () => ({}) as EngineSnapshot };
    for (const [scheduler, shown] of [
      ["async", '"async"'],
      [{}, "an object"],
      [{ now: () => 0 }, "an object"],
    ] as const) {
      expect(() => engineSnapshots(engine, { scheduler: scheduler as never })).toThrow(
        new UsageError(
          `engineSnapshots: scheduler must be an RxJS SchedulerLike (with now() and schedule()), got ${shown}`,
        ),
      );
    }
    // Nothing was subscribed: the events stream was never touched.
    expect(engine.events.observed).toBe(false);
  });

  it("follows a real engine in virtual time: a snapshot after its applies, a last one at close", async () => {
    const { engine, clock } = engineRig({
      seed: 3,
      params: { x: { min: 0, max: 10, init: 5, maxDelta: 1 } },
      window: { digests: 2 },
      guardrails: { minIntervalMs: 0 },
    });
    const seen: EngineSnapshot[] = [];
    let completed = false;
    engineSnapshots(engine, { everyMs: 50, scheduler: clock }).subscribe({
      next: (s) => seen.push(s),
      complete: () => {
        completed = true;
      },
    });
    expect(seen.map((s) => s.generation)).toEqual([0]);
    clock.advanceBy(1000);
    // The baseline.set written at creation is the first event: one snapshot 50 ms after it.
    expect(seen).toHaveLength(2);
    for (let i = 0; i < 4; i++) {
      clock.advanceBy(10);
      engine.observe(digestOf(engine, 1 + i));
    }
    clock.advanceBy(1000);
    const last = seen.at(-1)!;
    expect(last.generation).toBe(engine.generation);
    expect(last.generation).toBeGreaterThan(0);
    expect(last.digests.accepted).toBe(4);
    engine.observe(digestOf(engine, 1));
    engine.observe(digestOf(engine, 1));
    const before = seen.length;
    await engine.close();
    clock.advanceBy(1000);
    expect(completed).toBe(true);
    expect(seen.length).toBe(before + 1);
    expect(seen.at(-1)!.digests.accepted).toBe(6);
  });

  it("shows a halt and a reset of a real engine without being asked", async () => {
    const { engine, clock } = engineRig({ seed: 4, params: { x: { min: 0, max: 1, init: 0.5 } } });
    const seen: EngineSnapshot[] = [];
    const subscription = engineSnapshots(engine, { everyMs: 10, scheduler: clock }).subscribe((s) =>
      seen.push(s),
    );
    clock.advanceBy(100);
    expect(seen.at(-1)!.mode).toBe("normal");
    engine.halt("operator");
    clock.advanceBy(100);
    expect(seen.at(-1)!.mode).toBe("halted");
    expect(seen.at(-1)!.reasons).toContain("manualHalt");
    expect(engine.resetSafeMode({ acknowledge: "checked" })).toBe(true);
    clock.advanceBy(100);
    expect(seen.at(-1)!.mode).toBe("normal");
    subscription.unsubscribe();
    await engine.close();
  });
});
