import { readFile, stat } from "node:fs/promises";
import { errorMessage } from "../errors.js";
import { listSegmentsAsync } from "../log/segments.js";
import { SolverLogFollower } from "../log/solver-log.js";
import { hasEvidence } from "../solver/classify.js";
import { restoreSolver, type Solver } from "../solver/solver.js";
import { startPointsOf, startTrialsOf } from "../solver/start-points.js";
import type { ParamValue } from "../space/params.js";
import { Space } from "../space/space.js";

/** A solver study could not be read: names the path and what is wrong. */
export class StudyError extends Error {
  override readonly name = "StudyError";
}

/** One told result of a study, in the order it was told. */
export interface StudyTrial {
  /** Position in the told order, from 1. */
  readonly n: number;
  /** The asked trial's id, or null for a warm-start point. */
  readonly id: number | null;
  /** `probe`, `refine`, or `warm-start`. */
  readonly phase: string;
  /** Parameter values, by name (a conditional parameter is absent when inactive). */
  readonly params: Readonly<Record<string, ParamValue>>;
  /** The objective (better as the study's `direction` says), or null when the trial failed. */
  readonly value: number | null;
  /** Why it failed (or that it was pruned, and where), or null. */
  readonly failed: string | null;
  /** Whether it was pruned (stopped early): then `failed` says where, and it has no value. */
  readonly pruned: boolean;
}

/** A solver's history as the study view shows it. */
export interface Study {
  readonly title: string;
  /** The tuned parameters' names in the config's order (a fixed one, min = max, has no slice). */
  readonly names: readonly string[];
  /**
   * Each parameter's range and scale; a categorical's range is its choices' positions (scale
   * `"categorical"`), with the choices themselves.
   */
  readonly bounds: Readonly<
    Record<
      string,
      {
        readonly min: number;
        readonly max: number;
        readonly scale: string;
        readonly choices?: readonly unknown[];
      }
    >
  >;
  readonly budget: number;
  /** `"minimize"` (lower values are better) or `"maximize"`. */
  readonly direction: "minimize" | "maximize";
  readonly asked: number;
  /** `probe`, `refine` or `done`. */
  readonly phase: string;
  /** The refine strategy, once chosen. */
  readonly strategy: string | null;
  /** The probe's classification of the function, once known ("not classified" when it could not be judged). */
  readonly classification: string | null;
  /** Every told result and failure, in told order. */
  readonly trials: readonly StudyTrial[];
  /** Trials asked and not told yet. */
  readonly pending: number;
  /** The best result so far (its `n`), or null. */
  readonly best: {
    readonly n: number;
    readonly value: number;
    readonly params: Readonly<Record<string, ParamValue>>;
  } | null;
}

/** The study of a solver (its `toJSON()` history, in raw units). */
export function studyOf(solver: Solver, title: string): Study {
  const artifact = solver.toJSON();
  const space = new Space(solver.config.bounds);
  const byId = new Map(artifact.trials.map((t) => [t.id, t]));
  // A start trial shows its values as given, as the solver handed them out.
  const starts = startTrialsOf(
    artifact.trials,
    startPointsOf(space, solver.config.startPoints, solver.config.seed),
  );
  const paramsOf = (trial: { readonly id: number; readonly u: readonly number[] }) =>
    starts.get(trial.id)?.params ?? space.toParams(trial.u);
  const trials: StudyTrial[] = [];
  let best: Study["best"] = null;
  const sign = solver.config.direction === "maximize" ? -1 : 1;
  for (const entry of artifact.told) {
    const n = trials.length + 1;
    if ("failed" in entry) {
      const trial = byId.get(entry.id);
      trials.push({
        n,
        id: entry.id,
        phase: trial?.phase ?? "refine",
        params: trial === undefined ? {} : paramsOf(trial),
        value: null,
        failed: entry.failed,
        pruned: false,
      });
      continue;
    }
    if ("pruned" in entry) {
      // Shown with the failures: no final value, and never the best.
      const trial = byId.get(entry.id);
      trials.push({
        n,
        id: entry.id,
        phase: trial?.phase ?? "refine",
        params: trial === undefined ? {} : paramsOf(trial),
        value: null,
        failed: whereItStopped(trial?.reports?.at(-1), entry.value),
        pruned: true,
      });
      continue;
    }
    const isWarm = "params" in entry;
    const trial = isWarm ? undefined : byId.get(entry.id);
    const params = isWarm ? { ...entry.params } : trial === undefined ? {} : paramsOf(trial);
    trials.push({
      n,
      id: isWarm ? null : entry.id,
      phase: isWarm ? "warm-start" : (trial?.phase ?? "refine"),
      params,
      value: entry.value,
      failed: null,
      pruned: false,
    });
    if (Number.isFinite(entry.value) && (best === null || sign * entry.value < sign * best.value))
      best = { n, value: entry.value, params };
  }
  const bounds: Record<string, { min: number; max: number; scale: string; choices?: readonly unknown[] }> =
    {};
  // Every parameter's range for the best point's table; a slice chart only for the tuned ones.
  for (const name of space.declared) {
    const b = solver.config.bounds[name]!;
    // A categorical has no range: its choices' positions stand in for one.
    bounds[name] =
      b.type === "categorical"
        ? { min: 0, max: b.choices.length - 1, scale: "categorical", choices: b.choices }
        : { min: b.min, max: b.max, scale: b.scale ?? "linear" };
  }
  return {
    title,
    names: space.names,
    bounds,
    budget: solver.config.budget,
    direction: solver.config.direction,
    asked: solver.asked,
    phase: solver.phase,
    strategy: solver.strategyName,
    // A probe that could not be judged is labelled chaotic by convention only.
    classification:
      solver.classification === null
        ? null
        : hasEvidence(solver.classification)
          ? solver.classification.label
          : "not classified",
    trials,
    pending: artifact.trials.filter((t) => t.status === "pending").length,
    best,
  };
}

/**
 * Reads the study kept at `path`: a JSON state file (`arqon solve --state F.json`, or any
 * `solver.toJSON()`) or a solver decision-log directory (`--state DIR`, `createSolverLog`).
 * Read-only: a log is replayed in memory and never opened for writing.
 *
 * @throws StudyError naming the path when it cannot be read or holds no solver state.
 */
export async function readStudy(path: string): Promise<Study> {
  const follower = new StudyFollower(path);
  try {
    return await follower.read();
  } finally {
    follower.stop();
  }
}

/**
 * Reads the study kept at `path` (see {@link readStudy}) each time it is asked to, as it changes: a
 * solver log is followed, each read replaying only the records appended since the previous one
 * (see `SolverLogFollower`). Files are read with fs/promises.
 */
export class StudyFollower {
  private log: SolverLogFollower | undefined;

  constructor(readonly path: string) {}

  /**
   * The study as the files now hold it: the same as {@link readStudy} gives. One read at a time.
   *
   * @throws StudyError naming the path when it cannot be read or holds no solver state.
   */
  async read(): Promise<Study> {
    const path = this.path;
    let solver: Solver;
    let owned = false;
    try {
      if ((await stat(path)).isDirectory()) {
        if ((await listSegmentsAsync(path)).length === 0)
          throw new Error("the directory holds no decision log");
        this.log ??= new SolverLogFollower(path);
        solver = await this.log.read();
      } else {
        this.stop();
        solver = restoreSolver(JSON.parse(await readFile(path, "utf8")));
        owned = true;
      }
    } catch (error) {
      throw new StudyError(`${path} is not a readable arqon solver state: ${errorMessage(error)}`);
    }
    try {
      return studyOf(solver, path);
    } finally {
      // A followed log's solver stays for the next read.
      if (owned) solver.stop();
    }
  }

  /** Stops the solver kept between reads. Idempotent. */
  stop(): void {
    this.log?.stop();
    this.log = undefined;
  }
}

/**
 * Where a pruned trial stopped: at its last report, unless it was told a value of its own (the
 * value it stopped at, which replaces the last report's), after that report.
 */
function whereItStopped(last: readonly [number, number] | undefined, told: number | undefined): string {
  if (told === undefined)
    return last === undefined ? "pruned" : `pruned at step ${last[0]} (value ${last[1]})`;
  if (last === undefined) return `pruned (value ${told})`;
  return Object.is(told, last[1])
    ? `pruned at step ${last[0]} (value ${told})`
    : `pruned after step ${last[0]} (value ${told})`;
}
