/**
 * A config's `startPoints` as a run hands them out: the first probe trials, each with its values
 * exactly as given (a float's unit position may not map back to them exactly), and the values a
 * partial point leaves out filled from a seeded design of their own.
 */
import type { ParamValue } from "../space/params.js";
import type { Space } from "../space/space.js";
import { probePoints } from "./probe.js";

/**
 * PRNG stream of the design that fills what partial start points leave out: its own, so that the
 * probe's design is the same with or without them.
 */
export const START_FILL_STREAM = 0x66696c6c; // "fill"

/** One start point: its params as handed out, and its position in the unit cube. */
export interface StartPoint {
  /** In declaration order, categorical choices as declared, inactive parameters left out. */
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly u: readonly number[];
}

/**
 * `points` (validated against `space`, partial ones allowed) as a run hands them out.
 *
 * @remarks
 * The k-th point takes, for each active parameter it leaves out, the coordinate of the k-th point
 * of a design seeded by `seed`: the probe's kind (scrambled Sobol' points, a Latin hypercube above
 * 256 parameters), on a stream of its own: a few partial points spread over what they leave open, as the probe's points spread over
 * the box, and a resumed run fills them the same. Parents come first, so a categorical filled in
 * decides which of its dependants are active and filled in turn. A whole point's coordinates are
 * its values' alone.
 */
export function startPointsOf(
  space: Space,
  points: readonly Readonly<Record<string, unknown>>[],
  seed: number,
): StartPoint[] {
  let fill: number[][] | null = null;
  return points.map((point, k) => {
    const declared = space.asDeclaredChoices(toldParams(point));
    const u = space.toUnit(declared);
    for (const i of space.order) {
      if (Object.hasOwn(declared, space.names[i]!) || space.activity(u)[i] !== 1) continue;
      fill ??= probePoints(space.dimension, points.length, seed, START_FILL_STREAM);
      u[i] = fill[k]![i]!;
    }
    const snapped = space.snap(u);
    const handedOut = space.toParams(snapped);
    const params: Record<string, ParamValue> = {};
    for (const [name, value] of Object.entries(handedOut)) {
      params[name] = Object.hasOwn(declared, name) ? declared[name]! : value;
    }
    return { params, u: snapped };
  });
}

/**
 * Which start point each start trial ran, by trial id: the probe hands its points out in order
 * and the start points come first, so the k-th probe trial by id ran the k-th start point.
 */
export function startTrialsOf(
  trials: readonly { readonly id: number; readonly phase: string }[],
  starts: readonly StartPoint[],
): Map<number, StartPoint> {
  const byId = new Map<number, StartPoint>();
  if (starts.length === 0) return byId;
  const probe = trials.filter((t) => t.phase === "probe").sort((a, b) => a.id - b.id);
  for (let k = 0; k < Math.min(probe.length, starts.length); k++) byId.set(probe[k]!.id, starts[k]!);
  return byId;
}

/**
 * A point's params as the caller gave them (a start point, a warm-start point): an own copy, with
 * parameters set to `undefined` left out.
 */
export function toldParams(params: Readonly<Record<string, unknown>>): Record<string, ParamValue> {
  const copy: Record<string, ParamValue> = {};
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) copy[name] = structuredClone(value) as ParamValue;
  }
  return copy;
}
