/**
 * The set-up every fleet test shares: a real redis-server, the clients connected to it, the
 * coordinators and replicas built on them with the tests' keyring and space, and a teardown that
 * closes all of it in reverse order.
 */
import { Redis } from "ioredis";
import { type Coordinator, type CoordinatorOptions, createCoordinator } from "../../src/fleet/coordinator.js";
import type { FleetDigest } from "../../src/fleet/digest-batch.js";
import { createReplica, type Replica, type ReplicaOptions } from "../../src/fleet/replica.js";
import type { FleetKeys } from "../../src/fleet/streams.js";
import { TelemetryConsumer } from "../../src/fleet/telemetry-consumer.js";
import { TelemetryPublisher, type TelemetryPublisherOptions } from "../../src/fleet/telemetry-publisher.js";
import { FLEET_ENGINE, FLEET_PARAMS, FLEET_RING } from "./fleet.js";
import { type RedisServer, type RedisServerOptions, startRedis } from "./redis-server.js";

export class FleetRig {
  private readonly servers: RedisServer[] = [];
  private readonly clients: Redis[] = [];
  private readonly closers: (() => Promise<void>)[] = [];

  private constructor(readonly server: RedisServer) {
    this.servers.push(server);
  }

  /** A rig on a fresh redis-server. */
  static async start(options: RedisServerOptions = {}): Promise<FleetRig> {
    return new FleetRig(await startRedis(options));
  }

  /** Another server the rig stops at teardown (a restarted server is a new one). */
  adopt(server: RedisServer): RedisServer {
    this.servers.push(server);
    return server;
  }

  /**
   * A client of `server` (the rig's own by default). With `quiet`, connection errors are
   * swallowed: drills that stop Redis expect them, and the components count them.
   */
  connect(server: RedisServer = this.server, { quiet = false } = {}): Redis {
    const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
    if (quiet) client.on("error", () => undefined);
    this.clients.push(client);
    return client;
  }

  /** Closes `closable` at teardown, before the clients disconnect; returns it. */
  track<T extends { close(): Promise<void> }>(closable: T): T {
    this.closers.push(() => closable.close());
    return closable;
  }

  /** A replica with the tests' keyring and space, balanced guardrails and a 10 ms telemetry flush. */
  async replica(name: string, options: Partial<ReplicaOptions> = {}): Promise<Replica> {
    return this.track(
      await createReplica({
        // Only when none is given: an unused client of a server a drill stops would log its errors.
        redis: options.redis ?? this.connect(),
        replica: name,
        runId: "run",
        keyring: FLEET_RING,
        params: FLEET_PARAMS,
        guardrails: "balanced",
        telemetry: { flushMs: 10 },
        ...options,
      }),
    );
  }

  /** A coordinator with the tests' keyring and engine, a 600 ms lease and 50 ms reads. */
  async coordinator(id: string, options: Partial<CoordinatorOptions> = {}): Promise<Coordinator> {
    return this.track(
      await createCoordinator({
        redis: options.redis ?? this.connect(),
        id,
        runId: "run",
        keyring: FLEET_RING,
        engine: FLEET_ENGINE,
        leaseMs: 600,
        telemetry: { blockMs: 50 },
        ...options,
      }),
    );
  }

  /** A publisher of replica "r1"'s telemetry on `keys`, with the tests' keyring, closed at teardown. */
  publisher(keys: FleetKeys, options: Partial<TelemetryPublisherOptions> = {}): TelemetryPublisher {
    return this.track(
      new TelemetryPublisher({
        redis: this.connect(),
        stream: keys.digests,
        replica: "r1",
        keyring: FLEET_RING,
        ...options,
      }),
    );
  }

  /**
   * The telemetry bus alone on `keys`: a publisher for replica "r1" that flushes only when asked
   * (60 s timer) and a started consumer "c1" that collects every digest it delivers, in order.
   */
  async bus(
    keys: FleetKeys,
  ): Promise<{ publisher: TelemetryPublisher; consumer: TelemetryConsumer; seen: FleetDigest[] }> {
    const publisher = this.track(
      new TelemetryPublisher({
        redis: this.connect(),
        stream: keys.digests,
        replica: "r1",
        keyring: FLEET_RING,
        flushMs: 60_000,
        firstSeq: 0,
      }),
    );
    const seen: FleetDigest[] = [];
    const consumer = new TelemetryConsumer({
      redis: this.connect(),
      blocking: this.connect(),
      keys,
      keyring: FLEET_RING,
      consumer: "c1",
      blockMs: 50,
      onDigest: (_, digest) => seen.push(digest),
    });
    this.track({ close: () => consumer.stop() });
    await consumer.start();
    return { publisher, consumer, seen };
  }

  /** Closes everything tracked (last first), disconnects every client, stops every server. */
  async close(): Promise<void> {
    for (const close of this.closers.reverse()) await close();
    for (const client of this.clients) client.disconnect();
    for (const server of this.servers.reverse()) await server.stop();
  }
}
