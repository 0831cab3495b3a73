import { Redis, type RedisOptions } from "ioredis";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../src/errors.js";
import type { Coordinator } from "../src/fleet/coordinator.js";
import { createReplica } from "../src/fleet/replica.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { registerBusMetrics } from "../src/metrics/index.js";
import { scrape } from "./support/exposition.js";
import { FLEET_ENGINE, FLEET_PARAMS, FLEET_RING, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";
import { watchRedisCommands } from "./support/redis-monitor.js";
import { freePort } from "./support/redis-server.js";

// How coordinators and replicas start, fail and stop, against a real redis-server: a failure
// half-way leaves nothing running and nothing held, and close() returns while Redis is gone.
const keys = fleetKeys(fleetPrefix("run"));
let rig: FleetRig;
/** Clients the rig does not make (other options, other users); disconnected after the rig closed. */
let own: Redis[] = [];

beforeEach(async () => {
  rig = await FleetRig.start();
});

// Stopping the rig stops its redis-server, which takes longer on a loaded machine.
afterEach(async () => {
  await rig.close();
  for (const client of own) client.disconnect();
  own = [];
}, 30_000);

/** A client of `url` that expects connection errors, disconnected at teardown. */
function client(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, ...options });
  redis.on("error", () => undefined);
  own.push(redis);
  return redis;
}

/** Records the connections `redis.duplicate()` makes (the components' blocking connections). */
function recordDuplicates(redis: Redis): Redis[] {
  const made: Redis[] = [];
  const duplicate = redis.duplicate.bind(redis);
  redis.duplicate = (...args: Parameters<Redis["duplicate"]>) => {
    const copy = duplicate(...args);
    made.push(copy);
    own.push(copy);
    return copy;
  };
  return made;
}

/** Whether `closable.close()` resolved within `ms` (a bounded wait: it is not left to hang the test). */
async function closesWithin(closable: { close(): Promise<void> }, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([closable.close().then(() => true), bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** The tests' coordinator options on `redis`, with its failed promotions collected in `errors`. */
function coordinatorOn(redis: Redis, errors: unknown[]) {
  return { redis, onError: (error: unknown) => errors.push(error) };
}

describe("replica start", () => {
  it("leaves no connection open when it cannot start (Redis unreachable), and says where", async () => {
    const port = await freePort();
    const redis = client(`redis://127.0.0.1:${port}`);
    const duplicates = recordDuplicates(redis);
    await expect(
      createReplica({ redis, replica: "r1", runId: "run", keyring: FLEET_RING, params: FLEET_PARAMS }),
    ).rejects.toThrow(
      // ioredis's give-up names no cause; the last connection error it emitted does.
      new RegExp(
        `^replica "r1" could not start on Redis at 127\\.0\\.0\\.1:${port}: .*\\(last connection error: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)$`,
      ),
    );
    // Left open, a connection would reconnect forever (and keep the process alive): the caller
    // has no handle to close it with.
    await until(() => duplicates.every((d) => d.status === "end"), 5_000, "no connection left open");
  });

  it("rejects after startTimeoutMs when the client retries without end, and says why", async () => {
    const port = await freePort();
    // As queue libraries set it: ioredis then never gives up on a command.
    const redis = client(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: null });
    const duplicates = recordDuplicates(redis);
    const options = { redis, replica: "r1", runId: "run", keyring: FLEET_RING, params: FLEET_PARAMS };
    await expect(createReplica({ ...options, startTimeoutMs: 300 })).rejects.toThrow(
      new RegExp(
        `^replica "r1" could not start on Redis at 127\\.0\\.0\\.1:${port}: the first reads unanswered after 300 ms \\(last connection error: connect ECONNREFUSED`,
      ),
    );
    await until(() => duplicates.every((d) => d.status === "end"), 5_000, "no connection left open");
    for (const bad of [0, 1.5, Number.NaN])
      await expect(createReplica({ ...options, startTimeoutMs: bad })).rejects.toThrow(
        "startTimeoutMs: must be a whole number from 1 to 2147483647",
      );
  });

  it("leaves no connection open when Redis refuses its first command (NOPERM)", async () => {
    const admin = rig.connect();
    await admin.call("ACL", "SETUSER", "replica", "on", ">pw", "~*", "&*", "+@all", "-xrevrange");
    const redis = client(rig.server.url.replace("redis://", "redis://replica:pw@"));
    const duplicates = recordDuplicates(redis);
    await expect(
      createReplica({ redis, replica: "r1", runId: "run", keyring: FLEET_RING, params: FLEET_PARAMS }),
    ).rejects.toThrow(/NOPERM/);
    await until(() => duplicates.every((d) => d.status === "end"), 5_000, "no connection left open");
  });
});

describe("a replica that may not read the fleet's state", () => {
  it("starts and follows the fleet, and says once that it cannot check its params", async () => {
    const lead = await rig.coordinator("c1");
    const admin = rig.connect();
    await admin.call("ACL", "SETUSER", "replica", "on", ">pw", "~*", "&*", "+@all", "-hmget");
    const errors: unknown[] = [];
    const replica = await rig.replica("r1", {
      redis: client(rig.server.url.replace("redis://", "redis://replica:pw@")),
      onError: (error) => errors.push(error),
    });
    await until(
      () => {
        replica.publish((replica.values[0]! - 200) ** 2);
        return lead.snapshot().generation >= 2 && replica.generation === lead.snapshot().generation;
      },
      20_000,
      "the replica follows generation 2",
    );
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as Error).message)).toMatch(
      new RegExp(`^replica "r1" could not read the fleet's params \\(HMGET ${keys.state}: NOPERM`),
    );
    expect(replica.status().paramsMismatch).toBeUndefined();
  });
});

describe("a coordinator whose first reads Redis refuses", () => {
  it("marks its view stale (arqon_bus_up 0): nothing of it was read", async () => {
    const admin = rig.connect();
    await admin.call("ACL", "SETUSER", "coord", "on", ">pw", "~*", "&*", "+@all", "-hgetall");
    const errors: unknown[] = [];
    const refused = await rig.coordinator(
      "c1",
      coordinatorOn(client(rig.server.url.replace("redis://", "redis://coord:pw@")), errors),
    );
    await until(() => refused.busStats().stale === true, 5_000, "a stale view");
    expect(refused.leader).toBe(false);
    // The host hears why, once however many reads Redis refuses so, naming the command and key:
    // three more reads of the view (their GET of the lease goes through) add no report.
    await until(() => errors.length > 0, 5_000, "the refusal reported");
    const watch = await watchRedisCommands(rig.server.url);
    await watch.seen(3, (args) => args[0]?.toLowerCase() === "get" && args[1] === keys.lease);
    watch.close();
    const views = errors.filter((e) => String(e).includes("could not read the fleet's view"));
    expect(views.map(String)).toEqual([
      expect.stringMatching(
        new RegExp(`^Error: coordinator "c1" could not read the fleet's view: HGETALL ${keys.acks}: NOPERM`),
      ),
    ]);
  });

  // SET refused: it never takes the lease. EVAL refused: it takes the lease (SET) and is refused
  // the epoch; its release, an EVAL too, is refused, so the lease lapses and it takes it again.
  it.each([
    { denied: "set", refused: () => `SET ${keys.lease}` },
    { denied: "eval", refused: () => `EVAL ${keys.epoch}` },
  ])(
    "says once that Redis refuses it the lease ($denied), and leaves the lease to one it allows",
    async ({ denied, refused }) => {
      const admin = rig.connect();
      await admin.call("ACL", "SETUSER", "coord", "on", ">pw", "~*", "&*", "+@all", `-${denied}`);
      const errors: unknown[] = [];
      const coordinator = await rig.coordinator(
        "c1",
        coordinatorOn(client(rig.server.url.replace("redis://", "redis://coord:pw@")), errors),
      );
      await until(() => errors.length > 0, 5_000, "the refusal reported");
      // Five more reads of the view (every 500 ms; upkeep steps try the lease more often) add no report.
      const watch = await watchRedisCommands(rig.server.url);
      await watch.seen(5, (args) => args[0]?.toLowerCase() === "hgetall" && args[1] === keys.acks);
      watch.close();
      expect(errors.map(String)).toEqual([
        expect.stringMatching(
          new RegExp(`^Error: coordinator "c1" could not take the fleet's lease: ${refused()}: NOPERM`),
        ),
      ]);
      expect(coordinator.leader).toBe(false);
      expect(coordinator.busStats().stale).toBe(false);
      const standby = await rig.coordinator("c2");
      await until(() => standby.leader, 10_000, "the standby leads");
    },
  );
});

describe("replica close", () => {
  it("returns within its grace period while Redis is unreachable, telemetry queued", async () => {
    const redis = client(rig.server.url, { maxRetriesPerRequest: null });
    // A write timeout past the close's grace: the write stays in flight (the timeout has its own test).
    const replica = await rig.replica("r1", { redis, telemetry: { writeTimeoutMs: 60_000 } });
    await rig.server.kill();
    await until(() => redis.status !== "ready", 5_000, "the client noticed");
    for (let i = 0; i < 10; i++) replica.publish(1);
    // The flush timer hands them to a write that nothing will answer.
    await until(() => replica.status().telemetry.inFlight === 10, 5_000, "a write in flight");
    for (let i = 0; i < 5; i++) replica.publish(2);
    expect(replica.status().telemetry).toMatchObject({ buffered: 5, unshipped: 0 });
    expect(await closesWithin(replica, 5_000)).toBe(true);
    // Nothing will ship the five left in the buffer: they are counted as such, not as waiting.
    const t = replica.status().telemetry;
    expect(t).toMatchObject({ published: 15, buffered: 0, unshipped: 5, inFlight: 10 });
    expect(
      t.shipped + t.lostInFlight + t.droppedFull + t.refused + t.buffered + t.unshipped + t.inFlight,
    ).toBe(t.published);
  });

  it("refuses and counts a digest published after close, which nothing would ship", async () => {
    const replica = await rig.replica("r1");
    expect(replica.publish(1)).toBe(true);
    await replica.close();
    expect(replica.publish(2)).toBe(false);
    const { telemetry } = replica.status();
    expect(telemetry).toMatchObject({ published: 2, shipped: 1, refused: 1, buffered: 0, inFlight: 0 });
  });
});

describe("coordinator promotion", () => {
  it("a promotion that cannot create the consumer group lets the lease go, reports it, and leads once it can", async () => {
    const admin = rig.connect();
    // The digest stream's key holds another type: XGROUP CREATE … MKSTREAM fails with WRONGTYPE.
    await admin.set(keys.digests, "not a stream");
    const errors: unknown[] = [];
    const redis = rig.connect();
    const duplicates = recordDuplicates(redis);
    const lead = await rig.coordinator("c1", coordinatorOn(redis, errors));
    // Named by command and key: ioredis's own message names neither.
    expect(String(errors[0])).toContain(`XGROUP CREATE ${keys.digests}: WRONGTYPE`);
    expect(lead.leader).toBe(false);
    // Redis answers, with an error: no outage (arqon_bus_up stays 1), and the view's failed read
    // is reported, naming its key, once.
    await until(
      () =>
        errors.some((e) =>
          String(e).includes(`could not read the fleet's view: XLEN ${keys.digests}: WRONGTYPE`),
        ),
      5_000,
      "the view's error",
    );
    expect(lead.busStats().stale).toBe(false);
    expect(lead.snapshot()).toMatchObject({ promotionFailures: 1, epoch: 0 });
    expect(lead.snapshot().lastPromotionError).toMatch(/WRONGTYPE/);
    expect(await admin.get(keys.lease)).toBeNull();
    await until(() => duplicates[0]?.status === "end", 5_000, "the tenure's blocking connection closed");

    // The fault goes away: the next promotion (after the back-off) reads telemetry.
    await admin.del(keys.digests);
    await until(
      () => lead.leader && lead.snapshot().consumer !== undefined,
      10_000,
      "a promotion that holds",
    );
    const publisher = rig.publisher(keys);
    publisher.publish(1, lead.snapshot().generation);
    await until(() => lead.busStats().digestsProcessed === 1, 10_000, "a digest processed");
    expect(await admin.get(keys.lease)).toBe("c1");
  });

  it("a coordinator that cannot read telemetry (NOPERM on XGROUP) leaves the lease to a standby that can", async () => {
    const admin = rig.connect();
    await admin.call("ACL", "SETUSER", "coord", "on", ">pw", "~*", "&*", "+@all", "-xgroup");
    const errors: unknown[] = [];
    const crippled = await rig.coordinator(
      "c1",
      coordinatorOn(client(rig.server.url.replace("redis://", "redis://coord:pw@")), errors),
    );
    expect(crippled.leader).toBe(false);
    expect(String(errors[0])).toMatch(/NOPERM/);
    const standby = await rig.coordinator("c2");
    await until(() => standby.leader, 10_000, "the standby leads");
    expect(await admin.get(keys.lease)).toBe("c2");
    const publisher = rig.publisher(keys);
    publisher.publish(1, standby.snapshot().generation);
    await until(() => standby.busStats().digestsProcessed === 1, 10_000, "a digest processed");
    expect(crippled.leader).toBe(false);
  });
});

describe("coordinator engine config", () => {
  it("createCoordinator rejects an invalid engine config with a ConfigError and takes no lease", async () => {
    const admin = rig.connect();
    const engine = { seed: 1, params: { x: { min: 5, max: 1 } } };
    await expect(rig.coordinator("c1", { engine })).rejects.toBeInstanceOf(ConfigError);
    expect(await admin.get(keys.lease)).toBeNull();
    expect(await admin.get(keys.epoch)).toBeNull();
  });

  it("resumes stored values outside newly narrowed bounds at the nearest bound, as a new generation", async () => {
    const admin = rig.connect();
    // The previous tenure left batch = 300 at generation 7; the operator narrowed the bound to 256.
    await admin.hset(keys.state, { generation: "7", values: JSON.stringify({ batch: 300 }), epoch: "1" });
    await admin.set(keys.epoch, "1");
    const errors: unknown[] = [];
    const narrowed = { batch: { min: 1, max: 256, init: 64, maxDelta: 16 } };
    const lead = await rig.coordinator("c1", {
      ...coordinatorOn(rig.connect(), errors),
      engine: { ...FLEET_ENGINE, params: narrowed },
    });
    expect(errors).toEqual([]);
    expect(lead.leader).toBe(true);
    expect(lead.tuningEngine!.values[0]).toBe(256);
    expect(lead.snapshot().generation).toBe(8);
    await until(
      async () => (await admin.hget(keys.state, "generation")) === "8",
      5_000,
      "the re-signed state",
    );
    expect(JSON.parse((await admin.hget(keys.state, "values"))!)).toEqual({ batch: 256 });
    // One tenure, one epoch: no lease grabbed over and over.
    expect(await admin.get(keys.epoch)).toBe("2");
    // A replica with the narrowed bounds walks there and acknowledges it.
    const replica = await rig.replica("r1", { params: narrowed });
    await until(() => replica.generation === 8, 10_000, "the replica at generation 8");
    expect(replica.values[0]).toBe(256);
  });
});

describe("coordinator close", () => {
  it("returns within about a lease while Redis is unreachable, even with requests queued forever", async () => {
    const redis = client(rig.server.url, { maxRetriesPerRequest: null });
    const lead: Coordinator = await rig.coordinator("c1", { redis });
    expect(lead.leader).toBe(true);
    await rig.server.kill();
    // Let a lease renewal get stuck in the client's offline queue.
    await until(() => redis.status !== "ready", 5_000, "the client noticed");
    // The queued commands and the lease release get one lease (600 ms); the lease expires by itself.
    // Before, close() never returned: the 5 s guard only tells the two apart.
    expect(await closesWithin(lead, 5_000)).toBe(true);
    expect(lead.leader).toBe(false);
    expect(lead.tuningEngine).toBeUndefined();
  });
});

describe("replica names", () => {
  it("are any string: __proto__ and Object.prototype's names are replicas like any other", async () => {
    const lead = await rig.coordinator("c1", { refreshMs: 200 });
    const admin = rig.connect();
    const report = JSON.stringify({ generation: 0, target: 0, epoch: 1, rejected: 0, at: Date.now() });
    for (const name of ["__proto__", "constructor", "toString"]) await admin.hset(keys.acks, name, report);
    await until(() => lead.busStats().replicas === 3, 5_000, "three reports read");
    expect(Object.keys(lead.snapshot().fleet).sort()).toEqual(["__proto__", "constructor", "toString"]);
  });
});

describe("a replica gone without closing", () => {
  it("has its report removed by the leader once unchanged for replicaExpiryMs, counted, and not lagging", async () => {
    // Re-signs every 200 ms: a live replica's report changes at least that often.
    const lead = await rig.coordinator("c1", { refreshMs: 200, replicaExpiryMs: 1_500 });
    const registry = new Registry();
    registerBusMetrics(lead, { registry });
    const live = await rig.replica("live");
    const admin = rig.connect();
    // A replica killed at generation 0: its last report stays as it wrote it.
    const dead = JSON.stringify({ generation: 0, target: 0, epoch: 1, rejected: 0, at: Date.now() });
    await admin.hset(keys.acks, "dead", dead);
    await admin.hset(keys.seqs, "dead", "1764441650123000");
    await until(() => lead.busStats().replicas === 2, 5_000, "both reports read");
    await until(
      async () => (await admin.hexists(keys.acks, "dead")) === 0,
      10_000,
      "the dead replica's report removed",
    );
    // Its seq watermark goes with it: kept, one field per replica id ever seen would pile up.
    expect(await admin.hexists(keys.seqs, "dead")).toBe(0);
    // The live one, whose report the re-signed commands keep rewriting, stays.
    expect(await admin.hexists(keys.acks, "live")).toBe(1);
    await until(() => lead.busStats().replicas === 1, 5_000, "one replica counted");
    expect(lead.busStats()).toMatchObject({ expiredReplicas: 1, laggingReplicas: 0 });
    expect((await scrape(registry)).get("arqon_bus_expired_replicas_total")).toBe(1);
    expect(live.status().paramsMismatch).toBeUndefined();
    await expect(rig.coordinator("c2", { replicaExpiryMs: 0 })).rejects.toThrow(
      "replicaExpiryMs: must be a whole number ≥ 1 (got 0)",
    );
    await expect(rig.coordinator("c3", { refreshMs: 1_000, replicaExpiryMs: 1_500 })).rejects.toThrow(
      "replicaExpiryMs: must be at least twice refreshMs (1000 ms)",
    );
    await expect(rig.coordinator("c4", { refreshMs: 600_000 })).rejects.toThrow(
      "refreshMs: at most half the default replicaExpiryMs (300000 ms)",
    );
  });
});
