import type { Observable, SchedulerAction, SchedulerLike, Subscription } from "rxjs";
import { Subject } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import type { Aggregation } from "../src/engine/aggregate.js";
import {
  createWindowStats,
  type EvaluationWindowOptions,
  evaluationWindows,
  InlineSchedulerError,
  type WindowControl,
  type WindowResult,
} from "../src/engine/evaluation-windows.js";

/** Marble letters for the control stream. */
const C: Record<string, WindowControl> = { o: "open", d: "discard" };
/** Marble letters for objective values. */
const V: Record<string, number> = { a: 1, b: 2, c: 3, d: 4, e: 100, f: 6, g: 7 };

function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

function result(over: Partial<WindowResult> & Pick<WindowResult, "count" | "value">): WindowResult {
  return { seq: 1, timedOut: false, openedAt: 0, closedAt: 0, ...over };
}

/** A scheduler that forwards to `inner` and keeps every timer subscription it hands out. */
class RecordingScheduler implements SchedulerLike {
  readonly timers: Subscription[] = [];
  constructor(private readonly inner: SchedulerLike) {}
  now(): number {
    return this.inner.now();
  }
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
    const timer = this.inner.schedule(work, delay, state);
    this.timers.push(timer);
    return timer;
  }
}

const base = { aggregation: "mean" as Aggregation, trim: 0 };

function windows(
  values: Observable<number>,
  control: Observable<WindowControl>,
  options: Partial<EvaluationWindowOptions> & Pick<EvaluationWindowOptions, "count">,
): Observable<WindowResult> {
  return values.pipe(evaluationWindows(control, { ...base, ...options }));
}

describe("evaluationWindows: closing", () => {
  it("closes by count as soon as the window holds `count` values", () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const control = hot("o---------", C);
      const values = hot(" -a-b-c----", V);
      const expected = "   -----x----";
      expectObservable(windows(values, control, { count: 3, ms: 100 })).toBe(expected, {
        x: result({ count: 3, value: 2, closedAt: 5 }),
      });
    });
  });

  it("closes by time with a partial window, timedOut true", () => {
    const stats = createWindowStats();
    testScheduler().run(({ hot, expectObservable }) => {
      const control = hot("o-----------", C);
      const values = hot(" --a--b------", V);
      const expected = "   10ms x";
      expectObservable(windows(values, control, { count: 5, ms: 10, stats })).toBe(expected, {
        x: result({ count: 2, value: 1.5, timedOut: true, closedAt: 10 }),
      });
    });
    expect(stats).toMatchObject({ opened: 1, timedOut: 1, filled: 0 });
  });

  it("an empty window times out with count 0 and value NaN", () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const control = hot("--o", C);
      const values = hot(" ---", V);
      const expected = "   12ms x";
      expectObservable(windows(values, control, { count: 5, ms: 10 })).toBe(expected, {
        x: result({ count: 0, value: Number.NaN, timedOut: true, openedAt: 2, closedAt: 12 }),
      });
    });
  });

  it("cancels the timer after a count close: no spurious timeout, and the next window gets its full time", () => {
    testScheduler().run(({ hot, expectObservable }) => {
      // Window 1 fills at frame 2 (its timer would fire at 10); window 2 opens at 15 and times out at 25.
      const control = hot("o 14ms o", C);
      const values = hot(" -ab", V);
      const expected = "   --x 22ms y";
      expectObservable(windows(values, control, { count: 2, ms: 10 })).toBe(expected, {
        x: result({ count: 2, value: 1.5, closedAt: 2 }),
        y: result({ seq: 2, count: 0, value: Number.NaN, timedOut: true, openedAt: 15, closedAt: 25 }),
      });
    });
  });

  it("the timer's subscription is closed when a count close cancels it", () => {
    const ts = testScheduler();
    const recorder = new RecordingScheduler(ts);
    const stats = createWindowStats();
    ts.run(({ hot, expectObservable }) => {
      const control = hot("o", C);
      const values = hot(" -ab", V);
      expectObservable(windows(values, control, { count: 2, ms: 10, scheduler: recorder, stats })).toBe(
        "--x",
        {
          x: result({ count: 2, value: 1.5, closedAt: 2 }),
        },
      );
    });
    expect(recorder.timers).toHaveLength(1);
    expect(recorder.timers[0]!.closed).toBe(true);
    expect(stats).toMatchObject({ filled: 1, timedOut: 0 });
  });
});

describe("evaluationWindows: opening, reopening and discarding", () => {
  it("a new open discards the open window and restarts count and time", () => {
    const stats = createWindowStats();
    testScheduler().run(({ hot, expectObservable }) => {
      const control = hot("o---o------", C);
      const values = hot(" -a-b--c-d-f", V);
      const expected = "   ----------x";
      expectObservable(windows(values, control, { count: 3, ms: 100, stats })).toBe(expected, {
        x: result({ seq: 2, count: 3, value: (3 + 4 + 6) / 3, openedAt: 4, closedAt: 10 }),
      });
    });
    expect(stats).toMatchObject({ opened: 2, replaced: 1, filled: 1, timedOut: 0 });
  });

  it("drops values while no window is open: before the first open and after a close", () => {
    const stats = createWindowStats();
    testScheduler().run(({ hot, expectObservable }) => {
      const control = hot("--o------o--", C);
      const values = hot(" ab-cd-fg--ab", V);
      const expected = "   ----x------y";
      expectObservable(windows(values, control, { count: 2, stats })).toBe(expected, {
        x: result({ count: 2, value: 3.5, openedAt: 2, closedAt: 4 }),
        y: result({ seq: 2, count: 2, value: 1.5, openedAt: 9, closedAt: 11 }),
      });
    });
    expect(stats.dropped).toBe(4); // a, b before the open; f, g after the first close
  });

  it("discard closes the open window silently, cancels its timer, and later values are dropped", () => {
    const ts = testScheduler();
    const recorder = new RecordingScheduler(ts);
    const stats = createWindowStats();
    ts.run(({ hot, expectObservable }) => {
      const control = hot("o--d------", C);
      const values = hot(" -a--b-----", V);
      expectObservable(windows(values, control, { count: 2, ms: 10, scheduler: recorder, stats })).toBe("-");
    });
    expect(recorder.timers[0]!.closed).toBe(true);
    expect(stats).toMatchObject({ opened: 1, discarded: 1, dropped: 1, timedOut: 0, filled: 0 });
  });

  it("discard with no open window does nothing", () => {
    const stats = createWindowStats();
    testScheduler().run(({ hot, expectObservable }) => {
      const control = hot("d-o-d", C);
      const values = hot(" -a-b", V);
      expectObservable(windows(values, control, { count: 1, stats })).toBe("---x", {
        x: result({ count: 1, value: 2, openedAt: 2, closedAt: 3 }),
      });
    });
    expect(stats).toMatchObject({ discarded: 0, dropped: 1 });
  });

  it("count-only mode when ms is omitted: never times out and never touches the scheduler's timers", () => {
    const ts = testScheduler();
    const recorder = new RecordingScheduler(ts);
    ts.run(({ hot, expectObservable }) => {
      const control = hot("o", C);
      const values = hot(" -a 2000ms b 5000ms c", V);
      const expected = "   7003ms x";
      expectObservable(windows(values, control, { count: 3, scheduler: recorder })).toBe(expected, {
        x: result({ count: 3, value: 2, closedAt: 7003 }),
      });
    });
    expect(recorder.timers).toHaveLength(0);
  });
});

describe("evaluationWindows: aggregation", () => {
  it.each([
    ["mean", 0, 22],
    ["median", 0, 3],
    ["trimmed-mean", 0.2, 3],
  ] as const)("%s (trim %s) of 1, 2, 3, 4, 100 is %s", (aggregation, trim, value) => {
    testScheduler().run(({ hot, expectObservable }) => {
      const control = hot("o", C);
      const values = hot(" e-a-d-b-c", V);
      expectObservable(windows(values, control, { count: 5, ms: 50, aggregation, trim })).toBe("--------x", {
        x: result({ count: 5, value, closedAt: 8 }),
      });
    });
  });
});

describe("evaluationWindows: lifecycle", () => {
  it("unsubscribing cancels the pending timer", () => {
    const ts = testScheduler();
    const recorder = new RecordingScheduler(ts);
    const stats = createWindowStats();
    ts.run(({ hot, expectObservable }) => {
      const control = hot("o", C);
      const values = hot(" -a", V);
      expectObservable(
        windows(values, control, { count: 5, ms: 10, scheduler: recorder, stats }),
        "---!",
      ).toBe("---");
    });
    expect(recorder.timers).toHaveLength(1);
    expect(recorder.timers[0]!.closed).toBe(true);
    expect(stats.timedOut).toBe(0);
  });

  it("completes with the source, abandoning a partial window and its timer", () => {
    const ts = testScheduler();
    const recorder = new RecordingScheduler(ts);
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const control = hot("o-----", C);
      const values = cold("-a-|", V);
      expectObservable(windows(values, control, { count: 5, ms: 10, scheduler: recorder })).toBe("---|");
      expectSubscriptions(control.subscriptions).toBe("^--!");
    });
    expect(recorder.timers[0]!.closed).toBe(true);
  });

  it("forwards errors from the source and from control", () => {
    testScheduler().run(({ hot, expectObservable }) => {
      expectObservable(windows(hot("-#", V), hot("o", C), { count: 2 })).toBe("-#");
      expectObservable(windows(hot("-a", V), hot("o-#", C), { count: 2 })).toBe("--#");
    });
  });

  it("ends with an InlineSchedulerError on a scheduler that runs the time limit inside schedule()", () => {
    const inline = {
      now: () => 0,
      schedule(work: (this: unknown, state?: unknown) => void, _delay?: number, state?: unknown) {
        work.call({ schedule: () => new Subject<never>().subscribe() }, state);
        return new Subject<never>().subscribe();
      },
    } as SchedulerLike;
    const control = new Subject<WindowControl>();
    const values = new Subject<number>();
    const seen: unknown[] = [];
    values
      .pipe(evaluationWindows(control, { ...base, count: 2, ms: 100, scheduler: inline }))
      .subscribe({ next: (w) => seen.push(w), error: (error) => seen.push(error) });
    control.next("open");
    expect(seen).toEqual([new InlineSchedulerError()]);
    expect((seen[0] as Error).name).toBe("InlineSchedulerError");
  });

  it("keeps windows working after control completes", () => {
    testScheduler().run(({ hot, expectObservable }) => {
      expectObservable(windows(hot("-ab", V), hot("o|", C), { count: 2 })).toBe("--x", {
        x: result({ count: 2, value: 1.5, closedAt: 2 }),
      });
    });
  });

  it("rejects a count that is not a positive integer and an ms that is not > 0", () => {
    const control = new Subject<WindowControl>();
    expect(() => evaluationWindows(control, { ...base, count: 0 })).toThrow(RangeError);
    expect(() => evaluationWindows(control, { ...base, count: 2.5 })).toThrow(RangeError);
    expect(() => evaluationWindows(control, { ...base, count: 2, ms: 0 })).toThrow(RangeError);
    expect(() => evaluationWindows(control, { ...base, count: 2, ms: Number.NaN })).toThrow(RangeError);
  });
});

describe("evaluationWindows: synchronous delivery", () => {
  it("delivers the result before the value's next() returns (plain Subjects, no test scheduler)", () => {
    const values = new Subject<number>();
    const control = new Subject<WindowControl>();
    const seen: WindowResult[] = [];
    const subscription = values
      .pipe(evaluationWindows(control, { ...base, count: 2, ms: 60_000 }))
      .subscribe((w) => seen.push(w));
    control.next("open");
    values.next(1);
    expect(seen).toHaveLength(0);
    values.next(4);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ seq: 1, count: 2, value: 2.5, timedOut: false });
    subscription.unsubscribe(); // also cancels the real 60 s timer of any open window
  });

  it("lets the subscriber reopen re-entrantly, and the next value lands in the new window", () => {
    const values = new Subject<number>();
    const control = new Subject<WindowControl>();
    const stats = createWindowStats();
    const seen: WindowResult[] = [];
    const subscription = values
      .pipe(evaluationWindows(control, { ...base, count: 1, stats }))
      .subscribe((w) => {
        seen.push(w);
        if (w.seq < 3) control.next("open");
      });
    control.next("open");
    for (const v of [10, 20, 30, 40]) values.next(v);
    expect(seen.map((w) => [w.seq, w.value])).toEqual([
      [1, 10],
      [2, 20],
      [3, 30],
    ]);
    expect(stats).toMatchObject({ opened: 3, filled: 3, dropped: 1, replaced: 0 });
    subscription.unsubscribe();
  });
});
