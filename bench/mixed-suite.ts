/**
 * B1's mixed-space problems: integer, categorical and conditional parameters, each with a minimum
 * established exactly (enumeration over the discrete part, the continuous part solved in closed
 * form). Split into halves once, before any of them was run: the first two are development
 * problems, the last two validation problems (see {@link mixedProblems}); two more development
 * problems (Batch pipeline, then Build configuration) were added later, to the development half
 * only.
 *
 * @remarks
 * Each objective is written in the shape of a standard practice rather than taken from one paper:
 *
 * - **Simulated training** (development): the loss of a model for an optimizer ∈ {adam, sgd,
 *   rmsprop}, a log-scale learning rate, an integer depth, a log-scale integer batch size and,
 *   only with SGD, a momentum. The learning rate that works depends on the optimizer, the depth and
 *   the batch size (larger batches take larger rates), and SGD's effective rate is lr / (1 − m), as
 *   with heavy-ball momentum, so lr and momentum trade along a ridge.
 * - **Mixed-integer Ackley** (development): Ackley's function (a = 20, b = 0.2, c = 2π, Surjanovic &
 *   Bingham) over three floats and three integers, shifted by one of four categorical variants, each
 *   with its own offset and bias, as in the mixed-integer test functions of the BBOB-mixint suite
 *   (Tušar et al. 2019) and the categorical-shift problems of CoCaBO (Ru et al. 2020).
 * - **Model selection** (validation): the conditional tree of a model-selection search (the
 *   scikit-learn example in Optuna's and Hyperopt's documentation): a model ∈ {linear, tree,
 *   mlp}, each with its own subtree of float, integer (step 1 and log) and categorical parameters.
 * - **Service pool sizing** (validation): the cost of a service for a worker pool size (integer,
 *   step 4), a queue capacity (integer, log scale), a timeout (float, log scale), a scheduling
 *   policy with a conditional number of priority levels, and a codec: an M/M/c-style waiting
 *   term ρ/(1 − ρ), a price per worker, and interactions between load, queue and timeout.
 *
 * - **Build configuration** (development, added in a third pass): the runtime of a program for an
 *   optimisation level ∈ {O1, O2, O3, Os}, link-time optimisation ∈ {off, thin, full}, a vector
 *   extension ∈ {off, sse, avx}, an unroll factor (integer), an inline threshold (integer, log
 *   scale), profile-guided runs (integer, only with link-time optimisation) and a hot-code share
 *   (float): each choice scales the runtime, the best unroll depends on the vector extension and
 *   the best inline threshold on the level and the linking, and O3 with full LTO outgrows the
 *   instruction cache past an inline threshold of 256.
 * - **Batch pipeline** (development, added after the split): the time per item of a batch pipeline
 *   for a thread count (integer), a batch size (integer, step 8), a prefetch depth (integer, log
 *   scale), a mode ∈ {sync, async, pipelined} with a conditional number of stages, and a spill
 *   share (float): the best thread count depends on the batch size and the mode, the prefetch on
 *   the batch size, and a batch filling whole accelerator vectors (a multiple of 64) is cheaper.
 *
 * All five are noiseless: regret is the value of the best point found minus the minimum.
 */
import type { BoundsInput, ParamValue } from "../src/space/params.js";
import type { SuiteHalf } from "./quality-suite.js";

/** A point of a mixed space: active parameters only. */
export type MixedParams = Readonly<Record<string, ParamValue>>;

/** A mixed-space problem of the B1 suite. */
export interface MixedSuiteProblem {
  readonly kind: "mixed";
  /** Shown in the tables and the key of its Optuna record. */
  readonly name: string;
  /** The landscape family, shown in the tables. */
  readonly family: string;
  readonly half: SuiteHalf;
  /** The search space, as a solver config declares it (parents before the parameters they condition). */
  readonly bounds: BoundsInput;
  /** The objective (noiseless). */
  readonly evaluate: (params: MixedParams) => number;
  /** The global minimum, established by {@link MixedSuiteProblem.argmin}'s enumeration. */
  readonly minimum: number;
  /** A point where the minimum is attained. */
  readonly argmin: MixedParams;
  /** How the minimum is established (one sentence). */
  readonly minimumMethod: string;
}

function num(params: MixedParams, name: string): number {
  const value = params[name];
  if (typeof value !== "number") throw new RangeError(`missing numeric parameter ${name}`);
  return value;
}

function choice(params: MixedParams, name: string): string {
  const value = params[name];
  if (typeof value !== "string") throw new RangeError(`missing categorical parameter ${name}`);
  return value;
}

/** Whole numbers min, min + step, …, max. */
function range(min: number, max: number, step = 1): number[] {
  const out: number[] = [];
  for (let v = min; v <= max; v += step) out.push(v);
  return out;
}

/** The smallest value and where it is, over candidate points. */
function argminOf(candidates: Iterable<MixedParams>, evaluate: (p: MixedParams) => number) {
  let best = Number.POSITIVE_INFINITY;
  let at: MixedParams | null = null;
  for (const p of candidates) {
    const value = evaluate(p);
    if (value < best) {
      best = value;
      at = p;
    }
  }
  if (at === null) throw new Error("no candidate");
  return { minimum: best, argmin: at };
}

// ---------------------------------------------------------------- simulated training (development)

const TRAINING_OPTIMIZERS = {
  adam: { base: 0.1, curvature: 0.3, centre: -3 },
  sgd: { base: 0.06, curvature: 0.6, centre: -1.5 },
  rmsprop: { base: 0.12, curvature: 0.4, centre: -3.3 },
} as const;

type TrainingOptimizer = keyof typeof TRAINING_OPTIMIZERS;

const TRAINING_BOUNDS = {
  optimizer: { type: "categorical", choices: ["adam", "sgd", "rmsprop"] },
  lr: { min: 1e-5, max: 1, scale: "log" },
  depth: { type: "int", min: 1, max: 8 },
  batch: { type: "int", min: 16, max: 1024, scale: "log" },
  momentum: { min: 0, max: 0.99, when: { optimizer: ["sgd"] } },
} as const satisfies BoundsInput;

/** log10 of the learning rate that suits `optimizer` at this depth and batch size. */
function trainingBestLogRate(optimizer: TrainingOptimizer, depth: number, batch: number): number {
  return TRAINING_OPTIMIZERS[optimizer].centre + 0.15 * (Math.log2(batch) - 7) - 0.1 * (depth - 4);
}

function trainingLoss(p: MixedParams): number {
  const optimizer = choice(p, "optimizer") as TrainingOptimizer;
  const spec = TRAINING_OPTIMIZERS[optimizer];
  const depth = num(p, "depth");
  const batch = num(p, "batch");
  let logRate = Math.log10(num(p, "lr"));
  let extra = 0;
  if (optimizer === "sgd") {
    const m = num(p, "momentum");
    logRate -= Math.log10(1 - m); // heavy ball: effective rate lr / (1 − m)
    extra = 0.3 * (m - 0.9) ** 2;
  }
  const miss = logRate - trainingBestLogRate(optimizer, depth, batch);
  const capacity = 0.5 / depth + 0.01 * depth * depth;
  const batchNoise = 0.02 * (Math.log2(batch) - 6) ** 2;
  return spec.base + spec.curvature * miss * miss + capacity + batchNoise + extra;
}

/**
 * Every (optimizer, depth, batch) with its continuous part at its optimum: the learning-rate
 * term is a square that vanishes at lr = 10^(best log rate) (times 1 − m = 0.1 for SGD, with
 * m = 0.9 zeroing the momentum term too); every such rate lies inside [1e-5, 1] (checked).
 */
function* trainingCandidates(): Generator<MixedParams> {
  for (const optimizer of Object.keys(TRAINING_OPTIMIZERS) as TrainingOptimizer[]) {
    for (const depth of range(1, 8)) {
      for (const batch of range(16, 1024)) {
        const sgd = optimizer === "sgd";
        const logRate = trainingBestLogRate(optimizer, depth, batch) + (sgd ? Math.log10(0.1) : 0);
        if (logRate < -5 || logRate > 0) throw new Error("training: optimal rate outside the bounds");
        const lr = 10 ** logRate;
        yield sgd ? { optimizer, lr, depth, batch, momentum: 0.9 } : { optimizer, lr, depth, batch };
      }
    }
  }
}

// ---------------------------------------------------------------- mixed-integer Ackley (development)

const ACKLEY_VARIANTS = {
  a: { floats: [1.5, -2, 0.5], ints: [2, -1, 3], bias: 0.3 },
  b: { floats: [-1, 2.5, -3], ints: [-3, 4, 0], bias: 0 },
  c: { floats: [3, 0, -1.5], ints: [0, -4, -2], bias: 0.15 },
  d: { floats: [-2.5, -3.5, 2], ints: [4, 2, -3], bias: 0.45 },
} as const;

type AckleyVariant = keyof typeof ACKLEY_VARIANTS;

const ACKLEY_BOUNDS = {
  variant: { type: "categorical", choices: ["a", "b", "c", "d"] },
  x1: { min: -5, max: 5 },
  x2: { min: -5, max: 5 },
  x3: { min: -5, max: 5 },
  n1: { type: "int", min: -5, max: 5 },
  n2: { type: "int", min: -5, max: 5 },
  n3: { type: "int", min: -5, max: 5 },
} as const satisfies BoundsInput;

function mixedAckley(p: MixedParams): number {
  const spec = ACKLEY_VARIANTS[choice(p, "variant") as AckleyVariant];
  const z = [
    num(p, "x1") - spec.floats[0],
    num(p, "x2") - spec.floats[1],
    num(p, "x3") - spec.floats[2],
    num(p, "n1") - spec.ints[0],
    num(p, "n2") - spec.ints[1],
    num(p, "n3") - spec.ints[2],
  ];
  let squares = 0;
  let cosines = 0;
  for (const zi of z) {
    squares += zi * zi;
    cosines += Math.cos(2 * Math.PI * zi);
  }
  const d = z.length;
  const ackley = -20 * Math.exp(-0.2 * Math.sqrt(squares / d)) - Math.exp(cosines / d) + 20 + Math.E;
  return Math.max(0, ackley) + spec.bias;
}

/**
 * Ackley is ≥ 0 with its only zero at z = 0, which every variant reaches (its offsets are inside
 * the box, the integer ones whole): a variant's minimum is its bias, so the candidates are the
 * four shifted origins.
 */
function* ackleyCandidates(): Generator<MixedParams> {
  for (const variant of Object.keys(ACKLEY_VARIANTS) as AckleyVariant[]) {
    const { floats, ints } = ACKLEY_VARIANTS[variant];
    yield { variant, x1: floats[0], x2: floats[1], x3: floats[2], n1: ints[0], n2: ints[1], n3: ints[2] };
  }
}

// ---------------------------------------------------------------- batch pipeline (development)

const PIPELINE_BOUNDS = {
  threads: { type: "int", min: 1, max: 32 },
  batch: { type: "int", min: 8, max: 512, step: 8 },
  prefetch: { type: "int", min: 1, max: 256, scale: "log" },
  mode: { type: "categorical", choices: ["sync", "async", "pipelined"] },
  depth: { type: "int", min: 2, max: 8, when: { mode: ["pipelined"] } },
  spill: { min: 0, max: 1 },
} as const satisfies BoundsInput;

function pipelineModeCost(mode: string, threads: number, depth: number | undefined): number {
  if (mode === "sync") return 0.25;
  if (mode === "async") return 0.12 + 0.004 * threads;
  return 0.06 + 0.015 * (depth! - 1 - threads / 6) ** 2;
}

/** The spill share that suits a pipeline of `depth` stages (0 stages outside the pipelined mode). */
function pipelineBestSpill(depth: number | undefined): number {
  return 0.2 + 0.05 * (depth ?? 0);
}

function pipelineCost(p: MixedParams): number {
  const threads = num(p, "threads");
  const batch = num(p, "batch");
  const mode = choice(p, "mode");
  const depth = mode === "pipelined" ? num(p, "depth") : undefined;
  const prefetchTarget = 2 + Math.log2(batch) / 2 + (mode === "async" ? 1 : 0);
  return (
    4 / threads +
    0.006 * threads +
    0.00001 * threads * batch + // memory traffic grows with threads × batch
    1.5 / batch +
    0.0008 * batch +
    (batch % 64 === 0 ? -0.015 : 0) + // a batch filling whole accelerator vectors
    0.04 * (Math.log2(num(p, "prefetch")) - prefetchTarget) ** 2 +
    pipelineModeCost(mode, threads, depth) +
    0.4 * (num(p, "spill") - pipelineBestSpill(depth)) ** 2
  );
}

/** Every threads × batch × prefetch × mode (× depth), spill at the zero of its square (≤ 0.6). */
function* pipelineCandidates(): Generator<MixedParams> {
  for (const threads of range(1, 32)) {
    for (const batch of range(8, 512, 8)) {
      for (const prefetch of range(1, 256)) {
        yield { threads, batch, prefetch, mode: "sync", spill: pipelineBestSpill(undefined) };
        yield { threads, batch, prefetch, mode: "async", spill: pipelineBestSpill(undefined) };
        for (const depth of range(2, 8)) {
          yield { threads, batch, prefetch, mode: "pipelined", depth, spill: pipelineBestSpill(depth) };
        }
      }
    }
  }
}

// ---------------------------------------------------------------- build configuration (development)

const BUILD_BOUNDS = {
  opt: { type: "categorical", choices: ["O1", "O2", "O3", "Os"] },
  lto: { type: "categorical", choices: ["off", "thin", "full"] },
  vector: { type: "categorical", choices: ["off", "sse", "avx"] },
  unroll: { type: "int", min: 1, max: 16 },
  inline: { type: "int", min: 16, max: 1024, scale: "log" },
  pgoRuns: { type: "int", min: 1, max: 8, when: { lto: ["thin", "full"] } },
  hot: { min: 0, max: 1 },
} as const satisfies BoundsInput;

/** Per optimisation level: runtime factor, best log2 inline threshold, best hot-code share. */
const BUILD_LEVELS = {
  O1: { factor: 1.1, inline: 5, hot: 0.3 },
  O2: { factor: 1, inline: 6.5, hot: 0.5 },
  O3: { factor: 0.96, inline: 8, hot: 0.7 },
  Os: { factor: 1.04, inline: 4.5, hot: 0.4 },
} as const;

/** Per link-time optimisation: runtime factor and how much it raises the best inline threshold. */
const BUILD_LTO = {
  off: { factor: 1, inline: 0 },
  thin: { factor: 0.97, inline: 0.5 },
  full: { factor: 0.95, inline: 1 },
} as const;

/** Per vector extension: runtime factor (half the gain at O1) and the best log2 unroll factor. */
const BUILD_VECTOR = {
  off: { factor: 1, unroll: 1 },
  sse: { factor: 0.92, unroll: 2 },
  avx: { factor: 0.88, unroll: 3 },
} as const;

function buildRuntime(p: MixedParams): number {
  const level = BUILD_LEVELS[choice(p, "opt") as keyof typeof BUILD_LEVELS];
  const ltoName = choice(p, "lto") as keyof typeof BUILD_LTO;
  const lto = BUILD_LTO[ltoName];
  const vector = BUILD_VECTOR[choice(p, "vector") as keyof typeof BUILD_VECTOR];
  const vectorFactor = choice(p, "opt") === "O1" ? (1 + vector.factor) / 2 : vector.factor;
  const inline = num(p, "inline");
  // Aggressive inlining across the whole program outgrows the instruction cache.
  const bloat = choice(p, "opt") === "O3" && ltoName === "full" && inline >= 256 ? 0.05 : 0;
  const pgo = ltoName === "off" ? 0 : -0.03 * (1 - 0.5 ** num(p, "pgoRuns")) + 0.003 * num(p, "pgoRuns");
  return (
    level.factor * lto.factor * vectorFactor +
    0.02 * (Math.log2(num(p, "unroll")) - vector.unroll) ** 2 +
    0.015 * (Math.log2(inline) - level.inline - lto.inline) ** 2 +
    bloat +
    pgo +
    0.2 * (num(p, "hot") - level.hot) ** 2
  );
}

/** Every opt × lto × vector × unroll × inline (× pgoRuns), hot at the zero of its square. */
function* buildCandidates(): Generator<MixedParams> {
  for (const opt of BUILD_BOUNDS.opt.choices) {
    const hot = BUILD_LEVELS[opt].hot;
    for (const lto of BUILD_BOUNDS.lto.choices) {
      for (const vector of BUILD_BOUNDS.vector.choices) {
        for (const unroll of range(1, 16)) {
          for (const inline of range(16, 1024)) {
            if (lto === "off") yield { opt, lto, vector, unroll, inline, hot };
            else for (const pgoRuns of range(1, 8)) yield { opt, lto, vector, unroll, inline, pgoRuns, hot };
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------- model selection (validation)

const MODEL_BOUNDS = {
  model: { type: "categorical", choices: ["linear", "tree", "mlp"] },
  C: { min: 1e-4, max: 1e4, scale: "log", when: { model: ["linear"] } },
  penalty: { type: "categorical", choices: ["l1", "l2"], when: { model: ["linear"] } },
  maxDepth: { type: "int", min: 1, max: 20, when: { model: ["tree"] } },
  minLeaf: { type: "int", min: 1, max: 64, scale: "log", when: { model: ["tree"] } },
  criterion: { type: "categorical", choices: ["gini", "entropy"], when: { model: ["tree"] } },
  layers: { type: "int", min: 1, max: 4, when: { model: ["mlp"] } },
  width: { type: "int", min: 8, max: 512, scale: "log", when: { model: ["mlp"] } },
  dropout: { min: 0, max: 0.8, when: { model: ["mlp"] } },
  mlpLr: { min: 1e-5, max: 1e-1, scale: "log", when: { model: ["mlp"] } },
} as const satisfies BoundsInput;

/** The best log10 C per penalty, and the penalty's own cost. */
const LINEAR_PENALTIES = { l1: { centre: 0.5, cost: 0 }, l2: { centre: 1.3, cost: 0.01 } } as const;

function modelError(p: MixedParams): number {
  const model = choice(p, "model");
  if (model === "linear") {
    const penalty = LINEAR_PENALTIES[choice(p, "penalty") as keyof typeof LINEAR_PENALTIES];
    return 0.3 + 0.02 * (Math.log10(num(p, "C")) - penalty.centre) ** 2 + penalty.cost;
  }
  if (model === "tree") {
    const dd = num(p, "maxDepth") - 9;
    const ll = Math.log2(num(p, "minLeaf")) - 3;
    const criterion = choice(p, "criterion") === "entropy" ? 0 : 0.005;
    return 0.22 + 0.002 * dd * dd + 0.03 * ll * ll + 0.001 * dd * ll + criterion;
  }
  const layers = num(p, "layers");
  const widthMiss = Math.log2(num(p, "width")) - (7 + 0.5 * (layers - 2));
  const dropoutMiss = num(p, "dropout") - 0.1 * layers;
  const rateMiss = Math.log10(num(p, "mlpLr")) + 3 + 0.2 * (layers - 3);
  return (
    0.18 +
    0.05 * widthMiss * widthMiss +
    0.02 * (layers - 3) ** 2 +
    0.3 * dropoutMiss * dropoutMiss +
    0.08 * rateMiss * rateMiss
  );
}

/**
 * Linear: a square in log10 C vanishing inside [−4, 4], so each penalty's minimum is 0.3 plus its
 * cost. Tree and MLP: every integer combination, with the MLP's dropout (0.1·layers ≤ 0.4) and
 * rate (10^(−3 − 0.2(layers − 3)) ∈ [10^−3.4, 10^−2.6]) at the zeros of their squares.
 */
function* modelCandidates(): Generator<MixedParams> {
  for (const penalty of ["l1", "l2"] as const) {
    yield { model: "linear", C: 10 ** LINEAR_PENALTIES[penalty].centre, penalty };
  }
  for (const maxDepth of range(1, 20)) {
    for (const minLeaf of range(1, 64)) {
      for (const criterion of ["gini", "entropy"]) yield { model: "tree", maxDepth, minLeaf, criterion };
    }
  }
  for (const layers of range(1, 4)) {
    for (const width of range(8, 512)) {
      yield { model: "mlp", layers, width, dropout: 0.1 * layers, mlpLr: 10 ** (-3 - 0.2 * (layers - 3)) };
    }
  }
}

// ---------------------------------------------------------------- service pool sizing (validation)

const CODECS = {
  none: { service: 1, cpu: 0 },
  lz4: { service: 0.85, cpu: 0.03 },
  zstd: { service: 0.75, cpu: 0.08 },
} as const;

type Codec = keyof typeof CODECS;

const POOL_BOUNDS = {
  workers: { type: "int", min: 4, max: 128, step: 4 },
  queue: { type: "int", min: 1, max: 4096, scale: "log" },
  timeoutMs: { min: 1, max: 10_000, scale: "log" },
  policy: { type: "categorical", choices: ["fifo", "lifo", "priority"] },
  levels: { type: "int", min: 2, max: 8, when: { policy: ["priority"] } },
  codec: { type: "categorical", choices: ["none", "lz4", "zstd"] },
} as const satisfies BoundsInput;

/** Offered load in erlangs with codec "none". */
const POOL_LOAD = 40;

/** The waiting term 0.1·ρ/(1 − ρ), continued linearly (with its slope) beyond ρ = 0.95. */
function waiting(rho: number): number {
  if (rho < 0.95) return (0.1 * rho) / (1 - rho);
  return (0.1 * 0.95) / 0.05 + (0.1 / 0.05 ** 2) * (rho - 0.95);
}

function poolUtilisation(workers: number, codec: Codec): number {
  return (POOL_LOAD * CODECS[codec].service) / workers;
}

function poolPolicyCost(policy: string, levels: number | undefined, rho: number): number {
  if (policy === "fifo") return 0.03;
  if (policy === "lifo") return 0.02 + 0.05 * rho;
  return 0.01 + 0.003 * (levels! - 5) ** 2;
}

function poolCost(p: MixedParams): number {
  const workers = num(p, "workers");
  const codec = choice(p, "codec") as Codec;
  const rho = poolUtilisation(workers, codec);
  const logQueue = Math.log2(num(p, "queue"));
  const policy = choice(p, "policy");
  const levels = policy === "priority" ? num(p, "levels") : undefined;
  return (
    0.2 * CODECS[codec].service +
    CODECS[codec].cpu +
    waiting(rho) +
    0.004 * workers +
    (workers % 16 === 0 ? -0.01 : 0) + // a pool that fills whole 16-core sockets
    0.03 * (logQueue - (3 + 4 * rho)) ** 2 +
    0.02 * (Math.log10(num(p, "timeoutMs")) - (0.8 + 0.25 * logQueue)) ** 2 +
    poolPolicyCost(policy, levels, rho)
  );
}

/**
 * Every workers × codec × queue × policy (× levels) combination with the timeout at the zero of
 * its square (log10 t = 0.8 + 0.25·log2 queue ∈ [0.8, 3.8], inside [0, 4]).
 */
function* poolCandidates(): Generator<MixedParams> {
  for (const workers of range(4, 128, 4)) {
    for (const codec of Object.keys(CODECS)) {
      for (const queue of range(1, 4096)) {
        const timeoutMs = 10 ** (0.8 + 0.25 * Math.log2(queue));
        yield { workers, queue, timeoutMs, policy: "fifo", codec };
        yield { workers, queue, timeoutMs, policy: "lifo", codec };
        for (const levels of range(2, 8))
          yield { workers, queue, timeoutMs, policy: "priority", levels, codec };
      }
    }
  }
}

// ---------------------------------------------------------------- the problems

function mixedProblem(
  spec: Omit<MixedSuiteProblem, "kind" | "minimum" | "argmin">,
  candidates: () => Iterable<MixedParams>,
): MixedSuiteProblem {
  const { minimum, argmin } = argminOf(candidates(), spec.evaluate);
  return Object.freeze({ kind: "mixed", ...spec, minimum, argmin });
}

let cached: MixedSuiteProblem[] | null = null;

/**
 * The six mixed-space problems, development half first. The split was fixed before any run
 * (Batch pipeline and Build configuration, added later, went to the development half):
 * development = simulated training and mixed-integer Ackley; validation = model selection and
 * service pool sizing. Minima are computed once per process (about 5 s, mostly the pool's, the
 * pipeline's and the build's enumerations).
 */
export function mixedProblems(): MixedSuiteProblem[] {
  if (cached !== null) return [...cached];
  cached = [
    mixedProblem(
      {
        name: "Simulated training",
        family: "mixed: categorical, log int, conditional",
        half: "development",
        bounds: TRAINING_BOUNDS,
        evaluate: trainingLoss,
        minimumMethod:
          "enumeration of optimizer × depth × batch (24 216 combinations), lr and momentum at the zeros of their squares",
      },
      trainingCandidates,
    ),
    mixedProblem(
      {
        name: "Mixed-integer Ackley",
        family: "mixed: rugged, categorical shifts",
        half: "development",
        bounds: ACKLEY_BOUNDS,
        evaluate: mixedAckley,
        minimumMethod: "Ackley ≥ 0 with its zero at each variant's offset: the least bias (0)",
      },
      ackleyCandidates,
    ),
    // Added to the development half after the split (the validation half is unchanged): an
    // integer-heavy space to tune the default's local phase on integers with.
    mixedProblem(
      {
        name: "Batch pipeline",
        family: "mixed: int step, log int, conditional",
        half: "development",
        bounds: PIPELINE_BOUNDS,
        evaluate: pipelineCost,
        minimumMethod:
          "enumeration of threads × batch × prefetch × mode × depth (4.7 M combinations), spill at the zero of its square",
      },
      pipelineCandidates,
    ),
    // Added in a third pass, to the development half only: several categorical choices that
    // interact with each other and with integers (the other development problems have one).
    mixedProblem(
      {
        name: "Build configuration",
        family: "mixed: interacting categoricals, int, conditional",
        half: "development",
        bounds: BUILD_BOUNDS,
        evaluate: buildRuntime,
        minimumMethod:
          "enumeration of opt × lto × vector × unroll × inline × PGO runs (3.3 M combinations), hot share at the zero of its square",
      },
      buildCandidates,
    ),
    mixedProblem(
      {
        name: "Model selection",
        family: "mixed: conditional subtrees",
        half: "validation",
        bounds: MODEL_BOUNDS,
        evaluate: modelError,
        minimumMethod:
          "enumeration of each model's integer and categorical parameters, floats at the zeros of their squares",
      },
      modelCandidates,
    ),
    mixedProblem(
      {
        name: "Service pool sizing",
        family: "mixed: int step, log int, conditional",
        half: "validation",
        bounds: POOL_BOUNDS,
        evaluate: poolCost,
        minimumMethod:
          "enumeration of workers × codec × queue × policy × levels (3.5 M combinations), timeout at the zero of its square",
      },
      poolCandidates,
    ),
  ];
  return [...cached];
}

/** Whether `params` holds exactly the parameters of `bounds` that are active (conditions hold). */
export function activeNames(bounds: BoundsInput, params: MixedParams): string[] {
  const active: string[] = [];
  for (const [name, spec] of Object.entries(bounds)) {
    const when = spec.when;
    const on =
      when === undefined ||
      Object.entries(when).every(
        ([parent, values]) =>
          active.includes(parent) && values.some((v) => JSON.stringify(v) === JSON.stringify(params[parent])),
      );
    if (on) active.push(name);
  }
  return active;
}
