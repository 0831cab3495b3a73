/**
 * Where the PARALLEL quality gap sits: 8 workers against one, paired by seed, cell by cell.
 *
 * @remarks
 * The gate compares medians over 20 seeds, and a median that sits between two basins can swing a
 * cell by several decades with the seeds drawn. Pairing the runs by seed reads the same runs
 * another way: for each seed, the change in log₁₀ regret (both floored at B1's resolution) from
 * one worker to 8, averaged over the cells; then the mean over seeds with its standard error.
 * Per cell, the mean of that change says which cells hold the gap, and the runs at or below the
 * floor with each worker count say whether one worker's runs finish inside a basin where 8
 * workers' do not. Reported, not judged.
 */
import { problemName } from "./b1-problem.js";
import { type CellKey, floored, sequentialOf } from "./parallel-cells.js";
import { REGRET_RESOLUTION } from "./solver-quality.js";
import { markdownTable } from "./table.js";

/** The fields of a PARALLEL cell this reads. */
export interface GapCell extends CellKey {
  /** Regret of each run, in the order of the seeds measured. */
  readonly regrets: readonly number[];
}

/** One cell's share of the gap. */
export interface CellGap {
  /** "Problem @budget". */
  readonly name: string;
  /** Mean over seeds of log₁₀(8 workers' regret) − log₁₀(one worker's), both floored. */
  readonly gap: number;
  /** Runs at or below the floor with one worker, and with 8. */
  readonly solvedOne: number;
  readonly solvedEight: number;
}

/** The paired reading over every `auto` cell measured with 1 and 8 workers. */
export interface PairedGap {
  readonly seeds: number;
  /** Mean over seeds of the per-seed mean (over cells) change in log₁₀ regret; positive: 8 workers worse. */
  readonly mean: number;
  /** Standard error of `mean` over seeds (sample standard deviation ÷ √seeds); NaN with one seed. */
  readonly standardError: number;
  /** Every cell, largest gap first. */
  readonly cells: readonly CellGap[];
}

/**
 * Pairs each `auto` cell with 8 workers with its one-worker cell, run by run, over the seeds both
 * measured. Throws naming a cell with no one-worker counterpart; no 8-worker cells give no cells
 * and a mean of NaN.
 */
export function pairedGap(cells: readonly GapCell[]): PairedGap {
  const eights = cells.filter((c) => c.strategy === "auto" && c.workers === 8);
  const pairs = eights.map((eight) => {
    const one: GapCell | undefined = sequentialOf(cells, eight);
    const name = `${problemName(eight.problem)} @${eight.budget}`;
    if (one === undefined) throw new Error(`no 1-worker cell for ${name}`);
    return { name, one: one.regrets, eight: eight.regrets };
  });
  const seeds = pairs.length === 0 ? 0 : Math.min(...pairs.flatMap((p) => [p.one.length, p.eight.length]));
  const log = (regret: number) => Math.log10(floored(regret));
  const solved = (regrets: readonly number[]) =>
    regrets.slice(0, seeds).filter((r) => r <= REGRET_RESOLUTION).length;
  const change = (p: (typeof pairs)[number], seed: number) => log(p.eight[seed]!) - log(p.one[seed]!);
  const perSeed = Array.from({ length: seeds }, (_, s) => mean(pairs.map((p) => change(p, s))));
  const overSeeds = mean(perSeed);
  const variance = perSeed.reduce((sum, x) => sum + (x - overSeeds) ** 2, 0) / (seeds - 1);
  return {
    seeds,
    mean: overSeeds,
    standardError: Math.sqrt(variance / seeds),
    cells: pairs
      .map((p) => ({
        name: p.name,
        gap: mean(Array.from({ length: seeds }, (_, s) => change(p, s))),
        solvedOne: solved(p.one),
        solvedEight: solved(p.eight),
      }))
      .sort((a, b) => b.gap - a.gap || a.name.localeCompare(b.name)),
  };
}

/** Cells the text lists: the largest gaps, and the largest the other way. */
const LARGEST = 8;
const OTHER_WAY = 3;

/** The paired reading as a paragraph and a table of the cells that hold most of the gap. */
export function pairedGapText(title: string, gap: PairedGap, seeds: string): string {
  const signed = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(3)}`;
  const sum = gap.cells.reduce((s, c) => s + c.gap, 0);
  const worse = gap.cells.filter((c) => c.gap > 0).slice(0, LARGEST);
  const better = gap.cells
    .filter((c) => c.gap < 0)
    .slice(-OTHER_WAY)
    .reverse();
  const shown = [...worse, ...better];
  const rest = sum - shown.reduce((s, c) => s + c.gap, 0);
  const floor = REGRET_RESOLUTION.toExponential();
  const rows = shown.map((c) => [c.name, signed(c.gap), String(c.solvedOne), String(c.solvedEight)]);
  return [
    `**${title}, where the gap sits** (reported, not judged; the seed check's runs, paired by seed). ` +
      `Per seed, the change in log₁₀ regret (both floored at ${floor}) from 1 ` +
      `worker to 8, averaged over the ${gap.cells.length} cells; its mean over seeds ${seeds}: ` +
      `${signed(gap.mean)} ± ${gap.standardError.toFixed(3)} (standard error over seeds; positive: 8 workers ` +
      `worse). Summed over the cells, ${signed(sum)} decades; the ${worse.length} cells that lose most and ` +
      `the ${better.length} that gain most are below, and the other ${gap.cells.length - shown.length} sum to ` +
      `${signed(rest)}:`,
    "",
    markdownTable(
      [
        "cell",
        "mean change in log₁₀ regret, 1 → 8 workers",
        `runs ≤ ${floor}, 1 worker`,
        `runs ≤ ${floor}, 8 workers`,
      ],
      rows,
    ),
  ].join("\n");
}

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}
