import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError, UsageError } from "../src/errors.js";
import { createSolver, restoreSolver, type Solver, type Trial } from "../src/solver/solver.js";

// Typed for any solver's params: these spaces are all floats, so every value is a number.
const sphere = (p: Readonly<Record<string, unknown>>) =>
  Object.values(p).reduce<number>((s, v) => s + (Number(v) - 1) ** 2, 0);

const config = (over: object = {}) => ({
  seed: 7,
  budget: 40,
  bounds: { x: { min: -5, max: 5 }, y: { min: -5, max: 5 } },
  ...over,
});

/** Runs the ask/tell loop to the end, telling every batch in full and in order. */
function run(solver: Solver, f = sphere): Trial[] {
  const asked: Trial[] = [];
  for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
    if (batch.length === 0) throw new Error("solver waits although nothing is pending");
    asked.push(...batch);
    solver.tell(batch.map((t) => ({ id: t.id, value: f(t.params) })));
  }
  return asked;
}

describe("createSolver", () => {
  it("throws a ConfigError for an invalid config", () => {
    expect(() => createSolver({ ...config(), budget: 0 })).toThrow(ConfigError);
  });

  it("starts with the whole probe as its first batch, sized by probeRatio", () => {
    const solver = createSolver(config({ probeRatio: 0.25 }));
    expect(solver.phase).toBe("probe");
    const batch = solver.ask()!;
    expect(batch).toHaveLength(10);
    expect(batch.map((t) => t.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(solver.ask()).toEqual([]); // waits for the probe results
  });

  it("runs probe → refine → done, never exceeding the budget, and reports the best point", () => {
    const solver = createSolver(config());
    const asked = run(solver);
    expect(asked).toHaveLength(40);
    expect(new Set(asked.map((t) => t.id)).size).toBe(40);
    expect(solver.phase).toBe("done");
    expect(solver.ask()).toBeNull();
    expect(solver.classification).not.toBeNull();
    expect(solver.strategyName).not.toBeNull();
    const best = solver.best()!;
    expect(best.value).toBe(Math.min(...asked.map((t) => sphere(t.params))));
    expect(best.value).toBeLessThan(0.5);
  });

  it("honours an explicit strategy and the batch limit", () => {
    for (const strategy of ["nelder-mead", "tpe"] as const) {
      const solver = createSolver(config({ strategy, batch: 3 }));
      const sizes: number[] = [];
      for (let b = solver.ask(); b !== null; b = solver.ask()) {
        sizes.push(b.length);
        solver.tell(b.map((t) => ({ id: t.id, value: sphere(t.params) })));
      }
      expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
      expect(solver.strategyName).toBe(strategy);
      expect(solver.asked).toBe(40);
    }
  });

  it("accepts partial and out-of-order tells; forced Nelder–Mead waits for the whole probe", () => {
    const solver = createSolver(config({ strategy: "nelder-mead" }));
    const probe = solver.ask()!;
    const reversed = [...probe].reverse();
    solver.tell(reversed.slice(0, 3).map((t) => ({ id: t.id, value: sphere(t.params) })));
    expect(solver.phase).toBe("probe");
    // Its first simplex is built around the probe's best point, which is not known yet.
    expect(solver.ask()).toEqual([]);
    solver.tell(reversed.slice(3).map((t) => ({ id: t.id, value: sphere(t.params) })));
    expect(solver.phase).toBe("refine");
    expect(solver.classification).not.toBeNull();
    expect(solver.ask()!.length).toBeGreaterThan(0);
  });

  it("starts refining once every probe point is out, and classifies when the probe's results are in", () => {
    for (const strategy of ["auto", "tpe"] as const) {
      const solver = createSolver(config({ strategy }));
      const probe = solver.ask()!;
      const size = probe.length;
      solver.tell({ id: probe[2]!.id, value: sphere(probe[2]!.params) });
      const early = solver.ask({ max: 2 })!;
      expect(early.map((t) => t.id)).toEqual([size + 1, size + 2]);
      expect(solver.phase).toBe("refine");
      expect(solver.classification).toBeNull();
      // Refine results told before the probe's last one are not part of the classification.
      solver.tell(early.map((t) => ({ id: t.id, value: sphere(t.params) })));
      // A saved run in this state resumes exactly.
      const copy = restoreSolver(JSON.parse(JSON.stringify(solver.toJSON())));
      const rest = probe.filter((_, i) => i !== 2);
      solver.tell(rest.map((t) => ({ id: t.id, value: sphere(t.params) })));
      copy.tell(rest.map((t) => ({ id: t.id, value: sphere(t.params) })));
      expect(copy.classification).toEqual(solver.classification);
      expect(copy.ask({ max: 3 })).toEqual(solver.ask({ max: 3 }));
      const alone = createSolver(config({ strategy }));
      const same = alone.ask()!;
      alone.tell(
        [same[2]!, ...same.filter((_, i) => i !== 2)].map((t) => ({ id: t.id, value: sphere(t.params) })),
      );
      expect(solver.classification).toEqual(alone.classification);
      expect(solver.classification).not.toBeNull();
      expect(solver.strategyName).toBe(strategy === "auto" ? "global-local" : "tpe");
    }
  });

  it("grows the probe rather than idle workers asking before its first result", () => {
    const tellAll = (solver: Solver, trials: readonly Trial[]) =>
      solver.tell(trials.map((t) => ({ id: t.id, value: sphere(t.params) })));
    const size = createSolver(config()).ask()!.length;
    for (const strategy of ["auto", "tpe", "nelder-mead"] as const) {
      const solver = createSolver(config({ strategy }));
      const wave = solver.ask({ max: size + 6 })!;
      expect(wave.map((t) => t.id)).toEqual(Array.from({ length: size + 6 }, (_, i) => i + 1));
      // The same design, longer: the probe's own points come first, as without growth.
      expect(wave.slice(0, size)).toEqual(createSolver(config({ strategy })).ask());
      expect(new Set(wave.map((t) => JSON.stringify(t.params))).size).toBe(size + 6);
      // A worker freed by an interrupt, still before any result: one more point.
      expect(solver.ask({ max: 1 })!.map((t) => t.id)).toEqual([size + 7]);
      expect(solver.phase).toBe("probe");
      expect(solver.toJSON().probe).toEqual({ count: size, asked: size + 7, added: 7 });
      // A saved run resumes with the grown probe, and both classify once all of it is in.
      const copy = restoreSolver(JSON.parse(JSON.stringify(solver.toJSON())));
      const all = solver.pendingTrials();
      tellAll(solver, all.slice(0, -1));
      tellAll(copy, all.slice(0, -1));
      expect(solver.classification).toBeNull();
      tellAll(solver, all.slice(-1));
      tellAll(copy, all.slice(-1));
      expect(solver.classification).not.toBeNull();
      expect(copy.classification).toEqual(solver.classification);
      expect(copy.ask({ max: 3 })).toEqual(solver.ask({ max: 3 }));
    }
  });

  it("grows the probe only within the budget, on an explicit batch, and before any result", () => {
    // The config's batch asks as explicitly as `max` does.
    const batched = createSolver(config({ batch: 16 }));
    expect(batched.ask()).toHaveLength(16);
    expect(batched.toJSON().probe).toMatchObject({ added: 16 - batched.toJSON().probe.count });
    const small = createSolver(config({ budget: 12 }));
    expect(small.ask({ max: 50 })).toHaveLength(12);
    expect(small.ask({ max: 1 })).toBeNull();
    // The natural batch is the probe itself: asked again, it waits.
    const natural = createSolver(config());
    const probe = natural.ask()!;
    expect(natural.ask()).toEqual([]);
    expect(natural.toJSON().probe).toEqual({ count: probe.length, asked: probe.length });
    // A warm-start point is a result: the strategy takes what the probe cannot give.
    const warm = createSolver(config());
    warm.tell({ params: { x: 1, y: 1 }, value: 0 });
    expect(warm.ask({ max: probe.length + 4 })).toHaveLength(probe.length + 4);
    expect(warm.phase).toBe("refine");
    expect(warm.toJSON().probe).toEqual({ count: probe.length, asked: probe.length });
  });

  it("waits for the probe when auto opens with its local phase, then asks as if it had waited all along", () => {
    const tellAll = (solver: Solver, trials: Trial[]) =>
      solver.tell(trials.map((t) => ({ id: t.id, value: sphere(t.params) })));
    const options = { budget: 100, autoOptions: { openingShare: 0 } };
    const early = createSolver(config(options));
    const waited = createSolver(config(options));
    const probe = early.ask({ max: 8 })!;
    expect(waited.ask({ max: 8 })).toEqual(probe);
    tellAll(early, probe.slice(0, 1));
    tellAll(waited, probe.slice(0, 1));
    const last = early.ask({ max: 8 })!;
    // The probe's last two points; its simplex would start from a best point not known yet.
    expect(last.map((t) => t.id)).toEqual([9, 10]);
    expect(early.phase).toBe("refine");
    expect(early.ask({ max: 8 })).toEqual([]);
    expect(waited.ask({ max: 2 })).toEqual(last);
    expect(waited.phase).toBe("probe");
    tellAll(early, [...probe.slice(1), ...last]);
    tellAll(waited, [...probe.slice(1), ...last]);
    for (let i = 0; i < 5; i++) {
      const next = early.ask({ max: 3 })!;
      expect(next.length).toBeGreaterThan(0);
      expect(waited.ask({ max: 3 })).toEqual(next);
      tellAll(early, next);
      tellAll(waited, next);
    }
  });

  it("with a configured batch, classifies once the last probe trial is told or failed after refining began", () => {
    const solver = createSolver(config({ budget: 100, batch: 4 }));
    const first = [...solver.ask()!, ...solver.ask()!];
    expect(first).toHaveLength(8);
    solver.tell({ id: first[0]!.id, value: sphere(first[0]!.params) });
    const straddling = solver.ask()!;
    expect(straddling.map((t) => t.id)).toEqual([9, 10, 11, 12]);
    solver.tell([...first.slice(1), straddling[0]!].map((t) => ({ id: t.id, value: sphere(t.params) })));
    expect(solver.classification).toBeNull();
    // The probe's last trial fails: the probe is resolved, and the classification reads its other results.
    solver.fail(straddling[1]!.id);
    expect(solver.classification).not.toBeNull();
    expect(solver.phase).toBe("refine");
  });

  it("after a short opening handed out at once, starts the first local phase only from the whole probe", () => {
    // globalPhase 0.4 with d = 2: an opening of one trial.
    const solver = createSolver(config({ budget: 100, autoOptions: { globalPhase: 0.4 } }));
    const probe = solver.ask({ max: 8 })!;
    solver.tell({ id: probe[0]!.id, value: sphere(probe[0]!.params) });
    // The probe's last two points, then the opening, which goes on past its one trial while the
    // probe's results are out rather than leave workers idle.
    const straddling = solver.ask({ max: 8 })!;
    expect(straddling.map((t) => t.id)).toEqual([9, 10, 11, 12, 13, 14, 15, 16]);
    const more = solver.ask({ max: 8 })!;
    expect(more).toHaveLength(8);
    expect((solver.toJSON().strategy as unknown as { generation: number }).generation).toBe(0);
    const told = [...probe.slice(1), ...straddling, ...more];
    solver.tell(told.map((t) => ({ id: t.id, value: sphere(t.params) })));
    expect(solver.ask({ max: 8 })!.length).toBe(8);
    const state = solver.toJSON().strategy as unknown as { generation: number; center: number };
    expect(state.generation).toBe(1);
    // Its centre is the best of everything told: history order is the order told.
    const values = [probe[0]!, ...told].map((t) => sphere(t.params));
    expect(state.center).toBe(values.indexOf(Math.min(...values)));
  });

  it("fills a batch that straddles the probe's end from the strategy", () => {
    const solver = createSolver(config({ budget: 100 }));
    const first = solver.ask({ max: 8 })!;
    const size = solver.toJSON().probe.count;
    expect(size).toBeGreaterThan(8);
    solver.tell({ id: first[0]!.id, value: sphere(first[0]!.params) });
    const straddling = solver.ask({ max: 8 })!;
    expect(straddling).toHaveLength(8);
    expect(straddling.filter((t) => t.id <= size)).toHaveLength(size - 8);
    expect(solver.toJSON().trials.filter((t) => t.phase === "refine")).toHaveLength(8 - (size - 8));
  });

  it("asks the probe in parts when the caller limits the batch", () => {
    const solver = createSolver(config());
    expect(solver.ask({ max: 3 })!.map((t) => t.id)).toEqual([1, 2, 3]);
    expect(solver.ask({ max: 3 })!.map((t) => t.id)).toEqual([4, 5, 6]);
    expect(() => solver.ask({ max: 0 })).toThrow(UsageError);
  });

  it("rejects a bad tell completely and names each problem", () => {
    const solver = createSolver(config());
    const [a, b] = solver.ask()!;
    const before = JSON.stringify(solver.toJSON());
    const attempt = () =>
      solver.tell([
        { id: a!.id, value: 1 },
        { id: 999, value: 2 },
        { id: b!.id, value: Number.NaN },
        { params: { x: 99, y: 0 }, value: 3 },
      ]);
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(/result\[1\]\.id: trial 999 was never asked/);
    expect(attempt).toThrow(/result\[2\]\.value: expected a finite number, got NaN/);
    expect(attempt).toThrow(/result\[3\]\.params\.x: 99 is outside \[-5, 5\]/);
    expect(JSON.stringify(solver.toJSON())).toBe(before);
    solver.tell({ id: a!.id, value: 1 });
    expect(() => solver.tell({ id: a!.id, value: 1 })).toThrow(/trial 1 was already told/);
    expect(() =>
      solver.tell([
        { id: b!.id, value: 1 },
        { id: b!.id, value: 2 },
      ]),
    ).toThrow(/appears twice/);
  });

  it("uses warm-start points without spending budget", () => {
    const solver = createSolver(config({ budget: 20 }));
    solver.tell({ params: { x: 1, y: 1 }, value: 0 });
    expect(solver.best()).toEqual({ params: { x: 1, y: 1 }, value: 0 });
    const asked = run(solver);
    expect(asked).toHaveLength(20);
    expect(solver.told).toBe(21);
  });

  it("counts failed trials against the budget but never as best", () => {
    const solver = createSolver(config({ budget: 12, probeRatio: 0.5 }));
    const probe = solver.ask()!;
    solver.fail(probe[0]!.id, "crashed");
    solver.tell(probe.slice(1).map((t) => ({ id: t.id, value: sphere(t.params) })));
    expect(solver.phase).toBe("refine");
    expect(() => solver.fail(probe[0]!.id)).toThrow(/already marked failed/);
    run(solver);
    expect(solver.asked).toBe(12);
    expect(solver.told).toBe(11);
  });
});

describe("determinism and persistence", () => {
  it("gives identical asks for the same seed and different ones for another seed", () => {
    const a = run(createSolver(config()));
    const b = run(createSolver(config()));
    const c = run(createSolver(config({ seed: 8 })));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it("resumes exactly from toJSON at any point of the run", () => {
    for (const strategy of ["nelder-mead", "tpe"] as const) {
      const reference = createSolver(config({ strategy }));
      const all = run(reference);
      for (const cut of [0, 5, 8, 13, 27]) {
        const solver = createSolver(config({ strategy }));
        const asked: Trial[] = [];
        for (let step = 0; step < cut; step++) {
          const batch = solver.ask();
          if (batch === null) break;
          asked.push(...batch);
          solver.tell(batch.map((t) => ({ id: t.id, value: sphere(t.params) })));
        }
        const resumed = restoreSolver(JSON.parse(JSON.stringify(solver.toJSON())));
        const rest: Trial[] = [];
        for (let batch = resumed.ask(); batch !== null; batch = resumed.ask()) {
          if (batch.length === 0) throw new Error("restored solver waits although nothing is pending");
          rest.push(...batch);
          resumed.tell(batch.map((t) => ({ id: t.id, value: sphere(t.params) })));
        }
        // asked before the cut + the ask the original would have made next onwards
        const combined = [...asked, ...rest];
        expect(combined.map((t) => t.id)).toEqual(all.map((t) => t.id));
        expect(combined).toEqual(all.slice(0, combined.length));
        expect(resumed.best()).toEqual(reference.best());
      }
    }
  });

  it("keeps pending trials across a round trip", () => {
    const solver = createSolver(config());
    const probe = solver.ask()!;
    solver.tell(probe.slice(0, 4).map((t) => ({ id: t.id, value: 1 })));
    const resumed = restoreSolver(solver.toJSON());
    expect(resumed.pendingTrials()).toEqual(probe.slice(4));
    expect(() => resumed.tell({ id: probe[0]!.id, value: 1 })).toThrow(/already told/);
  });

  it("rejects something that is not an artifact", () => {
    expect(() => restoreSolver({ hello: 1 })).toThrow(/not a solver artifact/);
    expect(() => restoreSolver({ format: "arqon.solver", version: 9 })).toThrow(/unsupported/);
  });
});

describe("properties", () => {
  const arbitraryConfig = fc.record({
    seed: fc.integer({ min: 0, max: 10_000 }),
    budget: fc.integer({ min: 1, max: 40 }),
    probeRatio: fc.double({ min: 0.05, max: 1, noNaN: true }),
    strategy: fc.constantFrom("auto" as const, "nelder-mead" as const, "tpe" as const),
    dimension: fc.integer({ min: 1, max: 4 }),
    log: fc.boolean(),
  });

  type Drawn = typeof arbitraryConfig extends fc.Arbitrary<infer T> ? T : never;
  const build = (c: Drawn) => {
    const bounds: Record<string, { min: number; max: number; scale?: "log" }> = {};
    for (let i = 0; i < c.dimension; i++) {
      bounds[`p${i}`] = c.log && i === 0 ? { min: 1e-4, max: 10, scale: "log" } : { min: -3 - i, max: 2 + i };
    }
    return { seed: c.seed, budget: c.budget, probeRatio: c.probeRatio, strategy: c.strategy, bounds };
  };

  it("every ask is within bounds and the budget is never exceeded, whatever order results come in", () => {
    fc.assert(
      fc.property(arbitraryConfig, fc.integer({ min: 0, max: 2 ** 31 - 1 }), (c, shuffleSeed) => {
        const cfg = build(c);
        const solver = createSolver(cfg);
        let rng = shuffleSeed;
        const next = () => {
          rng = (Math.imul(rng, 1103515245) + 12345) & 0x7fffffff;
          return rng;
        };
        const pending: Trial[] = [];
        let guard = 0;
        while (guard++ < 500) {
          const batch = solver.ask();
          if (batch === null) break;
          for (const t of batch) {
            for (const [name, value] of Object.entries(t.params)) {
              const b = cfg.bounds[name]!;
              expect(value).toBeGreaterThanOrEqual(b.min);
              expect(value).toBeLessThanOrEqual(b.max);
            }
          }
          pending.push(...batch);
          if (pending.length === 0) break;
          // tell a random non-empty subset, in random order
          const take = 1 + (next() % pending.length);
          const told = [];
          for (let i = 0; i < take; i++) told.push(pending.splice(next() % pending.length, 1)[0]!);
          solver.tell(
            told.map((t) => ({
              id: t.id,
              value: Object.values(t.params).reduce<number>((s, v) => s + Number(v) ** 2, 0),
            })),
          );
          expect(solver.asked).toBeLessThanOrEqual(cfg.budget);
        }
        expect(solver.asked).toBeLessThanOrEqual(cfg.budget);
      }),
      { numRuns: 60 },
    );
  });

  it("two solvers with the same seed and a toJSON/restore copy ask identically", () => {
    fc.assert(
      fc.property(arbitraryConfig, fc.integer({ min: 1, max: 30 }), (c, cut) => {
        const cfg = build(c);
        const a = createSolver(cfg);
        const b = createSolver(cfg);
        for (let i = 0; i < cut; i++) {
          const ba = a.ask();
          const bb = b.ask();
          expect(bb).toEqual(ba);
          if (ba === null || ba.length === 0) break;
          const results = ba.map((t) => ({ id: t.id, value: Math.sin(t.id) + Object.values(t.params)[0]! }));
          a.tell(results);
          b.tell(results);
        }
        const restored = restoreSolver(JSON.parse(JSON.stringify(a.toJSON())));
        expect(restored.ask()).toEqual(a.ask());
      }),
      { numRuns: 40 },
    );
  });
});

describe("corrupt artifacts", () => {
  /** The fields of an artifact the cases below edit. */
  interface Editable {
    trials: { id: number; u: number[] }[];
    told: { id?: number; value: unknown }[];
    nextId: number;
    probe: { count: number; asked: number; added?: number };
    strategy: { kind: string };
    machine: { value: unknown };
  }

  function artifactMidRun(): Editable {
    const solver = createSolver(config({ strategy: "tpe" }));
    for (let step = 0; step < 3; step++) {
      const batch = solver.ask()!;
      solver.tell(batch.map((t) => ({ id: t.id, value: sphere(t.params) })));
    }
    const extra = solver.ask()!; // one pending trial
    expect(extra.length).toBeGreaterThan(0);
    return JSON.parse(JSON.stringify(solver.toJSON())) as Editable;
  }

  it("accepts an untouched artifact", () => {
    expect(() => restoreSolver(artifactMidRun())).not.toThrow();
  });

  it.each([
    [
      "a point of the wrong length",
      (a: Editable) => a.trials[0].u.pop(),
      /trials\[0\]\.u: expected 2 numbers in \[0, 1\]/,
    ],
    ["a point outside the cube", (a: Editable) => (a.trials[1].u[0] = 1.5), /trials\[1\]\.u/],
    [
      "a missing value",
      (a: Editable) => (a.told[0].value = null),
      /told\[0\]\.value: expected a finite number/,
    ],
    ["nextId set back", (a: Editable) => (a.nextId = 2), /nextId/],
    ["a duplicated trial id", (a: Editable) => (a.trials[1].id = a.trials[0].id), /appears twice/],
    ["probe.asked beyond the probe", (a: Editable) => (a.probe.asked = 99), /probe\.asked/],
    [
      "probe.added not a count",
      (a: Editable) => (a.probe.added = 0.5),
      /probe\.added: expected a whole number ≥ 1 \(or no field\), got 0\.5/,
    ],
    [
      "probe.added beyond the budget",
      (a: Editable) => {
        a.probe.added = 3_000_000;
        a.probe.asked = a.probe.count + 3_000_000;
      },
      /probe\.added: 3000000 is more than the 32 trials the budget leaves past the probe/,
    ],
    [
      "a grown probe not all asked",
      (a: Editable) => {
        a.probe.added = 2;
      },
      /probe\.asked: a grown probe is all asked \(10 points\), got 8/,
    ],
    [
      "probe.asked beyond the grown probe",
      (a: Editable) => {
        a.probe.added = 2;
        a.probe.asked = a.probe.count + 3;
      },
      // The config's probe is 8 points: 10 once grown by 2.
      /probe\.asked: expected a whole number from 0 to 10, got 11/,
    ],
    [
      "a result for a pending trial",
      (a: Editable) => a.told.push({ id: a.nextId - 1, value: 1 }),
      /is not a told trial/,
    ],
    ["a told trial without its result", (a: Editable) => a.told.pop(), /has no entry/],
    [
      "a strategy of the wrong kind",
      (a: Editable) => (a.strategy.kind = "nelder-mead"),
      /strategy: the phase needs a "tpe" state/,
    ],
    [
      "an unknown phase",
      (a: Editable) => (a.machine.value = "dancing"),
      /machine\.value: not a solver phase/,
    ],
  ] as [string, (a: Editable) => unknown, RegExp][])(
    "rejects %s with a UsageError naming the field",
    (_, corrupt, message) => {
      const artifact = artifactMidRun();
      corrupt(artifact);
      expect(() => restoreSolver(artifact)).toThrow(UsageError);
      expect(() => restoreSolver(artifact)).toThrow(message);
    },
  );
});

describe("the solver does not spend trials on points it has measured", () => {
  const unit = { min: 0, max: 1 } as const;
  function distinctShare(
    strategy: "auto" | "nelder-mead" | "tpe",
    bounds: Record<string, unknown>,
    f: (p: Record<string, number>) => number,
    budget: number,
  ): [number, number] {
    const solver = createSolver({ seed: 3, budget, strategy, bounds } as never);
    const keys: string[] = [];
    for (let batch = solver.ask(); batch !== null && batch.length > 0; batch = solver.ask()) {
      for (const trial of batch) {
        keys.push(JSON.stringify(trial.params));
        solver.tell({ id: trial.id, value: f(trial.params as Record<string, number>) });
      }
    }
    return [new Set(keys).size, keys.length];
  }

  for (const strategy of ["auto", "nelder-mead"] as const) {
    it(`${strategy}: a minimum on the bound and a plateau: every trial a new point`, () => {
      expect(distinctShare(strategy, { x: unit }, (p) => p.x!, 100)).toEqual([100, 100]);
      expect(distinctShare(strategy, { x: unit, y: unit }, () => 1, 300)).toEqual([300, 300]);
      expect(distinctShare(strategy, { x: unit, y: unit }, (p) => p.x! + p.y!, 200)).toEqual([200, 200]);
    });
  }

  it("on a mixed space: forced nelder-mead asks no int cell again, and auto's simplex does not restart itself within a phase", () => {
    const int = { type: "int", min: 0, max: 20 } as const;
    const bounds = { k: { type: "categorical", choices: ["a", "b"] }, n: int, m: int } as const;
    const f = (p: Record<string, unknown>) =>
      ((p.n as number) - 7) ** 2 + ((p.m as number) - 3) ** 2 + (p.k === "b" ? 1 : 0);
    for (const seed of [1, 2, 3]) {
      // The simplex over n and m in one branch: it asked about 50 distinct cells of 150 before.
      const forced = createSolver({ seed, budget: 150, strategy: "nelder-mead", bounds });
      const keys = new Set<string>();
      for (let batch = forced.ask(); batch !== null && batch.length > 0; batch = forced.ask()) {
        for (const t of batch) {
          keys.add(JSON.stringify(t.params));
          forced.tell({ id: t.id, value: f(t.params) });
        }
      }
      expect(keys.size).toBe(150);
      // The default strategy's local simplex holds at convergence for its phase to end there. A
      // converged simplex restarts by its own rule only when a later local phase resumes it.
      const auto = createSolver({ seed, budget: 150, bounds });
      let starts = 0;
      let phase = "";
      const midPhaseRestarts: number[] = [];
      for (let batch = auto.ask(); batch !== null && batch.length > 0; batch = auto.ask()) {
        const state = auto.toJSON().strategy as { phase?: string; local?: { starts?: number } | null } | null;
        const now = state?.local?.starts ?? 0;
        if (now > 1 && now > starts && phase === "local") midPhaseRestarts.push(now);
        starts = now;
        phase = state?.phase ?? "";
        for (const t of batch) auto.tell({ id: t.id, value: f(t.params) });
      }
      expect(midPhaseRestarts).toEqual([]);
    }
  });

  it("nelder-mead on ints: asks a measured cell again only rarely (441 cells, 200 trials)", () => {
    const int = { type: "int", min: 0, max: 20 } as const;
    const [distinct, total] = distinctShare(
      "nelder-mead",
      { n: int, m: int },
      (p) => (p.n! - 7) ** 2 + (p.m! - 3) ** 2,
      200,
    );
    expect(total).toBe(200);
    // It asked the best cell again and again before: 57 distinct of 200.
    expect(distinct).toBeGreaterThanOrEqual(198);
  });

  it("tpe on ints: a new cell every trial while fresh ones are left (441 cells, 200 trials)", () => {
    const int = { type: "int", min: 0, max: 20 } as const;
    const bowl = (p: Record<string, number>) => (p.n! - 7) ** 2 + (p.m! - 3) ** 2;
    // l's kernels grow narrower than a cell: 43 of its 200 trials asked measured cells before.
    expect(distinctShare("tpe", { n: int, m: int }, bowl, 200)).toEqual([200, 200]);
  });

  it("tpe on a mixed space: a new cell every trial, inactive parameters aside (279 cells, 200 trials)", () => {
    const bounds = {
      k: { type: "categorical", choices: ["x", "y"] },
      level: { type: "int", min: 1, max: 8, when: { k: ["y"] } },
      n: { type: "int", min: 0, max: 30 },
    } as const;
    for (const seed of [1, 2]) {
      const solver = createSolver({ seed, budget: 200, strategy: "tpe", bounds });
      const keys = new Set<string>();
      for (let batch = solver.ask(); batch !== null && batch.length > 0; batch = solver.ask()) {
        for (const t of batch) {
          keys.add(JSON.stringify(t.params));
          const p = t.params as { k: string; level?: number; n: number };
          const value = (p.n - 12) ** 2 / 10 + (p.k === "y" ? (p.level! - 5) ** 2 - 0.5 : 0);
          solver.tell({ id: t.id, value });
        }
      }
      // Seed 1 asked 106 measured cells of 200 before (2,227 of 4,000 over seeds 1..20).
      expect(keys.size).toBe(200);
    }
  });

  it("tpe batches on ints: each point of a batch a cell neither measured nor running", () => {
    const int = { type: "int", min: 0, max: 20 } as const;
    const solver = createSolver({ seed: 5, budget: 200, strategy: "tpe", bounds: { n: int, m: int } });
    const measured = new Set<string>();
    const running: Trial[] = [];
    for (let round = 0; round < 20; round++) {
      const batch = solver.ask({ max: 8 }) ?? [];
      const keys = batch.map((t) => JSON.stringify(t.params));
      expect(new Set(keys).size).toBe(batch.length);
      for (const key of keys)
        expect(measured.has(key) || running.some((t) => JSON.stringify(t.params) === key)).toBe(false);
      running.push(...batch);
      // Half of what runs returns each round: the rest stays pending into the next batch.
      for (const t of running.splice(0, 4)) {
        measured.add(JSON.stringify(t.params));
        const { n, m } = t.params as { n: number; m: number };
        solver.tell({ id: t.id, value: (n - 7) ** 2 + (m - 3) ** 2 });
      }
    }
  });

  it("tpe on ints: asks no cell again whose trial failed or was pruned", () => {
    const int = { type: "int", min: 0, max: 20 } as const;
    const solver = createSolver({ seed: 4, budget: 150, strategy: "tpe", bounds: { n: int, m: int } });
    const keys: string[] = [];
    for (let batch = solver.ask(); batch !== null && batch.length > 0; batch = solver.ask()) {
      for (const t of batch) {
        keys.push(JSON.stringify(t.params));
        const { n, m } = t.params as { n: number; m: number };
        // A band of cells near the best one crashes, another is stopped early.
        if (n === 7) solver.fail(t.id, "crashed");
        else if (m === 3) {
          solver.report(t.id, 1, 100);
          solver.tell({ id: t.id, pruned: true });
        } else solver.tell({ id: t.id, value: (n - 7) ** 2 + (m - 3) ** 2 });
      }
    }
    expect(keys).toHaveLength(150);
    expect(new Set(keys).size).toBe(150);
  });

  it("tpe on a used-up space: asks its cells again rather than stall (6 cells, 20 trials)", () => {
    const bounds = { a: { type: "int", min: 1, max: 3 }, b: { type: "int", min: 1, max: 2 } } as const;
    expect(distinctShare("tpe", bounds, (p) => p.a! + p.b!, 20)).toEqual([6, 20]);
  });

  it("tpe on ints: a restored run asks the same cells as the run it was saved from", () => {
    const int = { type: "int", min: 0, max: 20 } as const;
    const config = { seed: 9, budget: 120, strategy: "tpe", bounds: { n: int, m: int } } as const;
    const bowl = (t: Trial) => {
      const { n, m } = t.params as { n: number; m: number };
      return (n - 7) ** 2 + (m - 3) ** 2;
    };
    const whole = createSolver(config);
    const saved = createSolver(config);
    const asked = (solver: Solver, count: number): string[] => {
      const keys: string[] = [];
      for (let i = 0; i < count; i++) {
        const [t] = solver.ask({ max: 1 }) ?? [];
        keys.push(JSON.stringify(t!.params));
        solver.tell({ id: t!.id, value: bowl(t!) });
      }
      return keys;
    };
    const first = asked(whole, 100);
    expect(asked(saved, 70)).toEqual(first.slice(0, 70));
    const restored = restoreSolver(JSON.parse(JSON.stringify(saved.toJSON())));
    expect(asked(restored, 30)).toEqual(first.slice(70));
    expect(new Set(first).size).toBe(100);
  });
});
