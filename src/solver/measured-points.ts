import type { Evaluation } from "./strategy.js";

/** Coordinates are compared rounded to multiples of 1e-12 (of each parameter's range). */
const GRID = 1e12;
const TWO_32 = 2 ** 32;

/** One measured point: its rounded coordinates and the value first measured there. */
interface Entry {
  readonly rounded: readonly number[];
  readonly value: number;
}

/**
 * A point as the sets look it up: its rounded coordinates and their hash. Made once by
 * {@link pointKey}, it serves lookups in several sets ({@link MeasuredPoints.valueAtKey}).
 */
export interface PointKey {
  readonly rounded: readonly number[];
  readonly hash: number;
}

/** The lookup key of `u`. */
export function pointKey(u: ArrayLike<number>): PointKey {
  const rounded = gridPoint(u);
  return { rounded, hash: hashOf(rounded) };
}

/**
 * A {@link PointKey} rewritten in place for each lookup, for a caller that looks up many points in
 * a row (TPE, a cell per candidate) and would otherwise make two objects per lookup.
 */
export class ReusedKey implements PointKey {
  readonly rounded: number[] = [];
  hash = 0;

  /** Makes this the key of `u` and returns it. */
  of(u: ArrayLike<number>): this {
    const rounded = this.rounded;
    rounded.length = u.length;
    for (let j = 0; j < u.length; j++) rounded[j] = onGrid(u[j]!);
    this.hash = hashOf(rounded);
    return this;
  }
}

/**
 * The value first measured at each unit-cube point of an append-only history, for a strategy that
 * must not ask again for a point it already has a value for (clamping to the cube and
 * contractions land on measured points, and asking again learns nothing about a deterministic
 * objective while spending a trial).
 *
 * @remarks
 * Two points are the same when their coordinates round to the same multiples of 1e-12. Stored by
 * a numeric hash of the rounded coordinates, compared in full on a hash match.
 * {@link MeasuredPoints.update} takes in only the entries appended since its last call, O(d)
 * each; a lookup is O(d). Nothing here is part of a strategy's saved state: it is rebuilt from
 * the history it was built on.
 */
export class MeasuredPoints {
  private readonly buckets = new Map<number, Entry[]>();
  private scanned = 0;

  /**
   * Takes in the entries of `history` appended since the last call (starts over if it shrank),
   * each at `keyOf` of its point when given (a cell, say), else at the point itself.
   */
  update(history: readonly Evaluation[], keyOf?: (u: readonly number[]) => readonly number[]): void {
    if (history.length < this.scanned) this.clear();
    for (let i = this.scanned; i < history.length; i++) {
      const entry = history[i]!;
      this.add(keyOf === undefined ? entry.u : keyOf(entry.u), entry.value);
    }
    this.scanned = history.length;
  }

  /** Records `value` at `u` unless a value is already recorded there (a set of points outside any history). */
  add(u: ArrayLike<number>, value: number): void {
    const rounded = gridPoint(u);
    const hash = hashOf(rounded);
    const bucket = this.buckets.get(hash);
    if (bucket === undefined) this.buckets.set(hash, [{ rounded, value }]);
    else if (find(bucket, rounded) === undefined) bucket.push({ rounded, value });
  }

  /** Forgets every point. */
  clear(): void {
    this.buckets.clear();
    this.scanned = 0;
  }

  /** The value first measured at `u` (NaN for a failed evaluation), or undefined if none was. */
  valueAt(u: ArrayLike<number>): number | undefined {
    return this.valueAtKey(pointKey(u));
  }

  /** {@link valueAt} for the point `key` was made from. */
  valueAtKey(key: PointKey): number | undefined {
    const bucket = this.buckets.get(key.hash);
    return bucket === undefined ? undefined : find(bucket, key.rounded)?.value;
  }
}

/** One coordinate rounded to the grid the sets compare points on. */
export function onGrid(x: number): number {
  return Math.round(x * GRID);
}

/** `u`'s coordinates rounded to the grid (a plain loop: `Array.from` with a mapping is far slower). */
export function gridPoint(u: ArrayLike<number>): number[] {
  const rounded: number[] = [];
  for (let j = 0; j < u.length; j++) rounded.push(onGrid(u[j]!));
  return rounded;
}

function find(bucket: readonly Entry[], rounded: readonly number[]): Entry | undefined {
  for (const entry of bucket) {
    let same = entry.rounded.length === rounded.length;
    for (let j = 0; same && j < rounded.length; j++) same = entry.rounded[j] === rounded[j];
    if (same) return entry;
  }
  return undefined;
}

/** FNV-1a over the low and high 32 bits of each rounded coordinate. */
function hashOf(rounded: readonly number[]): number {
  let hash = 0x811c9dc5;
  for (let j = 0; j < rounded.length; j++) {
    const r = rounded[j]!;
    const high = Math.floor(r / TWO_32);
    hash = Math.imul(hash ^ (r - high * TWO_32), 0x01000193);
    hash = Math.imul(hash ^ high, 0x01000193);
  }
  return hash;
}
