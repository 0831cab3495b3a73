import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { runObjectiveCommand } from "../src/cli/run-command.js";
import { createSolver, restoreSolver } from "../src/solver/solver.js";
import { removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

// The commands runObjectiveCommand starts, so that a test can act once one has exited.
const spawned = vi.hoisted(() => [] as ChildProcess[]);
vi.mock("node:child_process", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:child_process")>();
  const spawn = ((...args: Parameters<typeof actual.spawn>) => {
    const child = actual.spawn(...args);
    spawned.push(child);
    return child;
  }) as typeof actual.spawn;
  return { ...actual, spawn, default: { ...actual, spawn } };
});

/**
 * A command whose stdout reaches arqon in one piece as it exits, like a program whose stdout is
 * block-buffered into a pipe (Python without -u, C stdio): a shell that prints what a node script
 * computed. A stop always finds its output ending in its value, so it gets the exit window and
 * exits on its own, completed. Its exit 0 alone would not do: a command that exits after the
 * stop's SIGTERM is pruned whatever its exit code, as it may only be obeying it. `reports` and
 * `final` are JavaScript expressions: the report lines, and the last line.
 */
function writesAllThenExits(reports: string, final: string): string[] {
  const script = `process.stdout.write(${reports} + ${final});`;
  return [
    "sh",
    "-c",
    `trap '' TERM; out=$("$0" -e "$1") || exit 1; printf '%s\n' "$out"`,
    process.execPath,
    script,
  ];
}

/** `{"step":s,"value":v}` lines for steps 1..n, as a JavaScript expression. */
function reportLines(n: number, value: string): string {
  return `Array.from({ length: ${n} }, (_, i) => JSON.stringify({ step: i + 1, value: ${value} }) + '\\n').join('')`;
}

/**
 * A saved run with one completed trial (value 1 at steps 1..3) and one pending trial: any report
 * worse than 1 at step 1 makes the median pruner advise stopping the pending one.
 */
function stateWithOnePending(dir: string): number {
  const solver = createSolver({
    seed: 1,
    budget: 2,
    probeRatio: 1,
    bounds: { x: { min: 0, max: 1 } },
    pruner: { kind: "median", startupTrials: 1 },
  });
  const [done, pending] = solver.ask()!;
  for (const step of [1, 2, 3]) solver.report(done!.id, step, 1);
  solver.tell({ id: done!.id, value: 1 });
  writeJson(dir, "s.json", solver.toJSON());
  return pending!.id;
}

/**
 * Runs `command` (see {@link runObjectiveCommand}) with a stop that `stopAt` pulls on a line (and
 * the number of lines so far); returns the reading and the lines handed on.
 */
async function runStoppedAt(
  command: string[],
  stopAt: (line: string, count: number) => boolean,
  options: { readonly exitWindowMs?: number; readonly quietMs?: number } = {},
) {
  const stop = new AbortController();
  const seen: string[] = [];
  const reading = await runObjectiveCommand({
    command,
    cwd: process.cwd(),
    env: process.env,
    onStderr: () => {},
    onLine: (line) => {
      seen.push(line);
      if (stopAt(line, seen.length)) stop.abort();
    },
    stopSignal: stop.signal,
    ...options,
  });
  return { reading, seen };
}

describe("a command whose output arrives only at its exit", () => {
  it("is a completed reading with every line handed on in order, even after a stop", async () => {
    const { reading, seen } = await runStoppedAt(
      writesAllThenExits(reportLines(5, "1"), `"RESULT=0.25"`),
      (_line, count) => count === 2,
    );
    expect(reading).toEqual({ ok: true, value: 0.25 });
    expect(seen).toEqual([
      ...Array.from({ length: 5 }, (_, i) => JSON.stringify({ step: i + 1, value: 1 })),
      "RESULT=0.25",
    ]);
  });

  it("gets time to exit on its own when its output already ends in its value", async () => {
    const stop = new AbortController();
    const seen: string[] = [];
    const reading = await runObjectiveCommand({
      // Writes everything, then exits: a SIGTERM sent right away would land in its exit.
      command: [process.execPath, "-e", `process.stdout.write(${reportLines(5, "1")} + 'RESULT=0.25\\n')`],
      cwd: process.cwd(),
      env: process.env,
      onStderr: () => {},
      onLine: (line) => {
        seen.push(line);
        if (seen.length === 2) stop.abort();
      },
      stopSignal: stop.signal,
      // Ends as soon as the command exits; long only so that a loaded machine cannot outlast it.
      exitWindowMs: 60_000,
    });
    expect(reading).toEqual({ ok: true, value: 0.25 });
    expect(seen).toHaveLength(6);
  });

  it.each([59, 30])(
    "is a completed reading when its final output is read in several pieces (%i-byte lines)",
    async (lineBytes) => {
      // Five reports, then 4200 log lines ending in a number, then the value, all in one write as
      // it exits: several pipe reads. With 64 KiB reads, lines of 59 bytes end the first read on a
      // line that looks final, and lines of 30 bytes end it mid-line.
      const logs = `Array.from({ length: 4200 }, (_, i) => ('log ' + i + ' loss ').padEnd(${lineBytes - 4}, '.') + '0.5\\n').join('')`;
      // Long, so that a loaded machine's pause between two reads of one write cannot outlast it.
      const { reading, seen } = await runStoppedAt(
        [process.execPath, "-e", `process.stdout.write(${reportLines(5, "1")} + ${logs} + 'RESULT=0.25\\n')`],
        (_line, count) => count === 2,
        { exitWindowMs: 60_000, quietMs: 5_000 },
      );
      expect(reading).toEqual({ ok: true, value: 0.25 });
      expect(seen).toHaveLength(5 + 4200 + 1);
      expect(seen[5]?.length).toBe(lineBytes - 1);
    },
  );

  it("is a completed reading when its final output comes in many buffered writes of whole lines", async () => {
    // As Python without -u writes into a pipe at exit: one write per ~8 KiB of whole lines, back
    // to back. Here the first piece is read on its own (the rest follows 10 ms later, far inside
    // the pause that tells work apart): it ends on a log line that looks final, and the pieces
    // that follow must not end the exit window.
    const script = [
      "const fs = require('fs');",
      `let out = ${reportLines(5, "1")};`,
      "for (let i = 0; i < 20000; i++) out += 'log ' + i + ' loss 0.5\\n';",
      "out += 'RESULT=0.25\\n';",
      "const pieces = []; for (let at = 0; at < out.length; ) { const end = out.lastIndexOf('\\n', at + 8192); pieces.push(out.slice(at, end + 1)); at = end + 1; }",
      "fs.writeSync(1, pieces[0]); setTimeout(() => { for (const piece of pieces.slice(1)) fs.writeSync(1, piece); }, 10);",
    ].join(" ");
    const { reading, seen } = await runStoppedAt(
      [process.execPath, "-e", script],
      (_line, count) => count === 2,
      { exitWindowMs: 60_000, quietMs: 5_000 },
    );
    expect(reading).toEqual({ ok: true, value: 0.25 });
    expect(seen).toHaveLength(5 + 20000 + 1);
  });

  it("waits for the rest of a line that a read cut in two, and completes", async () => {
    // The stop lands on a read that ends mid-line; the line's end and the exit follow.
    const script =
      `process.stdout.write(${reportLines(2, "1")} + 'RESULT=0.'); ` +
      "setTimeout(() => process.stdout.write('25\\n'), 30);";
    const stop = new AbortController();
    const reading = await runObjectiveCommand({
      command: [process.execPath, "-e", script],
      cwd: process.cwd(),
      env: process.env,
      onStderr: () => {},
      onLine: (line) => {
        if (line === '{"step":2,"value":1}') stop.abort();
      },
      stopSignal: stop.signal,
      exitWindowMs: 60_000,
      quietMs: 5_000,
    });
    expect(reading).toEqual({ ok: true, value: 0.25 });
  });

  it("is stopped at once when the stop came before any output", async () => {
    // A line every 20 ms and a value after 2 s: stopped before it printed anything.
    const script =
      "let s = 0; const t = setInterval(() => { s++; console.log('tick ' + s); " +
      "if (s === 100) { clearInterval(t); console.log('0.25'); } }, 20);";
    const stop = new AbortController();
    stop.abort();
    const reading = await runObjectiveCommand({
      command: [process.execPath, "-e", script],
      cwd: process.cwd(),
      env: process.env,
      onStderr: () => {},
      stopSignal: stop.signal,
      exitWindowMs: 60_000,
      quietMs: 60_000,
    });
    // Waiting for a pause, it would have seen the command finish with its value.
    expect(reading).toEqual({ ok: false, reason: "stopped early", stopped: true });
  });

  it("is stopped once it prints again after a pause: what ended in a number was a log line", async () => {
    // Each step prints its report and a log line ending in a number in one write, then works
    // 300 ms; it would finish on its own with a value after 20 steps, well inside the exit window.
    const steps = `let s = 0; const tick = () => { s++; process.stdout.write(JSON.stringify({ step: s, value: 1 }) + '\\nepoch ' + s + ' loss 0.5\\n'); if (s < 20) setTimeout(tick, 300); else console.log('0.25'); }; tick();`;
    const { reading, seen } = await runStoppedAt(
      [process.execPath, "-e", steps],
      (line) => line === '{"step":2,"value":1}',
      { exitWindowMs: 60_000 },
    );
    expect(reading).toEqual({ ok: false, reason: "stopped early", stopped: true });
    expect(seen).toEqual(['{"step":1,"value":1}', "epoch 1 loss 0.5", '{"step":2,"value":1}']);
  });

  it("is stopped after that time when it does not exit", async () => {
    const { reading, seen } = await runStoppedAt(
      [
        process.execPath,
        "-e",
        `process.stdout.write(${reportLines(5, "1")} + 'epoch 5 loss 0.25\\n'); setInterval(() => {}, 1000);`,
      ],
      (_line, count) => count === 2,
      { exitWindowMs: 20 },
    );
    expect(reading).toEqual({ ok: false, reason: "stopped early", stopped: true });
    expect(seen).toHaveLength(2);
  });

  it("is told with its value and all its reports when the pruner advised stopping it", async () => {
    const dir = tempDir();
    const id = stateWithOnePending(dir);
    const run = await runArqonInProcess(
      ["solve", "--state", "s.json", "--", ...writesAllThenExits(reportLines(3, "5"), `"loss 5"`)],
      dir,
    );
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 1, pruned: 0, failures: [] });
    const state = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
    expect(state.trialStatus(id)).toBe("told");
    expect(state.intermediateValues(id).map((r) => r.step)).toEqual([1, 2, 3]);
    expect(state.toJSON().told.at(-1)).toEqual({ id, value: 5 });
  });

  it("is recorded pruned, with the reports up to the advice, when the stop ends it", async () => {
    const dir = tempDir();
    const id = stateWithOnePending(dir);
    // Prints its reports at once, then runs on until the stop's SIGTERM ends it.
    const hangs = [
      process.execPath,
      "-e",
      `process.stdout.write(${reportLines(3, "5")}); setInterval(() => {}, 1000);`,
    ];
    const run = await runArqonInProcess(["solve", "--state", "s.json", "--", ...hangs], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 0, pruned: 1 });
    const state = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
    expect(state.trialStatus(id)).toBe("pruned");
    // The pruner judged step 1; the lines after it belong to a stopped command.
    expect(state.intermediateValues(id)).toEqual([{ step: 1, value: 5 }]);
  });

  it("never loses a finished trial's value or reports over a whole run", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 3,
      budget: 8,
      bounds: { x: { min: 0, max: 1 } },
      probeRatio: 0.5,
      pruner: { kind: "median", startupTrials: 2 },
    });
    const loss = "(Number(process.env.ARQON_X) - 0.3) ** 2 + 2 / (i + 1)";
    const run = await runArqonInProcess(
      [
        "solve",
        "--config",
        "c.json",
        "--state",
        "s.json",
        "--",
        ...writesAllThenExits(reportLines(20, loss), `"loss " + (${loss.replace("i + 1", "20")})`),
      ],
      dir,
    );
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 8, pruned: 0, failures: [] });
    const state = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
    for (const t of state.toJSON().trials) {
      expect(t.status).toBe("told");
      expect(state.intermediateValues(t.id).map((r) => r.step)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    }
  });

  it("still fails on a report out of order, whatever the command did after it", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 1, bounds: { x: { min: 0, max: 1 } } });
    const reports = `JSON.stringify({ step: 2, value: 1 }) + '\\n' + JSON.stringify({ step: 1, value: 1 }) + '\\n'`;
    const run = await runArqonInProcess(
      ["solve", "--config", "c.json", "--", ...writesAllThenExits(reports, "0.5")],
      dir,
    );
    expect(run.status).toBe(1);
    const out = JSON.parse(run.stdout) as { evaluations: number; failures: { error: string }[] };
    expect(out.evaluations).toBe(0);
    expect(out.failures.map((f) => f.error)).toEqual([
      'refused intermediate value {"step":1,"value":1}: step must be a whole number greater than trial 1\'s previous step 2, got 1',
    ]);
  });
});

/**
 * A command that shuts down gracefully: on SIGTERM it runs `onTerm` (JavaScript) and exits 0, like
 * bash `trap 'exit 0' TERM` or a training loop that saves and quits. It prints `reports` at once,
 * then runs until it is stopped.
 */
function exitsZeroOnSigterm(reports: string, onTerm = ""): string[] {
  const script = `process.on('SIGTERM', () => { ${onTerm}; process.exit(0); }); process.stdout.write(${reports}); setInterval(() => {}, 1000);`;
  return [process.execPath, "-e", script];
}

describe("a command that prints its value just after the report it is stopped at", () => {
  /** A report, then after `gapMs` its value, in two writes, as a training script's last step. */
  const reportThenValue = (gapMs: number) => [
    process.execPath,
    "-e",
    `console.log('{"step":1,"value":2}'); setTimeout(() => console.log('acc=0.25'), ${gapMs});`,
  ];

  it("is a completed reading when the value comes within quietMs: no race between the writes", async () => {
    // Read one at a time, the stop comes between the two writes: deciding at once sent the
    // SIGTERM before the value, and the trial's fate turned on which came first.
    const { reading, seen } = await runStoppedAt(reportThenValue(30), (_line, count) => count === 1, {
      quietMs: 1000,
      exitWindowMs: 60_000,
    });
    expect(reading).toEqual({ ok: true, value: 0.25 });
    expect(seen).toEqual(['{"step":1,"value":2}', "acc=0.25"]);
  });

  it("is stopped when the value would come later: the command was still at work", async () => {
    const { reading, seen } = await runStoppedAt(reportThenValue(5000), (_line, count) => count === 1, {
      quietMs: 50,
      exitWindowMs: 60_000,
    });
    expect(reading).toEqual({ ok: false, reason: "stopped early", stopped: true });
    expect(seen).toEqual(['{"step":1,"value":2}']);
  });
});

describe("a command that exits 0 on the stop's SIGTERM", () => {
  it("is a stopped reading, not its last report's partial value", async () => {
    const { reading, seen } = await runStoppedAt(
      exitsZeroOnSigterm(reportLines(5, "0.1 * (i + 1)")),
      (_line, count) => count === 2,
    );
    expect(reading).toEqual({ ok: false, reason: "stopped early", stopped: true });
    expect(seen).toHaveLength(2);
  });

  it("is a stopped reading even when it prints a value as it shuts down", async () => {
    const stop = new AbortController();
    const reading = await runObjectiveCommand({
      command: exitsZeroOnSigterm(reportLines(5, "1"), "process.stdout.write('RESULT=0.01\\n')"),
      cwd: process.cwd(),
      env: process.env,
      onStderr: () => {},
      onLine: () => stop.abort(),
      stopSignal: stop.signal,
    });
    // The SIGTERM ended it: whatever it printed then is not the value of a finished run.
    expect(reading).toEqual({ ok: false, reason: "stopped early", stopped: true });
  });

  it("is a stopped reading when it exits on its own with a report as its last line", async () => {
    const stop = new AbortController();
    const reading = runObjectiveCommand({
      // Its reports, the last line one of them, then exit 0: a partial value, never a final one.
      command: [process.execPath, "-e", `process.stdout.write(${reportLines(5, "1")})`],
      cwd: process.cwd(),
      env: process.env,
      onStderr: () => {},
      stopSignal: stop.signal,
    });
    // Stopped only once it has exited (this listener runs after runObjectiveCommand's): no
    // SIGTERM is sent, so only its last line, a report, can make the reading a stop.
    spawned.at(-1)!.once("exit", () => stop.abort());
    expect(await reading).toEqual({ ok: false, reason: "stopped early", stopped: true });
  });

  it("is recorded pruned with the reports up to the advice, and its partial value is never told", async () => {
    const dir = tempDir();
    const id = stateWithOnePending(dir);
    const run = await runArqonInProcess(
      // Reports 5, 6, 7 at steps 1, 2, 3: the pruner advises stopping at step 1.
      ["solve", "--state", "s.json", "--", ...exitsZeroOnSigterm(reportLines(3, "5 + i"))],
      dir,
    );
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 0, pruned: 1, best: { value: 1 } });
    const state = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
    expect(state.trialStatus(id)).toBe("pruned");
    expect(state.intermediateValues(id)).toEqual([{ step: 1, value: 5 }]);
    // Pruned at the value it was stopped at, never told the last line it printed (7) as final.
    expect(state.toJSON().told.filter((t) => "id" in t && t.id === id)).toEqual([
      { id, pruned: true, value: 5 },
    ]);
  });
});
