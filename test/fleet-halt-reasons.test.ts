import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// Why a fleet is halted outlives its leader, as the halt does: an operator's halt (manualHalt
// alone) must not page after a failover, and SafeMode's must go on paging: every new leader
// restores the halt with a halt of its own, which keeps the halt's latched reasons.
let rig: FleetRig;
const STATE = fleetKeys(fleetPrefix("run")).state;

beforeEach(async () => {
  rig = await FleetRig.start();
});

afterEach(() => rig.close());

describe("the reasons of a fleet's halt", () => {
  it("are stored with an operator's halt and read by the standby and the next leader", async () => {
    const redis = rig.connect();
    const lead = await rig.coordinator("c1");
    const standby = await rig.coordinator("c2");
    await until(() => lead.leader, 5_000, "c1 leads");
    lead.tuningEngine?.halt("deploy in progress");
    await until(async () => (await redis.hget(STATE, "haltReasons")) === "manualHalt", 5_000, "stored");
    await until(() => standby.busStats().haltReasons?.length === 1, 5_000, "the standby reads them");
    expect(standby.busStats()).toMatchObject({ halted: true, haltReasons: ["manualHalt"] });
    await lead.close();
    await until(() => standby.leader, 5_000, "takeover");
    expect(standby.tuningEngine?.mode).toBe("halted");
    expect(standby.busStats()).toMatchObject({ leader: true, halted: true, haltReasons: ["manualHalt"] });
  });

  it("keep SafeMode's reasons on a new leader, whose engine keeps the latched one", async () => {
    const redis = rig.connect();
    await redis.hset(STATE, {
      halted: "halted (nonFiniteObjective, repeatedTrips)",
      haltReasons: "nonFiniteObjective,repeatedTrips",
    });
    const lead = await rig.coordinator("c1", { redis });
    await until(() => lead.leader, 5_000, "c1 leads");
    const engine = lead.tuningEngine!;
    expect(engine.mode).toBe("halted");
    // Its engine's halt is SafeMode's too (its own metrics page), with the latched reason alone:
    // the sensor's NaNs are the new engine's to see again. The fleet keeps both reasons.
    expect(engine.snapshot().reasons).toEqual(["repeatedTrips"]);
    engine.flushEvents();
    expect(lead.busStats().haltReasons).toEqual(["nonFiniteObjective", "repeatedTrips"]);
    expect(lead.snapshot().halted).toBe("halted (nonFiniteObjective, repeatedTrips)");
    // The restoring halt's event wrote the stored halt again, with the stored reasons: commands on
    // one connection run in order, so this read comes after that write.
    expect(await redis.hget(STATE, "haltReasons")).toBe("nonFiniteObjective,repeatedTrips");
    // An acknowledged reset clears both.
    expect(engine.resetSafeMode({ acknowledge: "checked the sensor (ops)" })).toBe(true);
    engine.flushEvents();
    await until(async () => (await redis.hget(STATE, "halted")) === null, 5_000, "cleared");
    expect(await redis.hget(STATE, "haltReasons")).toBeNull();
    expect(lead.busStats()).toMatchObject({ halted: false, haltReasons: [] });
  });

  it("are left out when a halt was stored without them, so that it pages", async () => {
    const redis = rig.connect();
    await redis.hset(STATE, { halted: "stored by an older coordinator" });
    const lead = await rig.coordinator("c1");
    await until(() => lead.leader, 5_000, "c1 leads");
    lead.tuningEngine?.flushEvents();
    expect(lead.busStats().halted).toBe(true);
    expect(lead.busStats()).not.toHaveProperty("haltReasons");
  });
});
