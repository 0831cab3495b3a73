import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import type { EngineConfig } from "../src/engine/config.js";
import { createEngine, type Engine } from "../src/engine/engine.js";
import { createEngineMetrics, type EngineMetrics, MICROSECOND_BUCKETS } from "../src/metrics/index.js";
import { Prng } from "../src/random/prng.js";
import { ManualClock } from "./support/engine-clock.js";
import { eventsOfType } from "./support/engine-harness.js";
import { scrape } from "./support/exposition.js";

/** A clock that moves `stepMs` each time it is read: every timed call lasts exactly `stepMs`. */
function steppingClock(stepMs: number): () => number {
  let now = 0;
  return () => {
    now += stepMs;
    return now;
  };
}

interface Rig {
  readonly engine: Engine;
  readonly metrics: EngineMetrics;
  readonly registry: Registry;
  readonly clock: ManualClock;
  readonly events: AuditEvent[];
  failing: boolean;
}

/** An engine in virtual time, its metrics (4 µs per timed call) and an actuator that can be made to fail. */
function rig(): Rig {
  const registry = new Registry();
  const clock = new ManualClock();
  const metrics = createEngineMetrics({ registry, clock: steppingClock(0.002) });
  const state = { failing: false };
  const engine = createEngine({
    seed: 3,
    params: { x: { min: 0, max: 10, init: 5 }, y: { min: 0, max: 100, init: 40 } },
    window: { digests: 4, ms: 400 },
    scheduler: clock,
    safety: { safeMode: { dwellMs: 1000, healthyWindows: 2 } },
    onApply: metrics.timeApply(() => {
      if (state.failing) throw new Error("actuator down");
    }),
  });
  metrics.attach(engine);
  const events: AuditEvent[] = [];
  engine.events.subscribe((event) => events.push(event));
  return Object.assign(state, { engine, metrics, registry, clock, events });
}

function feed(r: Rig, count: number, noise: Prng): void {
  for (let i = 0; i < count; i++) {
    r.clock.advanceBy(100);
    const x = r.engine.values[0]!;
    const y = r.engine.values[1]!;
    const objective = (x - 3) ** 2 + ((y - 50) / 10) ** 2 + 0.05 * noise.normal();
    r.metrics.observe({ objective, generation: r.engine.generation, timestamp: r.engine.now() });
  }
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

describe("arqon/metrics: engine metrics scraped after a run in virtual time", () => {
  it("exports exact counts, gauges and latency histograms", async () => {
    const r = rig();
    const { engine, registry } = r;
    const noise = Prng.fromSeed(7, 1);
    feed(r, 60, noise);
    // Two digests of a past generation and one malformed digest.
    r.metrics.observe({ objective: 1, generation: engine.generation + 5 });
    r.metrics.observe({ objective: 1, generation: engine.generation + 6 });
    r.metrics.observe({ objective: "bad" } as never);
    expect(engine.rollback("operator test")).toBe(true);
    feed(r, 20, noise);
    engine.flushEvents();

    const series = await scrape(registry);
    const snapshot = engine.snapshot();
    const rejected = countBy(eventsOfType(r.events, "digest.rejected"), (e) => e.reason);
    expect(rejected.get("WrongGeneration")).toBe(2);
    expect(rejected.get("Malformed")).toBe(1);
    for (const reason of [
      "Malformed",
      "NonFiniteObjective",
      "WrongGeneration",
      "Settling",
      "TooOld",
      "FromFuture",
    ])
      expect(series.get(`arqon_digests_rejected_total{reason="${reason}"}`)).toBe(rejected.get(reason) ?? 0);
    expect(series.get("arqon_digests_accepted_total")).toBe(snapshot.digests.accepted);
    expect(snapshot.digests.accepted).toBeGreaterThan(60);

    const applies = countBy(eventsOfType(r.events, "apply"), (e) => e.kind);
    expect((applies.get("plus") ?? 0) + (applies.get("minus") ?? 0)).toBeGreaterThan(4);
    for (const kind of ["plus", "minus", "centre", "manual"])
      expect(series.get(`arqon_applies_total{kind="${kind}"}`)).toBe(applies.get(kind) ?? 0);
    // Rollbacks are audited as rollback records; they are Tier-1 writes of kind "rollback".
    expect(series.get('arqon_applies_total{kind="rollback"}')).toBe(
      eventsOfType(r.events, "rollback").length,
    );
    const rollbacks = countBy(eventsOfType(r.events, "rollback"), (e) => e.reason);
    expect(rollbacks.get("manual")).toBe(1);
    expect(series.get('arqon_rollbacks_total{reason="manual"}')).toBe(1);
    expect(series.get('arqon_rollbacks_total{reason="regression"}')).toBe(rollbacks.get("regression") ?? 0);

    expect(series.get("arqon_generation")).toBe(engine.generation);
    expect(series.get('arqon_param_value{param="x"}')).toBe(engine.value("x"));
    expect(series.get('arqon_param_value{param="y"}')).toBe(engine.value("y"));
    // The host's reader copy is its own to write: the gauge keeps showing the live value.
    const live = engine.value("x");
    engine.values[0] = 1e9;
    expect((await scrape(registry)).get('arqon_param_value{param="x"}')).toBe(live);
    expect(series.get("arqon_safe_mode_level")).toBe(0);
    expect(series.get('arqon_safe_mode_reason{reason="breakerOpen"}')).toBe(0);
    expect(series.get('arqon_breaker_state{breaker="actuator"}')).toBe(0);
    expect(series.has('arqon_breaker_state{breaker="audit_sink"}')).toBe(false);
    expect(series.get("arqon_audit_dropped_total")).toBe(0);
    expect(series.get("arqon_engine_failed")).toBe(0);
    expect(series.get("arqon_spsa_iteration")).toBe(snapshot.iteration);
    expect(series.get("arqon_window_limit_seconds")).toBe(snapshot.window.ms! / 1000);
    expect(series.get("arqon_window_stretched")).toBe(0);
    // The objective as the latest window aggregated it: what a dashboard plots of the cost.
    const lastWindow = eventsOfType(r.events, "window.closed")
      .filter((e) => e.count > 0)
      .at(-1)!;
    expect(series.get("arqon_window_objective")).toBe(lastWindow.value);

    // The stepping clock moves 2 µs per read: an observe() that applied nothing lasts 2 µs; one
    // that applied lasts 6 µs, since the actuator call inside it read the clock twice.
    const observeCalls = 60 + 3 + 20;
    const decided = series.get("arqon_t2_decide_seconds_count")!;
    const ingested = series.get("arqon_digest_ingest_seconds_count")!;
    expect(decided + ingested).toBe(observeCalls);
    expect(decided).toBeGreaterThan(4);
    expect(series.get('arqon_t2_decide_seconds_bucket{le="0.000005"}')).toBe(0);
    expect(series.get('arqon_t2_decide_seconds_bucket{le="0.00001"}')).toBe(decided);
    expect(series.get('arqon_t2_decide_seconds_bucket{le="+Inf"}')).toBe(decided);
    expect(series.get("arqon_t2_decide_seconds_sum")).toBeCloseTo(decided * 6e-6, 12);
    expect(series.get('arqon_digest_ingest_seconds_bucket{le="0.000001"}')).toBe(0);
    expect(series.get('arqon_digest_ingest_seconds_bucket{le="0.0000025"}')).toBe(ingested);
    // One actuator call per apply and per rollback.
    const writes = eventsOfType(r.events, "apply").length + eventsOfType(r.events, "rollback").length;
    expect(series.get("arqon_t1_apply_seconds_count")).toBe(writes);
    expect(series.get(`arqon_t1_apply_seconds_bucket{le="${MICROSECOND_BUCKETS.at(-1)}"}`)).toBe(writes);
    // registry.resetMetrics() empties the histograms; the scrape-time counters read the engine again.
    registry.resetMetrics();
    const reset = await scrape(registry);
    expect(reset.get("arqon_t2_decide_seconds_count")).toBe(0);
    expect(reset.get('arqon_t2_decide_seconds_bucket{le="+Inf"}')).toBe(0);
    expect(reset.get("arqon_digests_accepted_total")).toBe(snapshot.digests.accepted);
    await engine.close();
  });

  it("shows SafeMode, its reasons and the breaker state when the actuator fails", async () => {
    const r = rig();
    const { engine, registry } = r;
    const noise = Prng.fromSeed(8, 1);
    feed(r, 30, noise);
    r.failing = true;
    feed(r, 60, noise);
    engine.flushEvents();
    const snapshot = engine.snapshot();
    expect(snapshot.breakers.actuator).toBe("open");
    expect(snapshot.reasons).toContain("breakerOpen");
    const series = await scrape(registry);
    expect(series.get('arqon_breaker_state{breaker="actuator"}')).toBe(2);
    expect(series.get('arqon_safe_mode_reason{reason="breakerOpen"}')).toBe(1);
    expect(series.get("arqon_safe_mode_level")).toBe(2); // frozen
    const entered = countBy(eventsOfType(r.events, "mode.changed"), (e) => e.to);
    expect(entered.get("frozen")).toBeGreaterThanOrEqual(1);
    for (const mode of ["normal", "conservative", "frozen", "halted"])
      expect(series.get(`arqon_safe_mode_transitions_total{to="${mode}"}`)).toBe(entered.get(mode) ?? 0);

    // The actuator recovers: the next probe closes the breaker and the gauges follow.
    r.failing = false;
    feed(r, 100, noise);
    engine.flushEvents();
    const after = await scrape(registry);
    expect(engine.snapshot().breakers.actuator).toBe("closed");
    expect(after.get('arqon_breaker_state{breaker="actuator"}')).toBe(0);
    expect(after.get('arqon_safe_mode_reason{reason="breakerOpen"}')).toBe(0);

    // Halting shows as level 3 at the next scrape.
    engine.halt("drill");
    expect((await scrape(registry)).get("arqon_safe_mode_level")).toBe(3);
    await engine.close();
  });

  it("times an async actuator until it settles, and leaves its rejection to the engine", async () => {
    const registry = new Registry();
    const clock = new ManualClock();
    let nowMs = 0; // the metrics' clock: only the actuator moves it, 5 µs before and 5 µs after its await
    const metrics = createEngineMetrics({ registry, clock: () => nowMs });
    let failing = false;
    const engine = createEngine({
      seed: 3,
      params: { x: { min: 0, max: 10, init: 5 }, y: { min: 0, max: 100, init: 40 } },
      window: { digests: 4, ms: 400 },
      scheduler: clock,
      safety: { safeMode: { dwellMs: 1000, healthyWindows: 2 } },
      onApply: metrics.timeApply(async () => {
        nowMs += 0.005;
        await Promise.resolve();
        nowMs += 0.005;
        if (failing) throw new Error("pool refused to resize");
      }),
    });
    metrics.attach(engine);
    const noise = Prng.fromSeed(8, 1);
    const feedAsync = async (count: number) => {
      for (let i = 0; i < count; i++) {
        clock.advanceBy(100);
        const [x, y] = engine.values;
        metrics.observe({
          objective: (x! - 3) ** 2 + ((y! - 50) / 10) ** 2 + 0.05 * noise.normal(),
          generation: engine.generation,
        });
        await new Promise((resolve) => setImmediate(resolve)); // let the actuator's promise settle
      }
    };
    await feedAsync(30);
    failing = true;
    await feedAsync(60);
    engine.flushEvents();
    // The rejections reached the engine: it rolled back and opened the actuator breaker (an
    // unhandled rejection would also fail this test run).
    const snapshot = engine.snapshot();
    expect(snapshot.breakers.actuator).toBe("open");
    expect(snapshot.reasons).toContain("breakerOpen");
    const series = await scrape(registry);
    expect(series.get('arqon_applies_total{kind="rollback"}')).toBeGreaterThan(0);
    // Each call timed to its settling: 10 µs, not the 5 µs before its await.
    const calls = series.get("arqon_t1_apply_seconds_count")!;
    expect(calls).toBeGreaterThan(0);
    expect(series.get("arqon_t1_apply_seconds_sum")).toBeCloseTo(calls * 1e-5, 12);
    await engine.close();
  });

  it('counts rollbacks under arqon_applies_total{kind="rollback"}: the kinds add up to the Tier-1 writes timed', async () => {
    const r = rig();
    const { engine, registry } = r;
    const noise = Prng.fromSeed(9, 1);
    feed(r, 40, noise);
    expect(engine.rollback("operator")).toBe(true);
    feed(r, 20, noise);
    expect(engine.rollback("operator again")).toBe(true);
    engine.flushEvents();
    const series = await scrape(registry);
    expect(series.get('arqon_applies_total{kind="rollback"}')).toBe(2);
    expect(series.get('arqon_rollbacks_total{reason="manual"}')).toBe(2);
    const kinds = ["plus", "minus", "centre", "rollback", "manual", "other"];
    const written = kinds.reduce((sum, kind) => sum + series.get(`arqon_applies_total{kind="${kind}"}`)!, 0);
    // Every Tier-1 write (apply or rollback) bumps the generation once and calls the actuator once.
    expect(written).toBe(engine.generation);
    expect(series.get("arqon_t1_apply_seconds_count")).toBe(written);
    await engine.close();
  });

  /** An engine on a manual clock with metrics attached, and the events it delivers. */
  function watchedEngine(config: Partial<EngineConfig>) {
    const registry = new Registry();
    const metrics = createEngineMetrics({ registry });
    const engine = createEngine({
      seed: 1,
      params: { x: { min: 0, max: 10, init: 5 } },
      scheduler: new ManualClock(),
      ...config,
    });
    metrics.attach(engine);
    const events: AuditEvent[] = [];
    engine.events.subscribe((event) => events.push(event));
    return { registry, engine, events };
  }

  it("counts audit drops; breakdowns hold only the delivered records", async () => {
    const { registry, engine, events } = watchedEngine({ auditCapacity: 12 });
    // 30 refused digests in one turn overflow a ring of 12 records (the smallest allowed) before
    // anything is delivered. (Commands no longer do: each offers what is pending to the sink first.)
    for (let i = 0; i < 30; i++) engine.observe({ objective: 1, generation: 99 });
    engine.flushEvents();
    const snapshot = engine.snapshot();
    expect(snapshot.digests.rejected).toBe(30);
    expect(snapshot.audit.dropped).toBeGreaterThan(0);
    const series = await scrape(registry);
    expect(series.get("arqon_audit_dropped_total")).toBe(snapshot.audit.dropped);
    const delivered = eventsOfType(events, "digest.rejected").length;
    expect(delivered).toBeGreaterThan(0);
    expect(delivered).toBeLessThan(30);
    expect(series.get('arqon_digests_rejected_total{reason="WrongGeneration"}')).toBe(delivered);
    for (const violation of ["OutOfBounds", "DeltaTooLarge", "RateLimited", "MinInterval", "NoBaseline"])
      expect(series.get(`arqon_refusals_total{violation="${violation}"}`)).toBe(0);
    expect(series.get("arqon_audit_sink_dropped_total")).toBe(0);
    await engine.close();
  });

  it("counts records given up on a refusing audit sink apart from ring drops", async () => {
    const { registry, engine, events } = watchedEngine({
      auditCapacity: 64,
      auditSink: () => {
        throw new Error("sink down");
      },
    });
    // One turn each, so the ring delivers every record to engine.events; the sink refuses them all.
    for (let i = 0; i < 500; i++) {
      engine.observe({ objective: Number.NaN, generation: engine.generation });
      engine.flushEvents();
    }
    const snapshot = engine.snapshot();
    expect(snapshot.audit.dropped).toBe(0);
    expect(snapshot.audit.sinkDropped).toBeGreaterThan(300);
    const series = await scrape(registry);
    expect(series.get("arqon_audit_dropped_total")).toBe(0);
    expect(series.get("arqon_audit_sink_dropped_total")).toBe(snapshot.audit.sinkDropped);
    // Still in the breakdowns: every rejection reached engine.events and its counter.
    const rejected = eventsOfType(events, "digest.rejected").length;
    expect(rejected).toBe(500);
    expect(series.get('arqon_digests_rejected_total{reason="NonFiniteObjective"}')).toBe(rejected);
    await engine.close();
  });

  it("refuses a second engine and a duplicate registration", () => {
    const registry = new Registry();
    const metrics = createEngineMetrics({ registry });
    const engine = createEngine({
      seed: 1,
      params: { x: { min: 0, max: 1, init: 0.5 } },
      scheduler: new ManualClock(),
    });
    metrics.attach(engine);
    expect(() => metrics.attach(engine)).toThrow(/already read an engine/);
    expect(() => createEngineMetrics({ registry })).toThrow(
      /already holds an engine's metrics under prefix "arqon_" without labels/,
    );
    return engine.close();
  });
});
