import { type Actor, type ActorOptions, type AnyActorLogic, createActor, type Subscription } from "xstate";
import {
  type CircuitBreakerEmitted,
  type CircuitBreakerOptions,
  circuitBreakerMachine,
  resolveCircuitBreakerOptions,
} from "../../../machines/circuit-breaker.machine.js";

/** XState's clock type ({ setTimeout, clearTimeout }); not exported by name from the package root. */
export type BreakerClock = NonNullable<ActorOptions<AnyActorLogic>["clock"]>;

/** What one {@link GuardedCallback.call} did. */
export const GuardedCallResult = {
  /** The callback ran and returned normally. */
  Succeeded: 1,
  /** The callback ran and threw; the error is in `lastError` and counted as a breaker failure. */
  Failed: 2,
  /** Not run: the breaker is open. */
  RefusedOpen: 3,
  /** Not run: the breaker is half-open and its single probe has not reported yet (a re-entrant call). */
  RefusedProbeOutstanding: 4,
  /** Not run: the guard was stopped. */
  RefusedStopped: 5,
} as const;

/** One of the {@link GuardedCallResult} codes. */
export type GuardedCallResult = (typeof GuardedCallResult)[keyof typeof GuardedCallResult];

/** Top-level breaker state, as the engine reports it. */
export type BreakerState = "closed" | "open" | "halfOpen";

/** The engine's two breakers, each "none" when its callback (`onApply`, `auditSink`) is not given. */
export interface EngineBreakerStates {
  readonly actuator: BreakerState | "none";
  readonly auditSink: BreakerState | "none";
}

/** Running totals of a {@link GuardedCallback}. */
export interface GuardedCallStats {
  /** Times the callback was actually invoked. */
  readonly invocations: number;
  /** Invocations that threw. */
  readonly failures: number;
  /** Calls refused without invoking the callback. */
  readonly refusals: number;
}

type EmittedType = CircuitBreakerEmitted["type"];
type EmittedOf<T extends EmittedType> = Extract<CircuitBreakerEmitted, { type: T }>;

/**
 * Runs a synchronous user callback (e.g. the actuator hook `onApply(values, generation)`) behind a
 * circuit breaker ({@link circuitBreakerMachine}).
 *
 * @remarks
 * `call` never throws: a throw from the callback is caught, kept in `lastError`, counted as a
 * failure and reported as {@link GuardedCallResult.Failed}. While the breaker is open the callback
 * is not invoked at all.
 *
 * Half-open allows exactly one probe. The callback is synchronous, so the probe is "outstanding"
 * from the moment the guard decides to run it until the callback returns or throws — the only
 * calls that can arrive in that span are re-entrant ones (the callback, directly or through
 * something it triggers, calls the guard again); they are refused with
 * {@link GuardedCallResult.RefusedProbeOutstanding}. Once the probe reports, the breaker is closed
 * or open again. The callback's return value is ignored; it must not be async (a rejected promise
 * is not seen as a failure).
 *
 * Cost per call: one snapshot read and one XState event (plus one more for the probe) — meant for
 * window-cadence work such as pushing a new config, not for the per-digest hot path.
 */
export class GuardedCallback<A extends readonly unknown[]> {
  readonly #fn: (...args: A) => unknown;
  readonly #actor: Actor<typeof circuitBreakerMachine>;
  #lastError: unknown;
  #lastListenerError: unknown;
  #hasError = false;
  #invocations = 0;
  #failures = 0;
  #refusals = 0;
  #stopped = false;

  /**
   * @param fn the callback to protect.
   * @param options breaker settings (defaults: 3 failures, 1 s base backoff, 60 s cap).
   * @param clock the clock the open period runs on (XState's `clock` option; e.g. a
   * `SimulatedClock` in tests, a scheduler bridge in the engine); real timers when omitted.
   * @throws RangeError when an option is out of range (see `resolveCircuitBreakerOptions`).
   */
  constructor(fn: (...args: A) => unknown, options: CircuitBreakerOptions = {}, clock?: BreakerClock) {
    this.#fn = fn;
    const input = resolveCircuitBreakerOptions(options);
    this.#actor = createActor(circuitBreakerMachine, clock === undefined ? { input } : { input, clock });
    this.#actor.start();
  }

  /** Runs the callback through the breaker; never throws. See {@link GuardedCallResult}. */
  call(...args: A): GuardedCallResult {
    if (this.#stopped) return this.#refuse(GuardedCallResult.RefusedStopped);
    const snapshot = this.#actor.getSnapshot();
    if (snapshot.matches("open")) return this.#refuse(GuardedCallResult.RefusedOpen);
    if (snapshot.matches({ halfOpen: "probing" })) {
      return this.#refuse(GuardedCallResult.RefusedProbeOutstanding);
    }
    if (snapshot.matches({ halfOpen: "ready" })) this.#actor.send({ type: "probe.started" });

    this.#invocations++;
    let failed = false;
    try {
      this.#fn(...args);
    } catch (error) {
      failed = true;
      this.#lastError = error;
      this.#hasError = true;
      this.#failures++;
    }
    this.#actor.send({ type: failed ? "call.failed" : "call.succeeded" });
    return failed ? GuardedCallResult.Failed : GuardedCallResult.Succeeded;
  }

  /** The breaker's top-level state. */
  get state(): BreakerState {
    const snapshot = this.#actor.getSnapshot();
    if (snapshot.matches("open")) return "open";
    if (snapshot.matches("halfOpen")) return "halfOpen";
    return "closed";
  }

  /** The last error the callback threw (kept until the next throw), or undefined. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /** Whether the callback has ever thrown (tells a thrown `undefined` apart from none). */
  get hasFailed(): boolean {
    return this.#hasError;
  }

  /** How long the current (or next) open period lasts, in ms. */
  get backoffMs(): number {
    return this.#actor.getSnapshot().context.backoffMs;
  }

  /** Running totals. */
  get stats(): GuardedCallStats {
    return { invocations: this.#invocations, failures: this.#failures, refusals: this.#refusals };
  }

  /** The breaker actor, for inspection. */
  get actor(): Actor<typeof circuitBreakerMachine> {
    return this.#actor;
  }

  /**
   * Listens for `breaker.opened` / `breaker.closed` (to raise and clear a SafeMode reason).
   *
   * @remarks
   * The handler runs synchronously inside `call`, `reset` or the clock's timer. A throw from it is
   * caught and kept in `lastListenerError` (XState would otherwise rethrow it as an uncaught
   * exception), so `call` still never throws.
   */
  on<T extends EmittedType>(type: T, handler: (event: EmittedOf<T>) => void): Subscription {
    return this.#actor.on(type, (event: CircuitBreakerEmitted) => {
      try {
        handler(event as EmittedOf<T>);
      } catch (error) {
        this.#lastListenerError = error;
      }
    });
  }

  /** The last error a listener registered with `on` threw, or undefined. */
  get lastListenerError(): unknown {
    return this.#lastListenerError;
  }

  /** Closes the breaker now and forgets failures and backoff (an operator reset). */
  reset(): void {
    if (!this.#stopped) this.#actor.send({ type: "reset" });
  }

  /** Stops the breaker (cancels its timer); later calls are refused. */
  stop(): void {
    this.#stopped = true;
    this.#actor.stop();
  }

  #refuse(result: GuardedCallResult): GuardedCallResult {
    this.#refusals++;
    return result;
  }
}

/**
 * Guards `fn` with a circuit breaker; see {@link GuardedCallback}.
 *
 * @example
 * const actuator = guardedCallback(onApply, { failureThreshold: 3 }, clock);
 * if (actuator.call(values, generation) === GuardedCallResult.Failed) rollBack();
 */
export function guardedCallback<A extends readonly unknown[]>(
  fn: (...args: A) => unknown,
  options: CircuitBreakerOptions = {},
  clock?: BreakerClock,
): GuardedCallback<A> {
  return new GuardedCallback(fn, options, clock);
}
