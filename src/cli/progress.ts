import type { Solver } from "../index.js";

/** One human-readable line about where a solver stands: phase, trials asked/told, best value. */
export function describeProgress(solver: Solver): string {
  const best = solver.best();
  const bestText = best === null ? "no result yet" : `best ${formatValue(best.value)}`;
  return `phase ${solver.phase}, ${solver.asked}/${solver.config.budget} asked, ${solver.told} told, ${bestText}`;
}

/**
 * One human-readable line saying how the probe classified the landscape and which strategy refines
 * it, or `undefined` before classification. It goes to stderr: stdout carries only JSON.
 */
export function describeRefineStart(solver: Solver): string | undefined {
  const c = solver.classification;
  if (c === null) return undefined;
  const strategy = solver.strategyName === null ? "" : `; refining with ${solver.strategyName}`;
  return `landscape classified as ${c.label} (score ${formatValue(c.score)}; ${c.statistic})${strategy}`;
}

/** A number short enough for a log line, exact enough to compare runs: 6 significant digits, no padding zeros. */
export function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}
