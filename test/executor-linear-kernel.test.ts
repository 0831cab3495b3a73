import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApplyKind } from "../src/audit/apply-kind.js";
import { AuditRing } from "../src/audit/ring.js";
import { APPLIED, Violation } from "../src/audit/violation.js";
import { Executor, MAX_DELTA_RELATIVE_TOLERANCE, MAX_DELTA_ROUNDING_ULPS } from "../src/hotpath/executor.js";
import { resolveGuardrails } from "../src/hotpath/guardrails.js";
import { LiveConfig } from "../src/hotpath/live-config.js";
import { ParamRegistry, type ParamSpec } from "../src/space/param-registry.js";

// The all-linear apply loop handles four parameters at a time, skips the upper clamp when no
// parameter can round above its max, and leaves the rest to a one-at-a-time tail. These checks
// compare it with the documented rules, computed one parameter at a time, for every remainder
// and both clamp cases.

/** What `apply` must do, computed parameter by parameter from `registry.toRaw` (checks 1–4). */
function expected(
  registry: ParamRegistry,
  live: readonly number[],
  target: Float64Array,
): { code: number; param: number; values: readonly number[] } {
  for (let i = 0; i < target.length; i++)
    if (!Number.isFinite(target[i]!)) return { code: Violation.NonFinite, param: i, values: live };
  for (let i = 0; i < target.length; i++)
    if (target[i]! < 0 || target[i]! > 1) return { code: Violation.OutOfBounds, param: i, values: live };
  const raw = [...target].map((u, i) => registry.toRaw(i, u));
  for (let i = 0; i < raw.length; i++) {
    const min = registry.min[i]!;
    const max = registry.max[i]!;
    const limit =
      registry.maxDelta[i]! * (1 + MAX_DELTA_RELATIVE_TOLERANCE) +
      MAX_DELTA_ROUNDING_ULPS * Number.EPSILON * Math.max(Math.abs(min), Math.abs(max));
    if (Math.abs(raw[i]! - live[i]!) > limit)
      return { code: Violation.DeltaTooLarge, param: i, values: live };
  }
  return { code: APPLIED, param: -1, values: raw };
}

/** A linear parameter: bounds, start and maxDelta drawn so that moves of either verdict occur. */
const linearParam = fc
  .record({
    min: fc.double({ min: -1e3, max: 1e3, noNaN: true }),
    width: fc.double({ min: 1e-6, max: 1e3, noNaN: true }),
    start: fc.double({ min: 0, max: 1, noNaN: true }),
    delta: fc.double({ min: 0.01, max: 1.2, noNaN: true }),
  })
  .map(({ min, width, start, delta }): ParamSpec => {
    const max = min + width;
    return { min, max, init: min + start * (max - min), maxDelta: delta * (max - min) };
  })
  .filter((p) => p.max! > p.min! && Number.isFinite(p.maxDelta!) && p.maxDelta! > 0);

/** A coordinate: mostly in [0, 1] (its ends included), sometimes outside or not finite. */
const coordinate = fc.oneof(
  { weight: 12, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
  { weight: 2, arbitrary: fc.constantFrom(0, 1) },
  { weight: 1, arbitrary: fc.constantFrom(-1e-9, 1 + 1e-9, Number.NaN, Number.POSITIVE_INFINITY) },
);

describe("Executor apply over all-linear registries", () => {
  it("matches the per-parameter rules for 1 to 13 parameters (property)", () => {
    fc.assert(
      fc.property(
        fc
          .array(linearParam, { minLength: 1, maxLength: 13 })
          .chain((specs) =>
            fc.tuple(
              fc.constant(specs),
              fc.array(coordinate, { minLength: specs.length, maxLength: specs.length }),
            ),
          ),
        ([specs, coordinates]) => {
          const params: Record<string, ParamSpec> = {};
          specs.forEach((spec, i) => {
            params[`p${i}`] = spec;
          });
          const registry = new ParamRegistry(params);
          const live = new LiveConfig(registry.init);
          const before = [...live.values];
          const ring = new AuditRing({ runId: "r" });
          const executor = new Executor(registry, live, resolveGuardrails("balanced"), ring);
          const target = Float64Array.from(coordinates);
          const want = expected(registry, before, target);
          expect(executor.apply(target, 1, ApplyKind.Manual, 0)).toBe(want.code);
          if (want.code !== APPLIED) expect(executor.lastViolation.param).toBe(want.param);
          expect([...live.values]).toEqual([...want.values]);
          // The target is staged in the readers' mirror; a refusal puts the live values back.
          expect([...live.mirror]).toEqual([...want.values]);
          expect(live.generation).toBe(want.code === APPLIED ? 1 : 0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("clamps a mapping that lands above max, in the four-at-a-time loop and in the tail", () => {
    // A range too wide for a double: max − min overflows to Infinity, so lo + u·span lands above max
    // for every u > 0 and only the clamp brings it back, as registry.toRaw does.
    const params: Record<string, ParamSpec> = {};
    for (let i = 0; i < 6; i++) params[`p${i}`] = { min: -1e308, max: 1e308, init: 1e308, maxDelta: 1e308 };
    const registry = new ParamRegistry(params);
    expect(registry.toRaw(0, 1)).toBe(1e308);
    const live = new LiveConfig(registry.init);
    const executor = new Executor(
      registry,
      live,
      resolveGuardrails("balanced"),
      new AuditRing({ runId: "r" }),
    );
    expect(executor.apply(new Float64Array(6).fill(0.75), 1, ApplyKind.Manual, 0)).toBe(APPLIED);
    expect([...live.values]).toEqual(new Array(6).fill(1e308));
  });
});
