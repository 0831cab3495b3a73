import { afterAll, describe, expect, it } from "vitest";
import { formatDuration, SolveProgress } from "../src/cli/solve-progress.js";
import { createSolver } from "../src/index.js";
import { lines, removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

const CLEAR = "\r\u001b[2K";
const CONFIG = { seed: 3, budget: 4, bounds: { x: { min: 0, max: 1 } } };

/** A progress display over a fresh solver, writing into `out`, on a clock the test moves. */
function setup(terminal: boolean, quiet = false) {
  const solver = createSolver(CONFIG);
  const clock = { t: 1_000 };
  const out: string[] = [];
  const progress = new SolveProgress(
    { write: (text) => out.push(text), terminal, quiet, now: () => clock.t },
    solver,
  );
  const tellNext = (value: number) => {
    const [trial] = solver.ask({ max: 1 })!;
    progress.started();
    clock.t += 2_000;
    solver.tell({ id: trial!.id, value });
    progress.finished(trial!.id, { value });
    return trial!.id;
  };
  return { solver, clock, out, progress, tellNext };
}

describe("solve progress on a terminal", () => {
  it("keeps one line updated in place with trials/budget, best, elapsed time and ETA", () => {
    const { out, progress, tellNext } = setup(true);
    tellNext(0.5);
    expect(out).toEqual([
      `${CLEAR}trial 0/4 · no result yet · elapsed 0ms, ETA -`,
      `${CLEAR}trial 1/4 · best 0.5 · elapsed 2.0s, ETA 6.0s`,
    ]);
    out.length = 0;
    tellNext(0.25);
    expect(out.at(-1)).toBe(`${CLEAR}trial 2/4 · best 0.25 · elapsed 4.0s, ETA 4.0s`);
    progress.finish();
    expect(out.at(-1)).toBe(CLEAR);
  });

  it("lifts the line out of the way of other output and never glues it to a half-written line", () => {
    const { out, progress, tellNext } = setup(true);
    tellNext(0.5);
    out.length = 0;
    progress.passthrough("objective log\n");
    progress.note("landscape classified");
    expect(out.join("")).toBe(
      `${CLEAR}objective log\n${CLEAR}trial 1/4 · best 0.5 · elapsed 2.0s, ETA 6.0s` +
        `${CLEAR}landscape classified\n${CLEAR}trial 1/4 · best 0.5 · elapsed 2.0s, ETA 6.0s`,
    );
    out.length = 0;
    progress.passthrough("epoch 1...");
    progress.started();
    expect(out.join("")).toBe(`${CLEAR}epoch 1...\ntrial 1/4 · best 0.5 · elapsed 2.0s, ETA 6.0s`);
  });

  it("refreshes the elapsed time and ETA on every tick during a long trial, until finished", () => {
    const solver = createSolver(CONFIG);
    const clock = { t: 0 };
    const out: string[] = [];
    let refresh: (() => void) | undefined;
    let stopped = false;
    const progress = new SolveProgress(
      {
        write: (text) => out.push(text),
        terminal: true,
        quiet: false,
        now: () => clock.t,
        tick: (callback) => {
          refresh = callback;
          return () => {
            stopped = true;
          };
        },
      },
      solver,
    );
    solver.ask({ max: 1 });
    progress.started();
    clock.t = 65_000;
    refresh!();
    expect(out.at(-1)).toBe(`${CLEAR}trial 0/4 · no result yet · elapsed 1m05s, ETA -`);
    progress.finish();
    expect(stopped).toBe(true);
  });

  it("does not tick off a terminal or when quiet", () => {
    for (const [terminal, quiet] of [
      [false, false],
      [true, true],
    ] as const) {
      let ticks = 0;
      new SolveProgress(
        {
          write: () => {},
          terminal,
          quiet,
          now: () => 0,
          tick: () => {
            ticks++;
            return () => {};
          },
        },
        createSolver(CONFIG),
      ).finish();
      expect(ticks).toBe(0);
    }
  });

  it("prints failures as lines even when quiet, and nothing else when quiet", () => {
    const { solver, out, progress, tellNext } = setup(true, true);
    tellNext(0.5);
    progress.note("resuming");
    const [trial] = solver.ask({ max: 1 })!;
    progress.finished(trial!.id, { failure: "exit code 1" });
    expect(out).toEqual([`trial ${trial!.id} failed: exit code 1\n`]);
    progress.finish();
    expect(out).toHaveLength(1);
  });
});

describe("solve progress elsewhere", () => {
  it("prints one plain line per trial with elapsed time and ETA", () => {
    const { out, progress, tellNext } = setup(false);
    const id = tellNext(0.5);
    expect(out).toEqual([
      `trial ${id}: 0.5 (phase refine, 1/4 asked, 1 told, best 0.5; elapsed 2.0s, ETA 6.0s)\n`,
    ]);
    progress.finish();
    expect(out).toHaveLength(1);
  });

  it("formats durations for people", () => {
    expect([850, 4_200, 12_400, 185_000, 7_620_000, Number.NaN].map(formatDuration)).toEqual([
      "850ms",
      "4.2s",
      "12s",
      "3m05s",
      "2h07m",
      "-",
    ]);
  });
});

describe("arqon solve progress modes", () => {
  const objective = [process.execPath, "-e", "console.log((Number(process.env.ARQON_X) - 0.3) ** 2)"];

  it("on a terminal draws the status line in place and ends with the done line", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONFIG);
    const run = await runArqonInProcess(["solve", "--config", "c.json", "--", ...objective], dir, undefined, {
      stderrIsTerminal: true,
      now: () => 0,
    });
    expect(run.status).toBe(0);
    expect(run.stderr).not.toMatch(/^trial \d+: /m);
    expect(run.stderr).toContain(`${CLEAR}trial 4/4 · best `);
    // The last thing written after clearing the status line is the done line.
    expect(run.stderr.split(CLEAR).at(-1)).toMatch(/^done: phase done, 4\/4 asked, 4 told, best \S+\n$/);
  });

  it("without a terminal prints a line per trial; --quiet prints nothing on stderr", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONFIG);
    const plain = await runArqonInProcess(["solve", "--config", "c.json", "--", ...objective], dir);
    expect(plain.status).toBe(0);
    const trialLines = lines(plain.stderr).filter((line) => /^trial \d+: /.test(line));
    expect(trialLines).toHaveLength(4);
    for (const line of trialLines) expect(line).toMatch(/; elapsed \S+, ETA \S+\)$/);
    expect(plain.stderr).not.toContain("\r");

    const quiet = await runArqonInProcess(
      ["solve", "--config", "c.json", "--quiet", "--", ...objective],
      dir,
    );
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe("");
    expect(JSON.parse(quiet.stdout)).toEqual(JSON.parse(plain.stdout));
  });
});
