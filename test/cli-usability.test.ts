import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { oneLine } from "../src/cli/cli-error.js";
import { COMMAND_NAMES } from "../src/cli/commands.js";
import { excerptOfLine, locateJsonSyntaxError } from "../src/cli/json-location.js";
import {
  lines,
  REPO_ROOT,
  removeTempDirs,
  runArqonInProcess,
  runNode,
  tempDir,
  writeJson,
} from "./support/cli-run.js";

afterAll(removeTempDirs);

/** The single stderr line of a failed run with nothing on stdout. */
function errorLine(run: { status: number | null; stdout: string; stderr: string }, status: number): string {
  expect(run.status).toBe(status);
  expect(run.stdout).toBe("");
  const errors = lines(run.stderr);
  expect(errors).toHaveLength(1);
  return errors[0]!;
}

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }
).version;

describe("arqon --version", () => {
  it("prints package.json's version for --version and -V, also through bin/arqon.js", async () => {
    const dir = tempDir();
    for (const flag of ["--version", "-V"]) {
      const run = await runArqonInProcess([flag], dir);
      expect(run).toEqual({ status: 0, stdout: `${PACKAGE_VERSION}\n`, stderr: "" });
    }
    const bin = runNode([join(REPO_ROOT, "bin/arqon.js"), "--version"], dir);
    expect(bin.status).toBe(0);
    expect(bin.stdout).toBe(`${PACKAGE_VERSION}\n`);
  });
});

describe("npm run arqon", () => {
  it("reads relative paths from where npm was called, not from the package root", () => {
    // npm runs scripts from the package root and passes the caller's directory as INIT_CWD.
    const scripts = (
      JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    expect(scripts.arqon).toBe("node --import tsx scripts/arqon-from-source.mjs");
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 3, bounds: { x: { min: 0, max: 1 } } });
    const launcher = join(REPO_ROOT, "scripts/arqon-from-source.mjs");
    const run = runNode(
      ["--import", "tsx", launcher, "validate", "--config", "c.json"],
      REPO_ROOT,
      undefined,
      {
        INIT_CWD: dir,
      },
    );
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, parameters: ["x"], budget: 3 });
    expect(run.status).toBe(0);
  });
});

describe("help", () => {
  it("prints one command's usage, flags and example for help <command> and <command> --help", async () => {
    const dir = tempDir();
    for (const name of COMMAND_NAMES) {
      const viaHelp = await runArqonInProcess(["help", name], dir);
      const viaFlag = await runArqonInProcess([name, "--help"], dir);
      const viaShort = await runArqonInProcess([name, "-h"], dir);
      expect(viaHelp.status).toBe(0);
      expect(viaHelp.stdout.startsWith(`arqon ${name} `)).toBe(true);
      expect(viaHelp.stdout).toMatch(new RegExp(`\\nExample:\\n  (echo .* \\| )?arqon ${name} `));
      expect(viaFlag).toEqual(viaHelp);
      expect(viaShort).toEqual(viaHelp);
    }
    const solve = (await runArqonInProcess(["help", "solve"], dir)).stdout;
    expect(solve).not.toContain("arqon validate");
  });

  it("keeps --help after -- for the objective command, and lists every command in the general help", async () => {
    const dir = tempDir();
    const general = await runArqonInProcess(["--help"], dir);
    expect(general.status).toBe(0);
    for (const name of COMMAND_NAMES) expect(general.stdout).toMatch(new RegExp(`\n  arqon ${name} +[a-z]`));
    expect(general.stdout).toContain("arqon help <command>");
    expect(await runArqonInProcess(["help"], dir)).toEqual(general);
    // After --, --help belongs to the objective command: solve reports its own missing --config.
    expect(errorLine(await runArqonInProcess(["solve", "--", "node", "--help"], dir), 2)).toBe(
      "arqon solve: --config is required",
    );
  });

  it("refuses help for an unknown command, suggesting the nearest one", async () => {
    const dir = tempDir();
    expect(errorLine(await runArqonInProcess(["help", "slove"], dir), 2)).toBe(
      'arqon: unknown command "slove"; did you mean solve? (see arqon --help)',
    );
  });
});

describe("suggestions", () => {
  it("suggests the nearest command, or lists them all when none is near", async () => {
    const dir = tempDir();
    expect(errorLine(await runArqonInProcess(["valdate"], dir), 2)).toBe(
      'arqon: unknown command "valdate"; did you mean validate? (see arqon --help)',
    );
    expect(errorLine(await runArqonInProcess(["frobnicate"], dir), 2)).toBe(
      'arqon: unknown command "frobnicate"; expected one of validate, ask, tell, report, solve, status, dashboard, replay, explain (see arqon --help)',
    );
  });

  it("suggests the nearest flag of the command", async () => {
    const dir = tempDir();
    expect(errorLine(await runArqonInProcess(["validate", "--confg", "c.json"], dir), 2)).toBe(
      "arqon validate: unknown flag --confg; did you mean --config? (see arqon help validate)",
    );
    expect(errorLine(await runArqonInProcess(["solve", "--concurency", "2", "--", "node"], dir), 2)).toBe(
      "arqon solve: unknown flag --concurency; did you mean --concurrency? (see arqon help solve)",
    );
    expect(errorLine(await runArqonInProcess(["status", "--zzz"], dir), 2)).toBe(
      "arqon status: unknown flag --zzz (see arqon help status)",
    );
  });

  it("refuses a flag that takes a value given twice, naming both values", async () => {
    const dir = tempDir();
    expect(
      errorLine(await runArqonInProcess(["explain", "log", "--generation", "5", "--generation=6"], dir), 2),
    ).toBe('arqon explain: --generation given twice ("5", then "6"); give it once (see arqon help explain)');
  });

  it("words other flag mistakes as sentences", async () => {
    const dir = tempDir();
    expect(errorLine(await runArqonInProcess(["validate", "--config"], dir), 2)).toBe(
      "arqon validate: --config needs a value (see arqon help validate)",
    );
    // A value that starts with a dash (Node calls it ambiguous): the flag needs a value, not none.
    expect(errorLine(await runArqonInProcess(["dashboard", "--port", "-1"], dir), 2)).toBe(
      "arqon dashboard: --port needs a value; a value that starts with a dash is written --port=-1 (see arqon help dashboard)",
    );
    expect(errorLine(await runArqonInProcess(["dashboard", "--port", "--seed", "3"], dir), 2)).toBe(
      "arqon dashboard: --port needs a value (see arqon help dashboard)",
    );
    expect(errorLine(await runArqonInProcess(["dashboard", "--demo=1"], dir), 2)).toBe(
      "arqon dashboard: --demo takes no value (see arqon help dashboard)",
    );
    expect(errorLine(await runArqonInProcess(["validate", "stray"], dir), 2)).toBe(
      'arqon validate: unexpected argument "stray" (see arqon help validate)',
    );
  });

  it("suggests the nearest config key at the top level and in bounds, keeping the library's paths", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, bugdet: 10, bounds: { x: { min: 0, mx: 1 } } });
    expect(errorLine(await runArqonInProcess(["validate", "--config", "c.json"], dir), 2)).toBe(
      "invalid config c.json: bugdet: unknown key (did you mean budget?); budget: required but missing; " +
        "bounds.x.mx: unknown key (did you mean max?); bounds.x.max: required but missing",
    );
    writeJson(dir, "far.json", { seed: 1, budget: 5, bounds: { x: { min: 0, max: 1 } }, colour: "red" });
    expect(errorLine(await runArqonInProcess(["validate", "--config", "far.json"], dir), 2)).toBe(
      "invalid config far.json: colour: unknown key (known: seed, budget, bounds, probeRatio, strategy, direction, autoOptions, batch, pruner, startPoints)",
    );
  });

  it("suggests the nearest key of the pruner's own kind and of autoOptions", async () => {
    const dir = tempDir();
    const config = (extra: object) => ({ seed: 1, budget: 5, bounds: { x: { min: 0, max: 1 } }, ...extra });
    writeJson(dir, "median.json", config({ pruner: { kind: "median", startupTrails: 3 } }));
    expect(errorLine(await runArqonInProcess(["validate", "--config", "median.json"], dir), 2)).toBe(
      'invalid config median.json: pruner.startupTrails: unknown key for kind "median" (did you mean startupTrials?)',
    );
    // An ASHA key misspelt under a median pruner is no key of its kind: the kind's keys instead.
    writeJson(dir, "mixed.json", config({ pruner: { kind: "median", reductionFactr: 3 } }));
    expect(errorLine(await runArqonInProcess(["validate", "--config", "mixed.json"], dir), 2)).toBe(
      'invalid config mixed.json: pruner.reductionFactr: unknown key for kind "median" (known: kind, startupTrials, warmupSteps, intervalSteps, minTrials)',
    );
    writeJson(dir, "auto.json", config({ autoOptions: { globalPhse: 0.3 } }));
    expect(errorLine(await runArqonInProcess(["validate", "--config", "auto.json"], dir), 2)).toBe(
      "invalid config auto.json: autoOptions.globalPhse: unknown key (did you mean globalPhase?)",
    );
  });

  it("says what arqon calls a setting written with Optuna's name", async () => {
    const dir = tempDir();
    writeJson(dir, "optuna.json", {
      seed: 1,
      n_trials: 5,
      bounds: { lr: { low: 1e-5, high: 0.1, log: true } },
    });
    const error = errorLine(await runArqonInProcess(["validate", "--config", "optuna.json"], dir), 2);
    for (const hint of [
      'n_trials: unknown key (use "budget")',
      'bounds.lr.low: unknown key (use "min")',
      'bounds.lr.high: unknown key (use "max")',
      'bounds.lr.log: unknown key (use "scale": "log")',
    ])
      expect(error).toContain(hint);
  });
});

describe("JSON errors", () => {
  it("give the line and column and show the offending line", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "c.json"), '{\n  "seed": 1,\n  "budget": 10 "bounds": {}\n}\n');
    expect(errorLine(await runArqonInProcess(["validate", "--config", "c.json"], dir), 2)).toBe(
      `config file c.json is not valid JSON: line 3, column 16: expected ',' before this; the line reads: "budget": 10 "bounds": {}`,
    );
    writeFileSync(join(dir, "trailing.json"), '{\n  "seed": 1,\n}');
    expect(errorLine(await runArqonInProcess(["validate", "--config", "trailing.json"], dir), 2)).toBe(
      "config file trailing.json is not valid JSON: line 3, column 1: expected a property name in double quotes; the line reads: }",
    );
    writeFileSync(
      join(dir, "bom.json"),
      `\uFEFF${JSON.stringify({ seed: 1, budget: 3, bounds: { x: { min: 0, max: 1 } } })}`,
    );
    expect((await runArqonInProcess(["validate", "--config", "bom.json"], dir)).stdout).toBe(
      '{"ok":true,"parameters":["x"],"variables":{"x":"ARQON_X"},"budget":3}\n',
    );
    writeFileSync(join(dir, "empty.json"), "  \n");
    expect(errorLine(await runArqonInProcess(["validate", "--config", "empty.json"], dir), 2)).toBe(
      "config file empty.json is empty; expected JSON",
    );
  });

  it("locates errors in a document that ends early, has comments, or has a long line", () => {
    expect(locateJsonSyntaxError('{"a": 1')).toEqual({
      line: 1,
      column: 8,
      reason: "expected '}' (the text ends too early)",
      lineText: '{"a": 1',
    });
    expect(locateJsonSyntaxError('{\r\n  // note\r\n  "a": 1\r\n}')).toMatchObject({
      line: 2,
      column: 3,
      reason: "comments are not allowed in JSON",
      lineText: "  // note",
    });
    expect(locateJsonSyntaxError('{"a": [1, 2]}')).toBeUndefined();
    const long = `{"values": [${"1, ".repeat(40)}1 2]}`;
    const problem = locateJsonSyntaxError(long)!;
    expect(problem).toMatchObject({ line: 1, column: 135, reason: "expected ',' before this" });
    expect(excerptOfLine(problem)).toBe(`…${long.slice(105)}`);
  });
});

describe("messages", () => {
  it("read as sentences for refused results, a corrupt state and a missing log", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 5, bounds: { x: { min: 0, max: 1 } } });
    expect((await runArqonInProcess(["ask", "--state", "s.json", "--config", "c.json"], dir)).status).toBe(0);
    expect(
      errorLine(await runArqonInProcess(["tell", "--state", "s.json"], dir, '[{"id":1,"vaule":0.5}]'), 2),
    ).toBe(
      "arqon tell: invalid results: results[0].vaule: unknown key (did you mean value?); results[0].value: expected a finite number",
    );
    // Python's json.dumps of a diverged value: said what it is, and what to tell instead.
    expect(
      errorLine(await runArqonInProcess(["tell", "--state", "s.json"], dir, '[{"id": 1, "value": NaN}]'), 2),
    ).toMatch(
      /: line 1, column 21: NaN is no JSON number \(Python's json\.dumps writes it; a value is finite, and a trial that produced none is \{"id": N, "failed": "why"\}\); the line reads: /,
    );
    // In a config, only what it is: a failed trial is no config's business.
    writeFileSync(
      join(dir, "inf.json"),
      '{"seed": 1, "budget": 5, "bounds": {"x": {"min": 0, "max": Infinity}}}',
    );
    expect(errorLine(await runArqonInProcess(["validate", "--config", "inf.json"], dir), 2)).toMatch(
      /: Infinity is no JSON number \(Python's json\.dumps writes it; JSON numbers are finite\); the line reads: /,
    );
    expect(
      errorLine(
        await runArqonInProcess(
          ["tell", "--state", "s.json"],
          dir,
          '[{"id":1,"value":1},{"id":7,"value":2}]',
        ),
        2,
      ),
    ).toBe("arqon tell: results refused, nothing was told: results[1].id: trial 7 was never asked");

    const state = JSON.parse(readFileSync(join(dir, "s.json"), "utf8"));
    state.told = [{ id: "z" }];
    writeJson(dir, "bad.json", state);
    expect(errorLine(await runArqonInProcess(["status", "--state", "bad.json"], dir), 2)).toBe(
      "state file bad.json is not a valid arqon solver state: corrupt solver artifact: " +
        "told[0].id: z is not a told trial; told[0].value: expected a finite number",
    );
    expect(errorLine(await runArqonInProcess(["replay", "nope.jsonl"], dir), 2)).toBe(
      `arqon replay: log not found: ${join(dir, "nope.jsonl")}`,
    );
    // A directory holding no segment (a LOCK left alone) is no log, not a log without a header.
    mkdirSync(join(dir, "empty-log"));
    writeFileSync(join(dir, "empty-log", "LOCK"), "{}");
    expect(errorLine(await runArqonInProcess(["replay", "empty-log"], dir), 2)).toBe(
      `arqon replay: no decision log in ${join(dir, "empty-log")}: it holds no segment file`,
    );
  });

  it("fold a colon-introduced list into one sentence", () => {
    expect(oneLine("tell rejected; nothing was recorded:\n  - result[0].id: a\n  - result[1].id: b")).toBe(
      "tell rejected; nothing was recorded: result[0].id: a; result[1].id: b",
    );
    expect(oneLine("first line\nsecond line\n\n")).toBe("first line; second line");
  });
});

describe("a state file that is not there yet", () => {
  it("is said first, so that a mistyped --state is seen before any trial runs", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 4, budget: 2, bounds: { x: { min: 0, max: 1 } } });
    const objective = [process.execPath, "-e", "console.log(Number(process.env.ARQON_X))"];
    const first = await runArqonInProcess(
      ["solve", "--config", "c.json", "--state", "study.json", "--", ...objective],
      dir,
    );
    expect(first.status).toBe(0);
    expect(lines(first.stderr)[0]).toBe(
      "new run: no state at study.json yet; it is saved there, as a snapshot file",
    );
    // Another ending is a decision log; ".JSON" is a snapshot as ".json" is.
    for (const [state, kind] of [
      ["study.db", "a decision-log directory"],
      ["run.JSON", "a snapshot file"],
    ] as const) {
      const run = await runArqonInProcess(
        ["solve", "--config", "c.json", "--state", state, "--", ...objective],
        dir,
      );
      expect(lines(run.stderr)[0]).toBe(`new run: no state at ${state} yet; it is saved there, as ${kind}`);
      expect(statSync(join(dir, state)).isDirectory()).toBe(kind === "a decision-log directory");
    }
    // The same command again finds the finished run: nothing new is said.
    const again = await runArqonInProcess(
      ["solve", "--config", "c.json", "--state", "study.json", "--", ...objective],
      dir,
    );
    expect(again.status).toBe(0);
    expect(again.stderr).not.toContain("new run");
    // --quiet keeps it, and only it: a quiet job is where a mistyped --state would go unseen.
    const quiet = await runArqonInProcess(
      ["solve", "--config", "c.json", "--state", "other.json", "--quiet", "--", ...objective],
      dir,
    );
    expect(quiet.status).toBe(0);
    expect(lines(quiet.stderr)).toEqual([
      "new run: no state at other.json yet; it is saved there, as a snapshot file",
    ]);
    const quietAgain = await runArqonInProcess(
      ["solve", "--config", "c.json", "--state", "other.json", "--quiet", "--", ...objective],
      dir,
    );
    expect(quietAgain.stderr).toBe("");
    // arqon ask says it too when it begins a run, and not when it resumes one.
    const asked = await runArqonInProcess(["ask", "--config", "c.json", "--state", "asked.json"], dir);
    expect(asked.status, asked.stderr).toBe(0);
    expect(lines(asked.stderr)[0]).toBe(
      "new run: no state at asked.json yet; it is saved there, as a snapshot file",
    );
    const askedAgain = await runArqonInProcess(["ask", "--config", "c.json", "--state", "asked.json"], dir);
    expect(askedAgain.stderr).not.toContain("new run");
  });
});
