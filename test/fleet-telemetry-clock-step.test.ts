import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { FleetDigest } from "../src/fleet/digest-batch.js";
import type { Replica, ReplicaOptions } from "../src/fleet/replica.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { TelemetryConsumer } from "../src/fleet/telemetry-consumer.js";
import { FLEET_RING, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// A replica restarted after its host's wall clock stepped back, against a real redis-server: its
// clock-based first seq is below the watermark the coordinator stored for its earlier run.
const keys = fleetKeys(fleetPrefix("run"));
const TEN_MINUTES_MS = 600_000;
let rig: FleetRig;

beforeEach(async () => {
  rig = await FleetRig.start();
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rig.close();
});

/** The coordinator's side of the bus, started: collects every digest it hands on, in order. */
async function startConsumer(): Promise<{ consumer: TelemetryConsumer; seen: FleetDigest[] }> {
  const seen: FleetDigest[] = [];
  const consumer = new TelemetryConsumer({
    redis: rig.connect(),
    blocking: rig.connect(),
    keys,
    keyring: FLEET_RING,
    consumer: "c1",
    blockMs: 50,
    onDigest: (_, digest) => seen.push(digest),
  });
  rig.track({ close: () => consumer.stop() });
  await consumer.start();
  return { consumer, seen };
}

/** Replica "r1", created and started while the wall clock reads `now` (its first seq comes from it). */
async function replicaStartedAt(now: number, options: Partial<ReplicaOptions> = {}): Promise<Replica> {
  const clock = vi.spyOn(Date, "now").mockReturnValue(now);
  try {
    return await rig.replica("r1", options);
  } finally {
    clock.mockRestore();
  }
}

/** Ships `objective` from a run of "r1" and waits until the consumer has judged it (processed or duplicate). */
async function shipAndJudge(replica: Replica, objective: number, consumer: TelemetryConsumer) {
  const judged = () => consumer.stats().processed + consumer.stats().duplicates;
  const before = judged();
  expect(replica.publish(objective, 1_000)).toBe(true);
  await replica.flushTelemetry();
  await until(() => judged() === before + 1, 5_000, "the consumer judges the digest");
}

describe("telemetry seqs across a replica restart with the wall clock stepped back", () => {
  it("a replica restarted 10 minutes earlier by its clock still has its digests processed", async () => {
    const { consumer, seen } = await startConsumer();
    const admin = rig.connect();
    const before = Date.now();
    const first = await replicaStartedAt(before);
    await shipAndJudge(first, 1, consumer);
    await first.close();
    // The watermark is stored with the acknowledgement, after onDigest.
    await until(async () => (await admin.hget(keys.seqs, "r1")) !== null, 5_000, "watermark stored");
    expect(Number(await admin.hget(keys.seqs, "r1"))).toBe(before * 1000 + 1);

    const second = await replicaStartedAt(before - TEN_MINUTES_MS);
    await shipAndJudge(second, 2, consumer);

    expect(seen.map((digest) => digest.objective)).toEqual([1, 2]);
    expect(consumer.stats().duplicates).toBe(0);
    expect(seen[1]!.seq).toBe(before * 1000 + 2);
  });

  it("an explicit telemetry.firstSeq is kept as given, even below the stored watermark", async () => {
    await rig.connect().hset(keys.seqs, "r1", 500);
    const { consumer, seen } = await startConsumer();
    const replica = await replicaStartedAt(Date.now(), { telemetry: { flushMs: 10, firstSeq: 10 } });
    await shipAndJudge(replica, 3, consumer);
    // Seq 11 is below 500: the host asked for it, and the coordinator counts it a duplicate.
    expect(consumer.stats()).toMatchObject({ processed: 0, duplicates: 1 });
    expect(seen).toEqual([]);
  });

  it("an unreadable stored watermark is ignored: the replica starts from its clock", async () => {
    const { consumer, seen } = await startConsumer();
    await rig.connect().hset(keys.seqs, "r1", "not a number");
    const now = Date.now();
    const replica = await replicaStartedAt(now);
    await shipAndJudge(replica, 4, consumer);
    expect(seen.map((digest) => digest.seq)).toEqual([now * 1000 + 1]);
  });
});
