import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { objectiveEnvironment } from "../src/cli/env-names.js";
import { readObjective, readReport } from "../src/cli/objective-output.js";
import { runCli } from "../src/cli/run-cli.js";
import { solverConfigIssues } from "../src/index.js";
import {
  type CliRun,
  lines,
  removeTempDirs,
  runArqonInProcess,
  tempDir,
  writeJson,
} from "./support/cli-run.js";

afterAll(removeTempDirs);

/** Asserts a failure reported as exactly one stderr line, and returns that line. */
function errorLine(run: CliRun, status: number): string {
  expect(run.status).toBe(status);
  expect(run.stdout).toBe("");
  const errorLines = lines(run.stderr);
  expect(errorLines).toHaveLength(1);
  return errorLines[0]!;
}

/** Runs the CLI in this process with `env` as the whole environment it passes on. */
async function runWithEnv(
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const status = await runCli(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    readStdin: async () => "",
    stdinIsTerminal: true,
    cwd,
    env,
  });
  return { status, stdout, stderr };
}

const CONDITIONAL = {
  seed: 1,
  budget: 8,
  bounds: {
    opt: { type: "categorical", choices: ["sgd", "adam"] },
    momentum: { min: 0, max: 1, when: { opt: ["sgd"] } },
  },
};

describe("the objective's environment", () => {
  it("drops an inherited variable of an inactive parameter and the inherited trial id", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONDITIONAL);
    // Each trial records what it received; other inherited variables must still arrive.
    const objective = [
      process.execPath,
      "-e",
      "const e = process.env; require('fs').appendFileSync('seen.txt', " +
        "[e.ARQON_TRIAL_ID, e.ARQON_OPT, e.ARQON_MOMENTUM ?? '-', e.KEEP].join(' ') + '\\n'); console.log(1);",
    ];
    const env = { ...process.env, ARQON_MOMENTUM: "0.9", ARQON_TRIAL_ID: "999", KEEP: "kept" };
    const run = await runWithEnv(["solve", "--config", "c.json", "--quiet", "--", ...objective], dir, env);
    expect(run.status).toBe(0);
    const seen = lines(readFileSync(join(dir, "seen.txt"), "utf8")).map((line) => line.split(" "));
    expect(seen.map(([id]) => id)).toEqual(["1", "2", "3", "4", "5", "6", "7", "8"]);
    expect(seen.filter(([, opt]) => opt === "adam").length).toBeGreaterThan(0);
    for (const [, opt, momentum, keep] of seen) {
      expect(keep).toBe("kept");
      if (opt === "adam") expect(momentum).toBe("-");
      else expect(momentum).not.toBe("0.9");
    }
  });

  it("is the inherited one minus every parameter's variable, plus the trial's", () => {
    const inherited = { PATH: "/bin", ARQON_X: "stale", ARQON_Y: "stale", ARQON_TRIAL_ID: "9", ARQON_Z: "z" };
    expect(objectiveEnvironment(inherited, ["x", "y"], { id: 3, params: { x: 0.5 } })).toEqual({
      PATH: "/bin",
      ARQON_Z: "z",
      ARQON_TRIAL_ID: "3",
      ARQON_X: "0.5",
    });
  });
});

describe("duplicate keys in JSON input", () => {
  it("refuse a config naming the line, column and path of the second key", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "c.json"),
      '{\n  "seed": 1,\n  "budget": 5,\n  "bounds": {\n    "lr": { "min": 0, "max": 1 },\n' +
        '    "lr": { "min": 0, "max": 2 }\n  }\n}\n',
    );
    expect(errorLine(await runArqonInProcess(["validate", "--config", "c.json"], dir), 2)).toBe(
      "config file c.json has a duplicate key: line 6, column 5: bounds.lr is given twice " +
        "(first at line 5, column 5); JSON would keep only the last",
    );
    writeFileSync(
      join(dir, "deep.json"),
      '{"seed": 1, "budget": 5, "bounds": {"c": {"type": "categorical", "choices": [1, {"a": 1, "a": 2}]}}, "seed": 2}',
    );
    expect(errorLine(await runArqonInProcess(["validate", "--config", "deep.json"], dir), 2)).toBe(
      "config file deep.json has a duplicate key: line 1, column 90: bounds.c.choices[1].a is given twice " +
        "(first at line 1, column 82); JSON would keep only the last",
    );
  });

  it("refuse tell results as a whole, leaving the state unchanged", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 5, bounds: { x: { min: 0, max: 1 } } });
    expect((await runArqonInProcess(["ask", "--config", "c.json", "--state", "s.json"], dir)).status).toBe(0);
    const before = readFileSync(join(dir, "s.json"));
    const told = await runArqonInProcess(
      ["tell", "--state", "s.json"],
      dir,
      '[{"id": 1, "value": 1, "value": 2}]',
    );
    expect(errorLine(told, 2)).toBe(
      "results on stdin has a duplicate key: line 1, column 24: [0].value is given twice " +
        "(first at line 1, column 12); JSON would keep only the last",
    );
    expect(readFileSync(join(dir, "s.json")).equals(before)).toBe(true);
  });

  it("quote a key that is not a plain name, and tell the same key in different objects apart", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "c.json"),
      '{"seed": 1, "budget": 5, "bounds": {"a": {"min": 0, "max": 1}, "b": {"min": 0, "max": 1}, "learning-rate": {}, "learning-rate": {}}}',
    );
    expect(errorLine(await runArqonInProcess(["validate", "--config", "c.json"], dir), 2)).toMatch(
      /: bounds\["learning-rate"\] is given twice /,
    );
  });
});

describe("unknown keys of a parameter", () => {
  it("name the type a key of another kind needs, and suggest only from the parameter's own kind", async () => {
    const dir = tempDir();
    const check = async (bound: object) => {
      writeJson(dir, "c.json", { seed: 1, budget: 5, bounds: { p: bound } });
      return errorLine(await runArqonInProcess(["validate", "--config", "c.json"], dir), 2);
    };
    expect(await check({ type: "categorical", choices: [1, 10], step: 1 })).toBe(
      'invalid config c.json: bounds.p.step: unknown key (step is only for type "float" or "int")',
    );
    expect(await check({ type: "categorical", choices: [1, 10], scale: "log" })).toBe(
      'invalid config c.json: bounds.p.scale: unknown key (scale is only for type "float" or "int")',
    );
    expect(await check({ type: "int", min: 1, max: 3, choices: [1, 2] })).toBe(
      'invalid config c.json: bounds.p.choices: unknown key (choices is only for type "categorical")',
    );
    expect(await check({ choices: ["a", "b"] })).toBe(
      'invalid config c.json: bounds.p.choices: unknown key (choices is only for type "categorical"); ' +
        "bounds.p.min: required but missing; bounds.p.max: required but missing",
    );
    expect(await check({ type: "categorical", choice: ["a"] })).toBe(
      "invalid config c.json: bounds.p.choice: unknown key (did you mean choices?); " +
        "bounds.p.choices: required but missing",
    );
    // "choises" is near a categorical's key, which a float cannot take: the hint names the type it needs.
    expect(await check({ min: 0, max: 1, choises: ["a"] })).toBe(
      'invalid config c.json: bounds.p.choises: unknown key (did you mean choices? it is only for type "categorical")',
    );
    // Two swapped letters: "stpe" is as far from "type" as from "step" by Levenshtein's count.
    expect(await check({ type: "categorical", choices: [1, 2], stpe: 1 })).toBe(
      'invalid config c.json: bounds.p.stpe: unknown key (did you mean step? it is only for type "float" or "int")',
    );
    expect(await check({ type: "int", min: 0, max: 4, stpe: 2 })).toBe(
      "invalid config c.json: bounds.p.stpe: unknown key (did you mean step?)",
    );
    // Near nothing: the keys the parameter's kind takes.
    expect(await check({ type: "int", min: 0, max: 4, granularity: 2 })).toBe(
      "invalid config c.json: bounds.p.granularity: unknown key (known: type, min, max, step, scale, when)",
    );
  });
});

describe("unknown top-level keys", () => {
  it("list the known keys when none is near, and point a maximize switch at direction", async () => {
    const dir = tempDir();
    const check = async (extra: object) => {
      writeJson(dir, "c.json", { seed: 1, budget: 5, bounds: { p: { min: 0, max: 1 } }, ...extra });
      return errorLine(await runArqonInProcess(["validate", "--config", "c.json"], dir), 2);
    };
    expect(await check({ maximize: true })).toBe(
      'invalid config c.json: maximize: unknown key (use "direction": "maximize")',
    );
    expect(await check({ minimise: true })).toBe(
      'invalid config c.json: minimise: unknown key (use "direction": "minimize")',
    );
    expect(await check({ direction: "max" })).toBe(
      'invalid config c.json: direction: expected one of "minimize", "maximize", got "max"',
    );
    expect(await check({ colour: "red" })).toMatch(
      /^invalid config c\.json: colour: unknown key \(known: seed, budget, bounds, [\w, ]+\)$/,
    );
    // Optuna's name for the budget is pointed at it.
    expect(await check({ n_trials: 40 })).toBe('invalid config c.json: n_trials: unknown key (use "budget")');
  });
});

describe("the sign of the objective's value", () => {
  it("is a hyphen, not a minus, when it follows a letter, digit, _ or .", () => {
    // The number after a hyphen is glued to a word: no value, and no second number.
    expect(readObjective("val_loss=0.31 (run-7)\n")).toEqual({ ok: true, value: 0.31 });
    expect(readObjective("model resnet-50 accuracy 0.9")).toEqual({ ok: true, value: 0.9 });
    expect(readObjective("range 3-5")).toMatchObject({
      ok: false,
      reason: expect.stringContaining('no number stands alone on the last output line "range 3-5"'),
    });
  });

  it("keeps every documented form", () => {
    expect(readObjective("value -2.5")).toEqual({ ok: true, value: -2.5 });
    expect(readObjective("-2.5")).toEqual({ ok: true, value: -2.5 });
    expect(readObjective("loss=-0.5")).toEqual({ ok: true, value: -0.5 });
    expect(readObjective("loss:-1e-3")).toEqual({ ok: true, value: -0.001 });
    expect(readObjective("1e-3")).toEqual({ ok: true, value: 0.001 });
    expect(readObjective("+2.5E+4")).toEqual({ ok: true, value: 25000 });
    // A number in brackets is glued to them: not a value on its own.
    expect(readObjective("(-4)")).toMatchObject({ ok: false });
    expect(readObjective("RESULT=0.99")).toEqual({ ok: true, value: 0.99 });
    expect(readObjective("nan")).toMatchObject({ ok: false });
    expect(readObjective("-inf")).toMatchObject({ ok: false });
  });

  it("fails a trial whose last line holds several numbers, naming the line", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 3, bounds: { x: { min: 0, max: 1 } } });
    // Which is the value cannot be told: the learning rate, last, would have been taken before.
    const objective = [process.execPath, "-e", "console.log('loss 0.5 lr ' + process.env.ARQON_X)"];
    const run = await runArqonInProcess(
      ["solve", "--config", "c.json", "--quiet", "--on-error", "skip", "--", ...objective],
      dir,
    );
    const out = JSON.parse(run.stdout) as { failures: { error: string }[]; best: unknown };
    expect(out.failures).toHaveLength(3);
    expect(out.failures[0]!.error).toMatch(
      /^the last output line holds several numbers, and which is the value cannot be told: "loss 0\.5 lr [\d.e-]+"; print the value alone on the last line/,
    );
    expect(out.best).toBeNull();
    // The value alone on its line is read.
    const alone = [process.execPath, "-e", "console.log('loss=' + process.env.ARQON_X)"];
    const read = await runArqonInProcess(["solve", "--config", "c.json", "--quiet", "--", ...alone], dir);
    expect(read.status, read.stderr).toBe(0);
  });
});

describe("a path flag given empty (an unset variable)", () => {
  it("is refused naming the flag, and nothing is written where the command runs", async () => {
    const dir = tempDir();
    const config = writeJson(dir, "c.json", { bounds: { x: { min: 0, max: 1 } }, budget: 3, seed: 1 });
    const runs: [readonly string[], string][] = [
      [
        ["solve", "--config", config, "--state", "", "--", "node", "-e", "console.log(1)"],
        "arqon solve: --state",
      ],
      [["solve", "--config", "", "--", "node", "-e", "console.log(1)"], "arqon solve: --config"],
      [
        ["solve", "--storage", "", "--study", "s", "--", "node", "-e", "console.log(1)"],
        "arqon solve: --storage",
      ],
      [["ask", "--state", join(dir, "s.json"), "--config", ""], "arqon ask: --config"],
      [["tell", "--state", join(dir, "s.json"), "--results", ""], "arqon tell: --results"],
      [["dashboard", "--log", ""], "arqon dashboard: --log"],
      [["ask", "--state", ""], "arqon ask: --state"],
      [["status", "--state", ""], "arqon status: --state"],
      [["validate", "--config", ""], "arqon validate: --config"],
    ];
    for (const [args, flag] of runs) {
      const line = errorLine(await runArqonInProcess(args, dir, "[]"), 2);
      expect(line).toBe(`${flag} is empty (an unset variable?)`);
    }
    for (const command of ["replay", "explain"]) {
      const line = errorLine(await runArqonInProcess([command, ""], dir), 2);
      expect(line).toBe(`arqon ${command}: the log path is empty (an unset variable?)`);
    }
    expect(readdirSync(dir)).toEqual(["c.json"]);
  });
});

describe("terminal colour codes in the objective's output", () => {
  it("are not read as numbers: the value is the printed one, a coloured NaN still fails", () => {
    // What a logger prints under FORCE_COLOR: the "39" of the reset code is no value.
    expect(readObjective("loss: \x1b[33m0.25\x1b[39m\n")).toEqual({ ok: true, value: 0.25 });
    expect(readObjective("\x1b[1m\x1b[32mRESULT=\x1b[0m-1.5")).toEqual({ ok: true, value: -1.5 });
    expect(readObjective("epoch 3 loss \x1b[31mNaN\x1b[39m")).toMatchObject({ ok: false });
    expect(readObjective("\x1b[2K\x1b[1G")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("no output"),
    });
    expect(readReport('\x1b[36m{"step": 2, "value": 0.5}\x1b[39m')).toEqual({ step: 2, value: 0.5 });
  });
});

describe("configs arqon solve cannot pass to a command", () => {
  it("are refused by validate too: names sharing a variable", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 1,
      budget: 3,
      bounds: { lr: { min: 0, max: 1 }, LR: { min: 0, max: 1 } },
    });
    expect(errorLine(await runArqonInProcess(["validate", "--config", "c.json"], dir), 2)).toBe(
      'invalid config c.json: ambiguous environment variables: bounds.LR: its variable ARQON_LR is also used by parameter "lr"',
    );
  });

  it("refuse a string choice with a NUL character in validate, solve and a resumed solve, state untouched", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 1,
      budget: 3,
      bounds: { c: { type: "categorical", choices: ["a", "b\u0000c", ["\u0000"]] } },
    });
    const problem = "bounds.c.choices.1: contains a NUL character, which no environment variable can carry";
    expect(errorLine(await runArqonInProcess(["validate", "--config", "c.json"], dir), 2)).toBe(
      `invalid config c.json: ${problem}`,
    );
    const objective = [process.execPath, "-e", "console.log(1)"];
    const fresh = ["solve", "--config", "c.json", "--state", "s.json", "--", ...objective];
    expect(errorLine(await runArqonInProcess(fresh, dir), 2)).toBe(`arqon solve: ${problem}`);
    expect(existsSync(join(dir, "s.json"))).toBe(false);
    // A state made by ask (which passes no variables) holds a pending trial; solve refuses it too.
    expect((await runArqonInProcess(["ask", "--config", "c.json", "--state", "s.json"], dir)).status).toBe(0);
    const before = readFileSync(join(dir, "s.json"));
    const resume = ["solve", "--state", "s.json", "--", ...objective];
    expect(errorLine(await runArqonInProcess(resume, dir), 2)).toBe(`arqon solve: ${problem}`);
    expect(readFileSync(join(dir, "s.json")).equals(before)).toBe(true);
  });
});

describe("choices a command could not tell apart", () => {
  it("are refused by validate: a lone surrogate, which reaches the command as U+FFFD", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 1,
      budget: 3,
      bounds: { mode: { type: "categorical", choices: ["\ud800", "\ufffd", "a\ud83d\ude00", ["\udc00"]] } },
    });
    expect(errorLine(await runArqonInProcess(["validate", "--config", "c.json"], dir), 2)).toBe(
      "invalid config c.json: bounds.mode.choices.0: contains a lone UTF-16 surrogate, which an environment variable carries as U+FFFD",
    );
  });

  it("are refused by validate and solve: a string choice and another whose JSON is that text", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 1,
      budget: 3,
      bounds: {
        mode: { type: "categorical", choices: ["1", 1, "[1]", [1], "on"] },
        flag: { type: "categorical", choices: [true, "false", "true"] },
      },
    });
    const problem =
      "bounds.mode.choices.0 and 1: both pass as ARQON_MODE=1; " +
      "bounds.mode.choices.2 and 3: both pass as ARQON_MODE=[1]; " +
      "bounds.flag.choices.0 and 2: both pass as ARQON_FLAG=true";
    expect(errorLine(await runArqonInProcess(["validate", "--config", "c.json"], dir), 2)).toBe(
      `invalid config c.json: ${problem}`,
    );
    const objective = [process.execPath, "-e", "console.log(1)"];
    const solve = ["solve", "--config", "c.json", "--", ...objective];
    expect(errorLine(await runArqonInProcess(solve, dir), 2)).toBe(`arqon solve: ${problem}`);
  });

  it("are not named again when they are equal (1 and 1.0): the config's own check says so", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "c.json"),
      '{"seed":1,"budget":3,"bounds":{"o":{"type":"categorical","choices":[1, 1.0, 2]}}}',
    );
    const run = await runArqonInProcess(["validate", "--config", "c.json"], dir);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe("invalid config c.json: bounds.o.choices: choices 0 and 1 are equal (1)\n");
  });
});

describe("a condition naming an inherited Object member", () => {
  it("is an unknown parameter", async () => {
    const config = (parent: string) => ({
      seed: 1,
      budget: 5,
      bounds: {
        c: { type: "categorical", choices: ["a"] },
        x: { min: 0, max: 1, when: JSON.parse(`{${JSON.stringify(parent)}: ["a"]}`) },
      },
    });
    expect(solverConfigIssues(config("toString"))).toEqual([
      { path: "bounds.x.when.toString", message: 'unknown parameter "toString"' },
    ]);
    expect(solverConfigIssues(config("__proto__"))).toEqual([
      { path: "bounds.x.when.__proto__", message: 'unknown parameter "__proto__"' },
    ]);
  });
});
