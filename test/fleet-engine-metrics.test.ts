import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createEngine, type Engine } from "../src/engine/engine.js";
import type { Coordinator } from "../src/fleet/coordinator.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import type { TelemetryPublisher } from "../src/fleet/telemetry-publisher.js";
import { createEngineMetrics } from "../src/metrics/index.js";
import { FLEET_ENGINE, objectiveOf } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";
import { until } from "./support/until.js";

// A coordinator's engine metrics follow the engine it tunes with across tenures, against a real
// redis-server: each promotion builds a new engine, and the series must neither vanish with the
// first nor restart from zero with the next (Prometheus reads a counter that goes down as a reset).
const keys = fleetKeys(fleetPrefix("run"));
let rig: FleetRig;

beforeEach(async () => {
  rig = await FleetRig.start();
});

afterEach(() => rig.close());

/** The value of the series `name` (no labels) in a scrape, or undefined when it is not there. */
async function scraped(registry: Registry, name: string): Promise<number | undefined> {
  const line = (await registry.metrics()).split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

/**
 * Publishes digests of replica r1 at the leader's generation, one at a time, each processed before
 * the next, until `done` holds.
 */
async function feedUntil(
  lead: Coordinator,
  publisher: TelemetryPublisher,
  done: () => boolean,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("the leader's engine did not get there within 20 s");
    const processed = lead.busStats().digestsProcessed;
    publisher.publish(objectiveOf(lead.tuningEngine!.values[0]!), lead.snapshot().generation);
    await publisher.flush();
    await until(() => lead.busStats().digestsProcessed > processed, 10_000, "the digest processed");
  }
}

/** Digests an engine was given: accepted or rejected, each one observe call. */
const observed = (engine: Engine) => engine.snapshot().digests.accepted + engine.snapshot().digests.rejected;

/** The observe calls the latency histograms timed: deciding ones and ingest-only ones. */
async function timedObserves(registry: Registry): Promise<number> {
  const decided = (await scraped(registry, "arqon_t2_decide_seconds_count")) ?? 0;
  return decided + ((await scraped(registry, "arqon_digest_ingest_seconds_count")) ?? 0);
}

describe("coordinator engine metrics", () => {
  it("attach each tenure's engine, time its decisions and applies, and keep counting across tenures", async () => {
    const registry = new Registry();
    const metrics = createEngineMetrics({ registry });
    const lead = await rig.coordinator("c1", { metrics });
    expect(lead.leader).toBe(true);
    const first = lead.tuningEngine!;
    expect(metrics.engine).toBe(first);
    const publisher = rig.publisher(keys);
    // Two decisions, each written through Tier 1 and published.
    await feedUntil(lead, publisher, () => first.generation >= 2);
    const accepted = first.snapshot().digests.accepted;
    expect(await scraped(registry, "arqon_digests_accepted_total")).toBe(accepted);
    expect(await timedObserves(registry)).toBe(observed(first));
    expect(await scraped(registry, "arqon_t2_decide_seconds_count")).toBeGreaterThanOrEqual(2);
    expect(await scraped(registry, "arqon_t1_apply_seconds_count")).toBeGreaterThanOrEqual(first.generation);
    expect(await scraped(registry, "arqon_generation")).toBe(first.generation);

    // Another holder takes the lease: the tenure ends, and the engine's gauges leave the scrape.
    const admin = rig.connect();
    await admin.set(keys.lease, "usurper", "PX", 1_500);
    await until(() => !lead.leader, 10_000, "the tenure to end");
    await until(() => metrics.engine === undefined, 5_000, "the engine detached");
    expect(await scraped(registry, "arqon_generation")).toBeUndefined();
    expect(await scraped(registry, "arqon_digests_accepted_total")).toBe(accepted);
    const firstObserved = observed(first);

    // The lease runs out: a new tenure, a new engine, the same series going on.
    await until(() => lead.leader, 10_000, "the coordinator to lead again");
    const second = lead.tuningEngine!;
    expect(second).not.toBe(first);
    expect(metrics.engine).toBe(second);
    await feedUntil(lead, publisher, () => second.generation >= 1);
    expect(await scraped(registry, "arqon_digests_accepted_total")).toBe(
      accepted + second.snapshot().digests.accepted,
    );
    expect(await timedObserves(registry)).toBe(firstObserved + observed(second));
    expect(await scraped(registry, "arqon_generation")).toBe(second.generation);
  });

  it("fail a promotion, not blind another engine, when they read an engine the coordinator did not attach", async () => {
    const metrics = createEngineMetrics({ registry: new Registry() });
    const errors: unknown[] = [];
    const lead = await rig.coordinator("c1", { metrics, onError: (error) => errors.push(error) });
    const admin = rig.connect();
    await admin.set(keys.lease, "usurper", "PX", 1_500);
    await until(() => !lead.leader && metrics.engine === undefined, 10_000, "the tenure to end");
    // Someone else's engine on the same metrics meanwhile.
    const other = createEngine(FLEET_ENGINE);
    metrics.attach(other);
    await until(() => errors.length > 0, 10_000, "the refused promotion");
    expect(String(errors[0])).toContain("metrics: they read an engine this coordinator did not attach");
    expect(lead.leader).toBe(false);
    expect(metrics.engine).toBe(other);
    // Once they are free again, the next promotion leads with them.
    metrics.detach();
    await until(() => lead.leader, 20_000, "the coordinator to lead again");
    expect(metrics.engine).toBe(lead.tuningEngine);
    await other.close();
  });

  it("refuses what is not engine metrics, and metrics already reading an engine, by name", async () => {
    await expect(rig.coordinator("c1", { metrics: {} as never })).rejects.toThrow(
      "metrics: must be engine metrics from createEngineMetrics (got an object)",
    );
    const metrics = createEngineMetrics({ registry: new Registry() });
    const lead = await rig.coordinator("c1", { metrics });
    await expect(rig.coordinator("c2", { metrics })).rejects.toThrow(
      "metrics: already read an engine; give the coordinator metrics of their own",
    );
    expect(metrics.engine).toBe(lead.tuningEngine);
  });
});
