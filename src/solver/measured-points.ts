import type { Evaluation } from "./strategy.js";

/**
 * Keys are the coordinates rounded to this grid (1e-12 of each range): two points closer than
 * that in every coordinate are one point, whatever rounding their arithmetic took.
 */
const GRID = 1e12;

/**
 * The value first measured at each unit-cube point of an append-only history, for a strategy that
 * must not ask again for a point it already has a value for (clamping to the cube and
 * contractions land on measured points, and asking again learns nothing about a deterministic
 * objective while spending a trial).
 *
 * @remarks
 * {@link MeasuredPoints.update} takes in only the entries appended since its last call, O(d)
 * each; a lookup is O(d). Nothing here is part of a strategy's saved state: it is rebuilt from
 * the history it was built on.
 */
export class MeasuredPoints {
  private readonly values = new Map<string, number>();
  private scanned = 0;

  /** Takes in the entries of `history` appended since the last call (starts over if it shrank). */
  update(history: readonly Evaluation[]): void {
    if (history.length < this.scanned) {
      this.values.clear();
      this.scanned = 0;
    }
    for (let i = this.scanned; i < history.length; i++) {
      const entry = history[i]!;
      const key = keyOf(entry.u);
      if (!this.values.has(key)) this.values.set(key, entry.value);
    }
    this.scanned = history.length;
  }

  /** The value first measured at `u` (NaN for a failed evaluation), or undefined if none was. */
  valueAt(u: readonly number[]): number | undefined {
    return this.values.get(keyOf(u));
  }
}

function keyOf(u: readonly number[]): string {
  let key = "";
  for (let j = 0; j < u.length; j++) key += `${Math.round(u[j]! * GRID)},`;
  return key;
}
