import type { Space } from "../space/space.js";
import {
  createNelderMead,
  type NelderMeadOptions,
  type NelderMeadStrategy,
  restoreNelderMead,
} from "./nelder-mead.js";
import type { Evaluation, StrategyContext, StrategyState } from "./strategy.js";

/**
 * Nelder–Mead on the numeric part of a mixed space.
 *
 * @remarks
 * A simplex needs an ordered, continuous space; categorical choices have no order and a
 * conditional parameter may not exist. So the categorical coordinates are fixed at the base's
 * (the point the strategy starts from), and the simplex moves the float and int coordinates
 * that are active there, ints being rounded when a point is decoded. The history it sees is the
 * part evaluated in the same branch (the same active categorical choices, {@link Space.branch}),
 * projected onto those coordinates: points from other branches measure another function. (When
 * no float or int is active at the base, every float and int coordinate is moved.)
 */
export class SubspaceNelderMead implements NelderMeadStrategy {
  readonly name = "nelder-mead" as const;
  private readonly projected: Evaluation[] = [];
  private scanned = 0;
  /** The base's branch: its active categorical choices (see {@link Space.branch}). */
  private readonly branch: string;

  constructor(
    private readonly inner: NelderMeadStrategy,
    private readonly space: Space,
    private readonly free: readonly number[],
    private readonly base: readonly number[],
  ) {
    this.branch = space.branch(base);
  }

  ask(context: StrategyContext, max: number, firstId: number): number[][] | null {
    this.scan(context.history);
    const pending = context.pending.map((u) => this.project(u));
    const points = this.inner.ask(
      { history: this.projected, pending, remaining: context.remaining },
      max,
      firstId,
    );
    if (points === null) return null;
    return points.map((p) => this.lift(p));
  }

  get converged(): boolean {
    return this.inner.converged;
  }

  get flat(): boolean {
    return this.inner.flat;
  }

  /** Whether a simplex started at `u` would work in this subspace: the same choices and coordinates. */
  covers(u: readonly number[]): boolean {
    if (!this.sameChoices(u)) return false;
    const free = freeCoordinates(this.space, this.space.snap([...u]));
    return free.length === this.free.length && free.every((i, q) => this.free[q] === i);
  }

  /** A point of the subspace in the full space: the base with the free coordinates replaced. */
  lift(p: readonly number[]): number[] {
    const u = [...this.base];
    for (let i = 0; i < this.free.length; i++) u[this.free[i]!] = p[i]!;
    return u;
  }

  tell(id: number, value: number): void {
    this.inner.tell(id, value);
  }

  cancel(id: number): void {
    this.inner.cancel(id);
  }

  toJSON(): StrategyState {
    return { ...this.inner.toJSON(), subspace: { free: [...this.free], base: [...this.base] } };
  }

  /** Appends the new history entries that share the base's categorical choices. */
  private scan(history: readonly Evaluation[]): void {
    if (history.length < this.scanned) {
      this.projected.length = 0;
      this.scanned = 0;
    }
    for (let i = this.scanned; i < history.length; i++) {
      const entry = history[i]!;
      if (this.sameChoices(entry.u)) this.projected.push({ u: this.project(entry.u), value: entry.value });
    }
    this.scanned = history.length;
  }

  private sameChoices(u: readonly number[]): boolean {
    return this.space.branch(u) === this.branch;
  }

  private project(u: readonly number[]): number[] {
    return this.free.map((i) => u[i]!);
  }
}

/**
 * The coordinates a local method moves in `base`'s branch: the floats and ints active at `base`
 * (all of them if none is), in order.
 */
export function freeCoordinates(space: Space, base: readonly number[]): number[] {
  const active = space.activity(base);
  const numeric = space.dimensions.flatMap((d, i) => (d.kind === "categorical" ? [] : [i]));
  const free = numeric.filter((i) => active[i] === 1);
  return free.length > 0 ? free : numeric;
}

/**
 * The point of the subspace (free coordinates, in order) whose measurement a subspace point gets:
 * its ints decoded to their cells, as the solver snaps every point it asks. The history holds
 * snapped points, so this is what a lookup of a simplex's vertex must compare with.
 */
function cellOfSubspace(
  space: Space,
  free: readonly number[],
  base: readonly number[],
): (point: readonly number[]) => readonly number[] {
  return (point) => {
    const u = [...base];
    for (let q = 0; q < free.length; q++) u[free[q]!] = point[q]!;
    const snapped = space.snap(u);
    return free.map((i) => snapped[i]!);
  };
}

/**
 * Nelder–Mead over the float and int coordinates of `space`, the rest fixed at `incumbent`'s;
 * `holdAtConvergence` as in {@link NelderMeadHooks} (the default strategy's local phase).
 */
export function createSubspaceNelderMead(
  space: Space,
  incumbent: readonly number[],
  seed: number,
  options: NelderMeadOptions = {},
  holdAtConvergence = false,
): SubspaceNelderMead {
  const base = space.snap([...incumbent]);
  const free = freeCoordinates(space, base);
  const measuredAt = cellOfSubspace(space, free, base);
  const inner = createNelderMead(free.length, seed, options, { measuredAt, holdAtConvergence });
  return new SubspaceNelderMead(inner, space, free, base);
}

/**
 * Rebuilds the strategy from its `toJSON()` (`holdAtConvergence` as it was created with); throws a
 * RangeError on a malformed state.
 */
export function restoreSubspaceNelderMead(
  space: Space,
  state: StrategyState,
  holdAtConvergence = false,
): SubspaceNelderMead {
  const { subspace, ...rest } = state;
  const saved = subspace as { free?: unknown; base?: unknown } | undefined;
  const d = space.dimension;
  const free = saved?.free;
  const base = saved?.base;
  if (
    !Array.isArray(free) ||
    free.length === 0 ||
    !free.every(
      (i) => Number.isInteger(i) && i >= 0 && i < d && space.dimensions[i]!.kind !== "categorical",
    ) ||
    !Array.isArray(base) ||
    base.length !== d ||
    !base.every((x) => typeof x === "number" && x >= 0 && x <= 1)
  ) {
    throw new RangeError("invalid Nelder–Mead state: subspace");
  }
  const measuredAt = cellOfSubspace(space, free as number[], base as number[]);
  const inner = restoreNelderMead(rest as StrategyState, { measuredAt, holdAtConvergence });
  return new SubspaceNelderMead(inner, space, free as number[], base as number[]);
}
