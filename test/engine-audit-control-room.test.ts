// Operator commands against an audit ring that has (nearly) no room left. No live value may change
// without its record in the ring: a command whose records cannot be stored is refused before it
// changes anything, and a halt always finds room for its own.
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { createEngine, type Engine } from "../src/engine/engine.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";

const PARAMS = { pool: { min: 2, max: 64, init: 16, maxDelta: 4 } };

/** Generations the engine wrote that no `apply` or `rollback` event accounts for. */
function unrecordedGenerations(engine: Engine, events: readonly AuditEvent[]): number[] {
  const written = new Set(
    events.filter((e) => e.type === "apply" || e.type === "rollback").map((e) => e.generation),
  );
  const missing: number[] = [];
  for (let g = 1; g <= engine.generation; g++) if (!written.has(g)) missing.push(g);
  return missing;
}

function commands(events: readonly AuditEvent[], after: number): string[] {
  return events
    .filter(
      (e) => e.seq > after && (e.type === "command" || e.type === "mode.changed" || e.type === "rollback"),
    )
    .map((e) =>
      e.type === "command"
        ? `command ${e.command}`
        : e.type === "mode.changed"
          ? `mode ${e.to}`
          : `rollback ${e.generation}`,
    );
}

/** What a call threw (undefined when it returned). */
function thrown(call: () => unknown): Error | undefined {
  try {
    call();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

/**
 * An engine whose audit record sink went down after 50 digests and stayed down for 5000 more (its
 * ring full, the engine frozen), with `observe` for more digests and `recover` to bring the sink
 * back and drain the ring.
 */
function frozenByAnOutage() {
  const clock = new ReplayClock(0);
  let down = false;
  const events: AuditEvent[] = [];
  const engine = createEngine({
    seed: 1,
    params: PARAMS,
    window: { digests: 1 },
    scheduler: clock,
    auditRecordSink: () => {
      if (down) throw new Error("disk full");
    },
  });
  engine.events.subscribe((e) => events.push(e));
  const observe = (objective: number) => {
    clock.advanceTo(clock.now() + 100);
    engine.observe({ objective, generation: engine.generation });
  };
  const bowl = () => 10 + (engine.values[0]! - 30) ** 2 / 100;
  for (let i = 0; i < 50; i++) observe(bowl());
  down = true;
  for (let i = 0; i < 5000; i++) observe(bowl());
  const recover = () => {
    down = false;
    clock.advanceTo(clock.now() + 120_000);
    for (let i = 0; i < 5; i++) engine.flushEvents();
  };
  return { engine, events, observe, recover };
}

describe("operator commands while the audit record sink is down", () => {
  it("refuses what it cannot record, before it changes anything, and always records a halt", async () => {
    const { engine, events, recover } = frozenByAnOutage();
    expect(engine.mode).toBe("frozen");
    const before = events.at(-1)?.seq ?? 0;
    expect(engine.rollback("operator rollback 0")).toBe(true);
    const generation = engine.generation;
    const baseline = engine.snapshot().baselineGeneration;
    const refusals = [
      thrown(() => engine.rollback("operator rollback 1")),
      thrown(() => engine.setBaseline()),
      thrown(() => engine.rollback("operator rollback 2")),
    ];
    for (const error of refusals) {
      expect(error?.message).toMatch(
        /not applied: the audit ring is full \(\d+ of 4096 records held, its sink not draining them\)/,
      );
    }
    // Refused: nothing changed.
    expect(engine.generation).toBe(generation);
    expect(engine.snapshot().baselineGeneration).toBe(baseline);
    engine.halt("operator halt");
    expect(engine.mode).toBe("halted");
    // A reset would need room the halt keeps: refused too, the engine stays halted.
    expect(thrown(() => engine.resetSafeMode({ acknowledge: "ops: ok" }))?.message).toMatch(
      /resetSafeMode not applied: the audit ring is full/,
    );
    expect(engine.mode).toBe("halted");
    recover();
    const after = commands(events, before);
    // From the operator's first command on (the outage's own mode change precedes it).
    expect(after.slice(after.indexOf("command rollback"))).toEqual([
      "command rollback",
      `rollback ${generation}`,
      "command halt",
      "mode halted",
    ]);
    expect(unrecordedGenerations(engine, events)).toEqual([]);
    // Drained, the ring takes commands again.
    expect(engine.resetSafeMode({ acknowledge: "ops: sink back" })).toBe(true);
    await engine.close();
  });

  it("records a halt after rollbacks took all the room they could", async () => {
    const { engine, events, recover } = frozenByAnOutage();
    const before = events.at(-1)?.seq ?? 0;
    for (let i = 0; i < 5; i++) thrown(() => engine.rollback(`rollback ${i}`));
    engine.halt("operator halt");
    engine.halt("again"); // halted already: its command is all it records
    recover();
    const after = commands(events, before);
    expect(after.slice(-2)).toEqual(["command halt", "mode halted"]);
    expect(engine.snapshot().audit.dropped).toBeGreaterThan(0); // digests and windows, not control records
    expect(unrecordedGenerations(engine, events)).toEqual([]);
    await engine.close();
  });
});

describe("automatic rollbacks against a ring with only the halt's room left", () => {
  it("an automatic rollback takes the room an operator's must leave for a halt, and is recorded", async () => {
    const { engine, events, observe, recover } = frozenByAnOutage();
    // Operators' rollbacks until one is refused: what is left is the halt's room, or less.
    let refused: Error | undefined;
    for (let i = 0; i < 5 && refused === undefined; i++)
      refused = thrown(() => engine.rollback(`operator ${i}`));
    expect(refused?.message).toMatch(/not applied: the audit ring is full/);
    const generation = engine.generation;
    // NaNs for the generation the last rollback wrote, before any finite value: the burst blames
    // it, and the governor's rollback is a safety action that the halt's room is kept for too.
    for (let i = 0; i < 3; i++) observe(Number.NaN);
    expect(engine.generation).toBe(generation + 1);
    recover();
    const automatic = events.filter((e) => e.type === "rollback" && e.generation === generation + 1);
    expect(automatic.map((e) => (e as { note?: string }).note)).toEqual([
      "instability governor: nonFiniteObjective",
    ]);
    expect(unrecordedGenerations(engine, events)).toEqual([]);
    await engine.close();
  });
});

describe("operator commands after a burst of digests filled the ring within one turn", () => {
  it("delivers what is pending first, then records every rollback", async () => {
    const clock = new ReplayClock(0);
    const events: AuditEvent[] = [];
    const engine = createEngine({
      seed: 1,
      params: PARAMS,
      window: { digests: 1 },
      captureDigests: false,
      scheduler: clock,
    });
    engine.events.subscribe((e) => events.push(e));
    clock.advanceTo(100);
    // A backlog of stale-generation digests, all rejected, in one synchronous burst.
    for (let i = 0; i < 4200; i++) engine.observe({ objective: 10, generation: 0 });
    for (let i = 0; i < 4; i++) expect(engine.rollback(`operator ${i}`)).toBe(true);
    const generation = engine.generation;
    clock.advanceTo(200);
    engine.flushEvents();
    const rolledBack = events.filter((e) => e.type === "rollback").map((e) => e.generation);
    expect(rolledBack).toEqual([generation - 3, generation - 2, generation - 1, generation]);
    expect(unrecordedGenerations(engine, events)).toEqual([]);
    await engine.close();
  });
});
