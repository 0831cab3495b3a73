import * as Effect from "effect/Effect";
import type * as Scope from "effect/Scope";
import { type Actor, createActor, type SnapshotFrom } from "xstate";
import { type SolverClassification, solverMachine } from "../../machines/solver.machine.js";
import { ConfigError, errorMessage, type ResultIssue, ResultsRejectedError, UsageError } from "../errors.js";
import { type InspectionSink, quietSink } from "../inspect/inspection-record.js";
import { scopedResource } from "../runtime/scoped-resource.js";
import { shownValue } from "../shown-value.js";
import type { BoundsInput, ParamShape, Params, ParamsOf, ParamValue } from "../space/params.js";
import { Space } from "../space/space.js";
import { artifactProblems } from "./artifact-check.js";
import { askMax } from "./ask-max.js";
import { boundsDigest } from "./bounds-digest.js";
import { classify } from "./classify.js";
import {
  type ConfigOrigin,
  type ResolvedSolverConfig,
  resolveSolverConfig,
  type SolverConfig,
  savedSolverConfig,
} from "./config.js";
import { failCancelled, failureReason } from "./failure-reason.js";
import { createGlobalLocal, restoreGlobalLocal } from "./global-local.js";
import {
  createMixedGlobalLocal,
  numericCells,
  restoreMixedGlobalLocal,
  usesMixedGlobalLocal,
} from "./mixed-global-local.js";
import { createMixedTpe, restoreMixedTpe } from "./mixed-tpe.js";
import { createNelderMead, restoreNelderMead } from "./nelder-mead.js";
import { probePoints } from "./probe.js";
import { createPruner, type Pruner } from "./pruner.js";
import { runDigest } from "./run-digest.js";
import { type StartPoint, startPointsOf, startTrialsOf, toldParams } from "./start-points.js";
import type { Evaluation, Strategy, StrategyName, StrategyState } from "./strategy.js";
import { createSubspaceNelderMead, restoreSubspaceNelderMead } from "./subspace.js";
import { cellHooks, createTpe, restoreTpe } from "./tpe.js";
import type { DiscreteCells } from "./trust-region.js";

/**
 * A point the solver wants evaluated. `params` are the values keyed by parameter name; `P` is the
 * config's parameter shape (see {@link Params}): numbers for floats and ints, one of the choices
 * for a categorical, and no key at all for a conditional parameter whose condition does not hold.
 */
export interface Trial<P extends ParamShape = string> {
  readonly id: number;
  readonly params: Params<P>;
}

/** The result of an asked trial. */
export interface TrialResult {
  readonly id: number;
  readonly value: number;
  readonly cost?: number;
  /** `false` is the same as leaving it out, for code that writes `pruned: wasPruned`. */
  readonly pruned?: false;
}

/**
 * An asked trial stopped early (by a pruner's advice or the caller's own decision). It counts
 * against the budget and never becomes the best point; `value`, when given, is the value it was
 * stopped at (default: its last reported intermediate value).
 */
export interface PrunedResult {
  readonly id: number;
  readonly pruned: true;
  readonly value?: number;
  readonly cost?: number;
}

/** One intermediate value of a trial (see {@link Solver.report}). */
export interface IntermediateValue {
  readonly step: number;
  readonly value: number;
}

/** A point evaluated outside the solver (warm start). It does not count against the budget. */
export interface WarmStartPoint<P extends ParamShape = string> {
  readonly params: Readonly<Params<P>>;
  readonly value: number;
  readonly cost?: number;
}

/** Anything {@link Solver.tell} accepts. */
export type Told<P extends ParamShape = string> = TrialResult | PrunedResult | WarmStartPoint<P>;

/** The best point found so far. */
export interface BestPoint<P extends ParamShape = string> {
  readonly params: Params<P>;
  readonly value: number;
}

/** The phase a solver is in, as named by its statechart. */
export type SolverPhase = "probe" | "refine" | "done";

/** A solver's state as JSON: what {@link Solver.toJSON} gives and {@link restoreSolver} takes. */
export interface SolverArtifact {
  readonly format: "arqon.solver";
  readonly version: 1;
  readonly config: SolverConfig;
  readonly machine: { readonly value: unknown; readonly classification: SolverClassification | null };
  readonly nextId: number;
  /**
   * The probe: the config's `starts` start points (absent when none), then `count` points of the
   * design as the config sizes it, `added` more when it grew (absent when it did not; see
   * {@link Solver.ask}); `asked` of all of them handed out.
   */
  readonly probe: {
    readonly count: number;
    readonly asked: number;
    readonly added?: number;
    readonly starts?: number;
  };
  /** Every asked trial in id order; `status` says whether it was told, failed, pruned or is pending. */
  readonly trials: readonly ArtifactTrial[];
  /** Results in the order they were told (order matters to the strategies). */
  readonly told: readonly ArtifactTold[];
  readonly strategy: StrategyState | null;
  /**
   * The digest of `config.bounds` the trials were measured in ({@link boundsDigest}): a restore
   * refuses a config whose parameters were edited since. Absent from artifacts saved before it
   * was added.
   */
  readonly boundsDigest?: string;
  /**
   * The budget the run was planned with (its probe, and the phases the default strategy sized
   * from it): a restore refuses a config with another. Absent from artifacts saved before it was
   * added.
   */
  readonly budget?: number;
  /**
   * The seed and direction the run began with: a restore refuses a config with another (a new
   * seed would hand out a probe and draws the run was not given; a new direction would read every
   * told value the other way round, and `best()` would give the worst). Absent from artifacts
   * saved before they were added.
   */
  readonly seed?: number;
  readonly direction?: "minimize" | "maximize";
  /**
   * Trials the budget grew by after the run began ({@link Solver.extend}): the probe was sized
   * from the budget less these. Absent when it never grew.
   */
  readonly extended?: number;
  /**
   * {@link runDigest} of the five fields above: a restore refuses an artifact where they were
   * edited together with the config. Absent from artifacts saved before it was added.
   */
  readonly runDigest?: string;
}

interface ArtifactTrial {
  readonly id: number;
  readonly u: readonly number[];
  readonly phase: "probe" | "refine";
  readonly status: TrialStatus;
  /** Intermediate values as `[step, value]` pairs, when the trial reported any. */
  readonly reports?: readonly (readonly [number, number])[];
  /** Present when the pruner has advised stopping this trial. */
  readonly prune?: true;
}

/** Where an asked trial stands. */
export type TrialStatus = "pending" | "told" | "failed" | "pruned";

type ArtifactTold =
  | { readonly id: number; readonly value: number; readonly cost?: number }
  | { readonly id: number; readonly pruned: true; readonly value?: number; readonly cost?: number }
  | { readonly params: Record<string, ParamValue>; readonly value: number; readonly cost?: number }
  | { readonly id: number; readonly failed: string; readonly cancelled?: true };

/** Options of {@link Solver.fail}. */
export interface FailOptions {
  /**
   * The trial was given up without being evaluated (an interrupt): it counts against the budget
   * and is recorded as failed, but no strategy takes its point for one where evaluations fail. A
   * Nelder–Mead simplex that handed the point out still needs a result for it, so it asks for the
   * same point again (a new trial); TPE and the trust region just forget it.
   */
  readonly cancelled?: boolean;
}

/** Options of {@link Solver.ask}. */
export interface AskOptions {
  /** Return at most this many trials (default: the config's `batch`, else the phase's natural batch). */
  readonly max?: number;
}

/**
 * An ask/tell minimiser: Probe → Classify → Select → Refine → Done. Refine runs the `strategy`
 * setting: `auto` (default) the global-local strategy (TPE interleaved with Nelder–Mead from the
 * incumbent, see `createGlobalLocal`), or a forced `nelder-mead` or `tpe`.
 *
 * @remarks
 * Deterministic: the same config and the same sequence of calls give the same trials. Results may
 * be told in any order and in part; a call that would break that contract throws a
 * {@link UsageError} and changes nothing. `ask` + `tell` cost tens of microseconds early in a run
 * and up to about a millisecond by trial 1000 with 16 parameters (the models grow with the
 * history; docs/benchmarks.md, B2), which any real objective dwarfs.
 *
 * `P` is the parameter shape, inferred by {@link createSolver} from a literal `bounds` object
 * ({@link ParamsOf}: the names of a float-only config, else the params' object type; `string` for
 * a config built at run time).
 */
export interface Solver<P extends ParamShape = string> {
  /** The validated configuration with defaults filled in. */
  readonly config: ResolvedSolverConfig;
  /**
   * The running lifecycle actor (XState), for inspection. {@link Solver.extend} on a run whose
   * budget was spent starts a new one, in the refine state (the old one ended in `done`).
   */
  readonly actor: Actor<typeof solverMachine>;
  /** Current phase. */
  readonly phase: SolverPhase;
  /** The probe's classification, once the probe is complete. */
  readonly classification: SolverClassification | null;
  /** The refine strategy in use, once selected. */
  readonly strategyName: StrategyName | null;
  /** Trials asked so far (the budget caps this). */
  readonly asked: number;
  /**
   * Values told so far: completed trials and warm-start points. Pruned and failed trials are not
   * counted (they gave no final value); `trialStatus(id)` says what became of each asked trial.
   */
  readonly told: number;
  /**
   * Up to a batch of new trials; `[]` when nothing can be proposed until pending trials are told;
   * `null` when the budget is spent or nothing is left to try.
   *
   * Asked for more (`max` or the config's `batch`) than the probe has left before any value came
   * back, it grows the probe by the difference (more points of the same design, within the
   * budget), since no strategy can start without a value: more workers than probe points are all
   * busy from the first ask. Failed and pruned trials give no value; a warm-start point told
   * before is one.
   */
  ask(options?: AskOptions): Trial<P>[] | null;
  /**
   * Records results: `{ id, value }` for asked trials, `{ params, value }` for warm-start points,
   * `{ id, pruned: true }` for a trial stopped early (see {@link PrunedResult}).
   * All-or-nothing: if any entry is invalid, a {@link ResultsRejectedError} (a `UsageError`) names
   * every problem, with the entry's position in its `issues`, and nothing is recorded.
   */
  tell(results: Told<P> | readonly Told<P>[]): void;
  /**
   * Marks an asked trial as failed (its evaluation could not produce a value). It stays counted
   * against the budget and never becomes the best point; the strategy ranks it below every value.
   * `reason` is saved with the run; an `Error` passed from JavaScript is saved as its message.
   * Where it was asked is a bad point to the strategies (a region that crashes is not proposed
   * again), unless `options.cancelled`: a trial given up without being evaluated (an operator's
   * interrupt) says nothing about its point (see {@link FailOptions.cancelled}).
   */
  fail(id: number, reason?: string, options?: FailOptions): void;
  /**
   * Records an intermediate value of a pending trial: `value` (finite; lower is better, or higher
   * under `direction: "maximize"`) at `step` (a whole number ≥ 0, greater than the trial's
   * previous step; the previous step again with the same value is a retry, and changes nothing).
   * With a pruner configured, this is when it judges the trial; ask {@link Solver.shouldPrune}
   * for its verdict.
   */
  report(id: number, step: number, value: number): void;
  /**
   * Whether the pruner advises stopping the trial: false without a pruner or before any report;
   * once true, it stays true. Stop the evaluation and `tell({ id, pruned: true })`.
   */
  shouldPrune(id: number): boolean;
  /** The intermediate values an asked trial reported, in step order. */
  intermediateValues(id: number): IntermediateValue[];
  /** Where an asked trial stands. */
  trialStatus(id: number): TrialStatus;
  /** The best point told so far, or null before any result. */
  best(): BestPoint<P> | null;
  /** Asked trials still waiting for a result, in id order. */
  pendingTrials(): Trial<P>[];
  /**
   * Grows the budget by `trials` (a whole number ≥ 1), as a second `study.optimize` call goes on
   * with an Optuna study: a run whose budget was spent asks again, from where it stood. The probe
   * keeps its size and the strategy its state; a global phase that held to the end of the old
   * budget (too few trials left for a new simplex) hands over to a local phase when it ends if
   * the new budget leaves the room. A run that ended with budget left (its strategy had nothing
   * left to try) is refused with a `UsageError`, as is a stopped solver.
   *
   * @remarks
   * The same sequence of calls, extends included, gives the same trials, and the saved state
   * keeps the grown budget. A run extended part way does not ask what a run planned with the
   * whole budget from the start asks: the opening global phase was sized from the budget left at
   * the time.
   */
  extend(trials: number): void;
  /** Versioned, JSON-safe state; {@link restoreSolver} resumes from it exactly. */
  toJSON(): SolverArtifact;
  /**
   * Stops the lifecycle actor. The solver is unusable afterwards: `ask`, `tell`, `fail` and
   * `report` throw a `UsageError`; what it holds stays readable (`best`, `toJSON`…).
   */
  stop(): void;
}

interface TrialRecord {
  readonly id: number;
  readonly u: number[];
  readonly phase: "probe" | "refine";
  status: TrialStatus;
  /** Reported steps and values (empty until the trial reports). */
  readonly steps: number[];
  readonly values: number[];
  /** The pruner advised stopping it. */
  prune: boolean;
  /**
   * A start point's params as given (its unit position may not map back to them exactly); always
   * set, undefined for other trials, so that every record has one shape.
   */
  readonly given: Readonly<Record<string, ParamValue>> | undefined;
}

/** Effect constructors of {@link Solver}. */
export const Solver = {
  /**
   * A solver whose lifecycle actor is stopped when the enclosing `Scope` closes; fails with a
   * {@link ConfigError} listing every problem of an invalid config.
   */
  make: <const B extends BoundsInput>(
    config: SolverConfig<B>,
  ): Effect.Effect<Solver<ParamsOf<B>>, ConfigError, Scope.Scope> =>
    scopedResource(
      () => createSolver(config),
      (solver) => Effect.sync(() => solver.stop()),
    ),
};

/**
 * Creates a solver; throws a `ConfigError` listing every problem of an invalid config.
 *
 * @remarks
 * Inspection: the solver's lifecycle is a real XState actor ({@link Solver.actor}, the
 * `solverMachine` chart), so `config.inspect` is passed to `createActor` and receives XState's own
 * inspection events, synchronously and in order. During `createSolver`: `@xstate.actor`, then
 * `@xstate.event` (`xstate.init`) and `@xstate.snapshot` (state `probe`). Then for each lifecycle
 * transition, i.e. each control event the solver sends its chart (`probe.completed` when every
 * probe trial is resolved, `probe.dispatched` when an ask reaches past the probe's end before
 * that, `budget.spent`, `strategy.exhausted`): `@xstate.event`, one `@xstate.microstep` per
 * transition taken (the transient `classify` and `select` steps included), and `@xstate.snapshot`
 * with the settled state (`refine.nelderMead`, `refine.tpe`, `refine.globalLocal` or `done`) and
 * the classification in its context (null after `probe.dispatched` until `probe.completed`).
 * `ask`/`tell` calls that do not change the phase emit nothing. The sink is not part of
 * {@link Solver.toJSON}'s artifact.
 */
export function createSolver<const B extends BoundsInput>(config: SolverConfig<B>): Solver<ParamsOf<B>> {
  // The solver checks every name and value it is told against the validated bounds, typed by `B`.
  return solverOf(config, "new") as unknown as Solver<ParamsOf<B>>;
}

/**
 * A new solver for the config a run was saved with (a solver log's header, read through
 * `savedSolverConfig`): as {@link createSolver}, checked as a saved config (see `ConfigOrigin`).
 */
export function createSavedSolver(config: SolverConfig): Solver {
  return solverOf(config, "saved");
}

function solverOf(config: SolverConfig, origin: ConfigOrigin): SolverImpl {
  // Validated first (a ConfigError names the field), then copied: the solver and its artifact
  // never share an object with the caller, whose later edits would change a running solver.
  resolveSolverConfig(config, origin);
  // The artifact keeps the JSON part of the config only.
  const { inspect, ...json } = config;
  const input = ownCopy(json);
  return new SolverImpl({ ...resolveSolverConfig(input, origin), inspect }, input, null);
}

/** A deep copy of a validated (JSON) config, frozen: no caller holds a reference into it. */
function ownCopy(config: SolverConfig): SolverConfig {
  return deepFreeze(structuredClone(config));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Options of {@link restoreSolver}. */
export interface RestoreSolverOptions {
  /** Receives the inspection events of the restored lifecycle actor (as `createSolver`'s `inspect`). */
  readonly inspect?: InspectionSink;
}

/**
 * Resumes a solver from {@link Solver.toJSON}'s artifact: the next `ask` equals the one the
 * original solver would have made. The artifact is read at run time, so its names are not known
 * to the compiler: give them as `restoreSolver<"x" | "y">(artifact)` to get a typed solver, or,
 * for a space with int, categorical or conditional parameters, the shape of its bounds as
 * `restoreSolver<ParamsOf<typeof bounds>>(artifact)` (neither is checked against the artifact).
 */
export function restoreSolver<P extends ParamShape = string>(
  artifact: unknown,
  options: RestoreSolverOptions = {},
): Solver<P> {
  const a = artifact as SolverArtifact;
  if (typeof a !== "object" || a === null || a.format !== "arqon.solver") {
    throw new UsageError('not a solver artifact (expected format "arqon.solver")');
  }
  if (a.version !== 1) throw new UsageError(`unsupported solver artifact version ${String(a.version)}`);
  const saved = savedSolverConfig(a.config) as SolverConfig;
  resolveSolverConfig(saved, "saved");
  const input = ownCopy(saved);
  const resolved = resolveSolverConfig(input, "saved");
  // The solver keeps none of the caller's objects: editing the artifact later changes nothing.
  let own: SolverArtifact;
  try {
    own = structuredClone(a);
  } catch (error) {
    throw new UsageError(`corrupt solver artifact: ${errorMessage(error)}`);
  }
  if (own.boundsDigest !== undefined && own.boundsDigest !== boundsDigest(saved)) {
    // The trials are positions within the parameters: under other ones they would read as
    // values never measured, and best() would report one.
    throw new UsageError(
      "config.bounds: not the parameters this run's trials were measured in (the artifact was edited " +
        "after it was saved, or its boundsDigest was): a run's parameters cannot change, so start a new run " +
        "and tell it the old results as warm-start points (tell({ params, value }))",
    );
  }
  if (own.budget !== undefined && own.budget !== resolved.budget) {
    // A run's plans were sized from its budget, and a grown one records by how much
    // (`extended`): an edited one would reopen with a probe and plans it was not given.
    throw new UsageError(
      `config.budget: ${resolved.budget} is not the budget this run was planned with (${String(own.budget)}, the artifact's "budget"; one of the two was edited): ` +
        "restore the run as it was saved and give it more trials with extend(trials)",
    );
  }
  for (const [field, value] of [
    ["seed", resolved.seed],
    ["direction", resolved.direction],
  ] as const) {
    const recorded = own[field];
    if (recorded === undefined || recorded === value) continue;
    const why =
      field === "seed"
        ? "a run's seed cannot change (it drew the probe and every proposal so far): start a new run with the other seed and tell it the old results as warm-start points (tell({ params, value }))"
        : "a run's direction cannot change (its told values would read the other way round, and best() would give the worst point): start a new run and tell it the old results as warm-start points (tell({ params, value }))";
    throw new UsageError(
      `config.${field}: ${shownValue(value)} is not the ${field} this run began with (${shownValue(recorded)}, the artifact's "${field}"; one of the two was edited): ${why}`,
    );
  }
  // Once the budget is known to be the run's: `extended` is read against it.
  const probeSize = own.extended === undefined ? resolved.probeSize : grownRunProbeSize(own.extended, input);
  const config = { ...resolved, probeSize, inspect: options.inspect };
  const problems = artifactProblems(own, new Space(config.bounds), config);
  if (problems.length > 0) throw new UsageError(`corrupt solver artifact:\n  - ${problems.join("\n  - ")}`);
  if (own.runDigest !== undefined && own.runDigest !== runDigest(own)) {
    // Each recorded field was checked above, against the config and the trials; an edit of both
    // copies would pass those checks.
    throw new UsageError(
      "corrupt solver artifact: runDigest: the run's record (boundsDigest, budget, seed, direction, extended) " +
        "was edited after it was saved: restore the run as it was saved; for another seed or direction, start a " +
        "new run and tell it the old results as warm-start points (tell({ params, value }))",
    );
  }
  return new SolverImpl(config, input, own) as unknown as Solver<P>;
}

/**
 * The probe size of a run whose budget grew by `extended` ({@link Solver.extend}): the one its
 * config gave before it grew, which sized the probe.
 */
function grownRunProbeSize(extended: unknown, input: SolverConfig): number {
  if (
    typeof extended !== "number" ||
    !Number.isSafeInteger(extended) ||
    extended < 1 ||
    extended >= input.budget
  ) {
    throw new UsageError(
      `corrupt solver artifact: extended: expected a whole number from 1 to ${input.budget - 1} (the trials the budget grew by), got ${shownValue(extended)}`,
    );
  }
  try {
    return resolveSolverConfig({ ...input, budget: input.budget - extended }, "saved").probeSize;
  } catch (error) {
    throw new UsageError(
      `corrupt solver artifact: extended: the budget it began with (${input.budget - extended}) is no valid config's: ${errorMessage(error)}`,
    );
  }
}

/**
 * For a shared study's journal: `solver.report(id, step, value)`, saying whether it recorded
 * anything (false for the trial's last report given again, a retry). Throws as `report` does.
 */
export function reportIfNew(solver: Solver, id: number, step: number, value: number): boolean {
  return implementationOf(solver, "reportIfNew").recordReport(id, step, value);
}

/**
 * For a shared study's report: a function that takes back, on this solver or on a copy restored
 * from it, whatever reports trial `id` gets after now, its verdict included (an append of them
 * that did not land). The study saves that instead of the whole solver, whose snapshot grows with
 * every report. Undefined when `id` is not a pending trial (a report to it is refused).
 */
export function reportsUndo(solver: Solver, id: number): ((solver: Solver) => void) | undefined {
  return implementationOf(solver, "reportsUndo").reportsUndo(id);
}

function implementationOf(solver: Solver, caller: string): SolverImpl {
  if (!(solver instanceof SolverImpl))
    throw new TypeError(`${caller}: not a solver made by createSolver or restoreSolver`);
  return solver;
}

const STRATEGY_SEED_STREAM = 0x5eed;

/** The chart's refine state of each strategy setting, as its `select` state picks it. */
const REFINE_STATES: Readonly<Record<ResolvedSolverConfig["strategy"], string>> = {
  "nelder-mead": "nelderMead",
  tpe: "tpe",
  auto: "globalLocal",
};

/** The keys a told result may have. */
const RESULT_KEYS: ReadonlySet<string> = new Set(["id", "params", "value", "cost", "pruned"]);

class SolverImpl implements Solver {
  /** Replaced by {@link extend}, with the budget grown. */
  config: ResolvedSolverConfig;
  /** Replaced by {@link extend} when it revives a run whose budget was spent. */
  actor: Actor<typeof solverMachine>;
  private input: SolverConfig;
  /** Trials {@link extend} added to the budget the run began with. */
  private extended = 0;
  private readonly space: Space;
  private probe: number[][];
  private probeAsked = 0;
  /** Points the probe grew by beyond `config.probeSize` (see {@link Solver.ask}). */
  private probeAdded = 0;
  private nextId = 1;
  private readonly trials = new Map<number, TrialRecord>();
  private readonly pending = new Map<number, TrialRecord>();
  private readonly history: Evaluation[] = [];
  /**
   * Params as given, by history index, of warm-start points and start points: a float's unit
   * position may not map back to them exactly.
   */
  private readonly givenParams = new Map<number, Readonly<Record<string, ParamValue>>>();
  /** `config.startPoints` as handed out: the first probe points. */
  private readonly starts: readonly StartPoint[];
  /** Unit-cube points of pruned and failed trials, in the order they ended (`context.unfinished`). */
  private readonly unfinishedPoints: number[][] = [];
  /** Set by {@link stop}: nothing changes the solver afterwards. */
  private stopped = false;
  private readonly pruner: Pruner | null;
  /**
   * Told entries as told: values in the objective's own sense (see `sign`), as the artifact keeps
   * them.
   */
  private readonly toldLog: ArtifactTold[] = [];
  /**
   * 1 when minimising, −1 when maximising: what a value in the objective's own sense is multiplied
   * by to be minimised. History, strategies, pruners and reports work on minimised values; a value
   * crosses to the objective's sense where it comes in or goes out.
   */
  private readonly sign: 1 | -1;
  private strategy: Strategy | null = null;
  private bestIndex = -1;
  /** {@link boundsDigest} of the config, for the artifact. */
  private readonly boundsDigest: string;
  /** The machine snapshot {@link phase} was last read from, and what it read. */
  private phaseSnapshot: unknown = null;
  private phaseOfSnapshot: SolverPhase = "probe";

  constructor(config: ResolvedSolverConfig, input: SolverConfig, artifact: SolverArtifact | null) {
    this.config = config;
    this.input = input;
    this.sign = config.direction === "maximize" ? -1 : 1;
    this.boundsDigest = boundsDigest(input);
    this.space = new Space(config.bounds);
    this.starts = startPointsOf(this.space, config.startPoints, config.seed);
    this.probe = this.probeDesign(config.probeSize);
    this.pruner = config.pruner === undefined ? null : createPruner(config.pruner, this.sign);
    if (artifact === null) {
      this.actor = createActor(solverMachine, {
        input: { strategy: config.strategy },
        ...(config.inspect === undefined ? {} : { inspect: quietSink(config.inspect) }),
      });
    } else {
      try {
        this.restoreFrom(artifact);
        const snapshot = solverMachine.resolveState({
          value: artifact.machine.value as SnapshotFrom<typeof solverMachine>["value"],
          context: { strategy: config.strategy, classification: artifact.machine.classification },
        });
        this.actor = createActor(solverMachine, {
          snapshot,
          input: { strategy: config.strategy },
          ...(config.inspect === undefined ? {} : { inspect: quietSink(config.inspect) }),
        });
      } catch (error) {
        throw error instanceof UsageError
          ? error
          : new UsageError(`corrupt solver artifact: ${errorMessage(error)}`);
      }
    }
    this.actor.start();
  }

  get phase(): SolverPhase {
    // Read several times per ask and tell; the snapshot only changes when the machine moves.
    const snapshot = this.actor.getSnapshot();
    if (snapshot !== this.phaseSnapshot) {
      this.phaseSnapshot = snapshot;
      this.phaseOfSnapshot = snapshot.matches("done")
        ? "done"
        : snapshot.matches("probe")
          ? "probe"
          : "refine";
    }
    return this.phaseOfSnapshot;
  }

  get classification(): SolverClassification | null {
    return this.actor.getSnapshot().context.classification;
  }

  get strategyName(): StrategyName | null {
    return this.strategy?.name ?? null;
  }

  get asked(): number {
    return this.nextId - 1;
  }

  get told(): number {
    return this.history.length;
  }

  ask(options?: AskOptions): Trial[] | null {
    this.assertRunning("ask");
    const requested = askMax(options) ?? this.config.batch;
    const remaining = this.config.budget - this.asked;
    if (remaining <= 0 || this.phase === "done") return null;

    if (this.phase !== "probe") return this.askStrategy(remaining, requested);
    if (requested !== undefined && this.history.length === 0) this.growProbe(Math.min(requested, remaining));
    const available = this.probe.length - this.probeAsked;
    const count = Math.min(available, remaining, requested ?? available);
    const trials: Trial[] = [];
    for (let i = 0; i < count; i++) {
      const given = this.starts[this.probeAsked]?.params;
      trials.push(this.record(this.space.snap(this.probe[this.probeAsked++]!), "probe", given));
    }
    // Every probe point is out but some results are not: rather than idle the workers asking
    // until the last one arrives, a strategy that can start now takes the rest of the batch (see
    // `probe.dispatched` in machines/solver.machine.ts). It needs one result to start from.
    const rest = requested === undefined ? (count === 0 ? undefined : 0) : requested - count;
    if (
      rest === 0 ||
      count === remaining ||
      this.probeAsked < this.probe.length ||
      this.history.length === 0
    ) {
      return trials;
    }
    // Asked first, so that a refused event (forced Nelder–Mead) reaches no inspector.
    const dispatched = { type: "probe.dispatched" } as const;
    if (!this.actor.getSnapshot().can(dispatched)) return trials;
    this.actor.send(dispatched);
    this.strategy = this.createStrategy();
    // TPE and global-local never return null; one that did here would end the run with probe
    // trials out and the classification unrecorded.
    const refined = this.askStrategy(remaining - count, rest);
    return refined === null && count === 0 ? null : [...trials, ...(refined ?? [])];
  }

  /**
   * Makes room for `wanted` unasked probe points. No strategy starts without a value, so until
   * one comes the probe is all there is to hand out. A Sobol' design's first points do not depend
   * on its length, so a grown one keeps every point already asked; a Latin hypercube (d > 256)
   * does not, and its added points come from the longer design.
   */
  private growProbe(wanted: number): void {
    const missing = wanted - (this.probe.length - this.probeAsked);
    if (missing <= 0) return;
    this.probeAdded += missing;
    this.probe = this.probeDesign(this.config.probeSize + this.probeAdded);
  }

  /** The start points, then `count` points of the seeded design. */
  private probeDesign(count: number): number[][] {
    const design = probePoints(this.space.dimension, count, this.config.seed);
    return this.starts.length === 0 ? design : [...this.starts.map((start) => [...start.u]), ...design];
  }

  /** Up to `requested` (else the strategy's natural batch) trials from the refine strategy. */
  private askStrategy(remaining: number, requested: number | undefined): Trial[] | null {
    const strategy = this.strategy!;
    // Nelder–Mead hands out a whole simplex at once; TPE and global-local learn from every result.
    const natural = strategy.name === "nelder-mead" ? remaining : 1;
    const max = Math.min(remaining, requested ?? natural);
    const points = strategy.ask(
      {
        history: this.history,
        pending: this.pendingPoints(),
        unfinished: this.unfinishedPoints,
        remaining: remaining - max,
        probeOutstanding: !this.probeResolved(),
      },
      max,
      this.nextId,
    );
    if (points === null) {
      this.actor.send({ type: "strategy.exhausted" });
      return null;
    }
    return points.slice(0, max).map((u) => this.record(this.space.snap(u.map(clampUnit)), "refine"));
  }

  tell(results: Told | readonly Told[]): void {
    this.assertRunning("tell");
    const list = (Array.isArray(results) ? (results as readonly Told[]) : [results as Told]).map(
      withoutPrunedFalse,
    );
    this.validate(list);
    for (const result of list) {
      const cost = result.cost;
      // A `pruned: false` was dropped above: "pruned" is there only when it is true.
      if ("pruned" in result && result.pruned === true) {
        this.recordPruned(result);
        continue;
      }
      const value = result.value;
      const minimised = this.sign * value;
      if ("id" in result) {
        const trial = this.pending.get(result.id)!;
        trial.status = "told";
        this.pending.delete(trial.id);
        this.pushTrial(trial, minimised);
        this.toldLog.push(cost === undefined ? { id: trial.id, value } : { id: trial.id, value, cost });
        this.pruner?.completed(trial);
        if (trial.phase === "refine") this.strategy?.tell(trial.id, minimised);
      } else {
        const params = this.space.asDeclaredChoices(toldParams(result.params));
        this.pushWarmStart(params, minimised);
        this.toldLog.push(cost === undefined ? { params, value } : { params, value, cost });
      }
    }
    this.advance();
  }

  fail(id: number, given?: string, options?: FailOptions): void {
    this.assertRunning("fail");
    const trial = this.pending.get(id);
    if (trial === undefined) throw new UsageError(`fail: ${this.describeId(id)}`);
    const reason = failureReason(given);
    const cancelled = failCancelled(options);
    trial.status = "failed";
    this.pending.delete(id);
    this.toldLog.push(cancelled ? { id, failed: reason, cancelled } : { id, failed: reason });
    // TPE keeps it as a bad point (it has no value to learn from otherwise, and would propose the
    // crashing region again); the local methods get NaN, ranked below every value. A cancelled
    // trial says nothing about its point: a simplex asks for it again.
    if (!cancelled) this.unfinishedPoints.push(trial.u);
    if (trial.phase === "refine") {
      if (cancelled) this.strategy?.cancel(id);
      else this.strategy?.tell(id, Number.NaN);
    }
    this.advance();
  }

  report(id: number, step: number, value: number): void {
    this.recordReport(id, step, value);
  }

  /** See {@link reportIfNew}. */
  recordReport(id: number, step: number, value: number): boolean {
    this.assertRunning("report");
    const trial = this.pending.get(id);
    if (trial === undefined) throw new UsageError(`report: ${this.describeId(id)}`);
    const last = trial.steps.length === 0 ? -1 : trial.steps[trial.steps.length - 1]!;
    // The same step and value again is a retry (of a call whose outcome the caller did not see):
    // it changes nothing, as `arqon report` answers it.
    if (
      step === last &&
      typeof value === "number" &&
      this.sign * value === trial.values[trial.values.length - 1]
    )
      return false;
    if (trial.steps.length > 0 && step === last && typeof value === "number") {
      // Optuna keeps the first value of a step reported twice; here a step is recorded once.
      throw new UsageError(
        `report: trial ${id} already reported step ${step}, with ${shownValue(this.sign * trial.values[trial.values.length - 1]!)}: a step is reported once (give a later step for a new value), got ${shownValue(value)}`,
      );
    }
    if (!(Number.isSafeInteger(step) && step > last)) {
      throw new UsageError(
        `report: step must be a whole number ${last < 0 ? "≥ 0" : `greater than trial ${id}'s previous step ${last}`}, got ${shownValue(step)}`,
      );
    }
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new UsageError(`report: value must be a finite number, got ${shownValue(value)}`);
    }
    trial.steps.push(step);
    trial.values.push(this.sign * value);
    if (this.pruner?.report(trial) === true) trial.prune = true;
    return true;
  }

  shouldPrune(id: number): boolean {
    return this.askedTrial(id, "shouldPrune").prune;
  }

  /** See {@link reportsUndo}. */
  reportsUndo(id: number): ((solver: Solver) => void) | undefined {
    const trial = this.pending.get(id);
    if (trial === undefined) return undefined;
    const keep = trial.steps.length;
    const prune = trial.prune;
    return (solver) => implementationOf(solver, "reportsUndo").retractReports(id, keep, prune);
  }

  /** Drops trial `id`'s reports after its first `keep`, and what the pruner made of them. */
  private retractReports(id: number, keep: number, prune: boolean): void {
    const trial = this.pending.get(id);
    if (trial === undefined || trial.steps.length < keep)
      throw new Error(`retractReports: trial ${id} is not pending with ${keep} reports or more`);
    this.pruner?.retract(trial, keep);
    trial.steps.length = keep;
    trial.values.length = keep;
    trial.prune = prune;
  }

  intermediateValues(id: number): IntermediateValue[] {
    const trial = this.askedTrial(id, "intermediateValues");
    return trial.steps.map((step, i) => ({ step, value: this.sign * trial.values[i]! }));
  }

  trialStatus(id: number): TrialStatus {
    return this.askedTrial(id, "trialStatus").status;
  }

  best(): BestPoint | null {
    if (this.bestIndex < 0) return null;
    const best = this.history[this.bestIndex]!;
    const told = this.givenParams.get(this.bestIndex);
    return {
      params: told === undefined ? this.space.toParams(best.u) : structuredClone(told),
      value: this.sign * best.value,
    };
  }

  pendingTrials(): Trial[] {
    return [...this.pending.values()].map((t) => ({ id: t.id, params: this.paramsOf(t) }));
  }

  toJSON(): SolverArtifact {
    const snapshot = this.actor.getSnapshot();
    return {
      format: "arqon.solver",
      version: 1,
      // A copy: the artifact is the caller's to edit.
      config: structuredClone(this.input),
      machine: structuredClone({ value: snapshot.value, classification: snapshot.context.classification }),
      nextId: this.nextId,
      probe: {
        count: this.config.probeSize,
        asked: this.probeAsked,
        ...(this.probeAdded === 0 ? {} : { added: this.probeAdded }),
        ...(this.starts.length === 0 ? {} : { starts: this.starts.length }),
      },
      trials: [...this.trials.values()].map((t) => ({
        id: t.id,
        u: [...t.u],
        phase: t.phase,
        status: t.status,
        ...(t.steps.length === 0
          ? {}
          : { reports: t.steps.map((step, i) => [step, this.sign * t.values[i]!] as [number, number]) }),
        ...(t.prune ? { prune: true as const } : {}),
      })),
      told: structuredClone(this.toldLog),
      strategy: this.strategy?.toJSON() ?? null,
      ...this.runRecord(),
    };
  }

  /** The run's record in its artifact, and the digest that seals it ({@link runDigest}). */
  private runRecord() {
    const record = {
      boundsDigest: this.boundsDigest,
      budget: this.config.budget,
      seed: this.config.seed,
      direction: this.config.direction,
      ...(this.extended === 0 ? {} : { extended: this.extended }),
    };
    return { ...record, runDigest: runDigest(record) };
  }

  extend(trials: number): void {
    this.assertRunning("extend");
    if (typeof trials !== "number" || !Number.isSafeInteger(trials) || trials < 1) {
      throw new UsageError(`extend: trials must be a whole number ≥ 1, got ${shownValue(trials)}`);
    }
    const spent = this.phase === "done";
    if (spent && this.asked < this.config.budget) {
      throw new UsageError(
        "extend: the run ended before its budget was spent, because its strategy had nothing left to try; a larger budget would not be used",
      );
    }
    const budget = this.config.budget + trials;
    if (!Number.isSafeInteger(budget)) {
      throw new UsageError(`extend: the budget would be ${budget}, past the largest safe integer`);
    }
    // A saved run is read back through its config: the grown one must be valid (the probe a
    // probeRatio gives must stay buildable, though this run's keeps the size it began with).
    const input = { ...this.input, budget };
    try {
      resolveSolverConfig(input, "saved");
    } catch (error) {
      const listed =
        error instanceof ConfigError
          ? error.issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")
          : errorMessage(error);
      throw new UsageError(`extend: a budget of ${budget} is refused (${listed})`);
    }
    this.config = { ...this.config, budget };
    this.input = input;
    this.extended += trials;
    this.strategy?.budgetGrew?.();
    if (spent) this.revive();
  }

  /**
   * A new lifecycle actor in the refine state of the run's strategy: the budget spent took the
   * old one to its final state, which no event leaves.
   */
  private revive(): void {
    const substate = REFINE_STATES[this.config.strategy];
    const snapshot = solverMachine.resolveState({
      value: { refine: substate },
      context: { strategy: this.config.strategy, classification: this.classification },
    });
    this.actor = createActor(solverMachine, {
      snapshot,
      input: { strategy: this.config.strategy },
      ...(this.config.inspect === undefined ? {} : { inspect: quietSink(this.config.inspect) }),
    });
    this.actor.start();
  }

  stop(): void {
    this.stopped = true;
    this.actor.stop();
  }

  /** Refuses a call that would change a stopped solver (its lifecycle actor is gone). */
  private assertRunning(call: string): void {
    if (this.stopped) throw new UsageError(`${call}: the solver was stopped`);
  }

  /** Registers an asked point as a pending trial. */
  private record(
    u: number[],
    phase: "probe" | "refine",
    given?: Readonly<Record<string, ParamValue>>,
  ): Trial {
    const trial: TrialRecord = {
      id: this.nextId++,
      u,
      phase,
      status: "pending",
      steps: [],
      values: [],
      prune: false,
      given,
    };
    this.trials.set(trial.id, trial);
    this.pending.set(trial.id, trial);
    return { id: trial.id, params: this.paramsOf(trial) };
  }

  /** A trial's params: a start point's as given, any other's from its unit point. */
  private paramsOf(trial: TrialRecord): Record<string, ParamValue> {
    return trial.given === undefined ? this.space.toParams(trial.u) : structuredClone(trial.given);
  }

  /**
   * A trial stopped early: out of the pending set and out of the history (its value is not a final
   * one), so `best()` and the probe's classification never see it. Nelder–Mead gets NaN for it,
   * which ranks it below every completed point; TPE sees it in `context.unfinished` (see `createTpe`).
   */
  private recordPruned(result: PrunedResult): void {
    const trial = this.pending.get(result.id)!;
    trial.status = "pruned";
    this.pending.delete(trial.id);
    this.unfinishedPoints.push(trial.u);
    const last = trial.values[trial.values.length - 1];
    const value = result.value ?? (last === undefined ? undefined : this.sign * last);
    this.toldLog.push({
      id: trial.id,
      pruned: true,
      ...(value === undefined ? {} : { value }),
      ...(result.cost === undefined ? {} : { cost: result.cost }),
    });
    if (trial.phase === "refine") this.strategy?.tell(trial.id, Number.NaN);
  }

  /** The record of an asked trial, or a UsageError naming `method`. */
  private askedTrial(id: number, method: string): TrialRecord {
    const trial = typeof id === "number" ? this.trials.get(id) : undefined;
    if (trial === undefined) {
      throw new UsageError(
        `${method}: ${typeof id !== "number" || !Number.isSafeInteger(id) ? `expected a trial id, got ${shownValue(id)}` : `trial ${id} was never asked`}`,
      );
    }
    return trial;
  }

  private pendingPoints(): number[][] {
    const points: number[][] = [];
    for (const trial of this.pending.values()) points.push(trial.u);
    return points;
  }

  private pushWarmStart(params: Record<string, ParamValue>, value: number): void {
    this.pushHistory(this.space.toUnit(params), value);
    this.givenParams.set(this.history.length - 1, params);
  }

  /** An asked trial's result into the history (a start point's params as given). */
  private pushTrial(trial: TrialRecord, value: number): void {
    this.pushHistory(trial.u, value);
    if (trial.given !== undefined) this.givenParams.set(this.history.length - 1, trial.given);
  }

  private pushHistory(u: number[], value: number): void {
    this.history.push({ u, value });
    if (this.bestIndex < 0 || value < this.history[this.bestIndex]!.value)
      this.bestIndex = this.history.length - 1;
  }

  /** Moves the lifecycle forward after results arrive. */
  private advance(): void {
    // The probe's last result: classify, and start the strategy unless it started already.
    const probing = this.phase === "probe";
    if (
      (probing || (this.phase === "refine" && this.classification === null)) &&
      this.probeAsked === this.probe.length &&
      this.probeResolved()
    ) {
      const { points, values } = this.probeResults();
      const result = classify(points, values);
      this.actor.send({
        type: "probe.completed",
        classification: { label: result.label, score: result.score, statistic: result.statistic },
      });
      if (probing) this.strategy = this.createStrategy();
    }
    if (this.phase === "refine" && this.asked >= this.config.budget && this.pending.size === 0) {
      this.actor.send({ type: "budget.spent" });
    }
  }

  /**
   * What the classification reads: every result told so far but the refine trials' (the probe's
   * and warm-start points), in the order told. Before refining begins, that is the history.
   */
  private probeResults(): { points: number[][]; values: number[] } {
    const points: number[][] = [];
    const values: number[] = [];
    for (const entry of this.toldLog) {
      if ("failed" in entry || "pruned" in entry) continue;
      if ("id" in entry) {
        const trial = this.trials.get(entry.id)!;
        if (trial.phase === "refine") continue;
        points.push(trial.u);
      } else {
        points.push(this.space.toUnit(entry.params));
      }
      values.push(this.sign * entry.value);
    }
    return { points, values };
  }

  /**
   * Where forced Nelder–Mead starts on a mixed space, its categorical choices then held: the best
   * point so far if a float or an int is active there, else the best point where one is (a branch
   * with nothing to move has one point, already measured), else the best point with its choices
   * changed so that one is (see {@link withNumericActive}).
   */
  private nelderMeadBase(): readonly number[] {
    const space = this.space;
    if (this.bestIndex < 0) return space.snap(space.toUnit({}));
    const best = this.history[this.bestIndex]!.u;
    if (movable(space, best)) return best;
    let found: Evaluation | undefined;
    for (const entry of this.history) {
      if ((found === undefined || entry.value < found.value) && movable(space, entry.u)) found = entry;
    }
    return found?.u ?? withNumericActive(space, best) ?? best;
  }

  private probeResolved(): boolean {
    for (const trial of this.pending.values()) if (trial.phase === "probe") return false;
    return true;
  }

  private createStrategy(): Strategy {
    const seed = this.config.seed ^ STRATEGY_SEED_STREAM;
    const space = this.space;
    const snapshot = this.actor.getSnapshot();
    if (snapshot.matches({ refine: "nelderMead" })) {
      if (!space.mixed) return createNelderMead(space.dimension, seed, {}, { measuredAt: snapOf(space) });
      return createSubspaceNelderMead(space, this.nelderMeadBase(), seed);
    }
    if (snapshot.matches({ refine: "tpe" })) {
      return space.mixed
        ? createMixedTpe(space.dimensions, seed, {}, cellHooks(space))
        : createTpe(space.dimension, seed, {}, cellHooks(space));
    }
    // A mixed space: the mixed TPE as the global model, Nelder–Mead on the numeric part as the
    // local method. With no float or int to refine, the mixed TPE alone.
    if (space.mixed) {
      return usesMixedGlobalLocal(space)
        ? createMixedGlobalLocal(space, seed, this.config.autoOptions)
        : createMixedTpe(space.dimensions, seed, {}, cellHooks(space));
    }
    return createGlobalLocal(
      space.dimension,
      seed,
      this.config.autoOptions,
      undefined,
      discreteCells(space),
      cellHooks(space),
    );
  }

  private restoreStrategy(state: StrategyState): Strategy {
    if (state.kind === "nelder-mead") {
      return this.space.mixed
        ? restoreSubspaceNelderMead(this.space, state)
        : restoreNelderMead(state, { measuredAt: snapOf(this.space) });
    }
    if (state.kind === "tpe") {
      return this.space.mixed
        ? restoreMixedTpe(this.space.dimensions, state, cellHooks(this.space))
        : restoreTpe(state, cellHooks(this.space));
    }
    return this.space.mixed
      ? restoreMixedGlobalLocal(this.space, state)
      : restoreGlobalLocal(state, undefined, discreteCells(this.space), cellHooks(this.space));
  }

  /** Checks a batch of results completely before any is recorded. */
  private validate(list: readonly Told[]): void {
    const issues: ResultIssue[] = [];
    const seen = new Set<number>();
    // By index, not `forEach`: a hole in a sparse array (`results[2] = …` with no results[1]) is
    // a missing result to refuse, not one to skip and then record as undefined.
    for (let index = 0; index < list.length; index++) {
      const result = list[index];
      const problem = (path: string, message: string) => issues.push({ index, path, message });
      if (typeof result !== "object" || result === null) {
        problem("", "expected an object");
        continue;
      }
      const r = result as unknown as Record<string, unknown>;
      for (const key of Object.keys(r)) {
        if (!RESULT_KEYS.has(key)) problem(`.${key}`, "unknown key");
      }
      const pruned = "pruned" in r;
      if (pruned && r.pruned !== true)
        problem(".pruned", `expected true or false, got ${shownValue(r.pruned)}`);
      if (pruned && "params" in r) problem(".pruned", "only an asked trial (an id) can be pruned");
      if ((!pruned || r.value !== undefined) && (typeof r.value !== "number" || !Number.isFinite(r.value))) {
        problem(".value", `expected a finite number, got ${shownValue(r.value)}`);
      }
      if (r.cost !== undefined && (typeof r.cost !== "number" || !Number.isFinite(r.cost) || r.cost < 0)) {
        problem(".cost", `expected a finite number ≥ 0, got ${shownValue(r.cost)}`);
      }
      if ("id" in r && "params" in r) {
        problem("", "give either id (an asked trial) or params (a warm-start point), not both");
      } else if ("id" in r) {
        const id = r.id as number;
        if (!this.pending.has(id)) problem(".id", this.describeId(id));
        else if (seen.has(id)) problem(".id", `trial ${id} appears twice in this call`);
        seen.add(id);
      } else if ("params" in r) {
        for (const issue of this.space.problems(r.params, ".params")) problem(issue.path, issue.message);
      } else {
        problem("", "expected an id (an asked trial) or params (a warm-start point)");
      }
    }
    if (issues.length > 0) throw new ResultsRejectedError(issues, list.length);
  }

  private describeId(id: unknown): string {
    if (typeof id !== "number" || !Number.isSafeInteger(id))
      return `expected a trial id, got ${shownValue(id)}`;
    const trial = this.trials.get(id);
    if (trial === undefined) return `trial ${id} was never asked`;
    const was = { pending: "", told: "told", failed: "marked failed", pruned: "told pruned" }[trial.status];
    return `trial ${id} was already ${was}`;
  }

  /** Rebuilds the state from an artifact that {@link artifactProblems} found coherent. */
  private restoreFrom(a: SolverArtifact): void {
    this.nextId = a.nextId;
    this.extended = a.extended ?? 0;
    this.probeAsked = a.probe.asked;
    this.probeAdded = a.probe.added ?? 0;
    if (this.probeAdded > 0) this.probe = this.probeDesign(this.config.probeSize + this.probeAdded);
    const startTrials = startTrialsOf(a.trials, this.starts);
    for (const t of a.trials) {
      const reports = t.reports ?? [];
      const given = startTrials.get(t.id)?.params;
      const record: TrialRecord = {
        id: t.id,
        u: [...t.u],
        phase: t.phase,
        status: t.status,
        steps: reports.map((r) => r[0]),
        values: reports.map((r) => this.sign * r[1]),
        prune: t.prune === true,
        given,
      };
      this.trials.set(t.id, record);
      if (t.status === "pending") this.pending.set(t.id, record);
      if (record.steps.length > 0) this.pruner?.observe(record);
    }
    for (const entry of a.told) {
      if ("failed" in entry || "pruned" in entry) {
        if (!("cancelled" in entry)) this.unfinishedPoints.push(this.trials.get(entry.id)!.u);
        this.toldLog.push(entry);
      } else if ("id" in entry) {
        const trial = this.trials.get(entry.id)!;
        this.pushTrial(trial, this.sign * entry.value);
        this.pruner?.completed(trial);
        this.toldLog.push(entry);
      } else {
        const params = this.space.asDeclaredChoices(toldParams(entry.params));
        this.pushWarmStart(params, this.sign * entry.value);
        this.toldLog.push({ ...entry, params });
      }
    }
    if (a.strategy !== null) {
      this.strategy = this.restoreStrategy(a.strategy);
    }
  }
}

function clampUnit(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/**
 * A space's ints as the default strategy needs them (cell widths for its trust region, the snap
 * that tells its simplex which cell a vertex measures), when it has ints.
 */
function discreteCells(space: Space): DiscreteCells | undefined {
  const snap = snapOf(space);
  return snap === undefined ? undefined : { widths: numericCells(space), snap };
}

/** Whether a float or an int is active at `u`. */
function movable(space: Space, u: readonly number[]): boolean {
  const active = space.activity(u);
  return space.dimensions.some((d, i) => d.kind !== "categorical" && active[i] === 1);
}

/**
 * `u` with categorical choices changed so that a float or an int is active there (the first, in
 * declaration order, whose conditions can all hold: for each categorical they name, the first choice
 * every one of them allows), snapped; null when none can be.
 */
function withNumericActive(space: Space, u: readonly number[]): number[] | null {
  const dims = space.dimensions;
  for (let i = 0; i < dims.length; i++) {
    if (dims[i]!.kind === "categorical") continue;
    // The choices each categorical may take for i to be present: its conditions and its parents'.
    const allowed = new Map<number, number[]>();
    const pending = [i];
    while (pending.length > 0) {
      for (const c of dims[pending.pop()!]!.when) {
        const had = allowed.get(c.parent);
        if (had === undefined) pending.push(c.parent);
        allowed.set(c.parent, had === undefined ? [...c.choices] : had.filter((k) => c.choices.includes(k)));
      }
    }
    if ([...allowed.values()].some((choices) => choices.length === 0)) continue;
    const v = [...u];
    for (const [parent, choices] of allowed) v[parent] = (Math.min(...choices) + 0.5) / dims[parent]!.levels;
    return space.snap(v);
  }
  return null;
}

/** The snap that tells a simplex which cell a vertex measures, when the space has ints. */
function snapOf(space: Space): ((u: readonly number[]) => readonly number[]) | undefined {
  return space.discrete ? (u) => space.snap(u) : undefined;
}

/**
 * `result` without a `pruned: false`, which means what leaving it out means: what is recorded, and
 * what a shared study's journal holds, is then the same whichever way it was written.
 */
export function withoutPrunedFalse<T>(result: T): T {
  if (typeof result !== "object" || result === null || (result as { pruned?: unknown }).pruned !== false)
    return result;
  const { pruned: _pruned, ...rest } = result as T & { pruned: false };
  return rest as T;
}
