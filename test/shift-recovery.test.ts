/**
 * After a rise the engine followed as the environment's (a downstream outage), the governor's
 * reference must come back down with the environment: otherwise a regression the tuner causes
 * later stays under the outage's level and never trips (found by a trial in a real service:
 * overloaded for minutes in mode `normal`). Decision rules 15.
 */
import { type SchedulerAction, VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { createEngine } from "../src/engine/engine.js";
import { Prng } from "../src/random/prng.js";

/**
 * A batching service's cost per request: cheaper as the linger time drops, until a cliff at 6 ms
 * where the downstream overloads (150). `outage` adds a downstream outage from 20 s to 40 s, when
 * every request fails (950). Seeded noise of σ 0.5; 400 s of virtual time, a digest every 100 ms.
 */
async function run(
  outage: boolean,
): Promise<{ events: AuditEvent[]; overloadedMs: number; absorbed: number }> {
  const scheduler = new VirtualTimeScheduler();
  const engine = createEngine({
    seed: 5,
    params: { lingerMs: { min: 0, max: 50, init: 30, maxDelta: 2 } },
    window: { digests: 5, ms: 1000 },
    guardrails: "balanced",
    spsa: { a: "auto", calibrationIterations: 8 },
    scheduler,
  });
  const events: AuditEvent[] = [];
  engine.events.subscribe((event) => events.push(event));
  const prng = Prng.fromSeed(5, 99);
  let overloadedMs = 0;
  scheduler.schedule(function tick(this: SchedulerAction<undefined>) {
    const t = engine.now();
    const down = outage && t >= 20_000 && t < 40_000;
    const linger = engine.value("lingerMs");
    const cost = (down ? 950 : linger < 6 ? 150 : 20 + linger) + 0.5 * prng.normal();
    if (!down && cost > 100) overloadedMs += 100;
    engine.observe({ objective: cost, generation: engine.generation, timestamp: t });
    this.schedule(undefined, 100);
  }, 100);
  scheduler.maxFrames = 400_000;
  scheduler.flush();
  engine.flushEvents();
  const absorbed = engine.snapshot().spikesAbsorbed;
  await engine.close();
  return { events, overloadedMs, absorbed };
}

describe("the governor's reference after a followed shift", () => {
  it("comes back down when the outage ends, so the tuner's later regression trips as without one", async () => {
    const calm = await run(false);
    const outage = await run(true);
    const rollbacksAfter = (events: AuditEvent[], ms: number) =>
      events.filter((e) => e.type === "rollback" && e.time >= ms).length;
    // Without an outage the walk into the cliff trips and rolls back at once.
    expect(rollbacksAfter(calm.events, 0)).toBeGreaterThan(0);
    expect(calm.overloadedMs).toBeLessThanOrEqual(1000);
    // The outage was judged the environment's (followed, or its trip taken back)…
    expect(calm.absorbed).toBe(0);
    expect(outage.absorbed).toBeGreaterThan(0);
    // …and once it is over, the same walk trips and rolls back: the overload lasts no longer than
    // without an outage (under rules 14: 8.5 s, no rollback after it, mode normal to the end).
    expect(rollbacksAfter(outage.events, 40_000)).toBeGreaterThan(0);
    expect(outage.overloadedMs).toBeLessThanOrEqual(1000);
  });
});
