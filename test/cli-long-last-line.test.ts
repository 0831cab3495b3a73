/**
 * The value is read from the whole last line, however long (up to a limit): a JSON line with a
 * large payload beside its value used to be cut to the output's last 64 KiB, and the last number
 * of the fragment was told as the value. And the minus sign U+2212 is a minus.
 */
import { afterAll, describe, expect, it } from "vitest";
import { readObjective } from "../src/cli/objective-output.js";
import { OutputTail } from "../src/cli/output-tail.js";
import { removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

/** Feeds `text` to a tail in pieces of `size` characters. */
function tailOf(text: string, size: number, tail = new OutputTail(16, 64)): OutputTail {
  for (let i = 0; i < text.length; i += size) tail.append(text.slice(i, i + size));
  return tail;
}

describe("OutputTail", () => {
  it("keeps the last line whole, up to its limit, whatever came before", () => {
    const line = `{"value": 0.25, "rest": [${"9,".repeat(15)}9]}`; // 58 characters
    for (const size of [1, 3, 7, 100]) {
      const tail = tailOf(`${"log line\n".repeat(50)}${line}\n`, size);
      expect(tail.read()).toEqual({ ok: true, value: 0.25 });
      expect(tail.text.length).toBeLessThanOrEqual(64 + 2 * 16 + size);
    }
  });

  it("reads the last line with content, followed by blank lines", () => {
    const line = `{"value": -3, "rest": [${"1,".repeat(10)}1]}`;
    const tail = tailOf(`${line}\n\n  \n\r\n`, 5);
    expect(tail.read()).toEqual({ ok: true, value: -3 });
  });

  it("fails, naming the limit, when the last line is longer than it: no fragment's number is told", () => {
    const line = `{"value": 0.25, "rest": [${"0.9,".repeat(40)}0.9]}`;
    for (const size of [1, 8, 1000]) {
      expect(tailOf(`${line}\n`, size).read()).toEqual({
        ok: false,
        reason:
          "the last output line is longer than 64 characters, more than is kept of it: print the value on a line of its own",
      });
    }
    // A long line before a short last one makes no difference.
    expect(tailOf(`${line}\nloss 0.5\n`, 8).read()).toEqual({ ok: true, value: 0.5 });
  });

  it("takes a line of terminal control sequences only for a blank one, as the value's reader does", () => {
    const line = `{"value": 0.75, "rest": [${"1,".repeat(15)}1]}`;
    // In pieces of every size: a control sequence split between two pieces is still none.
    for (let size = 1; size <= 8; size++)
      expect(tailOf(`${"log\n".repeat(40)}${line}\n\x1b[0m\n`, size).read(), `pieces of ${size}`).toEqual({
        ok: true,
        value: 0.75,
      });
  });

  it("reads a line redrawn with carriage returns as a terminal shows it, however long it grew", () => {
    expect(readObjective("epoch 1\repoch 2\rloss 0.5\n")).toEqual({ ok: true, value: 0.5 });
    expect(readObjective("loss 0.5\r\n")).toEqual({ ok: true, value: 0.5 });
    // A progress bar redrawn past the limit: only its last state is needed, and kept.
    const bar = Array.from({ length: 200 }, (_, i) => `\r[${"#".repeat(i % 20)}] step ${i}`).join("");
    expect(tailOf(`${bar}\rloss 0.125\n`, 9).read()).toEqual({ ok: true, value: 0.125 });
  });

  it("keeps at most the limit, however long the line grows", () => {
    const tail = new OutputTail(16, 64);
    for (let i = 0; i < 10_000; i++) tail.append("0.9,");
    expect(tail.text.length).toBeLessThanOrEqual(64 + 4);
  });
});

describe("arqon solve with a long JSON last line", () => {
  it("reads its value, where it used to read the last number of its last 64 KiB", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 2, bounds: { x: { min: 0, max: 1 } } });
    // About 380 KB on one line: the value first, 20 000 other numbers after it.
    const objective = [
      process.execPath,
      "-e",
      "const x = Number(process.env.ARQON_X); console.log(JSON.stringify({ value: (x - 0.3) ** 2, per_example: Array.from({ length: 20000 }, (_, i) => 0.9 + i * 1e-9) }));",
    ];
    const run = await runArqonInProcess(["solve", "--config", "c.json", "--", ...objective], dir);
    expect(run.stderr).not.toMatch(/holds several numbers/);
    const out = JSON.parse(run.stdout) as { best: { params: { x: number }; value: number } };
    expect(out.best.value).toBeCloseTo((out.best.params.x - 0.3) ** 2, 12);
    expect(out.best.value).toBeLessThan(0.5);
  });
});

describe("arqon solve with a long line before its value", () => {
  it("hands the whole line on to its reader: a step and value among other keys is warned about", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 1, bounds: { x: { min: 0, max: 1 } } });
    // A 200 KB line that looks like a report but has another key, then the value in the same write.
    const objective = [
      process.execPath,
      "-e",
      'process.stdout.write(JSON.stringify({ step: 1, value: 0.5, pad: "x".repeat(200000) }) + "\\n0.25\\n");',
    ];
    const run = await runArqonInProcess(["solve", "--config", "c.json", "--", ...objective], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/has "step" and "value" among other keys/);
    expect(JSON.parse(run.stdout)).toMatchObject({ best: { value: 0.25 } });
  });
});

describe("the minus sign U+2212", () => {
  it("reads as a minus, where it was skipped and a negative value told as positive", () => {
    expect(readObjective("score \u22120.2023\n")).toEqual({ ok: true, value: -0.2023 });
    expect(readObjective("\u22121.5e\u22123\n")).toEqual({ ok: true, value: -1.5e-3 });
    expect(readObjective("loss \u2212inf\n")).toMatchObject({ ok: false });
    // After a letter or digit it is a hyphen, as `-` is: the number is glued to the word, no value.
    expect(readObjective("run\u22127\n")).toMatchObject({ ok: false });
  });
});
