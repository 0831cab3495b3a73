import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeBatch, type FleetDigest } from "../src/fleet/digest-batch.js";
import type { Keyring } from "../src/fleet/signing.js";
import { COORDINATOR_GROUP, fleetKeys } from "../src/fleet/streams.js";
import { TelemetryConsumer } from "../src/fleet/telemetry-consumer.js";
import { TelemetryPublisher } from "../src/fleet/telemetry-publisher.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";

// The telemetry bus against a real redis-server: batching, consumer group, claims, dead letters.
const RING: Keyring = { active: "k1", keys: [{ id: "k1", secret: new Uint8Array(32).fill(7) }] };
const keys = fleetKeys("t");
let server: RedisServer;
let clients: Redis[] = [];
let stoppers: (() => Promise<void>)[] = [];

function connect(): Redis {
  const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  clients.push(client);
  return client;
}

function consumer(
  name: string,
  seen: [string, FleetDigest][],
  extra: Partial<ConstructorParameters<typeof TelemetryConsumer>[0]> = {},
) {
  const c = new TelemetryConsumer({
    redis: connect(),
    blocking: connect(),
    keys,
    keyring: RING,
    consumer: name,
    blockMs: 50,
    onDigest: (replica, digest) => seen.push([replica, digest]),
    ...extra,
  });
  stoppers.push(() => c.stop());
  return c;
}

/** Resolves when `condition` holds, polling on real I/O (never a fixed sleep for time to pass). */
async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((resolve) => setImmediate(resolve));
    await clients[0]!.ping();
  }
}

beforeEach(async () => {
  server = await startRedis();
});

afterEach(async () => {
  for (const stop of stoppers) await stop();
  for (const client of clients) client.disconnect();
  await server.stop();
  clients = [];
  stoppers = [];
});

describe("telemetry bus", () => {
  it("ships buffered digests in batches and processes each (replica, seq) once", async () => {
    const publisher = new TelemetryPublisher({
      redis: connect(),
      stream: keys.digests,
      replica: "r1",
      keyring: RING,
      batchSize: 4,
      flushMs: 10_000,
      firstSeq: 0,
    });
    stoppers.push(() => publisher.close());
    for (let i = 0; i < 10; i++) expect(publisher.publish(i, 0, 1000 + i)).toBe(true);
    await publisher.flush();
    expect(publisher.stats()).toMatchObject({ published: 10, shipped: 10, buffered: 0 });
    expect(await clients[0]!.xlen(keys.digests)).toBe(3);
    // A duplicate publish of an already shipped batch (e.g. a retried XADD).
    const duplicate = encodeBatch(RING, "r1", [{ seq: 3, generation: 0, objective: 2, timestamp: 1002 }]);
    await clients[0]!.xadd(keys.digests, "*", ...duplicate);
    const seen: [string, FleetDigest][] = [];
    const c = consumer("c1", seen);
    await c.start();
    await until(() => c.stats().processed + c.stats().duplicates === 11);
    expect(seen.map(([, d]) => d.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(c.stats().duplicates).toBe(1);
    expect(await clients[0]!.hget(keys.seqs, "r1")).toBe("10");
  });

  it("keeps processing a replica that restarted (its seqs continue above the earlier run's)", async () => {
    const seen: [string, FleetDigest][] = [];
    const c = consumer("c1", seen);
    await c.start();
    const first = new TelemetryPublisher({
      redis: connect(),
      stream: keys.digests,
      replica: "r1",
      keyring: RING,
      flushMs: 10_000,
    });
    first.publish(1, 0);
    first.publish(2, 0);
    await first.close();
    await until(() => seen.length === 2);
    const startedBefore = Date.now();
    await until(() => Date.now() > startedBefore); // the restart happens at a later millisecond
    const restarted = new TelemetryPublisher({
      redis: connect(),
      stream: keys.digests,
      replica: "r1",
      keyring: RING,
      flushMs: 10_000,
    });
    stoppers.push(() => restarted.close());
    restarted.publish(3, 0);
    await restarted.flush();
    await until(() => seen.length === 3);
    expect(seen.map(([, d]) => d.objective)).toEqual([1, 2, 3]);
    expect(c.stats().duplicates).toBe(0);
  });

  it("drops and counts digests when the local buffer is full, never blocking the caller", () => {
    const publisher = new TelemetryPublisher({
      redis: connect(),
      stream: keys.digests,
      replica: "r1",
      keyring: RING,
      bufferSize: 3,
      flushMs: 10_000,
    });
    stoppers.push(() => publisher.close());
    const accepted = [1, 2, 3, 4, 5].map((v) => publisher.publish(v, 0));
    expect(accepted).toEqual([true, true, true, false, false]);
    expect(publisher.stats()).toMatchObject({ published: 5, droppedFull: 2, buffered: 3 });
  });

  it("dead-letters a batch with a bad MAC or a malformed payload, with its reason", async () => {
    const fields = encodeBatch(RING, "r1", [{ seq: 1, generation: 0, objective: 1, timestamp: 1 }]);
    const forged = [...fields];
    forged[3] = forged[3]!.replace('"objective":1', '"objective":0');
    const admin = connect();
    await admin.xadd(keys.digests, "*", ...forged);
    const otherKey: Keyring = { active: "k1", keys: [{ id: "k1", secret: new Uint8Array(32).fill(8) }] };
    const malformed = encodeBatch(otherKey, "r2", []);
    await admin.xadd(keys.digests, "*", ...malformed);
    await admin.xadd(keys.digests, "*", ...encodeBatch(RING, "r3", [{ seq: 0 } as unknown as FleetDigest]));
    const seen: [string, FleetDigest][] = [];
    const c = consumer("c1", seen);
    await c.start();
    await until(() => c.stats().deadLetters === 3);
    expect(seen).toEqual([]);
    const dead = await admin.xrange(keys.deadLetters, "-", "+");
    const reasons = dead.map(([, flat]) => flat[1]);
    expect(reasons).toEqual([
      "bad-mac: m: MAC does not match the batch",
      "bad-mac: m: MAC does not match the batch",
      "malformed: d[0].seq: must be a whole number ≥ 1",
    ]);
    // Dead-lettered entries are acknowledged: nothing stays pending.
    await until(async () => Number((await admin.xpending(keys.digests, COORDINATOR_GROUP))[0]) === 0);
  });

  it("redelivers an entry read but never acknowledged by a dead consumer to another one", async () => {
    const admin = connect();
    await admin.xgroup("CREATE", keys.digests, COORDINATOR_GROUP, "0", "MKSTREAM");
    await admin.xadd(
      keys.digests,
      "*",
      ...encodeBatch(RING, "r1", [{ seq: 1, generation: 0, objective: 5, timestamp: 1 }]),
    );
    // "dead" reads the entry and dies before acknowledging it.
    await admin.xreadgroup("GROUP", COORDINATOR_GROUP, "dead", "COUNT", 10, "STREAMS", keys.digests, ">");
    const seen: [string, FleetDigest][] = [];
    const c = consumer("alive", seen, { claimIdleMs: 100 });
    await c.start();
    await until(() => seen.length === 1);
    expect(seen[0]).toEqual(["r1", { seq: 1, generation: 0, objective: 5, timestamp: 1 }]);
    expect(c.stats().claimed).toBe(1);
  });

  it("dead-letters an entry after too many deliveries instead of processing it", async () => {
    const admin = connect();
    await admin.xgroup("CREATE", keys.digests, COORDINATOR_GROUP, "0", "MKSTREAM");
    const [id] = [
      await admin.xadd(
        keys.digests,
        "*",
        ...encodeBatch(RING, "r1", [{ seq: 1, generation: 0, objective: 5, timestamp: 1 }]),
      ),
    ];
    await admin.xreadgroup("GROUP", COORDINATOR_GROUP, "crashy", "COUNT", 10, "STREAMS", keys.digests, ">");
    // Two more crashed deliveries (claimed and never acknowledged).
    for (let i = 0; i < 2; i++) await admin.xclaim(keys.digests, COORDINATOR_GROUP, "crashy", 0, id!);
    const seen: [string, FleetDigest][] = [];
    const c = consumer("alive", seen, { claimIdleMs: 100, maxDeliveries: 3 });
    await c.start();
    await until(() => c.stats().deadLetters === 1);
    expect(seen).toEqual([]);
    const dead = await admin.xrange(keys.deadLetters, "-", "+");
    expect(dead[0]![1].slice(0, 6)).toEqual([
      "reason",
      "too-many-deliveries",
      "source",
      keys.digests,
      "id",
      id,
    ]);
  });

  it("opens its breaker when Redis is gone, losing at most the batches in flight, and counts them", async () => {
    const redis = new Redis(server.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    clients.push(redis);
    await redis.connect();
    const publisher = new TelemetryPublisher({
      redis,
      stream: keys.digests,
      replica: "r1",
      keyring: RING,
      flushMs: 10_000,
      breaker: { failureThreshold: 2, baseBackoffMs: 60_000 },
    });
    stoppers.push(() => publisher.close());
    const ended = new Promise((resolve) => redis.once("end", resolve));
    await server.kill();
    await ended;
    for (let round = 0; round < 3; round++) {
      publisher.publish(round, 0);
      await publisher.flush();
    }
    const stats = publisher.stats();
    expect(stats.breaker).toBe("open");
    // Two failed flushes lost one digest each; the third waits in the buffer while the breaker is open.
    expect(stats).toMatchObject({ lostInFlight: 2, buffered: 1, shipped: 0 });
    await server.stop(); // removes the killed server's data directory
    server = await startRedis(); // afterEach stops a live server
  });
});
