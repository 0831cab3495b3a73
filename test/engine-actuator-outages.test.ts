import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { createEngine } from "../src/index.js";

// An actuator that is down for a while costs one of `rollbacksPerHour` per outage, however many
// rollbacks its failures cause; one that keeps failing (outage after outage, or now and then)
// spends the allowance as repeated trips do, and halts the engine for a person to look at.

/**
 * A default engine tuning x towards 7, whose onApply throws during each [from, to) outage, and
 * whenever `refuses` says so of the values it is given.
 */
function runWithOutages(
  outages: readonly (readonly [number, number])[],
  until: number,
  refuses: (x: number) => boolean = () => false,
) {
  const scheduler = new VirtualTimeScheduler();
  let failing = false;
  const engine = createEngine({
    seed: 1,
    params: { x: { min: 0, max: 10, init: 5, maxDelta: 2 } },
    scheduler,
    onApply: (values) => {
      if (failing || refuses(values[0]!)) throw new Error("actuator down");
    },
  });
  const events: AuditEvent[] = [];
  engine.events.subscribe((event) => events.push(event));
  for (const [from, to] of outages) {
    scheduler.schedule(() => {
      failing = true;
    }, from);
    scheduler.schedule(() => {
      failing = false;
    }, to);
  }
  let k = 0;
  scheduler.schedule(function tick(this: { schedule(state: undefined, delay: number): void }) {
    k++;
    engine.observe({
      objective: (engine.values[0]! - 7) ** 2 + 0.001 * Math.sin(k),
      generation: engine.generation,
    });
    this.schedule(undefined, 20);
  }, 20);
  scheduler.maxFrames = until;
  scheduler.flush();
  engine.flushEvents();
  return { engine, events };
}

describe("actuator outages", () => {
  it("cost one rollback allowance each: three in an hour leave the engine tuning", async () => {
    const outages = [0, 1, 2].map((i) => [1000 + i * 1_000_000, 5000 + i * 1_000_000] as const);
    // Each outage rolls back more than once (the first failure, then the next apply before the
    // breaker opens), and the engine freezes while the breaker is open.
    const { engine, events } = runWithOutages(
      outages.map(([from, to]) => [from / 4, to / 4] as const),
      700_000,
    );
    const rollbacks = events.filter((e) => e.type === "rollback");
    expect(rollbacks.length).toBeGreaterThan(3);
    expect(events.some((e) => e.type === "mode.changed" && e.to === "halted")).toBe(false);
    expect(engine.mode).toBe("normal");
    // Tuning went on after the last outage.
    expect(events.some((e) => e.type === "apply" && e.time > outages.at(-1)![1] / 4 + 60_000)).toBe(true);
    await engine.close();
  });

  it("two short ones in an hour leave the engine tuning (they halted it under rules 7)", async () => {
    const { engine } = runWithOutages(
      [
        [1000, 5000],
        [600_000, 605_000],
      ],
      700_000,
    );
    expect(engine.mode).toBe("normal");
    await engine.close();
  });

  it("a fourth within the hour halts the engine (rollbacksPerHour 3)", async () => {
    const outages = [0, 1, 2, 3].map((i) => [1000 + i * 150_000, 5000 + i * 150_000] as const);
    const { engine } = runWithOutages(outages, 700_000);
    expect(engine.mode).toBe("halted");
    expect(engine.snapshot().reasons).toContain("repeatedTrips");
    await engine.close();
  });

  it("an actuator that refuses some values halts the engine after the hour's allowance, not never", async () => {
    // Every push of x > 6 fails, every other succeeds: no run of failures opens the breaker.
    const { engine, events } = runWithOutages([], 3_600_000, (x) => x > 6);
    expect(events.filter((e) => e.type === "rollback").length).toBe(3);
    expect(engine.mode).toBe("halted");
    expect(engine.snapshot().reasons).toContain("repeatedTrips");
    await engine.close();
  });
});
