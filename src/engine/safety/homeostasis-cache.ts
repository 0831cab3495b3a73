import type { ConfigIssue } from "../../errors.js";
import { type NumericRule, numericOptionIssues, throwOnIssues, withDefaults } from "./option-issues.js";

/** Tuning of the {@link HomeostasisCache}; every field is optional (see {@link DEFAULT_HOMEOSTASIS_OPTIONS}). */
export interface HomeostasisOptions {
  /** Regimes remembered (the least recently used is forgotten first). */
  readonly capacity?: number;
  /** Digests a regime must have stayed in control before its centre counts as known-good. */
  readonly minDwell?: number;
  /** Centres closer than this (largest per-parameter gap, unit cube) are the same regime. */
  readonly mergeRadius?: number;
  /** A cached centre is recalled only if it lies downhill: cosine with −gradient at least this. */
  readonly minCosine?: number;
  /**
   * Only a shift whose mean rise is at least this many σ of the objective looks a regime up: after
   * a small one the gradient is mostly noise, and a warm start on it would be a guess.
   */
  readonly minRiseSigmas?: number;
  /**
   * Probe on a shift: the tuner warm-starts at once towards the regime it was in before the one
   * it is leaving (the most recently used other entry) and keeps going only while the objective
   * falls by at least this share of what a return to that regime predicts; 0 turns the probe off
   * (the cache is then looked up from the gradient estimates alone).
   */
  readonly probeShare?: number;
}

/** The cache's options with every field resolved. */
export type ResolvedHomeostasisOptions = Required<HomeostasisOptions>;

/**
 * Defaults: 8 regimes, 150 digests of dwell, 0.05 of the range to merge, cosine ≥ 0.5 and a rise
 * of 10σ to recall, and a probe that keeps going on half the predicted fall.
 */
export const DEFAULT_HOMEOSTASIS_OPTIONS: ResolvedHomeostasisOptions = Object.freeze({
  capacity: 8,
  minDwell: 150,
  mergeRadius: 0.05,
  minCosine: 0.5,
  minRiseSigmas: 10,
  probeShare: 0.5,
});

const RULES: Readonly<Record<keyof ResolvedHomeostasisOptions, NumericRule>> = {
  capacity: [(x) => Number.isInteger(x) && x >= 1 && x <= 64, "must be a whole number from 1 to 64"],
  minDwell: [(x) => Number.isInteger(x) && x >= 0, "must be a whole number ≥ 0 (digests)"],
  mergeRadius: [(x) => x > 0 && x <= 1, "must be in (0, 1] (unit cube)"],
  minCosine: [(x) => x >= -1 && x <= 1, "must be in [−1, 1]"],
  minRiseSigmas: [(x) => Number.isFinite(x) && x >= 0, "must be a finite number ≥ 0 (σ)"],
  probeShare: [(x) => x >= 0 && x <= 1, "must be in [0, 1] (0: no probe)"],
};

/** Every problem with homeostasis options, each with its path under `path`; empty when valid. */
export function homeostasisOptionIssues(input: unknown, path = "homeostasis"): ConfigIssue[] {
  return numericOptionIssues(input, RULES, path, "homeostasis options");
}

/**
 * Known-good centres, one per regime the engine has settled in (seed 000's homeostasis): when an
 * environment shift is detected, the centre the engine is leaving is remembered with its level;
 * when a later shift leads back to a remembered regime, the engine warm-starts towards its centre.
 *
 * @remarks
 * A regime's signature is where its optimum lies, seen from the tuner: after a shift, the first
 * gradient estimate points towards the new regime's optimum, so a remembered centre that lies
 * downhill from the current one (cosine between the gap and −ĝ at least `minCosine`, further than
 * `mergeRadius`) is the regime coming back. Its settled level is kept too, for the audit and so
 * the best of several downhill candidates wins ties. Everything is in unit-cube coordinates;
 * storage is preallocated (capacity × dimension), and no method allocates.
 */
export class HomeostasisCache {
  /** The options in force, defaults filled in. */
  readonly options: ResolvedHomeostasisOptions;
  private readonly size: number;
  private readonly centres: Float64Array;
  private readonly levels: Float64Array;
  private readonly lastUsed: Float64Array;
  private readonly hitCounts: Float64Array;
  private count = 0;
  private clock = 0;

  /** @throws RangeError listing every invalid option. */
  constructor(dimension: number, options: HomeostasisOptions = {}) {
    throwOnIssues("homeostasis", homeostasisOptionIssues(options));
    if (!(Number.isInteger(dimension) && dimension >= 1))
      throw new RangeError("dimension must be a whole number ≥ 1");
    this.options = Object.freeze(withDefaults(DEFAULT_HOMEOSTASIS_OPTIONS, options));
    this.size = dimension;
    const capacity = this.options.capacity;
    this.centres = new Float64Array(capacity * dimension);
    this.levels = new Float64Array(capacity);
    this.lastUsed = new Float64Array(capacity);
    this.hitCounts = new Float64Array(capacity);
  }

  /** Regimes remembered. */
  get entries(): number {
    return this.count;
  }

  /** The remembered centre of entry `index` (unit cube), copied into `out`. */
  centreOf(index: number, out: Float64Array): void {
    out.set(this.centres.subarray(index * this.size, (index + 1) * this.size));
  }

  /** The settled objective level remembered for entry `index`. */
  levelOf(index: number): number {
    return this.levels[index]!;
  }

  /** How many times entry `index` was recalled. */
  hitsOf(index: number): number {
    return this.hitCounts[index]!;
  }

  /**
   * Remembers `centre` as the known-good centre of a regime settled at `level`: merged into an
   * entry within `mergeRadius` (the newer centre wins), else stored, replacing the least recently
   * used entry when full. Returns the entry's index.
   */
  remember(centre: Float64Array, level: number): number {
    let index = this.nearest(centre);
    if (index < 0) {
      if (this.count < this.options.capacity) index = this.count++;
      else {
        index = 0;
        for (let e = 1; e < this.count; e++) if (this.lastUsed[e]! < this.lastUsed[index]!) index = e;
      }
      this.hitCounts[index] = 0;
    }
    this.centres.set(centre, index * this.size);
    this.levels[index] = level;
    this.lastUsed[index] = ++this.clock;
    return index;
  }

  /**
   * The remembered regime to warm-start towards from `centre`, given the gradient estimate
   * `gradient` there (both unit cube): the entry further than `mergeRadius` whose direction from
   * `centre` is closest to −gradient, if its cosine is at least `minCosine`; −1 when none.
   */
  recall(centre: Float64Array, gradient: Float64Array): number {
    const n = this.size;
    let gradNorm = 0;
    for (let i = 0; i < n; i++) gradNorm += gradient[i]! * gradient[i]!;
    if (!(gradNorm > 0 && Number.isFinite(gradNorm))) return -1;
    gradNorm = Math.sqrt(gradNorm);
    let best = -1;
    let bestCosine = this.options.minCosine;
    for (let e = 0; e < this.count; e++) {
      const at = e * n;
      let dot = 0;
      let norm = 0;
      let far = false;
      for (let i = 0; i < n; i++) {
        const d = this.centres[at + i]! - centre[i]!;
        if (Math.abs(d) > this.options.mergeRadius) far = true;
        dot -= d * gradient[i]!;
        norm += d * d;
      }
      if (!far) continue;
      const cosine = dot / (Math.sqrt(norm) * gradNorm);
      if (cosine >= bestCosine) {
        best = e;
        bestCosine = cosine;
      }
    }
    if (best >= 0) {
      this.hitCounts[best]! += 1;
      this.lastUsed[best] = ++this.clock;
    }
    return best;
  }

  /**
   * The regime to probe from `centre` after a shift: the most recently used entry further than
   * `mergeRadius` from it (the regime the tuner was in before the one it is leaving, when regimes
   * alternate); −1 when none. Counts as a recall of that entry.
   */
  latestOther(centre: Float64Array): number {
    const n = this.size;
    let best = -1;
    for (let e = 0; e < this.count; e++) {
      let far = false;
      for (let i = 0; i < n && !far; i++)
        if (Math.abs(this.centres[e * n + i]! - centre[i]!) > this.options.mergeRadius) far = true;
      if (far && (best < 0 || this.lastUsed[e]! > this.lastUsed[best]!)) best = e;
    }
    if (best >= 0) {
      this.hitCounts[best]! += 1;
      this.lastUsed[best] = ++this.clock;
    }
    return best;
  }

  /** Forgets every regime. */
  clear(): void {
    this.count = 0;
  }

  private nearest(centre: Float64Array): number {
    const n = this.size;
    for (let e = 0; e < this.count; e++) {
      let near = true;
      for (let i = 0; i < n && near; i++)
        if (Math.abs(this.centres[e * n + i]! - centre[i]!) > this.options.mergeRadius) near = false;
      if (near) return e;
    }
    return -1;
  }
}
