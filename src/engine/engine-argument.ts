import { shownValue } from "../shown-value.js";

/** What every engine has, which a function taking one reads (the metrics, the React hooks). */
const ENGINE_METHODS = ["snapshot", "observe", "flushEvents", "value", "now"] as const;

function isEngine(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const e = value as Record<string, unknown>;
  const events = e.events as { subscribe?: unknown } | null | undefined;
  return (
    typeof events?.subscribe === "function" &&
    Array.isArray(e.names) &&
    ENGINE_METHODS.every((name) => typeof e[name] === "function")
  );
}

/**
 * Why `value` is not an engine (`createEngine`'s, or a supervisor's), for a function given one in
 * its place: an object holding one, as `createLoggedEngine` returns, is named with what to pass
 * instead. Undefined when it is an engine.
 */
export function notAnEngine(value: unknown): string | undefined {
  if (isEngine(value)) return undefined;
  if (isEngine((value as { engine?: unknown } | null | undefined)?.engine))
    return "must be the engine itself, got an object holding one (createLoggedEngine returns { engine, log, … }): pass its .engine";
  return `must be an engine from createEngine (with events, snapshot() and observe()), got ${shownValue(value)}`;
}
