import { Prng } from "../random/prng.js";
import type { Space } from "../space/space.js";
import {
  createGlobalLocal,
  type FocusedModel,
  type GlobalLocalOptions,
  type GlobalLocalParts,
  type LocalMethod,
  type LocalRegion,
  type ResolvedGlobalLocalOptions,
  restoreGlobalLocal,
} from "./global-local.js";
import { createMixedTpe, type MixedTpeOptions, restoreMixedTpe } from "./mixed-tpe.js";
import type { NelderMeadStrategy } from "./nelder-mead.js";
import type { Evaluation, Strategy, StrategyState } from "./strategy.js";
import {
  createSubspaceNelderMead,
  freeCoordinates,
  restoreSubspaceNelderMead,
  type SubspaceNelderMead,
} from "./subspace.js";
import { cellHooks } from "./tpe.js";
import { type CellWidths, type DiscreteCells, TrustRegionBatch } from "./trust-region.js";

/** Seed offsets of the inner parts, distinct from the continuous default strategy's. */
const TPE_SEED = 0x4d474c;
const FILL_SEED = 0x4d4746;

/**
 * Weight of the uniform distribution in each categorical's choice distribution in the global
 * model's l (the mixed TPE's `choiceFloor`): every choice keeps at least 0.1 / L of l's mass.
 * Chosen on the B1 development half's mixed problems only (Simulated training, Mixed-integer
 * Ackley; seeds 1..100, budgets 100 and 300). Runs of Simulated training ending more than 0.01
 * above the minimum at 300 (mostly on adam, whose best is 0.04 above sgd's): 55 of 100 with no
 * floor, 51 with 0.05, 39 with 0.1, 33 with 0.3. The price is on Mixed-integer Ackley, whose
 * variants differ by at most 0.45: runs left above 1 at 300 went from 29 (no floor) to 44 (0.1)
 * and 42–52 with 0.2–0.5. 0.1 is the smallest floor that kept all four development medians
 * (100 seeds) at or below Optuna's. Once a local phase has found steps (`tieShare`), the global
 * phases use forced TPE's sharper mixed model, which has no floor.
 */
export const CHOICE_FLOOR = 0.1;

/** The mixed TPE's settings under the default strategy: the continuous global phase's, plus the floor. */
export function mixedTpeOptions(o: ResolvedGlobalLocalOptions): MixedTpeOptions {
  return {
    gamma: o.gamma,
    candidates: o.candidates,
    bandwidthFloor: o.bandwidthFloor,
    rankExponent: o.rankExponent,
    choiceFloor: CHOICE_FLOOR,
  };
}

/**
 * Nelder–Mead on the float and int coordinates active at the centre, its choices held. A
 * simplex in another subspace than the one it replaces (other choices, other active parameters)
 * starts at the full `localStep`: the old simplex's scale says nothing about the new subspace.
 */
function numericLocal(space: Space, localStep: number): LocalMethod {
  return {
    create: (step, seed, at, previous) => {
      const base = at ?? space.snap(space.toUnit({}));
      const same = previous === null || (previous as SubspaceNelderMead).covers(base);
      return createSubspaceNelderMead(space, base, seed, { initialStep: same ? step : localStep }, true);
    },
    restore: (state) => restoreSubspaceNelderMead(space, state, true),
    vertices: (local: NelderMeadStrategy) => {
      const sub = local as SubspaceNelderMead;
      return (sub.toJSON().vertices as number[][]).map((v) => sub.lift(v));
    },
  };
}

/**
 * The trust region of a local phase on a mixed space (its turns one trial at a time, every trial
 * of a batch from three at once): over the float and int coordinates active at the centre (the
 * incumbent, or the best point of a turn's branch), the categorical ones held at the centre's,
 * fitted on the history points of the centre's branch, and kept away from where that branch's
 * trials failed or were pruned. A conditional parameter inactive there has no effect on the
 * value: fitting it would only cost points.
 */
class NumericRegion implements LocalRegion {
  constructor(
    private readonly space: Space,
    private readonly inner: TrustRegionBatch,
    private readonly branchOf: (u: readonly number[]) => string,
  ) {}

  propose(
    history: readonly Evaluation[],
    center: number,
    pending: readonly (readonly number[])[],
    id: number,
    unfinished: readonly (readonly number[])[],
  ): number[] {
    const base = history[center]!.u;
    const branch = this.branchOf(base);
    const coords = freeCoordinates(this.space, base);
    const project = (u: readonly number[]) => coords.map((i) => u[i]!);
    const projected: Evaluation[] = [];
    let at = -1;
    history.forEach((entry, i) => {
      if (this.branchOf(entry.u) !== branch) return;
      if (i === center) at = projected.length;
      projected.push({ u: project(entry.u), value: entry.value });
    });
    const space = this.space;
    // The branch's cells: each coordinate's width, and a point's cell as the solver snaps it.
    const cells: DiscreteCells = {
      widths: cellsOf(space, coords),
      snap: (p) => {
        const u = [...base];
        coords.forEach((i, q) => {
          u[i] = p[q]!;
        });
        return project(space.snap(u));
      },
    };
    // Running trials of other branches measure another function: they keep no one apart here.
    const running = pending.filter((u) => this.branchOf(u) === branch).map(project);
    // Likewise failed and pruned trials: a crash in another branch says nothing about this one.
    const walls = unfinished.filter((u) => this.branchOf(u) === branch).map(project);
    const p = this.inner.propose(projected, at, running, id, walls, cells);
    const u = [...base];
    coords.forEach((i, q) => {
      u[i] = p[q]!;
    });
    return u;
  }

  tell(id: number, value: number): boolean {
    return this.inner.tell(id, value);
  }

  cancel(id: number): void {
    this.inner.cancel(id);
  }

  widen(radius: number): void {
    this.inner.widen(radius);
  }

  toJSON(): Record<string, unknown> {
    return this.inner.toJSON();
  }
}

/** Forced TPE's mixed model: what a global phase held to the end of the budget uses. */
function forcedMixedTpe(space: Space): FocusedModel {
  return {
    create: (seed) => createMixedTpe(space.dimensions, seed, {}, cellHooks(space)),
    restore: (state) => restoreMixedTpe(space.dimensions, state, cellHooks(space)),
  };
}

/** The space's float and int coordinates, in order: the ones the local methods move. */
function numericCoordinates(space: Space): number[] {
  return space.dimensions.flatMap((d, i) => (d.kind === "categorical" ? [] : [i]));
}

function numericCount(space: Space): number {
  return numericCoordinates(space).length;
}

/**
 * Cell widths of the float and int coordinates, in order (see {@link numericCoordinates}): the
 * continuous default strategy's trust region uses them on a space with ints and no categorical,
 * where they are every coordinate. The mixed region computes its branch's own per proposal.
 */
export function numericCells(space: Space): CellWidths {
  return cellsOf(space, numericCoordinates(space));
}

/**
 * {@link Space.branch}, remembered per point array: the phase switching and the region read the
 * branch of every history entry again and again, and the solver never changes a point it holds.
 */
function branchKeys(space: Space): (u: readonly number[]) => string {
  const keys = new WeakMap<readonly number[], string>();
  return (u) => {
    let key = keys.get(u);
    if (key === undefined) {
      key = space.branch(u);
      keys.set(u, key);
    }
    return key;
  };
}

/** Cell widths of a point projected onto `coords` (its q-th entry is coordinate coords[q]). */
function cellsOf(space: Space, coords: readonly number[]): CellWidths {
  return (u) => coords.map((i, q) => space.cellWidth(i, u[q]!));
}

/**
 * Whether the default strategy on `space` is the mixed global-local one: a mixed space (a
 * categorical or a conditional parameter) with at least one float or int to refine locally.
 */
export function usesMixedGlobalLocal(space: Space): boolean {
  return space.mixed && numericCount(space) > 0;
}

/**
 * The default strategy (`auto`) on a mixed space: the global-local strategy of
 * src/solver/global-local.ts with the mixed TPE as its global model and Nelder–Mead on the
 * numeric part as its local method.
 *
 * @remarks
 * - Global phases: the mixed TPE (categoricals by per-choice weights, conditional parameters by
 *   their groups) with the settings the continuous global phase uses — good share `gamma`,
 *   `bandwidthFloor`, `rankExponent` from {@link GlobalLocalOptions} — and a floor of
 *   {@link CHOICE_FLOOR} under every choice's chance in l, so a choice that looked bad early is
 *   still drawn and scored later.
 * - Local phases: Nelder–Mead over the float and int parameters active at the centre, its
 *   categorical choices held (as forced Nelder–Mead on a mixed space), learning from the trials
 *   with those choices. A new incumbent with other choices gets a fresh simplex in its own
 *   subspace at the full `localStep` (from the next local phase, when it arrives mid-phase).
 *   The trust region takes turns with it over the same coordinates, and from three trials at
 *   once takes every local trial.
 * - Branches: each combination of active categorical choices is one ({@link Space.branch}).
 *   Once the incumbent's branch is refined as far as a local phase can take it, local phases
 *   turn to the best point of the best other branch not yet refined: SGD's narrow ridge between
 *   learning rate and momentum scores worse than Adam's wide basin until it is refined itself.
 * - Room for a new simplex (`localRoom`) is counted in the simplex's own dimension, the number of
 *   float and int parameters: a categorical it holds costs it no trial to build. Counted in the
 *   space's dimension, a run with one float and one categorical at budget 20 had no room for any
 *   local phase and was held from its first refine trial, so a warm start whose best point lay
 *   off the minimum was refined by the sharp TPE's floor-sized steps alone.
 * - Phase switching, budget split, persistence and parallel batches are global-local's own.
 */
export function createMixedGlobalLocal(
  space: Space,
  seed: number,
  options: GlobalLocalOptions = {},
): Strategy {
  const branchOf = branchKeys(space);
  return createGlobalLocal(space.dimension, seed, options, (o) => ({
    global: createMixedTpe(space.dimensions, seed ^ TPE_SEED, mixedTpeOptions(o), cellHooks(space)),
    region: new NumericRegion(
      space,
      new TrustRegionBatch(Prng.fromSeed(seed, FILL_SEED), o.localStep),
      branchOf,
    ),
    local: numericLocal(space, o.localStep),
    focused: forcedMixedTpe(space),
    branchOf,
    localDimension: numericCount(space),
  }));
}

/** Rebuilds {@link createMixedGlobalLocal}'s strategy from its `toJSON()`. */
export function restoreMixedGlobalLocal(space: Space, state: StrategyState): Strategy {
  const branchOf = branchKeys(space);
  return restoreGlobalLocal(
    state,
    (o, tpe, region): GlobalLocalParts => ({
      global: restoreMixedTpe(space.dimensions, tpe, cellHooks(space)),
      region: new NumericRegion(
        space,
        region === undefined
          ? new TrustRegionBatch(Prng.fromSeed(state.seed as number, FILL_SEED), o.localStep)
          : TrustRegionBatch.restore(region),
        branchOf,
      ),
      local: numericLocal(space, o.localStep),
      focused: forcedMixedTpe(space),
      branchOf,
      localDimension: numericCount(space),
    }),
  );
}
