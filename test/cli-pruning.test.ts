import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readReport, unreadReport } from "../src/cli/objective-output.js";
import { runObjectiveCommand } from "../src/cli/run-command.js";
import { createSolver, restoreSolver } from "../src/solver/solver.js";
import { lines, removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

function nodeObjective(body: string): string[] {
  return [process.execPath, "-e", body];
}

/**
 * A training command: one step every 10 ms for 40 steps, each printed as a report line, the loss
 * falling towards (x − 0.3)²; a command that runs to the end appends its trial id to done.txt.
 * A command whose lines reach the CLI only after it has run to its end (a loaded machine) is a
 * completed trial, told with all 40 steps, so the assertions below hold however late lines
 * arrive; test/cli-pruning-completed.test.ts covers both outcomes with commands that do not
 * depend on timing.
 */
const training = nodeObjective(
  "const fs = require('fs'); const x = Number(process.env.ARQON_X); let s = 0;" +
    "const loss = (s) => (x - 0.3) ** 2 + 5 * Math.exp(-s / 8);" +
    "const t = setInterval(() => { s++; console.log(JSON.stringify({ step: s, value: loss(s) }));" +
    "if (s === 40) { clearInterval(t); fs.appendFileSync('done.txt', process.env.ARQON_TRIAL_ID + '\\n');" +
    "console.log('loss ' + loss(40)); } }, 10);",
);

describe("reading intermediate values", () => {
  it("takes only JSON lines with exactly a numeric step and value", () => {
    expect(readReport('{"step": 3, "value": 0.5}')).toEqual({ step: 3, value: 0.5 });
    expect(readReport('  {"value":-1e-3,"step":0}\r')).toEqual({ step: 0, value: -0.001 });
    expect(readReport("3 0.5")).toBeUndefined();
    // Other keys: a metrics log ({"key": "acc", "step": 1, "value": 0.9}) holds other values than
    // the one minimised. Such a line is no report, and the run says so (below).
    expect(readReport('{"step": 3, "value": 0.5, "epoch": 1}')).toBeUndefined();
    expect(unreadReport('{"step": 3, "value": 0.5, "epoch": 1}')).toBe(
      'it has "step" and "value" among other keys',
    );
    expect(unreadReport('{"step": 3, "value": 0.5}')).toBeUndefined();
    // A key given twice: JSON.parse would keep the last, which may not be the one meant.
    for (const doubled of [
      '{"step": 1, "value": 0.3, "value": 0.4}',
      '\x1b[36m{"step": 1, "step": 2, "value": 0.3}\x1b[39m',
    ]) {
      expect(readReport(doubled)).toBeUndefined();
      expect(unreadReport(doubled)).toBe(
        'its "step" or "value" is given twice (which one was meant is unknown)',
      );
    }
    expect(unreadReport('{"epoch": 3, "value": 0.5, "lr": 1}')).toBeUndefined();
    // Meant as reports: a quoted number, and Python's print of a dict.
    expect(unreadReport('{"step": 3, "value": "0.5"}')).toBe(
      'its "step" and "value" must both be numbers, unquoted',
    );
    expect(unreadReport("{'step': 1, 'value': 1.6}")).toMatch(/^it is no JSON \(single quotes/);
    expect(unreadReport("{'value': 1.6, 'step': 1}")).toMatch(/^it is no JSON/);
    // Ordinary output is not.
    expect(unreadReport("{'epoch': 1, 'loss': 1.6}")).toBeUndefined();
    expect(unreadReport("step 1 value 0.5")).toBeUndefined();
    expect(unreadReport('{"step": "a", "value": 1, "x": 2}')).toBeUndefined();
    // A long line of log is no report, and reading it costs one pass (a backtracking pattern
    // took 16 s on 256 KB of this, holding the event loop).
    expect(unreadReport(`{'step': 1, ${"'value': 1, ".repeat(20_000)}`)).toBeUndefined();
    expect(readReport('{"step": "3", "value": 0.5}')).toBeUndefined();
    expect(readReport("{not json}")).toBeUndefined();
    expect(readReport("RESULT=0.5")).toBeUndefined();
  });
});

describe("arqon solve with a pruner", () => {
  it("stops pruned commands early and records them pruned with their intermediate values", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 3,
      budget: 12,
      bounds: { x: { min: 0, max: 1 } },
      // Half the budget as a spread probe: the default strategy homes in on x = 0.3 so fast that,
      // with a short probe, no trial is worse than the median and nothing would be pruned.
      probeRatio: 0.5,
      pruner: { kind: "median", startupTrials: 2 },
    });
    const run = await runArqonInProcess(
      ["solve", "--config", "c.json", "--state", "s.json", "--", ...training],
      dir,
    );
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout) as { evaluations: number; pruned: number; failures: unknown[] };
    expect(out.failures).toEqual([]);
    expect(out.pruned).toBeGreaterThan(0);
    expect(out.evaluations + out.pruned).toBe(12);
    expect(run.stderr).toMatch(/^trial \d+: pruned /m);

    const solver = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
    const trials = solver.toJSON().trials;
    const finished = lines(readFileSync(join(dir, "done.txt"), "utf8"))
      .map(Number)
      .sort((a, b) => a - b);
    // Exactly the completed trials ran to the end: every pruned command was stopped.
    expect(finished).toEqual(trials.filter((t) => t.status === "told").map((t) => t.id));
    for (const t of trials) {
      const steps = solver.intermediateValues(t.id).map((r) => r.step);
      if (t.status === "pruned") {
        expect(steps.length).toBeGreaterThan(0);
        expect(steps.length).toBeLessThan(40);
        expect(solver.shouldPrune(t.id)).toBe(true);
      } else {
        expect(steps).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      }
    }
  });

  it("warns of Python's print of a dict, the report a Python user writes first", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 1,
      budget: 2,
      bounds: { x: { min: 0, max: 1 } },
      pruner: { kind: "median" },
    });
    const objective = nodeObjective("console.log(\"{'step': 1, 'value': 0.8}\"); console.log(0.5);");
    const run = await runArqonInProcess(
      ["solve", "--config", "c.json", "--state", "s.json", "--", ...objective],
      dir,
    );
    expect(run.status, run.stderr).toBe(0);
    expect(lines(run.stderr).filter((line) => line.includes("not read as an intermediate value"))).toEqual([
      `arqon solve: trial 1 printed "{'step': 1, 'value': 0.8}", which is not read as an intermediate value: ` +
        "it is no JSON (single quotes: a Python dict printed as it is; print json.dumps(...) instead). " +
        'For pruning, print {"step": N, "value": X} alone on its line. (Said once per run.)',
    ]);
  });

  it("warns once per run of a line with step and value among other keys, which it does not record", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 2, bounds: { x: { min: 0, max: 1 } } });
    const objective = nodeObjective(
      "console.log(JSON.stringify({ step: 1, value: 0.8, lr: 0.01 })); console.log(JSON.stringify({ key: 'acc', step: 1, value: 0.6 })); console.log(0.5);",
    );
    const run = await runArqonInProcess(
      ["solve", "--config", "c.json", "--state", "s.json", "--", ...objective],
      dir,
    );
    expect(run.status, run.stderr).toBe(0);
    const warnings = lines(run.stderr).filter((line) => line.includes("among other keys"));
    expect(warnings).toEqual([
      'arqon solve: trial 1 printed "{\\"step\\":1,\\"value\\":0.8,\\"lr\\":0.01}", which is not read as an intermediate value: it has "step" and "value" among other keys. For pruning, print {"step": N, "value": X} alone on its line. (Said once per run.)',
    ]);
    const solver = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
    expect(solver.intermediateValues(1)).toEqual([]);
    expect(solver.best()?.value).toBe(0.5);
  });

  it("fails a trial whose command reports a step out of order, naming the line", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 2, bounds: { x: { min: 0, max: 1 } } });
    const objective = nodeObjective(
      "console.log(JSON.stringify({ step: 2, value: 1 })); console.log(JSON.stringify({ step: 1, value: 1 })); console.log(1);",
    );
    const run = await runArqonInProcess(
      ["solve", "--config", "c.json", "--on-error", "skip", "--", ...objective],
      dir,
    );
    const out = JSON.parse(run.stdout) as { failures: { error: string }[] };
    expect(out.failures).toHaveLength(2);
    expect(out.failures[0]!.error).toBe(
      'refused intermediate value {"step":1,"value":1}: step must be a whole number greater than trial 1\'s previous step 2, got 1',
    );
  });

  it("records a resumed trial the pruner had already stopped as pruned, without running it", async () => {
    const dir = tempDir();
    // A state saved between the pruner's advice and the pruned result (a hard kill in the grace).
    const solver = createSolver({
      seed: 1,
      budget: 2,
      probeRatio: 1,
      bounds: { x: { min: 0, max: 1 } },
      pruner: { kind: "median", startupTrials: 1 },
    });
    const [done, stopped] = solver.ask()!;
    for (const step of [1, 2, 3]) solver.report(done!.id, step, 1);
    solver.tell({ id: done!.id, value: 1 });
    for (const step of [1, 2, 3]) solver.report(stopped!.id, step, 5);
    expect(solver.shouldPrune(stopped!.id)).toBe(true);
    writeJson(dir, "s.json", solver.toJSON());
    const run = await runArqonInProcess(
      [
        "solve",
        "--state",
        "s.json",
        "--",
        ...nodeObjective(
          "require('fs').appendFileSync('ran.txt', process.env.ARQON_TRIAL_ID + '\\n'); console.log('RESULT=5')",
        ),
      ],
      dir,
    );
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 0, pruned: 1 });
    expect(existsSync(join(dir, "ran.txt"))).toBe(false);
    const state = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
    expect(state.trialStatus(stopped!.id)).toBe("pruned");
  });
});

describe("arqon tell with a pruned result", () => {
  it("records the trial pruned with the value it stopped at, and refuses a malformed one", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 2, budget: 4, bounds: { x: { min: 0, max: 1 } } });
    const asked = JSON.parse(
      (await runArqonInProcess(["ask", "--state", "s.json", "--config", "c.json"], dir)).stdout,
    ) as { trials: { id: number }[] };
    const id = asked.trials[0]!.id;
    const bad = await runArqonInProcess(
      ["tell", "--state", "s.json"],
      dir,
      JSON.stringify({ id, pruned: "yes" }),
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("results[0].pruned: expected true");
    const ok = await runArqonInProcess(
      ["tell", "--state", "s.json"],
      dir,
      JSON.stringify({ id, pruned: true, value: 0.7 }),
    );
    expect(ok.status, ok.stderr).toBe(0);
    // Counted as `arqon status` counts: a pruned trial is no told value.
    expect(JSON.parse(ok.stdout)).toMatchObject({ told: 0, pruned: 1, failed: 0 });
    expect(lines(ok.stderr).at(-1)).toMatch(/^told 0 result\(s\), 1 pruned: /);
    const state = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
    expect(state.trialStatus(id)).toBe("pruned");
    expect(state.toJSON().told).toEqual([{ id, pruned: true, value: 0.7 }]);
    expect(state.best()).toBeNull();
  });
});

describe("stopping an objective command", () => {
  it("sends SIGKILL after the grace when the command ignores SIGTERM", async () => {
    const stop = new AbortController();
    const seen: string[] = [];
    const reading = await runObjectiveCommand({
      command: nodeObjective(
        "process.on('SIGTERM', () => {}); let s = 0; setInterval(() => console.log(JSON.stringify({ step: ++s, value: 1 })), 5);",
      ),
      cwd: process.cwd(),
      env: process.env,
      onStderr: () => {},
      onLine: (line) => {
        seen.push(line);
        if (seen.length === 3) stop.abort();
      },
      stopSignal: stop.signal,
      stopGraceMs: 50,
    });
    expect(reading).toEqual({ ok: false, reason: "stopped early", stopped: true });
    // Lines after the stop are not handed on.
    expect(seen).toHaveLength(3);
  });
});
