import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CommandRejection } from "../src/fleet/signing.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { registerBusMetrics } from "../src/metrics/index.js";
import { scrape } from "./support/exposition.js";
import { objectiveOf, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// A command the leader's engine applied but Redis did not take must not leave the engine running
// ahead of the fleet (the replicas' digests would all be another generation's), and must not go
// unreported. Against a real redis-server.
const keys = fleetKeys(fleetPrefix("run"));
const LAST_ID = "18446744073709551615-18446744073709551615";
let rig: FleetRig;

beforeEach(async () => {
  rig = await FleetRig.start();
});

afterEach(() => rig.close(), 30_000);

describe("a command Redis does not take", () => {
  it("a command stream whose ids are used up is written anew, reported, and the fleet tunes on", async () => {
    const errors: unknown[] = [];
    const lead = await rig.coordinator("c1", { onError: (error) => errors.push(error) });
    const registry = new Registry();
    registerBusMetrics(lead, { registry });
    const rejections: CommandRejection[] = [];
    const replica = await rig.replica("r1", { onRejected: (x) => rejections.push(x) });
    const feed = () => replica.publish(objectiveOf(replica.values[0]!));
    await until(
      () => {
        feed();
        return lead.snapshot().generation >= 2 && replica.generation === lead.snapshot().generation;
      },
      20_000,
      "generation 2",
    );
    // By hand, as in the trial: no XADD with an id Redis picks can follow this entry.
    const admin = rig.connect();
    await admin.xadd(keys.commands, LAST_ID, "c", "junk");
    const reached = lead.snapshot().generation;
    await until(
      () => {
        feed();
        return lead.snapshot().generation >= reached + 2 && replica.generation === lead.snapshot().generation;
      },
      20_000,
      "tuning goes on past the exhausted stream",
    );
    expect(lead.leader).toBe(true);
    expect(lead.snapshot()).toMatchObject({ commandStreamResets: 1, publishFailures: 0 });
    // Prometheus sees it too: a repair, not a failure.
    const series = await scrape(registry);
    expect(series.get("arqon_bus_command_stream_resets_total")).toBe(1);
    expect(series.get("arqon_bus_publish_failures_total")).toBe(0);
    expect(String((errors[0] as Error).message)).toMatch(/used up its ids.*deleted it and wrote generation/);
    expect(errors).toHaveLength(1);
    expect(Number(await admin.hget(keys.state, "generation"))).toBe(lead.snapshot().generation);
    // The replica refused the junk entry, named; nothing else.
    expect(rejections.map((x) => x.reason)).toEqual(["malformed"]);
  });

  it("a command Redis refuses ends the tenure, reported and counted; the next resumes from the stored state", async () => {
    const errors: unknown[] = [];
    // Re-signs every 50 ms, so a command goes out without waiting for telemetry.
    const lead = await rig.coordinator("c1", { refreshMs: 50, onError: (error) => errors.push(error) });
    expect(lead.leader).toBe(true);
    const admin = rig.connect();
    await until(async () => (await admin.xlen(keys.commands)) > 0, 5_000, "the first command");
    const stored = await admin.hgetall(keys.state);
    // The command key holds a string now: XADD answers WRONGTYPE.
    await admin.del(keys.commands);
    await admin.set(keys.commands, "not a stream");
    await until(() => !lead.leader, 5_000, "the leader steps down");
    expect(lead.tuningEngine).toBeUndefined();
    const snapshot = lead.snapshot();
    expect(snapshot.publishFailures).toBe(1);
    expect(snapshot.lastPublishError).toMatch(/WRONGTYPE/);
    expect(String((errors[0] as Error).message)).toMatch(
      new RegExp(`could not publish generation ${stored.generation} to ${keys.commands}: WRONGTYPE`),
    );
    expect(await admin.hgetall(keys.state)).toEqual(stored);
    await until(async () => (await admin.get(keys.lease)) === null, 5_000, "the lease let go");
    // Fixed by the operator: a coordinator leads again, from the stored generation and values.
    await admin.del(keys.commands);
    await until(() => lead.leader, 10_000, "it leads again after its back-off");
    expect(lead.snapshot().generation).toBe(Number(stored.generation));
    expect(lead.tuningEngine!.values[0]).toBe(JSON.parse(stored.values!).batch);
    expect(lead.snapshot().epoch).toBeGreaterThan(Number(stored.epoch));
  });

  // What a short outage does: the command waits in the client's offline queue, the lease runs out
  // meanwhile, and Redis runs the script once it answers. Here the lease is taken away before the
  // command reaches Redis, which the script sees the same way; a lease of a minute keeps the
  // upkeep from noticing first.
  it("a command Redis runs after the lease passed is counted and reported, and the tenure ends", async () => {
    const errors: unknown[] = [];
    const lead = await rig.coordinator("c1", { leaseMs: 60_000, onError: (error) => errors.push(error) });
    const registry = new Registry();
    registerBusMetrics(lead, { registry });
    const admin = rig.connect();
    await until(async () => (await admin.xlen(keys.commands)) > 0, 5_000, "the first command");
    const stored = await admin.hgetall(keys.state);
    await admin.set(keys.lease, "c2", "PX", 60_000);
    // The engine applies it (a new generation) and hands its command to the publisher.
    expect(lead.tuningEngine!.rollback("back to the baseline")).toBe(true);
    const generation = lead.snapshot().generation;
    expect(generation).toBe(Number(stored.generation) + 1);
    await until(() => !lead.leader, 5_000, "the leader steps down");
    // Before, the command was dropped unsaid: no count, no error, nothing for the alert.
    expect(lead.snapshot()).toMatchObject({
      publishFailures: 1,
      lastPublishError: expect.stringMatching(/^this coordinator no longer held the lease when Redis ran it/),
    });
    expect(errors.map(String)).toEqual([
      expect.stringContaining(
        `coordinator "c1" could not publish generation ${generation} to ${keys.commands}: this coordinator no longer held the lease`,
      ),
    ]);
    expect((await scrape(registry)).get("arqon_bus_publish_failures_total")).toBe(1);
    // Nothing reached the fleet.
    expect(await admin.xlen(keys.commands)).toBe(1);
    expect(await admin.hgetall(keys.state)).toEqual(stored);
  });

  it("a command fenced by a later tenure's state is counted and reported, and the tenure ends", async () => {
    const errors: unknown[] = [];
    const lead = await rig.coordinator("c1", { leaseMs: 60_000, onError: (error) => errors.push(error) });
    const admin = rig.connect();
    await until(async () => (await admin.xlen(keys.commands)) > 0, 5_000, "the first command");
    const epoch = lead.snapshot().epoch;
    // A later tenure's write, while c1's lease check still passes (a second coordinator "c1").
    await admin.hset(keys.state, "epoch", String(epoch + 1));
    expect(lead.tuningEngine!.rollback("back to the baseline")).toBe(true);
    const generation = lead.snapshot().generation;
    await until(() => !lead.leader, 5_000, "the leader steps down");
    expect(lead.snapshot()).toMatchObject({
      publishFailures: 1,
      lastPublishError: expect.stringMatching(/^a later leader's tenure had written the fleet's state/),
    });
    expect(errors.map(String)).toEqual([
      expect.stringContaining(
        `could not publish generation ${generation} to ${keys.commands}: a later leader's`,
      ),
    ]);
    expect(await admin.xlen(keys.commands)).toBe(1);
    await until(async () => (await admin.get(keys.lease)) === null, 5_000, "the lease let go");
  });

  it("counts each refused command in arqon_bus_publish_failures_total, which no later tenure lowers", async () => {
    const lead = await rig.coordinator("c1", { refreshMs: 50, onError: () => undefined });
    const registry = new Registry();
    registerBusMetrics(lead, { registry });
    const admin = rig.connect();
    const scraped: number[] = [];
    const failuresScraped = async () => {
      const value = (await scrape(registry)).get("arqon_bus_publish_failures_total");
      scraped.push(value!);
      return value;
    };
    expect(await failuresScraped()).toBe(0);
    // Two tenures, each ended by a command Redis refuses (the key holds a string: WRONGTYPE),
    // each followed by the operator's fix and a tenure that publishes again.
    for (const refusal of [1, 2]) {
      await until(async () => (await admin.xlen(keys.commands)) > 0, 10_000, "a command");
      await admin.del(keys.commands);
      await admin.set(keys.commands, "not a stream");
      await until(() => !lead.leader, 5_000, `the leader steps down (refusal ${refusal})`);
      expect(lead.snapshot().publishFailures).toBe(refusal);
      expect(await failuresScraped()).toBe(refusal);
      await admin.del(keys.commands);
      await until(() => lead.leader, 10_000, `it leads again after refusal ${refusal}`);
      expect(await failuresScraped()).toBe(refusal);
    }
    expect(scraped).toEqual([0, 1, 1, 2, 2]);
  });
});
