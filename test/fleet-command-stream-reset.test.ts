import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CommandRejection, CommandSigner } from "../src/fleet/signing.js";
import { streamIdBelow } from "../src/fleet/stream-id.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { applyCommand, FLEET_RING, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// The command stream lost and written anew with ids below the id a replica last read (Redis
// restarted without persistence, or failed over, on a host whose clock is behind the old one's),
// against a real redis-server: reading on from that id would never return the new commands.
const keys = fleetKeys(fleetPrefix("run"));
const TEN_MINUTES_MS = 600_000;
let rig: FleetRig;

beforeEach(async () => {
  rig = await FleetRig.start();
});

afterEach(() => rig.close(), 30_000);

/** The id of the command stream's last entry. */
async function lastCommandId(): Promise<string> {
  const latest = (await rig.connect().xrevrange(keys.commands, "+", "-", "COUNT", 1)) as [string, string[]][];
  return latest[0]![0];
}

describe("a command stream reset below the replicas' cursor", () => {
  it("after a Redis restart without persistence on a clock behind the old ids, the replica reads the new leader's commands", async () => {
    // Redis runs 10 minutes ahead: an entry added and deleted leaves the stream's last id there,
    // and every '*' id the leader's XADD takes goes on from it, as from a clock that far ahead.
    const admin = rig.connect(rig.server, { quiet: true });
    const ahead = `${Date.now() + TEN_MINUTES_MS}-0`;
    await admin.xadd(keys.commands, ahead, "c", "placeholder");
    await admin.xdel(keys.commands, ahead);
    const lead = await rig.coordinator("c1", { redis: rig.connect(rig.server, { quiet: true }) });
    expect(lead.leader).toBe(true);
    const rejections: CommandRejection[] = [];
    const replica = await rig.replica("r1", {
      redis: rig.connect(rig.server, { quiet: true }),
      onRejected: (rejection) => rejections.push(rejection),
    });
    expect(replica.status()).toMatchObject({ accepted: 1, epoch: 1, generation: 0 });
    const cursor = await lastCommandId();
    expect(streamIdBelow(ahead, cursor)).toBe(true);

    // Redis restarts with nothing (no AOF), its ids now from the real clock, 10 minutes behind.
    rig.adopt(await rig.server.restart());
    // The leader lost its lease with the data; it takes it again and re-signs generation 0.
    const written = async () => (await admin.xlen(keys.commands).catch(() => 0)) > 0;
    await until(written, 10_000, "the leader writes to the new stream");
    // The leader may take the lease more than once while Redis comes back (each tenure a new
    // epoch): the replica has read the new stream once it runs the latest tenure's command.
    await until(
      () => replica.status().accepted >= 2 && replica.status().epoch === lead.snapshot().epoch,
      10_000,
      "the replica accepts the latest command of the new stream",
    );
    expect(streamIdBelow(await lastCommandId(), cursor)).toBe(true);
    expect(replica.status()).toMatchObject({ epoch: lead.snapshot().epoch, generation: 0 });
    expect(rejections).toEqual([]);
  });

  it("a command applied before the reset and written again to the new stream is refused as a replay, never applied twice", async () => {
    const admin = rig.connect();
    const signer = new CommandSigner(FLEET_RING);
    const applied: number[] = [];
    const rejections: CommandRejection[] = [];
    const replica = await rig.replica("r1", {
      onApply: (_, generation) => void applied.push(generation),
      onRejected: (rejection) => rejections.push(rejection),
    });
    const first = JSON.stringify(signer.sign(applyCommand({ commandId: "g1", values: { batch: 70 } })));
    await admin.xadd(keys.commands, "*", "c", first);
    await until(() => replica.generation === 1, 5_000, "generation 1");

    // The stream is lost; the new one gets ids from a clock far behind (explicit ids: 1-0, 2-0).
    await admin.del(keys.commands);
    await admin.xadd(keys.commands, "1-0", "c", first);
    const second = signer.sign(applyCommand({ commandId: "g2", generation: 2, values: { batch: 75 } }));
    await admin.xadd(keys.commands, "2-0", "c", JSON.stringify(second));
    await until(() => replica.generation === 2, 10_000, "generation 2 from the new stream");

    expect(applied).toEqual([1, 2]);
    expect(rejections.map(({ reason, commandId }) => [reason, commandId])).toEqual([["replay", "g1"]]);
    expect(replica.values[0]).toBe(75);
  });

  it("orders stream ids as Redis does: by milliseconds, then sequence, as numbers", () => {
    expect(streamIdBelow("1-0", "1700000000000-0")).toBe(true);
    expect(streamIdBelow("9-5", "10-0")).toBe(true);
    expect(streamIdBelow("10-0", "9-5")).toBe(false);
    expect(streamIdBelow("5-2", "5-10")).toBe(true);
    expect(streamIdBelow("5-10", "5-10")).toBe(false);
    expect(streamIdBelow("0-0", "0-1")).toBe(true);
    // Beyond 2^53: ids are 64-bit on both sides.
    expect(streamIdBelow("18446744073709551614-0", "18446744073709551615-0")).toBe(true);
  });
});
