import { Prng } from "../random/prng.js";
import { LocalTurns } from "./local-turns.js";
import { createNelderMead, type NelderMeadStrategy, restoreNelderMead } from "./nelder-mead.js";
import type { Evaluation, Strategy, StrategyContext, StrategyState } from "./strategy.js";
import { createTpe, restoreTpe, type TpeHooks, type TpeOptions } from "./tpe.js";
import { type DiscreteCells, TrustRegionBatch } from "./trust-region.js";

/**
 * Options of the default strategy (`strategy: "auto"`, {@link createGlobalLocal}). Every field is
 * optional; distances are shares of each parameter's range (the unit cube).
 *
 * The defaults were chosen on the development half of the B1 suite only (docs/benchmarks.md
 * names both halves); the validation half was never used to choose them.
 */
export interface GlobalLocalOptions {
  /** TPE's good share: the ⌈gamma · n⌉ best points form l(x). Default 0.15. In (0, 1]. */
  readonly gamma?: number;
  /**
   * Candidates TPE draws from l(x) per proposal. Default 24. A whole number in [1, 10 000]
   * ({@link MAX_TPE_CANDIDATES}).
   */
  readonly candidates?: number;
  /**
   * Scale of TPE's bandwidth floor, `bandwidthFloor · n^(−1/d)` of the range. Default 0.15:
   * wider than forced TPE's 0.045, so the global model keeps exploring while the local method
   * does the fine work. In (0, 1].
   */
  readonly bandwidthFloor?: number;
  /** TPE's rank exponent: good point r of k weighs (k − r)^rankExponent. Default 1. Finite, ≥ 0. */
  readonly rankExponent?: number;
  /** Edge of a fresh local simplex around a new incumbent. Default 0.15. In (0, 0.5]. */
  readonly localStep?: number;
  /**
   * Trials of a global phase, as a multiple of (d + 1). Default 3. The opening one is capped by
   * {@link GlobalLocalOptions.openingShare}; later ones are shorter after a local phase that
   * improved the point it refined (the incumbent; on a mixed space, its branch's best) and longer
   * after one that did not (between a third and three times this). A finite number > 0.
   */
  readonly globalPhase?: number;
  /**
   * A local phase ends after this many evaluations in a row, as a multiple of (d + 1), that do
   * not improve on its best value (counted after the d evaluations that build a simplex), or
   * earlier when its simplex converges or goes flat. Default 8. A finite number > 0.
   */
  readonly stagnation?: number;
  /**
   * Largest share of the refine budget the opening global phase may take. The run opens with
   * `globalPhase · (d + 1)` TPE trials, or this share of the trials left after the probe if that
   * is fewer, before the first local phase. 0 opens with the local phase. Default 0.3. In [0, 1).
   */
  readonly openingShare?: number;
  /**
   * Trials a local phase needs to pay for a new simplex, as a multiple of (d + 1): d of them only
   * build it. On a mixed space d here is the number of float and int parameters, the coordinates
   * the simplex moves (it holds the categorical ones, which cost it nothing to build). When a global phase ends with fewer trials left than this and the local phase would
   * need a new simplex (none yet, the last one converged, or the incumbent moved), no local phase
   * starts: the global phase carries on to the end of the budget with forced TPE's sharper
   * settings (γ 0.07, cubic rank weights, bandwidth floor 0.045), which exploit the best region
   * found without a simplex. A simplex that can carry on where it stopped is always resumed.
   * 0 never holds the global phase. Default 4. A finite number ≥ 0.
   */
  readonly localRoom?: number;
  /**
   * Smallest gain that counts as progress in a local phase, as a share of the value scale (the
   * median of the values seen so far minus the incumbent's, taken when the phase starts). A
   * smaller improvement still moves the incumbent but does not reset the phase's stagnation
   * count, so a simplex creeping down the bottom of one basin hands the trials back to the global
   * model sooner. 0 (the default) counts every improvement. Measured on the B1 development half
   * (seeds 1..20, budget 300, median regret): 0.01 took Salomon-5D from 0.75 to 0.61, but
   * Hartmann-6 from 5.5e-7 to 2.3e-6, Rosenbrock-5D from 2.0 to 2.7 and Simulated training (mixed)
   * from 0.0019 to 0.015, as fewer runs found its better branch: no net gain, so it is off by
   * default. For rugged problems where the last digits do not matter.
   * In [0, 1).
   */
  readonly minGain?: number;
  /**
   * Share of a local phase's results that repeat a value the phase has already seen, at which the
   * run takes its landscape for steps rather than slopes: a plateau, or integer parameters whose
   * neighbouring cells measure alike (distinct points, equal values). Nelder–Mead compares values
   * and has nothing to compare there, so the phase ends, and from then on every global phase uses
   * forced TPE's sharper settings (see `localRoom`), which need no slope; local phases still
   * alternate with them. Ties are counted on finite values, leaving out the simplex's first d results in the
   * phase (a new simplex's one-axis vertices tie along irrelevant dimensions, which is no plateau;
   * they arrive among the trust region's results, one trial at a time or with two workers), and
   * judged once at least d results count. A smooth run that has converged to the digits a double
   * holds also repeats values, at distinct points; by then the rule costs nothing (Hartmann-6
   * fires it on some seeds with the same final regret). Chosen on the B1 development half, seeds 1..120,
   * before the trust region's turns, when the phase's first d results were left out whoever
   * proposed them: any share from 0.2 to
   * 0.5 changes one development cell, Step-ellipsoid-6D at budget 100 (mean regret 20.4 → 10.3–11.0,
   * median 16.6 → 4.0–7.3; forced TPE's median 6.3), and leaves every other cell as it was; 0.1
   * also fires on Simulated training's integers and loses its better branch more often (median at
   * 300 from 0.00066 to 0.019). 0.3 had the lowest mean at budget 300 on Step-ellipsoid-6D (1.9).
   * 0 turns it off. Default 0.3. In [0, 1].
   */
  readonly tieShare?: number;
  /**
   * One trial at a time, a local phase has two methods: its simplex and a trust region (the
   * minimiser of a quadratic fitted to the points nearest the incumbent; from three trials at once
   * the region takes them all). Each trial goes to whichever has lately improved the phase's
   * best more often, and neither waits more than `maxStreak` trials in a row (see
   * src/solver/local-turns.ts). A bowl under ripples, where a simplex creeps, and a long valley
   * go to the region; a kink at the minimum, which no quadratic fits, to the simplex. Chosen on
   * the B1 development half, seeds 1..100 (docs/benchmarks.md at 035e597, B1): the mean of
   * log₁₀ regret over its 44 cells went from −0.80 with the simplex alone to −1.56 with 8.
   * Anything from 3 to 12 gave −1.50 to −1.56, but 3 to 6 also left Rosenbrock-5D @100 more
   * than 10 % behind forced Nelder–Mead. The region's results count as they do in parallel
   * batches: towards the phase's stagnation and `tieShare`, and one that ties the phase's best
   * ends the phase; leaving the region's results out of both tie rules lost Step-ellipsoid-6D
   * @300 and Simulated training @300 their better medians (mean −1.49). With one or two workers
   * every ask for one trial gets a turn; from three trials at once the region takes every local
   * trial (see `BATCH_FROM` in src/solver/global-local.ts). 0 turns the turns off: with one
   * worker the simplex alone, as before; with two, the region still fills what the simplex
   * leaves of a batch. Default 8. A whole number ≥ 0.
   */
  readonly maxStreak?: number;
  /**
   * Share of the workers a local phase keeps busy once three or more trials run at once: it holds
   * at most ⌈localBusyShare · c⌉ trials running, c being the most trials asked to run at once so
   * far (running plus asked for: the pool's size), and `ask` returns `[]` for the rest until a
   * result comes in (an ask that finds a larger pool than before fills it). A local phase
   * steps from its latest results, and each trial running is one the next step cannot see: one
   * fewer running costs 8 workers an eighth more time in local phases and buys better regret.
   * Measured on the B1 development half with 8 workers (7 running), the change in log₁₀ regret
   * floored at 1e-6, paired by seed, mean over its 44 cells ± standard error: −0.072 ± 0.022 on
   * seeds 1..60, −0.028 ± 0.040 on seeds 61..120. A first form, which took the pool's size from
   * each ask alone, gave −0.086 with 7 running and −0.14 and −0.16 with 6 and 5, which idle a
   * quarter of the pool or more. 0.8 rounds up to every worker up to four, and keeps at least
   * 80 % busy at any size. Global phases keep every worker busy: 7 running there too gave
   * −0.051 ± 0.036 and −0.010 ± 0.038, within the seeds' noise. Default 0.8. In (0, 1]; 1 keeps
   * every worker busy.
   */
  readonly localBusyShare?: number;
}

/** {@link GlobalLocalOptions} with every default filled in. */
export interface ResolvedGlobalLocalOptions {
  readonly gamma: number;
  readonly candidates: number;
  readonly bandwidthFloor: number;
  readonly rankExponent: number;
  readonly localStep: number;
  readonly globalPhase: number;
  readonly stagnation: number;
  readonly openingShare: number;
  readonly localRoom: number;
  readonly minGain: number;
  readonly tieShare: number;
  readonly maxStreak: number;
  readonly localBusyShare: number;
}

/** The defaults of {@link GlobalLocalOptions}. */
export const GLOBAL_LOCAL_DEFAULTS: ResolvedGlobalLocalOptions = Object.freeze({
  gamma: 0.15,
  candidates: 24,
  bandwidthFloor: 0.15,
  rankExponent: 1,
  localStep: 0.15,
  globalPhase: 3,
  stagnation: 8,
  openingShare: 0.3,
  localRoom: 4,
  minGain: 0,
  tieShare: 0.3,
  maxStreak: 8,
  localBusyShare: 0.8,
});

/**
 * Most candidates a new config may ask TPE to score per proposal. Each candidate is scored against
 * every kernel of both models, so one ask costs in proportion: 10 000 already takes tens of
 * milliseconds at d = 16, and far larger counts would not fit the per-candidate arrays in memory.
 * A saved run is not held to it (its config was valid when it was written).
 */
export const MAX_TPE_CANDIDATES = 10_000;

/** Problems with `options`, each as [field, reason]; empty when valid. */
export function globalLocalOptionProblems(options: GlobalLocalOptions): [string, string][] {
  const o = { ...GLOBAL_LOCAL_DEFAULTS, ...options };
  const problems: [string, string][] = [];
  const check = (ok: boolean, name: keyof GlobalLocalOptions, expected: string): void => {
    const value = o[name];
    if (!(typeof value === "number" && ok))
      problems.push([name, `expected ${expected}, got ${String(value)}`]);
  };
  check(o.gamma > 0 && o.gamma <= 1, "gamma", "a number in (0, 1]");
  check(Number.isSafeInteger(o.candidates) && o.candidates >= 1, "candidates", "a whole number ≥ 1");
  check(o.bandwidthFloor > 0 && o.bandwidthFloor <= 1, "bandwidthFloor", "a number in (0, 1]");
  check(o.rankExponent >= 0 && o.rankExponent < Infinity, "rankExponent", "a finite number ≥ 0");
  check(o.localStep > 0 && o.localStep <= 0.5, "localStep", "a number in (0, 0.5]");
  check(o.globalPhase > 0 && o.globalPhase < Infinity, "globalPhase", "a finite number > 0");
  check(o.stagnation > 0 && o.stagnation < Infinity, "stagnation", "a finite number > 0");
  check(o.openingShare >= 0 && o.openingShare < 1, "openingShare", "a number in [0, 1)");
  check(o.localRoom >= 0 && o.localRoom < Infinity, "localRoom", "a finite number ≥ 0");
  check(o.minGain >= 0 && o.minGain < 1, "minGain", "a number in [0, 1)");
  check(o.tieShare >= 0 && o.tieShare <= 1, "tieShare", "a number in [0, 1]");
  check(Number.isSafeInteger(o.maxStreak) && o.maxStreak >= 0, "maxStreak", "a whole number ≥ 0");
  check(o.localBusyShare > 0 && o.localBusyShare <= 1, "localBusyShare", "a number in (0, 1]");
  return problems;
}

function resolve(options: GlobalLocalOptions): ResolvedGlobalLocalOptions {
  const problems = globalLocalOptionProblems(options);
  if (problems.length > 0) {
    throw new RangeError(
      `invalid global-local options: ${problems.map(([k, why]) => `${k}: ${why}`).join("; ")}`,
    );
  }
  const o = { ...GLOBAL_LOCAL_DEFAULTS, ...options };
  return {
    gamma: o.gamma,
    candidates: o.candidates,
    bandwidthFloor: o.bandwidthFloor,
    rankExponent: o.rankExponent,
    localStep: o.localStep,
    globalPhase: o.globalPhase,
    stagnation: o.stagnation,
    openingShare: o.openingShare,
    localRoom: o.localRoom,
    minGain: o.minGain,
    tieShare: o.tieShare,
    maxStreak: o.maxStreak,
    localBusyShare: o.localBusyShare,
  };
}

/**
 * The local method of a global-local run: where a simplex works and how it is rebuilt. The
 * default moves every coordinate; a mixed space plugs in one over its numeric coordinates
 * (src/solver/mixed-global-local.ts).
 */
export interface LocalMethod {
  /**
   * A fresh simplex around the history's best point `at` (null: no history yet), edge `step`;
   * `previous` is the simplex it replaces (null for the first).
   */
  create(
    step: number,
    seed: number,
    at: readonly number[] | null,
    previous: NelderMeadStrategy | null,
  ): NelderMeadStrategy;
  /** Rebuilds a simplex from its `toJSON()`. */
  restore(state: StrategyState): NelderMeadStrategy;
  /** The simplex's vertices in the full space's coordinates, best first. */
  vertices(local: NelderMeadStrategy): readonly (readonly number[])[];
}

/** A local phase's trust region: its turns one trial at a time, and every trial of a batch. */
export interface LocalRegion {
  /**
   * A point near `center`: the history index the local phase works around (the incumbent, or the
   * best point of the branch it refines), away from `unfinished`: the points of failed and pruned
   * trials (`StrategyContext.unfinished`).
   */
  propose(
    history: readonly Evaluation[],
    center: number,
    pending: readonly (readonly number[])[],
    id: number,
    unfinished: readonly (readonly number[])[],
  ): number[];
  /**
   * Takes a result. Returns whether, on ints, the region held no cell neither measured nor running
   * when it proposed the point (drawn from a wider box instead): the phase counts it as a repeat.
   */
  tell(id: number, value: number): boolean;
  /** Forgets a pending point given up before it was evaluated: no success, no failure. */
  cancel(id: number): void;
  /** Widens the region to at least `radius`, for a local phase around a moved centre. */
  widen(radius: number): void;
  toJSON(): Record<string, unknown>;
}

/** The sharper model a global phase held to the end of the budget uses (see `localRoom`). */
export interface FocusedModel {
  create(seed: number): Strategy;
  restore(state: StrategyState): Strategy;
}

/** Forced TPE's settings over a d-dimensional cube: the default focused model. */
function forcedTpe(d: number, hooks: TpeHooks = {}): FocusedModel {
  return { create: (seed) => createTpe(d, seed, {}, hooks), restore: (state) => restoreTpe(state, hooks) };
}

/** Nelder–Mead over every coordinate of a d-dimensional cube: the default local method. */
function everyCoordinate(d: number, cells?: DiscreteCells): LocalMethod {
  // The local phase ends when its simplex converges: it must not restart by itself mid-ask.
  const hooks = { measuredAt: cells?.snap, holdAtConvergence: true };
  return {
    create: (step, seed) => createNelderMead(d, seed, { initialStep: step }, hooks),
    restore: (state) => restoreNelderMead(state, hooks),
    vertices: (local) => local.toJSON().vertices as number[][],
  };
}

/** Bounds of the adaptive global-phase factor, and how far one local phase's outcome moves it. */
const MIN_FACTOR = 1 / 3;
const MAX_FACTOR = 3;
const FACTOR_STEP = 1.5;

/**
 * Trials running at once, this ask's included, from which a local phase hands every trial to the
 * trust region. A simplex moves one vertex per result: among c workers it gets one trial in c,
 * each step waits for the results the others hold up, and its points count towards the phase's
 * stagnation all the same. Measured on the B1 development half with 8 workers by the mean of
 * log₁₀ regret (floored at 1e-12) over its 36 continuous cells: −2.50 → −2.55 on seeds 1..60 and
 * −2.58 → −2.61 on seeds 61..120. On its mixed cells (seeds 1..60, medians) Simulated training
 * @300 went 0.0020 → 0.0005 and Batch pipeline @100 0.0075 → 0.0088; the others moved by at most
 * 13 %. Below this (one or two workers) the simplex and the region take turns (`maxStreak`).
 */
const BATCH_FROM = 3;

/**
 * Smallest edge of a simplex restarted near the old one (it contracts further by itself), and the
 * least radius the trust region is widened to at a restart (see `restartRadius`).
 */
const MIN_STEP = 1e-3;

/** Seed offsets, so the inner strategies never share a PRNG sequence with each other. */
const TPE_SEED = 0x474c54;
const LOCAL_SEED = 0x474c4c;
const FILL_SEED = 0x474c46;
const FOCUSED_SEED = 0x474c5a;

const STATE_VERSION = 1;

/**
 * Who proposed a pending trial: TPE (−1), the trust region (−2) or the local simplex of that
 * generation.
 */
const GLOBAL = -1;
/** Owner of a point from the trust region (see `fill`). */
const REGION = -2;
/** Owner of a point from the focused TPE that ends a run without room for a local phase. */
const FOCUSED = -3;

type Phase = "global" | "local";

function rank(value: number): number {
  return Number.isNaN(value) ? Number.POSITIVE_INFINITY : value;
}

/** The default strategy behind {@link createGlobalLocal}. */
class GlobalLocal implements Strategy {
  readonly name = "global-local" as const;

  private readonly d: number;
  /**
   * Coordinates a local simplex moves (`d`, or fewer on a mixed space, whose categorical
   * coordinates it holds): the trials a new simplex spends before its first step, which
   * `localRoom` makes room for.
   */
  private readonly simplexD: number;
  private readonly seed: number;
  private readonly options: ResolvedGlobalLocalOptions;
  private readonly tpe: Strategy;
  /** Forced TPE's settings, for a global phase held to the end (`localRoom`); made on first use. */
  private focused: Strategy | null = null;
  private local: NelderMeadStrategy | null = null;
  /** Local simplexes started so far; the current one is generation `generation − 1`. */
  private generation = 0;
  /** Pending trial id → proposer ({@link GLOBAL}, {@link REGION} or a local generation). */
  private readonly owners = new Map<number, number>();

  /**
   * Trials of the opening global phase, fixed at the first ask from the budget left (−1 before).
   * With 0 the run opens local, from the best probe point.
   */
  private opening = -1;
  private phase: Phase = "local";
  /** Proposals made in the current global phase. */
  private globalAsked = 0;
  /**
   * Whether the current global phase has run past its length because too few trials are left for
   * a new simplex (`localRoom`): it then lasts to the end, with the focused model.
   */
  private held = false;
  /** Local results told in the current local phase, and how many since its best improved. */
  private localTold = 0;
  private sinceImproved = 0;
  /**
   * Whether a trust-region result has tied the local phase's best: the region stepped onto the
   * centre's plateau, where neither it nor the simplex has a slope to follow.
   */
  private fillTied = false;
  /** Best value when the current phase began, and the best value it has seen. */
  private phaseStartBest = Number.POSITIVE_INFINITY;
  private phaseBest = Number.POSITIVE_INFINITY;
  /**
   * The least gain that counts as progress in the current local phase (`minGain` of the value
   * scale when it began), and the value a result must beat by that much to count: the phase's
   * best when it last made progress.
   */
  private gainThreshold = 0;
  private progressMark = Number.POSITIVE_INFINITY;
  /**
   * Distinct finite values told in the current local phase, its simplex results, and how many of
   * its results repeated a value, leaving out the simplex's first d (see `tieShare`).
   */
  private readonly phaseValues = new Set<number>();
  private simplexTold = 0;
  private ties = 0;
  /** Whether a local phase has found steps rather than slopes: global phases use the focused model. */
  private stepped = false;
  /**
   * The most trials asked to run at once so far (running plus asked for): the pool's size, which
   * `localBusyShare` is a share of. The most, so that an ask for fewer than the free workers (the
   * end of a budget, a caller's own limit) does not shrink it. An ask that finds a larger pool
   * than any before is not held back: workers that join one ask at a time (a shared study's)
   * would otherwise be held at the share of the few seen first, since a shared study undoes an
   * ask that hands out nothing.
   */
  private poolSize = 0;
  /** The adaptive factor on the global phase's length. */
  private factor = 1;
  /** History index of the centre when the last local phase ended (−1: none). */
  private localAnchor = -1;
  /** History index of the incumbent when the last local phase ended (−1: none). */
  private lastIncumbent = -1;
  /**
   * The branch local phases refine (null: the incumbent's, as on a space without branches), and
   * its best point (history index and value): the centre the simplex and the region work around.
   */
  private focus: string | null = null;
  private center = -1;
  private centerValue = Number.POSITIVE_INFINITY;
  /**
   * Branches refined as far as a local phase can, each with its best value then: their last phase
   * improved nothing, or ended with nothing left to refine (a converged or flat simplex, a tie,
   * steps). A better point found in one later (by the global phase) makes it worth a phase again.
   */
  private readonly exhausted = new Map<string, number>();
  /**
   * One branch: centres of local phases that came to nothing (improved nothing, or left nothing
   * to refine), as [history index, value then]. The points within `localStep` of one, no better
   * than it, are its basin: refined as far as a local phase goes.
   */
  private readonly basins: [number, number][] = [];
  /**
   * One branch: the history index a turned local phase started from (−1: local phases follow the
   * incumbent). The phase's centre is then the best point within `localStep` of it.
   */
  private turnedFrom = -1;
  /**
   * Whether a global result beat the incumbent during the current local phase (with workers):
   * the centre then jumped to a point the phase never refined, so the phase marks no basin.
   */
  private jumped = false;
  /** The branch the current local phase started on: the one its outcome is charged to. */
  private phaseFocus: string | null = null;
  /** Whether the next local step starts a new simplex (the centre moved since the anchor). */
  private restartDue = false;
  /** History entries examined, and the index of the best among them. */
  private scanned = 0;
  private incumbent = -1;
  private incumbentValue = Number.POSITIVE_INFINITY;
  /** The local phase's trust region (see `fill`). */
  private readonly region: LocalRegion;
  private readonly method: LocalMethod;
  private readonly sharp: FocusedModel;
  /** The branch of a point (see {@link GlobalLocalParts.branchOf}); null: one branch. */
  private readonly branchOf: ((u: readonly number[]) => string) | null;
  /** Whether a sequential local trial goes to the simplex or the region (null: `maxStreak` 0). */
  private turns: LocalTurns | null;

  constructor(
    dimension: number,
    seed: number,
    options: ResolvedGlobalLocalOptions,
    tpe: Strategy,
    region: LocalRegion,
    method: LocalMethod = everyCoordinate(dimension),
    sharp: FocusedModel = forcedTpe(dimension),
    branchOf: ((u: readonly number[]) => string) | null = null,
    simplexDimension: number = dimension,
  ) {
    this.d = dimension;
    this.simplexD = simplexDimension;
    this.seed = seed;
    this.options = options;
    this.tpe = tpe;
    this.region = region;
    this.method = method;
    this.sharp = sharp;
    this.branchOf = branchOf;
    this.turns = options.maxStreak > 0 ? new LocalTurns(options.maxStreak) : null;
  }

  private get globalLength(): number {
    if (this.generation === 0 && this.opening > 0) return this.opening;
    return Math.max(1, Math.round(this.options.globalPhase * this.factor * (this.d + 1)));
  }

  /** Fewest trials left in which a new simplex may start (`localRoom`, in its own dimension). */
  private get localRoomTrials(): number {
    return this.options.localRoom * (this.simplexD + 1);
  }

  private get stagnationLimit(): number {
    // The simplex's d new vertices come first; stagnation is counted on top of them.
    return this.d + Math.max(1, Math.round(this.options.stagnation * (this.d + 1)));
  }

  ask(context: StrategyContext, max: number, firstId: number): number[][] | null {
    this.scan(context.history);
    const grew = context.pending.length + max > this.poolSize;
    this.poolSize = Math.max(this.poolSize, context.pending.length + max);
    if (this.opening < 0) {
      // A model of the whole space first: a probe of 2d + 2 points rarely lands in the best
      // basin, and a simplex started there spends the budget refining the wrong one.
      const share = Math.round(this.options.openingShare * context.remaining);
      const opening = Math.min(share, Math.round(this.options.globalPhase * (this.d + 1)));
      // Opening with the local phase: its simplex is built around the probe's best point, so it
      // waits for the probe's last results (fixing nothing yet: the next ask decides afresh).
      if (opening === 0 && context.probeOutstanding === true) return [];
      this.opening = opening;
      if (this.opening > 0) this.phase = "global";
      // No room for a local phase after the opening one (high dimension, small budget): the wide
      // floor is there to keep exploring while a simplex refines, and none will. The run is one
      // global phase held to the end, with the focused model from its first trial.
      if (this.opening > 0 && context.remaining + max - this.opening < this.localRoomTrials) {
        this.held = true;
      }
    }
    // Likewise when a wide batch has handed out a short opening before the probe's results are in:
    // the first local phase would choose its centre from part of the probe. The opening goes on
    // meanwhile rather than leave workers idle (one slow probe trial held seven of eight idle for
    // as long as it ran): more of the global model, which the local phase then starts from.
    const awaitingProbe =
      context.probeOutstanding === true &&
      this.generation === 0 &&
      this.phase === "global" &&
      !this.held &&
      this.globalAsked + max > this.globalLength;
    if (awaitingProbe) return this.askGlobal(context, max, firstId, max);
    if (this.generation === 0 && this.phase === "local") {
      // The first local phase measures its progress from the best probe point.
      if (this.focus === null && this.branchOf !== null && this.incumbent >= 0) {
        this.focus = this.branchOf(context.history[this.incumbent]!.u);
        this.phaseFocus = this.focus;
      }
      this.phaseStartBest = this.incumbentValue;
      this.phaseBest = Math.min(this.phaseBest, this.incumbentValue);
      this.progressMark = this.phaseBest;
      this.gainThreshold = this.valueScale(context.history);
    }
    this.switchIfDue(context.remaining + max, context.history);
    if (this.phase === "global") {
      // One point at a time by default: each result sharpens the model for the next.
      const room = this.held ? max : Math.max(1, this.globalLength - this.globalAsked);
      return this.askGlobal(context, max, firstId, room);
    }
    if (this.local === null || (this.restartDue && !this.localBusy())) {
      this.startLocal(context.history);
      this.restartDue = false;
    }
    // BATCH_FROM trials at once go to the region alone; below that, an ask for one takes a turn.
    const batch = context.pending.length + max >= BATCH_FROM;
    if (batch && !grew) {
      // Hold some workers back (localBusyShare): the next step sees more of the latest results.
      const cap = Math.ceil(this.options.localBusyShare * this.poolSize);
      max = Math.min(max, cap - context.pending.length);
      if (max <= 0) return [];
    }
    const toRegion =
      this.center >= 0 && (batch || (max === 1 && !this.localBusy() && this.turns?.next() === true));
    if (toRegion) {
      const points: number[][] = [];
      this.fill(context, max, firstId, points);
      return points;
    }
    const points = this.local!.ask(context, max, firstId) ?? [];
    for (let k = 0; k < points.length; k++) this.owners.set(firstId + k, this.generation - 1);
    if (points.length < max) this.fill(context, max, firstId, points);
    return points;
  }

  /** Up to `min(max, room)` points of the global phase's model (TPE, or its focused form). */
  private askGlobal(context: StrategyContext, max: number, firstId: number, room: number): number[][] {
    let model = this.tpe;
    let owner = GLOBAL;
    if (this.held || this.stepped) {
      this.focused ??= this.sharp.create(this.seed ^ FOCUSED_SEED);
      model = this.focused;
      owner = FOCUSED;
    }
    const points = model.ask(context, Math.min(max, room), firstId) ?? [];
    for (let k = 0; k < points.length; k++) this.owners.set(firstId + k, owner);
    this.globalAsked += points.length;
    return points;
  }

  /**
   * Points from the trust region around the centre (src/solver/trust-region.ts): minimisers of
   * a quadratic fitted to the nearest points, spread apart from the running ones. From
   * {@link BATCH_FROM} trials at once they are every local trial; with two workers they fill
   * what the simplex (one point per step, d when it builds or shrinks) leaves of a batch; one
   * trial at a time, they are the region's turns (`maxStreak`).
   */
  private fill(context: StrategyContext, max: number, firstId: number, points: number[][]): void {
    if (this.center < 0) return;
    const pending = [...context.pending, ...points];
    const unfinished = context.unfinished ?? [];
    for (let id = firstId + points.length; points.length < max; id++) {
      const point = this.region.propose(context.history, this.center, pending, id, unfinished);
      this.owners.set(id, REGION);
      points.push(point);
      pending.push(point);
    }
  }

  cancel(id: number): void {
    const owner = this.owners.get(id);
    if (owner === undefined) return;
    this.owners.delete(id);
    // Nothing was learnt, so no phase counts it: the simplex hands its vertex out again, the
    // region keeps its radius and the models forget the point.
    if (owner === GLOBAL) this.tpe.cancel(id);
    else if (owner === FOCUSED) this.focused?.cancel(id);
    else if (owner === REGION) this.region.cancel(id);
    else if (owner === this.generation - 1) this.local!.cancel(id);
  }

  tell(id: number, value: number): void {
    const owner = this.owners.get(id);
    if (owner === undefined) return;
    this.owners.delete(id);
    if (owner === GLOBAL || owner === FOCUSED) {
      if (owner === GLOBAL) this.tpe.tell(id, value);
      else this.focused?.tell(id, value);
      if (this.phase === "local" && rank(value) < this.incumbentValue) this.jumped = true;
      return;
    }
    let crowded = false;
    if (owner === REGION) {
      crowded = this.region.tell(id, value);
    } else {
      if (owner !== this.generation - 1) return; // a simplex since replaced
      this.local!.tell(id, value);
    }
    if (this.phase !== "local") return;
    this.localTold++;
    if (owner !== REGION) this.simplexTold++;
    const countsForTies = owner === REGION || this.simplexTold > this.d;
    const v = rank(value);
    if (Number.isFinite(v)) {
      // A trial drawn beyond a region with no free int cell counts as a repeat: one trial at a
      // time, such a region's draw repeats a measured cell. (Under rules 3 it did not, and with
      // 8 workers the phases of a branch of ints ran to the stagnation limit, which follows the
      // whole space's dimension.)
      if (countsForTies && (crowded || this.phaseValues.has(v))) this.ties++;
      this.phaseValues.add(v);
    }
    const better = v < this.phaseBest;
    this.turns?.record(owner === REGION, better);
    if (better) this.phaseBest = v;
    if (v < this.progressMark - this.gainThreshold) {
      this.progressMark = v;
      this.sinceImproved = 0;
    } else {
      this.sinceImproved++;
      // Only the region: a simplex vertex tying the best is common along irrelevant dimensions.
      if (owner === REGION && !better && v === this.phaseBest) this.fillTied = true;
    }
  }

  budgetGrew(): void {
    // A phase held to the end of the old budget ends at its length again, and the switch then
    // holds it anew only if the grown budget still leaves no room for a simplex.
    this.held = false;
  }

  toJSON(): StrategyState {
    return {
      kind: "global-local",
      version: STATE_VERSION,
      dimension: this.d,
      seed: this.seed,
      options: { ...this.options },
      tpe: this.tpe.toJSON(),
      focused: this.focused?.toJSON() ?? null,
      local: this.local?.toJSON() ?? null,
      generation: this.generation,
      owners: [...this.owners.entries()],
      opening: this.opening,
      phase: this.phase,
      globalAsked: this.globalAsked,
      held: this.held,
      localTold: this.localTold,
      sinceImproved: this.sinceImproved,
      fillTied: this.fillTied,
      phaseStartBest: encode(this.phaseStartBest),
      phaseBest: encode(this.phaseBest),
      gainThreshold: this.gainThreshold,
      progressMark: encode(this.progressMark),
      factor: this.factor,
      localAnchor: this.localAnchor,
      lastIncumbent: this.lastIncumbent,
      focus: this.focus,
      center: this.center,
      centerValue: encode(this.centerValue),
      phaseFocus: this.phaseFocus,
      exhausted: [...this.exhausted].map(([branch, value]) => [branch, encode(value)]),
      basins: this.basins.map(([at, value]) => [at, encode(value)]),
      turnedFrom: this.turnedFrom,
      jumped: this.jumped,
      restartDue: this.restartDue,
      scanned: this.scanned,
      incumbent: this.incumbent,
      incumbentValue: encode(this.incumbentValue),
      region: this.region.toJSON(),
      phaseValues: [...this.phaseValues],
      simplexTold: this.simplexTold,
      ties: this.ties,
      poolSize: this.poolSize,
      stepped: this.stepped,
      turns: this.turns?.toJSON() ?? null,
    };
  }

  /** Loads the mutable part of a state written by {@link GlobalLocal.toJSON}. */
  load(state: StrategyState): void {
    const bad = (what: string): never => {
      throw new RangeError(`invalid global-local state: ${what}`);
    };
    const count = (v: unknown, what: string, least = 0): number =>
      Number.isSafeInteger(v) && (v as number) >= least ? (v as number) : bad(what);
    if (state.local !== null) {
      if (typeof state.local !== "object") bad("local");
      this.local = this.method.restore(state.local as StrategyState);
    }
    // States written before the focused model existed have none (and no held phase).
    if (state.focused !== undefined && state.focused !== null) {
      if (typeof state.focused !== "object") bad("focused");
      this.focused = this.sharp.restore(state.focused as StrategyState);
    }
    this.generation = count(state.generation, "generation");
    if (!Array.isArray(state.owners)) bad("owners");
    for (const entry of state.owners as unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 2) bad("owners");
      const [id, owner] = entry as unknown[];
      this.owners.set(count(id, "owners"), count(owner, "owners", FOCUSED));
    }
    // States written before the opening phase existed had opened local.
    this.opening = state.opening === undefined ? 0 : count(state.opening, "opening", -1);
    if (state.phase !== "global" && state.phase !== "local") bad("phase");
    this.phase = state.phase as Phase;
    this.globalAsked = count(state.globalAsked, "globalAsked");
    if (state.held !== undefined && typeof state.held !== "boolean") bad("held");
    this.held = state.held === true;
    this.localTold = count(state.localTold, "localTold");
    this.sinceImproved = count(state.sinceImproved, "sinceImproved");
    if (state.fillTied !== undefined && typeof state.fillTied !== "boolean") bad("fillTied");
    this.fillTied = state.fillTied === true;
    this.phaseStartBest = decode(state.phaseStartBest, bad);
    this.phaseBest = decode(state.phaseBest, bad);
    // States written before minGain existed counted every improvement.
    const threshold = state.gainThreshold ?? 0;
    if (typeof threshold !== "number" || !(threshold >= 0 && threshold < Infinity)) bad("gainThreshold");
    this.gainThreshold = threshold as number;
    this.progressMark = state.progressMark === undefined ? this.phaseBest : decode(state.progressMark, bad);
    const factor = state.factor;
    if (typeof factor !== "number" || !(factor >= MIN_FACTOR && factor <= MAX_FACTOR)) bad("factor");
    this.factor = factor as number;
    this.localAnchor = count(state.localAnchor, "localAnchor", -1);
    if (typeof state.restartDue !== "boolean") bad("restartDue");
    this.restartDue = state.restartDue as boolean;
    this.scanned = count(state.scanned, "scanned");
    this.incumbent = count(state.incumbent, "incumbent", -1);
    // Both index the history the state was written against: past its end, the state is not one.
    if (this.incumbent >= this.scanned) bad("incumbent");
    if (this.localAnchor >= this.scanned) bad("localAnchor");
    this.incumbentValue = decode(state.incumbentValue, bad);
    // States written before branches existed followed the incumbent (one branch).
    this.lastIncumbent = count(state.lastIncumbent ?? this.localAnchor, "lastIncumbent", -1);
    if (this.lastIncumbent >= this.scanned) bad("lastIncumbent");
    if (state.focus !== undefined && state.focus !== null && typeof state.focus !== "string") bad("focus");
    this.focus = (state.focus as string | null | undefined) ?? null;
    this.center = count(state.center ?? this.incumbent, "center", -1);
    if (this.center >= this.scanned) bad("center");
    this.centerValue = state.centerValue === undefined ? this.incumbentValue : decode(state.centerValue, bad);
    if (state.phaseFocus !== undefined && state.phaseFocus !== null && typeof state.phaseFocus !== "string") {
      bad("phaseFocus");
    }
    this.phaseFocus = state.phaseFocus === undefined ? this.focus : (state.phaseFocus as string | null);
    const exhausted = state.exhausted ?? [];
    if (!Array.isArray(exhausted)) bad("exhausted");
    for (const entry of exhausted as unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string") bad("exhausted");
      const [branch, value] = entry as [string, unknown];
      this.exhausted.set(
        branch,
        decode(value, () => bad("exhausted")),
      );
    }
    // States written before basins existed had none (local phases followed the incumbent).
    const basins = state.basins ?? [];
    if (!Array.isArray(basins)) bad("basins");
    for (const entry of basins as unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 2) bad("basins");
      const [at, value] = entry as [unknown, unknown];
      const index = count(at, "basins");
      if (index >= this.scanned) bad("basins");
      this.basins.push([index, decode(value, () => bad("basins"))]);
    }
    this.turnedFrom = count(state.turnedFrom ?? -1, "turnedFrom", -1);
    if (this.turnedFrom >= this.scanned) bad("turnedFrom");
    // Basins are a one-branch rule: a mixed run's branches take their place.
    if (this.branchOf !== null && this.basins.length > 0) bad("basins");
    if (this.branchOf !== null && this.turnedFrom >= 0) bad("turnedFrom");
    if (state.jumped !== undefined && typeof state.jumped !== "boolean") bad("jumped");
    this.jumped = state.jumped === true;
    // States written before tieShare existed have no tie count (and their options turn it off).
    const values = state.phaseValues ?? [];
    if (!Array.isArray(values) || !values.every((v) => typeof v === "number" && Number.isFinite(v))) {
      bad("phaseValues");
    }
    for (const v of values as number[]) this.phaseValues.add(v);
    this.ties = count(state.ties ?? 0, "ties");
    // States written before the simplex's own first d results were left out had left out the
    // phase's first d: counting every result so far as the simplex's keeps the count they made.
    this.simplexTold = count(state.simplexTold ?? this.localTold, "simplexTold");
    if (this.simplexTold > this.localTold) bad("simplexTold");
    if (state.stepped !== undefined && typeof state.stepped !== "boolean") bad("stepped");
    this.stepped = state.stepped === true;
    // States written before localBusyShare learn the pool's size from the next ask.
    this.poolSize = count(state.poolSize ?? 0, "poolSize");
    // States written before the trust region took sequential turns have none (and `maxStreak` 0).
    if (this.options.maxStreak > 0) this.turns = LocalTurns.restore(this.options.maxStreak, state.turns);
  }

  /** Follows the incumbent through the history entries told since the last ask. */
  private scan(history: readonly Evaluation[]): void {
    if (history.length < this.scanned) {
      this.scanned = 0;
      this.incumbent = -1;
      this.incumbentValue = Number.POSITIVE_INFINITY;
      this.center = -1;
      this.centerValue = Number.POSITIVE_INFINITY;
      // Anchors and branch records index or describe the old history.
      this.localAnchor = -1;
      this.focus = null;
      this.phaseFocus = null;
      this.exhausted.clear();
      this.basins.length = 0;
      this.turnedFrom = -1;
      this.lastIncumbent = -1;
    }
    for (let i = this.scanned; i < history.length; i++) {
      const v = rank(history[i]!.value);
      const record = this.incumbent < 0 || v < this.incumbentValue;
      if (record) {
        this.incumbent = i;
        this.incumbentValue = v;
      }
      // A new incumbent takes the local phase with it, to its own branch if need be.
      if (record || (this.focus === null && this.turnedFrom < 0)) {
        if (record && this.focus !== null) this.focus = this.branchOf?.(history[i]!.u) ?? null;
        if (record) this.turnedFrom = -1;
        this.center = this.incumbent;
        this.centerValue = this.incumbentValue;
      } else if (this.turnedFrom >= 0) {
        if (v < this.centerValue && this.near(history[i]!.u, history[this.turnedFrom]!.u)) {
          this.center = i;
          this.centerValue = v;
        }
      } else if ((this.center < 0 || v < this.centerValue) && this.branchOf?.(history[i]!.u) === this.focus) {
        this.center = i;
        this.centerValue = v;
      }
    }
    this.scanned = history.length;
  }

  /**
   * Moves between phases. A global phase ends after its length, unless fewer than `localRoom ·
   * (d + 1)` trials are `left` (this ask's included) and the local phase would need a new simplex:
   * then it holds to the end. A local phase ends once it stops improving. A local phase that
   * improved its centre shortens the next global phase; one that did not lengthens it.
   */
  private switchIfDue(left: number, history: readonly Evaluation[]): void {
    if (this.phase === "global") {
      if (this.held || this.globalAsked < this.globalLength) return;
      const target = this.nextCenter(history);
      // A turn: the phase moves to another branch than the one the last phase refined, or (one
      // branch) to another basin than the incumbent's.
      // A turned basin not exhausted (its last phase improved its centre) is resumed at its
      // centre, not turned to again.
      const resumed =
        this.branchOf === null && this.turnedFrom >= 0 && target === this.center && target !== this.incumbent;
      const basinTurn = this.branchOf === null && target >= 0 && target !== this.incumbent && !resumed;
      const turn =
        basinTurn ||
        (this.branchOf !== null &&
          this.focus !== null &&
          target >= 0 &&
          this.branchOf(history[target]!.u) !== this.focus);
      const moved = target !== this.localAnchor;
      const fresh = this.local === null || this.local.converged || moved;
      if (fresh && left < this.localRoomTrials) {
        this.held = true;
        return;
      }
      if (this.branchOf !== null && target >= 0) {
        this.focus = this.branchOf(history[target]!.u);
        if (moved) this.exhausted.delete(this.focus);
      }
      this.phaseFocus = this.focus;
      if (!resumed) this.turnedFrom = basinTurn ? target : -1;
      this.jumped = false;
      this.center = target;
      this.centerValue = target >= 0 ? rank(history[target]!.value) : Number.POSITIVE_INFINITY;
      this.phase = "local";
      this.restartDue = moved;
      if (moved) this.region.widen(turn ? this.options.localStep : this.restartRadius(history));
      this.localTold = 0;
      this.simplexTold = 0;
      this.sinceImproved = 0;
      this.fillTied = false;
      this.phaseStartBest = this.centerValue;
      this.phaseBest = this.centerValue;
      this.progressMark = this.centerValue;
      this.gainThreshold = this.valueScale(history);
      return;
    }
    if (this.localBusy()) return;
    // A converged simplex has nothing left to refine and a flat one (every vertex on one
    // plateau) no direction to follow: the global model gets the next trials either way.
    const done = this.fillTied || (this.local !== null && (this.local.converged || this.local.flat));
    // Steps, not slopes: enough results in the phase repeat a value it has already seen.
    // Results the tie rule counts: the region's, and the simplex's after its first d.
    const counted = this.localTold - Math.min(this.simplexTold, this.d);
    const onSteps =
      this.options.tieShare > 0 && counted >= this.d && this.ties >= this.options.tieShare * counted;
    if (!done && !onSteps && this.sinceImproved < this.stagnationLimit) return;
    if (onSteps) this.stepped = true;
    this.phaseValues.clear();
    this.ties = 0;
    // A turned phase is judged by its basin's best: its simplex may wander back towards the
    // incumbent's basin, whose points beat the turned centre without being progress. (A new
    // incumbent found mid-phase ends the turn, and the phase is judged by its best again.)
    const improved =
      this.turnedFrom >= 0 ? this.centerValue < this.phaseStartBest : this.phaseBest < this.phaseStartBest;
    // A branch is exhausted when its phase found nothing, or nothing is left there to refine. A
    // phase whose focus moved with a new incumbent (a pending global result, with workers) says
    // neither about the branch it left nor about the one it moved to.
    if (!improved || done || onSteps) {
      if (this.focus !== null && this.focus === this.phaseFocus)
        this.exhausted.set(this.focus, this.centerValue);
      // Only a basin the phase refined: not a centre that jumped to a global result.
      if (this.branchOf === null && this.center >= 0 && !this.jumped)
        this.basins.push([this.center, this.centerValue]);
    }
    this.factor = improved
      ? Math.max(MIN_FACTOR, this.factor / FACTOR_STEP)
      : Math.min(MAX_FACTOR, this.factor * FACTOR_STEP);
    this.phase = "global";
    this.globalAsked = 0;
    // A focus that moved mid-phase left the simplex (and the region's radius) in the old branch:
    // with no anchor, the next local phase starts afresh around the new centre.
    this.localAnchor = this.focus === this.phaseFocus ? this.center : -1;
    this.lastIncumbent = this.incumbent;
  }

  /**
   * Where the next local phase works (a history index): at a new incumbent (one the global phase
   * found); else at the focus branch's best, unless that branch is exhausted — then at the best
   * point of the best branch that is not (a turn), or, when every branch is, at the incumbent. A
   * local method holds the choices it starts from, so without turns a branch whose first points
   * scored worse (a narrower basin) would never be refined. One branch: the same with basins
   * (see {@link GlobalLocal.nextBasin}).
   */
  private nextCenter(history: readonly Evaluation[]): number {
    const branchOf = this.branchOf;
    if (this.incumbent !== this.lastIncumbent) return this.incumbent;
    if (branchOf === null) return this.nextBasin(history);
    if (this.focus === null) return this.incumbent;
    if (!this.isExhausted(this.focus, this.centerValue)) return this.center;
    let best = -1;
    let bestValue = Number.POSITIVE_INFINITY;
    for (let i = 0; i < history.length; i++) {
      const v = rank(history[i]!.value);
      if (!(v < bestValue)) continue;
      const branch = branchOf(history[i]!.u);
      if (branch === this.focus || this.isExhausted(branch, v)) continue;
      best = i;
      bestValue = v;
    }
    // Every branch refined as far as it goes: back to the incumbent's, as with one branch.
    return best >= 0 ? best : this.incumbent;
  }

  /**
   * {@link GlobalLocal.nextCenter} on one branch: the centre, unless it lies in an exhausted
   * basin — then the best point outside every exhausted basin (a turn: a multistart from the
   * best point the global phases found elsewhere), or the incumbent when there is none. Without
   * turns, a run whose first local phase settles in a local minimum that the global model keeps
   * sampling around refines that one minimum to the end. O(n · basins · d), once per phase.
   */
  private nextBasin(history: readonly Evaluation[]): number {
    if (this.center < 0 || !this.inBasin(history, history[this.center]!.u, this.centerValue))
      return this.center;
    let best = -1;
    let bestValue = Number.POSITIVE_INFINITY;
    for (let i = 0; i < history.length; i++) {
      const v = rank(history[i]!.value);
      if (!(v < bestValue) || this.inBasin(history, history[i]!.u, v)) continue;
      best = i;
      bestValue = v;
    }
    return best >= 0 ? best : this.incumbent;
  }

  /** Whether a point worth `value` lies in an exhausted basin (and is no better than its centre). */
  private inBasin(history: readonly Evaluation[], u: readonly number[], value: number): boolean {
    for (const [at, basinValue] of this.basins) {
      if (!(value < basinValue) && this.near(u, history[at]!.u)) return true;
    }
    return false;
  }

  /** Whether `a` and `b` are within `localStep` in every coordinate: a simplex's first reach. */
  private near(a: readonly number[], b: readonly number[]): boolean {
    const step = this.options.localStep;
    for (let j = 0; j < a.length; j++) if (Math.abs(a[j]! - b[j]!) > step) return false;
    return true;
  }

  /** Whether `branch` is exhausted, its best point so far being worth `value`. */
  private isExhausted(branch: string, value: number): boolean {
    const at = this.exhausted.get(branch);
    return at !== undefined && !(value < at);
  }

  /**
   * `minGain` of the value scale: the median of the finite values in `history` minus the
   * centre's (0 when minGain is 0 or there is no spread). O(n log n), once per local phase.
   */
  private valueScale(history: readonly Evaluation[]): number {
    if (this.options.minGain === 0 || !Number.isFinite(this.centerValue)) return 0;
    const values: number[] = [];
    for (const entry of history) if (Number.isFinite(entry.value)) values.push(entry.value);
    if (values.length === 0) return 0;
    values.sort((a, b) => a - b);
    const spread = values[(values.length - 1) >> 1]! - this.centerValue;
    return Number.isFinite(spread) && spread > 0 ? this.options.minGain * spread : 0;
  }

  /**
   * The trust region's least radius in a local phase around a moved centre: how far it moved
   * since the last local phase ended (`localStep` for the first), within [MIN_STEP, localStep],
   * as a restarted simplex's edge. The region keeps the radius its last phase shrank it to, and
   * from 1e-9 it would spend dozens of successes growing back in a new basin.
   */
  private restartRadius(history: readonly Evaluation[]): number {
    const step = this.options.localStep;
    // No earlier local phase, or (a strategy driven directly) a history shorter than it saw.
    const anchored = this.localAnchor >= 0 && this.localAnchor < history.length;
    if (!anchored || this.center < 0) return step;
    const from = history[this.localAnchor]!.u;
    const to = history[this.center]!.u;
    let moved = 0;
    for (let j = 0; j < this.d; j++) moved = Math.max(moved, Math.abs(to[j]! - from[j]!));
    return Math.min(step, Math.max(moved, MIN_STEP));
  }

  /** Whether the current simplex still waits for results it asked for. */
  private localBusy(): boolean {
    const current = this.generation - 1;
    for (const owner of this.owners.values()) if (owner === current) return true;
    return false;
  }

  /**
   * A fresh simplex around the centre (Nelder–Mead starts from the best history point it sees).
   * When the centre moved only a little from the current simplex, the new one keeps that scale
   * (the larger of the old simplex's size and the move) instead of starting wide again: the
   * global phase often finds a slightly better point in the basin the simplex was refining.
   */
  private startLocal(history: readonly Evaluation[]): void {
    let step = this.options.localStep;
    if (this.local !== null && this.center >= 0) {
      const vertices = this.method.vertices(this.local);
      const best = vertices[0]!;
      const at = history[this.center]!.u;
      let size = 0;
      let moved = 0;
      for (let j = 0; j < this.d; j++) {
        for (let i = 1; i < vertices.length; i++)
          size = Math.max(size, Math.abs(vertices[i]![j]! - best[j]!));
        moved = Math.max(moved, Math.abs(at[j]! - best[j]!));
      }
      step = Math.min(step, Math.max(size, moved, MIN_STEP));
    }
    const at = this.center >= 0 ? history[this.center]!.u : null;
    this.local = this.method.create(step, (this.seed ^ LOCAL_SEED) + this.generation, at, this.local);
    this.generation++;
  }
}

function encode(v: number): number | string {
  return v === Number.POSITIVE_INFINITY ? "Infinity" : v;
}

function decode(v: unknown, bad: (what: string) => never): number {
  if (v === "Infinity") return Number.POSITIVE_INFINITY;
  if (typeof v === "number" && Number.isFinite(v)) return v;
  return bad("value");
}

function tpeOptions(o: ResolvedGlobalLocalOptions): TpeOptions {
  return {
    gamma: o.gamma,
    candidates: o.candidates,
    bandwidthFloor: o.bandwidthFloor,
    rankExponent: o.rankExponent,
  };
}

/**
 * Creates the default strategy: local refinement from the incumbent, interleaved with a global
 * model that keeps exploring, with a split that adapts to which side is making progress.
 *
 * @remarks
 * - Opening global phase: `globalPhase · (d + 1)` TPE trials, or `openingShare` of the trials
 *   left after the probe if that is fewer (0: open local, from the best probe point). A probe
 *   of 2d + 2 points rarely lands in the best basin; a few model-guided trials first cost little
 *   on smooth problems and often pick the right basin on multimodal ones.
 * - Local phase: Nelder–Mead from the incumbent, `localStep` edges, taking turns with a trust
 *   region around the incumbent (a fitted quadratic's minimiser): each trial goes to whichever
 *   has lately improved the phase's best more often, neither waiting more than `maxStreak` trials
 *   (src/solver/local-turns.ts). Region results count as in parallel batches (below). It lasts
 *   until the simplex converges (nothing left to refine), goes flat (every vertex on one
 *   plateau: no direction to follow), finds steps rather than slopes (`tieShare` of its results
 *   repeat a value it has seen; later global phases then use forced TPE's sharper settings) or
 *   `d + stagnation · (d + 1)` results in a row fail to improve on the phase's best.
 *   The simplex carries on into the next local phase when the incumbent has not moved (a
 *   converged one restarts by its own rule); a new incumbent found by the global phase gets a
 *   fresh simplex (a restart), at the old simplex's scale when the incumbent moved only a little,
 *   and widens the trust region to at least how far the incumbent moved (within [0.001,
 *   `localStep`]): it keeps the radius its last phase shrank it to otherwise.
 * - Basins (one branch: continuous and int-only spaces): a local phase that improved nothing,
 *   or ended with nothing left to refine, leaves its centre's basin exhausted (the points within
 *   `localStep` of it and no better). When the global phase after it finds no new incumbent and
 *   the centre lies in an exhausted basin, the next local phase turns to the best point outside
 *   every exhausted basin, with a fresh simplex and a region widened to `localStep`: a restart
 *   from the best the global phases found elsewhere, not another round in a settled minimum. A
 *   turned phase is judged by the best point within `localStep` of where it turned, and its
 *   basin, while not exhausted, is resumed there; a phase that a global result jumped into (a
 *   new incumbent, with workers) marks no basin. A new incumbent takes the local phase back to
 *   itself. With no point left outside, it stays at the incumbent.
 * - Branches (mixed spaces, see {@link GlobalLocalParts.branchOf}): a local phase refines one
 *   branch, its best point standing in for the incumbent. When the incumbent's branch is
 *   exhausted (its last local phase improved nothing, or left nothing to refine) and the global
 *   phase found no better point, the next local phase turns to the best point of the best
 *   branch not yet exhausted, with a fresh simplex and a region widened to `localStep`. A new
 *   incumbent, found by either phase, takes the local phase back to its own branch.
 * - Later global phases: multivariate TPE over the whole history (probe, warm start, both
 *   phases), with a wider bandwidth floor, a larger good set and flatter rank weights than forced
 *   TPE, so it keeps sampling other basins instead of hugging the incumbent. Each lasts
 *   `globalPhase · factor · (d + 1)` trials; `factor` starts at 1, is divided by 1.5 after a
 *   local phase that improved the point it refined and multiplied by 1.5 after one that did not
 *   (kept in [1/3, 3]): the budget follows progress.
 * - End of the budget: a new simplex costs d trials before its first step. When a global phase
 *   ends with fewer than `localRoom · (d + 1)` trials left and the local phase would need a new
 *   simplex, the global phase holds to the end instead, with a second TPE at forced TPE's sharper
 *   settings (the wide floor explores; with no local phase left to refine, the last trials should
 *   exploit). A simplex that can carry on where it stopped is still resumed. When even the
 *   opening would leave fewer than that, no simplex can follow it and the run is held from its
 *   first refine trial (the wide floor is there to explore while a simplex refines), unless the
 *   budget grows (`Solver.extend`): the hold is then decided again when the phase ends.
 * - No classification, no commitment: both methods run all along, so a wrong first guess about
 *   the landscape costs a few trials, not the run.
 * - Determinism: every random choice comes from `seed` (TPE and each simplex have their own
 *   streams); `toJSON()` holds the whole state, inner strategies included, and
 *   {@link restoreGlobalLocal} continues exactly.
 * - Parallel workers (several trials outstanding, `ask({ max })` > 1): a global phase hands out
 *   a TPE batch (the constant liar spreads it). From three trials running at once, a local phase
 *   hands every trial to a trust region around the incumbent, whose points minimise a quadratic
 *   fitted to the nearest results (the simplex would get one trial in c, each step waiting on the
 *   others). A global phase keeps every worker busy; a local phase keeps ⌈`localBusyShare` · c⌉
 *   of a pool of c (7 of 8 by default) and answers `[]` for the rest until a result comes in, so
 *   that its next step sees one more of the latest results. Region results count towards the
 *   local phase's stagnation, and one that ties the phase's best (a plateau) ends the phase
 *   (docs/benchmarks.md, PARALLEL, says why). With two workers, a free one gets the
 *   simplex's or the region's point by the turns above.
 * - Cost: a TPE proposal, a Nelder–Mead step or a quadratic fit on the points nearest the
 *   centre; switching phases is O(1) (a pending-trial scan while batches are outstanding), and a
 *   turn to another branch reads the history once.
 */
export function createGlobalLocal(
  dimension: number,
  seed: number,
  options: GlobalLocalOptions = {},
  parts?: (options: ResolvedGlobalLocalOptions) => GlobalLocalParts,
  cells?: DiscreteCells,
  tpeHooks: TpeHooks = { cellOf: cells?.snap },
): Strategy {
  if (!(Number.isInteger(dimension) && dimension >= 1)) {
    throw new RangeError(`dimension must be an integer ≥ 1, got ${dimension}`);
  }
  const resolved = resolve(options);
  if (parts !== undefined) {
    const { global, region, local, focused, branchOf, localDimension } = parts(resolved);
    return new GlobalLocal(
      dimension,
      seed,
      resolved,
      global,
      region,
      local,
      focused,
      branchOf,
      localDimension,
    );
  }
  return new GlobalLocal(
    dimension,
    seed,
    resolved,
    createTpe(dimension, seed ^ TPE_SEED, tpeOptions(resolved), tpeHooks),
    new TrustRegionBatch(Prng.fromSeed(seed, FILL_SEED), resolved.localStep, cells),
    everyCoordinate(dimension, cells),
    forcedTpe(dimension, tpeHooks),
  );
}

/**
 * The space-dependent parts of a global-local run, for {@link createGlobalLocal} and
 * {@link restoreGlobalLocal}: the global model, the trust region, the local method and the focused
 * model of a held global phase. Without them, TPE, a trust region, Nelder–Mead over every
 * coordinate and forced TPE.
 */
export interface GlobalLocalParts {
  readonly global: Strategy;
  readonly region: LocalRegion;
  readonly local: LocalMethod;
  readonly focused: FocusedModel;
  /**
   * The branch of a point: what a local phase holds fixed (a mixed space's categorical choices).
   * Local phases refine one branch at a time; without it, the whole space is one branch.
   */
  readonly branchOf?: (u: readonly number[]) => string;
  /**
   * The most coordinates a local simplex moves (default: every one): a new simplex spends that
   * many trials before its first step, and `localRoom` is counted in multiples of it plus one. A
   * mixed space's simplex holds its categorical coordinates, so they cost it no trials.
   */
  readonly localDimension?: number;
}

/** Rebuilds {@link GlobalLocalParts} from a state's `tpe` and `region` entries. */
export type RestoreGlobalLocalParts = (
  options: ResolvedGlobalLocalOptions,
  tpe: StrategyState,
  region: unknown,
) => GlobalLocalParts;

/**
 * Rebuilds the default strategy from its `toJSON()` (also after a JSON round trip).
 *
 * @throws RangeError when `state` is not a well-formed state of this version.
 */
export function restoreGlobalLocal(
  state: StrategyState,
  parts?: RestoreGlobalLocalParts,
  cells?: DiscreteCells,
  tpeHooks: TpeHooks = { cellOf: cells?.snap },
): Strategy {
  if (state.kind !== "global-local" || state.version !== STATE_VERSION) {
    throw new RangeError(
      `invalid global-local state: expected kind "global-local" version ${STATE_VERSION}, ` +
        `got ${String(state.kind)} version ${String(state.version)}`,
    );
  }
  const { dimension, seed } = state;
  if (!(Number.isInteger(dimension) && (dimension as number) >= 1)) {
    throw new RangeError("invalid global-local state: dimension");
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError("invalid global-local state: seed");
  if (typeof state.options !== "object" || state.options === null) {
    throw new RangeError("invalid global-local state: options");
  }
  // States written before tieShare, maxStreak or localBusyShare existed ran without them.
  const options = resolve({
    tieShare: 0,
    maxStreak: 0,
    localBusyShare: 1,
    ...(state.options as GlobalLocalOptions),
  });
  if (typeof state.tpe !== "object" || state.tpe === null)
    throw new RangeError("invalid global-local state: tpe");
  if (parts !== undefined) {
    const { global, region, local, focused, branchOf, localDimension } = parts(
      options,
      state.tpe as StrategyState,
      state.region,
    );
    const strategy = new GlobalLocal(
      dimension as number,
      seed as number,
      options,
      global,
      region,
      local,
      focused,
      branchOf,
      localDimension,
    );
    strategy.load(state);
    return strategy;
  }
  const strategy = new GlobalLocal(
    dimension as number,
    seed as number,
    options,
    restoreTpe(state.tpe as StrategyState, tpeHooks),
    // States written before the batch local step have no region yet: it starts fresh.
    state.region === undefined
      ? new TrustRegionBatch(Prng.fromSeed(seed as number, FILL_SEED), options.localStep, cells)
      : TrustRegionBatch.restore(state.region, cells),
    everyCoordinate(dimension as number, cells),
    forcedTpe(dimension as number, tpeHooks),
  );
  strategy.load(state);
  return strategy;
}
