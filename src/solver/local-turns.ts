/**
 * Who takes the next trial of a sequential local phase: the simplex (Nelder–Mead) or the trust
 * region (the minimiser of a quadratic fitted around the incumbent, src/solver/trust-region.ts).
 *
 * @remarks
 * The two fail on different landscapes. A simplex needs no model and is sure-footed at a kink
 * (Ackley's and Alpine's minima), but on a bowl under ripples it shrinks into a ripple and creeps,
 * and in an ill-conditioned valley it spends many trials per gain. A quadratic fitted to the
 * nearest points sees the bowl through the ripples and jumps along a valley in one step, but it
 * is wrong at a kink. So each trial goes to whichever has lately improved the phase's best more
 * often: each side's success rate, (wins + 1) / (tries + 2), with both counts decayed by
 * {@link DECAY} per result of that side. Neither side waits more than `maxStreak` trials in a
 * row, so the one that is behind keeps being measured. Ties go to the trust region.
 */
export class LocalTurns {
  private regionWins = 0;
  private regionTries = 0;
  private simplexWins = 0;
  private simplexTries = 0;
  /** Turns taken by the other side since each side's last turn. */
  private sinceRegion = 0;
  private sinceSimplex = 0;

  /** @param maxStreak - longest run of turns one side takes while the other waits; ≥ 1. */
  constructor(private readonly maxStreak: number) {}

  /** Whether the next trial goes to the trust region; counts the turn. */
  next(): boolean {
    const region =
      this.sinceRegion >= this.maxStreak
        ? true
        : this.sinceSimplex >= this.maxStreak
          ? false
          : rate(this.regionWins, this.regionTries) >= rate(this.simplexWins, this.simplexTries);
    if (region) {
      this.sinceRegion = 0;
      this.sinceSimplex++;
    } else {
      this.sinceSimplex = 0;
      this.sinceRegion++;
    }
    return region;
  }

  /** Records a local result: which side proposed it and whether it improved the phase's best. */
  record(byRegion: boolean, improved: boolean): void {
    const win = improved ? 1 : 0;
    if (byRegion) {
      this.regionWins = this.regionWins * DECAY + win;
      this.regionTries = this.regionTries * DECAY + 1;
    } else {
      this.simplexWins = this.simplexWins * DECAY + win;
      this.simplexTries = this.simplexTries * DECAY + 1;
    }
  }

  toJSON(): number[] {
    return [
      this.regionWins,
      this.regionTries,
      this.simplexWins,
      this.simplexTries,
      this.sinceRegion,
      this.sinceSimplex,
    ];
  }

  /** Rebuilds the turns from {@link LocalTurns.toJSON}; a RangeError names what is wrong. */
  static restore(maxStreak: number, state: unknown): LocalTurns {
    const ok =
      Array.isArray(state) &&
      state.length === 6 &&
      state.every((v) => typeof v === "number" && Number.isFinite(v) && v >= 0) &&
      Number.isSafeInteger(state[4]) &&
      Number.isSafeInteger(state[5]);
    if (!ok) throw new RangeError("invalid global-local state: turns");
    const turns = new LocalTurns(maxStreak);
    [
      turns.regionWins,
      turns.regionTries,
      turns.simplexWins,
      turns.simplexTries,
      turns.sinceRegion,
      turns.sinceSimplex,
    ] = state as number[];
    return turns;
  }
}

/**
 * Weight a side's older results keep per new result of that side: about the last ten count.
 * Chosen on the B1 development half with {@link LocalTurns}' other settings (0.8 and 0.95 did
 * about as well).
 */
const DECAY = 0.9;

function rate(wins: number, tries: number): number {
  return (wins + 1) / (tries + 2);
}
