import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ReplicaStatus } from "../src/fleet/replica.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { registerReplicaMetrics } from "../src/metrics/index.js";
import { until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// A replica's own metrics, read from its status() at scrape time, against a real redis-server:
// what one replica of the fleet took, refused and shipped, seen from inside its process.
const keys = fleetKeys(fleetPrefix("run"));

/** Every sample of a scrape, as `name{labels} value` → value. */
async function samples(registry: Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await registry.metrics()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe("replica metrics on a live fleet", () => {
  let rig: FleetRig;
  beforeEach(async () => {
    rig = await FleetRig.start();
  });
  afterEach(() => rig.close());

  it("follow what the replica took and shipped, and say why one refuses the fleet", async () => {
    const lead = await rig.coordinator("c1");
    const admin = rig.connect();
    await until(async () => (await admin.hexists(keys.state, "params")) === 1, 5_000, "the fleet's params");
    const good = await rig.replica("good");
    const goodRegistry = new Registry();
    registerReplicaMetrics(good, { registry: goodRegistry });
    // The fleet moves on to generation 2; the replica follows and ships its telemetry.
    await until(
      () => {
        good.publish((good.values[0]! - 200) ** 2);
        return lead.snapshot().generation >= 2 && good.generation === lead.snapshot().generation;
      },
      20_000,
      "generation 2 on the replica",
    );
    await good.flushTelemetry();
    const status = good.status();
    const seen = await samples(goodRegistry);
    expect(seen.get("arqon_replica_up")).toBe(1);
    expect(seen.get("arqon_replica_generation")).toBe(status.generation);
    expect(seen.get("arqon_replica_target_generation")).toBe(status.targetGeneration);
    expect(seen.get("arqon_replica_epoch")).toBe(status.epoch);
    expect(seen.get('arqon_replica_param_value{param="batch"}')).toBe(good.values[0]);
    expect(seen.get("arqon_replica_params_mismatch")).toBe(0);
    expect(seen.get("arqon_replica_commands_accepted_total")).toBe(status.accepted);
    expect(status.accepted).toBeGreaterThanOrEqual(2);
    // Every reason from the first scrape on, at 0 when none was refused for it.
    expect(seen.get('arqon_replica_commands_rejected_total{reason="bad-mac"}')).toBe(0);
    expect(seen.get('arqon_replica_commands_rejected_total{reason="params"}')).toBe(0);
    expect(seen.get("arqon_replica_telemetry_published_total")).toBe(status.telemetry.published);
    expect(seen.get('arqon_replica_telemetry_digests_total{outcome="shipped"}')).toBe(
      status.telemetry.shipped,
    );
    expect(status.telemetry.shipped).toBeGreaterThan(0);
    expect(seen.get('arqon_replica_telemetry_digests_total{outcome="dropped_full"}')).toBe(0);
    expect(seen.get("arqon_replica_telemetry_breaker_state")).toBe(0);

    // A replica of other params refuses the fleet's commands: it says so, by reason.
    const loose = await rig.replica("loose", {
      params: { batch: { min: 1, max: 512, init: 64, maxDelta: 64 } },
      onError: () => {},
    });
    const looseRegistry = new Registry();
    registerReplicaMetrics(loose, { registry: looseRegistry });
    await until(() => loose.status().rejected.params > 0, 20_000, "a command refused for its params");
    const refused = await samples(looseRegistry);
    expect(refused.get("arqon_replica_params_mismatch")).toBe(1);
    expect(refused.get('arqon_replica_commands_rejected_total{reason="params"}')).toBe(
      loose.status().rejected.params,
    );
    expect(refused.get("arqon_replica_commands_accepted_total")).toBe(0);
  });
});

describe("replica metrics, their source and options", () => {
  /** A status of a replica at generation 3, everything else at rest. */
  const status = (generation: number): ReplicaStatus =>
    ({
      replica: "r",
      generation,
      targetGeneration: generation,
      epoch: 1,
      values: { batch: 64 },
      rejected: { malformed: 0, fenced: 2 },
      accepted: generation,
      tier1Refusals: 0,
      lastTier1Refusal: undefined,
      applyFailures: 1,
      lastApplyError: "down",
      paramsMismatch: undefined,
      telemetry: {
        published: 10,
        shipped: 7,
        droppedFull: 1,
        refused: 0,
        lostInFlight: 2,
        buffered: 0,
        unshipped: 0,
        inFlight: 0,
        breaker: "open",
      },
    }) as unknown as ReplicaStatus;

  it("keep their last values and turn arqon_replica_up to 0 while status() throws", async () => {
    let failing = false;
    const registry = new Registry();
    registerReplicaMetrics(
      {
        status: () => {
          if (failing) throw new Error("gone");
          return status(3);
        },
      },
      { registry },
    );
    const fresh = await samples(registry);
    expect(fresh.get("arqon_replica_up")).toBe(1);
    expect(fresh.get("arqon_replica_apply_failures_total")).toBe(1);
    expect(fresh.get('arqon_replica_telemetry_digests_total{outcome="lost_in_flight"}')).toBe(2);
    expect(fresh.get("arqon_replica_telemetry_breaker_state")).toBe(2);
    expect(fresh.get('arqon_replica_commands_rejected_total{reason="fenced"}')).toBe(2);
    failing = true;
    const stale = await samples(registry);
    expect(stale.get("arqon_replica_up")).toBe(0);
    expect(stale.get("arqon_replica_generation")).toBe(3);
  });

  it("export only arqon_replica_up until a status() call succeeds", async () => {
    const registry = new Registry();
    registerReplicaMetrics(
      {
        status: () => {
          throw new Error("not yet");
        },
      },
      { registry },
    );
    expect([...(await samples(registry)).entries()]).toEqual([["arqon_replica_up", 0]]);
  });

  it("refuse a source without status(), and bad options, by name, registering nothing", () => {
    const registry = new Registry();
    expect(() => registerReplicaMetrics({} as never, { registry, prefix: "9x" })).toThrow(
      'registerReplicaMetrics: source: must have a status() method, got an object; prefix: must be letters, digits, _ or : and not start with a digit, got "9x"',
    );
    expect(registry.getMetricsAsArray()).toHaveLength(0);
    registerReplicaMetrics({ status: () => status(1) }, { registry });
    expect(() => registerReplicaMetrics({ status: () => status(1) }, { registry })).toThrow(
      /a metric named arqon_replica_up .* has already been registered/,
    );
  });
});
