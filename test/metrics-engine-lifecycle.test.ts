/**
 * Engine metrics across engine lifecycles: nothing before an engine is attached, gauges that
 * leave with a closed engine, counters that go on across an engine spawned again, and several
 * engines on one registry told apart by labels.
 */
import { type OpenMetricsContentType, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createEngine, type Engine } from "../src/engine/engine.js";
import { createSupervisor } from "../src/engine/supervisor.js";
import { createEngineMetrics, type EngineMetrics } from "../src/metrics/index.js";
import { brokenOnce, ManualClock } from "./support/engine-clock.js";
import { parseExposition } from "./support/exposition.js";

const CONFIG = {
  seed: 4,
  params: { x: { min: 0, max: 10, init: 5 } },
  window: { digests: 4, ms: 400 },
} as const;

/** `count` digests 100 ms apart through `metrics`, one NaN among them. */
function feed(metrics: EngineMetrics, engine: Engine, clock: ManualClock, count: number): void {
  for (let i = 0; i < count; i++) {
    clock.advanceBy(100);
    const x = engine.values[0]!;
    const objective = i === 3 ? Number.NaN : (x - 3) ** 2;
    metrics.observe({ objective, generation: engine.generation, timestamp: engine.now() });
  }
}

describe("engine metrics across engine lifecycles", () => {
  it("export nothing before an engine is attached, rather than invented zeros", async () => {
    const registry = new Registry();
    const metrics = createEngineMetrics({ registry });
    const text = await registry.metrics();
    expect(parseExposition(text).size).toBe(0);
    expect(text).toContain("# TYPE arqon_generation gauge");
    expect(metrics.observe({ objective: 1, generation: 0 })).toBe("closed");
  });

  it("drop the gauges of a closed engine and go on counting with the engine spawned again", async () => {
    const registry = new Registry();
    const clock = new ManualClock();
    const metrics = createEngineMetrics({ registry });
    const first = createEngine({ ...CONFIG, scheduler: clock, onApply: metrics.timeApply(() => {}) });
    metrics.attach(first);
    feed(metrics, first, clock, 40);
    first.flushEvents();
    const before = parseExposition(await registry.metrics());
    const accepted1 = first.snapshot().digests.accepted;
    expect(before.get("arqon_digests_accepted_total")).toBe(accepted1);
    expect(before.get("arqon_generation")).toBe(first.generation);
    expect(before.get('arqon_digests_rejected_total{reason="NonFiniteObjective"}')).toBe(1);
    const applies1 = before.get("arqon_t1_apply_seconds_count")!;
    expect(applies1).toBeGreaterThan(2);

    await first.close();
    expect(metrics.engine).toBeUndefined();
    expect(metrics.observe({ objective: 1, generation: first.generation })).toBe("closed");
    const closed = parseExposition(await registry.metrics());
    for (const gauge of [
      "arqon_generation",
      "arqon_safe_mode_level",
      "arqon_engine_failed",
      "arqon_spsa_iteration",
      "arqon_window_limit_seconds",
      "arqon_window_stretched",
    ])
      expect(closed.has(gauge)).toBe(false);
    expect(closed.has('arqon_param_value{param="x"}')).toBe(false);
    expect(closed.get("arqon_digests_accepted_total")).toBe(accepted1);
    expect(closed.get("arqon_t1_apply_seconds_count")).toBe(applies1);

    const second = createEngine({ ...CONFIG, scheduler: clock, onApply: metrics.timeApply(() => {}) });
    metrics.attach(second);
    feed(metrics, second, clock, 40);
    second.flushEvents();
    const after = parseExposition(await registry.metrics());
    expect(second.snapshot().digests.accepted).toBeGreaterThan(0);
    expect(after.get("arqon_digests_accepted_total")).toBe(accepted1 + second.snapshot().digests.accepted);
    expect(after.get('arqon_digests_rejected_total{reason="NonFiniteObjective"}')).toBe(2);
    expect(after.get("arqon_generation")).toBe(second.generation);
    expect(after.get("arqon_t1_apply_seconds_count")).toBeGreaterThan(applies1);
    await second.close();
  });

  it("tell a supervisor's engines apart by labels on one registry, and free a name on remove()", async () => {
    const registry = new Registry();
    const clock = new ManualClock();
    const supervisor = createSupervisor();
    const metricsOf = new Map<string, EngineMetrics>();
    for (const name of ["checkout", "search"]) {
      const metrics = createEngineMetrics({ registry, labels: { engine: name } });
      metricsOf.set(name, metrics);
      metrics.attach(supervisor.spawn(name, { ...CONFIG, scheduler: clock }));
    }
    feed(metricsOf.get("checkout")!, supervisor.get("checkout")!, clock, 40);
    feed(metricsOf.get("search")!, supervisor.get("search")!, clock, 8);
    const text = await registry.metrics();
    const series = parseExposition(text);
    for (const name of ["checkout", "search"]) {
      const engine = supervisor.get(name)!;
      expect(series.get(`arqon_digests_accepted_total{engine="${name}"}`)).toBe(
        engine.snapshot().digests.accepted,
      );
      expect(series.get(`arqon_generation{engine="${name}"}`)).toBe(engine.generation);
      expect(series.get(`arqon_param_value{engine="${name}",param="x"}`)).toBe(engine.value("x"));
      expect(series.has(`arqon_t2_decide_seconds_bucket{engine="${name}",le="+Inf"}`)).toBe(true);
    }
    expect(series.has("arqon_generation")).toBe(false);
    // Each family is listed once, with every engine's series under it.
    expect(text.match(/^# TYPE arqon_generation gauge$/gm)).toHaveLength(1);

    // The same labels twice, other label names, or no labels beside labelled engines: refused.
    expect(() => createEngineMetrics({ registry, labels: { engine: "search" } })).toThrow(
      /labels: \{engine="search"\} are already used/,
    );
    expect(() => createEngineMetrics({ registry, labels: { service: "x" } })).toThrow(
      /labels: must name the labels .* \(engine\)/,
    );
    expect(() => createEngineMetrics({ registry })).toThrow(/labels: must name the labels/);
    expect(() => createEngineMetrics({ registry, labels: { engine: "x" }, latencyBuckets: [1] })).toThrow(
      /latencyBuckets: must be the buckets/,
    );

    // A removed engine's series leave the scrape, and its labels can be taken again.
    metricsOf.get("search")!.remove();
    expect(() => metricsOf.get("search")!.attach(supervisor.get("search")!)).toThrow(/removed/);
    const afterRemove = parseExposition(await registry.metrics());
    expect([...afterRemove.keys()].some((k) => k.includes('engine="search"'))).toBe(false);
    expect(afterRemove.has('arqon_generation{engine="checkout"}')).toBe(true);
    const again = createEngineMetrics({ registry, labels: { engine: "search" } });
    again.attach(supervisor.get("search")!);
    expect(parseExposition(await registry.metrics()).get('arqon_generation{engine="search"}')).toBe(
      supervisor.get("search")!.generation,
    );

    // Removing the last metrics of a registry unregisters the names: an unlabelled engine fits again.
    metricsOf.get("checkout")!.remove();
    again.remove();
    expect(registry.getSingleMetric("arqon_generation")).toBeUndefined();
    expect(() => createEngineMetrics({ registry })).not.toThrow();
    await supervisor.close();
  });

  it("write OpenMetrics counters once suffixed, with the labels", async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const clock = new ManualClock();
    const metrics = createEngineMetrics({ registry, labels: { engine: "a" } });
    const engine = createEngine({ ...CONFIG, scheduler: clock });
    metrics.attach(engine);
    feed(metrics, engine, clock, 10);
    const text = await registry.metrics();
    expect(text).toContain("# TYPE arqon_digests_accepted counter");
    expect(text).toContain(`arqon_digests_accepted_total{engine="a"} ${engine.snapshot().digests.accepted}`);
    expect(text).not.toContain("_total_total");
    expect(text.endsWith("# EOF\n")).toBe(true);
    await engine.close();
  });

  it("count a supervised engine's failure, which closes it before any scrape sees its gauge", async () => {
    const registry = new Registry();
    const clock = new ManualClock();
    // A scheduler that fails once, inside the engine: an internal error, after which it stops.
    const scheduler = brokenOnce(clock, (call, delay) => call >= 4 && delay === 0);
    const supervisor = createSupervisor();
    const metrics = createEngineMetrics({ registry, labels: { engine: "a" } });
    const engine = supervisor.spawn("a", { ...CONFIG, scheduler });
    metrics.attach(engine);
    for (let i = 1; i <= 100 && engine.failure === undefined; i++) {
      clock.advanceTo(i * 150);
      supervisor.send("a", { type: "observe", digest: { objective: 1, generation: engine.generation } });
    }
    expect(engine.failure).toBeDefined();
    const failed = parseExposition(await registry.metrics());
    expect(failed.has('arqon_engine_failed{engine="a"}')).toBe(false);
    expect(failed.get('arqon_engine_failures_total{engine="a"}')).toBe(1);
    // Spawned again under its name: the failure stays counted, the new engine has not failed.
    metrics.attach(supervisor.spawn("a", { ...CONFIG, scheduler: clock }));
    const again = parseExposition(await registry.metrics());
    expect(again.get('arqon_engine_failures_total{engine="a"}')).toBe(1);
    expect(again.get('arqon_engine_failed{engine="a"}')).toBe(0);
    await supervisor.close();
  });

  it("count an engine detached and attached again once, with the events it still held", async () => {
    const registry = new Registry();
    const clock = new ManualClock();
    const metrics = createEngineMetrics({ registry });
    const engine = createEngine({ ...CONFIG, scheduler: clock });
    metrics.attach(engine);
    feed(metrics, engine, clock, 10); // its 4th digest is NaN: rejected, its record not yet delivered
    metrics.detach();
    const detached = parseExposition(await registry.metrics());
    expect(detached.get('arqon_digests_rejected_total{reason="NonFiniteObjective"}')).toBe(1);
    expect(detached.get("arqon_digests_accepted_total")).toBe(9);
    metrics.attach(engine);
    expect(parseExposition(await registry.metrics()).get("arqon_digests_accepted_total")).toBe(9);
    feed(metrics, engine, clock, 10);
    expect(parseExposition(await registry.metrics()).get("arqon_digests_accepted_total")).toBe(18);
    // Metrics of their own, on another registry, count the engine whole.
    const other = new Registry();
    const fresh = createEngineMetrics({ registry: other });
    fresh.attach(engine);
    expect(parseExposition(await other.metrics()).get("arqon_digests_accepted_total")).toBe(18);
    fresh.detach();
    await engine.close();
    expect(parseExposition(await registry.metrics()).get("arqon_digests_accepted_total")).toBe(18);
  });

  it("read the engine afresh on every scrape, even two in one tick", async () => {
    const registry = new Registry();
    const clock = new ManualClock();
    const metrics = createEngineMetrics({ registry });
    const engine = createEngine({ ...CONFIG, scheduler: clock });
    metrics.attach(engine);
    const first = registry.metrics(); // started, not awaited: the next one runs in the same tick
    feed(metrics, engine, clock, 12);
    const second = registry.metrics();
    expect(parseExposition(await first).get("arqon_digests_accepted_total")).toBe(0);
    const fresh = parseExposition(await second);
    expect(fresh.get("arqon_digests_accepted_total")).toBe(11);
    expect(fresh.get("arqon_spsa_iteration")).toBe(engine.snapshot().iteration);
    await engine.close();
  });

  it("measure an actuator that takes tens of milliseconds in a finite bucket", async () => {
    const registry = new Registry();
    let now = 0;
    // Each clock read moves 58 ms: every timed actuator call lasts 58 ms, as a network write might.
    const metrics = createEngineMetrics({ registry, clock: () => (now += 58) });
    const clock = new ManualClock();
    const engine = createEngine({ ...CONFIG, scheduler: clock, onApply: metrics.timeApply(() => {}) });
    metrics.attach(engine);
    feed(metrics, engine, clock, 20);
    const series = parseExposition(await registry.metrics());
    const applies = series.get("arqon_t1_apply_seconds_count")!;
    expect(applies).toBeGreaterThan(0);
    expect(series.get('arqon_t1_apply_seconds_bucket{le="0.025"}')).toBe(0);
    expect(series.get('arqon_t1_apply_seconds_bucket{le="0.1"}')).toBe(applies);
    await engine.close();
  });

  it("name each bad label", () => {
    const registry = new Registry();
    const bad = (labels: unknown) => () =>
      createEngineMetrics({ registry, labels: labels as Record<string, string> });
    expect(bad({ "1x": "a" })).toThrow(/labels\.1x: must be a Prometheus label name/);
    expect(bad({ __name: "a" })).toThrow(/labels\.__name: must be a Prometheus label name/);
    expect(bad({ reason: "a" })).toThrow(/labels\.reason: is a label the engine metrics use themselves/);
    expect(bad({ engine: 3 })).toThrow(/labels\.engine: must be a string, got 3/);
    expect(bad(["engine"])).toThrow(/labels: must be an object of label values by name/);
    expect(registry.getMetricsAsArray()).toHaveLength(0);
  });

  it("refuse as a user's label every label their own series carry", async () => {
    // Taken as the user's, such a label would be overwritten, and two engines' series collide.
    const registry = new Registry();
    const metrics = createEngineMetrics({ registry, labels: { engine: "a" } });
    const clock = new ManualClock();
    const engine = createEngine({ ...CONFIG, scheduler: clock, onApply: metrics.timeApply(() => {}) });
    metrics.attach(engine);
    feed(metrics, engine, clock, 20);
    const own = new Set<string>();
    for (const metric of await registry.getMetricsAsJSON())
      for (const value of metric.values) for (const name of Object.keys(value.labels)) own.add(name);
    own.delete("engine");
    expect([...own].sort()).toEqual(["breaker", "cause", "kind", "le", "param", "reason", "to", "violation"]);
    const other = new Registry();
    for (const name of own)
      expect(() => createEngineMetrics({ registry: other, labels: { [name]: "b" } }), name).toThrow(
        `labels.${name}: is a label the engine metrics use themselves`,
      );
    // An empty value is no label to Prometheus: the alert rules' joins on `engine` would miss it.
    expect(() => createEngineMetrics({ registry: other, labels: { engine: "" } })).toThrow(
      "labels.engine: must not be empty (Prometheus reads it as no label)",
    );
    await engine.close();
  });
});
