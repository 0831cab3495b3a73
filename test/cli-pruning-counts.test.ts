import { afterAll, describe, expect, it } from "vitest";
import { describeProgress } from "../src/cli/progress.js";
import { createSolver } from "../src/solver/solver.js";
import { removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

const CONFIG = {
  seed: 1,
  budget: 3,
  probeRatio: 1,
  bounds: { x: { min: 0, max: 1 } },
  pruner: { kind: "median" as const, startupTrials: 1 },
};

/** A solver with trial 1 told, trial 2 pruned and trial 3 failed. */
function finishedWithOneOfEach() {
  const solver = createSolver(CONFIG);
  const [told, pruned, failed] = solver.ask({ max: 3 })!;
  solver.report(told!.id, 1, 1);
  solver.tell({ id: told!.id, value: 1 });
  solver.report(pruned!.id, 1, 5);
  solver.tell({ id: pruned!.id, pruned: true });
  solver.fail(failed!.id, "exit code 1");
  return solver;
}

describe("counting the trials that were not told", () => {
  it("arqon status gives the pruned and failed counts next to told", async () => {
    const dir = tempDir();
    writeJson(dir, "s.json", finishedWithOneOfEach().toJSON());
    const run = await runArqonInProcess(["status", "--state", "s.json"], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ asked: 3, told: 1, pruned: 1, failed: 1, pending: [] });
  });

  it("the progress line counts them once there are any", () => {
    const solver = finishedWithOneOfEach();
    expect(describeProgress(solver)).toBe("phase done, 3/3 asked, 1 told, 1 pruned, 1 failed, best 1");
    expect(describeProgress(createSolver(CONFIG))).toBe("phase probe, 0/3 asked, 0 told, no result yet");
  });

  it("arqon solve's per-trial and final lines count a pruned trial", async () => {
    const dir = tempDir();
    // Saved between the pruner's advice and the pruned result: resuming records it pruned at once.
    const solver = createSolver({ ...CONFIG, budget: 2 });
    const [done, stopped] = solver.ask({ max: 2 })!;
    solver.report(done!.id, 1, 1);
    solver.tell({ id: done!.id, value: 1 });
    solver.report(stopped!.id, 1, 5);
    expect(solver.shouldPrune(stopped!.id)).toBe(true);
    writeJson(dir, "s.json", solver.toJSON());
    const run = await runArqonInProcess(
      ["solve", "--state", "s.json", "--", process.execPath, "-e", ""],
      dir,
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^trial 2: pruned \(phase done, 2\/2 asked, 1 told, 1 pruned, best 1; /m);
    expect(run.stderr).toMatch(/^done: phase done, 2\/2 asked, 1 told, 1 pruned, best 1$/m);
  });
});
