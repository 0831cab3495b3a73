import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CommandRejection, CommandSigner } from "../src/fleet/signing.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { applyCommand, FLEET_RING, objectiveOf, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// Coordinator → replicas over a real redis-server: signed commands, local Tier 1, fleet view.
const keys = fleetKeys(fleetPrefix("run"));
let rig: FleetRig;

beforeEach(async () => {
  rig = await FleetRig.start();
});

afterEach(() => rig.close());

describe("fleet commands", () => {
  it("replicas apply the leader's tuning through their own Tier 1 and the fleet view follows", async () => {
    const lead = await rig.coordinator("c1");
    expect(lead.leader).toBe(true);
    const replicas = await Promise.all(["r1", "r2", "r3"].map((name) => rig.replica(name)));
    const moves: number[] = [];
    let previous = 64;
    replicas[0]!.status(); // replicas start at the engine's init value
    // Each replica reports its objective under the generation live on it, as a service would.
    await until(
      () => {
        for (const r of replicas) r.publish(objectiveOf(r.values[0]!));
        const now = replicas[0]!.values[0]!;
        if (now !== previous) {
          moves.push(Math.abs(now - previous));
          previous = now;
        }
        const snap = lead.snapshot();
        return (
          snap.generation >= 4 &&
          replicas.every((r) => r.generation === snap.generation) &&
          snap.lagging.length === 0 &&
          Object.keys(snap.fleet).length === 3
        );
      },
      20_000,
      "fleet at generation 4",
    );
    const snap = lead.snapshot();
    expect(snap.engine!.digests.accepted).toBeGreaterThan(0);
    // Every replica runs exactly the leader's values, and never moved more than maxDelta at once.
    for (const r of replicas) expect(r.values[0]).toBe(snap.engine!.values.batch);
    expect(Math.max(...moves)).toBeLessThanOrEqual(16 * (1 + 1e-9));
    for (const r of replicas)
      expect(r.status().rejected).toMatchObject({ "bad-mac": 0, fenced: 0, replay: 0 });
    expect(lead.busStats()).toMatchObject({ replicas: 3, deadLetters: 0 });
    expect(lead.busStats().digestsProcessed).toBeGreaterThan(0);
  });

  it("a late joiner catches up to the latest generation in steps no larger than maxDelta", async () => {
    const admin = rig.connect();
    const signer = new CommandSigner(FLEET_RING);
    const envelope = signer.sign(applyCommand({ commandId: "far", generation: 5, values: { batch: 114 } }));
    await admin.xadd(keys.commands, "*", "c", JSON.stringify(envelope));
    const seen: [number, number][] = [];
    const r = await rig.replica("late", {
      onApply: (values, generation) => seen.push([values[0]!, generation]),
    });
    await until(() => r.generation === 5, 5_000, "catch-up");
    expect(seen).toEqual([
      [80, 0],
      [96, 0],
      [112, 0],
      [114, 5],
    ]);
    // Digests stay stamped with the old generation until the target is reached, then it is acknowledged.
    await until(
      async () => JSON.parse((await admin.hget(keys.acks, "late")) ?? "{}").generation === 5,
      5_000,
      "ack",
    );
  });

  it("refuses forged, replayed, stale, fenced and older commands, counting each and reporting them", async () => {
    const admin = rig.connect();
    const rejections: CommandRejection[] = [];
    const r = await rig.replica("r1", { onRejected: (x) => rejections.push(x) });
    const signer = new CommandSigner(FLEET_RING);
    const send = (value: unknown) =>
      admin.xadd(keys.commands, "*", "c", typeof value === "string" ? value : JSON.stringify(value));
    const good = signer.sign(
      applyCommand({ commandId: "g2", epoch: 2, generation: 2, values: { batch: 70 } }),
    );
    await send(good);
    await until(() => r.generation === 2, 5_000, "apply");
    await send(good); // replay
    await send({
      ...good,
      command: { ...good.command, commandId: "g3", generation: 3, values: { batch: 10 } },
    }); // forged
    await send(
      signer.sign(applyCommand({ commandId: "s", epoch: 2, generation: 3, issuedAt: Date.now() - 60_000 })),
    ); // stale
    await send(
      signer.sign(applyCommand({ commandId: "f", epoch: 2, generation: 3, issuedAt: Date.now() + 60_000 })),
    ); // future
    await send(
      signer.sign(applyCommand({ commandId: "deposed", epoch: 1, generation: 9, values: { batch: 72 } })),
    ); // old leader
    await send(
      signer.sign(applyCommand({ commandId: "older", epoch: 2, generation: 1, values: { batch: 72 } })),
    ); // older generation
    await send("not json");
    await until(() => rejections.length === 7, 5_000, "seven refusals");
    expect(rejections.map((x) => x.reason)).toEqual([
      "replay",
      "bad-mac",
      "stale",
      "from-future",
      "fenced",
      "old-generation",
      "malformed",
    ]);
    expect(r.values[0]).toBe(70);
    expect(r.generation).toBe(2);
    await until(
      async () => JSON.parse((await admin.hget(keys.acks, "r1")) ?? "{}").rejected === 7,
      5_000,
      "report",
    );
  });
});
