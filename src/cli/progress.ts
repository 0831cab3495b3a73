import { hasEvidence } from "../solver/classify.js";
import type { BestPoint, Solver } from "../solver/solver.js";

/**
 * What the progress lines read: a local solver, or the shared study a worker belongs to (which
 * has no phase of its own to show).
 */
export type RunView = Pick<Solver, "asked" | "told" | "config" | "best" | "pendingTrials"> &
  Partial<Pick<Solver, "phase" | "trialStatus">>;

/**
 * One human-readable line about where a run stands: phase, trials asked/told, pruned and failed
 * once there are any (they are not told, so without them trials would seem to vanish), best value.
 */
export function describeProgress(run: RunView): string {
  const best = run.best();
  const bestText = best === null ? "no result yet" : `best ${formatValue(best.value)}`;
  const phase = run.phase === undefined ? "" : `phase ${run.phase}, `;
  const untold = countUntold(run);
  const pruned = untold === undefined || untold.pruned === 0 ? "" : `, ${untold.pruned} pruned`;
  const failed = untold === undefined || untold.failed === 0 ? "" : `, ${untold.failed} failed`;
  return `${phase}${run.asked}/${run.config.budget} asked, ${run.told} told${pruned}${failed}, ${bestText}`;
}

type PartialRun = Pick<Solver, "asked"> & Partial<Pick<Solver, "trialStatus">>;

/** How many asked trials ended pruned and how many failed. */
export interface UntoldCounts {
  readonly pruned: number;
  readonly failed: number;
}

/**
 * How many asked trials ended pruned and how many failed: neither is counted as told. Undefined
 * for a run that does not give each trial's status.
 */
export function countUntold(run: Pick<Solver, "asked" | "trialStatus">): UntoldCounts;
export function countUntold(run: PartialRun): UntoldCounts | undefined;
export function countUntold(run: PartialRun): UntoldCounts | undefined {
  if (run.trialStatus === undefined) return undefined;
  let pruned = 0;
  let failed = 0;
  // Trial ids run from 1 to `asked`.
  for (let id = 1; id <= run.asked; id++) {
    const status = run.trialStatus(id);
    if (status === "pruned") pruned++;
    else if (status === "failed") failed++;
  }
  return { pruned, failed };
}

/**
 * The last stderr line of `arqon solve` after Ctrl-C: how far the run got, the best so far and
 * `next` (what to do to go on), e.g. `arqon solve: interrupted after 12 of 40 trials (5 in this
 * run, 1 left pending); best 0.0123 at x=0.5, y=2; <next>`. `ranHere` counts the trials this
 * command ran to their end (a value told, pruned, or failed and counted against the budget);
 * `unfinished` says what became of the trials the interrupt stopped (none: `undefined`).
 */
export function describeInterrupt(
  run: RunView,
  ranHere: number,
  unfinished: string | undefined,
  next: string,
): string {
  const done = run.asked - run.pendingTrials().length;
  const stopped = unfinished === undefined ? "" : `, ${unfinished}`;
  return (
    `arqon solve: interrupted after ${done} of ${run.config.budget} trials ` +
    `(${ranHere} in this run${stopped}); ${describeBest(run.best())}; ${next}`
  );
}

/** "best 0.0123 at x=0.5, y=2", or "no result yet". */
export function describeBest(best: BestPoint | null): string {
  if (best === null) return "no result yet";
  const params = Object.entries(best.params)
    .map(
      ([name, value]) => `${name}=${typeof value === "number" ? formatValue(value) : JSON.stringify(value)}`,
    )
    .join(", ");
  return `best ${formatValue(best.value)} at ${params}`;
}

/**
 * One human-readable line saying how the probe classified the landscape and which strategy refines
 * it, or `undefined` before classification. It goes to stderr: stdout carries only JSON.
 */
export function describeRefineStart(solver: Solver): string | undefined {
  const c = solver.classification;
  if (c === null) return undefined;
  const strategy = solver.strategyName === null ? "" : `; refining with ${solver.strategyName}`;
  // A probe that could not be judged (too few values, or all equal) is labelled chaotic by
  // convention; saying "classified" would claim a finding the probe did not make.
  if (!hasEvidence(c)) return `landscape not classified (${c.statistic})${strategy}`;
  return `landscape classified as ${c.label} (score ${formatValue(c.score)}; ${c.statistic})${strategy}`;
}

/** A number short enough for a log line, exact enough to compare runs: 6 significant digits, no padding zeros. */
export function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}
