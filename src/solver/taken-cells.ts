import { MeasuredPoints, ReusedKey } from "./measured-points.js";
import type { StrategyContext } from "./strategy.js";

/**
 * The cells a TPE passes over when it proposes a point on a space with ints or categoricals: those
 * measured, those of failed and pruned trials (asked again, they would fail or be stopped again),
 * those pending, and those proposed earlier in the same `ask`. Late in a run l's kernels are
 * narrower than an int's cell, and nearly every draw lands in a good point's own cell.
 *
 * @remarks
 * A cell is a point as `cellOf` gives it (the solver's `Space.cellOf`: snapped, inactive
 * coordinates at the centre). The history and the failed and pruned points are taken in as they
 * grow, O(d) per new point; the pending ones at every `ask`. Nothing here is saved state.
 */
export class TakenCells {
  private readonly measured = new MeasuredPoints();
  private readonly ended = new MeasuredPoints();
  private endedScanned = 0;
  private readonly asked = new MeasuredPoints();
  /** The candidate `has` is asked about, copied out of the caller's buffer, and its cell's key. */
  private readonly point: number[] = [];
  private readonly key = new ReusedKey();

  constructor(private readonly cellOf: (u: readonly number[]) => readonly number[]) {}

  /** Takes in what `context` holds at the start of an `ask`. */
  begin(context: StrategyContext): void {
    this.measured.update(context.history, this.cellOf);
    const unfinished = context.unfinished ?? [];
    if (unfinished.length < this.endedScanned) {
      this.ended.clear();
      this.endedScanned = 0;
    }
    for (; this.endedScanned < unfinished.length; this.endedScanned++) {
      this.ended.add(this.cellOf(unfinished[this.endedScanned]!), Number.NaN);
    }
    this.asked.clear();
    for (const point of context.pending) this.take(point);
  }

  /** Marks the cell of a point proposed in this `ask` as taken. */
  take(point: ArrayLike<number>): void {
    this.asked.add(this.cellOf(Array.from(point)), 0);
  }

  /**
   * Whether the cell of the point `x[offset…offset + d)` is taken (one key for the three sets: TPE
   * asks it per candidate, so nothing is allocated here but the cell).
   */
  has(x: ArrayLike<number>, offset: number, d: number): boolean {
    const point = this.point;
    point.length = d;
    for (let j = 0; j < d; j++) point[j] = x[offset + j]!;
    const key = this.key.of(this.cellOf(point));
    return (
      this.measured.valueAtKey(key) !== undefined ||
      this.asked.valueAtKey(key) !== undefined ||
      this.ended.valueAtKey(key) !== undefined
    );
  }
}
