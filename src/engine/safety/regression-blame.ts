/**
 * The parameter space as the blame rule needs it: how many parameters, each one's maxDelta (raw
 * units), and the map from the unit cube (where the SPSA centre lives) to raw values.
 */
export interface BlameSpace {
  readonly size: number;
  readonly maxDelta: ArrayLike<number>;
  toRaw(index: number, unit: number): number;
}

/**
 * How far (in maxDeltas) the centre must stand from the known-good configuration to blame the
 * tuner: half a step, a perturbation's reach. (Three quarters would spare a noisy tracker that
 * wobbles over the horizon, but miss a delayed regression reached by creeping steps: see
 * docs/concepts/safe-mode.md.)
 */
export const MATERIAL_MOVE = 0.5;

/**
 * Decides whether a regression the instability governor found is the tuner's doing.
 *
 * @remarks
 * It keeps a **known-good configuration**: the SPSA centre at the latest window that was followed
 * by `horizonWindows` more windows, none of them worse than the known-good level by the divergence
 * margin and all of them together at that level (their mean excess over it within its noise band:
 * averaged, so that one noisy digest does not keep a configuration from ever proving itself, while
 * a level creeping up inside the margin does). A regression the tuner causes can show with a delay (a cache
 * filling, a queue building up, a debt growing), so a configuration counts as good only once it has
 * been live for that horizon without trouble. A regression is blamed on the tuner when the centre
 * now stands more than {@link MATERIAL_MOVE} maxDelta from the known-good configuration
 * in some parameter: the tuner moved within the horizon, or kept moving while things got worse.
 * When the centre is where it was while all was well, the tuner did not cause it (the plant
 * shifted) and rolling back cannot be expected to help.
 *
 * This is the only question it answers; what to do about a regression (roll back, absorb) is the
 * caller's. Every method is O(parameters) and allocation-free.
 */
export class RegressionBlame {
  /** Good windows that must follow a configuration before it is known-good. */
  readonly horizonWindows: number;

  private readonly space: BlameSpace;
  /** Centres at the latest `horizonWindows + 1` window closes, oldest overwritten first. */
  private readonly history: Float64Array;
  /** Excess over the known-good level of the same windows. */
  private readonly excesses: Float64Array;
  /** Windows of a run that may lie above the level's noise band (a quarter): single noisy digests. */
  private readonly outliersAllowed: number;
  private next = 0;
  /** Good windows in a row so far (capped at the history's length). */
  private goodRun = 0;
  private readonly knownGood: Float64Array;

  constructor(space: BlameSpace, horizonWindows: number, centre: ArrayLike<number>) {
    this.space = space;
    this.horizonWindows = horizonWindows;
    this.history = new Float64Array((horizonWindows + 1) * space.size);
    this.excesses = new Float64Array(horizonWindows + 1);
    this.outliersAllowed = Math.floor((horizonWindows + 1) / 4);
    this.knownGood = new Float64Array(space.size);
    this.reset(centre);
  }

  /** The known-good configuration (unit cube); read-only for callers. */
  get knownGoodCentre(): Float64Array {
    return this.knownGood;
  }

  /**
   * Takes `centre` as known-good and forgets the windows seen so far: after a rollback (the
   * baseline is known-good by definition), a new baseline, or a shift of the plant that the caller
   * judged not the tuner's.
   */
  reset(centre: ArrayLike<number>): void {
    for (let i = 0; i < this.space.size; i++) this.knownGood[i] = centre[i]!;
    this.goodRun = 0;
    this.next = 0;
  }

  /**
   * Forgets the windows seen so far but keeps the known-good configuration: after a shift of the
   * plant that the caller absorbed. The configuration live through the shift has not proved itself
   * at the new level yet; if the cost keeps building there (a debt the tuner's own moves run up,
   * absorbed one rise at a time), the next rise is still judged against the configuration that
   * was good before it, not against the spot where the cost builds.
   */
  forgetWindows(): void {
    this.goodRun = 0;
    this.next = 0;
  }

  /**
   * A window closed around `centre`, `excess` above the known-good level (negative: better);
   * `worse` says it counts toward a divergence, `tolerance` is the level's noise band. Once
   * `horizonWindows + 1` windows in a row have closed none worse, with a mean excess within the
   * band, the centre of the first of them becomes known-good.
   */
  windowClosed(centre: ArrayLike<number>, excess: number, tolerance: number, worse: boolean): void {
    const n = this.space.size;
    const slots = this.horizonWindows + 1;
    const history = this.history;
    const at = this.next * n;
    for (let i = 0; i < n; i++) history[at + i] = centre[i]!;
    this.excesses[this.next] = excess;
    this.next = this.next + 1 === slots ? 0 : this.next + 1;
    if (worse || Number.isNaN(excess)) {
      this.goodRun = 0;
      return;
    }
    if (this.goodRun < slots) this.goodRun++;
    if (this.goodRun < slots) return;
    let above = 0;
    for (let k = 0; k < slots; k++) if (this.excesses[k]! > tolerance) above++;
    if (above > this.outliersAllowed) return;
    // The slot written next is the oldest: the centre `horizonWindows` closes before this one.
    const oldest = this.next * n;
    for (let i = 0; i < n; i++) this.knownGood[i] = history[oldest + i]!;
  }

  /** Whether the tuner is to blame: `centre` is more than {@link MATERIAL_MOVE} maxDelta from the known-good configuration in some parameter. */
  tunerMoved(centre: ArrayLike<number>): boolean {
    const space = this.space;
    for (let i = 0; i < space.size; i++) {
      const moved = Math.abs(space.toRaw(i, centre[i]!) - space.toRaw(i, this.knownGood[i]!));
      if (moved > MATERIAL_MOVE * space.maxDelta[i]!) return true;
    }
    return false;
  }
}
