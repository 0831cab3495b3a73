/**
 * Optuna's runs on the B1 suite, kept in a record file so that a rerun of B1 does not repeat an
 * hour of Optuna (its TPE takes 5–20 ms per trial at n ≈ 300 here, against arqon's microseconds).
 *
 * @remarks
 * A recorded run is one host's measurement, reused only while the Optuna version and the
 * problem's fingerprint (bench/problem-fingerprint.ts: its name, space, minimum and values at fixed
 * points, noise included) match the current ones; a line under another fingerprint is measured
 * again, or, when Optuna cannot run, B1 fails naming the problem. The same driver, version and
 * seed can still differ between hosts: numpy picks SIMD paths by CPU, which can change the last
 * bits of Optuna's proposals, and on a noisy problem (noise hashed from a point's bits) a last bit
 * changes every later draw, so the run goes elsewhere. Each line of the record holds one run: the
 * Optuna version, the problem's name and fingerprint, the seed, the budget and the regret
 * (noiseless value of the best observed point minus the minimum) at every checkpoint. The
 * mixed-space problems are recorded the same way in a sibling file. A change to the driver is not
 * in the fingerprint: `npm run bench -- solver-quality --fresh-optuna=yes` empties both records
 * and measures everything again (rewriting them).
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type B1Problem, problemName } from "./b1-problem.js";
import { OptunaPeer } from "./compare-optuna.js";
import type { MixedSuiteProblem } from "./mixed-suite.js";
import { problemFingerprint } from "./problem-fingerprint.js";
import type { SuiteProblem } from "./quality-suite.js";

/** Where the runs are recorded (committed: it is the measurement). */
export const OPTUNA_RECORD = fileURLToPath(new URL("results/optuna-b1.jsonl", import.meta.url));

/** Where the runs on the mixed-space problems are recorded (a sibling file, same line format). */
export const OPTUNA_MIXED_RECORD = fileURLToPath(new URL("results/optuna-b1-mixed.jsonl", import.meta.url));

/** One recorded run. */
export interface OptunaRecordLine {
  readonly optuna: string;
  readonly problem: string;
  /**
   * The problem's {@link problemFingerprint} when it was measured; a line without one, or with
   * another, is not read.
   */
  readonly fingerprint?: string;
  readonly seed: number;
  readonly budget: number;
  /** Checkpoint → regret. */
  readonly regret: Readonly<Record<string, number>>;
}

/**
 * Optuna's recorded runs standing in for a driver that cannot start on this machine (no Python
 * or no Optuna): usable only when the record holds every run asked for ({@link recordCovers}).
 */
export interface RecordedOptuna {
  readonly recordOnly: true;
  /** The Optuna version whose runs are read. */
  readonly version: string;
}

/** Where Optuna's runs come from: a live driver (which records what it measures) or the record alone. */
export type OptunaSide = OptunaPeer | RecordedOptuna;

function versionOf(side: OptunaSide): string {
  return side instanceof OptunaPeer ? side.versions.optuna : side.version;
}

/** The recorded run of `problem` for `seed` when it was measured on the problem's current definition. */
function currentLine(
  record: ReadonlyMap<string, OptunaRecordLine>,
  version: string,
  problem: B1Problem,
  seed: number,
  budget: number,
): OptunaRecordLine | undefined {
  const known = record.get(key(version, problemName(problem), seed, budget));
  return known?.fingerprint === problemFingerprint(problem) ? known : undefined;
}

/**
 * Whether the record holds a run of `budget` trials with every checkpoint for each problem and
 * seed, measured on the problem's current definition (its fingerprint).
 */
export function recordCovers(
  record: ReadonlyMap<string, OptunaRecordLine>,
  version: string,
  problems: readonly B1Problem[],
  seeds: readonly number[],
  budget: number,
  checkpoints: readonly number[],
): boolean {
  return problems.every((problem) =>
    seeds.every((seed) => {
      const known = currentLine(record, version, problem, seed, budget);
      return known !== undefined && checkpoints.every((c) => known.regret[c] !== undefined);
    }),
  );
}

/**
 * The problems with a recorded run (of `seeds`, `budget` trials) whose fingerprint is not the
 * problem's current one: measured on another definition of the problem, so not read.
 */
export function staleProblems(
  record: ReadonlyMap<string, OptunaRecordLine>,
  version: string,
  problems: readonly B1Problem[],
  seeds: readonly number[],
  budget: number,
): string[] {
  return problems
    .filter((problem) =>
      seeds.some((seed) => {
        const known = record.get(key(version, problemName(problem), seed, budget));
        return known !== undefined && known.fingerprint !== problemFingerprint(problem);
      }),
    )
    .map(problemName);
}

function key(optuna: string, problem: string, seed: number, budget: number): string {
  return `${optuna}|${problem}|${seed}|${budget}`;
}

/**
 * The recorded runs, by version, problem, seed and budget (a later line replaces an earlier one;
 * whether a line is read depends on its fingerprint, see {@link recordCovers}).
 */
export function readOptunaRecord(path = OPTUNA_RECORD): Map<string, OptunaRecordLine> {
  const runs = new Map<string, OptunaRecordLine>();
  if (!existsSync(path)) return runs;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    const run = JSON.parse(line) as OptunaRecordLine;
    runs.set(key(run.optuna, run.problem, run.seed, run.budget), run);
  }
  return runs;
}

/** Empties the record (before a fresh measurement). */
export function clearOptunaRecord(path = OPTUNA_RECORD): void {
  writeFileSync(path, "");
}

/**
 * Best-so-far regret after each checkpoint, reading each point's noiseless value: the regret of a
 * run is what its best *observed* point is truly worth.
 */
export function truthRegrets(
  observed: readonly number[],
  truths: readonly number[],
  minimum: number,
  checkpoints: readonly number[],
): number[] {
  const regrets: number[] = [];
  let best = Number.POSITIVE_INFINITY;
  let bestTruth = Number.POSITIVE_INFINITY;
  let seen = 0;
  for (const checkpoint of checkpoints) {
    for (; seen < Math.min(checkpoint, observed.length); seen++) {
      if (observed[seen]! < best) {
        best = observed[seen]!;
        bestTruth = truths[seen]!;
      }
    }
    regrets.push(Math.max(0, bestTruth - minimum));
  }
  return regrets;
}

/**
 * Optuna's regrets for `problem` at `checkpoints` (one run of `budget` trials per seed): from the
 * record when it holds the run under the problem's current fingerprint, otherwise measured now
 * and appended to it.
 */
export async function optunaSuiteRegrets(
  side: OptunaSide,
  problem: SuiteProblem,
  seeds: readonly number[],
  budget: number,
  checkpoints: readonly number[],
  record: Map<string, OptunaRecordLine>,
  path = OPTUNA_RECORD,
): Promise<{ bySeed: number[][]; recorded: number }> {
  const { fn, truth } = problem;
  return recordedRegrets(side, problem, seeds, budget, checkpoints, record, path, async (peer, seed) => {
    const { values, points } = await peer.run(fn, seed, budget);
    return truthRegrets(
      values,
      points.map((x) => truth(x)),
      fn.minimum,
      checkpoints,
    );
  });
}

/**
 * The same for a mixed-space problem, with Optuna's native distributions (see
 * {@link OptunaPeer.runMixed}); recorded in {@link OPTUNA_MIXED_RECORD}.
 */
export async function optunaMixedRegrets(
  side: OptunaSide,
  problem: MixedSuiteProblem,
  seeds: readonly number[],
  budget: number,
  checkpoints: readonly number[],
  record: Map<string, OptunaRecordLine>,
  path = OPTUNA_MIXED_RECORD,
): Promise<{ bySeed: number[][]; recorded: number }> {
  return recordedRegrets(side, problem, seeds, budget, checkpoints, record, path, async (peer, seed) => {
    const { values } = await peer.runMixed(problem.bounds, problem.evaluate, seed, budget);
    return truthRegrets(values, values, problem.minimum, checkpoints);
  });
}

async function recordedRegrets(
  side: OptunaSide,
  problem: B1Problem,
  seeds: readonly number[],
  budget: number,
  checkpoints: readonly number[],
  record: Map<string, OptunaRecordLine>,
  path: string,
  measure: (peer: OptunaPeer, seed: number) => Promise<number[]>,
): Promise<{ bySeed: number[][]; recorded: number }> {
  const version = versionOf(side);
  const name = problemName(problem);
  const fingerprint = problemFingerprint(problem);
  const bySeed: number[][] = [];
  let recorded = 0;
  for (const seed of seeds) {
    const known = currentLine(record, version, problem, seed, budget);
    if (known !== undefined && checkpoints.every((c) => known.regret[c] !== undefined)) {
      bySeed.push(checkpoints.map((c) => known.regret[c]!));
      recorded++;
      continue;
    }
    if (!(side instanceof OptunaPeer)) {
      const other = record.get(key(version, name, seed, budget));
      throw new Error(
        `Optuna ${version} on ${name}, seed ${seed}: ` +
          (other === undefined || other.fingerprint === fingerprint
            ? "not in the record"
            : `the recorded run was measured on another definition of the problem (fingerprint ${other.fingerprint ?? "none"}, now ${fingerprint})`) +
          ", and Optuna cannot run here",
      );
    }
    const regrets = await measure(side, seed);
    const line: OptunaRecordLine = {
      optuna: version,
      problem: name,
      fingerprint,
      seed,
      budget,
      regret: Object.fromEntries(checkpoints.map((c, i) => [String(c), regrets[i]!])),
    };
    appendFileSync(path, `${JSON.stringify(line)}\n`);
    record.set(key(version, name, seed, budget), line);
    bySeed.push(regrets);
  }
  return { bySeed, recorded };
}
