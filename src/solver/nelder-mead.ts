import { Prng } from "../random/prng.js";
import { MeasuredPoints } from "./measured-points.js";
import {
  centroidOfBest,
  gaoHanCoefficients,
  pointOnWorstLine,
  projectToUnitCube,
  rmsDistance,
  type SimplexCoefficients,
  shrinkTowards,
  simplexSize,
} from "./simplex.js";
import type { Evaluation, Strategy, StrategyContext, StrategyState } from "./strategy.js";

/**
 * Tuning knobs of {@link createNelderMead}. Every field is optional; all distances are in the unit
 * cube, so they are shares of each parameter's range.
 */
export interface NelderMeadOptions {
  /**
   * Edge of a fresh simplex along each axis. Default 0.15 (measured: on Hartmann-6 after a
   * 20-point probe it reaches the global basin within 100 evaluations more often than 0.1, and it
   * matches 0.1 on Branin and the 5-D functions). At most 0.5.
   */
  readonly initialStep?: number;
  /** Coefficients replacing the Gao–Han adaptive ones ({@link gaoHanCoefficients}) one by one. */
  readonly coefficients?: Partial<SimplexCoefficients>;
  /**
   * A simplex has converged when its size (largest ∞-norm distance of a vertex from the best
   * vertex) is at most this, and its value spread is within {@link NelderMeadOptions.valueTolerance}.
   * Default 1e-4.
   */
  readonly sizeTolerance?: number;
  /**
   * Largest value spread (worst − best vertex) of a converged simplex, relative to
   * max(1, |best value|): relative above 1, absolute below. Default 1e-8.
   */
  readonly valueTolerance?: number;
  /**
   * A history point opens a new region for a restart when its RMS coordinate distance
   * (Euclidean ÷ √d) from every visited point is at least this. Default 0.2.
   */
  readonly restartSeparation?: number;
  /** Growth of the step for each further restart in a row around the incumbent. Default 2. */
  readonly restartGrowth?: number;
}

/** {@link NelderMeadOptions} with every default filled in. */
interface ResolvedOptions {
  readonly initialStep: number;
  readonly coefficients: SimplexCoefficients;
  readonly sizeTolerance: number;
  readonly valueTolerance: number;
  readonly restartSeparation: number;
  readonly restartGrowth: number;
}

/** What the strategy is waiting for: a fresh start, the results of a stage, or nothing yet. */
type Phase = "start" | "build" | "reflect" | "expand" | "outside" | "inside" | "shrink";

const PHASES: readonly Phase[] = ["start", "build", "reflect", "expand", "outside", "inside", "shrink"];

/** The queue/pending slot of the single candidate point (reflection, expansion or contraction). */
const TRIAL = -1;

/** A simplex smaller than this has collapsed numerically: it has converged whatever its values. */
const COLLAPSED = 1e-12;

/**
 * Lookups of measured points an `ask` may make while it completes stages from values already
 * measured: enough for a simplex to converge and restart several times, and a bound (well under
 * a millisecond at d = 16) on a search that has nothing new left to ask near where it is.
 */
const MEASURED_LOOKUPS_PER_ASK = 512;

/** Random points tried for a fresh start in a part of the cube not measured yet. */
const RANDOM_START_TRIES = 16;

/** PRNG stream of this strategy, so it never shares a sequence with another user of the same seed. */
const PRNG_STREAM = 0x4e4d;

const STATE_VERSION = 1;

function resolveOptions(dimension: number, options: NelderMeadOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    initialStep: options.initialStep ?? 0.15,
    coefficients: { ...gaoHanCoefficients(dimension), ...options.coefficients },
    sizeTolerance: options.sizeTolerance ?? 1e-4,
    valueTolerance: options.valueTolerance ?? 1e-8,
    restartSeparation: options.restartSeparation ?? 0.2,
    restartGrowth: options.restartGrowth ?? 2,
  };
  const problems: string[] = [];
  const check = (ok: boolean, name: string, expected: string, value: number) => {
    if (!ok) problems.push(`${name} must be ${expected}, got ${value}`);
  };
  const { initialStep, sizeTolerance, valueTolerance, restartSeparation, restartGrowth } = resolved;
  check(initialStep > 0 && initialStep <= 0.5, "initialStep", "in (0, 0.5]", initialStep);
  check(sizeTolerance > 0 && sizeTolerance < 1, "sizeTolerance", "in (0, 1)", sizeTolerance);
  check(valueTolerance >= 0 && valueTolerance < Infinity, "valueTolerance", "finite and ≥ 0", valueTolerance);
  check(restartSeparation > 0 && restartSeparation <= 1, "restartSeparation", "in (0, 1]", restartSeparation);
  check(restartGrowth >= 1 && restartGrowth < Infinity, "restartGrowth", "finite and ≥ 1", restartGrowth);
  const { reflection, expansion, contraction, shrink } = resolved.coefficients;
  check(reflection > 0 && reflection < Infinity, "coefficients.reflection", "finite and > 0", reflection);
  check(expansion > 1 && expansion < Infinity, "coefficients.expansion", "finite and > 1", expansion);
  check(contraction > 0 && contraction < 1, "coefficients.contraction", "in (0, 1)", contraction);
  check(shrink > 0 && shrink < 1, "coefficients.shrink", "in (0, 1)", shrink);
  if (problems.length > 0) throw new RangeError(`invalid Nelder–Mead options: ${problems.join("; ")}`);
  return resolved;
}

/**
 * How an owner embeds a simplex. Not part of the saved state: the owner passes the same to
 * {@link restoreNelderMead}.
 */
export interface NelderMeadHooks {
  /**
   * Maps a point to the one whose measured value it gets (a space's ints decode to their cell,
   * which the solver snaps every point to); the point itself when absent.
   */
  readonly measuredAt?: ((point: readonly number[]) => readonly number[]) | undefined;
  /**
   * When true, a simplex that converges inside an `ask` (from values measured before) hands out
   * nothing more and waits there, `converged`, for its owner to act (the default strategy ends
   * its local phase). When false (forced Nelder–Mead), it restarts within the same `ask`.
   */
  readonly holdAtConvergence?: boolean | undefined;
}

/** A Nelder–Mead strategy, as {@link createNelderMead} returns it. */
export interface NelderMeadStrategy extends Strategy {
  /**
   * Whether the last simplex has converged and the next `ask` would restart: a caller that has
   * its own restart rule (the default strategy) can take over here.
   */
  readonly converged: boolean;
  /**
   * Whether every vertex of the current simplex has a value and they are all equal within the
   * value tolerance: on a plateau the simplex has no direction to follow, whatever its size.
   */
  readonly flat: boolean;
}

/** The sequential Nelder–Mead state machine behind {@link createNelderMead}. */
class NelderMead implements NelderMeadStrategy {
  readonly name = "nelder-mead" as const;

  private readonly d: number;
  private readonly options: ResolvedOptions;
  private readonly prng: Prng;

  private phase: Phase = "start";
  /** d + 1 vertices, sorted best-first whenever all their values are known. */
  private readonly vertices: number[][];
  /** Values of the vertices; NaN while unknown. */
  private readonly values: number[];
  /** Centroid of the d best vertices of the current iteration. */
  private readonly centroid: number[];
  /** The candidate being evaluated (reflection, expansion or contraction). */
  private readonly trial: number[];
  private trialValue = Number.NaN;
  /** This iteration's reflection, kept for the expansion and outside-contraction decisions. */
  private readonly reflected: number[];
  private reflectedValue = Number.NaN;
  /** Slots (vertex index, or TRIAL) whose points are still to be handed out, in order. */
  private queue: number[] = [];
  /** Trial id → slot, for points handed out and not yet told. */
  private readonly pending = new Map<number, number>();
  /**
   * Visited points that restarts keep away from: every start, the best vertex each time it has
   * moved half a separation from the previous record, and every converged best vertex.
   */
  private readonly anchors: number[][] = [];
  /** Step of the current simplex (for inspection and restarts). */
  private step = 0;
  /** Simplexes started so far (the first one included). */
  private starts = 0;
  /** Restarts in a row around the incumbent (none when the last one opened a new region). */
  private incumbentRestarts = 0;
  /** History entries examined so far (the history only grows). */
  private scanned = 0;
  /** Index in the history of the best entry examined, or −1. */
  private incumbent = -1;
  /**
   * Restart candidates: history indices not yet found near an anchor, best value first, with the
   * number of anchors each has been checked against (later anchors are checked lazily).
   */
  private candidates: number[] = [];
  private candidateChecks: number[] = [];
  /**
   * Whether a point was handed out since the last anchor: a simplex run through on measured values
   * alone visited nothing new, and anchoring it would pile up anchors by the thousand once a small
   * space of ints is used up.
   */
  private askedSinceAnchor = true;
  /** Values of the points in the history, so a point measured before is not asked again. */
  private readonly measured = new MeasuredPoints();

  get converged(): boolean {
    return this.phase === "start" && this.starts > 0;
  }

  get flat(): boolean {
    if (this.starts === 0) return false;
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const v of this.values) {
      if (Number.isNaN(v)) return false; // a vertex still waiting for its value
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return hi - lo <= this.options.valueTolerance * Math.max(1, Math.abs(lo));
  }

  private readonly measuredAt: ((point: readonly number[]) => readonly number[]) | undefined;
  private readonly holdAtConvergence: boolean;

  constructor(dimension: number, options: ResolvedOptions, prng: Prng, hooks: NelderMeadHooks = {}) {
    this.measuredAt = hooks.measuredAt;
    this.holdAtConvergence = hooks.holdAtConvergence ?? false;
    this.d = dimension;
    this.options = options;
    this.prng = prng;
    this.vertices = Array.from({ length: dimension + 1 }, () => new Array<number>(dimension).fill(0));
    this.values = new Array<number>(dimension + 1).fill(Number.NaN);
    this.centroid = new Array<number>(dimension).fill(0);
    this.trial = new Array<number>(dimension).fill(0);
    this.reflected = new Array<number>(dimension).fill(0);
  }

  ask(context: StrategyContext, max: number, firstId: number): number[][] | null {
    if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`max must be an integer ≥ 1, got ${max}`);
    this.scan(context.history); // a few entries per ask, so a restart has little left to do
    if (this.phase === "start") this.begin(context.history);
    this.measured.update(context.history);
    this.takeMeasured(context.history);
    const count = Math.min(max, this.queue.length);
    const points: number[][] = [];
    for (let k = 0; k < count; k++) {
      const slot = this.queue[k]!;
      this.pending.set(firstId + k, slot);
      points.push((slot === TRIAL ? this.trial : this.vertices[slot]!).slice());
    }
    if (count > 0) {
      this.queue = this.queue.slice(count);
      this.askedSinceAnchor = true;
    }
    return points;
  }

  tell(id: number, value: number): void {
    const slot = this.pending.get(id);
    if (slot === undefined) return; // not ours, or told already: ignoring it keeps the simplex sound
    this.pending.delete(id);
    const v = Number.isNaN(value) ? Number.POSITIVE_INFINITY : value;
    if (slot === TRIAL) this.trialValue = v;
    else this.values[slot] = v;
    if (this.queue.length === 0 && this.pending.size === 0) this.advance();
  }

  cancel(id: number): void {
    const slot = this.pending.get(id);
    if (slot === undefined) return;
    this.pending.delete(id);
    // The step still needs this vertex's value: the same point goes out first at the next ask.
    this.queue.unshift(slot);
  }

  toJSON(): StrategyState {
    return {
      kind: "nelder-mead",
      version: STATE_VERSION,
      dimension: this.d,
      options: { ...this.options, coefficients: { ...this.options.coefficients } },
      prng: this.prng.state(),
      phase: this.phase,
      vertices: this.vertices.map((v) => v.slice()),
      values: this.values.map(encodeValue),
      centroid: this.centroid.slice(),
      trial: this.trial.slice(),
      trialValue: encodeValue(this.trialValue),
      reflected: this.reflected.slice(),
      reflectedValue: encodeValue(this.reflectedValue),
      queue: this.queue.slice(),
      pending: [...this.pending.entries()],
      anchors: this.anchors.map((a) => a.slice()),
      step: this.step,
      starts: this.starts,
      incumbentRestarts: this.incumbentRestarts,
      askedSinceAnchor: this.askedSinceAnchor,
      scanned: this.scanned,
      incumbent: this.incumbent,
      candidates: this.candidates.slice(),
      candidateChecks: this.candidateChecks.slice(),
    };
  }

  /** Loads the mutable part of a state written by {@link NelderMead.toJSON}, checking its shape. */
  load(state: StrategyState): void {
    const bad = (what: string): never => {
      throw new RangeError(`invalid Nelder–Mead state: ${what}`);
    };
    if (!PHASES.includes(state.phase as Phase)) bad("phase");
    this.phase = state.phase as Phase;
    readMatrix(state.vertices, this.vertices, "vertices", bad);
    readValues(state.values, this.values, bad);
    readVector(state.centroid, this.centroid, "centroid", bad);
    readVector(state.trial, this.trial, "trial", bad);
    readVector(state.reflected, this.reflected, "reflected", bad);
    this.trialValue = decodeValue(state.trialValue, bad);
    this.reflectedValue = decodeValue(state.reflectedValue, bad);
    const isSlot = (s: unknown) => Number.isInteger(s) && (s as number) >= TRIAL && (s as number) <= this.d;
    if (!Array.isArray(state.queue) || !state.queue.every(isSlot)) bad("queue");
    this.queue = (state.queue as number[]).slice();
    if (!Array.isArray(state.pending)) bad("pending");
    for (const entry of state.pending as unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 2 || !Number.isFinite(entry[0]) || !isSlot(entry[1])) {
        bad("pending");
      }
      this.pending.set((entry as number[])[0]!, (entry as number[])[1]!);
    }
    if (!Array.isArray(state.anchors)) bad("anchors");
    for (const a of state.anchors as unknown[]) {
      const anchor = new Array<number>(this.d);
      readVector(a, anchor, "anchors", bad);
      this.anchors.push(anchor);
    }
    const count = (v: unknown, what: string) =>
      Number.isInteger(v) && (v as number) >= 0 ? (v as number) : bad(what);
    this.starts = count(state.starts, "starts");
    this.incumbentRestarts = count(state.incumbentRestarts, "incumbentRestarts");
    // States written before it existed anchored every point.
    if (state.askedSinceAnchor !== undefined && typeof state.askedSinceAnchor !== "boolean")
      bad("askedSinceAnchor");
    this.askedSinceAnchor = state.askedSinceAnchor !== false;
    if (typeof state.step !== "number" || !(state.step >= 0 && state.step <= 0.5)) bad("step");
    this.step = state.step as number;
    this.scanned = count(state.scanned, "scanned");
    if (!Number.isInteger(state.incumbent) || (state.incumbent as number) < -1) bad("incumbent");
    this.incumbent = state.incumbent as number;
    const isCountList = (v: unknown) =>
      Array.isArray(v) && v.every((x) => Number.isInteger(x) && (x as number) >= 0);
    if (!isCountList(state.candidates) || !isCountList(state.candidateChecks)) bad("candidates");
    this.candidates = (state.candidates as number[]).slice();
    this.candidateChecks = (state.candidateChecks as number[]).slice();
    if (this.candidates.length !== this.candidateChecks.length) bad("candidates");
  }

  /**
   * Starts a simplex where the restart rule says (see {@link createNelderMead}), or at a random
   * point when `anywhere`, and queues the vertices that still need a value.
   */
  private begin(history: readonly Evaluation[], anywhere = false): void {
    let start = this.incumbent >= 0 ? history[this.incumbent] : undefined;
    let step = this.options.initialStep;
    let randomSigns = false;
    if (anywhere) {
      start = { u: this.unmeasuredPoint(), value: Number.NaN };
      randomSigns = true;
    } else if (this.starts > 0) {
      const fresh = this.bestCandidate(history);
      if (fresh !== undefined) {
        start = fresh;
        this.incumbentRestarts = 0;
        // Used: a start that asks nothing is not anchored, and would be chosen again and again.
        this.candidates.shift();
        this.candidateChecks.shift();
      } else {
        // Nowhere new to go: look around the incumbent again, wider each time and in random
        // directions, so repeated restarts are unlikely to re-ask the same points. Once the step
        // would pass its cap, it is drawn at random up to the cap: a fixed one would rebuild the
        // same simplex (in one dimension, the same two points) every time.
        const grown = step * this.options.restartGrowth ** this.incumbentRestarts;
        step = grown <= 0.5 ? grown : step + (0.5 - step) * this.prng.next();
        this.incumbentRestarts++;
        randomSigns = true;
      }
    }
    this.starts++;
    this.step = step;
    const base = this.vertices[0]!;
    if (start === undefined) {
      base.fill(0.5); // nothing evaluated yet: start at the centre, which needs a value too
      this.values[0] = Number.NaN;
    } else {
      for (let j = 0; j < this.d; j++) base[j] = start.u[j]!;
      projectToUnitCube(base);
      // A random start has no value yet (NaN here); a history point's NaN is a failure: +∞.
      this.values[0] = anywhere
        ? Number.NaN
        : Number.isNaN(start.value)
          ? Number.POSITIVE_INFINITY
          : start.value;
    }
    for (let i = 1; i <= this.d; i++) {
      const v = this.vertices[i]!;
      for (let j = 0; j < this.d; j++) v[j] = base[j]!;
      const axis = i - 1;
      const sign = randomSigns ? this.prng.sign() : 1;
      const forward = base[axis]! + sign * step;
      // step ≤ 0.5, so when one direction leaves the cube the other one stays inside
      v[axis] = forward >= 0 && forward <= 1 ? forward : base[axis]! - sign * step;
      this.values[i] = Number.NaN;
    }
    this.addAnchor(base);
    this.queue = [];
    for (let i = Number.isNaN(this.values[0]!) ? 0 : 1; i <= this.d; i++) this.queue.push(i);
    this.phase = "build";
  }

  /** A random point whose cell has no value yet, if one of a few tries finds it (else the last). */
  private unmeasuredPoint(): number[] {
    let point: number[] = [];
    for (let attempt = 0; attempt < RANDOM_START_TRIES; attempt++) {
      point = Array.from({ length: this.d }, () => this.prng.next());
      if (this.lookUp(point) === undefined) break;
    }
    return point;
  }

  /** The value measured where `point` would be measured, or undefined. */
  private lookUp(point: readonly number[]): number | undefined {
    return this.measured.valueAt(this.measuredAt === undefined ? point : this.measuredAt(point));
  }

  /**
   * Records a visited point for the restart rule, unless nothing was asked since the last one (a
   * simplex run through on measured values visited nothing new).
   */
  private addAnchor(point: readonly number[]): void {
    if (!this.askedSinceAnchor) return;
    this.askedSinceAnchor = false;
    this.anchors.push(point.slice());
  }

  /**
   * Takes in the history entries told since the last start: tracks the incumbent and files the
   * ones far from every anchor as restart candidates.
   */
  private scan(history: readonly Evaluation[]): void {
    if (history.length < this.scanned) {
      // Not the append-only history this state was built on: start the bookkeeping over.
      this.scanned = 0;
      this.incumbent = -1;
      this.candidates = [];
      this.candidateChecks = [];
    }
    const anchorCount = this.anchors.length;
    for (let i = this.scanned; i < history.length; i++) {
      const value = rankValue(history[i]!);
      if (this.incumbent < 0 || value < rankValue(history[this.incumbent]!)) this.incumbent = i;
      if (this.nearAnchor(history[i]!.u, 0)) continue;
      let k = this.candidates.length; // insert after every candidate that is no worse (stable)
      while (k > 0 && rankValue(history[this.candidates[k - 1]!]!) > value) k--;
      this.candidates.splice(k, 0, i);
      this.candidateChecks.splice(k, 0, anchorCount);
    }
    this.scanned = history.length;
  }

  /** The best candidate still far from every anchor; candidates found near one are dropped for good. */
  private bestCandidate(history: readonly Evaluation[]): Evaluation | undefined {
    while (this.candidates.length > 0) {
      const index = this.candidates[0]!;
      const entry = history[index];
      if (entry !== undefined && !this.nearAnchor(entry.u, this.candidateChecks[0]!)) {
        this.candidateChecks[0] = this.anchors.length;
        return entry;
      }
      this.candidates.shift();
      this.candidateChecks.shift();
    }
    return undefined;
  }

  /** Whether `u` lies within the restart separation of an anchor numbered `from` or later. */
  private nearAnchor(u: readonly number[], from: number): boolean {
    const separation = this.options.restartSeparation;
    // newest first: points near the current search are rejected after a check or two
    for (let a = this.anchors.length - 1; a >= from; a--) {
      if (rmsDistance(this.anchors[a]!, u) < separation) return true;
    }
    return false;
  }

  /**
   * Fills the queued points that the history already has values for, and runs the stages they
   * complete, until a point needs asking, the simplex converges with `holdAtConvergence`, or
   * {@link MEASURED_LOOKUPS_PER_ASK} lookups were made: then everything the search leads to near
   * here is measured (a finite space of ints used up around the best cell, a plateau), and a
   * simplex at a random point, unmeasured if a few draws find one, asks something new (with
   * `holdAtConvergence`, the simplex counts as converged instead, for its owner to act on).
   */
  private takeMeasured(history: readonly Evaluation[]): void {
    let lookups = 0;
    for (;;) {
      if (this.phase === "start") this.begin(history);
      lookups += this.queue.length;
      if (!this.fillMeasured()) return;
      if (this.queue.length > 0 || this.pending.size > 0) return;
      if (lookups >= MEASURED_LOOKUPS_PER_ASK) break;
      this.advance();
      if (this.phase === "start" && this.holdAtConvergence) return;
    }
    if (this.holdAtConvergence) {
      // Nothing new near here: for its owner, that is as good as converged (it ends the phase).
      this.phase = "start";
      this.queue = [];
      return;
    }
    this.begin(history, true);
    this.fillMeasured();
    if (this.queue.length === 0 && this.pending.size === 0) {
      // Not one of its vertices is new (a space nearly used up): ask them again.
      for (let i = 0; i <= this.d; i++) this.queue.push(i);
    }
  }

  /**
   * Gives the queued points that have a measured value that value and takes them off the queue;
   * whether it found any.
   */
  private fillMeasured(): boolean {
    const unknown: number[] = [];
    for (const slot of this.queue) {
      const value = this.lookUp(slot === TRIAL ? this.trial : this.vertices[slot]!);
      if (value === undefined) unknown.push(slot);
      else if (slot === TRIAL) this.trialValue = Number.isNaN(value) ? Number.POSITIVE_INFINITY : value;
      else this.values[slot] = Number.isNaN(value) ? Number.POSITIVE_INFINITY : value;
    }
    if (unknown.length === this.queue.length) return false;
    this.queue = unknown;
    return true;
  }

  /** Runs the state machine once every result of the current stage is in. */
  private advance(): void {
    const { reflection: alpha, expansion: gamma, contraction: rho } = this.options.coefficients;
    const d = this.d;
    const worst = this.vertices[d]!;
    switch (this.phase) {
      case "build":
      case "shrink":
        this.sortSimplex();
        this.nextIteration();
        return;
      case "reflect": {
        const fr = this.trialValue;
        for (let j = 0; j < d; j++) this.reflected[j] = this.trial[j]!;
        this.reflectedValue = fr;
        if (fr < this.values[0]!) {
          pointOnWorstLine(this.centroid, worst, alpha * gamma, this.trial);
          this.propose("expand");
        } else if (fr < this.values[d - 1]!) {
          this.accept(this.reflected, fr);
        } else if (fr < this.values[d]!) {
          pointOnWorstLine(this.centroid, worst, alpha * rho, this.trial);
          this.propose("outside");
        } else {
          pointOnWorstLine(this.centroid, worst, -rho, this.trial);
          this.propose("inside");
        }
        return;
      }
      case "expand":
        if (this.trialValue < this.reflectedValue) this.accept(this.trial, this.trialValue);
        else this.accept(this.reflected, this.reflectedValue);
        return;
      case "outside":
        if (this.trialValue <= this.reflectedValue) this.accept(this.trial, this.trialValue);
        else this.shrink();
        return;
      case "inside":
        if (this.trialValue < this.values[d]!) this.accept(this.trial, this.trialValue);
        else this.shrink();
        return;
      case "start":
        return;
    }
  }

  /** Queues the single candidate already written into `trial`. */
  private propose(phase: Phase): void {
    this.phase = phase;
    this.trialValue = Number.NaN;
    this.queue = [TRIAL];
  }

  /** Replaces the worst vertex with `point`, keeping the order (a newcomer loses ties). */
  private accept(point: readonly number[], value: number): void {
    const d = this.d;
    const recycled = this.vertices[d]!;
    for (let j = 0; j < d; j++) recycled[j] = point[j]!;
    let i = d;
    while (i > 0 && this.values[i - 1]! > value) {
      this.vertices[i] = this.vertices[i - 1]!;
      this.values[i] = this.values[i - 1]!;
      i--;
    }
    this.vertices[i] = recycled;
    this.values[i] = value;
    this.nextIteration();
  }

  /** Moves every vertex but the best towards it and queues them all. */
  private shrink(): void {
    const best = this.vertices[0]!;
    this.queue = [];
    for (let i = 1; i <= this.d; i++) {
      const v = this.vertices[i]!;
      shrinkTowards(best, v, this.options.coefficients.shrink, v);
      this.values[i] = Number.NaN;
      this.queue.push(i);
    }
    this.phase = "shrink";
  }

  /** Records the path, then either stops this simplex (converged) or reflects its worst vertex. */
  private nextIteration(): void {
    const d = this.d;
    const best = this.vertices[0]!;
    const size = simplexSize(this.vertices);
    const spread = this.values[d]! - this.values[0]!;
    const { sizeTolerance, valueTolerance, restartSeparation } = this.options;
    const converged =
      size <= COLLAPSED ||
      (size <= sizeTolerance && spread <= valueTolerance * Math.max(1, Math.abs(this.values[0]!)));
    const last = this.anchors[this.anchors.length - 1];
    if (converged || last === undefined || rmsDistance(last, best) >= restartSeparation / 2) {
      this.addAnchor(best);
    }
    if (converged) {
      this.phase = "start"; // the next ask restarts, with the history it brings
      this.queue = [];
      return;
    }
    centroidOfBest(this.vertices, d, this.centroid);
    pointOnWorstLine(this.centroid, this.vertices[d]!, this.options.coefficients.reflection, this.trial);
    this.propose("reflect");
  }

  /** Stable insertion sort by value: d is small, and on ties the earlier vertex (the old best) stays first. */
  private sortSimplex(): void {
    for (let i = 1; i <= this.d; i++) {
      const v = this.vertices[i]!;
      const f = this.values[i]!;
      let k = i;
      while (k > 0 && this.values[k - 1]! > f) {
        this.vertices[k] = this.vertices[k - 1]!;
        this.values[k] = this.values[k - 1]!;
        k--;
      }
      this.vertices[k] = v;
      this.values[k] = f;
    }
  }
}

/** An evaluation's value for ranking: NaN counts as +∞. */
function rankValue(e: Evaluation): number {
  return Number.isNaN(e.value) ? Number.POSITIVE_INFINITY : e.value;
}

/**
 * A sequential Nelder–Mead refine strategy over the unit cube [0,1]^`dimension`.
 *
 * @remarks
 * - Start: a simplex around the best point of `context.history` (probe and warm-start points),
 *   with one vertex per axis `initialStep` away (the other way where the cube ends). The best point
 *   already has a value, so only the d new vertices are asked. An empty history starts at the centre.
 * - Moves: reflection, expansion, outside and inside contraction and shrink, with Gao–Han adaptive
 *   coefficients; every proposed point is projected (clamped) into the cube. The simplex lives on
 *   across iterations: it is never rebuilt after a move.
 * - Sequencing: `ask` hands out what the current stage needs (d points for a new simplex or a
 *   shrink, otherwise 1), at most `max` at a time (the rest on the next asks), then returns `[]`
 *   until all of them are told. Results may arrive in any order; ids it is not waiting for are
 *   ignored; NaN counts as +∞. Each handed-out point needs a result, or the strategy waits forever.
 * - Convergence: size (largest ∞-norm distance from the best vertex) ≤ `sizeTolerance` and value
 *   spread ≤ `valueTolerance` × max(1, |best|), or a simplex collapsed below 1e-12.
 * - Measured points are not asked again: a point the history already has a value for (a reflection
 *   clamped onto a vertex, a contraction onto a measured point, an int cell measured before, with
 *   `hooks.measuredAt` mapping a point to its cell) takes that value, and the stage it completes
 *   runs at once, within the same `ask`. After 512 such lookups in one `ask` (everything the
 *   search leads to near here is measured) it starts a simplex at a random point (unmeasured,
 *   if one of 16 draws finds one); with `hooks.holdAtConvergence` it counts as converged instead.
 * - Restart rule, applied at the next `ask` after convergence: start from the best history point
 *   whose RMS distance from every visited point (each start, the best vertex every time it has
 *   moved `restartSeparation / 2`, each converged point; of a simplex that asked nothing, none)
 *   is at least `restartSeparation`, and that no restart has started from yet, with the initial
 *   step. If there is none, restart around the incumbent (best history point) with the step
 *   grown by `restartGrowth` for each such restart in a row and random directions; once the grown
 *   step would pass 0.5, it is drawn at random between the initial step and 0.5.
 *   So it never returns `null`: the solver ends the run by capping `max` at the remaining budget.
 * - Determinism: the same seed, options and calls give the same points; `toJSON()` captures the
 *   whole state, PRNG included, and {@link restoreNelderMead} continues it exactly.
 * - Cost: O(d²) per `ask`/`tell` (centroid and size), except that a restart scans the history
 *   once against the visited points.
 */
export function createNelderMead(
  dimension: number,
  seed: number,
  options: NelderMeadOptions = {},
  hooks: NelderMeadHooks = {},
): NelderMeadStrategy {
  if (!(Number.isInteger(dimension) && dimension >= 1)) {
    throw new RangeError(`dimension must be an integer ≥ 1, got ${dimension}`);
  }
  const prng = Prng.fromSeed(seed, PRNG_STREAM);
  return new NelderMead(dimension, resolveOptions(dimension, options), prng, hooks);
}

/**
 * Rebuilds a Nelder–Mead strategy from the output of its `toJSON()` (also after a JSON round
 * trip); the result continues exactly where the original was.
 *
 * @throws RangeError when `state` is not a well-formed Nelder–Mead state of this version.
 */
export function restoreNelderMead(state: StrategyState, hooks: NelderMeadHooks = {}): NelderMeadStrategy {
  if (state.kind !== "nelder-mead" || state.version !== STATE_VERSION) {
    throw new RangeError(
      `invalid Nelder–Mead state: expected kind "nelder-mead" version ${STATE_VERSION}, ` +
        `got ${String(state.kind)} version ${String(state.version)}`,
    );
  }
  const dimension = state.dimension;
  if (!(Number.isInteger(dimension) && (dimension as number) >= 1)) {
    throw new RangeError("invalid Nelder–Mead state: dimension");
  }
  const saved = state.options as ResolvedOptions | undefined;
  if (typeof saved !== "object" || saved === null || typeof saved.coefficients !== "object") {
    throw new RangeError("invalid Nelder–Mead state: options");
  }
  const options = resolveOptions(dimension as number, { ...saved, coefficients: { ...saved.coefficients } });
  const prng = Prng.fromState(state.prng as number[]);
  const strategy = new NelderMead(dimension as number, options, prng, hooks);
  strategy.load(state);
  return strategy;
}

/** JSON has no NaN or ±∞: unknown values become null, infinities strings. */
function encodeValue(v: number): number | string | null {
  if (Number.isNaN(v)) return null;
  if (v === Number.POSITIVE_INFINITY) return "Infinity";
  if (v === Number.NEGATIVE_INFINITY) return "-Infinity";
  return v;
}

function decodeValue(v: unknown, bad: (what: string) => never): number {
  if (v === null) return Number.NaN;
  if (v === "Infinity") return Number.POSITIVE_INFINITY;
  if (v === "-Infinity") return Number.NEGATIVE_INFINITY;
  if (typeof v === "number" && Number.isFinite(v)) return v;
  return bad("value");
}

function readVector(from: unknown, to: number[], what: string, bad: (what: string) => never): void {
  if (!Array.isArray(from) || from.length !== to.length) bad(what);
  for (let j = 0; j < to.length; j++) {
    const x = (from as unknown[])[j];
    if (typeof x !== "number" || !Number.isFinite(x)) bad(what);
    to[j] = x as number;
  }
}

function readMatrix(from: unknown, to: number[][], what: string, bad: (what: string) => never): void {
  if (!Array.isArray(from) || from.length !== to.length) bad(what);
  for (let i = 0; i < to.length; i++) readVector((from as unknown[])[i], to[i]!, what, bad);
}

function readValues(from: unknown, to: number[], bad: (what: string) => never): void {
  if (!Array.isArray(from) || from.length !== to.length) bad("values");
  for (let i = 0; i < to.length; i++) to[i] = decodeValue((from as unknown[])[i], bad);
}
