import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { Replica } from "../src/fleet/replica.js";
import { type CommandRejection, CommandSigner } from "../src/fleet/signing.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { FLEET_RING, objectiveOf, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";
import type { RedisServer } from "./support/redis-server.js";

// Drills against a real redis-server (AOF on): kill -9 the leader, restart Redis, inject bad commands.
const CHILD = fileURLToPath(new URL("./support/fleet-coordinator-child.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const LEASE_MS = 600;
const keys = fleetKeys(fleetPrefix("run"));
let rig: FleetRig | undefined;
let children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children) child.kill("SIGKILL");
  await rig?.close();
  rig = undefined;
  children = [];
});

/** A rig on a redis-server with AOF on, torn down after the test. */
async function startRig(): Promise<FleetRig> {
  rig = await FleetRig.start({ appendOnly: true });
  return rig;
}

/** A client that expects connection errors: the restart drill causes them, the components count them. */
const connect = (fleet: FleetRig) => fleet.connect(fleet.server, { quiet: true });

interface Envelope {
  outside: number;
  biggestMove: number;
}

async function fleetOf(fleet: FleetRig, count: number, envelope: Envelope, rejections: CommandRejection[]) {
  const replicas: Replica[] = [];
  for (let i = 0; i < count; i++) {
    let previous = 64;
    const r = await fleet.replica(`r${i}`, {
      redis: connect(fleet),
      onRejected: (x) => rejections.push(x),
      onApply: (values) => {
        const v = values[0]!;
        if (v < 1 || v > 512) envelope.outside++;
        envelope.biggestMove = Math.max(envelope.biggestMove, Math.abs(v - previous));
        previous = v;
      },
    });
    replicas.push(r);
  }
  return replicas;
}

const feed = (replicas: readonly Replica[]) => {
  for (const r of replicas) r.publish(objectiveOf(r.values[0]!));
};

/** Feeds the replicas until the leader reaches `generation` and every replica runs its generation. */
function tunedTo(
  lead: { snapshot(): { generation: number } },
  replicas: readonly Replica[],
  generation: number,
  timeoutMs: number,
  what: string,
): Promise<void> {
  return until(
    () => {
      feed(replicas);
      const g = lead.snapshot().generation;
      return g >= generation && replicas.every((r) => r.generation === g);
    },
    timeoutMs,
    what,
  );
}

function startChild(
  server: RedisServer,
  id: string,
): { child: ChildProcess; states: { leader: boolean; epoch: number; generation: number }[] } {
  const child = spawn(process.execPath, ["--import", TSX, CHILD, server.url, id, String(LEASE_MS)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  const states: { leader: boolean; epoch: number; generation: number }[] = [];
  let buffered = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) states.push(JSON.parse(line));
  });
  return { child, states };
}

describe("fleet drills", () => {
  // How soon it takes over (within 2× the lease) is a time, measured by `npm run bench --
  // fleet-drills` and gated there: on a loaded machine a test would time the machine.
  it("kill -9 the leader: the standby takes over, fences the old leader, and tuning resumes", async () => {
    const fleet = await startRig();
    const { child, states } = startChild(fleet.server, "leader-a");
    await until(() => states.some((s) => s.leader), 20_000, "child leads");
    const standby = await fleet.coordinator("standby-b", {
      redis: connect(fleet),
      leaseMs: LEASE_MS,
      telemetry: { blockMs: 50, claimIdleMs: 200 },
    });
    expect(standby.leader).toBe(false);
    const envelope: Envelope = { outside: 0, biggestMove: 0 };
    const rejections: CommandRejection[] = [];
    const replicas = await fleetOf(fleet, 3, envelope, rejections);
    await until(
      () => {
        feed(replicas);
        const latest = states[states.length - 1]!;
        return latest.generation >= 3 && replicas.every((r) => r.generation === latest.generation);
      },
      20_000,
      "old leader tunes to generation 3",
    );
    const oldEpoch = states[states.length - 1]!.epoch;
    const valuesAtKill = replicas[0]!.values[0]!;
    child.kill("SIGKILL");
    await until(
      () => {
        feed(replicas);
        return standby.leader;
      },
      5_000,
      "takeover",
    );
    const taken = standby.snapshot();
    expect(taken.epoch).toBeGreaterThan(oldEpoch);
    // It resumed from the stored state: same generation and values, no jump.
    expect(taken.engine!.values.batch).toBe(valuesAtKill);
    // A late command of the deposed leader (its epoch, a newer generation) is refused everywhere.
    await until(
      () => replicas.every((r) => r.status().epoch === taken.epoch),
      5_000,
      "replicas learn the new epoch",
    );
    const late = new CommandSigner(FLEET_RING).sign({
      kind: "apply",
      commandId: "late-a",
      runId: "run",
      issuedAt: Date.now(),
      epoch: oldEpoch,
      generation: taken.generation + 100,
      values: { batch: valuesAtKill + 1 },
    });
    await connect(fleet).xadd(keys.commands, "*", "c", JSON.stringify(late));
    await until(
      () => rejections.filter((x) => x.reason === "fenced").length === replicas.length,
      5_000,
      "fenced",
    );
    // Tuning resumes under the new leader.
    await until(
      () => {
        feed(replicas);
        const g = standby.snapshot().generation;
        return g >= taken.generation + 2 && replicas.every((r) => r.generation === g);
      },
      20_000,
      "new leader tunes on",
    );
    expect(envelope.outside).toBe(0);
    expect(envelope.biggestMove).toBeLessThanOrEqual(16 * (1 + 1e-9));
    expect(rejections.every((x) => x.reason === "fenced")).toBe(true);
  });

  it("restart Redis mid-run (AOF on): acknowledged commands and state survive, telemetry losses are counted, tuning resumes", async () => {
    const fleet = await startRig();
    const lead = await fleet.coordinator("c1", { redis: connect(fleet), leaseMs: LEASE_MS });
    const envelope: Envelope = { outside: 0, biggestMove: 0 };
    const rejections: CommandRejection[] = [];
    const replicas = await fleetOf(fleet, 3, envelope, rejections);
    await tunedTo(lead, replicas, 2, 20_000, "generation 2");
    const before = await connect(fleet).hgetall(keys.state);
    fleet.adopt(await fleet.server.restart());
    // A client of the restarted server: one of the old may still be between two reconnection
    // attempts, and with one retry per request a command sent then fails.
    const admin = connect(fleet);
    const after = await admin.hgetall(keys.state);
    // Every command Redis acknowledged is still there, with the state a new leader would resume from.
    expect(Number(after.generation)).toBeGreaterThanOrEqual(Number(before.generation));
    expect(await admin.xlen(keys.commands)).toBeGreaterThanOrEqual(Number(before.generation) + 1);
    const generationAtRestart = lead.snapshot().generation;
    await tunedTo(lead, replicas, generationAtRestart + 2, 30_000, "tuning resumes after the restart");
    // Telemetry is at most once: what did not reach Redis is counted, never retried twice.
    for (const r of replicas) {
      const t = r.status().telemetry;
      expect(
        t.shipped + t.lostInFlight + t.droppedFull + t.refused + t.buffered + t.unshipped + t.inFlight,
      ).toBe(t.published);
    }
    expect(envelope.outside).toBe(0);
    expect(rejections).toEqual([]);
  });

  it("restart Redis without persistence: the leader climbs above what the replicas saw, and tuning resumes", async () => {
    // Everything in Redis is lost: the state hash, the streams and the epoch counter. The replicas
    // remember the epoch and generation they reached and refuse anything lower.
    rig = await FleetRig.start();
    const fleet = rig;
    const first = await fleet.coordinator("c1", { redis: connect(fleet), leaseMs: LEASE_MS });
    const envelope: Envelope = { outside: 0, biggestMove: 0 };
    const replicas = await fleetOf(fleet, 3, envelope, []);
    await tunedTo(first, replicas, 2, 20_000, "generation 2");
    // A takeover first, so the replicas hold epoch 2, above where a lost counter starts again.
    const lead = await fleet.coordinator("c2", { redis: connect(fleet), leaseMs: LEASE_MS });
    await first.close();
    await until(() => lead.leader, 10_000, "c2 leads");
    await tunedTo(lead, replicas, lead.snapshot().generation + 1, 20_000, "c2 tunes");
    expect(replicas.map((r) => r.status().epoch)).toEqual([2, 2, 2]);
    const reached = Math.max(...replicas.map((r) => r.generation));
    fleet.adopt(await fleet.server.restart());
    const admin = connect(fleet);
    expect(await admin.exists(keys.state)).toBe(0);
    await tunedTo(lead, replicas, reached + 2, 30_000, "tuning resumes above the replicas' generation");
    // The counter restarted at 1; the leader raised it to the replicas' 2 and took the next one.
    expect(Number(await admin.get(keys.epoch))).toBeGreaterThanOrEqual(3);
    expect(replicas.every((r) => r.status().epoch >= 3)).toBe(true);
    expect(envelope.outside).toBe(0);
    expect(envelope.biggestMove).toBeLessThanOrEqual(16 * (1 + 1e-9));
  });

  it("forged, replayed, stale and unknown-key commands injected mid-run are all refused and counted", async () => {
    const fleet = await startRig();
    const lead = await fleet.coordinator("c1", { redis: connect(fleet), leaseMs: LEASE_MS });
    const envelope: Envelope = { outside: 0, biggestMove: 0 };
    const rejections: CommandRejection[] = [];
    const replicas = await fleetOf(fleet, 3, envelope, rejections);
    await until(
      () => {
        feed(replicas);
        return lead.snapshot().generation >= 2;
      },
      20_000,
      "generation 2",
    );
    const admin = connect(fleet);
    const [, fields] = (await admin.xrevrange(keys.commands, "+", "-", "COUNT", 1))[0]!;
    const genuine = JSON.parse(fields[1]!);
    const signer = new CommandSigner(FLEET_RING);
    const attacker = new CommandSigner({
      active: "evil",
      keys: [{ id: "evil", secret: new Uint8Array(32).fill(66) }],
    });
    const injected = [
      JSON.stringify(genuine), // replay of a real command
      JSON.stringify({
        ...genuine,
        command: { ...genuine.command, commandId: "forged", generation: 999, values: { batch: 500 } },
      }),
      JSON.stringify(
        signer.sign({
          ...genuine.command,
          commandId: "stale",
          generation: 999,
          issuedAt: Date.now() - 120_000,
        }),
      ),
      JSON.stringify(attacker.sign({ ...genuine.command, commandId: "evil", generation: 999 })),
    ];
    for (const text of injected) await admin.xadd(keys.commands, "*", "c", text);
    await until(
      () => {
        feed(replicas);
        return rejections.length === injected.length * replicas.length;
      },
      10_000,
      "every injected command refused by every replica",
    );
    const byReason = new Map<string, number>();
    for (const r of rejections) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
    expect(Object.fromEntries(byReason)).toEqual({ replay: 3, "bad-mac": 3, stale: 3, "unknown-key": 3 });
    // The coordinator sees the refusals in the replicas' reports, and tuning goes on untouched.
    const after = lead.snapshot().generation;
    await until(
      () => {
        feed(replicas);
        return lead.busStats().rejectedCommands === 12 && lead.snapshot().generation >= after + 2;
      },
      20_000,
      "refusals reported and tuning continues",
    );
    expect(replicas.every((r) => r.values[0]! < 500)).toBe(true);
    expect(envelope.outside).toBe(0);
  });
});
