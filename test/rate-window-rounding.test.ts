import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApplyKind } from "../src/audit/apply-kind.js";
import type { AuditEvent } from "../src/audit/events.js";
import { AuditRing } from "../src/audit/ring.js";
import { APPLIED, Violation } from "../src/audit/violation.js";
import { createEngine } from "../src/engine/engine.js";
import { Executor } from "../src/hotpath/executor.js";
import { resolveGuardrails } from "../src/hotpath/guardrails.js";
import { LiveConfig } from "../src/hotpath/live-config.js";
import { SafetyMonitor } from "../src/monitor/safety-monitor.js";
import { safetySpecOf } from "../src/monitor/safety-spec.js";
import { ParamRegistry } from "../src/space/param-registry.js";
import { ManualClock } from "./support/engine-clock.js";

/**
 * Tier 1's rate limit ("at most maxUpdatesPerSecond applies within (now − 1000 ms, now]") and the
 * SafetyMonitor's S3 must judge fractional-millisecond times by one exact rule: an apply less than
 * 1000 ms (exactly, not after round-off) after the oldest of the last maxUpdatesPerSecond applies
 * is refused, and the monitor counts it as inside the window.
 */
const PARAMS = { x: { min: 0, max: 1, init: 0.5, maxDelta: 0.1 } };
const GUARDRAILS = { maxUpdatesPerSecond: 2, minIntervalMs: 50 };

function rig() {
  const registry = new ParamRegistry(PARAMS);
  const live = new LiveConfig(registry.init);
  const ring = new AuditRing({ runId: "r", capacity: 4096, paramNames: registry.names });
  const executor = new Executor(registry, live, resolveGuardrails(GUARDRAILS), ring);
  executor.setBaseline(0);
  const target = new Float64Array([0.5]);
  let flip = 0;
  /** Applies a small move at `now` (alternating up and down, always within maxDelta). */
  const applyAt = (now: number): number => {
    target[0] = flip++ % 2 === 0 ? 0.51 : 0.5;
    const code = executor.apply(target, 1, ApplyKind.Plus, now);
    if (code === APPLIED) ring.attachVector(live.values); // as the engine does
    return code;
  };
  /** The S3 violations the independent monitor finds in the audit trail so far. */
  const s3 = (): string[] => {
    const monitor = new SafetyMonitor(safetySpecOf({ seed: 1, params: PARAMS, guardrails: GUARDRAILS }));
    for (const event of ring.drain() as AuditEvent[]) monitor.check(event);
    return monitor
      .report()
      .violations.filter((v) => v.property === "S3")
      .map((v) => v.message);
  };
  return { executor, applyAt, s3 };
}

/** The double just below `x`. */
function nextDown(x: number): number {
  const bits = new Float64Array([x]);
  const view = new BigInt64Array(bits.buffer);
  if (x === 0) return -Number.MIN_VALUE;
  view[0] = x > 0 ? view[0]! - 1n : view[0]! + 1n;
  return bits[0]!;
}

describe("rate limit at fractional-millisecond times", () => {
  it("refuses a third apply 999.9999999999991 ms after the first (maxUpdatesPerSecond 2), as the monitor counts it", () => {
    const { executor, applyAt, s3 } = rig();
    const t0 = 7314.500000000001; // e.g. 7314.5 reached by summing fractional clock steps
    expect(applyAt(t0)).toBe(APPLIED);
    expect(applyAt(t0 + 500)).toBe(APPLIED);
    expect(8314.5 - t0).toBeLessThan(1000);
    expect(applyAt(8314.5)).toBe(Violation.RateLimited);
    // The earliest time the rule allows is the first double a full 1000 ms after t0.
    const earliest = executor.applyAllowedAt();
    expect(earliest).toBeGreaterThan(8314.5);
    expect(applyAt(nextDown(earliest))).toBe(Violation.RateLimited);
    expect(applyAt(earliest)).toBe(APPLIED);
    expect(s3()).toEqual([]);
  });

  it("admits an apply exactly 1000 ms after the oldest one", () => {
    const { applyAt, s3 } = rig();
    expect(applyAt(0.25)).toBe(APPLIED);
    expect(applyAt(500.25)).toBe(APPLIED);
    expect(applyAt(1000.25)).toBe(APPLIED);
    expect(s3()).toEqual([]);
  });

  it("the monitor flags applies less than 1000 ms apart even where `now − 1000` rounds onto the oldest", () => {
    // 145.73373315776024 − (−854.2662668422397) is a hair under 1000, but 145.73373315776024 − 1000
    // rounds to −854.2662668422397 itself.
    const [a, b] = [-854.2662668422397, 145.73373315776024];
    expect(b - 1000).toBe(a);
    const monitor = new SafetyMonitor(safetySpecOf({ seed: 1, params: PARAMS, guardrails: GUARDRAILS }));
    const base = { v: 2, runId: "t", proposalId: -1, kind: "plus" } as const;
    const events = [
      { ...base, seq: 1, type: "baseline.set", time: -2000, generation: 0 },
      { ...base, seq: 2, type: "apply", time: a, generation: 1, values: { x: 0.51 } },
      { ...base, seq: 3, type: "apply", time: a + 500, generation: 2, values: { x: 0.5 } },
      { ...base, seq: 4, type: "apply", time: b, generation: 3, values: { x: 0.51 } },
    ] as unknown as AuditEvent[];
    for (const event of events) monitor.check(event);
    expect(monitor.report().violations.map((v) => [v.property, v.message])).toEqual([
      ["S3", "3 applies within 1000 ms; the rate limit is 2"],
    ]);
    // Tier 1 refuses that third apply.
    const { applyAt } = rig();
    expect(applyAt(a)).toBe(APPLIED);
    expect(applyAt(a + 500)).toBe(APPLIED);
    expect(applyAt(b)).toBe(Violation.RateLimited);
  });

  it("Tier 1 and the monitor agree, and applyAllowedAt is exact, over fractional clocks (property)", () => {
    const step = fc.oneof(
      fc.constantFrom(0.1, 0.3, 1, 33.3, 50, 100, 333.3, 499.9, 500.1),
      fc.double({ min: 0, max: 600, noNaN: true }),
    );
    fc.assert(
      fc.property(
        fc.double({ min: -5000, max: 1e7, noNaN: true }),
        fc.array(fc.tuple(step, fc.boolean()), { minLength: 1, maxLength: 60 }),
        (start, steps) => {
          const { executor, applyAt, s3 } = rig();
          let now = start;
          for (const [dt, paced] of steps) {
            now += dt;
            if (paced) {
              // A caller that waits until applyAllowedAt() is not refused by the time rules there,
              // and one ulp earlier it is.
              const earliest = executor.applyAllowedAt();
              if (Number.isFinite(earliest) && earliest > now) {
                expect(applyAt(nextDown(earliest))).toBeOneOf([Violation.RateLimited, Violation.MinInterval]);
                now = earliest;
              }
              expect(applyAt(now)).toBe(APPLIED);
            } else applyAt(now);
          }
          expect(s3()).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("an engine on a fractional-millisecond clock never trips the monitor's S3", async () => {
    // Digests 0.3, 33.3, 100, 50, 1 ms apart: the paced applies land at 0.3, 100.3, 1000.3, …, and
    // 1000.3 − 0.3 is a hair under 1000 in floating point.
    const config = {
      seed: 0,
      params: { x: { min: 0, max: 100, maxDelta: 10 } },
      guardrails: GUARDRAILS,
      window: { digests: 1 },
    };
    const clock = new ManualClock();
    const engine = createEngine({ ...config, scheduler: clock });
    const monitor = new SafetyMonitor(safetySpecOf(config));
    let applies = 0;
    engine.events.subscribe((event) => {
      monitor.check(event);
      if (event.type === "apply") applies++;
    });
    for (let i = 0; i < 400; i++) {
      clock.advanceBy([0.3, 33.3, 100, 50, 1][(i * 7) % 5]!);
      engine.observe({ objective: (engine.value("x") - 30) ** 2 / 100, generation: engine.generation });
      engine.flushEvents();
    }
    await engine.close();
    expect(applies).toBeGreaterThan(10);
    expect(monitor.report().violations.map((v) => [v.property, v.message])).toEqual([]);
  });
});
