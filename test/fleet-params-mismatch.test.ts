import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Coordinator } from "../src/fleet/coordinator.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { registerBusMetrics } from "../src/metrics/index.js";
import { scrape } from "./support/exposition.js";
import { FLEET_ENGINE, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// A coordinator whose params differ from the fleet's stored ones (a parameter renamed, a bound
// changed) must not take the fleet over: its commands would be refused by every replica, and its
// state would overwrite the tuned values. Against a real redis-server.
const keys = fleetKeys(fleetPrefix("run"));
const RENAMED = { pool: { min: 1, max: 512, init: 64, maxDelta: 16 } };
let rig: FleetRig;

beforeEach(async () => {
  rig = await FleetRig.start();
});

afterEach(() => rig.close(), 30_000);

/** A fleet defined by a first leader (batch, FLEET_ENGINE), tuned to batch = 200, now without a leader. */
async function definedFleet(): Promise<{ fingerprint: string }> {
  const first = await rig.coordinator("c1");
  expect(first.leader).toBe(true);
  const admin = rig.connect();
  await until(async () => (await admin.hexists(keys.state, "values")) === 1, 5_000, "the first state");
  const fingerprint = first.snapshot().paramsFingerprint;
  await first.close();
  await admin.hset(keys.state, "values", JSON.stringify({ batch: 200 }));
  return { fingerprint };
}

/** A coordinator of `params` whose onError calls are collected in `errors`. */
function coordinatorOf(
  id: string,
  params: object,
  errors: unknown[],
  replaceParams?: string,
): Promise<Coordinator> {
  return rig.coordinator(id, {
    engine: { ...FLEET_ENGINE, params: params as typeof FLEET_ENGINE.params },
    onError: (error) => errors.push(error),
    ...(replaceParams === undefined ? {} : { replaceParams }),
  });
}

describe("a coordinator whose params differ from the fleet's", () => {
  it("with a parameter renamed, does not lead, names what differs, and leaves the stored values alone", async () => {
    const { fingerprint } = await definedFleet();
    const admin = rig.connect();
    const before = await admin.hgetall(keys.state);
    const errors: unknown[] = [];
    // The lease is free: it takes it, reads the state, refuses, and lets it go.
    const renamed = await coordinatorOf("bad", RENAMED, errors);
    expect(renamed.leader).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RangeError);
    const message = String((errors[0] as Error).message);
    expect(message).toContain("batch: missing here");
    expect(message).toContain("pool: not in the fleet");
    expect(message).toContain(`replaceParams: "${fingerprint}"`);
    expect(renamed.snapshot().paramsMismatch).toBe(message);
    // Not a failed promotion (no back-off): it stands by until the params agree.
    expect(renamed.snapshot().promotionFailures).toBe(0);
    expect(await admin.get(keys.lease)).toBeNull();
    expect(await admin.hgetall(keys.state)).toEqual(before);
    // A coordinator of the fleet's params takes over and resumes from the tuned value.
    const good = await rig.coordinator("c2");
    expect(good.leader).toBe(true);
    expect(good.tuningEngine!.values[0]).toBe(200);
    // The standby keeps its refusal and reports it once, not at every read of the fleet.
    await until(() => renamed.snapshot().leaderId === "c2", 5_000, "the standby sees the leader");
    expect(renamed.leader).toBe(false);
    expect(errors).toHaveLength(1);
  });

  it("with a bound changed, is refused naming the bound, also while it stands by behind the leader", async () => {
    await definedFleet();
    const good = await rig.coordinator("c2");
    expect(good.leader).toBe(true);
    const errors: unknown[] = [];
    const wider = await coordinatorOf(
      "wide",
      { batch: { min: 1, max: 1024, init: 64, maxDelta: 16 } },
      errors,
    );
    await until(() => errors.length > 0, 5_000, "the standby's refusal");
    expect(String((errors[0] as Error).message)).toContain("batch.max: 1024 here, 512 in the fleet");
    // The leader goes away: the refused standby does not take over; one of the fleet's params does.
    await good.close();
    const next = await rig.coordinator("c3");
    await until(() => next.leader, 5_000, "c3 leads");
    expect(wider.leader).toBe(false);
    expect(next.tuningEngine!.values[0]).toBe(200);
    expect(errors).toHaveLength(1);
  });

  it("given replaceParams with the stored fingerprint, leads with its params, and the old ones are refused after", async () => {
    const { fingerprint } = await definedFleet();
    const errors: unknown[] = [];
    const renamed = await coordinatorOf("new", RENAMED, errors, fingerprint);
    expect(errors).toEqual([]);
    expect(renamed.leader).toBe(true);
    // The renamed parameter has no stored value: it starts at its init, as a new generation.
    expect(renamed.tuningEngine!.values[0]).toBe(64);
    const admin = rig.connect();
    await until(
      async () => (await admin.hget(keys.state, "values")) === JSON.stringify({ pool: 64 }),
      5_000,
      "the new params' state",
    );
    expect(Object.keys(JSON.parse((await admin.hget(keys.state, "params"))!))).toEqual(["pool"]);
    await renamed.close();
    const oldErrors: unknown[] = [];
    const old = await rig.coordinator("old", { onError: (error) => oldErrors.push(error) });
    expect(old.leader).toBe(false);
    expect(String((oldErrors[0] as Error).message)).toContain("pool: missing here");
  });

  it("a state stored before fleets recorded their params is compared by its names", async () => {
    const admin = rig.connect();
    await admin.hset(keys.state, { generation: "7", values: JSON.stringify({ poolSize: 16 }), epoch: "1" });
    const errors: unknown[] = [];
    const lead = await coordinatorOf("c1", FLEET_ENGINE.params, errors);
    expect(lead.leader).toBe(false);
    expect(String((errors[0] as Error).message)).toMatch(/poolSize: missing here.*batch: not in the fleet/);
    expect(await admin.hget(keys.state, "values")).toBe(JSON.stringify({ poolSize: 16 }));
  });

  it("exports arqon_bus_params_mismatch 1 while it refuses, and 0 once the fleet's params are its own", async () => {
    const { fingerprint } = await definedFleet();
    const mismatchOf = async (coordinator: Coordinator) => {
      const registry = new Registry();
      registerBusMetrics(coordinator, { registry });
      return async () => (await scrape(registry)).get("arqon_bus_params_mismatch");
    };
    const renamed = await coordinatorOf("bad", RENAMED, []);
    const renamedMismatch = await mismatchOf(renamed);
    expect(renamed.leader).toBe(false);
    expect(await renamedMismatch()).toBe(1);
    // A coordinator of the fleet's params leads, and says it agrees; the refused one stands by.
    const good = await rig.coordinator("c2");
    expect(good.leader).toBe(true);
    expect(await (await mismatchOf(good))()).toBe(0);
    await until(() => renamed.snapshot().leaderId === "c2", 5_000, "the standby sees the leader");
    expect(await renamedMismatch()).toBe(1);
    // The change made on purpose: a coordinator given replaceParams leads and stores the renamed
    // params. The standby of those params now agrees with the fleet: it no longer refuses.
    await good.close();
    const replacing = await coordinatorOf("new", RENAMED, [], fingerprint);
    await until(() => replacing.leader, 5_000, "the replacing coordinator leads");
    await until(async () => (await renamedMismatch()) === 0, 5_000, "the standby's mismatch to clear");
    expect(renamed.snapshot().paramsMismatch).toBeUndefined();
  });

  it("createCoordinator refuses a replaceParams that is not a non-empty string, by name", async () => {
    await expect(rig.coordinator("c1", { replaceParams: "" })).rejects.toThrow(
      /replaceParams: must be a non-empty string/,
    );
  });
});

describe("a replica whose params differ from the fleet's", () => {
  it("holds its values and refuses the commands, naming what differs; one of the fleet's params follows", async () => {
    const lead = await rig.coordinator("c1");
    expect(lead.leader).toBe(true);
    const admin = rig.connect();
    await until(async () => (await admin.hexists(keys.state, "params")) === 1, 5_000, "the fleet's params");
    // As in the trial: a late joiner with a larger maxDelta would jump to the fleet's values.
    const errors: unknown[] = [];
    const rejections: string[] = [];
    const loose = await rig.replica("loose", {
      params: { batch: { min: 1, max: 512, init: 64, maxDelta: 64 } },
      onError: (error) => errors.push(error),
      onRejected: (rejection) => rejections.push(rejection.reason),
    });
    const good = await rig.replica("good");
    expect(errors).toHaveLength(1);
    const message = String((errors[0] as Error).message);
    expect(message).toContain('replica "loose" refuses the fleet\'s commands');
    expect(message).toContain("batch.maxDelta: 64 here, 16 in the fleet");
    expect(message).toContain(`stored params ${lead.snapshot().paramsFingerprint}`);
    expect(loose.status().paramsMismatch).toBe(message);
    expect(good.status().paramsMismatch).toBeUndefined();
    // The fleet moves on; the good replica follows, the loose one stays where it started.
    await until(
      () => {
        good.publish((good.values[0]! - 200) ** 2);
        return lead.snapshot().generation >= 3 && good.generation === lead.snapshot().generation;
      },
      20_000,
      "generation 3 on the good replica",
    );
    expect(loose.values[0]).toBe(64);
    expect(loose.generation).toBe(0);
    expect(rejections.length).toBeGreaterThan(0);
    expect(new Set(rejections)).toEqual(new Set(["params"]));
    expect(loose.status().rejected.params).toBe(rejections.length);
    // Reported once while it lasts, not at every command.
    expect(errors).toHaveLength(1);
  });

  it("reads the fleet's params again with each command: a deliberate change lets the new replicas follow", async () => {
    const { fingerprint } = await definedFleet();
    const errors: unknown[] = [];
    const renamedReplica = await rig.replica("new", {
      params: RENAMED,
      onError: (error) => errors.push(error),
    });
    expect(String((errors[0] as Error).message)).toContain("pool: not in the fleet");
    // The coordinators are given the new params on purpose: the replica's now agree.
    const lead = await coordinatorOf("new", RENAMED, [], fingerprint);
    expect(lead.leader).toBe(true);
    await until(
      () => {
        renamedReplica.publish((renamedReplica.values[0]! - 100) ** 2);
        return renamedReplica.generation >= 1;
      },
      10_000,
      "the renamed replica follows",
    );
    expect(renamedReplica.status().paramsMismatch).toBeUndefined();
    expect(errors).toHaveLength(1);
  });
});
