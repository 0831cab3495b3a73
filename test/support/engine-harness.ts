import type { AuditEvent } from "../../src/audit/events.js";
import type { EngineConfig } from "../../src/engine/config.js";
import type { Digest } from "../../src/engine/digest.js";
import { createEngine, type Engine } from "../../src/engine/engine.js";
import { SafetyMonitor } from "../../src/monitor/safety-monitor.js";
import { safetySpecOf } from "../../src/monitor/safety-spec.js";
import type { Prng } from "../../src/random/prng.js";
import { ManualClock } from "./engine-clock.js";
import { watchedMonitors } from "./watched-monitors.js";

/** The batching service's two knobs that the log and replay tests tune: a count and a log-scale timeout. */
export const SERVICE_KNOBS = {
  batchSize: { min: 1, max: 512, init: 64, maxDelta: 16 },
  timeoutMs: { min: 1, max: 1000, init: 200, maxDelta: 40, scale: "log" },
} as const satisfies EngineConfig["params"];

/**
 * The batching service's cost per request at `values` (batchSize, timeoutMs, as the engine holds
 * SERVICE_KNOBS), with noise σ 0.2 from `noise`: a bowl with its minimum 10 at 300 and 50 ms.
 */
export function serviceCost(values: ArrayLike<number>, noise: Prng): number {
  const b = (values[0]! - 300) / 511;
  const t = Math.log(values[1]! / 50) / Math.log(1000);
  return 10 + 40 * b * b + 25 * t * t + 0.2 * noise.normal();
}

/** An engine running on a {@link ManualClock}, with every audit event it delivered. */
export interface EngineRig {
  readonly engine: Engine;
  readonly clock: ManualClock;
  /** Audit events delivered so far (call `engine.flushEvents()` or move the clock to deliver more). */
  readonly events: AuditEvent[];
  /** Whether `engine.events` completed. */
  readonly completed: () => boolean;
  /** The independent safety monitor, fed every audit event the rig records. */
  readonly monitor: SafetyMonitor;
  /**
   * Says this test breaks a safety property on purpose, so the check after the test (see
   * `test/setup.ts`) does not fail it; the test asserts the monitor's verdicts itself.
   */
  readonly expectViolations: () => void;
}

/**
 * Creates an engine in virtual time (starting at 0 ms) and records its audit events, which an
 * independent {@link SafetyMonitor} checks as they arrive; a violation fails the test unless the
 * test calls `expectViolations()`.
 */
export function engineRig(config: Omit<EngineConfig, "scheduler">): EngineRig {
  const clock = new ManualClock();
  const engine = createEngine({ ...config, scheduler: clock });
  const monitor = new SafetyMonitor(safetySpecOf(config));
  watchedMonitors.add(monitor);
  const events: AuditEvent[] = [];
  let completed = false;
  engine.events.subscribe({
    next: (event) => {
      events.push(event);
      monitor.check(event);
    },
    complete: () => {
      completed = true;
    },
  });
  return {
    engine,
    clock,
    events,
    completed: () => completed,
    monitor,
    expectViolations: () => watchedMonitors.delete(monitor),
  };
}

/** A digest of `objective` measured now under the engine's live generation. */
export function digestOf(engine: Engine, objective: number, extra: Partial<Digest> = {}): Digest {
  return { objective, generation: engine.generation, timestamp: engine.now(), ...extra };
}

/** The audit events of one type, typed. */
export function eventsOfType<T extends AuditEvent["type"]>(
  events: readonly AuditEvent[],
  type: T,
): Extract<AuditEvent, { type: T }>[] {
  return events.filter((e): e is Extract<AuditEvent, { type: T }> => e.type === type);
}

/**
 * Largest move Tier 1 accepts for a parameter with this maxDelta and bounds: the executor's
 * documented round-off slack (maxDelta·(1 + 1e−9) + 8·ε·max(|min|, |max|)).
 */
export function moveLimit(maxDelta: number, min: number, max: number): number {
  return maxDelta * (1 + 1e-9) + 8 * Number.EPSILON * Math.max(Math.abs(min), Math.abs(max));
}
