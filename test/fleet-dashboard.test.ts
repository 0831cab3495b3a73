import { request } from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FleetView } from "../src/dashboard/fleet-view.js";
import { type DashboardServer, serveDashboard } from "../src/dashboard/server.js";
import { parseSseChunk } from "../src/dashboard/sse.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { FLEET_ENGINE, objectiveOf, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// The dashboard attached to real coordinators and replicas over a real redis-server: the Fleet
// panel in /state and in the event stream, from the leader and from the standby.
let rig: FleetRig;

async function dashboard(...args: Parameters<typeof serveDashboard>): Promise<DashboardServer> {
  return rig.track(await serveDashboard(...args));
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on("error", reject)
      .end();
  });
}

function post(url: string, token: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

async function fleetOf(d: DashboardServer): Promise<FleetView> {
  const state = JSON.parse((await get(new URL("state", d.url).href)).body) as { fleet: FleetView };
  return state.fleet;
}

/** The first SSE `snapshot` message's fleet. */
function firstSnapshotFleet(d: DashboardServer): Promise<FleetView> {
  return new Promise((resolve, reject) => {
    const req = request(new URL("events", d.url), (res) => {
      res.setEncoding("utf8");
      let rest = "";
      res.on("data", (chunk: string) => {
        const parsed = parseSseChunk(rest + chunk);
        rest = parsed.rest;
        const snapshot = parsed.messages.find((m) => m.event === "snapshot");
        if (snapshot !== undefined) {
          resolve((JSON.parse(snapshot.data) as { fleet: FleetView }).fleet);
          req.destroy();
        }
      });
    });
    req.on("error", reject);
    req.end();
  });
}

beforeEach(async () => {
  rig = await FleetRig.start();
});

afterEach(() => rig.close());

describe("fleet dashboard", () => {
  it("shows a replica that stopped following commands as lagging, in /state and the event stream", async () => {
    const lead = await rig.coordinator("c1", { lagAfterMs: 100 });
    const standby = await rig.coordinator("c2", { lagAfterMs: 100 });
    expect(lead.leader).toBe(true);
    const live = await rig.replica("r-live");
    const gone = await rig.replica("r-gone");
    await until(() => Object.keys(lead.snapshot().fleet).length === 2, 5_000, "both replicas reported");
    // r-gone stops following the command stream, as a replica that died would; it keeps its last
    // acknowledged generation (0). (close() removes its report: a dead replica's stays, as here.)
    const admin = rig.connect();
    const report = await admin.hget(fleetKeys(fleetPrefix("run")).acks, "r-gone");
    await gone.close();
    await admin.hset(fleetKeys(fleetPrefix("run")).acks, "r-gone", report!);
    const leaderBoard = await dashboard({ fleet: lead, staleAfterMs: 60_000 });
    const standbyBoard = await dashboard({ fleet: standby, staleAfterMs: 60_000 });

    // The live replica reports its objective at the generation live on it; the leader tunes.
    let fleet: FleetView | undefined;
    await until(
      async () => {
        live.publish(objectiveOf(live.values[0]!));
        fleet = await fleetOf(leaderBoard);
        const row = (name: string) => fleet!.replicas.find((r) => r.replica === name);
        return fleet.generation >= 2 && row("r-gone")?.state === "lagging" && row("r-live")?.lag === 0;
      },
      20_000,
      "a lagging replica in /state",
    );
    if (fleet === undefined) throw new Error("no fleet view");
    expect(fleet).toMatchObject({ coordinator: "c1", leader: true, leaderId: "c1", staleAfterMs: 60_000 });
    expect(fleet.epoch).toBeGreaterThan(0);
    const gen = fleet.generation;
    expect(fleet.replicas).toEqual([
      expect.objectContaining({ replica: "r-gone", generation: 0, lag: gen, state: "lagging" }),
      expect.objectContaining({ replica: "r-live", generation: gen, lag: 0, state: "current" }),
    ]);
    expect(fleet.bus.replicas).toBe(2);
    expect(fleet.bus.laggingReplicas).toBe(1);
    expect(fleet.bus.digestsProcessed).toBeGreaterThan(0);
    expect(fleet.bus.deadLetters).toBe(0);

    // The rest of the page is the leader's engine: its values are what the live replica runs
    // (once the last digests in flight have been used, the fleet settles).
    await until(
      async () => {
        const state = JSON.parse((await get(new URL("state", leaderBoard.url).href)).body);
        return state.view.values.batch === live.values[0] && state.view.generation > 0;
      },
      5_000,
      "the page shows the values the live replica runs",
    );
    const state = JSON.parse((await get(new URL("state", leaderBoard.url).href)).body);
    expect(state.events.some((e: { type: string }) => e.type === "window.closed")).toBe(true);

    // The event stream's snapshots carry the same panel.
    const streamed = await firstSnapshotFleet(leaderBoard);
    expect(streamed.replicas.find((r) => r.replica === "r-gone")?.state).toBe("lagging");

    // The standby reads the fleet from Redis: same generation, same lagging replica, the leader named.
    await until(
      async () => (await fleetOf(standbyBoard)).generation === lead.snapshot().generation,
      5_000,
      "standby sees the fleet generation",
    );
    const seen = await fleetOf(standbyBoard);
    // The leader's epoch too, as the replicas report it (the standby holds no tenure of its own).
    expect(seen).toMatchObject({ coordinator: "c2", leader: false, leaderId: "c1", epoch: fleet.epoch });
    await until(
      async () =>
        (await fleetOf(standbyBoard)).replicas.find((r) => r.replica === "r-gone")?.state === "lagging",
      5_000,
      "standby marks r-gone lagging",
    );
    const standbyState = JSON.parse((await get(new URL("state", standbyBoard.url).href)).body);
    expect(standbyState.view).toMatchObject({ values: null, mode: "unknown" });
    // Control from the standby's page is refused, naming the leader.
    const refused = await post(new URL("control/halt", standbyBoard.url).href, standbyBoard.token, {
      reason: "test",
    });
    // Refused, not failed: 409 Conflict, as for any control the source cannot take now.
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.body).error).toBe("coordinator c2 stands by; the leader is c1");
  });

  it("follows the standby into leadership: its dashboard starts showing the new engine", async () => {
    const lead = await rig.coordinator("c1", { lagAfterMs: 100 });
    const standby = await rig.coordinator("c2", { lagAfterMs: 100 });
    const board = await dashboard({ fleet: standby });
    const leaderBoard = await dashboard({ fleet: lead });
    expect(JSON.parse((await get(new URL("state", board.url).href)).body).view.values).toBeNull();
    await lead.close(); // hands the lease back
    await until(() => standby.leader, 5_000, "takeover");
    const state = JSON.parse((await get(new URL("state", board.url).href)).body);
    expect(state.view.values).toEqual({ batch: 64 });
    expect(state.fleet).toMatchObject({ coordinator: "c2", leader: true });
    await until(async () => (await fleetOf(board)).leaderId === "c2", 5_000, "leader id read from the lease");
    // The closed coordinator's page offers no control and no longer names a leader as current.
    const closed = JSON.parse((await get(new URL("state", leaderBoard.url).href)).body);
    expect(closed.controls).toBe(false);
    expect(closed.fleet).toMatchObject({ leader: false, leaderId: null });
    expect(closed.fleet.bus.stale).toBe(true);
    const refused = await post(new URL("control/halt", leaderBoard.url).href, leaderBoard.token, {
      reason: "x",
    });
    expect(refused.status).toBe(409);
  });

  it("keeps the fleet halted across a takeover, until a reset is acknowledged on a leader", async () => {
    const lead = await rig.coordinator("c1", { lagAfterMs: 100 });
    const standby = await rig.coordinator("c2", { lagAfterMs: 100 });
    await until(() => lead.leader, 5_000, "c1 leads");
    const leaderBoard = await dashboard({ fleet: lead });
    const halted = await post(new URL("control/halt", leaderBoard.url).href, leaderBoard.token, {
      reason: "maintenance window",
    });
    expect(halted.status).toBe(200);
    await until(
      () => standby.snapshot().halted === "maintenance window",
      5_000,
      "the standby reads the halt",
    );
    // What arqon_bus_leader and arqon_bus_halted export: both coordinators say the fleet is halted.
    expect(lead.busStats()).toMatchObject({ leader: true, halted: true });
    expect(standby.busStats()).toMatchObject({ leader: false, halted: true });
    await lead.close();
    await until(() => standby.leader, 5_000, "takeover");
    expect(standby.busStats()).toMatchObject({ leader: true, halted: true });
    // The new leader starts halted, with the reason: it proposes nothing until an acknowledged reset.
    expect(standby.tuningEngine?.mode).toBe("halted");
    expect(standby.snapshot()).toMatchObject({ halted: "maintenance window" });
    expect(standby.tuningEngine?.resetSafeMode({ acknowledge: "done (ops)" })).toBe(true);
    await until(
      async () => (await rig.connect().hget(fleetKeys(fleetPrefix("run")).state, "halted")) === null,
      5_000,
      "reset stored",
    );
    expect(standby.snapshot().halted).toBeUndefined();
    expect(standby.busStats()).toMatchObject({ leader: true, halted: false });
  });

  it("fences the stored halt: a coordinator that no longer holds the lease cannot clear it", async () => {
    const redis = rig.connect();
    const lead = await rig.coordinator("c1", { redis });
    await until(() => lead.leader, 5_000, "c1 leads");
    lead.tuningEngine?.halt("incident 42");
    lead.tuningEngine?.flushEvents();
    await until(
      async () => (await redis.hget(fleetKeys(fleetPrefix("run")).state, "halted")) === "incident 42",
      5_000,
      "stored",
    );
    // The lease passed to another coordinator while c1 was cut off: c1's reset must not reach Redis.
    await redis.set(fleetKeys(fleetPrefix("run")).lease, "c2", "PX", 60_000);
    expect(lead.tuningEngine?.resetSafeMode({ acknowledge: "ok (ops)" })).toBe(true);
    lead.tuningEngine?.flushEvents();
    // Commands on one connection run in order: this read comes after c1's refused write.
    expect(await redis.hget(fleetKeys(fleetPrefix("run")).state, "halted")).toBe("incident 42");
  });

  it("stores a halt whose event never arrived, at the next lease renewal", async () => {
    // An audit record sink that refuses records keeps them, and their events, in the engine's ring.
    const redis = rig.connect();
    const refusing = {
      ...FLEET_ENGINE,
      auditRecordSink: () => {
        throw new Error("record sink down");
      },
    };
    const lead = await rig.coordinator("c1", { redis, engine: refusing });
    await until(() => lead.leader, 5_000, "c1 leads");
    lead.tuningEngine?.halt("operator");
    await until(
      async () => (await redis.hget(fleetKeys(fleetPrefix("run")).state, "halted")) === "halted (manualHalt)",
      5_000,
      "stored by the renewal",
    );
    expect(lead.snapshot().halted).toBe("halted (manualHalt)");
  });

  it("a new leader reads the halt as it is now, not as it last saw it as a standby", async () => {
    const lead = await rig.coordinator("c1");
    const standby = await rig.coordinator("c2");
    await until(() => lead.leader, 5_000, "c1 leads");
    lead.tuningEngine?.halt("short pause");
    await until(() => standby.snapshot().halted === "short pause", 5_000, "the standby reads the halt");
    expect(lead.tuningEngine?.resetSafeMode({ acknowledge: "over (ops)" })).toBe(true);
    await lead.close();
    await until(() => standby.leader, 5_000, "takeover");
    expect(standby.tuningEngine?.mode).toBe("normal");
    expect(standby.snapshot().halted).toBeUndefined();
  });
});
