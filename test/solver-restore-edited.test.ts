import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  createSolver,
  restoreSolver,
  type SolverArtifact,
  type SolverConfig,
  UsageError,
} from "../src/index.js";
import { boundsDigest } from "../src/solver/bounds-digest.js";
import { REPO_ROOT } from "./support/cli-run.js";

// A saved run keeps its trials as positions within its parameters and reads them back through
// the config saved beside them. A config edited by hand (the CLI's --state file is plain JSON)
// must not make a restored run read its results at values that were never measured.

const CONFIG = {
  seed: 1,
  budget: 40,
  bounds: {
    x: { min: 0, max: 1 },
    n: { type: "int", min: 1, max: 8 },
    c: { type: "categorical", choices: ["a", "b"] },
  },
} as const satisfies SolverConfig;

type Editable = { config: { [key: string]: unknown; bounds: Record<string, Record<string, unknown>> } };

/** An edit of a saved config's parameters. */
type Edit = (bounds: Editable["config"]["bounds"]) => void;

/** An artifact of CONFIG after 15 trials (into its refine phase), or its whole budget, as plain JSON. */
function saved(
  ended = false,
): Editable & Omit<SolverArtifact, "config"> & { budget?: number; seed?: number; runDigest?: string } {
  const solver = createSolver(CONFIG);
  for (let i = 0; i < (ended ? CONFIG.budget : 15); i++) {
    const [t] = solver.ask({ max: 1 })!;
    const p = t!.params;
    solver.tell({ id: t!.id, value: (p.x - 0.3) ** 2 + p.n + (p.c === "b" ? 0 : 1) });
  }
  expect(solver.phase).toBe(ended ? "done" : "refine");
  return JSON.parse(JSON.stringify(solver.toJSON()));
}

const EDITED_PARAMETERS = new UsageError(
  "config.bounds: not the parameters this run's trials were measured in (the artifact was edited after it " +
    "was saved, or its boundsDigest was): a run's parameters cannot change, so start a new run and tell it " +
    "the old results as warm-start points (tell({ params, value }))",
);

describe("restoring an artifact whose config was edited", () => {
  it("records the digest of the parameters, and restores a config that only wrote defaults out", () => {
    const artifact = saved();
    expect(artifact.boundsDigest).toMatch(/^[0-9a-f]{8}$/);
    // Defaults written out and keys reordered within a parameter: the same parameters.
    artifact.config.bounds.x = { max: 1, min: 0, type: "float", scale: "linear" };
    artifact.config.bounds.n = { type: "int", min: 1, max: 8, step: 1, scale: "linear" };
    const restored = restoreSolver(artifact);
    expect(restored.best()).toEqual(restoreSolver(saved()).best());
  });

  it.each<[string, Edit]>([
    ["an int's range", (b) => Object.assign(b.n!, { max: 4 })],
    ["a float's range", (b) => Object.assign(b.x!, { max: 10 })],
    ["a float made an int", (b) => Object.assign(b.x!, { type: "int" })],
    ["a choice removed", (b) => Object.assign(b.c!, { choices: ["a"] })],
    ["choices reordered", (b) => Object.assign(b.c!, { choices: ["b", "a"] })],
    ["a float on a log scale", (b) => Object.assign(b.x!, { min: 0.1, scale: "log" })],
    [
      "parameters reordered",
      (b) => {
        const { x, ...rest } = { ...b };
        for (const name of Object.keys(b)) delete b[name];
        Object.assign(b, rest, { x });
      },
    ],
  ])("refuses %s, naming config.bounds", (_, edit) => {
    const artifact = saved();
    edit(artifact.config.bounds);
    expect(() => restoreSolver(artifact)).toThrow(EDITED_PARAMETERS);
  });

  it("refuses a changed budget or probe ratio, and a forced strategy other than the one refining", () => {
    const budget = saved();
    budget.config.budget = 200;
    expect(() => restoreSolver(budget)).toThrow(
      `config.budget: 200 is not the budget this run was planned with (40, the artifact's "budget"; one of the two was edited): restore the run as it was saved and give it more trials with extend(trials)`,
    );
    // The other way round: the recorded budget edited, the config's left alone.
    const recorded = saved();
    recorded.budget = 100;
    expect(() => restoreSolver(recorded)).toThrow(
      `config.budget: 40 is not the budget this run was planned with (100, the artifact's "budget"; one of the two was edited)`,
    );
    // One whose probe would be as large was taken: it went on to the new end of a run planned for
    // the old one, or stayed ended if it had.
    for (const ended of [false, true]) {
      const larger = saved(ended);
      larger.config.budget = 41;
      expect(() => restoreSolver(larger)).toThrow(
        "config.budget: 41 is not the budget this run was planned with",
      );
    }
    // Saved before the budget was recorded: the probe's size is what tells an edit.
    const older = saved();
    delete older.budget;
    delete older.runDigest;
    older.config.budget = 200;
    expect(() => restoreSolver(older)).toThrow(
      "probe.count: 8 does not match the probe of 10 that the config's budget, probeRatio and startPoints give (none can change once a run has started; " +
        "a run grown by extend sizes it from the budget less its extended, which cannot change either)",
    );
    const ratio = saved();
    ratio.config.probeRatio = 0.5;
    expect(() => restoreSolver(ratio)).toThrow("probe.count: 8 does not match the probe of 20");
    const strategy = saved();
    strategy.config.strategy = "tpe";
    expect(() => restoreSolver(strategy)).toThrow(
      `config.strategy: "tpe", but the run refines with "globalLocal" (a run's strategy cannot change once its probe has ended)`,
    );
  });

  it("refuses a changed seed or direction, which would redraw the run or read its values reversed", () => {
    // A maximised run: its best is the largest value told, read back as such.
    const solver = createSolver({ ...CONFIG, direction: "maximize" });
    for (let i = 0; i < 15; i++) {
      const [t] = solver.ask({ max: 1 })!;
      solver.tell({ id: t!.id, value: t!.params.x });
    }
    const artifact = JSON.parse(JSON.stringify(solver.toJSON()));
    expect(artifact).toMatchObject({ seed: 1, direction: "maximize" });
    expect(restoreSolver(artifact).best()).toEqual(solver.best());

    const flipped = structuredClone(artifact);
    flipped.config.direction = "minimize";
    expect(() => restoreSolver(flipped)).toThrow(
      `config.direction: "minimize" is not the direction this run began with ("maximize", the artifact's "direction"; one of the two was edited): ` +
        "a run's direction cannot change (its told values would read the other way round, and best() would give the worst point)",
    );
    // A direction left out is the default, minimize: the same refusal.
    const dropped = structuredClone(artifact);
    delete dropped.config.direction;
    expect(() => restoreSolver(dropped)).toThrow(
      `config.direction: "minimize" is not the direction this run began with`,
    );
    const reseeded = saved();
    reseeded.config.seed = 2;
    expect(() => restoreSolver(reseeded)).toThrow(
      `config.seed: 2 is not the seed this run began with (1, the artifact's "seed"; one of the two was edited): a run's seed cannot change`,
    );
    const recorded = saved();
    recorded.seed = 7;
    expect(() => restoreSolver(recorded)).toThrow("config.seed: 1 is not the seed this run began with (7,");

    // Saved before either was recorded (and before the digest that seals them): restored as
    // before, with the config's.
    const older = structuredClone(artifact);
    delete older.seed;
    delete older.direction;
    delete older.runDigest;
    expect(restoreSolver(older).best()).toEqual(solver.best());
  });

  it("refuses a seed or direction edited in both the config and the run's record", () => {
    const solver = createSolver({ ...CONFIG, direction: "maximize" });
    for (let i = 0; i < 15; i++) {
      const [t] = solver.ask({ max: 1 })!;
      solver.tell({ id: t!.id, value: t!.params.x });
    }
    const artifact = JSON.parse(JSON.stringify(solver.toJSON()));
    expect(artifact.runDigest).toMatch(/^[0-9a-f]{8}$/);
    const refusal =
      "corrupt solver artifact: runDigest: the run's record (boundsDigest, budget, seed, direction, extended) " +
      "was edited after it was saved";
    // Both copies flipped: best() would give the smallest value told, the worst of a maximised run.
    const flipped = structuredClone(artifact);
    flipped.config.direction = "minimize";
    flipped.direction = "minimize";
    expect(() => restoreSolver(flipped)).toThrow(refusal);
    const reseeded = structuredClone(artifact);
    reseeded.config.seed = 2;
    reseeded.seed = 2;
    expect(() => restoreSolver(reseeded)).toThrow(refusal);
    // A budget whose probe is as large (8 trials; edited to 50, the probe's size would tell).
    const regrown = structuredClone(artifact);
    regrown.config.budget = 39;
    regrown.budget = 39;
    expect(() => restoreSolver(regrown)).toThrow(refusal);
    // A field of the record left out is an edit too.
    const dropped = structuredClone(artifact);
    delete dropped.direction;
    expect(() => restoreSolver(dropped)).toThrow(refusal);
    // A run that grew records how much, under the same seal.
    const grown = restoreSolver(artifact);
    grown.extend(5);
    const grownArtifact = JSON.parse(JSON.stringify(grown.toJSON()));
    expect(grownArtifact.extended).toBe(5);
    expect(restoreSolver(grownArtifact).toJSON()).toEqual(grownArtifact);
    // Grown by one more, in all three places: the same probe, but not the run that was saved.
    grownArtifact.extended = 6;
    grownArtifact.budget = 46;
    grownArtifact.config.budget = 46;
    expect(() => restoreSolver(grownArtifact)).toThrow(refusal);
  });

  it("digests a space as every earlier version did (a saved run must restore in later versions)", () => {
    // Pinned: a change here refuses every artifact saved before it.
    expect(boundsDigest(CONFIG)).toBe("1a938b65");
    const mixed = {
      opt: { type: "categorical", choices: ["adam", { name: "sgd", nesterov: true }] },
      m: { min: 0, max: 1, scale: "linear", when: { opt: [{ name: "sgd", nesterov: true }] } },
      n: { type: "int", min: 1, max: 1024, scale: "log" },
    } as const;
    expect(boundsDigest({ seed: 1, budget: 40, bounds: mixed })).toBe("f01d0cd5");
    // The same choice object with its keys in another order is the same choice.
    const reordered = { ...mixed, m: { ...mixed.m, when: { opt: [{ nesterov: true, name: "sgd" }] } } };
    expect(boundsDigest({ seed: 1, budget: 40, bounds: reordered })).toBe("f01d0cd5");
  });

  it("restores an artifact saved before the digest was recorded, as before", () => {
    const { artifact } = JSON.parse(readFileSync(join(REPO_ROOT, "test/fixtures/solver-v1.json"), "utf8"));
    expect(artifact.boundsDigest).toBeUndefined();
    const restored = restoreSolver(artifact);
    expect(restored.toJSON().boundsDigest).toMatch(/^[0-9a-f]{8}$/);
  });
});
