import { describe, expect, it } from "vitest";
import type { Digest } from "../src/engine/digest.js";
import type { Engine } from "../src/engine/engine.js";
import { readShared } from "../src/hotpath/shared-live-config.js";
import { digestOf, engineRig, eventsOfType } from "./support/engine-harness.js";
import { bowl, cliffRig, eventsSince, feedUntilTrip, ONE, QUICK_EXIT } from "./support/safety-drill.js";

// Regression tests for holes of issue 12 found by driving the engine as an adversary would,
// through the public API only.

/** The largest finite double (≈ 1.8e308): finite, but its sum with itself or its square overflows. */
const HUGE = Number.MAX_VALUE;

describe("item 7: a huge finite objective does not switch off instability detection", () => {
  it("after one 1.8e308 (Number.MAX_VALUE) digest, a spike the tuner causes still trips and rolls back", () => {
    // The cliff drill of safety-drills.test.ts, with one huge value among the first digests
    // (while the governor is still collecting its clean history).
    const rig = cliffRig();
    const { engine } = rig;
    const plant = bowl(3);
    const tripAt = feedUntilTrip(rig, 60, (i, x) => (i === 2 ? HUGE : plant(x) + (x < 4.5 ? 50 : 0)));
    const events = eventsSince(rig, 0);
    expect(tripAt).toBeGreaterThan(0);
    expect(engine.snapshot().reasons).toEqual(["spike"]);
    expect(eventsOfType(events, "rollback").map((e) => e.note)).toEqual(["instability governor: spike"]);
    expect(engine.values[0]).toBe(5);
  });

  it("after one 1.8e308 (Number.MAX_VALUE) digest, a divergence the tuner causes still trips and rolls back", () => {
    // The huge value lands in the window the governor would take as its baseline. Past x = 4.5
    // the objective rises by 8: windows there are worse than the baseline (≈ 4) by more than
    // 50 %, while the clean history follows the level, so no single digest is a spike.
    const rig = cliffRig();
    const { engine } = rig;
    const plant = bowl(3);
    const tripAt = feedUntilTrip(rig, 200, (i, x) => (i === 12 ? HUGE : plant(x) + (x < 4.5 ? 8 : 0)));
    const events = eventsSince(rig, 0);
    expect(tripAt).toBeGreaterThan(0);
    expect(engine.snapshot().reasons).toEqual(["divergence"]);
    expect(eventsOfType(events, "rollback").map((e) => e.note)).toEqual(["instability governor: divergence"]);
    expect(engine.values[0]).toBe(5);
  });

  it("a huge negative objective is no measurement: the window is measured again, the tuner is not thrown", () => {
    const rig = engineRig({ seed: 1, params: ONE, window: { digests: 1 }, safety: QUICK_EXIT });
    const { engine } = rig;
    const plant = bowl(4);
    for (let i = 0; i < 200; i++) {
      rig.clock.advanceBy(100);
      const objective = i % 17 === 5 ? -Number.MAX_VALUE : plant(engine.values[0]!);
      expect(engine.observe(digestOf(engine, objective))).toBe("accepted");
    }
    const snapshot = engine.snapshot();
    expect(snapshot.mode).toBe("normal");
    expect(Number.isFinite(snapshot.spsa.a)).toBe(true);
    expect(snapshot.centre.x).toBeGreaterThan(2);
    expect(snapshot.centre.x).toBeLessThan(4);
  });
});

/** Every field `observe` may read. */
const DIGEST_FIELDS = [
  "objective",
  "generation",
  "timestamp",
  "constraintMargin",
  "latencyP99",
  "throughput",
  "errorRate",
] as const;

/** A digest behind a Proxy that counts the reads of each field. */
function countingDigest(target: Record<string, unknown>): { digest: Digest; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const digest = new Proxy(target, {
    get(object, key, receiver) {
      if (typeof key === "string") reads.set(key, (reads.get(key) ?? 0) + 1);
      return Reflect.get(object, key, receiver);
    },
  }) as unknown as Digest;
  return { digest, reads };
}

/** A digest whose `objective` getter answers `first` on its first read and calls `later` after. */
function fickleDigest(engine: Engine, first: number, later: () => unknown): Digest {
  let read = 0;
  return {
    get objective() {
      read++;
      return (read === 1 ? first : later()) as number;
    },
    generation: engine.generation,
    timestamp: engine.now(),
  };
}

describe("item 8: observe reads each digest field exactly once", () => {
  for (const captureDigests of [false, true]) {
    it(`every field is read once, accepted or rejected (captureDigests: ${captureDigests})`, () => {
      const rig = engineRig({ seed: 1, params: ONE, window: { digests: 3 }, captureDigests });
      const { engine } = rig;
      const plant = bowl(8);
      for (let i = 0; i < 12; i++) {
        rig.clock.advanceBy(100);
        const accepted = countingDigest({
          ...digestOf(engine, plant(engine.values[0]!)),
          constraintMargin: 1,
          latencyP99: 20,
          throughput: 500,
          errorRate: 0.01,
        });
        expect(engine.observe(accepted.digest)).toBe("accepted");
        for (const field of DIGEST_FIELDS) expect(accepted.reads.get(field), field).toBe(1);
        // Rejections read each field once too: a non-finite objective, a wrong generation.
        const nonFinite = countingDigest({ objective: Number.NaN, generation: engine.generation });
        expect(engine.observe(nonFinite.digest)).toBe("non-finite-objective");
        const stale = countingDigest({ objective: 1, generation: engine.generation + 1 });
        expect(engine.observe(stale.digest)).toBe("wrong-generation");
        for (const { reads } of [nonFinite, stale])
          for (const field of DIGEST_FIELDS) expect(reads.get(field), field).toBe(1);
      }
      expect(engine.snapshot().digests).toMatchObject({ accepted: 12, rejected: 24 });
    });

    it(`a getter that throws is a counted rejection, on its first read or any later one (captureDigests: ${captureDigests})`, () => {
      const rig = engineRig({ seed: 1, params: ONE, window: { digests: 3 }, captureDigests });
      const { engine } = rig;
      rig.clock.advanceBy(100);
      const throwing = {
        get objective(): number {
          throw new Error("sensor gone");
        },
        generation: engine.generation,
      };
      expect(engine.observe(throwing)).toBe("malformed");
      // Throws only from its second read on: read once, it is an ordinary accepted digest.
      const fickle = fickleDigest(engine, 4, () => {
        throw new Error("second read");
      });
      expect(() => engine.observe(fickle)).not.toThrow();
      expect(engine.snapshot().digests).toMatchObject({ accepted: 1, rejected: 1 });
      engine.flushEvents();
      expect(eventsOfType(rig.events, "digest.rejected").map((e) => e.reason)).toEqual(["Malformed"]);
    });
  }

  it("a getter that answers a string on its second read cannot poison SPSA (a stays finite)", () => {
    const rig = engineRig({ seed: 1, params: ONE, window: { digests: 3 } });
    const { engine } = rig;
    const plant = bowl(9);
    for (let i = 0; i < 300; i++) {
      rig.clock.advanceBy(100);
      expect(engine.observe(fickleDigest(engine, plant(engine.values[0]!), () => "oops"))).toBe("accepted");
    }
    const snapshot = engine.snapshot();
    expect(Number.isFinite(snapshot.spsa.a)).toBe(true);
    expect(snapshot.iteration).toBeGreaterThan(10);
    expect(Math.abs(snapshot.centre.x! - 3)).toBeLessThan(1);
  });
});

describe("item 10: an open circuit breaker freezes at the centre, not at a perturbed point", () => {
  for (const phase of ["cycle.plus", "cycle.minus"]) {
    it(`the audit sink's breaker opening in ${phase} returns to the centre through Tier 1, then freezes`, () => {
      let failing = false;
      const rig = engineRig({
        seed: 1,
        params: ONE,
        window: { digests: 3 },
        safety: { ...QUICK_EXIT, breaker: { failureThreshold: 1, baseBackoffMs: 60_000 } },
        auditSink: () => {
          if (failing) throw new Error("audit store down");
        },
      });
      const { engine } = rig;
      const plant = bowl(10);
      // Into the SPSA cycle until the perturbed point of `phase` is live.
      let guard = 0;
      do {
        rig.clock.advanceBy(100);
        engine.observe(digestOf(engine, plant(engine.values[0]!)));
        expect(++guard).toBeLessThan(200);
      } while (engine.snapshot().phase !== phase || engine.values[0] === engine.snapshot().centre.x);
      engine.flushEvents();
      const mark = rig.events.length;
      const perturbed = engine.values[0]!;
      const centre = engine.snapshot().centre.x!;
      failing = true;
      // A rejected digest leaves an audit record to deliver: the sink throws, its breaker opens.
      expect(engine.observe({ objective: 1, generation: engine.generation + 1 })).toBe("wrong-generation");
      engine.flushEvents();
      expect(engine.snapshot().breakers.auditSink).toBe("open");
      // Tier 1's minimum interval may delay the return; no digest arrives meanwhile.
      rig.clock.advanceBy(1000);
      const events = eventsSince(rig, mark);
      expect(engine.mode).toBe("frozen");
      expect(engine.snapshot().reasons).toEqual(["breakerOpen"]);
      expect(engine.values[0]).toBe(centre);
      expect(engine.value("x")).not.toBe(perturbed);
      // The return is an audited centre apply, before the freeze; nothing is applied after it.
      const applies = eventsOfType(events, "apply");
      expect(applies.map((e) => [e.kind, e.values!.x])).toEqual([["centre", centre]]);
      const frozenAt = events.findIndex((e) => e.type === "mode.changed");
      expect(events.indexOf(applies[0]!)).toBeLessThan(frozenAt);
      // Digests keep flowing while frozen: the live point stays at the centre.
      for (let i = 0; i < 30; i++) {
        rig.clock.advanceBy(100);
        engine.observe(digestOf(engine, plant(engine.values[0]!)));
      }
      expect(engine.values[0]).toBe(centre);
    });
  }
});

describe("item 13: readers cannot write the live store around Tier 1", () => {
  for (const shared of [false, true]) {
    it(`writing into engine.values changes nothing live, and the next apply overwrites it (shared: ${shared})`, () => {
      const pushed: number[] = [];
      const rig = engineRig({
        seed: 1,
        params: ONE,
        window: { digests: 3 },
        shared,
        onApply: (values) => {
          pushed.push(values[0]!);
          // A host that scribbles on what it was handed changes nothing either.
          values[0] = -1e9;
        },
      });
      const { engine } = rig;
      const plant = bowl(12);
      for (let i = 0; i < 20; i++) {
        rig.clock.advanceBy(100);
        engine.observe(digestOf(engine, plant(engine.value("x"))));
      }
      const live = engine.value("x");
      const generation = engine.generation;
      expect(engine.values[0]).toBe(live);
      engine.values[0] = 1e9;
      expect(engine.value("x")).toBe(live);
      expect(engine.snapshot().values.x).toBe(live);
      expect(engine.generation).toBe(generation);
      if (shared) {
        const out = new Float64Array(1);
        expect(readShared(engine.shared!, out)).toBe(generation);
        expect(out[0]).toBe(live);
      }
      // The next apply moves from the live value (within maxDelta), not from 1e9, and rewrites the mirror.
      const applies = pushed.length;
      while (engine.generation === generation) {
        rig.clock.advanceBy(100);
        engine.observe(digestOf(engine, plant(engine.value("x"))));
      }
      expect(pushed.length).toBeGreaterThan(applies);
      expect(Math.abs(pushed.at(-1)! - live)).toBeLessThanOrEqual(1 + 1e-9);
      expect(engine.values[0]).toBe(engine.value("x"));
      expect(engine.value("x")).toBe(pushed.at(-1));
      // Every value that went live was audited, and none of the scribbles did.
      engine.flushEvents();
      const audited = rig.events.flatMap((e) =>
        (e.type === "apply" || e.type === "rollback") && e.values !== undefined ? [e.values.x!] : [],
      );
      for (const value of pushed) expect(audited).toContain(value);
      expect(audited).not.toContain(1e9);
      expect(audited).not.toContain(-1e9);
    });
  }
});
