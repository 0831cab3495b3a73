import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fleetKeys } from "../src/fleet/streams.js";
import { TelemetryPublisher } from "../src/fleet/telemetry-publisher.js";
import { FLEET_RING, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// A digest publish() accepted never costs the digests it travels with: an objective or timestamp
// that is not a number travels as NaN and is rejected alone by the coordinator's engine; a
// generation the coordinator could not read is refused by publish() itself.

/** Values a JavaScript caller may pass where a number is expected (a missing measurement, text…). */
const NOT_NUMBERS: readonly unknown[] = [undefined, null, "12.5", 5n, { value: 1 }, true];

let rig: FleetRig;
beforeEach(async () => {
  rig = await FleetRig.start();
});
afterEach(async () => {
  await rig.close();
}, 30_000);

describe("digests that are not numbers", () => {
  it("an objective or timestamp that is not a number reaches the consumer as NaN; nothing is dead-lettered", async () => {
    const { publisher, consumer, seen } = await rig.bus(fleetKeys("t"));
    for (let i = 0; i < 10; i++) expect(publisher.publish(1 + i, 0, 1000)).toBe(true);
    for (const bad of NOT_NUMBERS) {
      expect(publisher.publish(bad as number, 0, 1000)).toBe(true);
      expect(publisher.publish(1, 0, bad as number)).toBe(true);
    }
    const total = 10 + 2 * NOT_NUMBERS.length;
    await publisher.flush();
    expect(publisher.stats()).toMatchObject({ shipped: total, lostInFlight: 0 });
    await until(() => seen.length === total || consumer.stats().deadLetters > 0);
    expect(consumer.stats().deadLetters).toBe(0);
    expect(seen.slice(0, 10).map((d) => d.objective)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const bad = seen.slice(10);
    // undefined is the timestamp's default (now); every other one arrives as NaN.
    expect(bad.filter((_, i) => i % 2 === 0).every((d) => Number.isNaN(d.objective))).toBe(true);
    expect(bad.filter((_, i) => i % 2 === 1).map((d) => Number.isNaN(d.timestamp))).toEqual(
      NOT_NUMBERS.map((value) => value !== undefined),
    );
  });

  it.each([-1, 1.5, Number.NaN, "3", undefined])(
    "publish() refuses generation %s (the whole batch would be dead-lettered) and counts it",
    (generation) => {
      const publisher = rig.track(
        new TelemetryPublisher({ redis: rig.connect(), stream: "s", replica: "r1", keyring: FLEET_RING }),
      );
      expect(publisher.publish(1, 0)).toBe(true);
      expect(publisher.publish(1, generation as number)).toBe(false);
      expect(publisher.stats()).toMatchObject({ published: 2, refused: 1, buffered: 1 });
    },
  );

  it("a replica's undefined and string objectives among good ones: every digest reaches the engine", async () => {
    const coordinator = await rig.coordinator("c1");
    await until(() => coordinator.snapshot().leader, 10_000, "c1 leads");
    const replica = await rig.replica("r1", { telemetry: { flushMs: 60_000 } });
    const before = coordinator.snapshot().engine!.digests;
    for (let i = 0; i < 98; i++) expect(replica.publish(1 + i / 100)).toBe(true);
    expect(replica.publish(undefined as unknown as number)).toBe(true);
    expect(replica.publish("12.5" as unknown as number)).toBe(true);
    await replica.flushTelemetry();
    await until(
      () => coordinator.busStats().digestsProcessed === 100 || coordinator.busStats().deadLetters > 0,
    );
    expect(coordinator.busStats().deadLetters).toBe(0);
    const after = coordinator.snapshot().engine!.digests;
    expect(after.accepted + after.rejected - before.accepted - before.rejected).toBe(100);
    expect(after.rejected - before.rejected).toBeGreaterThanOrEqual(2);
  });
});
