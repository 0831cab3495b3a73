import type { Subscription } from "rxjs";
import { type AnyActorRef, type CallbackActorLogic, fromCallback, type NonReducibleUnknown } from "xstate";
import type { AuditEvent } from "../audit/events.js";
import { errorMessage } from "../errors.js";
import type { EngineConfig } from "./config.js";
import type { Digest } from "./digest.js";
import { createEngine, type Engine, type EngineSnapshot } from "./engine.js";

/** Commands an engine actor made by {@link fromEngine} accepts (each maps to one {@link Engine} method). */
export type EngineCommand =
  /** `engine.observe(digest)`: one telemetry digest. */
  | { readonly type: "observe"; readonly digest: Digest }
  /** `engine.halt(reason)`: stop adapting (latched). */
  | { readonly type: "halt"; readonly reason: string }
  /** `engine.resetSafeMode({ acknowledge })`: leave `halted`. */
  | { readonly type: "resetSafeMode"; readonly acknowledge: string }
  /** `engine.rollback(reason)`: restore the baseline. */
  | { readonly type: "rollback"; readonly reason?: string }
  /** `engine.setBaseline()`: make the live values the baseline. */
  | { readonly type: "setBaseline" };

/** Notifications an engine actor sends its parent. `engineId` is the child actor's id. */
export type EngineNotification =
  /** The engine was created and started; `engine` is the running instance (read `values` from it freely). */
  | { readonly type: "engine.started"; readonly engineId: string; readonly engine: Engine }
  /** One audit event of the engine (an apply, a violation, a mode change, …). */
  | { readonly type: "engine.event"; readonly engineId: string; readonly event: AuditEvent }
  /** The engine's snapshot right after an audit event that changed its values, baseline or mode. */
  | { readonly type: "engine.snapshot"; readonly engineId: string; readonly snapshot: EngineSnapshot };

/** What {@link fromEngine} tells the parent. */
export interface FromEngineOptions {
  /** Send `engine.started` with the engine instance (default true). */
  readonly started?: boolean;
  /** Which audit events to send as `engine.event`: all (true, default), none (false) or these types. */
  readonly events?: boolean | readonly AuditEvent["type"][];
  /**
   * Send `engine.snapshot` after each audit event that changed the live values, the baseline or
   * the mode (apply, rollback, baseline.set, mode.changed) (default true).
   */
  readonly snapshots?: boolean;
  /**
   * Deliver pending audit events right after each command (`engine.flushEvents()`), so the parent
   * hears about an apply in the same macrotask as the digest that caused it (default false: they
   * arrive on the engine's scheduler, off the caller's path).
   */
  readonly flush?: boolean;
}

/** Raised as the engine actor's error when the engine hit an unexpected internal failure. */
export class EngineFailedError extends Error {
  override readonly name = "EngineFailedError";
  readonly _tag = "EngineFailedError";
}

/** Audit event types after which the engine's snapshot is worth sending. */
const STATE_CHANGING: ReadonlySet<string> = new Set(["apply", "rollback", "baseline.set", "mode.changed"]);

/** The engine behind each running engine actor (weak: it goes with the actor). */
const engines = new WeakMap<object, Engine>();

/** The engine run by an actor made from {@link fromEngine}, while it runs (else undefined). */
export function engineOf(actor: AnyActorRef): Engine | undefined {
  return engines.get(actor);
}

/**
 * XState actor logic that runs an arqon engine, so that a user's machine can `invoke` or `spawn`
 * one as a child.
 *
 * @remarks
 * Starting the actor creates the engine from `config` (or from `config(input)`); an invalid config
 * makes the actor fail at once with the `ConfigError` (the parent's `onError` / the
 * `xstate.error.actor.<id>` event; handle it, since XState makes a parent that does not fail
 * too). Stopping the actor (or its parent, or leaving the invoking
 * state) closes the engine: its timers, subscriptions and actors are released. The actor accepts
 * the {@link EngineCommand}s (`observe`, `halt`, `resetSafeMode`, `rollback`, `setBaseline`) and
 * sends its parent the {@link EngineNotification}s chosen by `options`. If the engine reports an
 * internal failure (`engine.failure`), the actor closes it and fails with an
 * {@link EngineFailedError}. Commands cost one `actor.send` (microseconds) on top of the engine
 * call: feed digests this way at telemetry rates of thousands per second at most, or call
 * `engineOf(child).observe` directly for more.
 *
 * @example
 * ```ts
 * const host = setup({ actors: { tuner: fromEngine(config) } }).createMachine({
 *   invoke: { id: "tuner", src: "tuner" },
 *   on: {
 *     digest: { actions: sendTo("tuner", ({ event }) => ({ type: "observe", digest: event.digest })) },
 *     "engine.event": { actions: ({ event }) => console.log(event.event) },
 *   },
 * });
 * ```
 */
export function fromEngine<TInput = NonReducibleUnknown>(
  config: EngineConfig | ((input: TInput) => EngineConfig),
  options: FromEngineOptions = {},
): CallbackActorLogic<EngineCommand, TInput> {
  const sendStarted = options.started ?? true;
  const eventFilter = options.events ?? true;
  const wanted =
    typeof eventFilter === "boolean" ? undefined : new Set<string>(eventFilter as readonly string[]);
  const sendEvents = eventFilter !== false;
  const sendSnapshots = options.snapshots ?? true;
  const flush = options.flush ?? false;

  return fromCallback<EngineCommand, TInput>(({ input, self, sendBack, receive }) => {
    const engine = createEngine(typeof config === "function" ? config(input) : config);
    const engineId = self.id;
    engines.set(self, engine);
    let subscription: Subscription | undefined;
    if (sendEvents || sendSnapshots) {
      subscription = engine.events.subscribe((event) => {
        if (sendEvents && (wanted === undefined || wanted.has(event.type))) {
          sendBack({ type: "engine.event", engineId, event } satisfies EngineNotification);
        }
        if (sendSnapshots && STATE_CHANGING.has(event.type)) {
          sendBack({
            type: "engine.snapshot",
            engineId,
            snapshot: engine.snapshot(),
          } satisfies EngineNotification);
        }
      });
    }
    const release = () => {
      subscription?.unsubscribe();
      engines.delete(self);
      // close() releases everything synchronously; its promise only completes the events stream.
      void engine.close();
    };

    receive((command) => {
      try {
        runEngineCommand(engine, command, engineId, flush);
      } catch (error) {
        // Engine methods do not throw on bad input; anything thrown here is a broken dependency
        // (e.g. a scheduler or a hook) or an internal failure, so the engine is closed before the
        // actor fails with it.
        release();
        throw error;
      }
    });

    if (sendStarted) sendBack({ type: "engine.started", engineId, engine } satisfies EngineNotification);
    return release;
  });
}

/**
 * Runs one command on an engine the way its actor does: throws whatever the engine method threw,
 * or an {@link EngineFailedError} when the engine reports an internal failure after it (the
 * caller then closes the engine). With `flush`, pending audit events are delivered after it.
 */
export function runEngineCommand(
  engine: Engine,
  command: EngineCommand,
  engineId: string,
  flush: boolean,
): void {
  run(engine, command);
  if (flush) engine.flushEvents();
  if (engine.failure !== undefined) {
    throw new EngineFailedError(`engine "${engineId}" failed: ${errorMessage(engine.failure)}`, {
      cause: engine.failure,
    });
  }
}

/** Runs one command on the engine. */
function run(engine: Engine, command: EngineCommand): void {
  switch (command.type) {
    case "observe":
      engine.observe(command.digest);
      return;
    case "halt":
      engine.halt(command.reason);
      return;
    case "resetSafeMode":
      engine.resetSafeMode({ acknowledge: command.acknowledge });
      return;
    case "rollback":
      engine.rollback(command.reason);
      return;
    case "setBaseline":
      engine.setBaseline();
      return;
  }
}
