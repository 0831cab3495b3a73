import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import type { EngineConfig } from "../src/engine/config.js";
import type { Coordinator } from "../src/fleet/coordinator.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { ManualClock } from "./support/engine-clock.js";
import { digestOf, eventsOfType } from "./support/engine-harness.js";
import { FLEET_ENGINE, until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// The host's `onApply` on a coordinator's engine: the engine must see what it returns (a throw, a
// rejection, a promise that never settles) as it would for an engine of its own, and a command
// reaches the replicas only once the host's apply succeeded.
const keys = fleetKeys(fleetPrefix("run"));
let rig: FleetRig;
let admin: Redis;

beforeEach(async () => {
  rig = await FleetRig.start();
  admin = rig.connect();
});

afterEach(() => rig.close(), 30_000);

/** Lets settled promises run their handlers. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A leading coordinator whose engine runs on `clock` and calls `onApply`; its audit events. */
async function leader(
  clock: ManualClock,
  onApply: NonNullable<EngineConfig["onApply"]>,
): Promise<{ lead: Coordinator; events: AuditEvent[] }> {
  const lead = await rig.coordinator("c1", { engine: { ...FLEET_ENGINE, scheduler: clock, onApply } });
  await until(() => lead.leader, 5_000, "c1 leads");
  const events: AuditEvent[] = [];
  lead.events.subscribe((event) => events.push(event));
  return { lead, events };
}

/** Feeds the leader's engine digests (100 ms of engine time apart) until it applies a new generation. */
function feedUntilApply(lead: Coordinator, clock: ManualClock): number {
  const engine = lead.tuningEngine!;
  const before = engine.generation;
  for (let i = 0; i < 1_000 && engine.generation === before; i++) {
    clock.advanceBy(100);
    engine.observe(digestOf(engine, ((engine.values[0]! - 200) / 100) ** 2));
  }
  expect(engine.generation).not.toBe(before);
  return engine.generation;
}

/** The generations of the commands on the stream, oldest first. */
async function publishedGenerations(): Promise<number[]> {
  const entries = await admin.xrange(keys.commands, "-", "+");
  return entries.map(
    ([, fields]) => (JSON.parse(fields[1]!) as { command: { generation: number } }).command.generation,
  );
}

describe("a coordinator's async onApply", () => {
  it("a rejection reaches the engine (rollback, breaker) and its generation is never published", async () => {
    const clock = new ManualClock();
    let calls = 0;
    const { lead, events } = await leader(clock, async () => {
      calls++;
      await Promise.resolve();
      throw new Error("push to config service failed");
    });
    await until(async () => (await publishedGenerations()).length > 0, 5_000, "the promotion's command");
    // Each failure rolls back; the third in a row opens the actuator breaker, which freezes the engine.
    for (let i = 0; i < 3 && lead.snapshot().engine?.breakers.actuator !== "open"; i++) {
      feedUntilApply(lead, clock);
      await settled();
    }
    lead.tuningEngine!.flushEvents();
    expect(calls).toBeGreaterThanOrEqual(3);
    // Before, every rejection was unhandled (the engine never saw it) and every generation published.
    const rollbacks = eventsOfType(events, "rollback");
    expect(rollbacks.map((e) => e.note)).toContain("actuator failed: push to config service failed");
    expect(lead.snapshot().engine?.breakers.actuator).toBe("open");
    expect(Math.max(...(await publishedGenerations()))).toBe(0);
  });

  it("a command is published once the host's promise resolves, not before", async () => {
    const clock = new ManualClock();
    const pending: (() => void)[] = [];
    const { lead } = await leader(clock, () => new Promise<void>((resolve) => pending.push(resolve)));
    await until(async () => (await publishedGenerations()).length > 0, 5_000, "the promotion's command");
    const generation = feedUntilApply(lead, clock);
    expect(pending).toHaveLength(1);
    await settled();
    expect(await publishedGenerations()).not.toContain(generation);
    pending[0]!();
    await until(
      async () => (await publishedGenerations()).includes(generation),
      5_000,
      "the apply's command",
    );
  });

  it("an apply whose promise does not settle within 10 s of engine time is never published", async () => {
    const clock = new ManualClock();
    const pending: (() => void)[] = [];
    const { lead, events } = await leader(clock, () =>
      pending.length === 0 ? new Promise<void>((resolve) => pending.push(resolve)) : undefined,
    );
    await until(async () => (await publishedGenerations()).length > 0, 5_000, "the promotion's command");
    const hung = feedUntilApply(lead, clock);
    clock.advanceBy(10_000);
    await settled();
    lead.tuningEngine!.flushEvents();
    const rollbacks = eventsOfType(events, "rollback");
    expect(rollbacks.map((e) => e.note)).toContain(
      "actuator failed: the callback's promise did not settle within 10000 ms",
    );
    // The rollback's apply succeeded at once: it is published, then the hung apply resolves late.
    const rolledBack = lead.tuningEngine!.generation;
    await until(async () => (await publishedGenerations()).includes(rolledBack), 5_000, "the rollback");
    pending[0]!();
    await settled();
    expect(await publishedGenerations()).not.toContain(hung);
    expect(lead.snapshot().generation).toBe(rolledBack);
  });

  it("a synchronous throw rolls back as for an engine of its own and publishes nothing", async () => {
    const clock = new ManualClock();
    const { lead, events } = await leader(clock, () => {
      throw new Error("refused");
    });
    await until(async () => (await publishedGenerations()).length > 0, 5_000, "the promotion's command");
    feedUntilApply(lead, clock);
    await settled();
    lead.tuningEngine!.flushEvents();
    expect(eventsOfType(events, "rollback").map((e) => e.note)).toContain("actuator failed: refused");
    expect(Math.max(...(await publishedGenerations()))).toBe(0);
  });
});
