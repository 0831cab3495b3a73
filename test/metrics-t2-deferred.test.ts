import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { createEngine } from "../src/engine/engine.js";
import { createEngineMetrics } from "../src/metrics/index.js";
import { ManualClock } from "./support/engine-clock.js";
import { eventsOfType } from "./support/engine-harness.js";
import { scrape } from "./support/exposition.js";

/** A clock that moves 2 µs each time it is read: a timed call lasts 2 µs per pair of reads it spans. */
function steppingClock(): () => number {
  let now = 0;
  return () => {
    now += 0.002;
    return now;
  };
}

/**
 * One virtual minute of telemetry, a digest every `everyMs`, into an engine with the default
 * window (1 digest) and guardrails (minIntervalMs 100, maxUpdatesPerSecond 10).
 */
async function run(everyMs: number) {
  const registry = new Registry();
  const metrics = createEngineMetrics({ registry, clock: steppingClock() });
  const clock = new ManualClock();
  const actuator = { inObserve: false, inside: 0, outside: 0 };
  const engine = createEngine({
    seed: 3,
    params: { x: { min: 0, max: 10, init: 5, maxDelta: 1 } },
    scheduler: clock,
    onApply: metrics.timeApply(() => {
      if (actuator.inObserve) actuator.inside++;
      else actuator.outside++;
    }),
  });
  metrics.attach(engine);
  const events: AuditEvent[] = [];
  engine.events.subscribe((event) => events.push(event));
  const observes = 60_000 / everyMs;
  for (let i = 0; i < observes; i++) {
    clock.advanceBy(everyMs);
    actuator.inObserve = true;
    metrics.observe({
      objective: (engine.values[0]! - 3) ** 2,
      generation: engine.generation,
      timestamp: engine.now(),
    });
    actuator.inObserve = false;
  }
  engine.flushEvents();
  const series = await scrape(registry);
  await engine.close();
  // Only a digest fills a window, so every filled window closed inside an observe() call.
  const filled = eventsOfType(events, "window.closed").filter((e) => !e.timedOut).length;
  return { series, observes, filled, actuator, applies: eventsOfType(events, "apply").length };
}

describe("arqon/metrics: arqon_t2_decide_seconds with Tier 1's pace deferring the apply", () => {
  it("counts every observe() that closed a window, its apply run inside the call or later", async () => {
    const { series, observes, filled, actuator, applies } = await run(50);
    // Digests come twice as fast as Tier 1 allows applies: almost every apply ran later, on the
    // engine's scheduler, not inside the observe() that closed its window.
    expect(actuator.outside).toBeGreaterThan(500);
    expect(actuator.inside).toBeLessThan(5);
    // One window per apply; the last window's decision may still be waiting for Tier 1.
    expect(filled - applies).toBeGreaterThanOrEqual(0);
    expect(filled - applies).toBeLessThanOrEqual(1);
    const decided = series.get("arqon_t2_decide_seconds_count")!;
    expect(decided).toBe(filled);
    expect(series.get("arqon_digest_ingest_seconds_count")).toBe(observes - filled);
    // A decision whose apply was deferred lasts its own two clock reads (2 µs); one that ran the
    // actuator inside also spans the actuator's two reads (4 µs more), which t1 times as well.
    expect(series.get("arqon_t2_decide_seconds_sum")).toBeCloseTo(
      decided * 2e-6 + actuator.inside * 4e-6,
      12,
    );
    expect(series.get("arqon_t1_apply_seconds_count")).toBe(actuator.inside + actuator.outside);
  });

  it("counts the same decisions when every apply runs inside its observe()", async () => {
    const { series, observes, filled, actuator, applies } = await run(200);
    expect(actuator.outside).toBe(0);
    expect(filled).toBe(applies);
    expect(series.get("arqon_t2_decide_seconds_count")).toBe(filled);
    expect(series.get("arqon_digest_ingest_seconds_count")).toBe(observes - filled);
    expect(series.get("arqon_t2_decide_seconds_sum")).toBeCloseTo(filled * 6e-6, 12);
  });
});
