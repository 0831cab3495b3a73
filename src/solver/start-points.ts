/**
 * A config's `startPoints` as a run hands them out: the first probe trials, each with its values
 * exactly as given (a float's unit position may not map back to them exactly).
 */
import type { ParamValue } from "../space/params.js";
import type { Space } from "../space/space.js";

/** One start point: its params as handed out, and its position in the unit cube. */
export interface StartPoint {
  /** In declaration order, categorical choices as declared, inactive parameters left out. */
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly u: readonly number[];
}

/** `points` (validated against `space`) as a run hands them out. */
export function startPointsOf(
  space: Space,
  points: readonly Readonly<Record<string, unknown>>[],
): StartPoint[] {
  return points.map((point) => {
    const declared = space.asDeclaredChoices(toldParams(point));
    const u = space.snap(space.toUnit(declared));
    const params: Record<string, ParamValue> = {};
    for (const name of Object.keys(space.toParams(u))) params[name] = declared[name]!;
    return { params, u };
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
