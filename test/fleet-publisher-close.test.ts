import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TelemetryPublisher } from "../src/fleet/telemetry-publisher.js";
import { FLEET_RING, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// What close() gives up on stays given up: digests it counted unshipped never ship later.

let rig: FleetRig;
beforeEach(async () => {
  rig = await FleetRig.start();
});
afterEach(async () => {
  await rig.close();
}, 30_000);

describe("telemetry publisher close", () => {
  it("counts what it gave up on as unshipped, and a later flush does not ship it", async () => {
    const admin = rig.connect();
    const publisher = rig.track(
      new TelemetryPublisher({
        redis: rig.connect(),
        stream: "s",
        replica: "r1",
        keyring: FLEET_RING,
        flushMs: 60_000,
      }),
    );
    // Redis holds every write until told otherwise: the first flush stays in flight.
    await admin.call("CLIENT", "PAUSE", "60000", "WRITE");
    for (let i = 0; i < 10; i++) publisher.publish(1, 0);
    const first = publisher.flush();
    for (let i = 0; i < 5; i++) publisher.publish(2, 0);
    const closing = publisher.close(1);
    await until(() => publisher.stats().unshipped === 5, 5_000, "close gave up on the five");
    await admin.call("CLIENT", "UNPAUSE");
    await first;
    await closing;
    expect(publisher.stats()).toMatchObject({ shipped: 10, unshipped: 5, buffered: 0, inFlight: 0 });
    await publisher.flush();
    expect(publisher.stats()).toMatchObject({ shipped: 10, unshipped: 5, buffered: 0 });
    // One batch reached the stream: the ten shipped before close gave up.
    expect(await admin.xlen("s")).toBe(1);
  });
});
