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

  it("leaves the one standalone number as the value", () => {
    expect(readObjective("epoch 3/3 loss: 1.5e-2\n")).toEqual({ ok: true, value: 0.015 });
    expect(readObjective("val_loss=0.31 saved to ckpt-12.pt\n")).toEqual({ ok: true, value: 0.31 });
    expect(readObjective("on gpu-0 loss 0.42\n")).toEqual({ ok: true, value: 0.42 });
  });
});

/** The failure for a last line `line` of several numbers. */
function several(line: string): { ok: false; reason: string } {
  return {
    ok: false,
    reason: `the last output line holds several numbers, and which is the value cannot be told: ${JSON.stringify(line)}; ${ADVICE}`,
  };
}

/** The failure for a last line `line` whose one bare number has words after it. */
function followed(line: string): { ok: false; reason: string } {
  return {
    ok: false,
    reason: `the number on the last output line is followed by words (a count or a measure?): ${JSON.stringify(line)}; ${ADVICE}`,
  };
}

describe("a last line whose number could be another one's", () => {
  it("is no value when it holds several numbers: which is the value cannot be told", () => {
    for (const line of [
      "loss 0.42 lr 0.001",
      "val_loss 0.38 step 3",
      "loss 0.38 ± 0.01",
      "final val_loss 0.31, took 12 ms",
      "epoch=3, loss=0.42; took 3.2s",
      "Epoch 3/3 - loss: 0.4211 - val_loss: 0.3912",
      // Lightning's bar: the last pair is glued to its bracket, so train_loss would have been taken.
      "[00:01<00:00, 33.21it/s, v_num=0, train_loss=0.421, val_loss=0.3812]",
      // A bracket closing the last pair does not hide it: these were read as their first number.
      "train_loss=0.421, val_loss=0.3812]",
      "done (acc=0.9, loss=0.38)",
      "metrics: [acc=0.91 loss=0.38]",
      "{acc=0.9 loss=0.38},",
    ])
      expect(readObjective(`0.25\n${line}\n`)).toEqual(several(line));
  });

  it("is no value when a bare number has words after it: a count or a measure", () => {
    for (const line of [
      "took 12 ms",
      "peak mem 3.2 GB",
      "acc 91.5 %",
      "wandb: Synced 5 W&B files",
      "loss 0.42 on gpu-0",
    ])
      expect(readObjective(`0.25\n${line}\n`)).toEqual(followed(line));
  });

  it("is none in a logging time stamp, a decimal comma or a thousands separator", () => {
    for (const line of [
      "2024-05-01 12:00:01,123 INFO training finished",
      "saved at 12:00:01,5",
      "loss 0,3812",
      "loss 1,234.5",
      // Pairs run together with no space: one word, none of whose names is one label.
      "loss=0.42,acc=0.9",
    ])
      expect(readObjective(`0.25\n${line}\n`)).toEqual(noValue(line));
  });
});

describe("lines people print", () => {
  it("reads a Python dict's 'value', Node's printed object, a clause's full stop and logging prefixes", () => {
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
    // Node's console.log of an object.
    expect(readObjective("{ value: 0.21, acc: 0.9 }")).toEqual({ ok: true, value: 0.21 });
    // A numpy or torch scalar's repr is no number; the failure says how to print one.
    expect(readObjective("{'value': np.float64(0.38)}")).toEqual({
      ok: false,
      reason: `'value' on the last output line is not a finite number (a numpy or torch scalar: print float(x) or x.item()): "{'value': np.float64(0.38)}"`,
    });
    // A time is no label, whatever separates it.
    expect(readObjective("at 12:00:01")).toEqual(noValue("at 12:00:01"));
  });
});

describe("a number standing alone on the last line", () => {
  it("is read alone, after a label with = or :, or after a label token, ending with , ; or .", () => {
    expect(readObjective("RESULT=0.02")).toEqual({ ok: true, value: 0.02 });
    expect(readObjective("loss: 0.42")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("loss:0.42")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("loss = 0.42")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("0.42")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("loss=0.42,")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("loss 0.42;")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("score \u22120.2")).toEqual({ ok: true, value: -0.2 });
    expect(readObjective("score=\u22120.2")).toEqual({ ok: true, value: -0.2 });
    // Brackets around a pair, as a label opens one and a number closes it.
    expect(readObjective("(loss=0.42)")).toEqual({ ok: true, value: 0.42 });
    expect(readObjective("Result(loss=0.38).")).toEqual({ ok: true, value: 0.38 });
    expect(readObjective("[val_loss=0.31]")).toEqual({ ok: true, value: 0.31 });
    // A label that is a number is none (a time): the token after it stands alone.
    expect(readObjective("12: 5")).toEqual({ ok: true, value: 5 });
  });

  it('must be named by a JSON line\'s "value": the numbers of other keys are not read', () => {
    expect(readObjective('{"epoch": 3, "loss": 0.5}')).toEqual({
      ok: false,
      reason: `the last output line is a JSON object without "value": ${JSON.stringify('{"epoch": 3, "loss": 0.5}')}; ${ADVICE}`,
    });
  });

  it('is no value when "value" is given twice: JSON would keep the last, which may not be the one meant', () => {
    const line = '{"value": 0.3, "value": 0.4}';
    expect(readObjective(line)).toEqual({
      ok: false,
      reason: `"value" is given twice on the last output line: ${JSON.stringify(line)}`,
    });
    // Keys of nested objects are theirs: one "value" at the top is read.
    expect(readObjective('{"value": 0.3, "parts": {"value": 1}, "runs": [{"value": 2}]}')).toEqual({
      ok: true,
      value: 0.3,
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

  it("reads the one number of `on gpu-0 loss X`", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 3, bounds: { x: { min: 0, max: 1 } } });
    const objective = [process.execPath, "-e", "console.log('on gpu-0 loss ' + process.env.ARQON_X)"];
    const run = await runArqonInProcess(["solve", "--config", "c.json", "--quiet", "--", ...objective], dir);
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { best: { params: { x: number }; value: number } };
    expect(out.best.value).toBe(out.best.params.x);
  });
});
