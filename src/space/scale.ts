/** How a parameter's raw range maps onto the unit interval. */
export type Scale = "linear" | "log";

/** A parameter's raw range and scale. `log` requires `min > 0`. */
export interface Bound {
  readonly min: number;
  readonly max: number;
  readonly scale?: Scale;
}

/**
 * Raw value → position in [0, 1]. Values outside the range map outside [0, 1]; callers that need a
 * point inside the cube clamp it themselves.
 */
export function toUnit(bound: Bound, raw: number): number {
  if (bound.scale === "log") {
    const lo = Math.log(bound.min);
    return (Math.log(raw) - lo) / (Math.log(bound.max) - lo);
  }
  return (raw - bound.min) / (bound.max - bound.min);
}

/**
 * Position in [0, 1] → raw value, clamped into [min, max] so that rounding in `exp`/`log` can never
 * produce a value outside the declared bounds.
 */
export function fromUnit(bound: Bound, u: number): number {
  let raw: number;
  if (bound.scale === "log") {
    const lo = Math.log(bound.min);
    raw = Math.exp(lo + u * (Math.log(bound.max) - lo));
  } else {
    raw = bound.min + u * (bound.max - bound.min);
  }
  return raw < bound.min ? bound.min : raw > bound.max ? bound.max : raw;
}
