// A failed trial (the evaluation crashed) has no value, but where it was asked is knowledge: TPE
// must not keep proposing the region that crashes.
import { describe, expect, it } from "vitest";
import { createSolver } from "../src/solver/solver.js";

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
