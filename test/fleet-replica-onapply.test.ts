import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FleetCommand } from "../src/fleet/command.js";
import { Replica, type ReplicaOptions } from "../src/fleet/replica.js";
import { CommandSigner } from "../src/fleet/signing.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { FLEET_PARAMS, FLEET_RING, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// A replica's actuator hook (onApply) is the host's code: whatever it throws or rejects with stays
// inside the replica (counted, passed to onError), and a generation whose values it refused is
// neither live nor acknowledged until a retry succeeds.

const keys = fleetKeys(fleetPrefix("run"));
const signer = new CommandSigner(FLEET_RING);
/** No pacing between Tier-1 steps: a walk's next step is due at once, so only the hook holds it. */
const UNPACED = {
  preset: "balanced",
  minIntervalMs: 0,
  maxUpdatesPerSecond: Number.POSITIVE_INFINITY,
} as const;
let commandIds = 0;

/** The signed envelope of an apply of `batch` as fleet generation `generation`. */
function envelope(generation: number, batch: number): string {
  const command: FleetCommand = {
    kind: "apply",
    commandId: `c-${++commandIds}`,
    runId: "run",
    issuedAt: Date.now(),
    epoch: 1,
    generation,
    values: { batch },
  };
  return JSON.stringify(signer.sign(command));
}

/** The generation this replica last acknowledged in the acks hash. */
async function acked(admin: Redis, replica: string): Promise<number> {
  const report = await admin.hget(keys.acks, replica);
  return report === null ? -1 : (JSON.parse(report) as { generation: number }).generation;
}

/** A promise the test settles. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

describe("a replica's onApply hook", () => {
  let rig: FleetRig;
  let admin: Redis;
  /** What reached the host's loop: uncaught exceptions and unhandled rejections. */
  const escaped: unknown[] = [];
  const record = (error: unknown) => escaped.push(error);

  beforeEach(async () => {
    escaped.length = 0;
    process.on("uncaughtException", record);
    process.on("unhandledRejection", record);
    rig = await FleetRig.start();
    admin = rig.connect();
  });
  afterEach(async () => {
    process.off("uncaughtException", record);
    process.off("unhandledRejection", record);
    await rig.close();
  }, 30_000);

  /** The tests' space (FLEET_PARAMS) starting from `init`. */
  const params = (init: number): ReplicaOptions["params"] => ({
    batch: { min: 1, max: 512, init, maxDelta: 16 },
  });

  it("a throw during a walk stays in the replica: counted, passed to onError, and the walk ends acknowledged", async () => {
    let calls = 0;
    const reported: unknown[] = [];
    const replica = await rig.replica("late", {
      params: params(160),
      onApply: () => {
        calls++;
        if (calls === 2) throw new Error("service refused the value");
      },
      onError: (error) => {
        reported.push(error);
        throw new Error("the host's onError fails too");
      },
    });
    expect(replica.receive(envelope(1, 64))).toBe(true);
    await until(() => replica.generation === 1, 10_000, "the walk reaches generation 1");
    await until(async () => (await acked(admin, "late")) === 1, 10_000, "generation 1 acknowledged");
    expect(escaped).toEqual([]);
    expect(replica.values[0]).toBe(64);
    expect(replica.status()).toMatchObject({ applyFailures: 1, lastApplyError: "service refused the value" });
    expect(reported.map((e) => (e as Error).message)).toEqual(["service refused the value"]);
  });

  it("a refused last step is neither live nor acknowledged; it is retried after a back-off", async () => {
    let calls = 0;
    const replica = await rig.replica("r1", {
      params: params(80),
      onApply: () => {
        calls++;
        if (calls === 1) throw new Error("service refused the value");
      },
    });
    expect(replica.receive(envelope(1, 64))).toBe(true);
    expect(calls).toBe(1);
    expect(replica.status()).toMatchObject({ generation: 0, targetGeneration: 1, applyFailures: 1 });
    expect(await acked(admin, "r1")).toBe(0);
    await until(() => replica.generation === 1, 10_000, "the retry makes generation 1 live");
    expect(calls).toBe(2);
    await until(async () => (await acked(admin, "r1")) === 1, 10_000, "generation 1 acknowledged");
    expect(escaped).toEqual([]);
  });

  it("an async hook: the walk waits for its promise, and the generation is acknowledged once it resolved", async () => {
    const pending: ReturnType<typeof deferred>[] = [];
    const seen: number[] = [];
    const replica = await rig.replica("r1", {
      params: params(160),
      guardrails: UNPACED,
      onApply: (values) => {
        seen.push(values[0]!);
        const next = deferred();
        pending.push(next);
        return next.promise;
      },
    });
    expect(replica.receive(envelope(1, 128))).toBe(true);
    expect(seen).toEqual([144]);
    // The same generation again (the leader's re-signing): no step while the first is unanswered.
    expect(replica.receive(envelope(1, 128))).toBe(true);
    expect(seen).toEqual([144]);
    pending[0]!.resolve();
    await until(() => seen.length === 2, 10_000, "the second step");
    expect(seen).toEqual([144, 128]);
    expect(replica.generation).toBe(0);
    expect(await acked(admin, "r1")).toBe(0);
    pending[1]!.resolve();
    await until(() => replica.generation === 1, 10_000, "generation 1 live");
    await until(async () => (await acked(admin, "r1")) === 1, 10_000, "generation 1 acknowledged");
    expect(escaped).toEqual([]);
  });

  it("an async hook's rejection is counted and reported, never unhandled, and the apply is retried", async () => {
    const reported: unknown[] = [];
    let calls = 0;
    const replica = await rig.replica("r1", {
      params: params(64),
      guardrails: UNPACED,
      onApply: async () => {
        calls++;
        if (calls === 1) throw new Error("async push rejected");
      },
      onError: (error) => reported.push(error),
    });
    expect(replica.receive(envelope(1, 80))).toBe(true);
    await until(() => replica.status().applyFailures === 1, 10_000, "the rejection counted");
    expect(replica.status()).toMatchObject({ generation: 0, lastApplyError: "async push rejected" });
    expect(reported.map((e) => (e as Error).message)).toEqual(["async push rejected"]);
    expect(await acked(admin, "r1")).toBe(0);
    await until(() => replica.generation === 1, 10_000, "the retry makes generation 1 live");
    expect(calls).toBe(2);
    await until(async () => (await acked(admin, "r1")) === 1, 10_000, "generation 1 acknowledged");
    expect(escaped).toEqual([]);
  });
  /**
   * An onApply that refuses its `refuse`-th call and records every call; `moves()` is how far each
   * call asked the service to go from the values of the last call it accepted (starting at `init`).
   */
  function actuator(init: number, refuse: number) {
    const calls: { value: number; accepted: boolean }[] = [];
    return {
      calls,
      onApply: (values: Float64Array) => {
        const accepted = calls.length + 1 !== refuse;
        calls.push({ value: values[0]!, accepted });
        if (!accepted) throw new Error("service refused the value");
      },
      moves: () => {
        let held = init;
        return calls.map(({ value, accepted }) => {
          const move = Math.abs(value - held);
          if (accepted) held = value;
          return move;
        });
      },
    };
  }

  it("after a refused walk step the service is never asked to move more than maxDelta: the step is undone and retried", async () => {
    const service = actuator(160, 2);
    const replica = await rig.replica("late", {
      params: params(160),
      guardrails: UNPACED,
      onApply: service.onApply,
    });
    expect(replica.receive(envelope(1, 64))).toBe(true);
    await until(() => replica.status().applyFailures === 1, 10_000, "the refusal");
    // During the back-off the replica shows what the service holds, under the generation it holds.
    expect(replica.values[0]).toBe(144);
    expect(replica.status()).toMatchObject({ generation: 0, values: { batch: 144 } });
    await until(() => replica.generation === 1, 10_000, "the walk reaches generation 1");
    expect(Math.max(...service.moves())).toBeLessThanOrEqual(16);
    expect(service.calls.map((c) => (c.accepted ? c.value : -c.value))).toEqual([
      144, -128, 128, 112, 96, 80, 64,
    ]);
    expect(escaped).toEqual([]);
  });

  it("a new command during the back-off is walked to from the values the service holds, maxDelta per call", async () => {
    const service = actuator(160, 2);
    const replica = await rig.replica("late", {
      params: params(160),
      guardrails: UNPACED,
      onApply: service.onApply,
    });
    expect(replica.receive(envelope(1, 64))).toBe(true);
    await until(() => replica.status().applyFailures === 1, 10_000, "the refusal");
    expect(replica.receive(envelope(2, 100))).toBe(true);
    await until(() => replica.generation === 2, 10_000, "the walk reaches generation 2");
    expect(Math.max(...service.moves())).toBeLessThanOrEqual(16);
    expect(service.calls.map((c) => (c.accepted ? c.value : -c.value))).toEqual([144, -128, 128, 112, 100]);
    expect(replica.values[0]).toBe(100);
    expect(escaped).toEqual([]);
  });
});

describe("replica options a bad value of would fail later, outside the constructor", () => {
  const base: ReplicaOptions = {
    redis: undefined as unknown as Redis,
    replica: "r1",
    runId: "run",
    keyring: FLEET_RING,
    params: FLEET_PARAMS,
  };

  it("refuses a missing Redis connection, naming `redis`", () => {
    expect(() => new Replica(base)).toThrow(
      /^invalid replica options: redis: must be an ioredis client \(got undefined\)$/,
    );
  });

  it.each(["onApply", "onRejected", "onError"] as const)("refuses an %s that is not a function", (field) => {
    const redis = { duplicate: () => undefined } as unknown as Redis;
    expect(() => new Replica({ ...base, redis, [field]: 5 })).toThrow(
      new RegExp(`^invalid replica options: ${field}: must be a function \\(got 5\\)$`),
    );
  });
});
