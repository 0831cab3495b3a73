/**
 * PARALLEL (issue 13, item 4): how busy a pool of c workers stays, and what running c trials at
 * once costs in quality at the same budget, on the B1 suite (bench/quality-suite.ts and the
 * mixed spaces of bench/mixed-suite.ts), for c = 1, 4, 8 and each strategy.
 *
 * @remarks
 * Each run drives the public ask/tell API through a simulated pool (bench/parallel-pool.ts:
 * equal evaluation times, so trials finish first in, first out). Busy fraction: workers holding
 * a trial over workers that could (budget permitting), summed over refills and runs, and by phase
 * (the issue asks for every phase: a barrier in one can hide in the total). Quality
 * ratio of a cell: median regret at c over median regret at c = 1, both floored at B1's
 * resolution (1e-6); a strategy's figure is the geometric mean of its cells' ratios. Development
 * and validation halves are reported apart; nothing was tuned on the validation half.
 *
 * A more-trials table then gives `auto` with 8 workers 1.25, 1.5 and 2 times each cell's budget
 * and reads the same ratio against 1 worker at the budget, with the time each took on a clock that
 * counts one per evaluation (reported, not judged): what a user who goes parallel should budget
 * to keep one worker's quality, and how much sooner the run still ends.
 *
 * A seed check then measures `auto` with 1 and 8 workers again on seeds 1..`--seed-check` (default
 * 100) and reads the quality gate there and on each block of `--seeds` (default 20) of its seeds,
 * reported and not judged: a cell's median over 20 seeds can sit between two basins, and which
 * side it lands on moves the geometric mean by itself. The same runs, paired by seed, then say
 * which cells hold the gap (bench/parallel-gap.ts).
 *
 * Options: `--seeds=N` (default 20), `--seed-check=N` (default 100; no check unless above N),
 * `--half=development|validation`, `--no-write`.
 */
import { type B1Problem, problemName } from "./b1-problem.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { mixedProblems } from "./mixed-suite.js";
import { floored, sequentialOf } from "./parallel-cells.js";
import { pairedGap, pairedGapText } from "./parallel-gap.js";
import { type PhaseBusy, type PoolStrategy, type RunPhase, runPool } from "./parallel-pool.js";
import { checkSeedsOf, seedList, seedsText, verdictFlips } from "./quality.js";
import { SUITE_BUDGETS, type SuiteHalf, suiteProblems } from "./quality-suite.js";
import { writeSection } from "./report.js";
import { median } from "./stats.js";
import { formatRatio, formatValue, markdownTable, verdict } from "./table.js";

const WORKERS = [1, 4, 8] as const;
const STRATEGIES: readonly PoolStrategy[] = ["auto", "nelder-mead", "tpe"];
const BUSY_GATE = 0.8;
const QUALITY_GATE = 1.5;
/** Trials given to 8 workers in the more-trials table, as multiples of a cell's budget. */
const MORE_TRIALS = [1.25, 1.5, 2] as const;

/** One problem × budget × strategy × c: median regret and pooled busy counts over seeds. */
interface Cell {
  readonly problem: B1Problem;
  readonly budget: number;
  readonly strategy: PoolStrategy;
  readonly workers: number;
  readonly regret: number;
  /** Regret of each run, in the order of the seeds measured. */
  readonly regrets: readonly number[];
  readonly busy: number;
  readonly capacity: number;
  /** Evaluation times the runs took, summed. */
  readonly elapsed: number;
  /** `busy` and `capacity` by phase, summed over the runs. */
  readonly phases: Partial<Record<RunPhase, PhaseBusy>>;
}

/** Phases in run order, for the busy-by-phase figures. */
const PHASES: readonly RunPhase[] = ["probe", "global", "local", "refine"];

function addPhases(
  into: Partial<Record<RunPhase, PhaseBusy>>,
  from: Partial<Record<RunPhase, PhaseBusy>>,
): Partial<Record<RunPhase, PhaseBusy>> {
  for (const phase of PHASES) {
    const add = from[phase];
    if (add === undefined) continue;
    const sum = into[phase] ?? { busy: 0, capacity: 0 };
    sum.busy += add.busy;
    sum.capacity += add.capacity;
    into[phase] = sum;
  }
  return into;
}

function measure(
  problem: B1Problem,
  seeds: readonly number[],
  strategies: readonly PoolStrategy[] = STRATEGIES,
  workerCounts: readonly number[] = WORKERS,
): Cell[] {
  const cells: Cell[] = [];
  for (const budget of SUITE_BUDGETS) {
    for (const strategy of strategies) {
      for (const workers of workerCounts) {
        const runs = seeds.map((seed) => runPool(problem, seed, budget, strategy, workers));
        cells.push({
          problem,
          budget,
          strategy,
          workers,
          regret: median(runs.map((r) => r.regret)),
          regrets: runs.map((r) => r.regret),
          busy: runs.reduce((sum, r) => sum + r.busy, 0),
          capacity: runs.reduce((sum, r) => sum + r.capacity, 0),
          elapsed: runs.reduce((sum, r) => sum + r.elapsed, 0),
          phases: runs.reduce<Partial<Record<RunPhase, PhaseBusy>>>((sum, r) => addPhases(sum, r.phases), {}),
        });
      }
    }
  }
  return cells;
}

/** `auto` with 8 workers given `multiple` × a cell's budget, over the seeds. */
interface MoreTrialsCell {
  readonly problem: B1Problem;
  readonly budget: number;
  readonly multiple: number;
  /** Median regret. */
  readonly regret: number;
  /** Evaluation times the runs took, summed (one worker at the budget takes `budget` each). */
  readonly elapsed: number;
}

function measureMoreTrials(problem: B1Problem, seeds: readonly number[]): MoreTrialsCell[] {
  return SUITE_BUDGETS.flatMap((budget) =>
    MORE_TRIALS.map((multiple) => {
      const runs = seeds.map((seed) => runPool(problem, seed, Math.round(budget * multiple), "auto", 8));
      return {
        problem,
        budget,
        multiple,
        regret: median(runs.map((r) => r.regret)),
        elapsed: runs.reduce((sum, r) => sum + r.elapsed, 0),
      };
    }),
  );
}

function ratioOf(cells: readonly Cell[], cell: Cell): number {
  return floored(cell.regret) / floored(sequentialOf(cells, cell).regret);
}

interface Summary {
  readonly busy: number;
  /** Busy share of each phase the runs went through, in run order. */
  readonly phases: readonly (readonly [RunPhase, number])[];
  readonly geomean: number;
  readonly within: number;
  readonly total: number;
  readonly worst: { readonly ratio: number; readonly cell: Cell };
}

function summarize(cells: readonly Cell[], strategy: PoolStrategy, workers: number): Summary {
  const own = cells.filter((c) => c.strategy === strategy && c.workers === workers);
  const ratios = own.map((c) => ratioOf(cells, c));
  const worstAt = ratios.reduce((w, r, i) => (r > ratios[w]! ? i : w), 0);
  const phases = own.reduce<Partial<Record<RunPhase, PhaseBusy>>>((sum, c) => addPhases(sum, c.phases), {});
  return {
    busy: own.reduce((s, c) => s + c.busy, 0) / own.reduce((s, c) => s + c.capacity, 0),
    phases: PHASES.flatMap((p) => {
      const b = phases[p];
      return b === undefined ? [] : [[p, b.busy / b.capacity] as const];
    }),
    geomean: Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length),
    within: ratios.filter((r) => r <= QUALITY_GATE).length,
    total: ratios.length,
    worst: { ratio: ratios[worstAt]!, cell: own[worstAt]! },
  };
}

/** One row of the more-trials table: `auto`, 8 workers, `multiple` × the budget (1: the main runs). */
function moreTrialsRow(cells: readonly Cell[], more: readonly MoreTrialsCell[], multiple: number): string[] {
  const eight: readonly { problem: B1Problem; budget: number; regret: number; elapsed: number }[] =
    multiple === 1
      ? cells.filter((c) => c.strategy === "auto" && c.workers === 8)
      : more.filter((m) => m.multiple === multiple);
  const ones = eight.map((e) => sequentialOf(cells, { ...e, strategy: "auto" }));
  const ratios = eight.map((e, i) => floored(e.regret) / floored(ones[i]!.regret));
  const worstAt = ratios.reduce((w, r, i) => (r > ratios[w]! ? i : w), 0);
  const sum = (xs: readonly { elapsed: number }[]) => xs.reduce((total, x) => total + x.elapsed, 0);
  return [
    `${multiple}× the budget`,
    percent(sum(eight) / sum(ones)),
    // Two decimals: the row is read against the gate's 1.5×, onto which one decimal can round.
    formatRatio(Math.exp(ratios.reduce((total, r) => total + Math.log(r), 0) / ratios.length), 2),
    `${ratios.filter((r) => r <= QUALITY_GATE).length}/${ratios.length}`,
    `${formatRatio(ratios[worstAt]!, 2)} (${problemName(eight[worstAt]!.problem)} @${eight[worstAt]!.budget})`,
  ];
}

function moreTrialsText(
  title: string,
  cells: readonly Cell[],
  more: readonly MoreTrialsCell[],
  seeds: number,
): string {
  return [
    `**${title}, 8 workers given more trials** (reported, not judged): \`auto\` with 8 workers and ` +
      `${MORE_TRIALS.join(", ")} times each cell's budget, seeds 1..${seeds}, against 1 worker at the budget ` +
      "(the same ratio as the gate). Time: evaluation times the 8-worker runs took (equal evaluation " +
      "times, first in, first out), over one worker's at the budget.",
    "",
    markdownTable(
      [
        "8 workers run",
        "time (share of 1 worker's)",
        "quality ratio (geometric mean)",
        "cells within 1.5×",
        "worst cell",
      ],
      [1, ...MORE_TRIALS].map((m) => moreTrialsRow(cells, more, m)),
    ),
  ].join("\n");
}

function percent(x: number): string {
  return `${(100 * x).toFixed(1)} %`;
}

/** The least busy phase's share; `auto` must have gone through the probe and both its phases. */
function leastBusy(s: Summary): number {
  const seen = s.phases.map(([phase]) => phase);
  const auto: readonly RunPhase[] = ["probe", "global", "local"];
  if (!auto.every((p) => seen.includes(p)))
    throw new Error(`auto's phases were not all counted: ${seen.join(", ")}`);
  return Math.min(...s.phases.map(([, share]) => share));
}

function phaseList(s: Summary): string {
  return s.phases.map(([phase, share]) => `${phase} ${percent(share)}`).join(", ");
}

function cellName(cell: Cell): string {
  return `${problemName(cell.problem)} @${cell.budget}`;
}

function summaryTable(cells: readonly Cell[]): string {
  const rows: string[][] = [];
  for (const strategy of STRATEGIES) {
    for (const workers of WORKERS) {
      const s = summarize(cells, strategy, workers);
      rows.push([
        strategy,
        String(workers),
        percent(s.busy),
        phaseList(s),
        formatRatio(s.geomean, 2),
        `${s.within}/${s.total}`,
        `${formatRatio(s.worst.ratio, 2)} (${cellName(s.worst.cell)})`,
      ]);
    }
  }
  return markdownTable(
    [
      "strategy",
      "workers",
      "busy",
      "busy by phase",
      "quality ratio (geometric mean)",
      "cells within 1.5×",
      "worst cell",
    ],
    rows,
  );
}

/**
 * `auto`'s median regret by workers, each cell's 8 ÷ 1 ratio, and the fewest trials (a multiple of
 * the budget) with which 8 workers came within 1.5× of 1 worker at the budget.
 */
function autoTable(cells: readonly Cell[], more: readonly MoreTrialsCell[]): string {
  const auto = cells.filter((c) => c.strategy === "auto" && c.workers === 1);
  return markdownTable(
    [
      "problem",
      "budget",
      ...WORKERS.map((w) => `auto, ${w} worker${w === 1 ? "" : "s"}`),
      "ratio 8 ÷ 1",
      "8 workers within 1.5× at",
    ],
    auto.map((one) => {
      const at = (w: number) =>
        cells.find(
          (c) =>
            c.problem === one.problem && c.budget === one.budget && c.strategy === "auto" && c.workers === w,
        )!;
      const ratio = ratioOf(cells, at(8));
      const enough = more.find(
        (m) =>
          m.problem === one.problem &&
          m.budget === one.budget &&
          floored(m.regret) / floored(one.regret) <= QUALITY_GATE,
      );
      const needed =
        ratio <= QUALITY_GATE
          ? "1× the budget"
          : enough !== undefined
            ? `${enough.multiple}× the budget`
            : `more than ${MORE_TRIALS[MORE_TRIALS.length - 1]}×`;
      return [
        problemName(one.problem),
        String(one.budget),
        ...WORKERS.map((w) => formatValue(at(w).regret)),
        formatRatio(ratio),
        needed,
      ];
    }),
  );
}

function gateRows(cells: readonly Cell[]): string[][] {
  const rows: string[][] = [];
  for (const workers of [4, 8]) {
    const s = summarize(cells, "auto", workers);
    rows.push([
      `auto, ${workers} workers: busy ≥ 80 % in every phase`,
      `${phaseList(s)} (all: ${percent(s.busy)})`,
      verdict(leastBusy(s) >= BUSY_GATE),
    ]);
  }
  const s8 = summarize(cells, "auto", 8);
  rows.push([
    "auto, 8 workers: quality within 1.5× of 1 worker (geometric mean of cell ratios)",
    // Two decimals: one would round a 1.52 onto the 1.5 line it fails.
    `${formatRatio(s8.geomean, 2)} (${s8.within}/${s8.total} cells within 1.5×)`,
    verdict(s8.geomean <= QUALITY_GATE),
  ]);
  return rows;
}

/**
 * The quality gate's ratio (`auto`, 8 workers against 1) on each block of `block` consecutive seeds
 * of the seed check's runs, as [first seed, last seed, geometric mean of the cells' ratios]: how far
 * a reading on one block of seeds, as the gate's, moves with the block drawn.
 */
export function blockRatios(
  checkCells: readonly Pick<Cell, "problem" | "budget" | "strategy" | "workers" | "regrets">[],
  block: number,
): [number, number, number][] {
  if (!(Number.isSafeInteger(block) && block >= 1))
    throw new RangeError(`block: expected a whole number ≥ 1, got ${block}`);
  const eights = checkCells.filter((c) => c.strategy === "auto" && c.workers === 8);
  if (eights.length === 0) return [];
  const ones = eights.map((e) => {
    const one: (typeof checkCells)[number] | undefined = sequentialOf(checkCells, e);
    if (one === undefined) throw new Error(`no 1-worker cell for ${problemName(e.problem)} @${e.budget}`);
    return one;
  });
  const count = Math.min(...eights.map((c) => c.regrets.length), ...ones.map((c) => c.regrets.length));
  const blocks: [number, number, number][] = [];
  for (let from = 0; from + block <= count; from += block) {
    const blockMedian = (c: (typeof eights)[number]) => floored(median(c.regrets.slice(from, from + block)));
    const logs = eights.map((e, i) => Math.log(blockMedian(e) / blockMedian(ones[i]!)));
    blocks.push([from + 1, from + block, Math.exp(logs.reduce((sum, x) => sum + x, 0) / logs.length)]);
  }
  return blocks;
}

/**
 * The quality gate read again on the seed check's cells (`auto` at 1 and 8 workers, on
 * `checkSeeds`), on each block of as many seeds as the gate's, and the cells whose within-1.5×
 * verdict the two seed ranges disagree on.
 */
function seedCheckText(
  title: string,
  cells: readonly Cell[],
  checkCells: readonly Cell[],
  checkSeeds: readonly number[],
  seeds: number,
): string {
  const s8 = summarize(checkCells, "auto", 8);
  const blocks = blockRatios(checkCells, seeds);
  // From seed 1 the first block is the gate's own seeds: the runs are deterministic, so it must
  // read the same.
  const startsWithGate = checkSeeds[0] === 1;
  const gate = summarize(cells, "auto", 8).geomean;
  if (startsWithGate && blocks.length > 0 && !(Math.abs(blocks[0]![2] / gate - 1) <= 1e-9)) {
    throw new Error(`seed check: seeds 1..${seeds} read ${blocks[0]![2]}, the gate ${gate}`);
  }
  const passing = blocks.filter(([, , r]) => r <= QUALITY_GATE).length;
  const key = (c: Cell) => `${cellName(c)}/${c.workers}`;
  const checked = new Map(checkCells.map((c) => [key(c), c]));
  const here = `1..${seeds}`;
  const there = seedsText(checkSeeds);
  const list = verdictFlips(
    cells
      .filter((c) => c.strategy === "auto" && c.workers === 8)
      .flatMap((c) => {
        const other = checked.get(key(c));
        return other === undefined
          ? []
          : [[cellName(c), ratioOf(cells, c), ratioOf(checkCells, other)] as const];
      }),
    (r) => r <= QUALITY_GATE,
    formatRatio,
    here,
    there,
  );
  const blockSeeds = ([a, b]: readonly number[]) => `${checkSeeds[a! - 1]}..${checkSeeds[b! - 1]}`;
  const which = startsWithGate
    ? `again on seeds ${there}`
    : `on seeds ${there}, far above any seed a development run or tuning pass used`;
  return [
    `**${title} seed check** (reported, not judged: the gate above is read on seeds ${here}). ` +
      `\`auto\` with 1 and 8 workers ${which}, the same cells and the same ratio:`,
    "",
    markdownTable(
      ["gate", `measured on seeds ${there}`, "holds"],
      [
        [
          "auto, 8 workers: quality within 1.5× of 1 worker (geometric mean of cell ratios)",
          `${formatRatio(s8.geomean, 2)} (${s8.within}/${s8.total} cells within 1.5×; worst ` +
            `${formatRatio(s8.worst.ratio, 2)}, ${cellName(s8.worst.cell)})`,
          s8.geomean <= QUALITY_GATE ? "yes" : "no",
        ],
      ],
    ),
    "",
    `The same gate on each block of ${seeds} seeds of the check${startsWithGate ? " (the first is the gate's own)" : ""}: ` +
      `${blocks.map((block, i) => `${formatRatio(block[2], 2)} on ${i === 0 ? "seeds " : ""}${blockSeeds(block)}`).join(", ")}; ` +
      `${passing} of ${blocks.length} blocks within 1.5×.`,
    "",
    `Cells whose within-1.5× verdict (8 workers) differs between seeds ${here} and ${there}: ${list}.`,
  ].join("\n");
}

const HALVES: readonly { half: SuiteHalf; title: string }[] = [
  { half: "development", title: "Development half" },
  {
    half: "validation",
    title:
      "Validation half (held out; one rule was dropped, and one regression of rules 3 found, on its results: see Commentary)",
  },
];

export const benchmark: Benchmark = {
  name: "parallel",
  title: "PARALLEL: busy workers and quality at 1, 4, 8 concurrent trials on the B1 suite",
  inAll: true,
  async run(args) {
    const options = parseOptions(args, ["seeds", "seed-check", "half"]);
    const seeds = seedList(wholeOption(options, "seeds", 20));
    const checkCount = wholeOption(options, "seed-check", 100);
    const halfOption = options.values.get("half");
    const env = describeEnvironment();
    console.log(environmentLine(env));
    const parts: string[] = [
      `Measured on ${environmentLine(env)}. Command: \`npm run bench -- parallel\`. Seeds 1..${seeds.length}, ` +
        `budgets ${SUITE_BUDGETS.join(" and ")}, the B1 problems, mixed spaces included. A simulated pool ` +
        "of c workers with equal evaluation times (trials finish first in, first out) drives the public " +
        "ask/tell API. Busy: workers holding a trial over workers that could (budget permitting), over " +
        "every refill of every run; by phase, each refill counted under the phase the run is in once it " +
        "has asked (the probe, then for `auto` its global or local phase, otherwise the refine " +
        "strategy). Quality " +
        "ratio of a cell: median regret with c workers ÷ median regret with 1, both floored at 1e-6 (as in B1); " +
        "a row's figure is the geometric mean over its half's cells.",
    ];
    const problems: B1Problem[] = [...suiteProblems(), ...mixedProblems()];
    for (const { half, title } of HALVES) {
      if (halfOption !== undefined && halfOption !== half) continue;
      const cells: Cell[] = [];
      const more: MoreTrialsCell[] = [];
      for (const problem of problems.filter((p) => p.half === half)) {
        const started = performance.now();
        cells.push(...measure(problem, seeds));
        more.push(...measureMoreTrials(problem, seeds));
        console.log(`${problemName(problem)}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
      }
      const text = [
        `### ${title}`,
        "",
        summaryTable(cells),
        "",
        "`auto`, median regret by workers:",
        "",
        autoTable(cells, more),
        "",
        `**${title} gates**:`,
        "",
        markdownTable(["gate", "measured", "result"], gateRows(cells)),
        "",
        moreTrialsText(title, cells, more, seeds.length),
      ];
      if (checkCount > seeds.length) {
        const started = performance.now();
        const checkSeeds = checkSeedsOf(half, checkCount);
        const check = problems
          .filter((p) => p.half === half)
          .flatMap((problem) => measure(problem, checkSeeds, ["auto"], [1, 8]));
        const took = ((performance.now() - started) / 1000).toFixed(1);
        console.log(`seed check on seeds ${seedsText(checkSeeds)}: ${took} s`);
        text.push("", seedCheckText(title, cells, check, checkSeeds, seeds.length));
        text.push("", pairedGapText(title, pairedGap(check), seedsText(checkSeeds)));
      }
      console.log(`\n${text.join("\n")}`);
      parts.push(text.join("\n"));
    }
    if (options.write && halfOption === undefined && seeds.length === 20 && checkCount === 100) {
      await writeSection("PARALLEL", parts.join("\n\n"));
      console.log("\nwrote the PARALLEL section of docs/benchmarks.md");
    } else {
      console.log("\n(reduced run: docs/benchmarks.md not written)");
    }
  },
};
