// The line `arqon solve`, `ask` and `tell` print when the probe is complete: it names what the
// probe found, and says so when the probe could not be judged rather than claim a label.
import { afterAll, describe, expect, it } from "vitest";
import { describeRefineStart } from "../src/cli/progress.js";
import { studyOf } from "../src/dashboard/study.js";
import { createSolver, type Solver } from "../src/solver/solver.js";
import { removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

const CONFIG = {
  seed: 3,
  budget: 20,
  probeRatio: 0.5,
  bounds: { x: { min: -1, max: 1 }, y: { min: -1, max: 1 } },
};

/** A solver whose whole probe (10 points) was asked and answered by `answer`. */
function probed(answer: (solver: Solver, id: number, x: number, y: number) => void): Solver {
  const solver = createSolver(CONFIG);
  const probe = solver.ask({ max: 10 })!;
  expect(probe).toHaveLength(10);
  for (const { id, params } of probe) answer(solver, id, params.x as number, params.y as number);
  return solver;
}

describe("the line printed when the probe is complete", () => {
  it("names the label and its score when the probe could be judged", () => {
    const solver = probed((s, id, x, y) => s.tell({ id, value: x * x + y * y }));
    expect(describeRefineStart(solver)).toMatch(
      /^landscape classified as structured \(score [\d.]+; elite-distance-spearman: 10 points, 2 elite; .*\); refining with global-local$/,
    );
  });

  it("says the landscape was not classified when too few probe trials returned a value", () => {
    const solver = probed((s, id, x, y) => (id <= 3 ? s.tell({ id, value: x + y }) : s.fail(id, "crashed")));
    expect(describeRefineStart(solver)).toMatch(
      /^landscape not classified \(elite-distance-spearman: too few points \(3 < 4\), no evidence of structure\); refining with global-local$/,
    );
  });

  it("says the landscape was not classified when every probe value was the same", () => {
    const solver = probed((s, id) => s.tell({ id, value: 1 }));
    expect(describeRefineStart(solver)).toMatch(
      /^landscape not classified \(.*no variation, no evidence of structure\)/,
    );
  });

  it("prints nothing before the probe is complete", () => {
    expect(describeRefineStart(createSolver(CONFIG))).toBeUndefined();
  });
});

describe("the classification arqon status prints", () => {
  async function status(solver: Solver): Promise<{ classification: unknown }> {
    const dir = tempDir();
    writeJson(dir, "s.json", solver.toJSON());
    const run = await runArqonInProcess(["status", "--state", "s.json"], dir);
    expect(run.status, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as { classification: unknown };
  }

  it("says not classified when the probe could not be judged, not a label and score it did not find", async () => {
    const solver = probed((s, id, x, y) => (id <= 3 ? s.tell({ id, value: x + y }) : s.fail(id, "crashed")));
    expect((await status(solver)).classification).toEqual({
      label: "not classified",
      statistic: "elite-distance-spearman: too few points (3 < 4), no evidence of structure",
    });
    // The dashboard's study view says the same.
    expect(studyOf(solver, "t").classification).toBe("not classified");
    // A probe that could be judged: its label and score.
    const judged = probed((s, id, x, y) => s.tell({ id, value: x * x + y * y }));
    expect((await status(judged)).classification).toMatchObject({
      label: "structured",
      score: expect.any(Number),
      statistic: expect.stringMatching(/^elite-distance-spearman: 10 points/),
    });
    expect(studyOf(judged, "t").classification).toBe("structured");
  });
});
