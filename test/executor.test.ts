import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApplyKind } from "../src/audit/apply-kind.js";
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../src/audit/events.js";
import { AuditRing } from "../src/audit/ring.js";
import { RollbackReason } from "../src/audit/rollback-reason.js";
import { APPLIED, Violation, violationName } from "../src/audit/violation.js";
import { ConfigError } from "../src/errors.js";
import { Executor } from "../src/hotpath/executor.js";
import {
  GUARDRAIL_PRESETS,
  type Guardrails,
  type GuardrailsInput,
  guardrailIssues,
  resolveGuardrails,
} from "../src/hotpath/guardrails.js";
import { LiveConfig } from "../src/hotpath/live-config.js";
import { ParamRegistry } from "../src/space/param-registry.js";

/** Three parameters: linear a ∈ [0, 100] at 50 (maxDelta 10), log b ∈ [1, 1000] at 10 (maxDelta 5), linear c ∈ [−1, 1] at 0 (maxDelta 0.2). */
function makeRegistry(): ParamRegistry {
  return new ParamRegistry({
    a: { min: 0, max: 100, init: 50, maxDelta: 10 },
    b: { min: 1, max: 1000, init: 10, maxDelta: 5, scale: "log" },
    c: { min: -1, max: 1, init: 0, maxDelta: 0.2 },
  });
}

interface Rig {
  readonly registry: ParamRegistry;
  readonly live: LiveConfig;
  readonly ring: AuditRing;
  readonly executor: Executor;
  /** Unit-cube target for raw values (registry order). */
  readonly unit: (raw: readonly number[]) => Float64Array;
}

function makeRig(guardrails: GuardrailsInput = "balanced"): Rig {
  const registry = makeRegistry();
  const live = new LiveConfig(registry.init);
  const ring = new AuditRing({ runId: "test", capacity: 256, paramNames: registry.names });
  const executor = new Executor(registry, live, resolveGuardrails(guardrails), ring);
  const unit = (raw: readonly number[]) => Float64Array.from(raw, (x, i) => registry.toUnit(i, x));
  return { registry, live, ring, executor, unit };
}

/** A target that moves every parameter a little from the initial point (within maxDelta). */
function smallMove(rig: Rig, step: number): Float64Array {
  return rig.unit([50 + step, 10 + step / 2, step / 50]);
}

interface ViolationCase {
  readonly name: string;
  readonly code: number;
  /** Brings the executor into the state the case needs (may apply or change modes). */
  readonly setup?: (rig: Rig) => void;
  readonly target: (rig: Rig) => Float64Array;
  readonly now: number;
  readonly param: number;
  readonly value: number;
  readonly limit: number;
}

const CASES: readonly ViolationCase[] = [
  {
    name: "UnknownParameter: target shorter than the registry",
    code: Violation.UnknownParameter,
    target: () => new Float64Array([0.5, 0.5]),
    now: 1000,
    param: -1,
    value: 2,
    limit: 3,
  },
  {
    name: "UnknownParameter: target longer than the registry",
    code: Violation.UnknownParameter,
    target: () => new Float64Array([0.5, 0.5, 0.5, 0.5]),
    now: 1000,
    param: -1,
    value: 4,
    limit: 3,
  },
  {
    name: "NonFinite: NaN coordinate",
    code: Violation.NonFinite,
    target: (rig) => {
      const t = smallMove(rig, 1);
      t[1] = Number.NaN;
      return t;
    },
    now: 1000,
    param: 1,
    value: Number.NaN,
    limit: Number.NaN,
  },
  {
    name: "NonFinite wins over an earlier OutOfBounds coordinate",
    code: Violation.NonFinite,
    target: () => new Float64Array([2, 0.5, Number.POSITIVE_INFINITY]),
    now: 1000,
    param: 2,
    value: Number.POSITIVE_INFINITY,
    limit: Number.NaN,
  },
  {
    name: "OutOfBounds: above 1",
    code: Violation.OutOfBounds,
    target: (rig) => {
      const t = smallMove(rig, 1);
      t[2] = 1.0000001;
      return t;
    },
    now: 1000,
    param: 2,
    value: 1.0000001,
    limit: 1,
  },
  {
    name: "OutOfBounds: below 0",
    code: Violation.OutOfBounds,
    target: (rig) => {
      const t = smallMove(rig, 1);
      t[0] = -0.01;
      return t;
    },
    now: 1000,
    param: 0,
    value: -0.01,
    limit: 0,
  },
  {
    name: "DeltaTooLarge: linear parameter moved 11 with maxDelta 10",
    code: Violation.DeltaTooLarge,
    target: (rig) => rig.unit([61, 10, 0]),
    now: 1000,
    param: 0,
    value: 11,
    limit: 10,
  },
  {
    name: "DeltaTooLarge: log parameter moved 6 with maxDelta 5 (raw units)",
    code: Violation.DeltaTooLarge,
    target: (rig) => rig.unit([50, 16, 0]),
    now: 1000,
    param: 1,
    value: 6,
    limit: 5,
  },
  {
    name: "DeltaTooLarge: judged against the CURRENT live value, not the initial one",
    code: Violation.DeltaTooLarge,
    setup: (rig) => expect(rig.executor.apply(rig.unit([58, 10, 0]), 1, ApplyKind.Plus, 0)).toBe(APPLIED),
    // 44 is within 10 of the initial 50 but 14 away from the live 58.
    target: (rig) => rig.unit([44, 10, 0]),
    now: 1000,
    param: 0,
    value: 14,
    limit: 10,
  },
  {
    name: "InvalidTime: now is NaN",
    code: Violation.InvalidTime,
    target: (rig) => smallMove(rig, 1),
    now: Number.NaN,
    param: -1,
    value: Number.NaN,
    limit: Number.NaN,
  },
  {
    name: "RateLimited: an 11th apply within 1000 ms (balanced: 10/s)",
    code: Violation.RateLimited,
    setup: (rig) => {
      for (let k = 0; k < 10; k++) {
        expect(rig.executor.apply(smallMove(rig, k % 2), k, ApplyKind.Plus, k * 100)).toBe(APPLIED);
      }
    },
    target: (rig) => smallMove(rig, 0.5),
    now: 999,
    param: -1,
    value: 10,
    limit: 10,
  },
  {
    name: "MinInterval: 99 ms after the last apply (balanced: 100 ms)",
    code: Violation.MinInterval,
    setup: (rig) => expect(rig.executor.apply(smallMove(rig, 1), 1, ApplyKind.Plus, 500)).toBe(APPLIED),
    target: (rig) => smallMove(rig, 2),
    now: 599,
    param: -1,
    value: 99,
    limit: 100,
  },
  {
    name: "MinInterval: the clock went backwards",
    code: Violation.MinInterval,
    setup: (rig) => expect(rig.executor.apply(smallMove(rig, 1), 1, ApplyKind.Plus, 5000)).toBe(APPLIED),
    target: (rig) => smallMove(rig, 2),
    now: 4000,
    param: -1,
    value: -1000,
    limit: 100,
  },
  {
    name: "Cooldown: before the cooldown ends",
    code: Violation.Cooldown,
    setup: (rig) => rig.executor.startCooldown(5000),
    target: (rig) => smallMove(rig, 1),
    now: 4999,
    param: -1,
    value: 4999,
    limit: 5000,
  },
  {
    name: "Blocked: the mode word refuses applies",
    code: Violation.Blocked,
    setup: (rig) => rig.executor.setBlocked(true),
    target: (rig) => smallMove(rig, 1),
    now: 1000,
    param: -1,
    value: 1,
    limit: 0,
  },
];

function lastEvent(ring: AuditRing): AuditEvent {
  const events = ring.drain();
  return events[events.length - 1]!;
}

describe("Executor violations (table)", () => {
  it.each(CASES)("$name", (c) => {
    const rig = makeRig();
    c.setup?.(rig);
    rig.ring.drain();
    const before = Float64Array.from(rig.live.values);
    const generation = rig.live.generation;
    const lastApplyAt = rig.executor.lastApplyAt;

    const code = rig.executor.apply(c.target(rig), 77, ApplyKind.Minus, c.now);

    expect(code).toBe(c.code);
    expect(violationName(code)).toBe(c.name.split(":")[0]!.split(" ")[0]);
    const details = rig.executor.lastViolation;
    expect(details.code).toBe(c.code);
    expect(details.param).toBe(c.param);
    if (Number.isNaN(c.value)) expect(details.value).toBeNaN();
    else expect(details.value).toBeCloseTo(c.value, 9);
    expect(details.limit).toBe(c.limit);
    // Nothing changed, and the readers' mirror (where the target was staged) shows the live values.
    expect([...rig.live.values]).toEqual([...before]);
    expect([...rig.live.mirror]).toEqual([...before]);
    expect(rig.live.generation).toBe(generation);
    expect(rig.executor.lastApplyAt).toBe(lastApplyAt);
    expect(rig.executor.results[c.code]).toBe(1);
    // Audited.
    const event = lastEvent(rig.ring);
    expect(event).toMatchObject({
      type: "violation",
      violation: violationName(c.code),
      param: c.param,
      limit: c.limit,
      generation,
      proposalId: 77,
    });
    if (c.param >= 0) expect(event).toMatchObject({ paramName: rig.registry.names[c.param] });
    const recorded = (event as { value: number }).value;
    if (Number.isNaN(c.value)) expect(recorded).toBeNaN();
    else expect(recorded).toBeCloseTo(c.value, 9);
    expect(Object.is(event.time, c.now)).toBe(true);
  });

  it("covers every apply violation code in the table", () => {
    const covered = new Set(CASES.map((c) => c.code));
    const applyCodes = Object.values(Violation).filter((code) => code !== Violation.NoBaseline);
    expect([...covered].sort()).toEqual([...applyCodes].sort());
  });

  it("NoBaseline: a rollback without a baseline changes nothing and is audited", () => {
    const rig = makeRig();
    expect(rig.executor.apply(smallMove(rig, 1), 1, ApplyKind.Plus, 0)).toBe(APPLIED);
    rig.ring.drain();
    const before = Float64Array.from(rig.live.values);
    const code = rig.executor.rollback(RollbackReason.Manual, 1000, "operator");
    expect(code).toBe(Violation.NoBaseline);
    expect(violationName(code)).toBe("NoBaseline");
    expect(rig.executor.lastViolation).toMatchObject({ code: Violation.NoBaseline, param: -1 });
    expect([...rig.live.values]).toEqual([...before]);
    expect(rig.live.generation).toBe(1);
    expect(lastEvent(rig.ring)).toMatchObject({
      type: "violation",
      violation: "NoBaseline",
      generation: 1,
      time: 1000,
      note: "operator",
    });
  });

  it("lets the next apply through at the exact limits (1000 ms window, minimum interval, cooldown end)", () => {
    const rate = makeRig();
    for (let k = 0; k < 10; k++) rate.executor.apply(smallMove(rate, k % 2), k, ApplyKind.Plus, k * 100);
    expect(rate.executor.apply(smallMove(rate, 0.5), 10, ApplyKind.Plus, 1000)).toBe(APPLIED);

    const interval = makeRig();
    interval.executor.apply(smallMove(interval, 1), 1, ApplyKind.Plus, 500);
    expect(interval.executor.apply(smallMove(interval, 2), 2, ApplyKind.Minus, 600)).toBe(APPLIED);

    const cooldown = makeRig();
    cooldown.executor.startCooldown(5000);
    cooldown.executor.startCooldown(3000); // an earlier end never shortens a running cooldown
    expect(cooldown.executor.cooldownUntil).toBe(5000);
    expect(cooldown.executor.apply(smallMove(cooldown, 1), 1, ApplyKind.Plus, 5000)).toBe(APPLIED);
  });

  it("accepts a move of exactly maxDelta despite round-off, and rejects one a millionth larger", () => {
    const rig = makeRig();
    expect(rig.executor.apply(rig.unit([60, 15, 0.2]), 1, ApplyKind.Plus, 0)).toBe(APPLIED);
    expect(rig.executor.apply(rig.unit([50 - 10e-6, 15, 0.2]), 2, ApplyKind.Minus, 1000)).toBe(
      Violation.DeltaTooLarge,
    );
    expect(rig.executor.lastViolation.param).toBe(0);
  });

  it("unblocks and clears a cooldown on request", () => {
    const rig = makeRig();
    rig.executor.setBlocked(true);
    expect(rig.executor.blocked).toBe(true);
    rig.executor.setBlocked(false);
    rig.executor.startCooldown(1e9);
    rig.executor.clearCooldown();
    expect(rig.executor.apply(smallMove(rig, 1), 1, ApplyKind.Plus, 0)).toBe(APPLIED);
  });
});

describe("Executor success path", () => {
  it("writes the raw values, bumps the generation and audits the apply", () => {
    const rig = makeRig();
    const target = rig.unit([55, 12, -0.1]);
    const code = rig.executor.apply(target, 42, ApplyKind.Plus, 250);
    expect(code).toBe(APPLIED);
    const expected = [...target].map((u, i) => rig.registry.toRaw(i, u));
    expect([...rig.live.values]).toEqual(expected);
    expect(rig.live.values[0]).toBeCloseTo(55, 9);
    expect(rig.live.values[1]).toBeCloseTo(12, 9);
    expect(rig.live.values[2]).toBeCloseTo(-0.1, 9);
    expect(rig.live.generation).toBe(1);
    expect(rig.executor.generation).toBe(1);
    expect(rig.executor.lastApplyAt).toBe(250);
    expect(rig.executor.results[APPLIED]).toBe(1);
    expect(rig.ring.drain()).toEqual([
      {
        v: AUDIT_SCHEMA_VERSION,
        runId: "test",
        seq: 1,
        type: "apply",
        kind: "plus",
        generation: 1,
        proposalId: 42,
        time: 250,
      },
    ]);
  });

  it("writes exactly registry.toRaw of the target, for linear and log parameters alike (property)", () => {
    const linearOnly = new ParamRegistry({
      x: { min: -3, max: 7.5, init: 0 },
      y: { min: 1e-3, max: 2e-3 },
    });
    for (const registry of [makeRegistry(), linearOnly]) {
      fc.assert(
        fc.property(
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }),
          (u) => {
            const target = Float64Array.from(u.slice(0, registry.size));
            // Start at the target itself, so no move is too large, then apply it.
            const start = Float64Array.from(target, (x, i) => registry.toRaw(i, x));
            const live = new LiveConfig(start);
            const ring = new AuditRing({ runId: "r" });
            const executor = new Executor(registry, live, resolveGuardrails(), ring);
            expect(executor.apply(target, 1, ApplyKind.Manual, 0)).toBe(APPLIED);
            expect([...live.values]).toEqual([...start]);
          },
        ),
      );
    }
  });

  it("reports the first parameter that moves too far, and a bad coordinate even after it", () => {
    const rig = makeRig();
    expect(rig.executor.apply(rig.unit([50, 16, 0.5]), 1, ApplyKind.Plus, 0)).toBe(Violation.DeltaTooLarge);
    expect(rig.executor.lastViolation.param).toBe(1);
    const tooFarThenBad = rig.unit([70, 10, 0]);
    tooFarThenBad[2] = 1.5;
    expect(rig.executor.apply(tooFarThenBad, 2, ApplyKind.Plus, 0)).toBe(Violation.OutOfBounds);
    expect(rig.executor.lastViolation.param).toBe(2);
  });

  it("runs an SPSA cycle plus → minus → centre as three audited generations", () => {
    const rig = makeRig();
    expect(rig.executor.apply(rig.unit([54, 10, 0]), 1, ApplyKind.Plus, 0)).toBe(APPLIED);
    expect(rig.executor.apply(rig.unit([46, 10, 0]), 2, ApplyKind.Minus, 200)).toBe(APPLIED);
    expect(rig.executor.apply(rig.unit([51, 10, 0]), 3, ApplyKind.Centre, 400)).toBe(APPLIED);
    expect(rig.live.generation).toBe(3);
    expect(rig.ring.drain().map((e) => (e.type === "apply" ? `${e.kind}@${e.generation}` : e.type))).toEqual([
      "plus@1",
      "minus@2",
      "centre@3",
    ]);
  });

  it("rolls back to the baseline as a new generation, audited with reason and note", () => {
    const rig = makeRig();
    rig.executor.setBaseline(0);
    expect(rig.executor.apply(smallMove(rig, 5), 1, ApplyKind.Plus, 100)).toBe(APPLIED);
    expect(rig.executor.apply(smallMove(rig, 9), 2, ApplyKind.Centre, 300)).toBe(APPLIED);
    // Rollback is the way back to safety: it ignores maxDelta, the block and the cooldown.
    rig.executor.setBlocked(true);
    rig.executor.startCooldown(10_000);
    expect(rig.executor.rollback(RollbackReason.Manual, 350, "latency spike")).toBe(APPLIED);
    expect([...rig.live.values]).toEqual([...rig.registry.init]);
    expect(rig.live.generation).toBe(3);
    expect(rig.executor.lastApplyAt).toBe(350);
    expect(rig.ring.drain().map((e) => e.type)).toEqual(["baseline.set", "apply", "apply", "rollback"]);
    rig.executor.setBaseline(400);
    rig.executor.rollback(RollbackReason.Regression, 500);
    const events = rig.ring.drain();
    expect(events[0]).toMatchObject({ type: "baseline.set", generation: 3, time: 400 });
    expect(events[1]).toMatchObject({
      type: "rollback",
      reason: "regression",
      restoredGeneration: 3,
      generation: 4,
    });
    expect(events[1]).not.toHaveProperty("note");
  });

  it("audits the manual rollback's note and restored generation", () => {
    const rig = makeRig();
    rig.executor.setBaseline(0);
    rig.executor.apply(smallMove(rig, 1), 1, ApplyKind.Plus, 0);
    rig.ring.drain();
    rig.executor.rollback(RollbackReason.Manual, 1000, "latency spike");
    expect(rig.ring.drain()).toMatchObject([
      {
        type: "rollback",
        reason: "manual",
        note: "latency spike",
        restoredGeneration: 0,
        generation: 2,
        time: 1000,
      },
    ]);
  });

  it("counts a rollback against the minimum interval of the next apply", () => {
    const rig = makeRig();
    rig.executor.setBaseline(0);
    rig.executor.apply(smallMove(rig, 1), 1, ApplyKind.Plus, 0);
    rig.executor.rollback(RollbackReason.Manual, 1000);
    expect(rig.executor.apply(smallMove(rig, 1), 2, ApplyKind.Plus, 1050)).toBe(Violation.MinInterval);
    expect(rig.executor.apply(smallMove(rig, 1), 3, ApplyKind.Plus, 1100)).toBe(APPLIED);
  });

  it("does not count a rollback against the rate limit", () => {
    // Conservative: 2 applies per 1000 ms, 500 ms apart. Apply, roll back soon after, then apply
    // once the interval has passed: the rollback took no rate slot.
    const rig = makeRig("conservative");
    rig.executor.setBaseline(0);
    const near = rig.unit([52, 10.5, 0.02]);
    expect(rig.executor.apply(near, 1, ApplyKind.Plus, 0)).toBe(APPLIED);
    expect(rig.executor.rollback(RollbackReason.Manual, 50)).toBe(APPLIED);
    expect(rig.executor.applyAllowedAt()).toBe(550);
    expect(rig.executor.apply(near, 2, ApplyKind.Plus, 550)).toBe(APPLIED);
    // Had the rollback taken a slot, the window (0, 50, 550) would have refused that apply.
    expect(rig.executor.applyAllowedAt()).toBe(1050);
    expect(rig.executor.apply(near, 3, ApplyKind.Plus, 1049)).toBe(Violation.MinInterval);
    expect(rig.executor.apply(near, 3, ApplyKind.Plus, 1050)).toBe(APPLIED);
  });

  it("names the earliest time the time rules allow, exactly (property)", () => {
    const step = fc.record({
      dt: fc.double({ min: 0, max: 700, noNaN: true }),
      action: fc.constantFrom("apply", "apply", "apply", "rollback", "cooldown"),
    });
    fc.assert(
      fc.property(
        fc.constantFrom("conservative", "balanced", "aggressive") as fc.Arbitrary<GuardrailsInput>,
        fc.array(step, { maxLength: 30 }),
        (preset, steps) => {
          const rig = makeRig(preset);
          rig.executor.setBaseline(0);
          let now = 0;
          let flip = 0;
          for (const { dt, action } of steps) {
            now += dt;
            if (action === "apply") rig.executor.apply(smallMove(rig, flip++ % 2), 0, ApplyKind.Plus, now);
            else if (action === "rollback") rig.executor.rollback(RollbackReason.Manual, now);
            else rig.executor.startCooldown(now + dt);
          }
          const earliest = rig.executor.applyAllowedAt();
          const timeCodes: number[] = [Violation.RateLimited, Violation.MinInterval, Violation.Cooldown];
          const target = smallMove(rig, flip % 2);
          if (Number.isFinite(earliest)) {
            const before = earliest - Math.max(Number.EPSILON * Math.abs(earliest), Number.MIN_VALUE);
            expect(timeCodes).toContain(rig.executor.apply(target, 1, ApplyKind.Plus, before));
          }
          const at = Number.isFinite(earliest) ? Math.max(earliest, now) : now;
          const code = rig.executor.apply(target, 2, ApplyKind.Plus, at);
          expect(timeCodes).not.toContain(code);
        },
      ),
    );
  });

  it("refuses to build over a live config of another size", () => {
    const registry = makeRegistry();
    const ring = new AuditRing({ runId: "r" });
    expect(() => new Executor(registry, new LiveConfig([1, 2]), resolveGuardrails(), ring)).toThrow(
      RangeError,
    );
  });
});

describe("Executor determinism", () => {
  const call = fc.record({
    // Mostly small moves around the centre; sometimes garbage.
    target: fc.oneof(
      {
        weight: 6,
        arbitrary: fc.array(fc.double({ min: 0.3, max: 0.7, noNaN: true }), { minLength: 3, maxLength: 3 }),
      },
      { weight: 1, arbitrary: fc.array(fc.double(), { minLength: 2, maxLength: 4 }) },
    ),
    kind: fc.constantFrom(ApplyKind.Plus, ApplyKind.Minus, ApplyKind.Centre, ApplyKind.Manual),
    dt: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constant(Number.NaN)),
    action: fc.constantFrom("apply", "apply", "apply", "apply", "rollback", "baseline", "block", "cooldown"),
  });

  type Call = {
    readonly target: number[];
    readonly kind: ApplyKind;
    readonly dt: number;
    readonly action: string;
  };

  function run(calls: readonly Call[]) {
    const rig = makeRig("aggressive");
    let now = 0;
    const results: number[] = [];
    calls.forEach((step, id) => {
      now = Number.isNaN(step.dt) ? now : now + step.dt;
      const at = Number.isNaN(step.dt) ? Number.NaN : now;
      if (step.action === "apply")
        results.push(rig.executor.apply(Float64Array.from(step.target), id, step.kind, at));
      else if (step.action === "rollback") results.push(rig.executor.rollback(RollbackReason.Manual, at));
      else if (step.action === "baseline") rig.executor.setBaseline(at);
      else if (step.action === "block") rig.executor.setBlocked(!rig.executor.blocked);
      else rig.executor.startCooldown(now + 300);
    });
    return {
      results,
      values: [...rig.live.values],
      generation: rig.live.generation,
      events: rig.ring.drain(),
    };
  }

  it("gives identical results, values, generations and audit for the same (state, proposals, times)", () => {
    fc.assert(
      fc.property(fc.array(call, { maxLength: 40 }), (calls) => {
        const first = run(calls);
        const second = run(calls);
        expect(second).toEqual(first);
        // The generation counts exactly the successful applies and rollbacks.
        expect(first.generation).toBe(first.results.filter((r) => r === APPLIED).length);
      }),
    );
  });

  it("never moves a parameter further than its maxDelta, whatever it is asked (property)", () => {
    fc.assert(
      fc.property(fc.array(call, { maxLength: 40 }), (calls) => {
        const rig = makeRig("aggressive");
        let now = 0;
        for (const c of calls) {
          now += Number.isNaN(c.dt) ? 0 : c.dt;
          const before = Float64Array.from(rig.live.values);
          if (rig.executor.apply(Float64Array.from(c.target), 0, c.kind, now) === APPLIED) {
            for (let i = 0; i < rig.registry.size; i++) {
              const move = Math.abs(rig.live.values[i]! - before[i]!);
              expect(move).toBeLessThanOrEqual(rig.registry.maxDelta[i]! * (1 + 1e-6));
              expect(rig.live.values[i]).toBeGreaterThanOrEqual(rig.registry.min[i]!);
              expect(rig.live.values[i]).toBeLessThanOrEqual(rig.registry.max[i]!);
            }
          } else {
            expect([...rig.live.values]).toEqual([...before]);
          }
          expect([...rig.live.mirror]).toEqual([...rig.live.values]);
        }
      }),
    );
  });
});

describe("Guardrails", () => {
  const tuple = (g: Guardrails) => [
    g.maxDeltaFraction,
    g.maxUpdatesPerSecond,
    g.minIntervalMs,
    g.flipLimit,
    g.cooldownMs,
    g.changeBudget,
    g.regressionLimit,
  ];

  it("has the three presets with the original engine's numbers (balanced is the default)", () => {
    expect(tuple(GUARDRAIL_PRESETS.conservative)).toEqual([0.05, 2, 500, 2, 60_000, 0.25, 3]);
    expect(tuple(GUARDRAIL_PRESETS.balanced)).toEqual([0.1, 10, 100, 3, 30_000, 0.5, 5]);
    expect(tuple(GUARDRAIL_PRESETS.aggressive)).toEqual([0.2, 20, 50, 5, 10_000, 1, 8]);
    for (const preset of Object.values(GUARDRAIL_PRESETS)) {
      expect(preset.flipWindowMs).toBe(60_000);
      expect(preset.budgetWindowMs).toBe(60_000);
    }
    expect(resolveGuardrails()).toEqual(GUARDRAIL_PRESETS.balanced);
    expect(resolveGuardrails("conservative")).toEqual(GUARDRAIL_PRESETS.conservative);
  });

  it("applies overrides on top of the named preset (balanced when none is named)", () => {
    expect(resolveGuardrails({ minIntervalMs: 0 })).toEqual({
      ...GUARDRAIL_PRESETS.balanced,
      minIntervalMs: 0,
    });
    expect(
      resolveGuardrails({ preset: "aggressive", maxUpdatesPerSecond: Number.POSITIVE_INFINITY }),
    ).toEqual({
      ...GUARDRAIL_PRESETS.aggressive,
      maxUpdatesPerSecond: Number.POSITIVE_INFINITY,
    });
  });

  it("reports every invalid field with its path", () => {
    const input = {
      preset: "reckless",
      maxUpdatesPerSecond: 2.5,
      cooldownMs: -1,
      flipLimit: Number.NaN,
      typo: 1,
    };
    expect(guardrailIssues(input).map((issue) => issue.path)).toEqual([
      "guardrails.preset",
      "guardrails.maxUpdatesPerSecond",
      "guardrails.cooldownMs",
      "guardrails.flipLimit",
      "guardrails.typo",
    ]);
    expect(guardrailIssues("wild")).toMatchObject([{ path: "guardrails" }]);
    expect(guardrailIssues(42, "engine.guardrails")).toMatchObject([{ path: "engine.guardrails" }]);
    expect(() => resolveGuardrails(input as unknown as GuardrailsInput)).toThrow(ConfigError);
  });

  it("disables the rate limit with Infinity", () => {
    const rig = makeRig({ maxUpdatesPerSecond: Number.POSITIVE_INFINITY, minIntervalMs: 0 });
    for (let k = 0; k < 100; k++) {
      expect(rig.executor.apply(smallMove(rig, k % 2), k, ApplyKind.Plus, k)).toBe(APPLIED);
    }
    expect(rig.live.generation).toBe(100);
  });
});
