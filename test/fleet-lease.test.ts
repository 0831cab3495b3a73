import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LeaderLease } from "../src/fleet/lease.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { TelemetryPublisher } from "../src/fleet/telemetry-publisher.js";
import { FLEET_ENGINE, FLEET_RING, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// The leader lease and the coordinator's generation gate, against a real redis-server.
const keys = fleetKeys(fleetPrefix("run"));
let rig: FleetRig;

beforeEach(async () => {
  rig = await FleetRig.start();
});

afterEach(() => rig.close());

describe("leader lease", () => {
  it("has one holder at a time, bumps the epoch per tenure, and renews or releases only for its owner", async () => {
    const redis = rig.connect();
    const a = new LeaderLease(redis, keys, "a", 10_000);
    const b = new LeaderLease(redis, keys, "b", 10_000);
    expect(await a.tryAcquire(0)).toBe(1);
    expect(await b.tryAcquire(0)).toBe(0);
    expect(await b.renew(1)).toBe(false);
    expect(await a.renew(1)).toBe(true);
    await b.release(); // not b's lease: nothing happens
    expect(await redis.get(keys.lease)).toBe("a");
    expect(a.heldAt(5_000)).toBe(true);
    expect(a.heldAt(10_001)).toBe(false); // not renewed for a whole ttl: consider itself deposed
    await a.release();
    expect(await b.tryAcquire(20_000)).toBe(2);
  });

  it("gives the lease back when Redis refuses it an epoch, naming the command and key", async () => {
    const redis = rig.connect();
    await redis.hset(keys.epoch, "not", "a counter"); // INCR then answers WRONGTYPE
    const a = new LeaderLease(redis, keys, "a", 10_000);
    await expect(a.tryAcquire(0)).rejects.toThrow(`EVAL ${keys.epoch}: WRONGTYPE`);
    expect(a.epoch).toBe(0);
    // Not held for a tenure that never began: another contender may take it at once.
    expect(await redis.get(keys.lease)).toBeNull();
  });

  it("a deposed holder's renewal fails once another contender took the lease", async () => {
    const redis = rig.connect();
    const a = new LeaderLease(redis, keys, "a", 10_000);
    const b = new LeaderLease(redis, keys, "b", 10_000);
    await a.tryAcquire(0);
    await redis.del(keys.lease); // the lease expired while a was paused
    expect(await b.tryAcquire(0)).toBe(2);
    expect(await a.renew(1)).toBe(false);
    expect(a.epoch).toBe(0);
  });
});

describe("epochs after Redis lost its data", () => {
  it("a tenure takes an epoch above the highest its contender has seen, not one already used", async () => {
    const redis = rig.connect();
    const a = new LeaderLease(redis, keys, "a", 10_000);
    expect(await a.tryAcquire(0)).toBe(1);
    await a.release();
    await redis.del(keys.epoch); // a restart without persistence: the counter starts again
    const b = new LeaderLease(redis, keys, "b", 10_000);
    expect(await b.tryAcquire(0, 1)).toBe(2);
    expect(await redis.get(keys.epoch)).toBe("2");
    await b.release();
    // A floor below the counter changes nothing: the counter goes on.
    expect(await a.tryAcquire(0, 1)).toBe(3);
  });

  it("a standby that saw the replicas at epoch 1 leads at epoch 2 after a FLUSHALL", async () => {
    const first = await rig.coordinator("c1");
    const standby = await rig.coordinator("c2");
    const replica = await rig.replica("r1");
    await until(() => first.leader && replica.status().epoch === 1, 5_000, "the replica follows c1");
    await until(() => standby.snapshot().leaderEpoch === 1, 5_000, "the standby reads the replica's epoch");
    await rig.connect().flushall();
    await first.close();
    await until(() => standby.leader, 5_000, "c2 takes over");
    expect(standby.snapshot().epoch).toBe(2);
    await until(() => replica.status().epoch === 2, 5_000, "the replica follows c2's epoch");
  });
});

describe("epochs from replica reports", () => {
  it("does not follow a report whose epoch no fleet could reach (a forged or corrupt acks entry)", async () => {
    const admin = rig.connect();
    await admin.hset(keys.acks, {
      forged: JSON.stringify({ generation: 0, target: 0, epoch: 2 ** 45, rejected: 0, at: Date.now() }),
    });
    const lead = await rig.coordinator("c1");
    await until(() => lead.snapshot().fleet.forged !== undefined, 5_000, "the report in the view");
    const standby = await rig.coordinator("c2");
    await until(() => standby.snapshot().fleet.forged !== undefined, 5_000, "the standby reads it too");
    await lead.close();
    await until(() => standby.leader, 5_000, "takeover");
    expect(standby.snapshot().epoch).toBe(2);
    expect(await admin.get(keys.epoch)).toBe("2");
  });
});

describe("coordinator generation gate", () => {
  it("feeds its engine only digests of the live generation, whichever replica sent them", async () => {
    const lead = await rig.coordinator("c1", { engine: { ...FLEET_ENGINE, window: { digests: 1000 } } });
    const publishers = ["r1", "r2"].map((replica) => {
      return rig.track(
        new TelemetryPublisher({
          redis: rig.connect(),
          stream: keys.digests,
          replica,
          keyring: FLEET_RING,
          flushMs: 10,
        }),
      );
    });
    publishers[0]!.publish(1.0, 0);
    publishers[1]!.publish(1.1, 0);
    publishers[1]!.publish(1.2, 5); // a generation that is not live
    await until(() => lead.busStats().digestsProcessed === 3, 5_000, "three digests");
    const digests = lead.snapshot().engine!.digests;
    expect(digests).toMatchObject({ accepted: 2, rejected: 1 });
  });

  it("takes a replica's measurement under the generation it was taken in, when the replica says it", async () => {
    const lead = await rig.coordinator("c1", { engine: { ...FLEET_ENGINE, window: { digests: 1000 } } });
    const replica = await rig.replica("r1");
    const live = replica.generation;
    expect(replica.publish(1.0)).toBe(true); // the generation live at the call
    expect(replica.publish(1.1, { generation: live, timestamp: Date.now() })).toBe(true);
    // A generation that is not live (one the replica left, or not reached): the engine rejects
    // the digest, as it would its own.
    expect(replica.publish(1.2, { generation: live + 3 })).toBe(true);
    // Not a generation at all: refused at once, counted, never shipped.
    expect(replica.publish(1.3, { generation: -1 })).toBe(false);
    expect(replica.status().telemetry.refused).toBe(1);
    await until(() => lead.busStats().digestsProcessed === 3, 5_000, "three digests");
    expect(lead.snapshot().engine!.digests).toMatchObject({ accepted: 2, rejected: 1 });
  });
});

describe("coordinator fleet view", () => {
  it("leaves out replica reports that are not whole numbers, and does not act on them", async () => {
    const lead = await rig.coordinator("c1");
    const admin = rig.connect();
    await admin.hset(keys.acks, {
      good: JSON.stringify({ generation: 0, target: 0, epoch: 1, rejected: 0, at: Date.now() }),
      huge: JSON.stringify({ generation: 0, epoch: 1e21, rejected: 0, at: Date.now() }),
      half: JSON.stringify({ generation: 2.5, epoch: 1, rejected: 0, at: Date.now() }),
      short: JSON.stringify({ epoch: 1, rejected: 0, at: Date.now() }),
      text: "not json",
    });
    await until(() => lead.snapshot().fleet.good !== undefined, 5_000, "the good report in the view");
    expect(Object.keys(lead.snapshot().fleet)).toEqual(["good"]);
    expect(lead.leader).toBe(true);
    expect(await admin.get(keys.epoch)).toBe("1");
  });
});

describe("coordinator bus figures", () => {
  it("says they are stale while Redis is unreachable, and fresh again once it is back", async () => {
    const lead = await rig.coordinator("c1", { redis: rig.connect(rig.server, { quiet: true }) });
    expect(lead.busStats().stale).toBe(false);
    await rig.server.kill();
    await until(() => lead.busStats().stale === true, 10_000, "a failed read of the fleet view");
    rig.adopt(await rig.server.restart());
    await until(() => lead.busStats().stale === false, 10_000, "a fresh read after the restart");
  });
});
