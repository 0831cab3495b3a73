import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// A replica closed for good must leave the acks hash: replica ids follow pod names, and a report
// left behind would count as a lagging replica (ArqonReplicasLagging) for ever.
const keys = fleetKeys(fleetPrefix("run"));
let rig: FleetRig;

beforeEach(async () => {
  rig = await FleetRig.start();
});

afterEach(() => rig.close());

describe("replica close", () => {
  it("removes its report from the acks hash, and the coordinator stops counting it", async () => {
    const lead = await rig.coordinator("c1");
    const admin = rig.connect();
    await rig.replica("r1");
    const r2 = await rig.replica("r2");
    await until(() => lead.busStats().replicas === 2, 10_000, "both replicas in the view");
    await r2.close();
    expect(await admin.hexists(keys.acks, "r2")).toBe(0);
    expect(await admin.hexists(keys.acks, "r1")).toBe(1);
    await until(() => lead.busStats().replicas === 1, 10_000, "r2 out of the view");
    expect(Object.keys(lead.snapshot().fleet)).toEqual(["r1"]);
  });

  it("leaves a report it did not write: another process's under the same id", async () => {
    const admin = rig.connect();
    const r1 = await rig.replica("r1");
    expect(await admin.hexists(keys.acks, "r1")).toBe(1);
    const newer = JSON.stringify({ generation: 3, target: 3, epoch: 2, rejected: 0, at: Date.now() });
    await admin.hset(keys.acks, "r1", newer);
    await r1.close();
    expect(await admin.hget(keys.acks, "r1")).toBe(newer);
  });

  it("returns within its grace while Redis holds writes, and the report goes once Redis runs them", async () => {
    const admin = rig.connect();
    const r1 = await rig.replica("r1");
    // Redis answers no write (the removal included) until told otherwise.
    await admin.call("CLIENT", "PAUSE", "60000", "WRITE");
    const started = Date.now();
    await r1.close();
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(await admin.hexists(keys.acks, "r1")).toBe(1);
    await admin.call("CLIENT", "UNPAUSE");
    await until(async () => (await admin.hexists(keys.acks, "r1")) === 0, 10_000, "the report removed");
  });
});
