import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Coordinator } from "../src/fleet/coordinator.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { registerBusMetrics } from "../src/metrics/index.js";
import { until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// The bus counters a coordinator reports, against a real redis-server: Prometheus reads any
// decrease of a counter as a reset and over-counts, so none of them may ever go down.
const keys = fleetKeys(fleetPrefix("run"));
let rig: FleetRig;

beforeEach(async () => {
  rig = await FleetRig.start();
});

afterEach(() => rig.close());

/** A replica's report, as `Replica.acknowledge()` writes it; `rejected` counts its process's refusals. */
function report(rejected: number): string {
  return JSON.stringify({ generation: 0, target: 0, epoch: 1, rejected, at: Date.now() });
}

async function scrapeRejected(registry: Registry): Promise<number> {
  const line = (await registry.metrics())
    .split("\n")
    .find((l) => l.startsWith("arqon_bus_rejected_commands_total "));
  return Number(line?.split(" ")[1]);
}

/** Resolves once the coordinator's view holds exactly these `rejected` figures, by replica. */
function viewHolds(lead: Coordinator, figures: Record<string, number>): Promise<void> {
  const holds = () => {
    const fleet = lead.snapshot().fleet;
    return (
      Object.keys(fleet).length === Object.keys(figures).length &&
      Object.entries(figures).every(([replica, rejected]) => fleet[replica]?.rejected === rejected)
    );
  };
  return until(holds, 10_000, `the view to hold ${JSON.stringify(figures)}`);
}

describe("coordinator bus counters", () => {
  it("keeps arqon_bus_rejected_commands_total monotonic across replica restarts and reports that go away", async () => {
    const lead = await rig.coordinator("c1");
    const registry = new Registry();
    registerBusMetrics(lead, { registry });
    const admin = rig.connect();
    const seen: number[] = [];
    const step = async (figures: Record<string, number>, total: number) => {
      await viewHolds(lead, figures);
      expect(lead.busStats().rejectedCommands).toBe(total);
      const scraped = await scrapeRejected(registry);
      expect(scraped).toBe(total);
      seen.push(scraped);
    };

    // r1 refused 5 commands.
    await admin.hset(keys.acks, "r1", report(5));
    await step({ r1: 5 }, 5);
    // r1 restarts: a new process, whose count starts again at 0. Nothing new was refused.
    await admin.hset(keys.acks, "r1", report(0));
    await step({ r1: 0 }, 5);
    // The restarted r1 refuses 2, and r2 (first seen) reports 3.
    await admin.hset(keys.acks, "r1", report(2));
    await admin.hset(keys.acks, "r2", report(3));
    await step({ r1: 2, r2: 3 }, 10);
    // r2's report leaves the acks hash: what it refused stays counted.
    await admin.hdel(keys.acks, "r2");
    await step({ r1: 2 }, 10);
    // It comes back with the same figure (the same process): not counted twice; then one more.
    await admin.hset(keys.acks, "r2", report(3));
    await step({ r1: 2, r2: 3 }, 10);
    await admin.hset(keys.acks, "r2", report(4));
    await step({ r1: 2, r2: 4 }, 11);
    // r2 restarts and has already refused 1 by the time its report is read.
    await admin.hset(keys.acks, "r2", report(1));
    await step({ r1: 2, r2: 1 }, 12);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it("never reports fewer digests processed while a tenure ends", async () => {
    const lead = await rig.coordinator("c1");
    const publisher = rig.publisher(keys, { flushMs: 10 });
    for (let i = 0; i < 3; i++) publisher.publish(1 + i / 10, 0);
    await until(() => lead.busStats().digestsProcessed === 3, 10_000, "three digests");
    // Read the figures at every turn of the microtask queue while the coordinator steps down: the
    // consumer of the tenure is dropped a few awaits before its counts join the totals.
    const closing = lead.close();
    const samples: number[] = [];
    for (let i = 0; i < 200; i++) {
      samples.push(lead.busStats().digestsProcessed);
      await Promise.resolve();
    }
    await closing;
    samples.push(lead.busStats().digestsProcessed);
    expect(Math.min(...samples)).toBe(3);
    expect(samples.at(-1)).toBe(3);
  });
});
