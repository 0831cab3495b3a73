import type { Space } from "../space/space.js";
import type { ResolvedSolverConfig } from "./config.js";
import { startPointsOf, startTrialsOf } from "./start-points.js";

/** The parts of a solver artifact {@link artifactProblems} checks (see `SolverArtifact`). */
interface ArtifactShape {
  readonly machine?: { readonly value?: unknown };
  readonly nextId?: unknown;
  readonly probe?: {
    readonly count?: unknown;
    readonly asked?: unknown;
    readonly added?: unknown;
    readonly starts?: unknown;
  };
  readonly trials?: unknown;
  readonly told?: unknown;
  readonly strategy?: unknown;
}

const isCount = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
const isFiniteNumber = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n);

/**
 * Every inconsistency in a solver artifact that a hand-edited or truncated state file could have,
 * each naming the field: trial ids, unit-cube points, probe bookkeeping, results that refer to
 * trials in the wrong state, and a strategy state that does not match the phase; and settings of
 * its config edited after it was saved that the run cannot take (its budget and probe ratio, which
 * sized the probe; a forced strategy other than the one refining). Empty when the artifact is coherent.
 * (The config itself is validated separately, and its parameters by the artifact's boundsDigest.)
 */
export function artifactProblems(
  artifact: unknown,
  space: Space,
  config: Pick<ResolvedSolverConfig, "seed" | "budget" | "probeSize" | "strategy" | "startPoints">,
): string[] {
  const { probeSize } = config;
  const a = artifact as ArtifactShape;
  const problems: string[] = [];
  const nextId = a.nextId;
  if (!isCount(nextId) || nextId < 1)
    problems.push(`nextId: expected a whole number ≥ 1, got ${String(nextId)}`);
  if (a.probe?.count !== probeSize) {
    problems.push(
      `probe.count: ${String(a.probe?.count)} does not match the probe of ${probeSize} that the config's ` +
        "budget, probeRatio and startPoints give (none can change once a run has started; a run grown by " +
        "extend sizes it from the budget less its extended, which cannot change either)",
    );
  }
  const starts = a.probe?.starts ?? 0;
  if (starts !== config.startPoints.length) {
    problems.push(
      `probe.starts: the run began with ${String(starts)} start points, the config has ` +
        `${config.startPoints.length} (its startPoints cannot change once a run has started)`,
    );
  }
  const added = a.probe?.added;
  if (added !== undefined && (!isCount(added) || added < 1)) {
    problems.push(`probe.added: expected a whole number ≥ 1 (or no field), got ${String(added)}`);
  }
  // The start points come first, then the design, grown by `added`.
  const probeLength = config.startPoints.length + probeSize + (isCount(added) ? added : 0);
  const probeAsked = a.probe?.asked;
  if (!isCount(probeAsked) || probeAsked > probeLength) {
    problems.push(`probe.asked: expected a whole number from 0 to ${probeLength}, got ${String(probeAsked)}`);
  }
  // The probe grows only within the budget, and the ask that grows it hands all of it out.
  if (isCount(added) && added >= 1) {
    const room = config.budget - config.startPoints.length - probeSize;
    if (added > room) {
      problems.push(`probe.added: ${added} is more than the ${room} trials the budget leaves past the probe`);
    } else if (isCount(probeAsked) && probeAsked !== probeLength) {
      problems.push(`probe.asked: a grown probe is all asked (${probeLength} points), got ${probeAsked}`);
    }
  }

  const status = new Map<number, string>();
  if (!Array.isArray(a.trials)) {
    problems.push("trials: expected an array");
  } else {
    let probeTrials = 0;
    a.trials.forEach((t: unknown, i: number) => {
      const at = `trials[${i}]`;
      const trial = t as {
        id?: unknown;
        u?: unknown;
        phase?: unknown;
        status?: unknown;
        reports?: unknown;
        prune?: unknown;
      };
      if (typeof t !== "object" || t === null) {
        problems.push(`${at}: expected an object`);
        return;
      }
      if (!isCount(trial.id) || trial.id < 1 || (isCount(nextId) && trial.id >= nextId)) {
        problems.push(`${at}.id: expected a trial id below nextId, got ${String(trial.id)}`);
      } else if (status.has(trial.id)) {
        problems.push(`${at}.id: trial ${trial.id} appears twice`);
      } else if (
        trial.status === "pending" ||
        trial.status === "told" ||
        trial.status === "failed" ||
        trial.status === "pruned"
      ) {
        status.set(trial.id, trial.status);
      } else {
        problems.push(
          `${at}.status: expected "pending", "told", "failed" or "pruned", got ${String(trial.status)}`,
        );
      }
      if (trial.reports !== undefined && !validReports(trial.reports)) {
        problems.push(`${at}.reports: expected [step, value] pairs with increasing whole steps ≥ 0`);
      }
      if (trial.prune !== undefined && trial.prune !== true) problems.push(`${at}.prune: expected true`);
      const u = trial.u;
      if (
        !Array.isArray(u) ||
        u.length !== space.dimension ||
        !u.every((x) => isFiniteNumber(x) && x >= 0 && x <= 1)
      ) {
        problems.push(`${at}.u: expected ${space.dimension} numbers in [0, 1]`);
      }
      if (trial.phase === "probe") probeTrials++;
      else if (trial.phase !== "refine") problems.push(`${at}.phase: expected "probe" or "refine"`);
    });
    if (isCount(nextId) && a.trials.length !== nextId - 1) {
      problems.push(`trials: ${a.trials.length} recorded but ${nextId - 1} asked (nextId ${nextId})`);
    }
    if (isCount(probeAsked) && probeTrials !== probeAsked) {
      problems.push(`trials: ${probeTrials} probe trials but probe.asked is ${probeAsked}`);
    }
    problems.push(...startTrialProblems(a.trials, space, config));
  }

  if (!Array.isArray(a.told)) {
    problems.push("told: expected an array");
  } else {
    const seen = new Set<number>();
    a.told.forEach((e: unknown, i: number) => {
      const at = `told[${i}]`;
      const entry = e as {
        id?: unknown;
        value?: unknown;
        failed?: unknown;
        params?: unknown;
        cost?: unknown;
        pruned?: unknown;
      };
      if (typeof e !== "object" || e === null) {
        problems.push(`${at}: expected an object`);
        return;
      }
      if ("params" in entry) {
        for (const issue of space.problems(entry.params, `${at}.params`))
          problems.push(`${issue.path}: ${issue.message}`);
      } else {
        const id = entry.id;
        const expected = "failed" in entry ? "failed" : "pruned" in entry ? "pruned" : "told";
        if (!isCount(id) || status.get(id) !== expected) {
          problems.push(`${at}.id: ${String(id)} is not a ${expected} trial`);
        } else if (seen.has(id)) {
          problems.push(`${at}.id: trial ${id} is reported twice`);
        }
        if (isCount(id)) seen.add(id);
      }
      if ("pruned" in entry && entry.pruned !== true) problems.push(`${at}.pruned: expected true`);
      if ("cancelled" in entry && (entry as { cancelled?: unknown }).cancelled !== true)
        problems.push(`${at}.cancelled: expected true`);
      const valueOptional = "failed" in entry || ("pruned" in entry && entry.value === undefined);
      if (!valueOptional && !isFiniteNumber(entry.value))
        problems.push(`${at}.value: expected a finite number`);
      if (entry.cost !== undefined && !(isFiniteNumber(entry.cost) && entry.cost >= 0)) {
        problems.push(`${at}.cost: expected a finite number ≥ 0`);
      }
    });
    for (const [id, s] of status) {
      if (s !== "pending" && !seen.has(id)) problems.push(`told: trial ${id} is ${s} but has no entry`);
    }
  }

  const value = a.machine?.value;
  const refining = typeof value === "object" && value !== null && "refine" in value;
  const kind = (a.strategy as { kind?: unknown } | null | undefined)?.kind;
  if (refining) {
    const state = (value as { refine: unknown }).refine;
    const expected = state === "nelderMead" ? "nelder-mead" : state === "tpe" ? "tpe" : "global-local";
    if (kind !== expected)
      problems.push(`strategy: the phase needs a "${expected}" state, got ${String(kind)}`);
    // `auto` once classified the landscape and refined with one of the forced strategies: runs it
    // saved then refine with either.
    const forced = { "nelder-mead": "nelderMead", tpe: "tpe", auto: null }[config.strategy];
    if (forced !== null && state !== forced)
      problems.push(
        `config.strategy: "${config.strategy}", but the run refines with ${JSON.stringify(state)} ` +
          "(a run's strategy cannot change once its probe has ended)",
      );
  } else if (value === "probe" && a.strategy !== null) {
    problems.push("strategy: expected null during the probe");
  } else if (value !== "probe" && value !== "done") {
    problems.push(`machine.value: not a solver phase: ${JSON.stringify(value)}`);
  }
  return problems;
}

/** Intermediate values as saved: `[step, value]` pairs, steps whole, ≥ 0 and increasing. */
function validReports(reports: unknown): boolean {
  if (!Array.isArray(reports)) return false;
  let last = -1;
  for (const pair of reports) {
    if (!Array.isArray(pair) || pair.length !== 2) return false;
    const [step, value] = pair as unknown[];
    if (!isCount(step) || step <= last || !isFiniteNumber(value)) return false;
    last = step;
  }
  return true;
}

/**
 * Each start trial (the first probe trials by id) whose point is not its start point's: the
 * config's startPoints were edited after the run was saved, and the trial would be reported with
 * values it did not run.
 */
function startTrialProblems(
  trials: readonly unknown[],
  space: Space,
  config: Pick<ResolvedSolverConfig, "seed" | "startPoints">,
): string[] {
  if (config.startPoints.length === 0) return [];
  const starts = startPointsOf(space, config.startPoints, config.seed);
  const recorded = trials.filter(
    (t): t is { id: number; phase: string; u: unknown } =>
      typeof t === "object" &&
      t !== null &&
      isCount((t as { id?: unknown }).id) &&
      typeof (t as { phase?: unknown }).phase === "string",
  );
  const byId = new Map(recorded.map((t) => [t.id, t.u]));
  const problems: string[] = [];
  for (const [id, start] of startTrialsOf(recorded, starts)) {
    const u = byId.get(id);
    if (!Array.isArray(u) || u.length !== start.u.length || u.some((x, i) => x !== start.u[i])) {
      problems.push(
        `trials: trial ${id} did not run startPoints.${starts.indexOf(start)} (a run's startPoints cannot change once it has started)`,
      );
    }
  }
  return problems;
}
