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

describe("cancelled trials in a simplex", () => {
  const bowl = (p: { x: number; y: number }) => (p.x - 0.3) ** 2 + (p.y - 0.6) ** 2;

  /** Runs forced Nelder–Mead one trial at a time, cancelling the trials `cancel` picks. */
  function simplexRun(cancel: (id: number) => boolean) {
    const solver = createSolver({ seed: 3, budget: 40, bounds, strategy: "nelder-mead" });
    const asked: { id: number; point: string }[] = [];
    const told: string[] = [];
    for (let batch = solver.ask({ max: 1 }); batch !== null; batch = solver.ask({ max: 1 })) {
      const t = batch[0]!;
      const point = `${t.params.x} ${t.params.y}`;
      asked.push({ id: t.id, point });
      if (solver.phase === "refine" && cancel(t.id)) {
        solver.fail(t.id, "interrupted", { cancelled: true });
      } else {
        solver.tell({ id: t.id, value: bowl(t.params) });
        told.push(point);
      }
    }
    return { asked, told, solver };
  }

  it("hands a cancelled point out again as the next trial", () => {
    const picked = new Set([12, 15, 21]);
    const { asked } = simplexRun((id) => picked.has(id));
    for (const id of picked) {
      const at = asked.findIndex((a) => a.id === id);
      expect(asked[at + 1]!.point).toBe(asked[at]!.point);
    }
  });

  it("steps as if the cancelled trials had never been asked", () => {
    // The points evaluated, in order, are those of a run without interruptions (shorter by the
    // budget the cancelled trials took): a cancelled vertex is not ranked last.
    const plain = simplexRun(() => false).told;
    const interrupted = simplexRun((id) => id === 12 || id === 15 || id === 21).told;
    expect(interrupted).toEqual(plain.slice(0, interrupted.length));
  });

  it("restores with the cancelled point still to hand out", () => {
    const solver = createSolver({ seed: 3, budget: 40, bounds, strategy: "nelder-mead" });
    let cancelledPoint = "";
    for (let i = 0; i < 14; i++) {
      const [t] = solver.ask({ max: 1 })!;
      if (t!.id === 14) {
        solver.fail(t!.id, "interrupted", { cancelled: true });
        cancelledPoint = `${t!.params.x} ${t!.params.y}`;
      } else solver.tell({ id: t!.id, value: bowl(t!.params) });
    }
    const restored = restoreSolver(JSON.parse(JSON.stringify(solver.toJSON())));
    const [again] = restored.ask({ max: 1 })!;
    expect(`${again!.params.x} ${again!.params.y}`).toBe(cancelledPoint);
    expect(solver.ask({ max: 1 })).toEqual([again]);
  });
});

describe("cancelled trials in the default strategy", () => {
  const cube = { a: { min: 0, max: 1 }, b: { min: 0, max: 1 }, c: { min: 0, max: 1 } };
  const f = (p: Record<string, number>) => (p.a! - 0.2) ** 2 + (p.b! - 0.7) ** 2 + (p.c! - 0.4) ** 2;
  /** Who proposed pending trial `id`: a simplex generation (≥ 0), TPE or the trust region (< 0). */
  const owner = (solver: ReturnType<typeof createSolver>, id: number) => {
    const state = solver.toJSON().strategy as unknown as { owners: [number, number][] } | null;
    return state?.owners.find(([k]) => k === id)?.[1];
  };

  it("give the simplex its point back: it asks for that point again", () => {
    let checked = 0;
    for (const seed of [9, 10, 11]) {
      const solver = createSolver({ seed, budget: 120, bounds: cube });
      let cancelled = "";
      let reasked = false;
      for (let batch = solver.ask({ max: 1 }); batch !== null; batch = solver.ask({ max: 1 })) {
        const t = batch[0]!;
        const point = JSON.stringify(t.params);
        const simplex = (owner(solver, t.id) ?? -1) >= 0;
        if (cancelled !== "" && point === cancelled && simplex) reasked = true;
        if (cancelled === "" && t.id >= 45 && simplex) {
          solver.fail(t.id, "interrupted", { cancelled: true });
          cancelled = point;
        } else solver.tell({ id: t.id, value: f(t.params) });
      }
      expect(cancelled, `seed ${seed}`).not.toBe("");
      expect(reasked, `seed ${seed}`).toBe(true);
      checked++;
    }
    expect(checked).toBe(3);
  });
});

describe("a stopped solver", () => {
  it("refuses every call that would change it, and still answers questions", () => {
    const solver = createSolver({ seed: 2, budget: 10, bounds });
    const [t] = solver.ask({ max: 1 })!;
    solver.stop();
    expect(() => solver.ask()).toThrow(/^ask: the solver was stopped/);
    expect(() => solver.tell({ id: t!.id, value: 1 })).toThrow(/^tell: the solver was stopped/);
    expect(() => solver.fail(t!.id, "x")).toThrow(/^fail: the solver was stopped/);
    expect(() => solver.report(t!.id, 0, 1)).toThrow(/^report: the solver was stopped/);
    // Nothing was recorded, and what it holds is still readable (and restorable).
    expect(solver.asked).toBe(1);
    expect(solver.trialStatus(t!.id)).toBe("pending");
    expect(restoreSolver(solver.toJSON()).ask({ max: 1 })![0]!.id).toBe(2);
  });
});
