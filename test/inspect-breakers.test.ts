import { describe, expect, it } from "vitest";
import type { InspectionEvent } from "xstate";
import type { EngineConfig } from "../src/engine/config.js";
import { createEngine } from "../src/engine/engine.js";
import { GuardedCallback, GuardedCallResult } from "../src/engine/safety/guarded-callback.js";
import { createMemoryInspector } from "../src/inspect/index.js";
import { ManualClock } from "./support/engine-clock.js";

// The circuit breakers around onApply, auditSink and auditRecordSink are XState actors of their
// own (roots, not children of the engine's actor); an engine's `inspect` sink must see them too,
// each under a system id that says which callback it guards.

const BASE = {
  seed: 7,
  params: { x: { min: 0, max: 100, maxDelta: 10 } },
  window: { digests: 1 },
} as const satisfies EngineConfig;

/** Runs an engine with `extra` for `steps` digests 100 ms apart; returns its inspector and snapshot. */
function run(extra: Partial<EngineConfig>, steps = 40) {
  const memory = createMemoryInspector();
  const clock = new ManualClock();
  const engine = createEngine({ ...BASE, ...extra, scheduler: clock, inspect: memory.inspect });
  for (let i = 0; i < steps; i++) {
    clock.advanceBy(100);
    engine.observe({ objective: (engine.value("x") - 30) ** 2, generation: engine.generation });
  }
  engine.flushEvents();
  return { memory, engine, clock };
}

/** The inspection events of the actor registered as `systemId`. */
function eventsOf(events: readonly InspectionEvent[], systemId: string): InspectionEvent[] {
  return events.filter((e) => (e.actorRef as { systemId?: unknown }).systemId === systemId);
}

/** The types of the events `systemId`'s actor received. */
function receivedTypes(events: readonly InspectionEvent[], systemId: string): string[] {
  return eventsOf(events, systemId).flatMap((e) => (e.type === "@xstate.event" ? [e.event.type] : []));
}

function throwing(): never {
  throw new Error("down");
}

describe("engine inspection of the circuit breakers", () => {
  it("shows the actuator breaker opening and probing when onApply fails", async () => {
    const { memory, engine } = run({ onApply: throwing });
    expect(engine.snapshot().breakers.actuator).not.toBe("closed");
    expect(engine.snapshot().reasons).toContain("breakerOpen");
    const breaker = eventsOf(memory.events, "actuatorBreaker");
    const created = breaker.find((e) => e.type === "@xstate.actor");
    expect(created).toBeDefined();
    const ref = created!.actorRef as { id?: unknown; logic?: { config?: { id?: unknown } } };
    expect(ref.logic?.config?.id).toBe("circuitBreaker");
    expect(ref.id).toBe("actuatorBreaker");
    const received = receivedTypes(memory.events, "actuatorBreaker");
    expect(received).toContain("call.failed");
    expect(received).toContain("probe.started");
    expect(
      memory.snapshots("actuatorBreaker").map((s) => (s as unknown as { value: unknown }).value),
    ).toContain("open");
    await engine.close();
  });

  it("shows the audit-sink breaker as auditSinkBreaker", async () => {
    const { memory, engine } = run({ auditSink: throwing });
    expect(engine.snapshot().breakers.auditSink).not.toBe("closed");
    expect(receivedTypes(memory.events, "auditSinkBreaker")).toContain("call.failed");
    await engine.close();
  });

  it("shows the record-sink breaker as auditRecordSinkBreaker", async () => {
    const { memory, engine } = run({ auditRecordSink: throwing });
    expect(engine.snapshot().breakers.auditSink).not.toBe("closed");
    expect(receivedTypes(memory.events, "auditRecordSinkBreaker")).toContain("call.failed");
    await engine.close();
  });

  it("runs the same with and without an inspector, and a throwing sink changes nothing", async () => {
    const trace = (inspect: EngineConfig["inspect"]) => {
      const clock = new ManualClock();
      let calls = 0;
      const engine = createEngine({
        ...BASE,
        onApply: () => {
          calls++;
          if (calls % 4 !== 0) throw new Error("flaky");
        },
        scheduler: clock,
        ...(inspect === undefined ? {} : { inspect }),
      });
      const seen: string[] = [];
      for (let i = 0; i < 80; i++) {
        clock.advanceBy(100);
        engine.observe({ objective: (engine.value("x") - 30) ** 2, generation: engine.generation });
        const s = engine.snapshot();
        seen.push(`${s.generation} ${s.mode} ${s.breakers.actuator}`);
      }
      return { seen, failure: engine.failure, engine };
    };
    const plain = trace(undefined);
    const inspected = trace(createMemoryInspector().inspect);
    const broken = trace(() => {
      throw new Error("sink down");
    });
    expect(plain.seen.some((line) => line.endsWith("open"))).toBe(true);
    expect(inspected.seen).toEqual(plain.seen);
    expect(broken.seen).toEqual(plain.seen);
    expect(broken.failure).toBeUndefined();
    for (const { engine } of [plain, inspected, broken]) await engine.close();
  });
});

describe("GuardedCallback inspection", () => {
  it("sends its breaker's events to the inspect sink, under the system id given", () => {
    const memory = createMemoryInspector();
    const guard = new GuardedCallback(throwing, { failureThreshold: 1 }, undefined, {
      inspect: memory.inspect,
      systemId: "hookBreaker",
    });
    expect(guard.call()).toBe(GuardedCallResult.Failed);
    expect(guard.actor.systemId).toBe("hookBreaker");
    expect(receivedTypes(memory.events, "hookBreaker")).toEqual(["xstate.init", "call.failed"]);
    expect(guard.state).toBe("open");
    guard.stop();
  });

  it("never throws from call when the inspect sink throws", () => {
    const guard = new GuardedCallback(throwing, { failureThreshold: 1 }, undefined, {
      inspect: () => {
        throw new Error("sink down");
      },
    });
    expect(guard.call()).toBe(GuardedCallResult.Failed);
    expect(guard.state).toBe("open");
    guard.stop();
  });
});
