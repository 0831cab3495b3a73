import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { IntermediateValue } from "../src/index.js";
import { openSolverLog } from "../src/log/solver-log.js";
import { removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

/** A command that prints `lines` in one write and exits with `code`. */
function prints(lines: readonly unknown[], code = 0): string[] {
  const text = lines.map((line) => `${typeof line === "string" ? line : JSON.stringify(line)}\n`).join("");
  return [
    process.execPath,
    "-e",
    `process.stdout.write(${JSON.stringify(text)}); process.exitCode = ${code};`,
  ];
}

/** The intermediate values trial `id` holds in the decision log `dir`. */
function loggedReports(dir: string, id: number): IntermediateValue[] {
  const solver = openSolverLog(dir);
  try {
    return solver.intermediateValues(id);
  } finally {
    solver.closeLog();
  }
}

/** Runs `arqon solve` on the decision log `st` in `dir` (budget 1, no pruner). */
function solve(dir: string, command: readonly string[]) {
  return runArqonInProcess(["solve", "--config", "c.json", "--state", "st", "--", ...command], dir);
}

function newRun(): string {
  const dir = tempDir();
  writeJson(dir, "c.json", { seed: 1, budget: 1, bounds: { x: { min: 0, max: 1 } } });
  return dir;
}

describe("resuming a trial that reported intermediate values", () => {
  it("refuses again the out-of-order report that failed it", async () => {
    const dir = newRun();
    const objective = prints([{ step: 2, value: 1 }, { step: 1, value: 1 }, "0.5"]);
    const refused =
      'refused intermediate value {"step":1,"value":1}: step must be a whole number greater than trial 1\'s previous step 2, got 1';
    for (const attempt of ["first run", "resumed run"]) {
      const run = await solve(dir, objective);
      expect(run.status, attempt).toBe(1);
      const out = JSON.parse(run.stdout) as { best: unknown; failures: { error: string }[] };
      expect(out.best, attempt).toBeNull();
      expect(
        out.failures.map((f) => f.error),
        attempt,
      ).toEqual([refused]);
    }
  });

  it("skips the reports a re-run prints again, even with other values, and records the new ones", async () => {
    const dir = newRun();
    const failing = prints(
      [
        { step: 1, value: 4 },
        { step: 2, value: 3 },
      ],
      1,
    );
    expect((await solve(dir, failing)).status).toBe(1);
    expect(loggedReports(join(dir, "st"), 1)).toEqual([
      { step: 1, value: 4 },
      { step: 2, value: 3 },
    ]);
    // A re-run from scratch of a command that is not deterministic (a GPU training run).
    const rerun = prints([{ step: 1, value: 4.5 }, { step: 2, value: 3.5 }, { step: 3, value: 2 }, "2"]);
    const run = await solve(dir, rerun);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 1, failures: [] });
    expect(loggedReports(join(dir, "st"), 1)).toEqual([
      { step: 1, value: 4 },
      { step: 2, value: 3 },
      { step: 3, value: 2 },
    ]);
  });

  it("skips a re-printed last step of a command that resumes from its own checkpoint", async () => {
    const dir = newRun();
    expect(
      (
        await solve(
          dir,
          prints(
            [
              { step: 1, value: 4 },
              { step: 2, value: 3 },
            ],
            1,
          ),
        )
      ).status,
    ).toBe(1);
    const run = await solve(dir, prints([{ step: 2, value: 3 }, { step: 3, value: 2 }, "2"]));
    expect(run.status, run.stderr).toBe(0);
    expect(loggedReports(join(dir, "st"), 1).map((r) => r.step)).toEqual([1, 2, 3]);
  });
});
