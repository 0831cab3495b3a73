import { asyncScheduler } from "rxjs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { TimeRecord } from "../src/log/log-records.js";
import { RearmableTimer } from "../src/log/rearmable-timer.js";
import { RecordingClock } from "../src/log/recording-clock.js";

/** A recording clock on the wall clock (faked), and the timings it writes. */
function wallClock(): { clock: RecordingClock; timings: { kind: string; id: number; time: number }[] } {
  const timings: { kind: string; id: number; time: number }[] = [];
  const clock = new RecordingClock(asyncScheduler, (t: TimeRecord) =>
    timings.push({ kind: t.kind, id: t.id, time: t.time }),
  );
  return { clock, timings };
}

describe("RecordingClock's re-armable timers", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("re-arms one timer for work scheduled again, recording each run under its schedule call's id", () => {
    const { clock, timings } = wallClock();
    const states: unknown[] = [];
    const work = (state?: unknown): void => {
      states.push(state);
    };
    // First call: the base scheduler's own action.
    const first = clock.schedule(work, 25, "a");
    expect(first).not.toBeInstanceOf(RearmableTimer);
    vi.advanceTimersByTime(25);
    // Second call on: one timer, armed again each time.
    const second = clock.schedule(work, 25, "b");
    expect(second).toBeInstanceOf(RearmableTimer);
    expect(second.closed).toBe(false);
    vi.advanceTimersByTime(24);
    expect(states).toEqual(["a"]);
    vi.advanceTimersByTime(1);
    expect(second.closed).toBe(true);
    const third = clock.schedule(work, 25, "c");
    expect(third).toBe(second);
    vi.advanceTimersByTime(25);
    expect(states).toEqual(["a", "b", "c"]);
    expect(timings).toEqual([
      { kind: "timer", id: 0, time: 1_025 },
      { kind: "timer", id: 1, time: 1_050 },
      { kind: "timer", id: 2, time: 1_075 },
    ]);
  });

  it("a cancelled run never happens, and arming again counts the delay from the new call", () => {
    const { clock, timings } = wallClock();
    let runs = 0;
    const work = (): void => {
      runs++;
    };
    clock.schedule(work, 25).unsubscribe();
    const timer = clock.schedule(work, 25);
    expect(timer).toBeInstanceOf(RearmableTimer);
    vi.advanceTimersByTime(10);
    timer.unsubscribe();
    expect(timer.closed).toBe(true);
    vi.advanceTimersByTime(100);
    expect(runs).toBe(0);
    expect(clock.schedule(work, 25)).toBe(timer);
    vi.advanceTimersByTime(24);
    expect(runs).toBe(0);
    vi.advanceTimersByTime(1);
    expect(runs).toBe(1);
    expect(timings).toEqual([{ kind: "timer", id: 2, time: 1_135 }]);
  });

  it("a pending timer is not shared: scheduling the same work again while it waits takes the base path", () => {
    const { clock } = wallClock();
    let runs = 0;
    const work = (): void => {
      runs++;
    };
    clock.schedule(work, 25).unsubscribe();
    const pending = clock.schedule(work, 25);
    const other = clock.schedule(work, 25);
    expect(other).not.toBe(pending);
    vi.advanceTimersByTime(25);
    expect(runs).toBe(2);
  });

  it("work that may use `this` (a function with a prototype) always goes to the base scheduler", () => {
    const { clock } = wallClock();
    let runs = 0;
    function work(): void {
      runs++;
    }
    clock.schedule(work, 25);
    expect(clock.schedule(work, 25)).not.toBeInstanceOf(RearmableTimer);
    vi.advanceTimersByTime(25);
    expect(runs).toBe(2);
  });
});
