import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// Two runs tuned over one Redis, each with the default prefix: every key is the run's own. Under
// one shared prefix, a coordinator of the second run stood by behind the first run's leader for
// good, and the first run's coordinator fed its engine the second run's telemetry.
let rig: FleetRig;

beforeEach(async () => {
  rig = await FleetRig.start();
});

afterEach(async () => {
  await rig.close();
}, 30_000);

describe("two runs on one Redis", () => {
  it("each run leads and is fed by its own replicas only", async () => {
    const checkout = await rig.coordinator("checkout-coord", { runId: "checkout" });
    const search = await rig.coordinator("search-coord", { runId: "search" });
    await until(() => checkout.leader && search.leader, 5_000, "both runs lead");

    const replica = await rig.replica("search-1", { runId: "search" });
    for (let k = 0; k < 20; k++) replica.publish(1 + k / 100);
    await replica.flushTelemetry();
    await until(() => search.busStats().digestsProcessed === 20, 5_000, "the search run's digests");
    expect(checkout.busStats().digestsProcessed).toBe(0);
    expect(Object.keys(checkout.snapshot().fleet)).toEqual([]);

    const admin = rig.connect();
    expect(await admin.get(fleetKeys(fleetPrefix("checkout")).lease)).toBe("checkout-coord");
    expect(await admin.get(fleetKeys(fleetPrefix("search")).lease)).toBe("search-coord");
    expect(await admin.exists("arqon:lease", "arqon:digests")).toBe(0);
  });

  it("fleetKeys names no keys without a prefix", () => {
    expect(() => fleetKeys(undefined as never)).toThrow(
      new RangeError(
        "fleetKeys: prefix must be a non-empty string (a run's default is fleetPrefix(runId)), got undefined",
      ),
    );
    expect(() => fleetKeys("")).toThrow(RangeError);
    expect(() => fleetPrefix(undefined as never)).toThrow(
      new RangeError("fleetPrefix: runId must be a non-empty string, got undefined"),
    );
    expect(fleetKeys(fleetPrefix("checkout")).lease).toBe("arqon:fleet:checkout:lease");
  });

  it("an explicit prefix is used as given, by replicas and coordinators alike", async () => {
    const coordinator = await rig.coordinator("c1", { prefix: "tenant-7" });
    await until(() => coordinator.leader, 5_000, "the coordinator leads");
    const replica = await rig.replica("r1", { prefix: "tenant-7" });
    replica.publish(1);
    await replica.flushTelemetry();
    await until(() => coordinator.busStats().digestsProcessed === 1, 5_000, "the digest");
    expect(await rig.connect().get(fleetKeys("tenant-7").lease)).toBe("c1");
  });
});
