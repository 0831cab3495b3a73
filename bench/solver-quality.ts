/**
 * B1, solver quality (BENCHMARKS.md, issue 13): median regret on a suite of twenty-eight standard
 * functions and six mixed-space problems (integer, categorical, conditional parameters) at
 * budgets 100 and 300 over seeds 1..20, for `strategy: "auto"` (the product), each strategy
 * forced, random search and Optuna TPE. The suite is split into a development half (the defaults
 * were tuned on it) and a held-out validation half (no default chosen on its results); the gates are
 * judged on each half
 * separately (bench/quality-suite.ts and bench/mixed-suite.ts have the split), over all its cells,
 * and again over its mixed-space cells alone.
 *
 * @remarks
 * arqon is driven only through its public ask/tell API, taking each `ask()` batch whole, one run
 * per budget (its plan depends on the budget). Random search and Optuna do not know the budget,
 * so one run of 300 trials gives both their @100 and @300 figures. Optuna's runs come from
 * bench/results/optuna-b1.jsonl when recorded there (see bench/optuna-record.ts), else are
 * measured and recorded. Writes the B1 section of docs/benchmarks.md after a full run.
 *
 * Options for development iterations: `--seeds=N`, `--budget=100|300`, `--half=development|
 * validation`, `--kind=continuous|mixed`, `--only=<name part>`, `--no-optuna`, `--fresh-optuna=yes`,
 * `--seed-check=N` (seeds of the seed check; default 100).
 *
 * Optuna on this machine: `pip install optuna==5.0.0` (pip reads the local wheel index), then
 * `ARQON_OPTUNA_PYTHON=python3`; without it the benchmark sets up `.venv-optuna/` offline itself.
 */
import { ConfigError, createSolver } from "../src/index.js";
import { Prng } from "../src/random/prng.js";
import { type B1Problem, objectiveOf, problemName } from "./b1-problem.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { OPTUNA_VERSION, type OptunaPeer, openOptuna, optunaSkippedLine } from "./compare-optuna.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { type MixedParams, type MixedSuiteProblem, mixedProblems } from "./mixed-suite.js";
import {
  clearOptunaRecord,
  OPTUNA_MIXED_RECORD,
  type OptunaRecordLine,
  type OptunaSide,
  optunaMixedRegrets,
  optunaSuiteRegrets,
  readOptunaRecord,
  recordCovers,
  staleProblems,
  truthRegrets,
} from "./optuna-record.js";
import { checkSeedsOf, formatSpread, seedList, seedsText, verdictFlips } from "./quality.js";
import { SUITE_BUDGETS, type SuiteHalf, suiteProblems } from "./quality-suite.js";
import { writeSection } from "./report.js";
import { type Spread, spread } from "./stats.js";
import { formatRatio, markdownTable, verdict } from "./table.js";

type StrategyChoice = "auto" | "nelder-mead" | "tpe";

const STRATEGIES: readonly StrategyChoice[] = ["auto", "nelder-mead", "tpe"];

/**
 * Regrets below this are taken as equal when optimisers are compared: some published minima
 * (Michalewicz, Hartmann) are known to 7 digits only, so smaller differences are not measurable.
 */
export const REGRET_RESOLUTION = 1e-6;

/** A forced strategy the solver refuses on a space: the reason instead of a result. */
interface Refused {
  readonly refused: string;
}

/**
 * Minimises the problem with arqon's public ask/tell loop; regret at the end of the budget. On a
 * mixed space the params go to the objective as the solver hands them out.
 */
function runArqon(
  problem: B1Problem,
  seed: number,
  budget: number,
  strategy: StrategyChoice,
): number | Refused {
  const objective = objectiveOf(problem);
  let solver: ReturnType<typeof createSolver>;
  try {
    solver = createSolver({ seed, budget, bounds: objective.bounds, strategy });
  } catch (error) {
    if (error instanceof ConfigError) return { refused: error.message };
    throw error;
  }
  const observed: number[] = [];
  const truths: number[] = [];
  try {
    for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
      if (batch.length === 0) throw new Error(`${objective.name}: ask() returned [] with every trial told`);
      solver.tell(
        batch.map((trial) => {
          const { value, truth } = objective.evaluate(trial.params);
          observed.push(value);
          truths.push(truth);
          return { id: trial.id, value };
        }),
      );
    }
  } finally {
    solver.stop();
  }
  return truthRegrets(observed, truths, objective.minimum, [budget])[0]!;
}

/**
 * One uniform random point of a mixed space, parents first: a float uniform on its scale, an int
 * uniform over its values (log-uniform, then rounded, on a log scale, as Optuna's RandomSampler
 * does), a categorical uniform over its choices; a conditional parameter only when its condition holds.
 */
export function randomMixedPoint(problem: MixedSuiteProblem, next: () => number): MixedParams {
  const point: Record<string, MixedParams[string]> = {};
  for (const [name, spec] of Object.entries(problem.bounds)) {
    const when = spec.when;
    if (
      when !== undefined &&
      !Object.entries(when).every(
        ([parent, values]) =>
          parent in point && values.some((v) => JSON.stringify(v) === JSON.stringify(point[parent])),
      )
    ) {
      continue;
    }
    if (spec.type === "categorical") {
      point[name] =
        spec.choices[Math.min(spec.choices.length - 1, Math.floor(next() * spec.choices.length))]!;
    } else if (spec.type === "int") {
      if (spec.scale === "log") {
        const low = Math.log(spec.min - 0.5);
        const high = Math.log(spec.max + 0.5);
        const v = Math.round(Math.exp(low + (high - low) * next()));
        point[name] = Math.min(spec.max, Math.max(spec.min, v));
      } else {
        const step = spec.step ?? 1;
        const count = (spec.max - spec.min) / step + 1;
        point[name] = spec.min + step * Math.min(count - 1, Math.floor(next() * count));
      }
    } else if (spec.scale === "log") {
      point[name] = Math.exp(Math.log(spec.min) + (Math.log(spec.max) - Math.log(spec.min)) * next());
    } else {
      point[name] = spec.min + (spec.max - spec.min) * next();
    }
  }
  return point;
}

/** Uniform random search from `Prng.fromSeed(seed, 7)`; regret at each checkpoint. */
function runRandom(problem: B1Problem, seed: number, checkpoints: readonly number[]): number[] {
  const prng = Prng.fromSeed(seed, 7);
  if (problem.kind === "mixed") {
    const values: number[] = [];
    const last = checkpoints[checkpoints.length - 1]!;
    for (let trial = 0; trial < last; trial++) {
      values.push(problem.evaluate(randomMixedPoint(problem, () => prng.next())));
    }
    return truthRegrets(values, values, problem.minimum, checkpoints);
  }
  const { fn, truth } = problem;
  const x = new Float64Array(fn.dimension);
  const observed: number[] = [];
  const truths: number[] = [];
  const last = checkpoints[checkpoints.length - 1]!;
  for (let trial = 0; trial < last; trial++) {
    fn.names.forEach((name, i) => {
      const { min, max } = fn.bounds[name]!;
      x[i] = min + (max - min) * prng.next();
    });
    observed.push(fn.at(x));
    truths.push(truth(x));
  }
  return truthRegrets(observed, truths, fn.minimum, checkpoints);
}

/** One problem × budget cell: regret spreads over seeds per optimiser. */
interface Cell {
  readonly problem: B1Problem;
  readonly budget: number;
  /** Per strategy: the spread, or why the solver refused the strategy on this space. */
  readonly arqon: Record<StrategyChoice, Spread | Refused>;
  readonly random: Spread;
  readonly optuna: Spread | null;
}

/** `a` compared with `b` at {@link REGRET_RESOLUTION}: a/b, with both floored there. */
function ratio(a: number, b: number): number {
  return Math.max(a, REGRET_RESOLUTION) / Math.max(b, REGRET_RESOLUTION);
}

function isRefused(result: Spread | Refused | number): result is Refused {
  return typeof result === "object" && "refused" in result;
}

/** The median of a strategy's regrets, or +∞ when the strategy was refused (never the best). */
function medianOf(result: Spread | Refused): number {
  return isRefused(result) ? Number.POSITIVE_INFINITY : result.median;
}

/** The best median among the forced strategies that ran. */
function bestForced(cell: Cell): number {
  return Math.min(medianOf(cell.arqon["nelder-mead"]), medianOf(cell.arqon.tpe));
}

/** Largest auto ÷ best forced ratio that counts as within 10 % of the best forced strategy. */
const NEAR_FORCED = 1.1;

/** auto's median regret over the better forced strategy's, at {@link REGRET_RESOLUTION}. */
function autoOverForced(cell: Cell): number {
  return ratio(medianOf(cell.arqon.auto), bestForced(cell));
}

/**
 * The seed check under a half's gates: the same gates on `checkSeeds` (reported, not judged:
 * issue 13 sets the gates on the first twenty), and the cells whose within-10 % verdict the two
 * seed ranges disagree on.
 */
function seedCheckText(
  half: (typeof HALVES)[number],
  cells: readonly Cell[],
  checkCells: readonly Cell[],
  checkSeeds: readonly number[],
  seeds: number,
): string {
  const checked = new Map(checkCells.map((c) => [cellName(c), c]));
  const here = `1..${seeds}`;
  const there = seedsText(checkSeeds);
  const list = verdictFlips(
    cells.flatMap((c) => {
      const other = checked.get(cellName(c));
      return other === undefined ? [] : [[cellName(c), autoOverForced(c), autoOverForced(other)] as const];
    }),
    (r) => r <= NEAR_FORCED,
    (r) => `${r.toFixed(3)}×`,
    here,
    there,
  );
  const which =
    half.half === "validation"
      ? `on seeds ${there}, far above any seed a development run or tuning pass used (Optuna's runs ` +
        "recorded as above), so that this half is also read on seeds held out, not only on problems held out,"
      : `on seeds ${there} (Optuna's runs recorded as above)`;
  return [
    `**${half.title} seed check** (reported, not judged: issue 13 sets the gates on seeds ${here}). Whether a ` +
      `median over ${seeds} seeds lands within 10 % of another, or under 1.5× of it, can turn on the ` +
      `seeds drawn, so every column was measured again ${which} and the same gates read there:`,
    "",
    markdownTable(
      ["gate", `measured on seeds ${there}`, "holds"],
      gates(checkCells).map((g) => [g.name, g.measured, g.pass ? "yes" : "no"]),
    ),
    "",
    `Cells whose within-10 % verdict differs between seeds ${here} and ${there}: ${list}.`,
  ].join("\n");
}

async function measureProblem(
  problem: B1Problem,
  seeds: readonly number[],
  budgets: readonly number[],
  peer: OptunaSide | null,
  record: Map<string, OptunaRecordLine>,
): Promise<{ cells: Cell[]; recorded: number }> {
  const longest = Math.max(...SUITE_BUDGETS);
  const randomBySeed = seeds.map((seed) => runRandom(problem, seed, budgets));
  const optuna =
    peer === null
      ? null
      : problem.kind === "mixed"
        ? await optunaMixedRegrets(peer, problem, seeds, longest, budgets, record)
        : await optunaSuiteRegrets(peer, problem, seeds, longest, budgets, record);
  const cells = budgets.map((budget, b) => {
    const arqon = {} as Record<StrategyChoice, Spread | Refused>;
    for (const strategy of STRATEGIES) {
      const results = seeds.map((seed) => runArqon(problem, seed, budget, strategy));
      const refused = results.find(isRefused);
      arqon[strategy] = refused !== undefined ? refused : spread(results.map((r) => r as number));
    }
    return {
      problem,
      budget,
      arqon,
      random: spread(randomBySeed.map((row) => row[b]!)),
      optuna: optuna === null ? null : spread(optuna.bySeed.map((row) => row[b]!)),
    };
  });
  return { cells, recorded: optuna?.recorded ?? 0 };
}

const LABELS = [
  "arqon auto",
  "arqon nelder-mead (forced)",
  "arqon tpe (forced)",
  "Optuna 5.0.0 TPE",
  "random search",
];

/** A minimum for the method text: 0 when it is 0 up to rounding (Ackley's 4e-16). */
function formatMinimum(minimum: number): string {
  return Math.abs(minimum) < 1e-12
    ? `0 (${minimum.toPrecision(2)} in floating point)`
    : minimum.toPrecision(7);
}

function formatResult(result: Spread | Refused): string {
  return isRefused(result) ? "refused by the solver" : formatSpread(result);
}

function cellRow(cell: Cell): string[] {
  const auto = medianOf(cell.arqon.auto);
  return [
    problemName(cell.problem),
    String(cell.budget),
    formatResult(cell.arqon.auto),
    formatResult(cell.arqon["nelder-mead"]),
    formatResult(cell.arqon.tpe),
    cell.optuna === null ? "–" : formatSpread(cell.optuna),
    formatSpread(cell.random),
    cell.optuna === null ? "–" : formatRatio(ratio(auto, cell.optuna.median)),
    formatRatio(autoOverForced(cell)),
  ];
}

function cellTable(cells: readonly Cell[]): string {
  return markdownTable(
    ["problem", "budget", ...LABELS, "auto ÷ Optuna", "auto ÷ best forced"],
    cells.map(cellRow),
  );
}

interface Gate {
  readonly name: string;
  readonly measured: string;
  readonly pass: boolean;
}

function share(count: number, total: number): string {
  return `${count}/${total} (${total === 0 ? 0 : Math.round((100 * count) / total)} %)`;
}

function cellName(cell: Cell): string {
  return `${problemName(cell.problem)} @${cell.budget}`;
}

/** The issue-13 gates on one half's cells. */
function gates(cells: readonly Cell[]): Gate[] {
  const list: Gate[] = [];
  const withOptuna = cells.filter((c) => c.optuna !== null);
  if (withOptuna.length > 0) {
    const ratios = withOptuna.map((c) => ratio(medianOf(c.arqon.auto), c.optuna!.median));
    const atMost = ratios.filter((r) => r <= 1).length;
    list.push({
      name: "auto ≤ Optuna TPE on ≥ 85 % of cells",
      measured: share(atMost, withOptuna.length),
      pass: atMost >= 0.85 * withOptuna.length,
    });
    const worst = ratios.reduce((w, r, i) => (r > ratios[w]! ? i : w), 0);
    list.push({
      name: "auto never worse than 1.5 × Optuna",
      // Two decimals: one would round a 1.52 onto the 1.5 line it fails.
      measured: `worst ${formatRatio(ratios[worst]!, 2)} (${cellName(withOptuna[worst]!)})`,
      pass: ratios[worst]! <= 1.5,
    });
  }
  const losing = cells.filter((c) => !(ratio(medianOf(c.arqon.auto), c.random.median) < 1));
  list.push({
    name: "auto better than random search on every cell",
    measured:
      losing.length === 0 ? share(cells.length, cells.length) : `not on ${losing.map(cellName).join(", ")}`,
    pass: losing.length === 0,
  });
  const near = cells.filter((c) => autoOverForced(c) <= NEAR_FORCED).length;
  list.push({
    name: "auto within 10 % of the best forced strategy on ≥ 80 % of cells",
    measured: share(near, cells.length),
    pass: near >= 0.8 * cells.length,
  });
  return list;
}

function gateTable(cells: readonly Cell[]): string {
  return markdownTable(
    ["gate", "measured", "result"],
    gates(cells).map((g) => [g.name, g.measured, verdict(g.pass)]),
  );
}

const HALVES: readonly { half: SuiteHalf; title: string; note: string }[] = [
  {
    half: "development",
    title: "Development half",
    note:
      "The `auto` defaults were tuned on the continuous problems of this half (in-sample), and the " +
      "choice floor of its mixed-space global model (0.1) on the mixed-space problems of this half. " +
      "Shekel-10, Alpine-6D, Salomon-5D, Hartmann-6 in 20-D and Batch pipeline were added to this half " +
      "after the split (the validation half is unchanged), to check changes to the split between " +
      "exploring and refining on more rugged, high-dimensional and integer-heavy problems. " +
      "Shubert-3 5-D, Weierstrass-4D and Ackley-4D + noise σ 0.5 were added in a third pass, before the " +
      "one default chosen since (tieShare), and Build configuration after it; tieShare leaves all four " +
      "unchanged. Pintér-6D was added in a fourth pass, because auto lost to Optuna at budget 300 on " +
      "it, as it did on Levy-6D in the validation half, before the defaults changed since " +
      "(maxStreak: the simplex and the trust region take turns in local phases; then the trust " +
      "region's fit and the tie rule, in the commentary below).",
  },
  {
    half: "validation",
    title: "Validation half",
    note:
      "Held out: no default was chosen on its results. It is not untouched: its earlier runs led to " +
      "problems being added to the development half (Pintér-6D after `auto` lost on Levy-6D here; see " +
      "the method above), and its gates below run the development half's seeds (1..20, as issue 13 " +
      "asks), so problems of the same dimension in the two halves start from the same opening design. " +
      "Its seed check runs on seeds no development run used.",
  },
];

function halfText(
  half: (typeof HALVES)[number],
  cells: readonly Cell[],
  optunaLive: boolean,
  seedCheck: string | null,
): string {
  const problems = [...new Set(cells.map((c) => `${problemName(c.problem)} (${c.problem.family})`))];
  const mixed = cells.filter((c) => c.problem.kind === "mixed");
  const mixedGates =
    mixed.length === 0 || mixed.length === cells.length
      ? []
      : [
          "",
          `**${half.title} mixed-space gates** (the same gates on the ${mixed.length} mixed-space cells alone; ` +
            "they are also counted above):",
          "",
          gateTable(mixed),
        ];
  return [
    `### ${half.title}`,
    "",
    `${half.note} Problems: ${problems.join(", ")}.`,
    "",
    `**${half.title} regret** (median [q1–q3] over seeds at the end of the budget):`,
    "",
    cellTable(cells),
    "",
    `**${half.title} gates**${optunaLive ? "" : " (Optuna not run: its gates are left out)"}:`,
    "",
    gateTable(cells),
    ...mixedGates,
    ...(seedCheck === null ? [] : ["", seedCheck]),
  ].join("\n");
}

export const benchmark: Benchmark = {
  name: "solver-quality",
  // Counted from the suites, so the title follows a problem added to either.
  title:
    `B1: median regret on ${suiteProblems().length} functions and ${mixedProblems().length} mixed spaces ` +
    "(dev / validation halves) at budgets 100 and 300, 20 seeds",
  inAll: true,
  async run(args) {
    const options = parseOptions(args, [
      "seeds",
      "budget",
      "half",
      "kind",
      "only",
      "fresh-optuna",
      "seed-check",
    ]);
    const seeds = seedList(wholeOption(options, "seeds", 20));
    const checkSeeds = wholeOption(options, "seed-check", 100);
    const budgetOption = options.values.get("budget");
    const budgets = SUITE_BUDGETS.filter((b) => budgetOption === undefined || String(b) === budgetOption);
    if (budgets.length === 0) throw new Error(`--budget must be one of ${SUITE_BUDGETS.join(", ")}`);
    const halfOption = options.values.get("half");
    const only = options.values.get("only")?.toLowerCase();
    const kindOption = options.values.get("kind");
    const all: B1Problem[] = [...suiteProblems(), ...mixedProblems()];
    const problems = all.filter(
      (p) =>
        (halfOption === undefined || p.half === halfOption) &&
        (kindOption === undefined || p.kind === kindOption) &&
        (only === undefined || problemName(p).toLowerCase().includes(only)),
    );
    if (problems.length === 0) throw new Error("no problem matches --half/--kind/--only");
    const full = problems.length === all.length && budgets.length === SUITE_BUDGETS.length;
    const env = describeEnvironment();
    console.log(environmentLine(env));

    let peer: OptunaPeer | null = null;
    /** Where Optuna's figures come from: the live driver, or its record when it cannot run here. */
    let side: OptunaSide | null = null;
    let optunaNote: string;
    if (!options.optuna) {
      optunaNote = "Optuna not run (--no-optuna).";
    } else {
      const optuna = await openOptuna();
      if (optuna.available) {
        peer = optuna.peer;
        side = peer;
        const v = peer.versions;
        optunaNote =
          `Optuna ${v.optuna} (Python ${v.python}, numpy ${v.numpy}): ${v.sampler}, same seeds; on the ` +
          `mixed spaces ${v.mixedSampler}, with suggest_int (step, log), suggest_categorical and each ` +
          "conditional parameter suggested inside the branch where it exists.";
      } else {
        optunaNote = optunaSkippedLine(optuna.reason);
      }
    }
    if (options.values.get("fresh-optuna") === "yes" && peer !== null) {
      clearOptunaRecord();
      clearOptunaRecord(OPTUNA_MIXED_RECORD);
    }
    const record = readOptunaRecord();
    for (const [key, line] of readOptunaRecord(OPTUNA_MIXED_RECORD)) record.set(key, line);
    const longest = Math.max(...SUITE_BUDGETS);
    if (options.optuna && peer === null) {
      // A run recorded on another definition of a problem is never read in its place.
      const stale = staleProblems(
        record,
        OPTUNA_VERSION,
        problems,
        [...seedList(Math.max(seeds.length, checkSeeds)), ...checkSeedsOf("validation", checkSeeds)],
        longest,
      );
      if (stale.length > 0) {
        throw new Error(
          `B1: Optuna's recorded runs of ${stale.join(", ")} were measured on another definition of the ` +
            `problem (its fingerprint differs), and Optuna cannot run here to measure them again ` +
            `(${optunaNote.replace(/^\*\*Optuna skipped\*\*: /, "")}); run where Optuna runs, or pass --no-optuna`,
        );
      }
    }
    if (
      options.optuna &&
      peer === null &&
      recordCovers(record, OPTUNA_VERSION, problems, seeds, longest, budgets)
    ) {
      // Optuna cannot run here, but its runs of every problem and seed asked for are recorded.
      side = { recordOnly: true, version: OPTUNA_VERSION };
      optunaNote =
        `Optuna ${OPTUNA_VERSION} cannot run on this machine (${optunaNote.replace(/^\*\*Optuna skipped\*\*: /, "")}); ` +
        "its runs are all read from the record: TPESampler(seed=seed) with v5 defaults (multivariate; " +
        "group=False on the mixed spaces), same seeds.";
    }
    console.log(optunaNote);

    const cells: Cell[] = [];
    const checkCells: Cell[] = [];
    let recorded = 0;
    /** Optuna's runs of the seed checks, and how many of them were read from its record. */
    let checkRuns = 0;
    let checkRecorded = 0;
    try {
      for (const problem of problems) {
        const started = performance.now();
        const result = await measureProblem(problem, seeds, budgets, side, record);
        cells.push(...result.cells);
        recorded += result.recorded;
        console.log(
          `${markdownTable(
            ["problem", "budget", ...LABELS, "auto ÷ Optuna", "auto ÷ best forced"],
            result.cells.map(cellRow),
          )
            .split("\n")
            .slice(2)
            .join("\n")}  (${((performance.now() - started) / 1000).toFixed(1)} s)`,
        );
      }
      if (checkSeeds > seeds.length) {
        const started = performance.now();
        for (const problem of problems) {
          const checkSeedList = checkSeedsOf(problem.half, checkSeeds);
          const result = await measureProblem(problem, checkSeedList, budgets, side, record);
          checkCells.push(...result.cells);
          checkRecorded += result.recorded;
          checkRuns += checkSeedList.length;
        }
        console.log(`seed check: ${((performance.now() - started) / 1000).toFixed(1)} s`);
      }
    } finally {
      await peer?.close();
    }

    const optunaRuns = side === null ? 0 : problems.length * seeds.length;
    const provenance =
      side === null
        ? ""
        : ` Optuna's runs for the gates: ${optunaRuns - recorded} measured in this run, ${recorded} read from ` +
          "bench/results/optuna-b1.jsonl and optuna-b1-mixed.jsonl (recorded earlier by the same driver, " +
          "Optuna version and seeds, each read only while its problem's fingerprint matches the problem " +
          "as defined now; `--fresh-optuna=yes` measures them all again)." +
          (checkRuns === 0
            ? ""
            : ` Of the seed checks' ${checkRuns} Optuna runs, ${checkRuns - checkRecorded} were measured in ` +
              `this run and ${checkRecorded} read from the same record.`);
    const parts: string[] = [
      `Measured on ${environmentLine(env)}. Command: \`npm run bench -- solver-quality\`. ` +
        `Seeds 1..${seeds.length}, budgets ${budgets.join(" and ")}. ${optunaNote}${provenance}`,
      "Regret is the noiseless value of the best observed point minus the known minimum. arqon runs " +
        "once per budget; random search and Optuna, which do not plan by budget, run 300 trials once " +
        `and are read at 100 and 300. Ratios floor both regrets at ${REGRET_RESOLUTION} (some published ` +
        "minima have 7 digits), so two solved runs compare as equal. The split into halves was fixed " +
        "before tuning (bench/quality-suite.ts); the earlier defaults were tuned on five of the " +
        "development problems (Branin, Hartmann-6, Rosenbrock-5D, Rastrigin-5D, Ackley-5D).",
      "The mixed-space problems (bench/mixed-suite.ts; split fixed before any run) are noiseless and " +
        "their minima exact: " +
        mixedProblems()
          .map((p) => `${p.name} (${p.half}), minimum ${formatMinimum(p.minimum)} by ${p.minimumMethod}`)
          .join("; ") +
        ". On them `auto` alternates the mixed TPE (with its global settings) and local phases (Nelder–Mead " +
        "and a trust region) on the float and int parameters active in one branch, a combination of " +
        "categorical choices: the incumbent's, then, once it is refined, the one of the best point in " +
        "a branch not yet refined; random search " +
        "samples each active parameter uniformly (int and float on their scale), and forced Nelder–Mead moves the float and int parameters with the categorical " +
        "choices held at those of the best probe point where a float or int is active (the solver refuses it on a space with no float or int; " +
        "the table would say so).",
    ];
    for (const half of HALVES) {
      const halfCells = cells.filter((c) => c.problem.half === half.half);
      if (halfCells.length === 0) continue;
      const halfCheck = checkCells.filter((c) => c.problem.half === half.half);
      const check =
        halfCheck.length > 0
          ? seedCheckText(half, halfCells, halfCheck, checkSeedsOf(half.half, checkSeeds), seeds.length)
          : null;
      const text = halfText(half, halfCells, side !== null, check);
      console.log(`\n${text}`);
      parts.push(text);
    }

    if (options.write && options.optuna && side !== null && seeds.length === 20 && full) {
      await writeSection("B1", parts.join("\n\n"));
      console.log("\nwrote the B1 section of docs/benchmarks.md");
    } else {
      console.log("\n(reduced run: docs/benchmarks.md not written)");
    }
  },
};
