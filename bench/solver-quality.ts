/**
 * B1, solver quality (BENCHMARKS.md): best-so-far regret on five standard functions over seeds
 * 1..20, for `strategy: "auto"` (the product), each strategy forced, random search and Optuna TPE.
 *
 * @remarks
 * arqon is driven only through its public ask/tell API, taking each `ask()` batch whole, so the
 * figures are what a user's loop gets. Writes the B1 section of docs/benchmarks.md after a full
 * run (20 seeds, Optuna attempted).
 */
import { createSolver } from "../src/index.js";
import type { TestFunction } from "../src/testing/functions.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { type OptunaPeer, openOptuna, optunaRegrets, optunaSkippedLine } from "./compare-optuna.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import {
  formatSpread,
  type QualityProblem,
  qualityProblems,
  type RegretSamples,
  randomSearchValues,
  regretSpreads,
  regretsAt,
  seedList,
  solvedShare,
} from "./quality.js";
import { writeSection } from "./report.js";
import { spread } from "./stats.js";
import { formatRatio, formatValue, markdownTable, verdict } from "./table.js";

type StrategyChoice = "auto" | "nelder-mead" | "tpe";

/** What one arqon run produced. */
interface ArqonRun {
  readonly values: number[];
  readonly strategyName: string | null;
  readonly classification: { label: string; score: number; statistic: string } | null;
}

/** Minimises `fn` with arqon's public ask/tell loop; objective values in evaluation order. */
function runArqon(fn: TestFunction, seed: number, budget: number, strategy: StrategyChoice): ArqonRun {
  const solver = createSolver({ seed, budget, bounds: fn.bounds, strategy });
  const values: number[] = [];
  try {
    for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
      if (batch.length === 0) throw new Error(`${fn.name}: ask() returned [] with every trial told`);
      const results = batch.map((trial) => ({ id: trial.id, value: fn.evaluate(trial.params) }));
      for (const result of results) values.push(result.value);
      solver.tell(results);
    }
    const classification = solver.classification;
    return {
      values,
      strategyName: solver.strategyName,
      classification:
        classification === null
          ? null
          : { label: classification.label, score: classification.score, statistic: classification.statistic },
    };
  } finally {
    solver.stop();
  }
}

/** Everything measured on one problem. */
interface ProblemResult {
  readonly problem: QualityProblem;
  readonly rows: RegretSamples[];
  readonly auto: RegretSamples;
  readonly random: RegretSamples;
  readonly optuna: RegretSamples | null;
  readonly autoRuns: ArqonRun[];
  readonly shortRuns: Record<StrategyChoice, number>;
}

async function measureProblem(
  problem: QualityProblem,
  seeds: readonly number[],
  peer: OptunaPeer | null,
): Promise<ProblemResult> {
  const { fn, budget, checkpoints } = problem;
  const rows: RegretSamples[] = [];
  const shortRuns: Record<StrategyChoice, number> = { auto: 0, "nelder-mead": 0, tpe: 0 };
  let autoRuns: ArqonRun[] = [];
  for (const strategy of ["auto", "nelder-mead", "tpe"] as const) {
    const runs = seeds.map((seed) => runArqon(fn, seed, budget, strategy));
    if (strategy === "auto") autoRuns = runs;
    shortRuns[strategy] = runs.filter((run) => run.values.length < budget).length;
    rows.push({
      label: strategy === "auto" ? "arqon auto" : `arqon ${strategy} (forced)`,
      bySeed: runs.map((run) => regretsAt(run.values, fn.minimum, checkpoints)),
    });
  }
  const random: RegretSamples = {
    label: "random search",
    bySeed: seeds.map((seed) => regretsAt(randomSearchValues(fn, seed, budget), fn.minimum, checkpoints)),
  };
  rows.push(random);
  const optuna = peer === null ? null : await optunaRegrets(peer, fn, budget, checkpoints, seeds);
  if (optuna !== null) rows.push(optuna);
  return { problem, rows, auto: rows[0]!, random, optuna, autoRuns, shortRuns };
}

function regretTable(result: ProblemResult): string {
  const { checkpoints } = result.problem;
  return markdownTable(
    ["optimiser", ...checkpoints.map((c) => `@${c}`), "final ≤ 1e-2"],
    result.rows.map((samples) => [
      samples.label,
      ...regretSpreads(samples, checkpoints).map(formatSpread),
      solvedShare(samples, 1e-2),
    ]),
  );
}

/** Which strategy `auto` chose, and the classification behind it. */
function choiceLine(result: ProblemResult): string {
  const runs = result.autoRuns;
  const count = (predicate: (run: ArqonRun) => boolean): number => runs.filter(predicate).length;
  const scores = runs.flatMap((run) => (run.classification === null ? [] : [run.classification.score]));
  const statistic = runs.find((run) => run.classification !== null)?.classification?.statistic ?? "–";
  const s = scores.length > 0 ? spread(scores) : null;
  return (
    `auto chose nelder-mead in ${count((r) => r.strategyName === "nelder-mead")}/${runs.length} runs, ` +
    `tpe in ${count((r) => r.strategyName === "tpe")}/${runs.length}; classified structured ` +
    `${count((r) => r.classification?.label === "structured")}, chaotic ` +
    `${count((r) => r.classification?.label === "chaotic")}; score (${statistic}) ` +
    `${s === null ? "–" : formatSpread(s)}; per seed: ${scores.map(formatValue).join(" ")}`
  );
}

interface Gate {
  readonly name: string;
  readonly measured: string;
  readonly pass: boolean;
}

function gates(results: readonly ProblemResult[]): Gate[] {
  const list: Gate[] = [];
  const at100 = (name: string): number | null => {
    const result = results.find((r) => r.problem.fn.name === name);
    if (result === undefined) return null;
    const index = result.problem.checkpoints.indexOf(100);
    return regretSpreads(result.auto, result.problem.checkpoints)[index]!.median;
  };
  for (const [name, limit] of [
    ["Branin", 1e-3],
    ["Hartmann-6", 0.09],
  ] as const) {
    const value = at100(name);
    if (value !== null) {
      list.push({
        name: `${name} auto @100 median ≤ ${limit}`,
        measured: formatValue(value),
        pass: value <= limit,
      });
    }
  }
  for (const result of results) {
    const { checkpoints } = result.problem;
    const auto = regretSpreads(result.auto, checkpoints);
    const random = regretSpreads(result.random, checkpoints);
    const losing = checkpoints.filter((_, c) => !(auto[c]!.median < random[c]!.median));
    list.push({
      name: `${result.problem.fn.name}: auto median < random at every checkpoint`,
      measured:
        losing.length === 0
          ? checkpoints.map((c, i) => `@${c} ${formatRatio(random[i]!.median / auto[i]!.median)}`).join(", ")
          : `not at @${losing.join(", @")}`,
      pass: losing.length === 0,
    });
  }
  return list;
}

function optunaLine(result: ProblemResult): string | null {
  if (result.optuna === null) return null;
  const { checkpoints } = result.problem;
  const last = checkpoints.length - 1;
  const auto = regretSpreads(result.auto, checkpoints)[last]!.median;
  const optuna = regretSpreads(result.optuna, checkpoints)[last]!.median;
  const relation =
    auto < optuna ? `${formatRatio(optuna / auto)} lower than` : `${formatRatio(auto / optuna)} higher than`;
  return `auto's median regret @${checkpoints[last]} is ${relation} Optuna's (${formatValue(auto)} vs ${formatValue(optuna)}).`;
}

export const benchmark: Benchmark = {
  name: "solver-quality",
  title: "B1: regret at 25/50/100(/200) evaluations, 20 seeds, vs random search and Optuna TPE",
  inAll: true,
  async run(args) {
    const options = parseOptions(args, ["seeds"]);
    const seeds = seedList(wholeOption(options, "seeds", 20));
    const env = describeEnvironment();
    console.log(environmentLine(env));

    let peer: OptunaPeer | null = null;
    let optunaNote: string;
    if (!options.optuna) {
      optunaNote = "Optuna not run (--no-optuna).";
    } else {
      const optuna = await openOptuna();
      if (optuna.available) {
        peer = optuna.peer;
        const v = peer.versions;
        optunaNote = `Optuna ${v.optuna} (Python ${v.python}, numpy ${v.numpy}): ${v.sampler}, same seeds.`;
      } else {
        optunaNote = optunaSkippedLine(optuna.reason);
      }
    }
    console.log(optunaNote);

    const results: ProblemResult[] = [];
    const parts: string[] = [
      `Measured on ${environmentLine(env)}. Command: \`npm run bench -- solver-quality\`. ` +
        `Seeds 1..${seeds.length}. ${optunaNote}`,
    ];
    try {
      for (const problem of qualityProblems()) {
        const started = performance.now();
        const result = await measureProblem(problem, seeds, peer);
        results.push(result);
        const { fn, budget } = problem;
        const box = fn.names.map((n) => `[${fn.bounds[n]!.min}, ${fn.bounds[n]!.max}]`);
        const domain = new Set(box).size === 1 ? `${box[0]}^${fn.dimension}` : box.join(" × ");
        const short = Object.entries(result.shortRuns)
          .filter(([, n]) => n > 0)
          .map(
            ([strategy, n]) =>
              `${strategy} stopped before the budget in ${n} runs (its last best carries on)`,
          );
        const text = [
          `### ${fn.name} (${domain}, minimum ${Number(fn.minimum.toPrecision(6))}, budget ${budget})`,
          "",
          regretTable(result),
          "",
          choiceLine(result),
          ...(short.length > 0 ? ["", `${short.join("; ")}.`] : []),
          ...(optunaLine(result) === null ? [] : ["", optunaLine(result)!]),
        ].join("\n");
        console.log(`\n${text}\n(${((performance.now() - started) / 1000).toFixed(1)} s)`);
        parts.push(text);
      }
    } finally {
      await peer?.close();
    }

    const gateTable = markdownTable(
      ["gate", "measured", "result"],
      gates(results).map((g) => [g.name, g.measured, verdict(g.pass)]),
    );
    const gateText = `### Gates\n\nRandom-search ratios are random's median regret ÷ auto's.\n\n${gateTable}`;
    console.log(`\n${gateText}`);
    parts.push(gateText);

    if (options.write && options.optuna && seeds.length === 20) {
      await writeSection("B1", parts.join("\n\n"));
      console.log("\nwrote the B1 section of docs/benchmarks.md");
    } else {
      console.log("\n(reduced run: docs/benchmarks.md not written)");
    }
  },
};
