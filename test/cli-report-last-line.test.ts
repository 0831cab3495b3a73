/**
 * An intermediate value is never a trial's final value: a command whose last line is a report
 * (it stopped before printing its value) fails the trial, and a report of a diverged run written
 * the way Python's json.dumps writes non-finite floats (`NaN`, `Infinity`) is read as a report.
 */
import { afterAll, describe, expect, it } from "vitest";
import { readObjective, readReport } from "../src/cli/objective-output.js";
import { removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

function nodeObjective(body: string): string[] {
  return [process.execPath, "-e", body];
}

describe("a report as the last line", () => {
  it("is no final value, whichever order its keys are in", () => {
    for (const last of [
      '{"step": 2, "value": 0.4}',
      '{"value": 0.4, "step": 2}',
      '{"step": 3, "value": NaN}',
    ]) {
      const reading = readObjective(`{"step": 1, "value": 0.5}\n${last}\n`);
      expect(reading).toEqual({
        ok: false,
        reason: `the last output line is an intermediate value, not a final one: ${JSON.stringify(last)}`,
      });
    }
    // Other JSON on the last line: its "value" when it has one; without, none of its numbers is
    // named as the value, and the trial fails.
    expect(readObjective('{"step": 1, "value": 0.5}\n{"loss": 0.25}\n')).toEqual({
      ok: false,
      reason:
        'the last output line is a JSON object without "value": "{\\"loss\\": 0.25}"; print the value alone on the last line (0.42, loss=0.42 or {"value": 0.42})',
    });
    expect(readObjective('{"value": 0.24, "acc": 0.9}\n')).toEqual({ ok: true, value: 0.24 });
    expect(readObjective('{"acc": 0.9, "value": -2}\n')).toEqual({ ok: true, value: -2 });
    // Whatever the other keys hold: a NaN metric as Python writes it, a step (a final summary).
    expect(readObjective('{"value": 0.24, "auc": NaN}\n')).toEqual({ ok: true, value: 0.24 });
    expect(readObjective('{"value": 0.54, "step": 1000, "acc": 0.9}\n')).toEqual({ ok: true, value: 0.54 });
    expect(readObjective('{"value": 0.24, "note": "nan-free"}\n')).toEqual({ ok: true, value: 0.24 });
    expect(readObjective('{"step": 3, "value": NaN, "epoch": 1}\n')).toEqual({
      ok: false,
      reason:
        '"value" on the last output line is not a finite number: "{\\"step\\": 3, \\"value\\": NaN, \\"epoch\\": 1}"',
    });
    expect(readObjective('{"value": "0.24"}\n')).toEqual({
      ok: false,
      reason: '"value" on the last output line is not a finite number: "{\\"value\\": \\"0.24\\"}"',
    });
  });

  it("fails the trial in arqon solve, where its last number was told as the value", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 2, bounds: { x: { min: 0, max: 1 } } });
    const onlyReports = nodeObjective(
      "console.log(JSON.stringify({ step: 1, value: 0.9 })); console.log(JSON.stringify({ value: 0.7, step: 2 }));",
    );
    const run = await runArqonInProcess(
      ["solve", "--config", "c.json", "--on-error", "skip", "--", ...onlyReports],
      dir,
    );
    const out = JSON.parse(run.stdout) as { best: unknown; failures: { error: string }[] };
    expect(out.best).toBeNull();
    expect(out.failures.map((f) => f.error)).toEqual([
      'the last output line is an intermediate value, not a final one: "{\\"value\\":0.7,\\"step\\":2}"',
      'the last output line is an intermediate value, not a final one: "{\\"value\\":0.7,\\"step\\":2}"',
    ]);
  });
});

describe("a last line with a non-finite value among other numbers", () => {
  it("fails the trial, where the number before the NaN was taken as the value", () => {
    for (const last of [
      '{"epoch": 3, "loss": NaN}',
      "epoch 3 loss nan",
      "epoch 3 loss=-inf",
      "epoch 3 loss Infinity",
    ]) {
      expect(readObjective(`${last}\n`)).toEqual({
        ok: false,
        reason: `value on the last output line is not finite: ${JSON.stringify(last)}`,
      });
    }
    // Inside a word it is no value: read as before.
    expect(readObjective("information 0.5\n")).toEqual({ ok: true, value: 0.5 });
    expect(readObjective("nanoseconds 12\n")).toEqual({ ok: true, value: 12 });
    expect(readObjective("mode=inf_search 0.3\n")).toEqual({ ok: true, value: 0.3 });
  });
});

describe("a report with a non-finite value, as Python prints it", () => {
  it("reads as a report whose value is not finite", () => {
    expect(readReport('{"step": 3, "value": NaN}')).toEqual({ step: 3, value: Number.NaN });
    expect(readReport('{"value": -Infinity, "step": 4}')).toEqual({
      step: 4,
      value: Number.NEGATIVE_INFINITY,
    });
    expect(readReport('{"step": 5, "value": Infinity}')).toEqual({
      step: 5,
      value: Number.POSITIVE_INFINITY,
    });
    // A string the line held that looks like the marker is no number.
    expect(readReport('{"step": "\\u00003", "value": NaN}')).toBeUndefined();
    // Only a bare value of one of the two keys: anything else stays no report.
    expect(readReport('{"step": 3, "value": NaN, "lr": 0.1}')).toBeUndefined();
    expect(readReport('{"step": 3, "value": nan}')).toBeUndefined();
    expect(readReport('{"step": 3, "value": "NaN"}')).toBeUndefined();
  });

  it("fails the trial in arqon solve (a diverged run), where the line was ignored and its step told", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 1, bounds: { x: { min: 0, max: 1 } } });
    const diverged = nodeObjective(
      'console.log(JSON.stringify({ step: 1, value: 0.9 })); console.log(\'{"step": 2, "value": NaN}\'); console.log(\'{"step": 3, "value": NaN}\');',
    );
    const run = await runArqonInProcess(
      ["solve", "--config", "c.json", "--on-error", "skip", "--", ...diverged],
      dir,
    );
    const out = JSON.parse(run.stdout) as { best: unknown; failures: { error: string }[] };
    expect(out.best).toBeNull();
    expect(out.failures).toHaveLength(1);
    expect(out.failures[0]!.error).toMatch(
      /^refused intermediate value \{"step": 2, "value": NaN\}: .*finite/,
    );
  });
});
