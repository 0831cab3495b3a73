import { afterAll, describe, expect, it } from "vitest";
import { TrialStderr } from "../src/cli/trial-stderr.js";
import { lines, removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

describe("TrialStderr", () => {
  it("with other trials running, passes whole lines on, each named by its trial", () => {
    const out: string[] = [];
    const stderr = new TrialStderr(7, true, (text) => out.push(text));
    stderr.take("Traceback (most");
    expect(out).toEqual([]);
    stderr.take(' recent call last):\n  File "train.py"\nValueErr');
    stderr.take("or: bad lr");
    stderr.end();
    expect(out.join("")).toBe(
      '[trial 7] Traceback (most recent call last):\n[trial 7]   File "train.py"\n[trial 7] ValueError: bad lr\n',
    );
    stderr.end();
    expect(out).toHaveLength(2);
  });

  it("keeps blank lines, and a line break alone ends the pending line", () => {
    const out: string[] = [];
    const stderr = new TrialStderr(2, true, (text) => out.push(text));
    stderr.take("a");
    stderr.take("\n\nb\n");
    stderr.end();
    expect(out.join("")).toBe("[trial 2] a\n[trial 2] \n[trial 2] b\n");
  });

  it("ends lines at \\n whatever came before it, and passes a redrawn line on as last drawn", () => {
    const out: string[] = [];
    const stderr = new TrialStderr(3, true, (text) => out.push(text));
    stderr.take("foo\r\nbar\r");
    stderr.take("\n");
    stderr.take("10%\r20%\r");
    stderr.take("30%");
    stderr.take("\r");
    stderr.take("40%\r");
    stderr.end();
    expect(out.join("")).toBe("[trial 3] foo\n[trial 3] bar\n[trial 3] 40%\n");
    out.length = 0;
    // A line that never ends (a bar redrawn for hours without \r) still shows, in bounded pieces.
    stderr.take("x".repeat(20_000));
    expect(out).toEqual([`[trial 3] ${"x".repeat(20_000)}\n`]);
    stderr.take("\r");
    stderr.end();
    expect(out).toHaveLength(1);
  });

  it("with one trial at a time, passes the text through as written", () => {
    const out: string[] = [];
    const stderr = new TrialStderr(1, false, (text) => out.push(text));
    stderr.take("epoch 1/3\r");
    stderr.take("epoch 2/3\r");
    stderr.end();
    expect(out).toEqual(["epoch 1/3\r", "epoch 2/3\r"]);
  });
});

describe("arqon solve --concurrency: the commands' stderr", () => {
  // Each command writes its stderr in pieces, a line split across two writes and a last line
  // without a line break, while other trials write theirs.
  const objective = [
    process.execPath,
    "-e",
    [
      "const x = process.env.ARQON_X;",
      "process.stderr.write('loading ');",
      "setTimeout(() => {",
      "  process.stderr.write('data for ' + x + '\\nno line break at the end');",
      "  console.log((Number(x) - 0.3) ** 2);",
      "}, 20);",
    ].join("\n"),
  ];

  it("names the trial on every line and never splits one", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 5, budget: 6, bounds: { x: { min: 0, max: 1 } } });
    const run = await runArqonInProcess(
      ["solve", "--config", "c.json", "--concurrency", "3", "--quiet", "--", ...objective],
      dir,
    );
    expect(run.status).toBe(0);
    const written = lines(run.stderr);
    expect(written).toHaveLength(12);
    const ids = new Set<string>();
    for (const line of written) {
      const match = /^\[trial (\d+)\] (loading data for \S+|no line break at the end)$/.exec(line);
      expect(match, line).not.toBeNull();
      ids.add(match![1]!);
    }
    expect(ids.size).toBe(6);
  });

  it("with one trial at a time, writes it as the command did", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 5, budget: 2, bounds: { x: { min: 0, max: 1 } } });
    const run = await runArqonInProcess(["solve", "--config", "c.json", "--quiet", "--", ...objective], dir);
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(
      /^loading data for \S+\nno line break at the endloading data for \S+\nno line break at the end$/,
    );
  });
});
