import { type Actor, type ActorOptions, type AnyActorLogic, createActor, type Subscription } from "xstate";
import {
  type CircuitBreakerEmitted,
  type CircuitBreakerOptions,
  circuitBreakerMachine,
  resolveCircuitBreakerOptions,
} from "../../../machines/circuit-breaker.machine.js";
import { type InspectionSink, quietSink } from "../../inspect/inspection-record.js";

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
  /**
   * The callback ran and returned a promise: its outcome is reported to the breaker when it
   * settles (a rejection, or no settlement within `settleTimeoutMs`, is a failure) — unless the
   * breaker has opened, closed or been reset since the call was let run: then the outcome is
   * stale and the breaker ignores it.
   */
  Pending: 6,
  /**
   * The callback ran but returned a promise (or other thenable) although the guard takes only
   * synchronous callbacks ({@link GuardedCallbackOptions.synchronous}): counted as a failure like
   * a throw (`lastError` is a {@link SynchronousCallbackError}); the promise is not awaited. Unlike
   * {@link GuardedCallResult.Failed}, the callback did receive its arguments, so a caller should
   * not offer the same ones again.
   */
  ReturnedPromise: 7,
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
  /** Invocations that threw, rejected or did not settle in time. */
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
 * or open again.
 *
 * An **async** callback (one that returns a promise or other thenable) is reported when its
 * promise settles: a rejection, or no settlement within `settleTimeoutMs` (default 10 s, on the
 * guard's clock), is a failure like a throw, and {@link GuardedCallback.onFailure} listeners hear
 * of it. A rejection never becomes an unhandled rejection, even one that comes after its timeout.
 * Until it settles, a half-open probe stays outstanding. Calls may overlap; each is counted, but
 * only the outcomes the breaker is waiting for reach it: in half-open, the probe's alone; while
 * closed, those of calls made since it last closed (or was reset). The outcome of a call made
 * before the breaker opened — a slow success arriving while the probe is outstanding, say — is
 * stale and changes nothing (each call is tagged with the breaker's `epoch`; see
 * {@link circuitBreakerMachine}); a stale failure still counts in `stats` and `lastError`, but
 * `onFailure` listeners do not hear of it.
 *
 * A guard built with {@link GuardedCallbackOptions.synchronous} takes no async callback: a
 * thenable result is a failure ({@link GuardedCallResult.ReturnedPromise}).
 *
 * Cost per call: one snapshot read and one XState event (plus one more for the probe) — meant for
 * window-cadence work such as pushing a new config, not for the per-digest hot path.
 */
/** The default of {@link GuardedCallbackOptions.settleTimeoutMs}. */
export const DEFAULT_SETTLE_TIMEOUT_MS = 10_000;

/** Options of a {@link GuardedCallback} beyond the breaker's own. */
export interface GuardedCallbackOptions {
  /** How long an async callback's promise may take to settle before it counts as failed (ms). */
  readonly settleTimeoutMs?: number;
  /**
   * When set, the callback must be synchronous, and this is its name for messages (e.g.
   * "auditSink"): a promise or other thenable it returns is not awaited but fails the call at once
   * with a {@link SynchronousCallbackError} ({@link GuardedCallResult.ReturnedPromise}); a later
   * rejection of that promise is swallowed. For callbacks whose caller must know, when the call
   * returns, whether its argument was taken.
   */
  readonly synchronous?: string;
  /**
   * Receives the breaker actor's XState inspection events (e.g. the engine's `inspect` sink); a
   * throw from it is dropped, so `call` still never throws.
   */
  readonly inspect?: InspectionSink | undefined;
  /**
   * The breaker actor's id and system id, so an inspector can tell breakers apart (e.g.
   * "actuatorBreaker"); the actor is a root of its own, not part of another actor system.
   */
  readonly systemId?: string | undefined;
}

/** The error kept in `lastError` for an async call that did not settle in time. */
export class SettleTimeoutError extends Error {
  constructor(ms: number) {
    super(`the callback's promise did not settle within ${ms} ms`);
    this.name = "SettleTimeoutError";
  }
}

/** The error kept in `lastError` when a synchronous-only callback returned a promise. */
export class SynchronousCallbackError extends Error {
  constructor(name: string) {
    super(
      `${name} returned a promise: it must be synchronous (a promise is not awaited, so the call counts as failed)`,
    );
    this.name = "SynchronousCallbackError";
  }
}

/** Attached to a promise that is not awaited, so its rejection is handled (and dropped). */
function ignore(): void {}

/** Whether `value` is a promise or another thenable (what an async hook returns). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/** What {@link GuardedCallback}'s admission check returns when the call may run (no result has this value). */
const ADMITTED = 0;

export class GuardedCallback<A extends readonly unknown[]> {
  readonly #fn: (...args: A) => unknown;
  readonly #actor: Actor<typeof circuitBreakerMachine>;
  readonly #clock: BreakerClock | undefined;
  readonly #settleTimeoutMs: number;
  /** The callback's name when it must be synchronous ({@link GuardedCallbackOptions.synchronous}). */
  readonly #synchronous: string | undefined;
  /** The breaker's epoch the call just admitted runs in (read by the caller before invoking it). */
  #admittedEpoch = 0;
  readonly #failureListeners: ((error: unknown) => void)[] = [];
  /** Settle timers of async calls still pending (cancelled by `stop`). */
  readonly #timers = new Set<unknown>();
  #lastError: unknown;
  #lastListenerError: unknown;
  #hasError = false;
  #invocations = 0;
  #failures = 0;
  /** Failures since the last success (or reset), the one that opened the breaker included. */
  #run = 0;
  #refusals = 0;
  #stopped = false;

  /**
   * @param fn the callback to protect.
   * @param options breaker settings (defaults: 3 failures, 1 s base backoff, 60 s cap).
   * @param clock the clock the open period runs on (XState's `clock` option; e.g. a
   * `SimulatedClock` in tests, a scheduler bridge in the engine); real timers when omitted.
   * @param guard how long an async callback may take to settle (see {@link GuardedCallbackOptions}).
   * @throws RangeError when an option is out of range (see `resolveCircuitBreakerOptions`).
   */
  constructor(
    fn: (...args: A) => unknown,
    options: CircuitBreakerOptions = {},
    clock?: BreakerClock,
    guard: GuardedCallbackOptions = {},
  ) {
    const settle = guard.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;
    if (!(settle > 0) || !Number.isFinite(settle)) {
      throw new RangeError(`settleTimeoutMs: expected a finite number of ms > 0, got ${settle}`);
    }
    this.#fn = fn;
    this.#clock = clock;
    this.#settleTimeoutMs = settle;
    this.#synchronous = guard.synchronous;
    const input = resolveCircuitBreakerOptions(options);
    this.#actor = createActor(circuitBreakerMachine, {
      input,
      ...(clock === undefined ? {} : { clock }),
      ...(guard.inspect === undefined ? {} : { inspect: quietSink(guard.inspect) }),
      ...(guard.systemId === undefined ? {} : { id: guard.systemId, systemId: guard.systemId }),
    });
    this.#actor.start();
  }

  /** Runs the callback through the breaker; never throws. See {@link GuardedCallResult}. */
  call(...args: A): GuardedCallResult {
    const refused = this.#admit();
    if (refused !== ADMITTED) return refused;
    // Read before the callback runs: a re-entrant call would overwrite it.
    const epoch = this.#admittedEpoch;
    let returned: unknown;
    try {
      returned = this.#fn(...args);
    } catch (error) {
      return this.#threw(error, epoch);
    }
    return this.#returned(returned, epoch);
  }

  /**
   * {@link call} for a callback of one argument, without the array a rest parameter builds on
   * every call (a logged engine's record sink runs on every audit drain).
   */
  callWith(arg: A[0]): GuardedCallResult {
    const refused = this.#admit();
    if (refused !== ADMITTED) return refused;
    const epoch = this.#admittedEpoch;
    let returned: unknown;
    try {
      returned = (this.#fn as unknown as (arg: A[0]) => unknown)(arg);
    } catch (error) {
      return this.#threw(error, epoch);
    }
    return this.#returned(returned, epoch);
  }

  /**
   * {@link ADMITTED} when a call may run (counted; its epoch is left in `#admittedEpoch`), else the
   * refusal (counted).
   */
  #admit(): GuardedCallResult | typeof ADMITTED {
    if (this.#stopped) return this.#refuse(GuardedCallResult.RefusedStopped);
    let snapshot = this.#actor.getSnapshot();
    // Closed, the common case, is a plain string value: no `matches` (it allocates) on every call.
    if (snapshot.value !== "closed") {
      if (snapshot.matches("open")) return this.#refuse(GuardedCallResult.RefusedOpen);
      if (snapshot.matches({ halfOpen: "probing" })) {
        return this.#refuse(GuardedCallResult.RefusedProbeOutstanding);
      }
      if (snapshot.matches({ halfOpen: "ready" })) {
        // The probe starts a new epoch: only its own outcome can close or re-open the breaker.
        this.#actor.send({ type: "probe.started" });
        snapshot = this.#actor.getSnapshot();
      }
    }
    this.#admittedEpoch = snapshot.context.epoch;
    this.#invocations++;
    return ADMITTED;
  }

  #threw(error: unknown, epoch: number): GuardedCallResult {
    this.#fail(error);
    this.#run++;
    this.#actor.send({ type: "call.failed", epoch });
    return GuardedCallResult.Failed;
  }

  #returned(returned: unknown, epoch: number): GuardedCallResult {
    // A hostile return value (a `then` getter that throws, a revoked Proxy, a `then` that throws
    // when called) fails the call like a throw: nothing escapes into the caller.
    let thenable: boolean;
    try {
      thenable = isThenable(returned);
    } catch (error) {
      return this.#threw(error, epoch);
    }
    if (!thenable) {
      this.#succeed(epoch);
      return GuardedCallResult.Succeeded;
    }
    if (this.#synchronous !== undefined)
      return this.#returnedPromise(returned as PromiseLike<unknown>, epoch);
    const attached = this.#await(returned as PromiseLike<unknown>, epoch);
    return attached === undefined ? GuardedCallResult.Pending : this.#threw(attached.error, epoch);
  }

  /** A synchronous-only callback returned a thenable: a failure; its rejection, if any, is dropped. */
  #returnedPromise(promise: PromiseLike<unknown>, epoch: number): GuardedCallResult {
    try {
      promise.then(undefined, ignore);
    } catch {
      // A `then` that throws changes nothing: the call has failed either way.
    }
    this.#threw(new SynchronousCallbackError(this.#synchronous!), epoch);
    return GuardedCallResult.ReturnedPromise;
  }

  /**
   * Calls `listener` when an async call fails (rejects or times out), after the breaker has been
   * told; not for a stale failure (a call let run before the breaker last opened or was reset),
   * which the breaker ignores too. A throw from the listener is kept in `lastListenerError`.
   */
  onFailure(listener: (error: unknown) => void): void {
    this.#failureListeners.push(listener);
  }

  /**
   * Reports an async call's outcome to the breaker once, whichever comes first: settlement or
   * timeout. Returns what `then` threw, when it threw instead of attaching the handlers (the call
   * has then failed at once; nothing was reported).
   */
  #await(promise: PromiseLike<unknown>, epoch: number): { readonly error: unknown } | undefined {
    let done = false;
    const settle = (error: unknown, failed: boolean) => {
      if (done) return;
      done = true;
      this.#cancelTimer(timer);
      if (this.#stopped) return;
      if (!failed) {
        this.#succeed(epoch);
        return;
      }
      this.#fail(error);
      // A stale failure (a call let run before the breaker last opened or was reset) is counted in
      // the stats but reaches neither the chart (it ignores another epoch) nor the listeners.
      if (this.#actor.getSnapshot().context.epoch !== epoch) return;
      this.#run++;
      this.#actor.send({ type: "call.failed", epoch });
      for (const listener of this.#failureListeners) {
        try {
          listener(error);
        } catch (listenerError) {
          this.#lastListenerError = listenerError;
        }
      }
    };
    const timer = this.#startTimer(() => settle(new SettleTimeoutError(this.#settleTimeoutMs), true));
    // Both handlers are attached at once, so a rejection is always handled, even a late one.
    try {
      promise.then(
        () => settle(undefined, false),
        (error: unknown) => settle(error, true),
      );
    } catch (error) {
      done = true;
      this.#cancelTimer(timer);
      return { error };
    }
    return undefined;
  }

  #startTimer(run: () => void): unknown {
    const ms = this.#settleTimeoutMs;
    const timer = this.#clock === undefined ? setTimeout(run, ms) : this.#clock.setTimeout(run, ms);
    this.#timers.add(timer);
    return timer;
  }

  #cancelTimer(timer: unknown): void {
    if (!this.#timers.delete(timer)) return;
    if (this.#clock === undefined) clearTimeout(timer as ReturnType<typeof setTimeout>);
    else this.#clock.clearTimeout(timer as Parameters<BreakerClock["clearTimeout"]>[0]);
  }

  /**
   * Tells the breaker of a success of a call let run in `epoch`. A stale one (another epoch: the
   * breaker opened, closed or was reset since) changes nothing, and neither does one while closed
   * with no failure counted, so the statechart step is skipped: it would otherwise run on every
   * apply and every audit batch.
   */
  #succeed(epoch: number): void {
    const snapshot = this.#actor.getSnapshot();
    const context = snapshot.context;
    if (context.epoch === epoch) this.#run = 0;
    if (context.epoch !== epoch || (context.failures === 0 && snapshot.value === "closed")) return;
    this.#actor.send({ type: "call.succeeded", epoch });
  }

  #fail(error: unknown): void {
    this.#lastError = error;
    this.#hasError = true;
    this.#failures++;
  }

  /** The breaker's top-level state. */
  get state(): BreakerState {
    const snapshot = this.#actor.getSnapshot();
    if (snapshot.matches("open")) return "open";
    if (snapshot.matches("halfOpen")) return "halfOpen";
    return "closed";
  }

  /** The last error the callback threw or rejected with (kept until the next failure), or undefined. */
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
    this.#run = 0;
    if (!this.#stopped) this.#actor.send({ type: "reset" });
  }

  /**
   * Failures in a row since the last success or reset: 1 for a failure that follows a success.
   * Unlike the breaker's count, it goes on through the breaker opening (an outage's later failures
   * are still the same run).
   */
  get failureRun(): number {
    return this.#run;
  }

  /** Stops the breaker (cancels its timer and pending settle timers); later calls are refused. */
  stop(): void {
    this.#stopped = true;
    for (const timer of [...this.#timers]) this.#cancelTimer(timer);
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
  guard: GuardedCallbackOptions = {},
): GuardedCallback<A> {
  return new GuardedCallback(fn, options, clock, guard);
}
