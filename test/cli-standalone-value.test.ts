// `arqon solve` reads the objective's value from a number that stands alone on the command's last
// line. A number glued to other characters (a checkpoint's path, a duration, a timestamp, a GPU's
// name) is log text: read as the value, it silently corrupted a whole study.
import { afterAll, describe, expect, it } from "vitest";
import { readObjective } from "../src/cli/objective-output.js";
import { removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

const ADVICE = 'print the value alone on the last line (0.42, loss=0.42 or {"value": 0.42})';

/** The failure for a last line `line` with no standalone number. */
function noValue(line: string): { ok: false; reason: string } {
  return {
    ok: false,
    reason: `no number stands alone on the last output line ${JSON.stringify(line)}; ${ADVICE}`,
  };
}

describe("a number glued to other characters on the last line", () => {
  it("is no value: the trial fails, quoting the line and saying how to print the value", () => {
    for (const line of [
      "saved checkpoint to /tmp/ckpt-12.pt",
      "Done in 3.2s",
      "2024-01-05 12:00:01 INFO finished",
      "final loss on gpu-0",
      "release v2.1.0",
      "steps 1_000",
      "run-7",
      "12:5",
    ])
      expect(readObjective(`0.25\n${line}\n`)).toEqual(noValue(line));
  });

  it("quotes a long line cut as other failure reasons are", () => {
    const line = `${"x".repeat(100)} ckpt-12.pt`;
    expect(readObjective(line)).toEqual({
      ok: false,
      reason: `no number stands alone on the last output line "${"x".repeat(77)}..."; ${ADVICE}`,
    });
  });

  it("leaves the standalone number as the only one, with nothing to warn about", () => {
    expect(readObjective("loss 0.42 on gpu-0\n")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("epoch 3/3 loss: 1.5e-2 (3.2s)\n")).toEqual({ ok: true, value: 0.015 });
    expect(readObjective("val_loss=0.31 saved to ckpt-12.pt\n")).toEqual({ ok: true, value: 0.31 });
  });
});

describe("lines people print", () => {
  it("reads a Python dict's 'value', a clause's full stop, comma-separated pairs and logging prefixes", () => {
    expect(readObjective("{'value': 0.42, 'acc': 0.9}")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("{'acc': 0.9, 'value': -1e-3}")).toEqual({ ok: true, value: -0.001 });
    expect(readObjective("{'value': nan}")).toEqual({
      ok: false,
      reason: `'value' on the last output line is not a finite number: "{'value': nan}"`,
    });
    expect(readObjective("{'loss': 0.5}")).toEqual({
      ok: false,
      reason: `the last output line is a JSON object without "value": "{'loss': 0.5}"; ${ADVICE}`,
    });
    expect(readObjective("Final loss: 0.42.")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("INFO:root:loss=0.42")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("val:loss=0.5")).toEqual({ ok: true, value: 0.5 });
    // Two numbers: the last, and the line is marked for the once-per-run warning.
    expect(readObjective("loss=0.42,acc=0.9")).toEqual({
      ok: true,
      value: 0.9,
      ambiguousLine: "loss=0.42,acc=0.9",
    });
    // A time is no label, whatever separates it.
    expect(readObjective("at 12:00:01")).toEqual(noValue("at 12:00:01"));
  });
});

describe("a number standing alone on the last line", () => {
  it("is read alone, after a label with = or :, or after a label token, ending with , or ;", () => {
    expect(readObjective("RESULT=0.02")).toEqual({ ok: true, value: 0.02 });
    expect(readObjective("loss: 0.42")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("loss:0.42")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("loss = 0.42")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("0.42")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("loss=0.42,")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("loss 0.42;")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("score \u22120.2")).toEqual({ ok: true, value: -0.2 });
    expect(readObjective("score=\u22120.2")).toEqual({ ok: true, value: -0.2 });
    // A label that is a number is none (a time): the token after it stands alone.
    expect(readObjective("12: 5")).toEqual({ ok: true, value: 5 });
  });

  it("is the last of several standalone ones, with the line marked for the once-per-run warning", () => {
    // The glued "3.2s" after them is neither the value nor a number to warn about.
    expect(readObjective("epoch=3, loss=0.42; took 3.2s")).toEqual({
      ok: true,
      value: 0.42,
      ambiguousLine: "epoch=3, loss=0.42; took 3.2s",
    });
  });

  it('must be named by a JSON line\'s "value": the numbers of other keys are not read', () => {
    expect(readObjective('{"epoch": 3, "loss": 0.5}')).toEqual({
      ok: false,
      reason: `the last output line is a JSON object without "value": ${JSON.stringify('{"epoch": 3, "loss": 0.5}')}; ${ADVICE}`,
    });
  });
});

describe("arqon solve with log text after the value", () => {
  it("fails the trial rather than tell a log line's number, naming the line", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 2, bounds: { x: { min: 0, max: 1 } } });
    for (const line of [
      "saved checkpoint to /tmp/ckpt-12.pt",
      "Done in 3.2s",
      "2024-01-05 12:00:01 INFO finished",
    ]) {
      const objective = [
        process.execPath,
        "-e",
        `console.log(process.env.ARQON_X); console.log(${JSON.stringify(line)});`,
      ];
      const run = await runArqonInProcess(["solve", "--config", "c.json", "--", ...objective], dir);
      expect(run.status).toBe(1);
      const out = JSON.parse(run.stdout) as { best: unknown; failures: { error: string }[] };
      expect(out.best).toBeNull();
      expect(out.failures.map((f) => f.error)).toEqual([noValue(line).reason]);
      expect(run.stderr).not.toContain("holds several numbers");
    }
  });

  it("records every trial failed under --on-error skip, where each was told 0", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 3, bounds: { x: { min: 0, max: 1 } } });
    const objective = [process.execPath, "-e", "console.log('final X on gpu-0')"];
    const run = await runArqonInProcess(
      ["solve", "--config", "c.json", "--on-error", "skip", "--", ...objective],
      dir,
    );
    const out = JSON.parse(run.stdout) as {
      best: unknown;
      evaluations: number;
      failures: { error: string }[];
    };
    expect(out.best).toBeNull();
    expect(out.failures.map((f) => f.error)).toEqual(Array(3).fill(noValue("final X on gpu-0").reason));
  });

  it("reads the one standalone number of `loss X on gpu-0`, without a warning", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 3, bounds: { x: { min: 0, max: 1 } } });
    const objective = [process.execPath, "-e", "console.log('loss ' + process.env.ARQON_X + ' on gpu-0')"];
    const run = await runArqonInProcess(["solve", "--config", "c.json", "--quiet", "--", ...objective], dir);
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { best: { params: { x: number }; value: number } };
    expect(out.best.value).toBe(out.best.params.x);
    expect(run.stderr).not.toContain("holds several numbers");
  });
});
