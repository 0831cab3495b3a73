import { describe, expect, it } from "vitest";
import { WindowCollector, type WindowResult } from "../src/engine/evaluation-windows.js";
import { ManualClock } from "./support/engine-clock.js";
import { digestOf, engineRig, eventsOfType } from "./support/engine-harness.js";
import { bowl, eventsSince, ONE } from "./support/safety-drill.js";

// Digests stamped within settleMs after an apply are rejected, so a window's time limit runs from
// the end of the settle period: a limit that started at the apply would spend itself on digests
// that cannot count (docs/concepts/evaluation-windows.md, "When a window closes").

describe("a window's time limit starts when the settle period ends", () => {
  it("settleMs longer than stallAfter windows: the engine still iterates, and never stalls", () => {
    // 1600 ms of settling against 3 × 500 ms windows: every window used to time out empty while
    // the point settled, the stall's return to the centre was a new apply, and so on for ever.
    const rig = engineRig({ seed: 3, params: ONE, settleMs: 1600 });
    const { engine } = rig;
    const plant = bowl(3);
    for (let i = 0; i < 600; i++) {
      rig.clock.advanceBy(50);
      engine.observe(digestOf(engine, plant(engine.values[0]!)));
    }
    const events = eventsSince(rig, 0);
    expect(eventsOfType(events, "spsa.stalled")).toEqual([]);
    expect(eventsOfType(events, "eval.timeout")).toEqual([]);
    expect(engine.snapshot().iteration).toBeGreaterThan(3);
    expect(engine.mode).toBe("normal");
  });

  it("a window that times out measured the settled period: it closes settleMs + ms after its apply", () => {
    const rig = engineRig({ seed: 3, params: ONE, settleMs: 1000, window: { digests: 100, ms: 500 } });
    const { engine } = rig;
    const plant = bowl(3);
    for (let i = 0; i < 200; i++) {
      rig.clock.advanceBy(50);
      engine.observe(digestOf(engine, plant(engine.values[0]!)));
    }
    // The first window measures the starting point: no apply, nothing to settle.
    const [first, ...windows] = eventsOfType(eventsSince(rig, 0), "window.closed");
    expect(first!.time - first!.openedAt).toBe(500);
    expect(windows.length).toBeGreaterThan(3);
    for (const w of windows) {
      expect(w.timedOut).toBe(true);
      expect(w.time - w.openedAt).toBe(1500);
      // Digests every 50 ms over the 500 ms after settling.
      expect(w.count).toBe(10);
    }
  });

  it("without telemetry the cycle still stalls, after stallAfter windows of settleMs + ms each", () => {
    const rig = engineRig({ seed: 3, params: ONE, settleMs: 1600 });
    const { engine } = rig;
    const plant = bowl(3);
    // One iteration's worth of digests, then nothing.
    for (let i = 0; i < 200 && engine.snapshot().iteration < 1; i++) {
      rig.clock.advanceBy(50);
      engine.observe(digestOf(engine, plant(engine.values[0]!)));
    }
    engine.flushEvents();
    const mark = rig.events.length;
    const silentFrom = engine.now();
    rig.clock.advanceBy(20_000);
    const events = eventsSince(rig, mark);
    const timeouts = eventsOfType(events, "eval.timeout");
    const stalls = eventsOfType(events, "spsa.stalled");
    expect(stalls).toHaveLength(1);
    expect(timeouts.map((e) => e.consecutive)).toEqual([1, 2, 3]);
    // Each empty window waited out the settle period and then its own 500 ms.
    expect(stalls[0]!.time - silentFrom).toBeGreaterThanOrEqual(3 * 500 + 1600);
  });
});

describe("WindowCollector.open(limitFrom)", () => {
  const collector = (clock: ManualClock, closed: WindowResult[]) =>
    new WindowCollector({ count: 5, ms: 500, aggregation: "mean", trim: 0, scheduler: clock }, (w) =>
      closed.push(w),
    );

  it("runs the time limit from limitFrom when it lies ahead, from now otherwise", () => {
    const clock = new ManualClock();
    const closed: WindowResult[] = [];
    const windows = collector(clock, closed);
    clock.advanceTo(100);
    windows.open(1100);
    clock.advanceTo(1599);
    expect(closed).toEqual([]);
    clock.advanceTo(1600);
    expect(closed).toMatchObject([{ openedAt: 100, closedAt: 1600, timedOut: true, count: 0 }]);
    windows.open(0); // already past: the limit counts from now
    clock.advanceTo(2100);
    expect(closed[1]).toMatchObject({ openedAt: 1600, closedAt: 2100, timedOut: true });
  });

  it("caps the delay at the longest timer Node keeps", () => {
    const clock = new ManualClock();
    const closed: WindowResult[] = [];
    collector(clock, closed).open(2 ** 31);
    clock.advanceTo(2 ** 31 - 2);
    expect(closed).toEqual([]);
    clock.advanceTo(2 ** 31 - 1);
    expect(closed).toHaveLength(1);
  });
});

describe("WindowCollector.lengthenLimit(ms, steadyMs)", () => {
  /** One-value windows with a 500 ms limit, lengthened to 4 s until 1500 ms of quick fills. */
  const lengthened = (clock: ManualClock, closed: WindowResult[]) => {
    const windows = new WindowCollector(
      { count: 1, ms: 500, aggregation: "mean", trim: 0, scheduler: clock },
      (w) => closed.push(w),
    );
    windows.lengthenLimit(4000, 1500);
    return windows;
  };
  /** Opens a window, fills it after `ms`, and returns whether it closed full. */
  const fillAfter = (clock: ManualClock, windows: WindowCollector, closed: WindowResult[], ms: number) => {
    windows.open();
    clock.advanceBy(ms);
    windows.push(1);
    return closed.at(-1)?.timedOut === false;
  };

  it("keeps the longer limit while quick fills come in bursts shorter than steadyMs", () => {
    const clock = new ManualClock();
    const closed: WindowResult[] = [];
    const windows = lengthened(clock, closed);
    for (let burst = 0; burst < 10; burst++) {
      // A slow fill (the wait for the next burst), then three quick ones 10 ms apart.
      expect(fillAfter(clock, windows, closed, 1900)).toBe(true);
      for (let k = 0; k < 3; k++) expect(fillAfter(clock, windows, closed, 10)).toBe(true);
    }
    const before = closed.length;
    windows.open();
    clock.advanceBy(3999);
    expect(closed).toHaveLength(before); // still open at 3999 ms: the limit is 4 s
    clock.advanceBy(1);
    expect(closed.slice(before)).toMatchObject([{ timedOut: true, count: 0 }]);
  });

  it("counts no run of quick fills across a window that timed out", () => {
    const clock = new ManualClock();
    const closed: WindowResult[] = [];
    const windows = lengthened(clock, closed);
    for (let k = 0; k < 14; k++) fillAfter(clock, windows, closed, 100);
    windows.open();
    clock.advanceBy(4000); // times out empty at the lengthened limit
    expect(closed.at(-1)).toMatchObject({ timedOut: true, count: 0 });
    // Quick again, but the run starts over: one more fill does not give the limit up.
    fillAfter(clock, windows, closed, 100);
    const before = closed.length;
    windows.open();
    clock.advanceBy(600);
    expect(closed).toHaveLength(before);
  });

  it("gives it up once fills within steadyMs less the limit have gone on for twice the lengthened limit", () => {
    const clock = new ManualClock();
    const closed: WindowResult[] = [];
    const windows = lengthened(clock, closed);
    // A digest every 700 ms: never within 500 ms, always within 1000 ms. The eighth fill (within a
    // quarter of 4 s) shortens the limit to 1.4 s, twice its wait; four more, over twice that, give it up.
    for (let k = 0; k < 11; k++) fillAfter(clock, windows, closed, 700);
    const before = closed.length;
    windows.open();
    clock.advanceBy(600);
    expect(closed).toHaveLength(before); // still lengthened
    clock.advanceBy(100);
    windows.push(1);
    windows.open();
    clock.advanceBy(500);
    expect(closed.at(-1)).toMatchObject({ timedOut: true, count: 0 });
  });

  it("gives it up once quick fills have gone on for steadyMs, and not before", () => {
    const clock = new ManualClock();
    const closed: WindowResult[] = [];
    const windows = lengthened(clock, closed);
    // Quick fills every 100 ms: the fifteenth ends 1500 ms after the first began.
    for (let k = 0; k < 14; k++) fillAfter(clock, windows, closed, 100);
    const before = closed.length;
    windows.open();
    clock.advanceBy(600);
    expect(closed).toHaveLength(before); // 600 ms and still open: lengthened
    windows.push(1); // a slow fill: the run starts over
    for (let k = 0; k < 15; k++) fillAfter(clock, windows, closed, 100);
    const after = closed.length;
    windows.open();
    clock.advanceBy(500);
    expect(closed.slice(after)).toMatchObject([{ timedOut: true, count: 0 }]);
  });
});
