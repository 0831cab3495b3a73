import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import type { Digest } from "../src/engine/digest.js";
import type { DigestVerdict, Engine } from "../src/engine/engine.js";
import type { GuardrailsInput } from "../src/hotpath/guardrails.js";
import { engineRig, eventsOfType, moveLimit } from "./support/engine-harness.js";

const PARAMS = {
  x: { min: -5, max: 5, init: 1 },
  lr: { min: 1e-4, max: 1, init: 0.01, scale: "log" },
  n: { min: 1, max: 512, init: 64, maxDelta: 16 },
} as const satisfies EngineConfig["params"];
const NAMES = Object.keys(PARAMS) as (keyof typeof PARAMS)[];
const MAX_AGE_MS = 2_000;
const MAX_SKEW_MS = 300;

/** What to feed at one step; digests are built at feeding time from the engine's state. */
type Recipe =
  | {
      readonly kind: "valid";
      readonly objective: number | "bowl";
      readonly ageMs: number;
      readonly stamped: boolean;
    }
  | { readonly kind: "non-finite"; readonly objective: number }
  | { readonly kind: "wrong-generation"; readonly offset: number }
  | { readonly kind: "stale"; readonly extraMs: number }
  | { readonly kind: "future"; readonly extraMs: number }
  | { readonly kind: "garbage"; readonly value: unknown }
  | { readonly kind: "throwing-getter" }
  | { readonly kind: "rollback" }
  | { readonly kind: "set-baseline" };

const recipe: fc.Arbitrary<Recipe> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant("valid" as const),
      objective: fc.oneof(
        fc.constant("bowl" as const),
        fc.double({ min: -1e9, max: 1e9, noNaN: true, noDefaultInfinity: true }),
      ),
      ageMs: fc.integer({ min: 0, max: 300 }),
      stamped: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("non-finite" as const),
      objective: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("wrong-generation" as const),
      offset: fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("stale" as const), extraMs: fc.integer({ min: 1, max: 1e6 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("future" as const), extraMs: fc.integer({ min: 1, max: 1e6 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("garbage" as const), value: fc.anything() }) },
  { weight: 1, arbitrary: fc.constant({ kind: "throwing-getter" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "rollback" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "set-baseline" as const }) },
);

const step: fc.Arbitrary<Step> = fc.record({ dtMs: fc.integer({ min: 0, max: 400 }), recipe });

/** Engine settings of one property run. */
interface Settings {
  seed: number;
  window: { digests: number; ms?: number };
  guardrails: GuardrailsInput;
  settleMs: number;
  stallAfter: number;
}
/** One step of a stream: move the clock, then feed a recipe. */
interface Step {
  dtMs: number;
  recipe: Recipe;
}

/** Engine settings the streams run against (always virtual time, integer milliseconds). */
const settings: fc.Arbitrary<Settings> = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  window: fc.oneof(
    fc.record({ digests: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ digests: fc.integer({ min: 1, max: 4 }), ms: fc.integer({ min: 50, max: 600 }) }),
  ),
  guardrails: fc.constantFrom<GuardrailsInput>("balanced", "aggressive", "conservative", {
    preset: "balanced",
    maxUpdatesPerSecond: 5,
    minIntervalMs: 200,
  }),
  settleMs: fc.constantFrom(0, 20),
  stallAfter: fc.integer({ min: 1, max: 4 }),
});

function bowl(values: Float64Array): number {
  return (values[0]! - 2) ** 2 + (Math.log10(values[1]!) + 3) ** 2 + ((values[2]! - 200) / 100) ** 2;
}

const throwing = {
  get objective(): number {
    throw new Error("host bug");
  },
  generation: 0,
};

function digestFor(engine: Engine, r: Recipe): unknown {
  const now = engine.now();
  const generation = engine.generation;
  switch (r.kind) {
    case "valid": {
      const objective = r.objective === "bowl" ? bowl(engine.values) : r.objective;
      return r.stamped ? { objective, generation, timestamp: now - r.ageMs } : { objective, generation };
    }
    case "non-finite":
      return { objective: r.objective, generation, timestamp: now };
    case "wrong-generation":
      return { objective: 1, generation: generation + r.offset, timestamp: now };
    case "stale":
      return { objective: 1, generation, timestamp: now - MAX_AGE_MS - r.extraMs };
    case "future":
      return { objective: 1, generation, timestamp: now + MAX_SKEW_MS + r.extraMs };
    case "garbage":
      return r.value;
    case "throwing-getter":
      return throwing;
    default:
      throw new Error(`not a digest: ${r.kind}`);
  }
}

const VERDICTS: readonly DigestVerdict[] = [
  "accepted",
  "malformed",
  "non-finite-objective",
  "wrong-generation",
  "settling",
  "too-old",
  "from-future",
];

const MIN = NAMES.map((n) => PARAMS[n].min);
const MAX = NAMES.map((n) => PARAMS[n].max);

interface Run {
  readonly engine: Engine;
  readonly rig: ReturnType<typeof engineRig>;
  /** Problems found, as readable strings (empty when every invariant held). */
  readonly problems: string[];
}

/**
 * Feeds a stream and checks after every scheduler step and every call: values finite and within
 * bounds; the generation only grows, by at most 1 per step; a +1 without a rollback moves every
 * parameter by at most its maxDelta; a rollback restores the baseline; nothing throws.
 */
function runStream(s: Settings, steps: readonly Step[]): Run {
  const rig = engineRig({ ...s, params: PARAMS, maxAgeMs: MAX_AGE_MS, maxSkewMs: MAX_SKEW_MS });
  const { engine, clock } = rig;
  const problems: string[] = [];
  const maxDelta = NAMES.map((_, i) => resolvedMaxDelta(s, i));
  let previous = Array.from(engine.values);
  let previousGeneration = engine.generation;
  let baseline = Array.from(engine.values);
  const check = (where: string, rolledBack = false) => {
    const values = Array.from(engine.values);
    const generation = engine.generation;
    values.forEach((v, i) => {
      if (!(Number.isFinite(v) && v >= MIN[i]! && v <= MAX[i]!))
        problems.push(`${where}: ${NAMES[i]} = ${v}`);
    });
    if (rolledBack) {
      if (generation !== previousGeneration + 1)
        problems.push(`${where}: rollback gave generation ${generation}`);
      if (values.some((v, i) => v !== baseline[i]))
        problems.push(`${where}: rollback did not restore the baseline`);
    } else if (generation === previousGeneration) {
      if (values.some((v, i) => v !== previous[i]))
        problems.push(`${where}: values changed without a new generation`);
    } else if (generation === previousGeneration + 1) {
      // SafeMode's automatic rollback restores the baseline: exempt from maxDelta by design (the
      // centre may have stepped far from it, calibration included).
      const restoredBaseline = values.every((v, i) => v === baseline[i]);
      if (!restoredBaseline)
        values.forEach((v, i) => {
          const move = Math.abs(v - previous[i]!);
          if (move > moveLimit(maxDelta[i]!, MIN[i]!, MAX[i]!)) {
            problems.push(`${where}: ${NAMES[i]} moved ${move} > maxDelta ${maxDelta[i]}`);
          }
        });
    } else {
      problems.push(`${where}: generation went from ${previousGeneration} to ${generation}`);
    }
    previous = values;
    previousGeneration = generation;
  };
  steps.forEach(({ dtMs, recipe: r }, i) => {
    clock.advanceBy(dtMs, () => check(`step ${i}, scheduler at ${clock.now()}`));
    try {
      if (r.kind === "rollback") {
        if (!engine.rollback("property")) problems.push(`step ${i}: rollback refused`);
        check(`step ${i} (rollback)`, true);
      } else if (r.kind === "set-baseline") {
        engine.setBaseline();
        baseline = Array.from(engine.values);
        check(`step ${i} (setBaseline)`);
      } else {
        const verdict = engine.observe(digestFor(engine, r) as Digest);
        if (!VERDICTS.includes(verdict)) problems.push(`step ${i}: verdict ${verdict}`);
        if (r.kind !== "valid" && r.kind !== "garbage" && verdict === "accepted") {
          problems.push(`step ${i}: a ${r.kind} digest was accepted`);
        }
        check(`step ${i} (observe ${r.kind} → ${verdict})`);
      }
    } catch (error) {
      problems.push(`step ${i}: ${r.kind} threw ${String(error)}`);
    }
  });
  clock.advanceBy(1_000, () => check("tail"));
  if (engine.failure !== undefined) problems.push(`engine failure: ${String(engine.failure)}`);
  engine.flushEvents();
  return { engine, rig, problems };
}

/** maxDelta of parameter i as the engine resolves it (explicit, else the preset's share of the range). */
function resolvedMaxDelta(s: Settings, i: number): number {
  const spec = PARAMS[NAMES[i]!] as { min: number; max: number; maxDelta?: number };
  if (spec.maxDelta !== undefined) return spec.maxDelta;
  const preset = typeof s.guardrails === "string" ? s.guardrails : (s.guardrails.preset ?? "balanced");
  const share = { conservative: 0.05, balanced: 0.1, aggressive: 0.2 }[preset];
  return share * (spec.max - spec.min);
}

const streams = fc.tuple(settings, fc.array(step, { minLength: 1, maxLength: 150, size: "max" }));

describe("engine properties over random digest streams", () => {
  it("observe never throws; every apply stays within bounds and maxDelta; generation +1 per apply", () => {
    const seen = { applies: 0, rollbacks: 0, accepted: 0, rejected: 0 };
    fc.assert(
      fc.property(streams, ([s, steps]) => {
        const { engine, rig, problems } = runStream(s, steps);
        expect(problems).toEqual([]);
        // The audit trail agrees: applies and rollbacks carry generations 1, 2, 3, … in order.
        const writes = rig.events.filter((e) => e.type === "apply" || e.type === "rollback");
        expect(writes.map((e) => e.generation)).toEqual(writes.map((_, i) => i + 1));
        expect(engine.snapshot().applies.applied).toBe(engine.generation);
        // Whatever Tier 1 refused, it was never an illegal point (only timing can be refused).
        const illegal = eventsOfType(rig.events, "violation").filter((v) =>
          ["UnknownParameter", "NonFinite", "OutOfBounds", "DeltaTooLarge"].includes(v.violation),
        );
        expect(illegal).toEqual([]);
        // Every digest got a verdict and was counted once.
        const digests = steps.filter((x) => x.recipe.kind !== "rollback" && x.recipe.kind !== "set-baseline");
        const counted = engine.snapshot().digests;
        expect(counted.accepted + counted.rejected).toBe(digests.length);
        expect(eventsOfType(rig.events, "digest.rejected")).toHaveLength(counted.rejected);
        seen.applies += eventsOfType(rig.events, "apply").length;
        seen.rollbacks += eventsOfType(rig.events, "rollback").length;
        seen.accepted += counted.accepted;
        seen.rejected += counted.rejected;
        void engine.close();
      }),
      { numRuns: 150 },
    );
    // The streams did exercise the engine: many applies, rollbacks, and both kinds of verdict.
    // (Fewer than without SafeMode: a NaN or a spike in a stream rolls back and freezes the engine.)
    expect(seen.applies).toBeGreaterThan(200);
    expect(seen.rollbacks).toBeGreaterThan(100);
    expect(seen.accepted).toBeGreaterThan(2000);
    expect(seen.rejected).toBeGreaterThan(2000);
  });

  it("the engine's own proposals are never refused by Tier 1 (it paces itself to the guardrails)", () => {
    fc.assert(
      fc.property(streams, ([s, steps]) => {
        const { engine, rig } = runStream(s, steps);
        expect(eventsOfType(rig.events, "violation")).toEqual([]);
        expect(engine.snapshot().applies.refused).toBe(0);
        void engine.close();
      }),
      { numRuns: 150 },
    );
  });

  it("same settings and stream give the same applies", () => {
    fc.assert(
      fc.property(streams, ([s, steps]) => {
        const a = runStream(s, steps);
        const b = runStream(s, steps);
        expect(b.rig.events).toEqual(a.rig.events);
        expect(Array.from(b.engine.values)).toEqual(Array.from(a.engine.values));
        void a.engine.close();
        void b.engine.close();
      }),
      { numRuns: 40 },
    );
  });
});
