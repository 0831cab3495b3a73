import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { followRecording } from "../src/dashboard/followed-source.js";
import { RecordingError } from "../src/dashboard/recorded-source.js";
import { RecordingTail } from "../src/dashboard/recording-tail.js";
import { createSolver } from "../src/index.js";
import { createSolverLog } from "../src/log/solver-log.js";
import { openDecisionLog } from "../src/log/writer.js";
import { removeTempDirs, runArqonInProcess, tempDir } from "./support/cli-run.js";

// A solver's log is a decision log too, but holds no audit events: shown as a recording it would
// be an empty dashboard. It is refused, pointing at the view that shows it.

afterAll(() => removeTempDirs());

/** A solver log of three asks in `dir/name`. */
function solverLog(name = "study"): { dir: string; path: string } {
  const dir = tempDir();
  const path = join(dir, name);
  const solver = createSolverLog(
    path,
    createSolver({ seed: 1, budget: 10, bounds: { x: { min: 0, max: 1 } } }),
  );
  for (let i = 0; i < 3; i++) for (const trial of solver.ask()!) solver.tell({ id: trial.id, value: 1 });
  solver.closeLog();
  return { dir, path };
}

describe("following a log that is not an engine's", () => {
  it("refuses a solver log, naming its format and --study", async () => {
    const { path } = solverLog();
    await expect(RecordingTail.open(path)).rejects.toThrow(RecordingError);
    await expect(followRecording(path)).rejects.toThrow(
      /study.*is a solver log \(format "arqon\.solver-log"\).*--study/,
    );
  });

  it("refuses another program's log by its format, and still takes a log without one", async () => {
    const other = join(tempDir(), "other");
    openDecisionLog({ dir: other, header: { kind: "header", format: "acme.queue" } }).close();
    await expect(followRecording(other)).rejects.toThrow(
      /format is "acme\.queue", not an engine.s decision log/,
    );
    const bare = join(tempDir(), "bare");
    const log = openDecisionLog({ dir: bare, header: { kind: "header", engine: "test" } });
    log.append({ v: 5, runId: "b", time: 1, generation: 0, proposalId: -1, type: "baseline.set" });
    log.close();
    const followed = await followRecording(bare);
    expect(followed.count).toBe(1);
    await followed.close();
  });

  it("makes `arqon dashboard --log` exit 2 with that message", async () => {
    const { dir } = solverLog();
    const run = await runArqonInProcess(["dashboard", "--log", "study"], dir);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/arqon dashboard: .*study is a solver log.*arqon dashboard --study/);
  });
});
