import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parameterVariable, trialVariables, variableClashes } from "../src/cli/env-names.js";
import { readObjective } from "../src/cli/objective-output.js";
import { shellWord } from "../src/cli/solve.js";
import { createSolver, restoreSolver, type SolverConfig, type Told, type Trial } from "../src/index.js";
import {
  lines,
  processState,
  REPO_ROOT,
  removeTempDirs,
  runArqon,
  runArqonInProcess,
  runNode,
  tempDir,
  writeJson,
} from "./support/cli-run.js";

afterAll(removeTempDirs);

/** Parses the single JSON document a command printed on stdout. */
// biome-ignore lint/suspicious/noExplicitAny: the tests read arbitrary JSON output field by field
function json(stdout: string): any {
  const out = lines(stdout);
  expect(out).toHaveLength(1);
  return JSON.parse(out[0]!);
}

/** Asserts a failure reported as exactly one stderr line, and returns that line. */
function oneLineError(
  run: { status: number | null; stdout: string; stderr: string },
  status: number,
): string {
  expect(run.status).toBe(status);
  expect(run.stdout).toBe("");
  const errorLines = lines(run.stderr);
  expect(errorLines).toHaveLength(1);
  return errorLines[0]!;
}

/** A deterministic objective for the ask/tell round trip. */
function bowl(params: Readonly<Record<string, unknown>>): number {
  return (Number(params.x) - 1) ** 2 + 2 * (Number(params.y) + 0.5) ** 2;
}

const ROUND_TRIP_CONFIG = {
  seed: 11,
  budget: 10,
  probeRatio: 0.5,
  bounds: { x: { min: -4, max: 4 }, y: { min: -3, max: 3 } },
} satisfies SolverConfig;

describe("objective output", () => {
  it("takes the number standing alone on the last non-empty line", () => {
    expect(readObjective("noise\nRESULT=0.99\n")).toEqual({ ok: true, value: 0.99 });
    expect(readObjective("0.1\n0.2\n0.3")).toEqual({ ok: true, value: 0.3 });
    expect(readObjective("  0.75 \n\n  \n")).toEqual({ ok: true, value: 0.75 });
    expect(readObjective("epoch 3/3 loss: 1.5e-2\r\n")).toEqual({ ok: true, value: 0.015 });
    // Several numbers: which is the value cannot be told, so none is.
    expect(readObjective("step 7 value -2.5")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("holds several numbers"),
    });
    expect(readObjective("0.123")).toEqual({ ok: true, value: 0.123 });
  });

  it("fails on empty output, a last line without a number, or a non-finite number", () => {
    expect(readObjective("")).toMatchObject({ ok: false, reason: expect.stringContaining("no output") });
    expect(readObjective("\n  \n")).toMatchObject({ ok: false });
    expect(readObjective("0.5\ndone")).toMatchObject({
      ok: false,
      reason: expect.stringContaining('"done"'),
    });
    expect(readObjective("NaN")).toMatchObject({ ok: false });
    expect(readObjective("1e999")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("not finite"),
    });
  });
});

describe("environment variable names", () => {
  it("upper-cases names and replaces other characters with _", () => {
    expect(parameterVariable("x")).toBe("ARQON_X");
    expect(parameterVariable("alpha")).toBe("ARQON_ALPHA");
    expect(parameterVariable("learning-rate")).toBe("ARQON_LEARNING_RATE");
    expect(parameterVariable("p.2 é")).toBe("ARQON_P_2__");
    expect(trialVariables(4, { alpha: 0.123, "n-layers": 3 })).toEqual({
      ARQON_TRIAL_ID: "4",
      ARQON_ALPHA: "0.123",
      ARQON_N_LAYERS: "3",
    });
  });

  it("reports names that would share a variable, with the parameter's path", () => {
    expect(variableClashes(["x", "y", "learning-rate"])).toEqual([]);
    expect(variableClashes(["lr", "LR"])).toEqual([
      'bounds.LR: its variable ARQON_LR is also used by parameter "lr"',
    ]);
    expect(variableClashes(["trial_id"])).toEqual([
      "bounds.trial_id: its variable ARQON_TRIAL_ID is also used by the trial id",
    ]);
  });
});

describe("arqon validate", () => {
  it("prints the parameters and budget of a valid config", () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 1,
      budget: 20,
      bounds: { x: { min: -5, max: 10 }, lr: { min: 1e-5, max: 0.1, scale: "log" } },
    });
    const run = runArqon(["validate", "--config", "c.json"], dir);
    expect(run.status).toBe(0);
    expect(json(run.stdout)).toEqual({
      ok: true,
      parameters: ["x", "lr"],
      variables: { x: "ARQON_X", lr: "ARQON_LR" },
      budget: 20,
    });
  });

  it("exits 2 with one stderr line naming every problem's path", () => {
    const dir = tempDir();
    writeJson(dir, "bad.json", {
      seed: 1,
      budget: 0,
      bounds: { x: { min: 3, max: 1 }, lr: { min: 0, max: 1, scale: "log" } },
      batch_size: 4,
    });
    const line = oneLineError(runArqon(["validate", "--config", "bad.json"], dir), 2);
    expect(line).toContain("bad.json");
    expect(line).toMatch(/budget: /);
    expect(line).toMatch(/bounds\.x: min \(3\) must not exceed max \(1\)/);
    expect(line).toMatch(/bounds\.lr: log scale/);
    expect(line).toMatch(/batch_size: unknown key/);
  });

  it("lists the variable problems solve would refuse together with the config's own", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 1,
      budget: 0,
      bounds: {
        lr: { min: 0, max: 1 },
        LR: { min: 0, max: 1 },
        c: { type: "categorical", choices: ["a\u0000"] },
      },
    });
    const line = oneLineError(await runArqonInProcess(["validate", "--config", "c.json"], dir), 2);
    expect(line).toMatch(/budget: /);
    expect(line).toMatch(/ambiguous environment variables: /);
    expect(line).toMatch(/bounds\.c\.choices\.0: contains a NUL character/);
    // Bounds too malformed to name variables: the config's own problems alone.
    writeJson(dir, "d.json", {
      seed: 1,
      budget: 5,
      bounds: { x: 3, y: { type: "categorical", choices: 7 } },
    });
    expect(oneLineError(await runArqonInProcess(["validate", "--config", "d.json"], dir), 2)).toMatch(
      /bounds\.x: /,
    );
  });

  it("exits 2 with one line for a missing file, malformed JSON or a missing flag", async () => {
    const dir = tempDir();
    expect(oneLineError(await runArqonInProcess(["validate", "--config", "nope.json"], dir), 2)).toBe(
      "config file not found: nope.json",
    );
    writeFileSync(join(dir, "broken.json"), "{ seed: 1");
    expect(oneLineError(await runArqonInProcess(["validate", "--config", "broken.json"], dir), 2)).toMatch(
      /^config file broken\.json is not valid JSON: /,
    );
    expect(oneLineError(await runArqonInProcess(["validate"], dir), 2)).toBe(
      "arqon validate: --config is required",
    );
    expect(
      oneLineError(await runArqonInProcess(["validate", "--config", "x.json", "--bogus"], dir), 2),
    ).toMatch(/^arqon validate: .*--bogus/);
  });
});

describe("arqon ask / tell across invocations", () => {
  it("keeps pending trials and strategy state between invocations and matches an in-process run", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", ROUND_TRIP_CONFIG);
    const twin = createSolver(ROUND_TRIP_CONFIG);

    // The first steps run as real child processes; the refine loop runs the same CLI code in-process
    // (still one invocation per step, state only through the file) to keep the test fast.
    const ask = async (extra: string[], child: boolean): Promise<Trial[] | null> => {
      const args = ["ask", "--state", "s.json", "--batch", "3", ...extra];
      const run = child ? runArqon(args, dir) : await runArqonInProcess(args, dir);
      expect(run.status).toBe(0);
      const out = json(run.stdout);
      expect(out.trials).toEqual(twin.ask({ max: 3 }));
      if (out.trials === null) expect(out.done).toBe(true);
      return out.trials;
    };
    const tell = async (results: Told<"x" | "y">[], how: "file" | "stdin", child: boolean) => {
      const args = ["tell", "--state", "s.json"];
      if (how === "file") args.push("--results", writeJson(dir, "r.json", results));
      const stdin = how === "stdin" ? JSON.stringify(results) : undefined;
      const run = child ? runArqon(args, dir, stdin) : await runArqonInProcess(args, dir, stdin);
      expect(run.status).toBe(0);
      twin.tell(results);
      expect(json(run.stdout)).toEqual({ told: results.length, pruned: 0, failed: 0, best: twin.best() });
    };
    const evaluate = (trials: readonly Trial[]) => trials.map((t) => ({ id: t.id, value: bowl(t.params) }));

    // The first ask creates the state from --config; the second continues the ids without it.
    const first = (await ask(["--config", "c.json"], true))!;
    expect(first.map((t) => t.id)).toEqual([1, 2, 3]);
    // The probe's last two points, and one it grows by: no result has come back yet.
    const second = (await ask([], true))!;
    expect(second.map((t) => t.id)).toEqual([4, 5, 6]);
    // Told in part and out of order; the rest stays pending in the file.
    await tell(evaluate([second[0]!, first[1]!]), "file", true);
    const pending = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8"))).pendingTrials();
    expect(pending.map((t) => t.id)).toEqual([1, 3, 5, 6]);
    await tell(evaluate(pending), "stdin", true);

    // Refine until the budget is spent.
    for (let round = 0; round < 20; round++) {
      const trials = await ask([], false);
      if (trials === null) break;
      await tell(evaluate(trials), round % 2 === 0 ? "stdin" : "file", false);
    }
    const finalState = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
    expect(finalState.told).toBe(ROUND_TRIP_CONFIG.budget);
    expect(finalState.phase).toBe("done");
    expect(finalState.best()).toEqual(twin.best());
    expect(twin.ask()).toBeNull();
  }, 120_000); // dozens of child processes: slow on a loaded 2-core machine

  it("refuses a bad tell as a whole, leaving the state file byte-identical", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", ROUND_TRIP_CONFIG);
    const asked = json(
      (await runArqonInProcess(["ask", "--state", "s.json", "--config", "c.json"], dir)).stdout,
    );
    const before = readFileSync(join(dir, "s.json"));
    const good = { id: asked.trials[0].id, value: 1 };

    const refused = runArqon(
      ["tell", "--state", "s.json"],
      dir,
      JSON.stringify([good, { id: 999, value: 2 }]),
    );
    expect(oneLineError(refused, 2)).toBe(
      "arqon tell: results refused, nothing was told: results[1].id: trial 999 was never asked",
    );
    expect(readFileSync(join(dir, "s.json")).equals(before)).toBe(true);

    const malformed = await runArqonInProcess(
      ["tell", "--state", "s.json"],
      dir,
      JSON.stringify([good, { id: 2, value: "0.5" }, { value: 1 }]),
    );
    const line = oneLineError(malformed, 2);
    expect(line).toContain('results[1].value: expected a finite number, got "0.5"');
    expect(line).toContain('results[2]: expected exactly one of "id"');
    expect(oneLineError(await runArqonInProcess(["tell", "--state", "s.json"], dir, "[{"), 2)).toMatch(
      /^results on stdin is not valid JSON/,
    );
    expect(readFileSync(join(dir, "s.json")).equals(before)).toBe(true);

    // The same good result alone is accepted.
    const ok = await runArqonInProcess(["tell", "--state", "s.json"], dir, JSON.stringify(good));
    expect(ok.status).toBe(0);
    expect(json(ok.stdout).told).toBe(1);
  });

  it("reports missing state, bad flags and a conflicting config as usage errors", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", ROUND_TRIP_CONFIG);
    writeJson(dir, "other.json", { ...ROUND_TRIP_CONFIG, seed: 12 });
    expect(oneLineError(await runArqonInProcess(["ask", "--state", "s.json"], dir), 2)).toBe(
      "arqon ask: state file s.json does not exist; pass --config to create it",
    );
    expect(oneLineError(await runArqonInProcess(["ask", "--config", "c.json"], dir), 2)).toBe(
      "arqon ask: --state is required",
    );
    expect(
      oneLineError(
        await runArqonInProcess(["ask", "--state", "s.json", "--config", "c.json", "--batch", "0"], dir),
        2,
      ),
    ).toMatch(/--batch must be a whole number >= 1/);
    expect(oneLineError(await runArqonInProcess(["tell", "--state", "s.json"], dir, "[]"), 2)).toMatch(
      /state file s\.json does not exist/,
    );
    // status has no --config: it points at the command that creates the state.
    expect(oneLineError(await runArqonInProcess(["status", "--state", "s.json"], dir), 2)).toBe(
      "arqon status: state file s.json does not exist; create it with arqon ask --config",
    );
    expect(oneLineError(await runArqonInProcess(["frobnicate"], dir), 2)).toMatch(
      /unknown command "frobnicate"/,
    );

    expect((await runArqonInProcess(["ask", "--state", "s.json", "--config", "c.json"], dir)).status).toBe(0);
    // The same config again is fine (defaults filled in compare equal); another one is refused.
    expect((await runArqonInProcess(["ask", "--state", "s.json", "--config", "c.json"], dir)).status).toBe(0);
    // Documented defaults written out, at every level, are the same config.
    writeJson(dir, "same.json", {
      ...ROUND_TRIP_CONFIG,
      strategy: "auto",
      autoOptions: { gamma: 0.15 },
      bounds: {
        y: { min: -3, max: 3, type: "float" },
        x: { min: -4, max: 4, scale: "linear" },
      },
    });
    expect((await runArqonInProcess(["ask", "--state", "s.json", "--config", "same.json"], dir)).status).toBe(
      0,
    );
    expect(
      oneLineError(await runArqonInProcess(["ask", "--state", "s.json", "--config", "other.json"], dir), 2),
    ).toBe(
      `arqon ask: other.json differs from the config stored in s.json (seed: the state has ${ROUND_TRIP_CONFIG.seed}, --config 12); drop --config to continue the saved run, or use a new --state file`,
    );

    // A larger budget and nothing else: the saved run grows (Solver.extend), and says so.
    const budget = ROUND_TRIP_CONFIG.budget;
    writeJson(dir, "more.json", { ...ROUND_TRIP_CONFIG, budget: budget * 4 });
    const grown = await runArqonInProcess(["ask", "--state", "s.json", "--config", "more.json"], dir);
    expect(grown.status, grown.stderr).toBe(0);
    expect(grown.stderr).toContain(
      `budget grown by ${budget * 3} to ${budget * 4} trials (--config has a larger budget than the saved run)`,
    );
    expect(JSON.parse(readFileSync(join(dir, "s.json"), "utf8"))).toMatchObject({
      budget: budget * 4,
      extended: budget * 3,
    });
    // A smaller one is refused, named with the reason, and not the probe size it implies.
    expect(
      oneLineError(await runArqonInProcess(["ask", "--state", "s.json", "--config", "c.json"], dir), 2),
    ).toBe(
      `arqon ask: c.json differs from the config stored in s.json (budget: the state has ${budget * 4}, --config ${budget}); drop --config to continue the saved run (a saved run's budget can grow, not shrink), or use a new --state file`,
    );

    writeJson(dir, "junk.json", { hello: 1 });
    expect(oneLineError(await runArqonInProcess(["ask", "--state", "junk.json"], dir), 2)).toMatch(
      /^state file junk\.json is not a valid arqon solver state: /,
    );
  });

  it("prints the saved run's status, pending trials included, without changing it", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", ROUND_TRIP_CONFIG);
    await runArqonInProcess(["ask", "--state", "s.json", "--config", "c.json", "--batch", "2"], dir);
    const before = readFileSync(join(dir, "s.json"));
    const status = json((await runArqonInProcess(["status", "--state", "s.json"], dir)).stdout);
    expect(status).toMatchObject({
      phase: "probe",
      asked: 2,
      told: 0,
      budget: 10,
      best: null,
      classification: null,
    });
    expect(status.pending.map((t: Trial) => t.id)).toEqual([1, 2]);
    expect(readFileSync(join(dir, "s.json")).equals(before)).toBe(true);
  });
});

/** A node one-liner objective: reads its parameters from ARQON_* variables and prints the value. */
function nodeObjective(body: string): string[] {
  return [process.execPath, "-e", body];
}

describe("arqon solve", () => {
  it("runs more than ten trials at once without Node's listener-leak warning", () => {
    const dir = tempDir();
    // The probe (a quarter of the budget, as set) asks its fifteen points at once.
    writeJson(dir, "c.json", { seed: 2, budget: 60, probeRatio: 0.25, bounds: { x1: { min: -5, max: 5 } } });
    // Each trial holds until twelve have started, so twelve run at once.
    const objective = nodeObjective(
      "const fs = require('node:fs'); fs.writeFileSync('started-' + process.env.ARQON_TRIAL_ID, '');" +
        " const wait = () => fs.readdirSync('.').filter((f) => f.startsWith('started-')).length >= 12" +
        " ? console.log(Number(process.env.ARQON_X1) ** 2) : setTimeout(wait, 10); wait();",
    );
    const run = runArqon(["solve", "--config", "c.json", "--concurrency", "12", "--", ...objective], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(json(run.stdout).evaluations).toBe(60);
    expect(run.stderr).not.toContain("MaxListenersExceededWarning");
  });

  it("minimises a command's printed RESULT= value and saves a resumable state", () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 5, budget: 24, bounds: { x: { min: -5, max: 5 } } });
    const objective = nodeObjective(
      "const x = Number(process.env.ARQON_X); console.log('training...'); console.log('RESULT=' + (x - 1.5) ** 2);",
    );
    const run = runArqon(
      ["solve", "--config", "c.json", "--state", "s.json", "--concurrency", "2", "--", ...objective],
      dir,
    );
    expect(run.status).toBe(0);
    const out = json(run.stdout);
    expect(out.evaluations).toBe(24);
    expect(out.failures).toEqual([]);
    expect(out.best.value).toBeLessThan(0.05);
    expect(Math.abs(out.best.params.x - 1.5)).toBeLessThan(0.25);
    expect(out.best.value).toBeCloseTo((out.best.params.x - 1.5) ** 2, 12);
    // Progress and the classification go to stderr only.
    expect(run.stderr).toMatch(/landscape classified as (structured|chaotic)/);
    expect(run.stderr).toMatch(/^trial 1: /m);
    const saved = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
    expect(saved.told).toBe(24);
    expect(saved.best()).toEqual(out.best);
  });

  const failingConfig = {
    seed: 9,
    budget: 8,
    probeRatio: 0.5,
    bounds: { x: { min: 0, max: 1 }, "learning-rate": { min: 1e-4, max: 1e-1, scale: "log" as const } },
  };
  // Fails trial 3 (exit code 1) unless FIXED is set; the value uses both parameters' variables.
  const failingObjective = nodeObjective(
    "const e = process.env; if (e.ARQON_TRIAL_ID === '3' && !e.FIXED) process.exit(1);" +
      "console.log(Number(e.ARQON_X) + Math.log10(Number(e.ARQON_LEARNING_RATE)));",
  );

  it("--trial-timeout-ms stops a command that runs too long, with what it started, and fails its trial", () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 3, bounds: { x: { min: 0, max: 1 } } });
    // Trial 2 hangs in a child of its shell, writing its pid first; the others answer at once.
    writeFileSync(
      join(dir, "trial.js"),
      "if (process.env.ARQON_TRIAL_ID === '2') { require('node:fs').writeFileSync('pid', String(process.pid));" +
        " setInterval(() => {}, 1000); } else console.log(Number(process.env.ARQON_X));",
    );
    const shell = ["sh", "-c", `${shellWord(process.execPath)} trial.js; exit $?`];
    const args = ["solve", "--config", "c.json", "--state", "s.json", "--on-error", "stop"];
    const run = runArqon([...args, "--trial-timeout-ms", "1500", "--", ...shell], dir);
    expect(run.status).toBe(1);
    const out = json(run.stdout);
    expect(out.failures).toMatchObject([{ id: 2, error: "timed out after 1.5 s" }]);
    // The resume command keeps the timeout.
    expect(lines(run.stderr).at(-1)).toContain(
      "resume with: arqon solve --state s.json --trial-timeout-ms 1500 -- sh -c",
    );
    // Not running: gone, or dead and not yet reaped (it lost its shell).
    const pid = Number(readFileSync(join(dir, "pid"), "utf8"));
    expect(processState(pid)).toMatch(/^(gone|Z)$/);
    expect(
      runArqon(["solve", "--config", "c.json", "--trial-timeout-ms", "0", "--", ...shell], dir).stderr,
    ).toContain("arqon solve: --trial-timeout-ms must be a whole number in [1, ");
  });

  it("does not wait for what a command left running that holds its output (sleep 30 &)", () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 2, bounds: { x: { min: 0, max: 1 } } });
    const leaving = ["sh", "-c", 'sleep 30 & echo $! > "left-$ARQON_TRIAL_ID"; echo 0.5'];
    const run = runArqon(["solve", "--config", "c.json", "--", ...leaving], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(json(run.stdout)).toMatchObject({ evaluations: 2, failures: [], best: { value: 0.5 } });
    // Stopped with the trial (it shared the command's process group), not left to run.
    for (const id of [1, 2]) {
      const pid = Number(readFileSync(join(dir, `left-${id}`), "utf8"));
      expect(processState(pid)).toMatch(/^(gone|Z)$/);
    }
  });

  it("names a failed command's last stderr line in its failure (a traceback's exception)", () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 2, bounds: { x: { min: 0, max: 1 } } });
    const crashing = nodeObjective(
      "process.stderr.write('Traceback (most recent call last):\\n  File \"train.py\", line 9\\nValueError: lr must be positive\\n\\n'); process.exit(1);",
    );
    const run = runArqon(["solve", "--config", "c.json", "--on-error", "skip", "--", ...crashing], dir);
    const failures = json(run.stdout).failures as { error: string }[];
    expect(failures.map((f) => f.error)).toEqual([
      'exit code 1: "ValueError: lr must be positive"',
      'exit code 1: "ValueError: lr must be positive"',
    ]);
  });

  it("with --on-error skip reports the failed trial and spends the rest of the budget", () => {
    const dir = tempDir();
    writeJson(dir, "c.json", failingConfig);
    const run = runArqon(
      ["solve", "--config", "c.json", "--on-error", "skip", "--", ...failingObjective],
      dir,
    );
    expect(run.status).toBe(0);
    const out = json(run.stdout);
    expect(out.evaluations).toBe(7);
    expect(out.failures).toHaveLength(1);
    expect(out.failures[0]).toMatchObject({ id: 3, error: "exit code 1" });
    expect(run.stderr).toMatch(/^trial 3 failed: exit code 1$/m);
    expect(out.best.value).toBeCloseTo(out.best.params.x + Math.log10(out.best.params["learning-rate"]), 12);
  });

  it("with --on-error stop exits 1 at the first failure, and a rerun resumes with the failed trial", () => {
    const dir = tempDir();
    writeJson(dir, "c.json", failingConfig);
    const args = ["solve", "--config", "c.json", "--state", "s.json", "--", ...failingObjective];
    const stopped = runArqon(args, dir);
    expect(stopped.status).toBe(1);
    const out = json(stopped.stdout);
    expect(out).toMatchObject({ evaluations: 2, stopped: true, failures: [{ id: 3, error: "exit code 1" }] });
    const reason = lines(stopped.stderr).at(-1)!;
    expect(reason).toBe(
      `arqon solve: stopped after trial 3 failed (exit code 1); resume with: arqon solve --state s.json -- ${failingObjective.map(shellWord).join(" ")}`,
    );
    const saved = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
    expect(saved.told).toBe(2);
    expect(saved.pendingTrials().map((t) => t.id)).toEqual([3]);

    const fixed = runNode([join(REPO_ROOT, "bin/arqon.js"), ...args], dir, undefined, { FIXED: "1" });
    expect(fixed.status).toBe(0);
    expect(fixed.stderr).toMatch(/resuming: re-running 1 pending trial\(s\) first/);
    expect(fixed.stderr).toMatch(/^trial 3: /m);
    const resumed = json(fixed.stdout);
    expect(resumed).toMatchObject({ evaluations: 6, failures: [], stopped: false });
    const finalState = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
    expect(finalState.told).toBe(8);
    expect(finalState.best()).toEqual(resumed.best);
  });

  it("exits 2 when the command is missing or cannot be started", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", failingConfig);
    expect(oneLineError(await runArqonInProcess(["solve", "--config", "c.json"], dir), 2)).toMatch(
      /give the objective command after --/,
    );
    expect(
      oneLineError(
        await runArqonInProcess(["solve", "--config", "c.json", "--on-error", "maybe", "--", "x"], dir),
        2,
      ),
    ).toMatch(/--on-error must be one of stop, skip/);
    const missing = await runArqonInProcess(
      ["solve", "--config", "c.json", "--", join(dir, "no-such-program")],
      dir,
    );
    expect(missing.status).toBe(2);
    expect(lines(missing.stderr).at(-1)).toBe(
      `arqon solve: cannot run ${JSON.stringify(join(dir, "no-such-program"))}: no such program (check the path, or that it is on PATH)`,
    );
  });

  it("refuses a missing program or clashing names before it touches the state", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", failingConfig);
    const onPath = await runArqonInProcess(
      ["solve", "--config", "c.json", "--state", "s.json", "--", "arqon-no-such-program"],
      dir,
    );
    expect(oneLineError(onPath, 2)).toBe(
      'arqon solve: cannot run "arqon-no-such-program": no such program (check the path, or that it is on PATH)',
    );
    writeFileSync(join(dir, "plain.txt"), "not a program\n");
    const notExecutable = await runArqonInProcess(
      ["solve", "--config", "c.json", "--state", "s.json", "--", "./plain.txt"],
      dir,
    );
    expect(oneLineError(notExecutable, 2)).toBe(
      'arqon solve: cannot run "./plain.txt": permission denied (is it executable?)',
    );
    expect(existsSync(join(dir, "s.json"))).toBe(false);

    writeJson(dir, "clash.json", {
      seed: 1,
      budget: 4,
      bounds: { lr: { min: 0, max: 1 }, LR: { min: 0, max: 1 } },
    });
    const clash = await runArqonInProcess(
      ["solve", "--config", "clash.json", "--state", "runlog", "--", process.execPath, "-e", "0"],
      dir,
    );
    expect(oneLineError(clash, 2)).toMatch(
      /ambiguous environment variables: bounds\.LR: its variable ARQON_LR/,
    );
    expect(existsSync(join(dir, "runlog"))).toBe(false);
  });
});

describe("arqon ask / tell / status with a decision-log --state directory", () => {
  it("keeps the run in a log directory across invocations, like the JSON state", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", ROUND_TRIP_CONFIG);
    const twin = createSolver(ROUND_TRIP_CONFIG);
    const first = json(
      runArqon(["ask", "--state", "runlog", "--config", "c.json", "--batch", "3"], dir).stdout,
    );
    expect(first.trials).toEqual(twin.ask({ max: 3 }));
    for (let round = 0; round < 20; round++) {
      const asked = await runArqonInProcess(["ask", "--state", "runlog", "--batch", "3"], dir);
      const trials = json(asked.stdout).trials as Trial[] | null;
      expect(trials).toEqual(twin.ask({ max: 3 }));
      if (trials === null) break;
      const pending = await pendingFromStatus(dir);
      const results = pending.map((t) => ({ id: t.id, value: bowl(t.params) }));
      const told = await runArqonInProcess(["tell", "--state", "runlog"], dir, JSON.stringify(results));
      expect(told.status).toBe(0);
      twin.tell(results);
      expect(json(told.stdout)).toEqual({ told: results.length, pruned: 0, failed: 0, best: twin.best() });
    }
    const status = json((await runArqonInProcess(["status", "--state", "runlog"], dir)).stdout);
    expect(status).toMatchObject({ phase: "done", told: ROUND_TRIP_CONFIG.budget, best: twin.best() });
  });

  it("refuses a bad tell as a whole, leaving the log byte-identical", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", ROUND_TRIP_CONFIG);
    expect(runArqon(["ask", "--state", "runlog", "--config", "c.json"], dir).status).toBe(0);
    const before = readFileSync(join(dir, "runlog", "00000001.alog"));
    const bad = await runArqonInProcess(
      ["tell", "--state", "runlog"],
      dir,
      JSON.stringify([
        { id: 1, value: 1 },
        { id: 99, value: 2 },
      ]),
    );
    expect(bad.status).toBe(2);
    expect(readFileSync(join(dir, "runlog", "00000001.alog")).equals(before)).toBe(true);
  });
});

/** The pending trials of the run saved in `dir/runlog`, through `arqon status`. */
async function pendingFromStatus(dir: string): Promise<Trial[]> {
  const run = await runArqonInProcess(["status", "--state", "runlog"], dir);
  expect(run.status).toBe(0);
  return json(run.stdout).pending as Trial[];
}

describe("arqon solve with a mixed space", () => {
  it("passes ints, categorical choices and active conditional parameters through ARQON_ variables", () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 4,
      budget: 16,
      bounds: {
        layers: { type: "int", min: 1, max: 4 },
        optimizer: { type: "categorical", choices: ["adam", "sgd", { name: "rms" }] },
        momentum: { min: 0, max: 1, when: { optimizer: ["sgd"] } },
      },
    });
    // The command checks what it receives and fails on anything the config does not allow.
    const objective = nodeObjective(
      [
        "const e = process.env;",
        "const layers = Number(e.ARQON_LAYERS);",
        "if (!Number.isInteger(layers) || layers < 1 || layers > 4) process.exit(3);",
        "const ok = ['adam', 'sgd', '{\"name\":\"rms\"}'].includes(e.ARQON_OPTIMIZER);",
        "if (!ok || (e.ARQON_OPTIMIZER === 'sgd') !== ('ARQON_MOMENTUM' in e)) process.exit(4);",
        "const m = e.ARQON_MOMENTUM === undefined ? 1 : Number(e.ARQON_MOMENTUM);",
        "console.log('RESULT=' + (layers + (e.ARQON_OPTIMIZER === 'sgd' ? m : 2)));",
      ].join(" "),
    );
    const run = runArqon(["solve", "--config", "c.json", "--state", "s.json", "--", ...objective], dir);
    expect(run.status).toBe(0);
    const out = json(run.stdout);
    expect(out.failures).toEqual([]);
    expect(out.evaluations).toBe(16);
    expect(out.best.value).toBe(
      out.best.params.layers + (out.best.params.optimizer === "sgd" ? out.best.params.momentum : 2),
    );
    const saved = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
    expect(saved.best()).toEqual(out.best);
  });

  it("names the field and reason of a bad parameter kind in the config", () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 4,
      budget: 16,
      bounds: { opt: { type: "categorical", choices: ["a", "a"] } },
    });
    const line = oneLineError(runArqon(["validate", "--config", "c.json"], dir), 2);
    expect(line).toContain('bounds.opt.choices: choices 0 and 1 are equal ("a")');
  });
});

describe("trial variables of a categorical", () => {
  it("give strings as they are and other JSON values as JSON", () => {
    expect(trialVariables(7, { c: "adam", n: 2, b: true, z: null, o: { a: [1, "x"] } })).toEqual({
      ARQON_TRIAL_ID: "7",
      ARQON_C: "adam",
      ARQON_N: "2",
      ARQON_B: "true",
      ARQON_Z: "null",
      ARQON_O: '{"a":[1,"x"]}',
    });
  });
});
