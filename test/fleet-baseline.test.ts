import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Coordinator } from "../src/fleet/coordinator.js";
import type { Replica } from "../src/fleet/replica.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { FLEET_ENGINE, FLEET_PARAMS, objectiveOf, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// The fleet's baseline (what a rollback returns to) outlives the leader that set it: it is kept
// in the state hash, and a new leader's engine rolls back to it, not to where it resumed. Against a
// real redis-server.
const keys = fleetKeys(fleetPrefix("run"));
let rig: FleetRig;

beforeEach(async () => {
  rig = await FleetRig.start();
});

afterEach(() => rig.close(), 30_000);

/** The stored baseline, parsed (undefined when none). */
async function storedBaseline(): Promise<unknown> {
  const text = await rig.connect().hget(keys.state, "baseline");
  return text === null ? undefined : JSON.parse(text);
}

/** Feeds `replica` until `lead` published generation `generation` and the replica runs it. */
function tunedTo(lead: Coordinator, replica: Replica, generation: number): Promise<void> {
  return until(
    () => {
      replica.publish(objectiveOf(replica.values[0]!));
      const g = lead.snapshot().generation;
      return g >= generation && replica.generation === g;
    },
    20_000,
    `generation ${generation}`,
  );
}

describe("the fleet's baseline", () => {
  it("the first leader stores init as the baseline; a new leader resumed elsewhere keeps it and rolls back to it", async () => {
    const first = await rig.coordinator("c1");
    const replica = await rig.replica("r1");
    await until(async () => (await storedBaseline()) !== undefined, 5_000, "the first baseline");
    expect(await storedBaseline()).toEqual({ generation: 0, values: { batch: 64 } });
    expect(first.snapshot()).toMatchObject({ engineHasFleetBaseline: true });
    await tunedTo(first, replica, 2);
    await first.close();
    const next = await rig.coordinator("c2");
    expect(next.leader).toBe(true);
    const resumed = next.tuningEngine!.values[0]!;
    expect(resumed).not.toBe(64);
    // Its engine's baseline is the fleet's, which its creation does not replace.
    await tunedTo(next, replica, next.snapshot().generation + 1);
    expect(await storedBaseline()).toEqual({ generation: 0, values: { batch: 64 } });
    expect(next.snapshot()).toMatchObject({
      baseline: { generation: 0, values: { batch: 64 } },
      engineHasFleetBaseline: true,
    });
    expect(next.tuningEngine!.rollback("check the known-good batch")).toBe(true);
    await until(() => replica.values[0] === 64, 5_000, "the replica runs the fleet's baseline");
  });

  it("an operator's baseline outlives its leader: the next leader's rollback returns there", async () => {
    const first = await rig.coordinator("c1");
    const replica = await rig.replica("r1");
    await tunedTo(first, replica, 2);
    const known = first.tuningEngine!.values[0]!;
    first.tuningEngine!.setBaseline();
    await until(
      async () => JSON.stringify(await storedBaseline()).includes(`"batch":${known}`),
      5_000,
      "stored",
    );
    await tunedTo(first, replica, first.snapshot().generation + 2);
    await first.close();
    const next = await rig.coordinator("c2");
    expect(next.leader).toBe(true);
    expect(next.tuningEngine!.values[0]).not.toBe(known);
    expect(next.snapshot().engineHasFleetBaseline).toBe(true);
    expect(next.tuningEngine!.rollback("back to the operator's baseline")).toBe(true);
    expect(next.tuningEngine!.values[0]).toBe(known);
    await until(() => replica.values[0] === known, 5_000, "the replica runs it");
  });

  it("a coordinator config's own baseline is the first one stored", async () => {
    const batch = { ...FLEET_PARAMS.batch!, baseline: 32 };
    const first = await rig.coordinator("c1", { engine: { ...FLEET_ENGINE, params: { batch } } });
    await until(async () => (await storedBaseline()) !== undefined, 5_000, "the first baseline");
    expect(await storedBaseline()).toEqual({ generation: 0, values: { batch: 32 } });
    expect(first.snapshot()).toMatchObject({ engineHasFleetBaseline: true });
    expect(first.tuningEngine!.values[0]).toBe(64);
  });

  it("is moved into bounds narrowed since, and the new leader says its engine does not hold it", async () => {
    const first = await rig.coordinator("c1");
    await until(async () => (await storedBaseline()) !== undefined, 5_000, "the first baseline");
    const fingerprint = first.snapshot().paramsFingerprint;
    await first.close();
    // The fleet had been tuned to 40 when the deploy narrowed batch to [1, 48].
    await rig.connect().hset(keys.state, "values", JSON.stringify({ batch: 40 }));
    const batch = { ...FLEET_PARAMS.batch!, max: 48, init: 24 };
    const next = await rig.coordinator("c2", {
      engine: { ...FLEET_ENGINE, params: { batch } },
      replaceParams: fingerprint,
    });
    await until(() => next.leader, 5_000, "c2 leads");
    expect(next.tuningEngine!.values[0]).toBe(40);
    expect(next.tuningEngine!.snapshot().baseline).toEqual({ batch: 48 });
    expect(next.snapshot()).toMatchObject({
      baseline: { generation: 0, values: { batch: 64 } },
      engineHasFleetBaseline: false,
    });
  });

  it("a baseline the operator sets is stored with its fleet generation, and a standby reads it", async () => {
    const lead = await rig.coordinator("c1");
    const standby = await rig.coordinator("c2");
    const replica = await rig.replica("r1");
    await tunedTo(lead, replica, 2);
    const engine = lead.tuningEngine!;
    // Synchronous: no apply comes between the read and setBaseline.
    const values = { batch: engine.values[0]! };
    const generation = lead.snapshot().generation;
    engine.setBaseline();
    await until(
      async () => JSON.stringify(await storedBaseline()) === JSON.stringify({ generation, values }),
      5_000,
      "the operator's baseline stored",
    );
    await until(() => standby.snapshot().baseline?.generation === generation, 5_000, "the standby reads it");
    expect(standby.snapshot().baseline).toEqual({ generation, values });
    expect(lead.snapshot().engineHasFleetBaseline).toBe(true);
  });
});
