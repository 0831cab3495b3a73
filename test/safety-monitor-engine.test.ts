import { describe, expect, it } from "vitest";
import { ApplyKind } from "../src/audit/apply-kind.js";
import { Violation } from "../src/audit/violation.js";
import { createEngine, type Engine } from "../src/engine/engine.js";
import { type EngineConfig, monitorEngine, type SafetyViolation } from "../src/index.js";
import { Prng } from "../src/random/prng.js";
import { ManualClock } from "./support/engine-clock.js";

// The monitor watching real engines through the public API, and mutation tests: each one breaks a
// single guardrail the way a faulty build would (reaching into the engine, which only a test may
// do), drives a proposal that only that guardrail would have refused, and checks that the monitor
// — which reads nothing but the audit stream — names the broken property and halts the engine.

const CONFIG = {
  seed: 3,
  params: { x: { min: 0, max: 10, init: 5, maxDelta: 1 }, y: { min: 1, max: 100, init: 10, scale: "log" } },
  window: { digests: 3 },
  safety: { safeMode: { dwellMs: 1000, healthyWindows: 2 } },
} as const satisfies Omit<EngineConfig, "scheduler">;

interface Watched {
  readonly engine: Engine;
  readonly clock: ManualClock;
  readonly found: SafetyViolation[];
  readonly watch: ReturnType<typeof monitorEngine>;
}

function watched(): Watched {
  const clock = new ManualClock();
  const config = { ...CONFIG, scheduler: clock };
  const engine = createEngine(config);
  const found: SafetyViolation[] = [];
  const watch = monitorEngine(engine, config, { onViolation: (v) => found.push(v) });
  return { engine, clock, found, watch };
}

/** Feeds digests of a noisy bowl at the live point, one every 100 ms of virtual time. */
function feed(w: Watched, count: number, seed = 1): void {
  const noise = Prng.fromSeed(seed, 1);
  for (let i = 0; i < count; i++) {
    w.clock.advanceBy(100);
    const [x, y] = w.engine.values;
    w.engine.observe({
      objective: (x! - 3) ** 2 + Math.log(y! / 20) ** 2 + 0.05 * noise.normal(),
      generation: w.engine.generation,
    });
  }
  w.engine.flushEvents();
}

/** The engine's internals a faulty build would get wrong (test-only access). */
// biome-ignore lint/suspicious/noExplicitAny: mutation tests reach into private state on purpose
const internals = (engine: Engine): any => engine as any;

/** Lets a second of virtual time pass with no digest, so the pacing guardrails allow an apply. */
function later(w: Watched): void {
  w.clock.advanceBy(1000);
  w.engine.flushEvents();
}

/** Proposes `target` (unit cube, registry order) as a manual apply, as a faulty proposer would. */
function propose(w: Watched, target: readonly number[]): number {
  const inner = internals(w.engine);
  inner.target.set(target);
  const code = inner.applyTarget(ApplyKind.Manual);
  w.engine.flushEvents();
  return code;
}

/** Wraps the executor's time checks so that one violation code is let through. */
function letThrough(w: Watched, code: number): void {
  const executor = internals(w.engine).executor;
  const original = executor.checkTime.bind(executor);
  executor.checkTime = (now: number) => {
    const result = original(now);
    return result === code ? 0 : result;
  };
}

describe("monitorEngine on a healthy engine", () => {
  it("checks every event of a long run and finds nothing", () => {
    const w = watched();
    feed(w, 3000);
    const report = w.watch.report();
    expect(report.events).toBeGreaterThan(1000);
    expect(report.violations).toEqual([]);
    expect(w.engine.mode).toBe("normal");
    w.watch.stop();
  });

  it("with every guardrail intact, a faulty proposal is refused by Tier 1 and the monitor stays quiet", () => {
    const w = watched();
    feed(w, 30);
    const live = w.engine.values[0]!;
    const far = live > 5 ? 0 : 1;
    expect(propose(w, [far, 0.5])).toBe(Violation.DeltaTooLarge);
    expect(w.found).toEqual([]);
  });
});

describe("mutation tests: the monitor flags each disabled guardrail", () => {
  it("maxDelta check off → S2, and the engine is halted", () => {
    const w = watched();
    feed(w, 30);
    const inner = internals(w.engine);
    // The faulty build: Tier 1's move limits are rebuilt from a corrupted maxDelta.
    inner.registry.maxDelta.fill(1e9);
    inner.executor.setConservative(false);
    later(w);
    const far = w.engine.values[0]! > 5 ? 0 : 1;
    expect(propose(w, [far, inner.registry.toUnit(1, w.engine.values[1]!)])).toBe(0);
    expect(w.found.map((v) => v.property)).toEqual(["S2"]);
    expect(w.found[0]!.message).toMatch(
      /^x moved [\d.]+ \(.+\) in one manual apply; maxDelta in force is 1$/,
    );
    expect(w.engine.mode).toBe("halted");
    expect(w.engine.snapshot().reasons).toContain("manualHalt");
  });

  it("bounds: a unit → raw mapping that overshoots → S1", () => {
    const w = watched();
    feed(w, 30);
    const inner = internals(w.engine);
    inner.registry.maxDelta.fill(1e9);
    inner.executor.setConservative(false);
    // The faulty build: x's row of Tier 1's table (slots LO, SPAN, MAX, …: see executor.ts) maps
    // u = 1 to 15 on [0, 10], and its clamp to the upper bound is gone.
    inner.executor.table[1] *= 1.5;
    inner.executor.table[2] = Number.POSITIVE_INFINITY;
    later(w);
    propose(w, [1, inner.registry.toUnit(1, w.engine.values[1]!)]);
    expect(w.found.map((v) => v.property)).toContain("S1");
    expect(w.found.find((v) => v.property === "S1")!.message).toBe("apply wrote x = 15, outside [0, 10]");
    expect(w.engine.mode).toBe("halted");
  });

  it("minimum interval off → S3", () => {
    const w = watched();
    feed(w, 30);
    letThrough(w, Violation.MinInterval);
    const inner = internals(w.engine);
    const here = [
      inner.registry.toUnit(0, w.engine.values[0]!),
      inner.registry.toUnit(1, w.engine.values[1]!),
    ];
    propose(w, [here[0]! + 0.01, here[1]!]);
    propose(w, [here[0]!, here[1]!]); // same instant: only the minimum interval could refuse it
    expect(w.found.map((v) => v.property)).toContain("S3");
    expect(w.found.find((v) => v.property === "S3")!.message).toMatch(/^apply 0 ms after the previous apply/);
  });

  it("rate limit off → S3", () => {
    const w = watched();
    feed(w, 30);
    letThrough(w, Violation.MinInterval);
    letThrough(w, Violation.RateLimited);
    const inner = internals(w.engine);
    const u = inner.registry.toUnit(0, w.engine.values[0]!);
    for (let i = 0; i < 40; i++)
      propose(w, [u + (i % 2) * 0.01, inner.registry.toUnit(1, w.engine.values[1]!)]);
    const messages = w.found.filter((v) => v.property === "S3").map((v) => v.message);
    expect(messages).toHaveLength(1); // latched: the first S3 violation is kept
    expect(w.watch.report().counts.S3).toBeGreaterThan(1);
  });

  it("SafeMode block off → S5 (an apply while halted)", () => {
    const w = watched();
    feed(w, 30);
    letThrough(w, Violation.Blocked);
    w.engine.halt("operator: maintenance");
    later(w);
    const inner = internals(w.engine);
    propose(w, [
      inner.registry.toUnit(0, w.engine.values[0]!) + 0.01,
      inner.registry.toUnit(1, w.engine.values[1]!),
    ]);
    expect(w.found.map((v) => v.property)).toEqual(["S5"]);
    expect(w.found[0]!.message).toBe("a manual apply happened while halted");
  });

  it("automatic rollback off → L1 (a trip that nobody answers)", () => {
    const w = watched();
    feed(w, 30);
    internals(w.engine).safety.autoRollback = () => {};
    w.clock.advanceBy(100);
    // A constraint margin below the emergency level must roll back to the baseline. The frozen
    // engine then writes nothing more, so L1 is decided by its time bound, on the engine's clock.
    w.engine.observe({ objective: 1, generation: w.engine.generation, constraintMargin: -1 });
    feed(w, 200, 2);
    expect(w.found.map((v) => v.property)).toEqual(["L1"]);
    expect(w.found[0]!.message).toBe(
      "the trip on constraintEmergency was neither rolled back nor halted within 10000 ms",
    );
    expect(w.engine.mode).toBe("halted");
  });
});
