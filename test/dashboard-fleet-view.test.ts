import { EMPTY } from "rxjs";
import { describe, expect, it } from "vitest";
import { fleetSource } from "../src/dashboard/fleet-source.js";
import {
  DEFAULT_STALE_AFTER_MS,
  type FleetObserved,
  fleetView,
  type ObservedFleet,
} from "../src/dashboard/fleet-view.js";
import type { BusStats } from "../src/fleet/fleet-report.js";

// The Fleet panel's model: a coordinator's snapshot (plain data here; fleet-dashboard.test.ts
// takes it from a real coordinator over a real redis-server) turned into the rows the page draws.
const NOW = 1_000_000;
const BUS: BusStats = {
  lag: 3,
  pending: 2,
  deadLetters: 1,
  rejectedCommands: 4,
  digestsProcessed: 900,
  replicas: 4,
  laggingReplicas: 2,
};

function observed(snapshot: Partial<ObservedFleet>): FleetObserved {
  const full: ObservedFleet = {
    id: "c1",
    leader: true,
    leaderId: "c1",
    epoch: 2,
    generation: 7,
    fleet: {},
    lagging: [],
    ...snapshot,
  };
  return { snapshot: () => full, busStats: () => BUS };
}

describe("fleetView", () => {
  it("classifies replicas as current, lagging or stale, with their lag and report age, sorted by id", () => {
    const view = fleetView(
      observed({
        fleet: {
          "r-3": { generation: 5, epoch: 2, rejected: 0, at: NOW - 1_000 },
          "r-1": { generation: 7, epoch: 2, rejected: 1, at: NOW - 200 },
          "r-2": { generation: 6, epoch: 2, rejected: 0, at: NOW - 20_000 },
          "r-4": { generation: 6, epoch: 2, rejected: 3, at: NOW - 300 },
        },
        // r-4 trails by one generation only for the moment a command takes: not lagging.
        lagging: ["r-3", "r-2"],
      }),
      NOW,
      10_000,
    );
    expect(view.replicas).toEqual([
      { replica: "r-1", generation: 7, lag: 0, ackAgeMs: 200, epoch: 2, rejected: 1, state: "current" },
      // Silent for 20 s: stale wins over lagging.
      { replica: "r-2", generation: 6, lag: 1, ackAgeMs: 20_000, epoch: 2, rejected: 0, state: "stale" },
      { replica: "r-3", generation: 5, lag: 2, ackAgeMs: 1_000, epoch: 2, rejected: 0, state: "lagging" },
      { replica: "r-4", generation: 6, lag: 1, ackAgeMs: 300, epoch: 2, rejected: 3, state: "current" },
    ]);
    expect(view).toMatchObject({
      coordinator: "c1",
      leader: true,
      leaderId: "c1",
      epoch: 2,
      generation: 7,
      staleAfterMs: 10_000,
      bus: BUS,
    });
  });

  it("never reports a negative lag or age (a replica ahead of a standby's view, skewed clocks)", () => {
    const view = fleetView(
      observed({ generation: 3, fleet: { r: { generation: 4, epoch: 3, rejected: 0, at: NOW + 500 } } }),
      NOW,
    );
    expect(view.replicas[0]).toMatchObject({ lag: 0, ackAgeMs: 0, state: "current" });
    expect(view.staleAfterMs).toBe(DEFAULT_STALE_AFTER_MS);
  });

  it("says when nobody leads", () => {
    const view = fleetView(observed({ leader: false, leaderId: undefined, epoch: 0 }), NOW);
    expect(view).toMatchObject({ leader: false, leaderId: null, epoch: 0, replicas: [] });
  });
});

describe("fleetSource", () => {
  const standby = {
    ...observed({ id: "c2", leader: false, leaderId: "c1", epoch: 0, generation: 9 }),
    id: "c2",
    events: EMPTY,
    tuningEngine: undefined,
  };

  it("shows a standby with no values, the fleet generation, and the Fleet panel at its clock", () => {
    const source = fleetSource(standby, { now: () => NOW, staleAfterMs: 5_000 });
    expect(source.view()).toMatchObject({
      source: "live",
      title: "fleet · c2",
      generation: 9,
      values: null,
      mode: "unknown",
      time: NOW,
    });
    expect(source.fleetView?.()).toMatchObject({ coordinator: "c2", leaderId: "c1", staleAfterMs: 5_000 });
  });

  it("refuses control on a standby, naming the leader", () => {
    const source = fleetSource(standby);
    expect(() => source.control?.halt("test")).toThrow("coordinator c2 stands by; the leader is c1");
  });

  it("refuses a stale threshold that is not a positive number, naming it", () => {
    expect(() => fleetSource(standby, { staleAfterMs: 0 })).toThrow(/staleAfterMs must be a number > 0/);
    expect(() => fleetSource(standby, { staleAfterMs: Number.NaN })).toThrow(/staleAfterMs/);
  });
});
