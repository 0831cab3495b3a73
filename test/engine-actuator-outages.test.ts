import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { createEngine } from "../src/index.js";

// An actuator that is down for a while is the dependency's failure, not the tuner's instability:
// its rollbacks spend none of `rollbacksPerHour`, so outages alone never halt the engine.

/** A default engine tuning x towards 7, whose onApply throws during each [from, to) outage. */
function runWithOutages(outages: readonly (readonly [number, number])[], until: number) {
  const scheduler = new VirtualTimeScheduler();
  let failing = false;
  const engine = createEngine({
    seed: 1,
    params: { x: { min: 0, max: 10, init: 5, maxDelta: 2 } },
    scheduler,
    onApply: () => {
      if (failing) throw new Error("actuator down");
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
  it("roll back, freeze while the breaker is open, and never halt the engine however many in an hour", async () => {
    const outages = [0, 1, 2, 3].map((i) => [1000 + (i * 600_000) / 4, 5000 + (i * 600_000) / 4] as const);
    const { engine, events } = runWithOutages(outages, 700_000);
    const rollbacks = events.filter((e) => e.type === "rollback");
    expect(rollbacks.length).toBeGreaterThanOrEqual(4); // at least one per outage
    expect(events.some((e) => e.type === "mode.changed" && e.to === "halted")).toBe(false);
    expect(engine.mode).toBe("normal");
    expect(engine.snapshot().reasons).toEqual([]);
    // Tuning went on after the last outage.
    const lastOutageEnd = outages.at(-1)![1];
    expect(events.some((e) => e.type === "apply" && e.time > lastOutageEnd + 60_000)).toBe(true);
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
});
