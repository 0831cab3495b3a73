// A failed trial (the evaluation crashed) has no value, but where it was asked is knowledge: TPE
// must not keep proposing the region that crashes.
import { describe, expect, it } from "vitest";
import { createSolver, restoreSolver } from "../src/solver/solver.js";

const bounds = { x: { min: 0, max: 1 }, y: { min: 0, max: 1 } };

/** Runs forced TPE on a bowl at (0.5, 0.5) whose evaluation crashes for x > 0.5. */
function crashingRun(seed: number, crash: "fail" | "pruned") {
  const solver = createSolver({ seed, budget: 60, bounds, strategy: "tpe" });
  const asked: string[] = [];
  let lateCrashes = 0;
  for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
    for (const t of batch) {
      asked.push(`${t.params.x} ${t.params.y}`);
      if (t.params.x <= 0.5) {
        solver.tell({ id: t.id, value: (t.params.x - 0.5) ** 2 + (t.params.y - 0.5) ** 2 });
        continue;
      }
      if (t.id > 30) lateCrashes++;
      if (crash === "fail") solver.fail(t.id, "crashed");
      else solver.tell({ id: t.id, pruned: true });
    }
  }
  return { asked, lateCrashes };
}

describe("failed trials in TPE", () => {
  it("counts as bad observations, exactly as pruned ones do", () => {
    for (const seed of [1, 2, 3]) {
      expect(crashingRun(seed, "fail").asked).toEqual(crashingRun(seed, "pruned").asked);
    }
  });

  it("steers later trials away from the region that crashes", () => {
    let late = 0;
    for (let seed = 1; seed <= 10; seed++) late += crashingRun(seed, "fail").lateCrashes;
    // 300 late trials over ten seeds: 99 crash (216 when failures were not shown to TPE).
    expect(late).toBeLessThan(150);
  });
});

describe("cancelled trials", () => {
  it("are failed and counted, but their points are not taken for crashes, also after a restore", () => {
    const run = (cancelled: boolean) => {
      const solver = createSolver({ seed: 5, budget: 30, bounds, strategy: "tpe" });
      const asked: string[] = [];
      for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
        for (const t of batch) {
          asked.push(`${t.params.x} ${t.params.y}`);
          if (t.id % 4 === 0) solver.fail(t.id, "interrupted", { cancelled });
          else solver.tell({ id: t.id, value: (t.params.x - 0.5) ** 2 + (t.params.y - 0.5) ** 2 });
        }
      }
      return { asked, solver };
    };
    const crashed = run(false);
    const cancelled = run(true);
    expect(cancelled.asked).not.toEqual(crashed.asked);
    expect(cancelled.solver.toJSON().told).toContainEqual({ id: 4, failed: "interrupted", cancelled: true });
    expect(cancelled.solver.trialStatus(4)).toBe("failed");
  });

  it("restore into the same state, which asks what the original asks", () => {
    const solver = createSolver({ seed: 6, budget: 40, bounds, strategy: "tpe" });
    for (let i = 0; i < 20; i++) {
      const [t] = solver.ask({ max: 1 })!;
      if (t!.id % 3 === 0) solver.fail(t!.id, "interrupted", { cancelled: true });
      else solver.tell({ id: t!.id, value: t!.params.x });
    }
    const restored = restoreSolver(JSON.parse(JSON.stringify(solver.toJSON())));
    expect(restored.ask({ max: 5 })).toEqual(solver.ask({ max: 5 }));
  });
});
