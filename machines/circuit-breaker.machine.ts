import { and, assign, emit, setup } from "xstate";
import { gotText, type OptionProblem } from "./option-problem.js";
import { isTimerMs, MAX_TIMER_MS, timerMsRule } from "./timer-limit.js";

/** Settings of a circuit breaker; every field has a documented default. */
export interface CircuitBreakerOptions {
  /** Consecutive failures while closed that open the breaker (integer ≥ 1; default 3). */
  readonly failureThreshold?: number;
  /** Time the breaker stays open the first time, in ms (> 0; default 1000). */
  readonly baseBackoffMs?: number;
  /** Upper bound of the doubling backoff, in ms (≥ baseBackoffMs; default 60000). */
  readonly maxBackoffMs?: number;
}

/** {@link CircuitBreakerOptions} with the defaults filled in. */
export interface ResolvedCircuitBreakerOptions {
  readonly failureThreshold: number;
  readonly baseBackoffMs: number;
  readonly maxBackoffMs: number;
}

/** Defaults of {@link CircuitBreakerOptions}. */
export const CIRCUIT_BREAKER_DEFAULTS: ResolvedCircuitBreakerOptions = {
  failureThreshold: 3,
  baseBackoffMs: 1000,
  maxBackoffMs: 60_000,
};

/**
 * Every problem with circuit-breaker options, all of them rather than the first. `undefined` (all
 * defaults) is valid, and so is a field set to `undefined` (its default). Refused: a non-object, an
 * unknown key, a value that is not a number (`null`, strings, NaN), `failureThreshold` not a whole
 * number ≥ 1, `baseBackoffMs` not a number of ms > 0, and `maxBackoffMs` below the base (the given
 * base, or its default); either above the longest timer Node keeps (`MAX_TIMER_MS`). Pure; cold path.
 */
export function circuitBreakerOptionProblems(input: unknown): OptionProblem[] {
  if (input === undefined) return [];
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return [{ field: "", reason: "must be an object of circuit-breaker options" }];
  }
  const known = Object.keys(CIRCUIT_BREAKER_DEFAULTS);
  const given = input as Readonly<Record<string, unknown>>;
  const problems: OptionProblem[] = [];
  for (const [field, value] of Object.entries(given)) {
    if (!known.includes(field))
      problems.push({ field, reason: `unknown option; known: ${known.join(", ")}`, known });
    else if (value !== undefined && (typeof value !== "number" || Number.isNaN(value)))
      problems.push({ field, reason: "must be a number" });
  }
  if (problems.length > 0) return problems;
  const options = input as CircuitBreakerOptions;
  const threshold = options.failureThreshold;
  if (threshold !== undefined && !(Number.isInteger(threshold) && threshold >= 1))
    problems.push({ field: "failureThreshold", reason: "must be a whole number ≥ 1" });
  const base = options.baseBackoffMs;
  if (base !== undefined && !isTimerMs(base, true))
    problems.push({ field: "baseBackoffMs", reason: timerMsRule(true)[1] });
  const cap = options.maxBackoffMs;
  // A base refused above is no floor to quote: the cap is then held to the timer's limits only.
  const baseForCap =
    base === undefined ? CIRCUIT_BREAKER_DEFAULTS.baseBackoffMs : isTimerMs(base, true) ? base : undefined;
  if (cap !== undefined && !(cap >= (baseForCap ?? Number.MIN_VALUE) && cap <= MAX_TIMER_MS))
    problems.push({
      field: "maxBackoffMs",
      reason:
        baseForCap === undefined
          ? timerMsRule(true)[1]
          : `must be ≥ baseBackoffMs (${baseForCap}) and ≤ ${MAX_TIMER_MS} (about 24.8 days, the longest timer Node keeps)`,
    });
  return problems;
}

/**
 * Checks `options` with {@link circuitBreakerOptionProblems} and fills in the defaults (an unset
 * cap is at least the base).
 *
 * @throws RangeError naming every bad field and its value (direct users of the chart; the engine
 * reports the same problems as a `ConfigError` before it gets here).
 */
export function resolveCircuitBreakerOptions(
  options: CircuitBreakerOptions = {},
): ResolvedCircuitBreakerOptions {
  const problems = circuitBreakerOptionProblems(options);
  if (problems.length > 0) {
    const given = options as Readonly<Record<string, unknown>>;
    const lines = problems.map((p) =>
      p.field === "" ? p.reason : `${p.field}: ${p.reason}${gotText(p, given[p.field])}`,
    );
    throw new RangeError(`invalid circuit-breaker options: ${lines.join("; ")}`);
  }
  const failureThreshold = options.failureThreshold ?? CIRCUIT_BREAKER_DEFAULTS.failureThreshold;
  const baseBackoffMs = options.baseBackoffMs ?? CIRCUIT_BREAKER_DEFAULTS.baseBackoffMs;
  const maxBackoffMs = options.maxBackoffMs ?? Math.max(CIRCUIT_BREAKER_DEFAULTS.maxBackoffMs, baseBackoffMs);
  return { failureThreshold, baseBackoffMs, maxBackoffMs };
}

/** What the breaker remembers. */
export interface CircuitBreakerContext extends ResolvedCircuitBreakerOptions {
  /** Consecutive failures seen while closed (reset by a success). */
  readonly failures: number;
  /** How long the next (or current) open period lasts, in ms. */
  readonly backoffMs: number;
  /**
   * Which span of the breaker's life a call belongs to: bumped whenever the breaker opens, closes
   * again or is reset, and when the half-open probe starts. A guard reads it when it lets a call
   * run and sends it back with the call's outcome; an outcome of another epoch is stale (a call
   * made before the breaker opened, or before a reset) and changes nothing.
   */
  readonly epoch: number;
}

/** Events the breaker reacts to; the guard around the protected call sends them. */
export type CircuitBreakerEvent =
  /**
   * The protected call returned normally (closed, or the half-open probe). `epoch` is the
   * context's `epoch` when the call was let run; a report of another epoch is ignored. Without
   * `epoch` the report is taken as the current call's (a caller whose calls never overlap).
   */
  | { readonly type: "call.succeeded"; readonly epoch?: number }
  /** The protected call threw (closed, or the half-open probe); `epoch` as for `call.succeeded`. */
  | { readonly type: "call.failed"; readonly epoch?: number }
  /** Half-open: the single probe call is about to run; later calls are refused until it reports. */
  | { readonly type: "probe.started" }
  /** Close the breaker now and forget failures and backoff (operator reset). */
  | { readonly type: "reset" };

/** Events the breaker emits (`actor.on(...)`): the engine raises / clears a SafeMode reason on them. */
export type CircuitBreakerEmitted =
  /**
   * The breaker opened: `backoffMs` is how long it stays open; `probeFailed` is true when a
   * half-open probe failed (a re-open with a doubled backoff) rather than the closed threshold.
   */
  | { readonly type: "breaker.opened"; readonly backoffMs: number; readonly probeFailed: boolean }
  /** The breaker closed again (a probe succeeded, or a `reset` while not closed). */
  | { readonly type: "breaker.closed" };

/**
 * A three-state circuit breaker: closed → open → halfOpen (one probe) → closed or open again.
 *
 * @remarks
 * A pure definition: no I/O, no clock of its own. The open period is an `after` delay read from
 * the context, so whatever clock the actor is created with (a `SimulatedClock`, an RxJS
 * scheduler bridge, real timers) drives it.
 *
 * - `closed`: calls run. `failureThreshold` consecutive `call.failed` open the breaker; a
 *   `call.succeeded` sets the count back to 0.
 * - `open`: calls are refused (the guard does not invoke them). After `backoffMs` → `halfOpen`.
 * - `halfOpen.ready`: the next call is the probe; the guard sends `probe.started` before running it.
 * - `halfOpen.probing`: the probe is outstanding; any other call is refused. Success → `closed`
 *   with failures and backoff reset; failure → `open` with the backoff doubled, capped at
 *   `maxBackoffMs`.
 *
 * Calls may overlap (an async callback's outcome arrives later), so every outcome carries the
 * `epoch` its call was let run in, and only outcomes of the current epoch count: in half-open that
 * is the probe's alone (`probe.started` starts a new epoch), so a late success of a call made
 * before the breaker opened can neither close it nor stand in for the probe; while closed, an
 * outcome of a call made before the last open (or reset) is not counted either.
 *
 * `breaker.opened` is emitted on every entry to `open` and `breaker.closed` only when leaving
 * `halfOpen`/`open` for `closed`, so a SafeMode reason raised on open stays raised through the
 * half-open probe and is cleared only once the dependency works again. Cost: one XState event per
 * protected call (the actuator runs at window cadence, not per digest).
 */
export const circuitBreakerMachine = setup({
  types: {
    context: {} as CircuitBreakerContext,
    events: {} as CircuitBreakerEvent,
    emitted: {} as CircuitBreakerEmitted,
    input: {} as CircuitBreakerOptions | undefined,
  },
  delays: {
    backoff: ({ context }) => context.backoffMs,
  },
  guards: {
    reachesThreshold: ({ context }) => context.failures + 1 >= context.failureThreshold,
    /** The outcome belongs to the current epoch (or names none). */
    isCurrent: ({ context, event }) => {
      const epoch = (event as { readonly epoch?: number }).epoch;
      return epoch === undefined || epoch === context.epoch;
    },
    /** A current failure that reaches the threshold (named, so the chart's literal stays static). */
    isCurrentAtThreshold: and(["isCurrent", "reachesThreshold"]),
  },
  actions: {
    /** Outcomes of calls let run before this point are stale from now on. */
    nextEpoch: assign({ epoch: ({ context }) => context.epoch + 1 }),
    countFailure: assign({ failures: ({ context }) => context.failures + 1 }),
    clearFailures: assign({ failures: 0 }),
    /** Back to the first-open backoff and no failures (after a good probe or a reset). */
    resetBackoff: assign(({ context }) => ({ failures: 0, backoffMs: context.baseBackoffMs })),
    doubleBackoff: assign({
      backoffMs: ({ context }) => Math.min(context.backoffMs * 2, context.maxBackoffMs),
    }),
    emitOpenedByThreshold: emit(({ context }) => ({
      type: "breaker.opened" as const,
      backoffMs: context.backoffMs,
      probeFailed: false,
    })),
    emitOpenedByProbe: emit(({ context }) => ({
      type: "breaker.opened" as const,
      backoffMs: context.backoffMs,
      probeFailed: true,
    })),
    emitClosed: emit({ type: "breaker.closed" as const }),
  },
}).createMachine({
  id: "circuitBreaker",
  context: ({ input }) => {
    const options = resolveCircuitBreakerOptions(input);
    return { ...options, failures: 0, backoffMs: options.baseBackoffMs, epoch: 0 };
  },
  initial: "closed",
  states: {
    closed: {
      on: {
        "call.succeeded": { guard: "isCurrent", actions: "clearFailures" },
        "call.failed": [
          {
            guard: "isCurrentAtThreshold",
            target: "open",
            actions: ["clearFailures", "emitOpenedByThreshold"],
          },
          { guard: "isCurrent", actions: "countFailure" },
        ],
        reset: { actions: ["resetBackoff", "nextEpoch"] },
      },
    },
    open: {
      entry: "nextEpoch",
      after: { backoff: "halfOpen" },
      on: {
        reset: { target: "closed", actions: ["resetBackoff", "nextEpoch", "emitClosed"] },
      },
    },
    halfOpen: {
      initial: "ready",
      states: {
        ready: {
          on: { "probe.started": "probing" },
        },
        probing: {
          entry: "nextEpoch",
          on: {
            "call.succeeded": {
              guard: "isCurrent",
              target: "#circuitBreaker.closed",
              actions: ["resetBackoff", "nextEpoch", "emitClosed"],
            },
            "call.failed": {
              guard: "isCurrent",
              target: "#circuitBreaker.open",
              actions: ["doubleBackoff", "emitOpenedByProbe"],
            },
          },
        },
      },
      on: {
        reset: { target: "closed", actions: ["resetBackoff", "nextEpoch", "emitClosed"] },
      },
    },
  },
});
