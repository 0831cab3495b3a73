import { createHmac } from "node:crypto";
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeBatch, encodeBatch, type FleetDigest } from "../src/fleet/digest-batch.js";
import { NonceLedger } from "../src/fleet/nonce-ledger.js";
import { createReplica, Replica, type ReplicaOptions } from "../src/fleet/replica.js";
import { CommandSigner, CommandVerifier, type VerifierOptions } from "../src/fleet/signing.js";
import { fieldsOf, fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { TelemetryPublisher, type TelemetryPublisherOptions } from "../src/fleet/telemetry-publisher.js";
import { FLEET_PARAMS, FLEET_RING, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";
import { thrown } from "./support/thrown.js";

// The replica side's own checks: replay protection up to the last fresh instant, options refused
// up front instead of a fleet that fails silently, non-finite measurements carried to the engine
// instead of poisoning their batch, and a close that ships everything buffered.

/** A client that never connects (lazyConnect): for constructors that must refuse before any I/O. */
function idle(): Redis {
  return new Redis({ lazyConnect: true });
}

describe("nonce ledger boundary", () => {
  it("holds an id through its expiry instant and frees it just after", () => {
    const ledger = new NonceLedger(2);
    expect(ledger.register("x", 100, 0)).toBe("registered");
    expect(ledger.register("x", 100, 100)).toBe("replay");
    expect(ledger.register("x", 200, 101)).toBe("registered");
  });

  it("a full ledger keeps an entry whose expiry instant is now", () => {
    const ledger = new NonceLedger(1);
    expect(ledger.register("x", 100, 0)).toBe("registered");
    expect(ledger.register("y", 200, 100)).toBe("full");
    expect(ledger.register("y", 200, 101)).toBe("registered");
  });

  it("the verifier refuses a replay arriving exactly maxAgeMs after issuedAt", () => {
    let now = 1_000_000;
    const v = new CommandVerifier({ keyring: FLEET_RING, runId: "run", maxAgeMs: 30_000, now: () => now });
    const envelope = new CommandSigner(FLEET_RING).sign({
      kind: "apply",
      commandId: "c-1",
      runId: "run",
      issuedAt: now,
      epoch: 1,
      generation: 1,
      values: { batch: 64 },
    });
    expect(v.verify(envelope).ok).toBe(true);
    now += 30_000;
    const atLimit = v.verify(envelope);
    expect(atLimit.ok ? "accepted" : atLimit.rejection.reason).toBe("replay");
    now += 1;
    const after = v.verify(envelope);
    expect(after.ok ? "accepted" : after.rejection.reason).toBe("stale");
  });
});

describe("verifier options", () => {
  const base: VerifierOptions = { keyring: FLEET_RING, runId: "run" };

  it.each([
    ["maxAgeMs", Number.NaN],
    ["maxAgeMs", -1],
    ["maxAgeMs", Number.POSITIVE_INFINITY],
    ["maxFutureSkewMs", Number.NaN],
    ["maxFutureSkewMs", -5],
  ])("refuses %s = %s", (field, value) => {
    expect(() => new CommandVerifier({ ...base, [field]: value })).toThrow(
      new RegExp(`${field}: must be a finite number ≥ 0`),
    );
  });

  it("refuses an empty run id", () => {
    expect(() => new CommandVerifier({ ...base, runId: "" })).toThrow(/runId: must be a non-empty string/);
  });

  it.each([0, -1, 2.5, Number.NaN, 1e8])("refuses ledgerCapacity = %s", (value) => {
    expect(() => new CommandVerifier({ ...base, ledgerCapacity: value })).toThrow(
      `invalid verifier options: ledgerCapacity: must be a whole number from 1 to 10000000 (got ${value})`,
    );
  });

  it("accepts 0 for both windows", () => {
    expect(() => new CommandVerifier({ ...base, maxAgeMs: 0, maxFutureSkewMs: 0 })).not.toThrow();
  });
});

describe("replica and publisher options", () => {
  const clients: Redis[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  function replicaWith(extra: Partial<ReplicaOptions>): () => Replica {
    const redis = idle();
    clients.push(redis);
    return () =>
      new Replica({
        redis,
        replica: "r1",
        runId: "run",
        keyring: FLEET_RING,
        params: FLEET_PARAMS,
        ...extra,
      });
  }

  it.each<[string, Partial<ReplicaOptions>, RegExp]>([
    ["an empty replica id", { replica: "" }, /replica: must be a non-empty string/],
    ["an empty run id", { runId: "" }, /runId: must be a non-empty string/],
    ["an empty prefix", { prefix: "" }, /prefix: must be a non-empty string \(got ""\)/],
    [
      "a misspelt option",
      { maxCommandAge: 5 } as never,
      /maxCommandAge: unknown option \(did you mean maxCommandAgeMs\? known: redis, replica, runId, keyring, params, guardrails, prefix,/,
    ],
    [
      "a misspelt telemetry option",
      { telemetry: { bogus: 1 } } as never,
      /telemetry\.bogus: unknown option \(known: bufferSize, flushMs, batchSize, maxLen, firstSeq, writeTimeoutMs, breaker\)/,
    ],
    [
      "a NaN maxCommandAgeMs",
      { maxCommandAgeMs: Number.NaN },
      /maxCommandAgeMs: must be a finite number ≥ 0/,
    ],
    ["a negative maxCommandAgeMs", { maxCommandAgeMs: -1 }, /maxCommandAgeMs: must be a finite number ≥ 0/],
    [
      "commandLedgerCapacity 0",
      { commandLedgerCapacity: 0 },
      /commandLedgerCapacity: must be a whole number from 1 to 10000000 \(got 0\)/,
    ],
    [
      "commandLedgerCapacity 1.5",
      { commandLedgerCapacity: 1.5 },
      /commandLedgerCapacity: must be a whole number from 1 to 10000000 \(got 1\.5\)/,
    ],
    [
      "commandLedgerCapacity 2e7",
      { commandLedgerCapacity: 2e7 },
      /commandLedgerCapacity: must be a whole number from 1 to 10000000 \(got 20000000\)/,
    ],
    ["batchSize 0", { telemetry: { batchSize: 0 } }, /telemetry\.batchSize: must be a whole number ≥ 1/],
    ["maxLen 1.5", { telemetry: { maxLen: 1.5 } }, /telemetry\.maxLen: must be a whole number ≥ 1/],
    ["bufferSize 0", { telemetry: { bufferSize: 0 } }, /telemetry\.bufferSize: must be a whole number ≥ 1/],
    [
      "flushMs NaN",
      { telemetry: { flushMs: Number.NaN } },
      /telemetry\.flushMs: must be a whole number from 1/,
    ],
    [
      "flushMs 2^31",
      { telemetry: { flushMs: 2 ** 31 } },
      /telemetry\.flushMs: must be a whole number from 1/,
    ],
    ["firstSeq -1", { telemetry: { firstSeq: -1 } }, /telemetry\.firstSeq: must be a whole number ≥ 0/],
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
      "a string keyring",
      { keyring: "s" } as never,
      /keyring: must be a keyring \{ active, keys \} \(got "s"\)/,
    ],
    [
      "an empty keyring",
      { keyring: {} } as never,
      /keyring\.keys: must be an array of keys \{ id, secret \} \(got undefined\); keyring\.active: must be a non-empty string, the id of a key \(got undefined\)/,
    ],
    [
      "a keyring whose key is null",
      { keyring: { active: "k1", keys: [null] } } as never,
      /keyring\.keys\[0\]: must be a key \{ id, secret \} \(got null\); keyring\.active: no key has id "k1"/,
    ],
    [
      "a short secret",
      { keyring: { active: "k1", keys: [{ id: "k1", secret: new Uint8Array(8) }] } },
      /keyring\.keys\[0\]\.secret: must be at least 32 bytes/,
    ],
    ["no params", { params: undefined } as never, /params: required but missing/],
    [
      "params whose bounds cross",
      { params: { batch: { min: 10, max: 1, init: 5 } } },
      /invalid replica options: params\.batch/,
    ],
    ["a guardrails preset that does not exist", { guardrails: "bold" } as never, /guardrails: /],
    [
      "telemetry that is not an object",
      { telemetry: 5 } as never,
      /telemetry: must be an object of telemetry options \(got 5\)/,
    ],
  ])("a replica refuses %s", (_, extra, message) => {
    const error = thrown(replicaWith(extra));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toMatch(/^invalid replica options: /);
    expect(error.message).toMatch(message);
  });

  it("keeps as many command ids as commandLedgerCapacity says, then refuses new commands", () => {
    const replica = replicaWith({ commandLedgerCapacity: 2 })();
    const signer = new CommandSigner(FLEET_RING);
    // Signed and fresh, but with no value for the replica's parameter: each id is registered in
    // the ledger, then the command is refused as malformed (and nothing is applied).
    const envelope = (commandId: string) =>
      JSON.stringify(
        signer.sign({
          kind: "apply",
          commandId,
          runId: "run",
          issuedAt: Date.now(),
          epoch: 1,
          generation: 1,
          values: {},
        }),
      );
    for (const id of ["a", "b", "c"]) expect(replica.receive(envelope(id))).toBe(false);
    expect(replica.status().rejected).toMatchObject({ malformed: 2, "ledger-full": 1 });
  });

  it("createReplica refuses options that are not an object, naming them", async () => {
    for (const options of [undefined, null, "r1"])
      await expect(createReplica(options as never)).rejects.toThrow(
        new RangeError(
          `invalid replica options: options: must be an object of replica options (got ${options === undefined ? "undefined" : JSON.stringify(options)})`,
        ),
      );
  });

  it("createReplica lists every bad option at once and sends Redis nothing", async () => {
    const redis = idle();
    clients.push(redis);
    const options = {
      redis,
      replica: "",
      runId: "run",
      keyring: {},
      params: undefined,
      telemetry: { batchSize: 0 },
    } as unknown as ReplicaOptions;
    await expect(createReplica(options)).rejects.toThrow(
      /^invalid replica options: replica: .*; keyring\.keys: .*; keyring\.active: .*; params: required but missing; telemetry\.batchSize: /,
    );
    // A lazy client connects on its first command: still waiting, it was sent none.
    expect(redis.status).toBe("wait");
  });

  it("names every bad field at once", () => {
    expect(replicaWith({ replica: "", telemetry: { batchSize: 0 } })).toThrow(
      /invalid replica options: replica: .*; telemetry\.batchSize: /,
    );
  });

  it("a publisher refuses bad options naming the field", () => {
    const redis = idle();
    clients.push(redis);
    const base: TelemetryPublisherOptions = { redis, stream: "s", replica: "r1", keyring: FLEET_RING };
    expect(() => new TelemetryPublisher({ ...base, batchSize: 0 })).toThrow(
      /invalid telemetry publisher options: batchSize: must be a whole number ≥ 1/,
    );
    expect(() => new TelemetryPublisher({ ...base, replica: "" })).toThrow(
      /replica: must be a non-empty string/,
    );
    expect(() => new TelemetryPublisher({ ...base, keyring: { active: "nope", keys: [] } })).toThrow(
      /invalid keyring/,
    );
  });

  it("refuses bad breaker options up front, not later from a timer (an uncaught exception)", () => {
    const redis = idle();
    clients.push(redis);
    const base: TelemetryPublisherOptions = { redis, stream: "s", replica: "r1", keyring: FLEET_RING };
    expect(() => new TelemetryPublisher({ ...base, breaker: { failureThreshold: 0 } })).toThrow(
      /invalid telemetry publisher options: breaker\.failureThreshold: must be a whole number ≥ 1/,
    );
    expect(replicaWith({ telemetry: { breaker: { baseBackoffMs: -5 } } })).toThrow(
      /invalid replica options: telemetry\.breaker\.baseBackoffMs: /,
    );
    expect(replicaWith({ telemetry: { breaker: { typo: 1 } as never } })).toThrow(
      /telemetry\.breaker\.typo: unknown option; known: /,
    );
    expect(replicaWith({ telemetry: { breaker: { maxBackofMs: 1000 } as never } })).toThrow(
      "telemetry.breaker.maxBackofMs: unknown option (did you mean maxBackoffMs?); known: failureThreshold, baseBackoffMs, maxBackoffMs",
    );
  });
});

describe("non-finite measurements", () => {
  const digest = (seq: number, objective: number, timestamp = 1000 + seq): FleetDigest => ({
    seq,
    generation: 0,
    objective,
    timestamp,
  });
  const decode = (fields: string[]) => decodeBatch(FLEET_RING, fieldsOf(fields));

  it("a batch carries NaN and ±Infinity objectives and timestamps through to the decoder", () => {
    const sent = [
      digest(1, 1),
      digest(2, Number.NaN),
      digest(3, Number.POSITIVE_INFINITY),
      digest(4, Number.NEGATIVE_INFINITY),
      digest(5, 2, Number.NaN),
      digest(6, 3, Number.POSITIVE_INFINITY),
    ];
    const batch = decode(encodeBatch(FLEET_RING, "r1", sent));
    expect(batch.ok).toBe(true);
    expect(batch.ok && batch.digests).toEqual(sent);
  });

  it("still reads batches of the earlier format, whose non-finite values were written as null", () => {
    // The earlier publisher's JSON.stringify wrote NaN and ±Infinity as null.
    const batch = decode(entryOf(JSON.stringify([digest(1, 1), digest(2, Number.NaN)])));
    expect(batch.ok && batch.digests.map((d) => d.objective)).toEqual([1, Number.NaN]);
  });

  it("still refuses an objective that is neither a number nor a non-finite marker", () => {
    const batch = decode(entryOf('[{"seq":1,"generation":0,"objective":"1","timestamp":1}]'));
    expect(batch.ok ? "accepted" : batch.detail).toBe("d[0].objective: must be a number");
  });

  /** The fields of a stream entry of replica r1 carrying `payload`, MACed as the wire format says. */
  function entryOf(payload: string): string[] {
    const hmac = createHmac("sha256", FLEET_RING.keys[0]!.secret);
    for (const part of ["arqon.fleet.digests/v1", "r1", payload]) {
      const bytes = Buffer.from(part, "utf8");
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      hmac.update(length).update(bytes);
    }
    return ["r", "r1", "d", payload, "k", "k1", "m", hmac.digest("base64")];
  }
});

// Each test on a redis-server of its own.
describe("on a real redis-server", () => {
  let rig: FleetRig;
  beforeEach(async () => {
    rig = await FleetRig.start();
  });
  afterEach(async () => {
    await rig.close();
  }, 30_000);

  describe("non-finite measurements on the bus", () => {
    it("a NaN among 500 digests reaches the consumer as NaN; nothing is dead-lettered", async () => {
      const { publisher, consumer, seen } = await rig.bus(fleetKeys("t"));
      for (let i = 0; i < 499; i++) publisher.publish(1 + i / 1000, 0, 1000);
      publisher.publish(Number.NaN, 0, 1000);
      await publisher.flush();
      await until(() => seen.length === 500 || consumer.stats().deadLetters > 0);
      expect(consumer.stats().deadLetters).toBe(0);
      expect(seen).toHaveLength(500);
      expect(seen[499]!.objective).toBeNaN();
    });

    it("a replica's NaN objective reaches the coordinator's engine as a rejected digest", async () => {
      const coordinator = await rig.coordinator("c1");
      await until(() => coordinator.snapshot().leader, 10_000, "c1 leads");
      const replica = await rig.replica("r1", { telemetry: { flushMs: 60_000 } });
      const before = coordinator.snapshot().engine!.digests;
      for (let i = 0; i < 5; i++) replica.publish(1);
      replica.publish(Number.NaN);
      await replica.flushTelemetry();
      await until(
        () => coordinator.busStats().digestsProcessed === 6 || coordinator.busStats().deadLetters > 0,
      );
      expect(coordinator.busStats().deadLetters).toBe(0);
      const after = coordinator.snapshot().engine!.digests;
      expect(after.accepted + after.rejected - before.accepted - before.rejected).toBe(6);
      expect(after.rejected).toBeGreaterThan(before.rejected);
    });
  });

  describe("publish options", () => {
    it("a bad generation or a misspelt option refuses the digest, counted; any other key is ignored; each said once", async () => {
      const errors: unknown[] = [];
      const replica = await rig.replica("r1", {
        onError: (error) => errors.push(error),
        telemetry: { flushMs: 60_000 },
      });
      expect(replica.publish(1, { generation: -1 })).toBe(false);
      expect(replica.publish(1, { generation: 1.5 })).toBe(false);
      // Before, the misspelt key was dropped and the digest stamped with the live generation.
      expect(replica.publish(1, { generaton: 0 } as never)).toBe(false);
      expect(replica.publish(1, { generaton: 0 } as never)).toBe(false);
      expect(replica.publish(1, { generation: 0, timestamp: Date.now() })).toBe(true);
      // A key near no option (a measurement passed whole) was always taken: still published,
      // and said once.
      const measurement = { generation: 0, timestamp: Date.now(), latency: 3 };
      expect(replica.publish(1, measurement)).toBe(true);
      expect(replica.publish(1, measurement)).toBe(true);
      // Never thrown: counted (the counts still add up), and each problem said once.
      expect(replica.status().telemetry).toMatchObject({ published: 7, refused: 4, buffered: 3 });
      expect(errors.every((error) => error instanceof RangeError)).toBe(true);
      expect(errors.map((error) => (error as Error).message)).toEqual([
        'replica "r1": publish: generation: must be a whole number ≥ 0 (got -1); the digest was refused (counted in status().telemetry.refused; each such problem is reported once)',
        'replica "r1": publish: generaton: unknown option (did you mean generation? known: timestamp, generation); the digest was refused (counted in status().telemetry.refused; each such problem is reported once)',
        'replica "r1": publish: latency: not an option (known: timestamp, generation); ignored, the digest was published',
      ]);
    });
  });

  describe("a command entry without its envelope", () => {
    it("is refused naming the missing field, not as JSON that does not parse", async () => {
      const refused: string[] = [];
      const replica = await rig.replica("r1", {
        onRejected: (r) => refused.push(`${r.reason}: ${r.detail}`),
      });
      // What `XADD <prefix>:commands * junkfield 1` writes: an entry with no `c` field.
      await rig.connect().xadd(fleetKeys(fleetPrefix("run")).commands, "*", "junkfield", "1");
      await until(() => refused.length > 0, 10_000, "the entry is read");
      expect(refused).toEqual(["malformed: c: missing (the stream entry has no command field)"]);
      expect(replica.status().generation).toBe(0);
    });
  });

  describe("replica close with Redis up", () => {
    it.each([
      ["the default buffer", 4096, undefined],
      ["a buffer of 10 000", 10_000, 10_000],
    ])("ships all of %s", async (_, count, bufferSize) => {
      const admin = rig.connect();
      const replica = await rig.replica("r1", {
        telemetry: { flushMs: 60_000, ...(bufferSize === undefined ? {} : { bufferSize }) },
      });
      for (let i = 0; i < count; i++) expect(replica.publish(1)).toBe(true);
      await replica.close();
      expect(replica.status().telemetry).toMatchObject({ shipped: count, buffered: 0, lostInFlight: 0 });
      const entries = await admin.xrange(fleetKeys(fleetPrefix("run")).digests, "-", "+");
      const shipped = entries.reduce(
        (n, [, flat]) => n + (JSON.parse(fieldsOf(flat).get("d")!) as unknown[]).length,
        0,
      );
      expect(shipped).toBe(count);
    });
  });
});
