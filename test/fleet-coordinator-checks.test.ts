import { connect, createServer, type Server, type Socket } from "node:net";
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../src/errors.js";
import { Coordinator, type CoordinatorOptions, createCoordinator } from "../src/fleet/coordinator.js";
import { encodeBatch } from "../src/fleet/digest-batch.js";
import { LeaderLease } from "../src/fleet/lease.js";
import { COORDINATOR_GROUP, fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { TelemetryConsumer, type TelemetryConsumerOptions } from "../src/fleet/telemetry-consumer.js";
import { FLEET_ENGINE, FLEET_RING, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// The coordinator side's own checks: a leader that cannot renew stops leading when its lease ends
// whatever Redis does, a command resent after a reconnect is written once, a new leader processes
// what the dead one left before anything newer, options are refused up front, and the publish
// history stays bounded.
const keys = fleetKeys(fleetPrefix("run"));
let rig: FleetRig;
/** Clients and proxies the rig does not make; closed after the rig. */
const own: { close(): void }[] = [];

beforeEach(async () => {
  rig = await FleetRig.start();
});

afterEach(async () => {
  await rig.close();
  for (const thing of own.splice(0)) thing.close();
}, 30_000);

/**
 * A TCP proxy to the rig's server. `freeze()` keeps every socket open and drops all bytes (a hung
 * connection); `dropReplyTo(text)` lets the next request containing `text` reach Redis, then
 * drops its reply and cuts the connection (the client reconnects and resends what is unanswered).
 */
interface Proxy {
  readonly url: string;
  freeze(): void;
  dropReplyTo(text: string): Promise<void>;
}

async function proxy(): Promise<Proxy> {
  let frozen = false;
  let armed: { text: string; done: () => void } | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((down) => {
    const up = connect(rig.server.port, "127.0.0.1");
    let dropping: (() => void) | undefined;
    for (const socket of [down, up]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => sockets.delete(socket));
    }
    down.on("data", (data: Buffer) => {
      if (frozen) return;
      if (armed !== undefined && data.includes(armed.text)) {
        dropping = armed.done;
        armed = undefined;
      }
      up.write(data);
    });
    up.on("data", (data: Buffer) => {
      if (frozen) return;
      if (dropping !== undefined) {
        // Redis ran the request: its reply never reaches the client.
        dropping();
        down.destroy();
        up.destroy();
        return;
      }
      down.write(data);
    });
    down.on("close", () => up.destroy());
    up.on("close", () => down.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  own.push({
    close: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    freeze: () => {
      frozen = true;
    },
    dropReplyTo: (text) => new Promise((resolve) => (armed = { text, done: resolve })),
  };
}

function client(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on("error", () => undefined);
  own.push({ close: () => redis.disconnect() });
  return redis;
}

describe("leader lease upkeep", () => {
  it("a leader whose connection hangs stops leading when its lease ends, before a standby leads", async () => {
    const link = await proxy();
    const a = await rig.coordinator("a", { redis: client(link.url) });
    await until(() => a.leader, 5_000, "a leads");
    const b = await rig.coordinator("b");
    link.freeze();
    const frozenAt = Date.now();
    let both = false;
    await until(
      () => {
        if (a.leader && b.leader) both = true;
        return !a.leader && b.leader;
      },
      10_000,
      "b leads and a does not",
    );
    expect(both).toBe(false);
    // Before, a went on leading as long as the connection hung: its renewal was never answered.
    // It stops once its last renewal is a lease (600 ms) old; a tick is a third of that.
    expect(Date.now() - frozenAt).toBeLessThan(5_000);
    expect(a.tuningEngine).toBeUndefined();
    expect(a.snapshot().epoch).toBe(0);
  });
});

describe("command publishing", () => {
  it("a command resent after a reconnect is written once", async () => {
    const link = await proxy();
    const a = await rig.coordinator("a", { redis: client(link.url), refreshMs: 1 });
    await until(() => a.leader, 5_000, "a leads");
    // The next command reaches Redis, its reply is lost, and the client resends it on reconnect.
    await link.dropReplyTo("XADD");
    const admin = rig.connect();
    const written = async () => (await admin.xrange(keys.commands, "-", "+")).length;
    const after = await written();
    await until(async () => (await written()) >= after + 2, 10_000, "two more commands");
    const ids = (await admin.xrange(keys.commands, "-", "+")).map(
      ([, fields]) => (JSON.parse(fields[1]!) as { command: { commandId: string } }).command.commandId,
    );
    // Before, the resent copy was appended too, and every replica refused it as a replay.
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });
});

describe("takeover of a dead leader's digests", () => {
  it("a new leader processes what the dead one read and never acknowledged, not as duplicates", async () => {
    const admin = rig.connect();
    await admin.xgroup("CREATE", keys.digests, COORDINATOR_GROUP, "0", "MKSTREAM");
    const batch = (first: number) =>
      encodeBatch(
        FLEET_RING,
        "r1",
        Array.from({ length: 10 }, (_, i) => ({ seq: first + i, generation: 0, objective: 1, timestamp: 1 })),
      );
    await admin.xadd(keys.digests, "*", ...batch(1));
    // "dead" led, read the batch and died before acknowledging it; newer digests came meanwhile.
    await admin.xreadgroup("GROUP", COORDINATOR_GROUP, "dead", "COUNT", 10, "STREAMS", keys.digests, ">");
    await admin.xadd(keys.digests, "*", ...batch(11));
    // A claim idle time far longer than the test: only the takeover itself can claim the entry.
    const b = await rig.coordinator("b", { telemetry: { blockMs: 50, claimIdleMs: 600_000 } });
    await until(() => b.busStats().digestsProcessed + (b.snapshot().consumer?.duplicates ?? 0) === 20);
    expect(b.snapshot().consumer).toMatchObject({ processed: 20, duplicates: 0, claimed: 1 });
    await until(async () => Number((await admin.xpending(keys.digests, COORDINATOR_GROUP))[0]) === 0);
  });

  it("trims the dead-letter stream to about telemetry.deadLetterMaxLen entries", async () => {
    const admin = client(rig.server.url);
    // Redis trims a stream by whole nodes: small nodes make "about" close to the cap.
    await admin.config("SET", "stream-node-max-entries", "4");
    const foreign = { active: "k1", keys: [{ id: "k1", secret: new Uint8Array(32).fill(9) }] };
    for (let seq = 1; seq <= 40; seq++) {
      await admin.xadd(
        keys.digests,
        "*",
        ...encodeBatch(foreign, "r1", [{ seq, generation: 0, objective: 1, timestamp: 1 }]),
      );
    }
    const c = await rig.coordinator("c", { telemetry: { blockMs: 50, deadLetterMaxLen: 10 } });
    await until(() => c.busStats().deadLetters === 40);
    const kept = await admin.xlen(keys.deadLetters);
    expect(kept).toBeGreaterThanOrEqual(10);
    expect(kept).toBeLessThan(10 + 4);
  });
});

describe("coordinator options", () => {
  const base = (): CoordinatorOptions => ({
    redis: client(rig.server.url),
    id: "c1",
    runId: "run",
    keyring: FLEET_RING,
    engine: FLEET_ENGINE,
  });

  it.each<[string, Partial<CoordinatorOptions>, RegExp]>([
    ["leaseMs 0", { leaseMs: 0 }, /leaseMs: must be a whole number from 50 to 2147483647 \(got 0\)/],
    ["leaseMs 1", { leaseMs: 1 }, /leaseMs: must be a whole number from 50 to 2147483647 \(got 1\)/],
    ["leaseMs 1000.5", { leaseMs: 1000.5 }, /leaseMs: must be a whole number from 50 to 2147483647/],
    ["leaseMs -5", { leaseMs: -5 }, /leaseMs: must be a whole number from 50 to 2147483647/],
    ["leaseMs NaN", { leaseMs: Number.NaN }, /leaseMs: must be a whole number from 50 to 2147483647/],
    ["refreshMs 0", { refreshMs: 0 }, /refreshMs: must be a whole number ≥ 1/],
    ["lagAfterMs -1", { lagAfterMs: -1 }, /lagAfterMs: must be a whole number ≥ 0/],
    ["commandMaxLen 1.5", { commandMaxLen: 1.5 }, /commandMaxLen: must be a whole number ≥ 1/],
    ["commandMaxLen -1", { commandMaxLen: -1 }, /commandMaxLen: must be a whole number ≥ 1/],
    ["an empty run id", { runId: "" }, /runId: must be a non-empty string/],
    ["an empty id", { id: "" }, /id: must be a non-empty string/],
    ["an empty prefix", { prefix: "" }, /prefix: must be a non-empty string \(got ""\)/],
    [
      "a URL for redis",
      { redis: "redis://127.0.0.1:6379" as never },
      /redis: must be an ioredis client \(got "redis:\/\/127\.0\.0\.1:6379"\)/,
    ],
    ["an onError that is not a function", { onError: 1 as never }, /onError: must be a function \(got 1\)/],
    [
      "a misspelt option",
      { leaseMS: 1000 } as never,
      /leaseMS: unknown option \(did you mean leaseMs\? known: redis, id, runId, keyring, engine, prefix, leaseMs,/,
    ],
    [
      "a misspelt telemetry option",
      { telemetry: { blockMS: 50 } } as never,
      /telemetry\.blockMS: unknown option \(did you mean blockMs\? known: count, blockMs, claimIdleMs, maxDeliveries, deadLetterMaxLen\)/,
    ],
    ["blockMs 50.5", { telemetry: { blockMs: 50.5 } }, /telemetry\.blockMs: must be a whole number ≥ 1/],
    ["blockMs 0", { telemetry: { blockMs: 0 } }, /telemetry\.blockMs: must be a whole number ≥ 1/],
    ["count 0", { telemetry: { count: 0 } }, /telemetry\.count: must be a whole number ≥ 1/],
    [
      "claimIdleMs -1",
      { telemetry: { claimIdleMs: -1 } },
      /telemetry\.claimIdleMs: must be a whole number ≥ 1/,
    ],
    [
      "maxDeliveries 0",
      { telemetry: { maxDeliveries: 0 } },
      /telemetry\.maxDeliveries: must be a whole number ≥ 1/,
    ],
    [
      "deadLetterMaxLen 0.5",
      { telemetry: { deadLetterMaxLen: 0.5 } },
      /telemetry\.deadLetterMaxLen: must be a whole number ≥ 1/,
    ],
    [
      "no keyring",
      { keyring: undefined } as never,
      /keyring: must be a keyring \{ active, keys \} \(got undefined\)/,
    ],
    [
      "a null keyring",
      { keyring: null } as never,
      /keyring: must be a keyring \{ active, keys \} \(got null\)/,
    ],
    [
      "an empty keyring",
      { keyring: {} } as never,
      /keyring\.keys: must be an array of keys \{ id, secret \} \(got undefined\); keyring\.active: /,
    ],
    [
      "no engine",
      { engine: undefined } as never,
      /engine: must be an engine config \{ seed, params, … \} \(got undefined\)/,
    ],
    [
      "telemetry that is not an object",
      { telemetry: 5 } as never,
      /telemetry: must be an object of telemetry options \(got 5\)/,
    ],
  ])("createCoordinator refuses %s and takes no lease", async (_, extra, message) => {
    const options = { ...base(), ...extra };
    expect(() => new Coordinator(options)).toThrow(RangeError);
    await expect(createCoordinator(options)).rejects.toThrow(message);
    const admin = rig.connect();
    expect(await admin.get(keys.lease)).toBeNull();
  });

  it("names every bad field at once", () => {
    expect(() => new Coordinator({ ...base(), leaseMs: 0, runId: "", telemetry: { count: 0 } })).toThrow(
      /invalid coordinator options: runId: .*; leaseMs: .*; telemetry\.count: /,
    );
  });

  it("refuses options that are not an object, naming them", async () => {
    for (const options of [undefined, null, 5])
      await expect(createCoordinator(options as never)).rejects.toThrow(
        new RangeError(
          `invalid coordinator options: options: must be an object of coordinator options (got ${String(options)})`,
        ),
      );
  });

  it("names the engine config's problems under engine., in a ConfigError when they are all", async () => {
    const redis = new Redis(rig.server.url, { lazyConnect: true });
    own.push({ close: () => redis.disconnect() });
    const engine = { seed: "x", params: { batch: { min: 5, max: 1 } } } as never;
    const error = await createCoordinator({ ...base(), redis, engine }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((issue) => issue.path);
    expect(paths).toContain("engine.seed");
    expect(paths.some((path) => path.startsWith("engine.params.batch"))).toBe(true);
    expect(paths.every((path) => path.startsWith("engine."))).toBe(true);
    expect((error as Error).message).toMatch(/- engine\.seed: expected a number, got "x"/);
    // A lazy client connects on its first command: still waiting, it was sent none.
    expect(redis.status).toBe("wait");
  });

  it("lists the engine config's problems with the other options' in one RangeError, sending nothing", async () => {
    const redis = new Redis(rig.server.url, { lazyConnect: true });
    own.push({ close: () => redis.disconnect() });
    const options = {
      ...base(),
      redis,
      keyring: {},
      leaseMs: 0,
      engine: { seed: "x", params: FLEET_ENGINE.params },
    };
    await expect(createCoordinator(options as never)).rejects.toThrow(
      /^invalid coordinator options: keyring\.keys: .*; keyring\.active: .*; leaseMs: .*; engine\.seed: expected a number, got "x"$/,
    );
    expect(redis.status).toBe("wait");
    expect(await rig.connect().get(keys.lease)).toBeNull();
  });

  it("a lease refuses a bad ttl or owner", () => {
    const redis = client(rig.server.url);
    expect(() => new LeaderLease(redis, keys, "a", 0)).toThrow(
      /lease ttlMs: must be a whole number from 1 to 2147483647 \(got 0\)/,
    );
    expect(() => new LeaderLease(redis, keys, "a", 10.5)).toThrow(RangeError);
    expect(() => new LeaderLease(redis, keys, "", 1_000)).toThrow(/lease owner: must be a non-empty string/);
  });

  it("a telemetry consumer refuses bad options naming the field", () => {
    const redis = client(rig.server.url);
    const options: TelemetryConsumerOptions = {
      redis,
      blocking: redis,
      keys,
      keyring: FLEET_RING,
      consumer: "c1",
      onDigest: () => undefined,
    };
    expect(() => new TelemetryConsumer({ ...options, blockMs: 0 })).toThrow(
      /invalid telemetry consumer options: blockMs: must be a whole number ≥ 1 \(got 0\)/,
    );
    expect(() => new TelemetryConsumer({ ...options, deadLetterMaxLen: 2.5 })).toThrow(/deadLetterMaxLen: /);
    expect(() => new TelemetryConsumer({ ...options, consumer: "" })).toThrow(
      /consumer: must be a non-empty string/,
    );
  });
});

describe("publish history", () => {
  it("stays bounded while nobody reads the snapshot or the bus counters", async () => {
    const lead: Coordinator = await rig.coordinator("c1", { leaseMs: 150, refreshMs: 1, lagAfterMs: 1 });
    const admin = rig.connect();
    // A re-signing every tick (50 ms): 30 commands, and the history must not keep them all.
    await until(async () => (await admin.xlen(keys.commands)) >= 30, 10_000, "30 commands");
    const history = (lead as unknown as { published: unknown[] }).published;
    expect(history.length).toBeLessThan(10);
  });
});
