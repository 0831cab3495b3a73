// A failed trial's reason is saved with the run: what the log records must reopen.
import { describe, expect, it } from "vitest";
import { createSolver, UsageError } from "../src/index.js";
import { createSolverLog, openDecisionLog, openSolverLog } from "../src/log/index.js";
import { tempLogDirs } from "./support/log-dir.js";

const CONFIG = { seed: 3, budget: 10, bounds: { x: { min: 0, max: 1 } } };
const newDir = tempLogDirs();

describe("a logged solver's failed trials", () => {
  it("records an Error's message, and the log reopens with it", () => {
    const dir = newDir();
    const logged = createSolverLog(dir, createSolver(CONFIG));
    const [trial] = logged.ask({ max: 1 })!;
    logged.fail(trial!.id, new Error("disk full") as never);
    logged.closeLog();
    expect(openSolverLog(dir).toJSON().told).toEqual([{ id: trial!.id, failed: "disk full" }]);
  });

  it("refuses a reason that is not a string before logging anything", () => {
    const dir = newDir();
    const logged = createSolverLog(dir, createSolver(CONFIG));
    const [trial] = logged.ask({ max: 1 })!;
    expect(() => logged.fail(trial!.id, { status: 503 } as never)).toThrow(UsageError);
    // A misspelt option would have logged an interrupt as a crash.
    expect(() => logged.fail(trial!.id, "503", { canceled: true } as never)).toThrow(
      'fail: unknown option "canceled" (the only one is cancelled)',
    );
    logged.fail(trial!.id, "503");
    logged.closeLog();
    expect(openSolverLog(dir).toJSON().told).toEqual([{ id: trial!.id, failed: "503" }]);
  });

  it("reopens a log written before reasons were checked, where an Error was written as {}", () => {
    const dir = newDir();
    const logged = createSolverLog(dir, createSolver(CONFIG));
    const [trial] = logged.ask({ max: 1 })!;
    logged.closeLog();
    const writer = openDecisionLog({ dir });
    writer.append({ kind: "fail", id: trial!.id, reason: {} });
    writer.close();
    const reopened = openSolverLog(dir);
    expect(reopened.toJSON().told).toEqual([
      { id: trial!.id, failed: "evaluation failed (its reason was not recorded)" },
    ]);
    expect(reopened.ask({ max: 1 })).toHaveLength(1);
  });
});
