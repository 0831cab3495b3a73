/**
 * What the safety monitor checks against: each parameter's bounds, starting value and maxDelta,
 * and the guardrails' rate limits — taken from the engine's configuration, never from the engine's
 * running state.
 */
import { type EngineConfig, resolveEngineConfig } from "../engine/config.js";
import { ParamRegistry } from "../space/param-registry.js";

/** The limits the monitor holds an engine to, registry order (the order of `engine.names`). */
export interface SafetySpec {
  readonly names: readonly string[];
  readonly min: readonly number[];
  readonly max: readonly number[];
  /** Live values before the first apply. */
  readonly init: readonly number[];
  /** Largest move per apply in normal mode, raw units. */
  readonly maxDelta: readonly number[];
  /** Most applies within any 1000 ms (`Infinity`: unlimited). */
  readonly maxUpdatesPerSecond: number;
  /** Least time from one apply (or rollback) to the next apply, in normal mode. */
  readonly minIntervalMs: number;
  /** K of property L1: events (digest events not counted) within which a trip must be answered. */
  readonly tripWindowEvents: number;
  /**
   * L1's time bound (ms, engine clock): a trip not answered this long after it is a violation even
   * when the engine has gone quiet (see `SafetyMonitor.expire`).
   */
  readonly tripWindowMs: number;
}

/** Options of {@link safetySpecOf}. */
export interface SafetySpecOptions {
  /** K of property L1 (default 16). */
  readonly tripWindowEvents?: number;
  /** L1's time bound in ms (default 10 000). */
  readonly tripWindowMs?: number;
}

/** The default K of property L1. */
export const DEFAULT_TRIP_WINDOW_EVENTS = 16;
/** The default time bound of property L1 (ms). */
export const DEFAULT_TRIP_WINDOW_MS = 10_000;

/**
 * The spec an engine created from `config` must satisfy. Throws the engine's own `ConfigError`
 * for a config the engine would refuse.
 */
export function safetySpecOf(config: EngineConfig, options: SafetySpecOptions = {}): SafetySpec {
  const resolved = resolveEngineConfig(config);
  const registry = new ParamRegistry(resolved.params);
  const tripWindowEvents = options.tripWindowEvents ?? DEFAULT_TRIP_WINDOW_EVENTS;
  if (!Number.isSafeInteger(tripWindowEvents) || tripWindowEvents < 1) {
    throw new RangeError(`tripWindowEvents: expected a whole number ≥ 1, got ${tripWindowEvents}`);
  }
  const tripWindowMs = options.tripWindowMs ?? DEFAULT_TRIP_WINDOW_MS;
  if (!(tripWindowMs > 0) || !Number.isFinite(tripWindowMs)) {
    throw new RangeError(`tripWindowMs: expected a finite number of ms > 0, got ${tripWindowMs}`);
  }
  return {
    names: registry.names,
    min: Array.from(registry.min),
    max: Array.from(registry.max),
    init: Array.from(registry.init),
    maxDelta: Array.from(registry.maxDelta),
    maxUpdatesPerSecond: resolved.guardrails.maxUpdatesPerSecond,
    minIntervalMs: resolved.guardrails.minIntervalMs,
    tripWindowEvents,
    tripWindowMs,
  };
}

/**
 * The largest move Tier 1 accepts for a parameter with this maxDelta and bounds: its documented
 * round-off slack, maxDelta·(1 + 1e−9) + 8·ε·max(|min|, |max|).
 */
export function moveAllowance(maxDelta: number, min: number, max: number): number {
  return maxDelta * (1 + 1e-9) + 8 * Number.EPSILON * Math.max(Math.abs(min), Math.abs(max));
}

/** The slack allowed on a bound: round-off of the unit-cube → raw mapping (8·ε of the bound's size). */
export function boundSlack(min: number, max: number): number {
  return 8 * Number.EPSILON * Math.max(Math.abs(min), Math.abs(max));
}
