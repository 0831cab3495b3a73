import { Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import type { EngineSnapshot } from "../src/engine/engine.js";
import { UsageError } from "../src/errors.js";
import { createEventStore } from "../src/react/event-store.js";
import { type ExternalStore, selectFrom, sharedListeners } from "../src/react/external-store.js";
import { createSnapshotStore } from "../src/react/snapshot-store.js";
import { stateName } from "../src/react/use-engine-state.js";
import { ManualClock } from "./support/engine-clock.js";
import { digestOf, engineRig } from "./support/engine-harness.js";

/** A stand-in engine: events pushed by hand, snapshots numbered in the order they were taken. */
function fakeEngine() {
  const events = new Subject<AuditEvent>();
  let taken = 0;
  return {
    events,
    snapshot: () => ({ generation: ++taken }) as EngineSnapshot,
    taken: () => taken,
  };
}

const event = (seq: number) => ({ type: "baseline.set", seq }) as unknown as AuditEvent;

describe("sharedListeners", () => {
  it("connects once for any number of listeners and disconnects when the last one leaves", () => {
    let connects = 0;
    let disconnects = 0;
    let notify = () => {};
    const subscribe = sharedListeners((n) => {
      connects++;
      notify = n;
      return () => disconnects++;
    });
    const calls: string[] = [];
    const offA = subscribe(() => calls.push("a"));
    const offB = subscribe(() => calls.push("b"));
    expect(connects).toBe(1);
    notify();
    expect(calls).toEqual(["a", "b"]);
    offA();
    offA();
    expect(disconnects).toBe(0);
    notify();
    expect(calls).toEqual(["a", "b", "b"]);
    offB();
    expect(disconnects).toBe(1);
    subscribe(() => calls.push("c"));
    expect(connects).toBe(2);
  });

  it("counts the same function subscribed twice as two listeners", () => {
    let disconnects = 0;
    const subscribe = sharedListeners(() => () => disconnects++);
    const listener = () => {};
    const first = subscribe(listener);
    const second = subscribe(listener);
    first();
    expect(disconnects).toBe(0);
    second();
    expect(disconnects).toBe(1);
  });
});

describe("createSnapshotStore", () => {
  it("names itself when it refuses an option (it used to name engineSnapshots, which it calls)", () => {
    const engine = fakeEngine();
    expect(() => createSnapshotStore(engine, { evryMs: 5 } as never)).toThrow(
      new UsageError(
        'createSnapshotStore: unknown option "evryMs" (did you mean everyMs? known: everyMs, scheduler)',
      ),
    );
    expect(() => createSnapshotStore(engine, { everyMs: Number.NaN })).toThrow(
      /^createSnapshotStore: everyMs must be a number of milliseconds .*, got NaN$/,
    );
  });

  it("takes one snapshot on the first read when nobody listens, and returns it until something changes", () => {
    const engine = fakeEngine();
    const store = createSnapshotStore(engine);
    const first = store.getSnapshot();
    expect(store.getSnapshot()).toBe(first);
    expect(engine.taken()).toBe(1);
  });

  it("shares one stream among its listeners and publishes a new snapshot after a burst of events", () => {
    const engine = fakeEngine();
    const clock = new ManualClock();
    const store = createSnapshotStore(engine, { everyMs: 100, scheduler: clock });
    let changesA = 0;
    let changesB = 0;
    const offA = store.subscribe(() => changesA++);
    const offB = store.subscribe(() => changesB++);
    // The stream's first snapshot is taken once, for both listeners.
    expect(engine.taken()).toBe(1);
    const before = store.getSnapshot();
    engine.events.next(event(1));
    engine.events.next(event(2));
    clock.advanceBy(50);
    expect(store.getSnapshot()).toBe(before);
    clock.advanceBy(60);
    const after = store.getSnapshot();
    expect(after).not.toBe(before);
    expect(after.generation).toBe(2);
    expect(store.getSnapshot()).toBe(after);
    // A also heard the first snapshot, taken when it connected the stream; B joined after.
    expect([changesA, changesB]).toEqual([2, 1]);
    offA();
    offB();
    expect(engine.events.observed).toBe(false);
  });

  it("follows a real engine's applies", () => {
    const { engine, clock } = engineRig({
      seed: 11,
      params: { x: { min: 0, max: 10, init: 5, maxDelta: 1 } },
      window: { digests: 2 },
      guardrails: { minIntervalMs: 0 },
    });
    const store = createSnapshotStore(engine, { everyMs: 20, scheduler: clock });
    let changes = 0;
    store.subscribe(() => changes++);
    for (let i = 0; i < 6; i++) {
      clock.advanceBy(10);
      engine.observe(digestOf(engine, 3 + i));
    }
    clock.advanceBy(100);
    expect(engine.generation).toBeGreaterThan(0);
    expect(store.getSnapshot().generation).toBe(engine.generation);
    expect(store.getSnapshot().values).toEqual({ x: engine.values[0] });
    expect(changes).toBeGreaterThan(1);
  });
});

describe("createEventStore", () => {
  it("keeps the most recent `limit` events, oldest first, in a frozen array replaced only on change", () => {
    const engine = fakeEngine();
    const store = createEventStore(engine, { limit: 3 });
    const empty = store.getSnapshot();
    expect(empty).toEqual([]);
    let changes = 0;
    const off = store.subscribe(() => changes++);
    for (let seq = 1; seq <= 5; seq++) engine.events.next(event(seq));
    const recent = store.getSnapshot();
    expect(recent.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(Object.isFrozen(recent)).toBe(true);
    expect(store.getSnapshot()).toBe(recent);
    expect(changes).toBe(5);
    // What it holds survives an unsubscribe and resubscribe (StrictMode); events in between are missed.
    off();
    engine.events.next(event(6));
    store.subscribe(() => changes++);
    engine.events.next(event(7));
    expect(store.getSnapshot().map((e) => e.seq)).toEqual([4, 5, 7]);
  });

  it("keeps only the events its filter accepts", () => {
    const engine = fakeEngine();
    const store = createEventStore(engine, { limit: 2, filter: (e) => e.seq % 2 === 0 });
    store.subscribe(() => {});
    for (let seq = 1; seq <= 7; seq++) engine.events.next(event(seq));
    expect(store.getSnapshot().map((e) => e.seq)).toEqual([4, 6]);
  });

  it("throws what its filter threw from getSnapshot, where React's render meets it, not into the stream", () => {
    const engine = fakeEngine();
    const boom = new Error("filter boom");
    let calls = 0;
    const store = createEventStore(engine, {
      filter: (e) => {
        calls++;
        if (e.seq === 2) throw boom;
        return true;
      },
    });
    let changes = 0;
    store.subscribe(() => changes++);
    engine.events.next(event(1));
    expect(store.getSnapshot().map((e) => e.seq)).toEqual([1]);
    // Thrown in the subscriber, RxJS would report it later as an uncaught error, with no listener
    // told: here the listener hears of it and the next read throws it.
    engine.events.next(event(2));
    expect(changes).toBe(2);
    expect(() => store.getSnapshot()).toThrow(boom);
    engine.events.next(event(3));
    expect(calls).toBe(2);
    expect(() => store.getSnapshot()).toThrow(boom);
    expect(engine.events.observed).toBe(true);
  });

  it("rejects a limit that is not a whole number > 0", () => {
    const engine = fakeEngine();
    expect(() => createEventStore(engine, { limit: 0 })).toThrow(UsageError);
    expect(() => createEventStore(engine, { limit: 2.5 })).toThrow(/limit/);
    expect(() => createEventStore(engine, { limits: 5 } as never)).toThrow(
      'createEventStore: unknown option "limits" (did you mean limit? known: limit, filter)',
    );
    expect(() => createEventStore(engine, { filter: "apply" } as never)).toThrow(
      'createEventStore: filter must be a function, got "apply"',
    );
  });
});

describe("selectFrom", () => {
  function counterStore() {
    let value = { n: 1, label: "a" };
    const store: ExternalStore<{ n: number; label: string }> = {
      subscribe: () => () => {},
      getSnapshot: () => value,
    };
    const set = (next: { n: number; label: string }) => {
      value = next;
    };
    return { store, set };
  }

  it("returns the store's value as is without a selector", () => {
    const { store } = counterStore();
    expect(selectFrom(store, undefined)()).toBe(store.getSnapshot());
  });

  it("runs the selector once per new value and keeps an equal selection", () => {
    const { store, set } = counterStore();
    let runs = 0;
    const get = selectFrom(
      store,
      (v) => {
        runs++;
        return { n: v.n };
      },
      (a, b) => a.n === b.n,
    );
    const first = get();
    expect(get()).toBe(first);
    expect(runs).toBe(1);
    set({ n: 1, label: "b" });
    expect(get()).toBe(first);
    set({ n: 2, label: "b" });
    expect(get()).toEqual({ n: 2 });
    expect(runs).toBe(3);
  });

  it("applies isEqual to the store's values themselves without a selector", () => {
    const { store, set } = counterStore();
    const get = selectFrom(store, undefined, (a: { n: number }, b: { n: number }) => a.n === b.n);
    const first = get();
    set({ n: 1, label: "b" });
    expect(get()).toBe(first);
    set({ n: 2, label: "b" });
    expect(get()).toEqual({ n: 2, label: "b" });
  });

  it("starts from the committed selection: an equal first selection is that one", () => {
    const { store } = counterStore();
    const committed = { value: { n: 1 } };
    let runs = 0;
    const get = selectFrom(
      store,
      (v) => {
        runs++;
        return { n: v.n };
      },
      (a, b) => a.n === b.n,
      () => committed,
    );
    expect(get()).toBe(committed.value);
    expect(get()).toBe(committed.value);
    expect(runs).toBe(1);
  });
});

describe("stateName", () => {
  it("writes nested and parallel state values as dotted names", () => {
    expect(stateName("idle")).toBe("idle");
    expect(stateName({ cycle: "plus" })).toBe("cycle.plus");
    expect(stateName({ cycle: { measure: "centre" } })).toBe("cycle.measure.centre");
    expect(stateName({ a: "x", b: {} })).toBe("a.x, b");
  });
});
