import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { formatValue } from "../src/cli/progress.js";
import { shellWord } from "../src/cli/solve.js";
import { SIGNAL_ECHO_MS } from "../src/cli/solve-interrupt.js";
import { restoreSolver } from "../src/index.js";
import {
  arqonNodeArgs,
  lines,
  processState,
  REPO_ROOT,
  removeTempDirs,
  runArqon,
  runArqonInProcess,
  runNode,
  TSX_LOADER,
  tempDir,
  writeJson,
} from "./support/cli-run.js";

afterAll(removeTempDirs);

/** Child-process tests end on output conditions; the bound is generous because the machine is shared. */
const CHILD_TIMEOUT_MS = 120_000;

const CONFIG = { seed: 4, budget: 6, bounds: { x: { min: 0, max: 1 } } };

/**
 * The objective: (x - 0.4)², except that trial 3 announces itself on stderr and then holds while
 * the file `hold` exists (polling it: the objective's own wait, not the test's).
 */
const OBJECTIVE = `
const fs = require("node:fs");
const value = () => console.log((Number(process.env.ARQON_X) - 0.4) ** 2);
if (process.env.ARQON_TRIAL_ID === "3" && fs.existsSync("hold")) {
  process.stderr.write("holding trial 3\\n");
  const timer = setInterval(() => {
    if (!fs.existsSync("hold")) { clearInterval(timer); value(); }
  }, 20);
} else value();
`;

/** A running `arqon` child whose output is collected, with waits on what it printed. */
class ArqonChild {
  stdout = "";
  stderr = "";
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private readonly waiters: Array<() => void> = [];

  /** `ownGroup`: arqon leads a new process group, as a shell's foreground job does in a terminal. */
  constructor(args: readonly string[], cwd: string, ownGroup = false) {
    this.child = spawn(process.execPath, arqonNodeArgs(args), {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      detached: ownGroup,
    });
    this.child.stdout!.setEncoding("utf8").on("data", (text: string) => {
      this.stdout += text;
    });
    this.child.stderr!.setEncoding("utf8").on("data", (text: string) => {
      this.stderr += text;
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.exited = new Promise((resolve) => this.child.on("close", (code) => resolve(code)));
  }

  /** Resolves once stderr contains `text` (the test's timeout bounds the wait). */
  async stderrContains(text: string): Promise<void> {
    while (!this.stderr.includes(text)) await new Promise<void>((wake) => this.waiters.push(wake));
  }

  interrupt(signal: NodeJS.Signals = "SIGINT"): void {
    this.child.kill(signal);
  }

  /**
   * The same signal again, once arqon has announced the last one (the caller waited for its note):
   * after the echo window, which arqon measures on its own clock, so this one is not read as the
   * last one passed on by a launcher. The only wait here on the wall clock, as the child's is.
   */
  async interruptAgain(signal: NodeJS.Signals = "SIGINT"): Promise<void> {
    // Read on performance.now(), not trusted to a timer: a timer counts from the event loop's
    // cached time, which may be older than the note that arqon wrote after its last signal.
    const since = performance.now();
    while (performance.now() - since <= SIGNAL_ECHO_MS) {
      await new Promise((resolve) => setTimeout(resolve, SIGNAL_ECHO_MS + since - performance.now() + 1));
    }
    this.child.kill(signal);
  }

  /** Signals arqon's whole process group, as a terminal's Ctrl-C does (needs `ownGroup`). */
  interruptGroup(signal: NodeJS.Signals = "SIGINT"): void {
    process.kill(-this.child.pid!, signal);
  }

  exitCode(): Promise<number | null> {
    return this.exited;
  }
}

/** Splits the printed resume command back into arguments (its words are bare or single-quoted). */
function wordsOf(command: string): string[] {
  return [...command.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) =>
    m[1] === undefined ? m[2]! : m[1].replaceAll("'\\''", "'"),
  );
}

describe("Ctrl-C during arqon solve", () => {
  it(
    "stops asking, lets the running trial finish, saves, prints the summary and resume command, exits 130",
    async () => {
      const dir = tempDir();
      writeJson(dir, "c.json", CONFIG);
      writeFileSync(join(dir, "objective.js"), OBJECTIVE);
      writeFileSync(join(dir, "hold"), "");
      const objective = [process.execPath, "objective.js"];
      const child = new ArqonChild(
        ["solve", "--config", "c.json", "--state", "s.json", "--", ...objective],
        dir,
      );

      await child.stderrContains("holding trial 3\n");
      child.interrupt();
      await child.stderrContains(
        "interrupted: no new trials; waiting for 1 running trial(s) (Ctrl-C again aborts them)\n",
      );
      rmSync(join(dir, "hold"));
      expect(await child.exitCode()).toBe(130);

      const out = JSON.parse(child.stdout);
      expect(out).toMatchObject({ evaluations: 3, failures: [], stopped: true, interrupted: true });
      const resume = `arqon solve --state s.json -- ${objective.map(shellWord).join(" ")}`;
      expect(lines(child.stderr).at(-1)).toBe(
        `arqon solve: interrupted after 3 of 6 trials (3 in this run); best ${formatValue(out.best.value)} at ` +
          `x=${formatValue(out.best.params.x)}; state saved; resume with: ${resume}`,
      );
      const saved = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
      expect(saved.told).toBe(3);
      expect(saved.pendingTrials()).toEqual([]);

      // The printed command, run as printed, finishes the budget.
      const [program, ...args] = wordsOf(resume);
      expect(program).toBe("arqon");
      const resumed = runArqon(args, dir);
      expect(resumed.status).toBe(0);
      expect(JSON.parse(resumed.stdout)).toMatchObject({ evaluations: 3, interrupted: false });
      expect(restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8"))).told).toBe(6);
    },
    CHILD_TIMEOUT_MS,
  );

  it(
    "a terminal's Ctrl-C reaches arqon alone: a trial that would catch it and print a partial value finishes",
    async () => {
      const dir = tempDir();
      writeJson(dir, "c.json", CONFIG);
      // A training script's KeyboardInterrupt handler: it prints the loss so far (999) and exits 0,
      // which would be taken for the trial's result.
      writeFileSync(
        join(dir, "objective.js"),
        `process.on("SIGINT", () => { console.log(999); process.exit(0); });\n${OBJECTIVE}`,
      );
      writeFileSync(join(dir, "hold"), "");
      const child = new ArqonChild(
        ["solve", "--config", "c.json", "--state", "s.json", "--", process.execPath, "objective.js"],
        dir,
        true,
      );
      await child.stderrContains("holding trial 3\n");
      child.interruptGroup();
      await child.stderrContains("interrupted: no new trials; waiting for 1 running trial(s)");
      rmSync(join(dir, "hold"));
      expect(await child.exitCode()).toBe(130);
      const state = JSON.parse(readFileSync(join(dir, "s.json"), "utf8"));
      const saved = restoreSolver(state);
      expect(saved.pendingTrials()).toEqual([]);
      const told = state.told as { id: number; value: number }[];
      expect(told.map((t) => t.id)).toEqual([1, 2, 3]);
      expect(told.every((t) => t.value < 1)).toBe(true);
    },
    CHILD_TIMEOUT_MS,
  );

  it(
    "stopping a trial stops what its command started (a shell's child)",
    async () => {
      const dir = tempDir();
      writeJson(dir, "c.json", CONFIG);
      // Trial 3's shell runs node as its child (not exec'd: a command follows), which writes its
      // pid and holds; SIGTERM to the shell alone would leave it running and holding the output.
      writeFileSync(
        join(dir, "trial.js"),
        "if (process.env.ARQON_TRIAL_ID === '3') { require('node:fs').writeFileSync('pid', String(process.pid));" +
          " process.stderr.write('holding trial 3\\n'); setInterval(() => {}, 1000); } else console.log(Number(process.env.ARQON_X));",
      );
      const shell = ["sh", "-c", `${shellWord(process.execPath)} trial.js; status=$?; exit $status`];
      const child = new ArqonChild(["solve", "--config", "c.json", "--state", "s.json", "--", ...shell], dir);
      await child.stderrContains("holding trial 3\n");
      child.interrupt("SIGTERM");
      expect(await child.exitCode()).toBe(143);
      // Gone, or dead and not yet reaped by its new parent (it lost the shell): not running.
      const pid = Number(readFileSync(join(dir, "pid"), "utf8"));
      expect(processState(pid)).toMatch(/^(gone|Z)$/);
      const saved = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
      expect(saved.pendingTrials().map((t) => t.id)).toEqual([3]);
    },
    CHILD_TIMEOUT_MS,
  );

  it(
    "a second Ctrl-C aborts the running trial, which stays pending and runs first on resume",
    async () => {
      const dir = tempDir();
      writeJson(dir, "c.json", CONFIG);
      writeFileSync(join(dir, "objective.js"), OBJECTIVE);
      writeFileSync(join(dir, "hold"), "");
      const objective = [process.execPath, "objective.js"];
      const child = new ArqonChild(
        ["solve", "--config", "c.json", "--state", "run", "--on-error", "skip", "--", ...objective],
        dir,
      );

      await child.stderrContains("holding trial 3\n");
      child.interrupt();
      await child.stderrContains("interrupted: no new trials");
      await child.interruptAgain();
      expect(await child.exitCode()).toBe(130);
      expect(child.stderr).toContain(
        "interrupted again: aborting 1 running trial(s); they stay pending (Ctrl-C again kills them)\n",
      );
      const out = JSON.parse(child.stdout);
      expect(out).toMatchObject({ evaluations: 2, failures: [], stopped: true, interrupted: true });
      const resume = `arqon solve --state run --on-error skip -- ${objective.map(shellWord).join(" ")}`;
      expect(lines(child.stderr).at(-1)).toBe(
        `arqon solve: interrupted after 2 of 6 trials (2 in this run, 1 left pending); best ${formatValue(out.best.value)} at ` +
          `x=${formatValue(out.best.params.x)}; state saved; resume with: ${resume}`,
      );

      rmSync(join(dir, "hold"));
      const resumed = runArqon(wordsOf(resume).slice(1), dir);
      expect(resumed.status).toBe(0);
      expect(resumed.stderr).toContain("resuming: re-running 1 pending trial(s) first\n");
      expect(resumed.stderr).toMatch(/^trial 3: /m);
      expect(JSON.parse(resumed.stdout)).toMatchObject({ evaluations: 4, failures: [] });
    },
    CHILD_TIMEOUT_MS,
  );

  it(
    "SIGTERM (kill, a supervisor) aborts the running trial at once, saves, and leaves no orphan",
    async () => {
      const dir = tempDir();
      writeJson(dir, "c.json", CONFIG);
      // Trial 3 writes its pid and holds until it is stopped.
      const holding = [
        process.execPath,
        "-e",
        "if (process.env.ARQON_TRIAL_ID === '3') { require('node:fs').writeFileSync('pid', String(process.pid));" +
          " process.stderr.write('holding trial 3\\n'); setInterval(() => {}, 1000); } else console.log(Number(process.env.ARQON_X));",
      ];
      const child = new ArqonChild(
        ["solve", "--config", "c.json", "--state", "s.json", "--", ...holding],
        dir,
      );
      await child.stderrContains("holding trial 3\n");
      child.interrupt("SIGTERM");
      expect(await child.exitCode()).toBe(143);
      expect(child.stderr).toContain("terminated (SIGTERM): aborting 1 running trial(s); they stay pending");
      const pid = Number(readFileSync(join(dir, "pid"), "utf8"));
      // The trial's process is gone (signal 0 tests for it without sending anything).
      expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
      expect(JSON.parse(child.stdout)).toMatchObject({ evaluations: 2, stopped: true, interrupted: true });
      expect(lines(child.stderr).at(-1)).toMatch(
        /; state saved; resume with: arqon solve --state s.json -- /,
      );
      const saved = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
      expect(saved.pendingTrials().map((t) => t.id)).toEqual([3]);
    },
    CHILD_TIMEOUT_MS,
  );

  it(
    "a third Ctrl-C kills a running trial that ignores SIGTERM",
    async () => {
      const dir = tempDir();
      writeJson(dir, "c.json", CONFIG);
      // Trial 3 ignores SIGTERM and holds until killed; the others answer at once.
      const stubborn = [
        process.execPath,
        "-e",
        "if (process.env.ARQON_TRIAL_ID === '3') { process.on('SIGTERM', () => process.stderr.write('ignoring SIGTERM\\n'));" +
          " process.stderr.write('holding trial 3\\n'); setInterval(() => {}, 1000); } else console.log(Number(process.env.ARQON_X));",
      ];
      const child = new ArqonChild(
        ["solve", "--config", "c.json", "--state", "s.json", "--", ...stubborn],
        dir,
      );
      await child.stderrContains("holding trial 3\n");
      child.interrupt();
      await child.stderrContains("interrupted: no new trials");
      await child.interruptAgain();
      await child.stderrContains("ignoring SIGTERM\n");
      await child.interruptAgain();
      expect(await child.exitCode()).toBe(130);
      expect(child.stderr).toContain("interrupted a third time: killing 1 running trial(s)\n");
      expect(lines(child.stderr).at(-1)).toMatch(
        /^arqon solve: interrupted after 2 of 6 trials \(2 in this run, 1 left pending\); best .*; state saved; resume with: /,
      );
      const saved = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
      expect(saved.pendingTrials().map((t) => t.id)).toEqual([3]);
    },
    CHILD_TIMEOUT_MS,
  );

  it("treats an objective killed by SIGINT (sent to it by name) as an interrupt, not a failure", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONFIG);
    const objective = [
      process.execPath,
      "-e",
      "if (process.env.ARQON_TRIAL_ID === '2') process.kill(process.pid, 'SIGINT'); else console.log(Number(process.env.ARQON_X));",
    ];
    const run = await runArqonInProcess(
      ["solve", "--config", "c.json", "--state", "s.json", "--on-error", "skip", "--", ...objective],
      dir,
    );
    expect(run.status).toBe(130);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 1, failures: [], interrupted: true });
    expect(lines(run.stderr).at(-1)).toMatch(
      /^arqon solve: interrupted after 1 of 6 trials \(1 in this run, 1 left pending\); best .*; state saved; resume with: arqon solve --state s\.json --on-error skip -- /,
    );
    const saved = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
    expect(saved.pendingTrials().map((t) => t.id)).toEqual([2]);
  });

  it("counts the trials that failed, were pruned or were told in this run, not only the told ones", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { ...CONFIG, pruner: { kind: "threshold", upper: 10 } });
    // Trial 1 fails (skipped: it counts against the budget), 2 reports a value past the threshold
    // and waits to be pruned, 3 is told, 4 is interrupted.
    const objective = [
      process.execPath,
      "-e",
      "const id = process.env.ARQON_TRIAL_ID; if (id === '1') process.exit(1); " +
        "if (id === '2') { console.log(JSON.stringify({ step: 1, value: 100 })); setInterval(() => {}, 1000); } " +
        "else if (id === '4') process.kill(process.pid, 'SIGINT'); else console.log(Number(process.env.ARQON_X));",
    ];
    const run = await runArqonInProcess(
      ["solve", "--config", "c.json", "--state", "s.json", "--on-error", "skip", "--", ...objective],
      dir,
    );
    expect(run.status, run.stderr).toBe(130);
    const out = JSON.parse(run.stdout);
    expect(out).toMatchObject({ evaluations: 1, pruned: 1, interrupted: true });
    expect(out.failures.map((f: { id: number }) => f.id)).toEqual([1]);
    expect(lines(run.stderr).at(-1)).toMatch(
      /^arqon solve: interrupted after 3 of 6 trials \(3 in this run, 1 left pending\); best /,
    );
  });

  it.each(["SIGTERM", "SIGHUP"])(
    "reads an objective killed by %s as its own failure when arqon got no such signal",
    async (signal) => {
      const dir = tempDir();
      writeJson(dir, "c.json", CONFIG);
      // A watchdog inside the objective, say: the signal is the command's own doing.
      const objective = [
        process.execPath,
        "-e",
        `if (process.env.ARQON_TRIAL_ID === '2') process.kill(process.pid, '${signal}'); else console.log(Number(process.env.ARQON_X));`,
      ];
      const run = await runArqonInProcess(
        ["solve", "--config", "c.json", "--state", "s.json", "--on-error", "skip", "--", ...objective],
        dir,
      );
      expect(run.status).toBe(0);
      const out = JSON.parse(run.stdout);
      expect(out).toMatchObject({ evaluations: 5, interrupted: false });
      expect(out.failures).toMatchObject([{ id: 2, error: `killed by ${signal}` }]);
    },
  );

  it.each([
    ["the command first", true],
    ["arqon first", false],
  ])(
    "reads an objective killed by the SIGTERM that stops arqon too (as systemd sends it to every process) as an interrupt: %s",
    async (_, commandFirst) => {
      const dir = tempDir();
      writeJson(dir, "c.json", CONFIG);
      // Trial 3 writes its pid (it leads its own process group) and holds.
      const holding = [
        process.execPath,
        "-e",
        "if (process.env.ARQON_TRIAL_ID === '3') { require('node:fs').writeFileSync('pid', String(process.pid));" +
          " process.stderr.write('holding trial 3\\n'); setInterval(() => {}, 1000); } else console.log(Number(process.env.ARQON_X));",
      ];
      const child = new ArqonChild(
        ["solve", "--config", "c.json", "--state", "s.json", "--on-error", "skip", "--", ...holding],
        dir,
      );
      await child.stderrContains("holding trial 3\n");
      const trialGroup = -Number(readFileSync(join(dir, "pid"), "utf8"));
      // Both within a moment, in either order: an interrupt either way, the trial left pending
      // (test/solve-interrupt.test.ts judges a death that comes before arqon's own signal).
      if (commandFirst) {
        process.kill(trialGroup, "SIGTERM");
        child.interrupt("SIGTERM");
      } else {
        child.interrupt("SIGTERM");
        process.kill(trialGroup, "SIGTERM");
      }
      expect(await child.exitCode()).toBe(143);
      expect(JSON.parse(child.stdout)).toMatchObject({ failures: [], interrupted: true });
      const saved = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
      expect(saved.pendingTrials().map((t) => t.id)).toEqual([3]);
    },
    CHILD_TIMEOUT_MS,
  );

  it("kills the running commands' groups if arqon exits before them (an uncaught error, process.exit)", () => {
    const dir = tempDir();
    // A program that starts a holding command through runObjectiveCommand, then exits at once.
    const runCommand = pathToFileURL(join(REPO_ROOT, "src/cli/run-command.ts")).href;
    writeFileSync(
      join(dir, "exits.mts"),
      `import { readFileSync } from "node:fs";\nimport { runObjectiveCommand } from ${JSON.stringify(runCommand)};\n` +
        "void runObjectiveCommand({ command: ['sh', '-c', 'echo $$ > pid; exec sleep 30'], cwd: process.cwd(), env: process.env, onStderr: () => {} });\n" +
        "const started = () => { try { return readFileSync('pid', 'utf8').trim() !== ''; } catch { return false; } };\n" +
        "const wait = () => (started() ? process.exit(3) : setTimeout(wait, 10)); wait();\n",
    );
    const run = runNode(["--import", TSX_LOADER, "exits.mts"], dir);
    expect(run.status, run.stderr).toBe(3);
    const pid = Number(readFileSync(join(dir, "pid"), "utf8"));
    expect(processState(pid)).toMatch(/^(gone|Z)$/);
  });

  it("says the run cannot be resumed without --state", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONFIG);
    const objective = [process.execPath, "-e", "process.kill(process.pid, 'SIGINT')"];
    const run = await runArqonInProcess(["solve", "--config", "c.json", "--", ...objective], dir);
    expect(run.status).toBe(130);
    expect(lines(run.stderr).at(-1)).toBe(
      "arqon solve: interrupted after 0 of 6 trials (0 in this run, 1 left pending); no result yet; " +
        "nothing was saved (no --state), so the run cannot be resumed",
    );
  });

  it("quotes resume-command words the shell would split", () => {
    expect(shellWord("node")).toBe("node");
    expect(shellWord("/usr/bin/node")).toBe("/usr/bin/node");
    expect(shellWord("console.log(1)")).toBe("'console.log(1)'");
    expect(shellWord("it's")).toBe("'it'\\''s'");
    expect(wordsOf(`a 'b c' 'it'\\''s'`)).toEqual(["a", "b c", "it's"]);
  });
});
