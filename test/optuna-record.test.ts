import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { mixedProblems } from "../bench/mixed-suite.js";
import {
  type OptunaRecordLine,
  optunaSuiteRegrets,
  readOptunaRecord,
  recordCovers,
  staleProblems,
} from "../bench/optuna-record.js";
import { problemFingerprint } from "../bench/problem-fingerprint.js";
import { fromFormula, pointNoise, type SuiteProblem, suiteProblems } from "../bench/quality-suite.js";
import { ackley } from "../src/testing/functions.js";

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A record file holding `lines`, read back as B1 reads it. */
function recordOf(lines: readonly OptunaRecordLine[]): {
  record: Map<string, OptunaRecordLine>;
  path: string;
} {
  const dir = mkdtempSync(join(tmpdir(), "optuna-record-"));
  scratch.push(dir);
  const path = join(dir, "record.jsonl");
  writeFileSync(path, lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
  return { record: readOptunaRecord(path), path };
}

function line(problem: SuiteProblem, fingerprint: string | undefined, seed = 1): OptunaRecordLine {
  return {
    optuna: "5.0.0",
    problem: problem.fn.name,
    ...(fingerprint === undefined ? {} : { fingerprint }),
    seed,
    budget: 300,
    regret: { "100": 1, "300": 0.5 },
  };
}

/**
 * Ackley-4D with noise as the suite builds it, with the settings a later edit might change; the
 * name stays the same, so only the problem's values and box can tell the variants apart.
 */
function noisyAckley(sigma: number, salt: number, half = 32.768): SuiteProblem {
  const base = ackley(4);
  const fn = fromFormula({
    name: "Ackley-4D + noise",
    domain: base.names.map(() => ({ min: -half, max: half })),
    minimum: 0,
    at: (x) => base.at(x) + sigma * pointNoise(x, 4, salt),
  });
  return { kind: "continuous", fn, truth: (x) => base.at(x), family: "noisy", half: "development" };
}

const RECORDED = { recordOnly: true, version: "5.0.0" } as const;

describe("Optuna record", () => {
  it("does not read a line whose fingerprint differs from the problem's", async () => {
    const problem = suiteProblems()[0]!;
    const { record, path } = recordOf([line(problem, "stale")]);
    await expect(optunaSuiteRegrets(RECORDED, problem, [1], 300, [100, 300], record, path)).rejects.toThrow(
      `${problem.fn.name}, seed 1: the recorded run was measured on another definition of the problem`,
    );
    expect(recordCovers(record, "5.0.0", [problem], [1], 300, [100, 300])).toBe(false);
    expect(staleProblems(record, "5.0.0", [problem], [1, 2], 300)).toEqual([problem.fn.name]);
  });

  it("does not read a line without a fingerprint", () => {
    const problem = suiteProblems()[0]!;
    const { record } = recordOf([line(problem, undefined)]);
    expect(recordCovers(record, "5.0.0", [problem], [1], 300, [100, 300])).toBe(false);
    expect(staleProblems(record, "5.0.0", [problem], [1], 300)).toEqual([problem.fn.name]);
  });

  it("reads a line under the problem's current fingerprint", async () => {
    const problem = suiteProblems()[0]!;
    const { record, path } = recordOf([line(problem, problemFingerprint(problem))]);
    expect(recordCovers(record, "5.0.0", [problem], [1], 300, [100, 300])).toBe(true);
    expect(staleProblems(record, "5.0.0", [problem], [1], 300)).toEqual([]);
    expect(await optunaSuiteRegrets(RECORDED, problem, [1], 300, [100, 300], record, path)).toEqual({
      bySeed: [[1, 0.5]],
      recorded: 1,
    });
  });

  it("reads the later of two lines for the same run (a run measured again is appended)", () => {
    const problem = suiteProblems()[0]!;
    const { record } = recordOf([line(problem, "stale"), line(problem, problemFingerprint(problem))]);
    expect(recordCovers(record, "5.0.0", [problem], [1], 300, [100, 300])).toBe(true);
  });
});

describe("problem fingerprint", () => {
  it("is the same for the same definition and changes with noise, salt, bounds or formula", () => {
    const fingerprint = problemFingerprint(noisyAckley(0.5, 3));
    expect(problemFingerprint(noisyAckley(0.5, 3))).toBe(fingerprint);
    expect(problemFingerprint(noisyAckley(0.5, 4))).not.toBe(fingerprint);
    expect(problemFingerprint(noisyAckley(0.25, 3))).not.toBe(fingerprint);
    expect(problemFingerprint(noisyAckley(0.5, 3, 30))).not.toBe(fingerprint);
  });

  it("tells the suite's problems apart and follows a mixed space's definition", () => {
    const spaces = mixedProblems(); // slow to build (each minimum is enumerated): built once
    const all = [...suiteProblems(), ...spaces];
    expect(new Set(all.map(problemFingerprint)).size).toBe(all.length);
    const mixed = spaces[0]!;
    const fingerprint = problemFingerprint(mixed);
    expect(problemFingerprint({ ...mixed })).toBe(fingerprint);
    expect(problemFingerprint({ ...mixed, evaluate: (p) => mixed.evaluate(p) + 1e-12 })).not.toBe(
      fingerprint,
    );
    const [first, ...rest] = Object.entries(mixed.bounds);
    const [name, spec] = first!;
    const narrower =
      spec.type === "categorical"
        ? { ...spec, choices: [...spec.choices].reverse() }
        : { ...spec, max: spec.max - (spec.type === "int" ? (spec.step ?? 1) : (spec.max - spec.min) / 2) };
    expect(
      problemFingerprint({ ...mixed, bounds: Object.fromEntries([[name, narrower], ...rest]) }),
    ).not.toBe(fingerprint);
  });
});
