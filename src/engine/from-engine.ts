import type { Subscription } from "rxjs";
import { type AnyActorRef, type CallbackActorLogic, fromCallback, type NonReducibleUnknown } from "xstate";
import type { AuditEvent, AuditEventType } from "../audit/events.js";
import { CommandRefusedError, ConfigError, type ConfigIssue, errorMessage, UsageError } from "../errors.js";
import { shownValue } from "../shown-value.js";
import { unknownOptionKeys, unknownOptionsText } from "../unknown-options.js";
import type { EngineConfig } from "./config.js";
import type { Digest } from "./digest.js";
import { createEngine, type Engine, type EngineSnapshot } from "./engine.js";

/** Commands an engine actor made by {@link fromEngine} accepts (each maps to one {@link Engine} method). */
export type EngineCommand =
  /** `engine.observe(digest)`: one telemetry digest. */
  | { readonly type: "observe"; readonly digest: Digest }
  /** `engine.halt(reason)`: stop adapting (latched); the reason defaults to "halted by the host". */
  | { readonly type: "halt"; readonly reason?: string }
  /** `engine.resetSafeMode({ acknowledge })`: leave `halted`. */
  | { readonly type: "resetSafeMode"; readonly acknowledge: string }
  /** `engine.rollback(reason)`: restore the baseline. */
  | { readonly type: "rollback"; readonly reason?: string }
  /** `engine.setBaseline()`: make the live values the baseline. */
  | { readonly type: "setBaseline" };

/**
 * Notifications an engine actor sends its parent. `engineId` is the child actor's id. `N` is the
 * engine's parameter names: a parent that declares `EngineNotification<"batchSize">` among its
 * events reads `event.event.values.batchSize` on an apply, and a misspelt name does not compile.
 */
export type EngineNotification<N extends string = string> =
  /** The engine was created and started; `engine` is the running instance (read `values` from it freely). */
  | { readonly type: "engine.started"; readonly engineId: string; readonly engine: Engine<N> }
  /** One audit event of the engine (an apply, a violation, a mode change, …). */
  | { readonly type: "engine.event"; readonly engineId: string; readonly event: AuditEvent<N> }
  /**
   * The engine's snapshot, sent after each audit event that changed its values, baseline or mode
   * and taken when that event is delivered (see {@link FromEngineOptions.snapshots}), not when it
   * happened: the events of one delivery all carry the state after the last of them. What one
   * event changed is in the event itself (`engine.event`).
   */
  | { readonly type: "engine.snapshot"; readonly engineId: string; readonly snapshot: EngineSnapshot<N> }
  /**
   * A command refused, changing nothing, and the engine runs on. Either it had a known type but
   * the wrong shape (a reset whose `acknowledge` is not a string, a rollback whose `reason` is not
   * one): it reached no engine, and `reason` names the field, as `Supervisor.send`'s `UsageError`
   * does. Or the engine refused it with a `CommandRefusedError` (it could not record it first: a
   * decision log that failed, a full audit ring), whose message is the `reason`. Always sent.
   */
  | {
      readonly type: "engine.commandRefused";
      readonly engineId: string;
      readonly command: unknown;
      readonly reason: string;
    };

/** What {@link fromEngine} tells the parent. */
export interface FromEngineOptions {
  /** Send `engine.started` with the engine instance (default true). */
  readonly started?: boolean;
  /** Which audit events to send as `engine.event`: all (true, default), none (false) or these types. */
  readonly events?: boolean | readonly AuditEvent["type"][];
  /**
   * Send `engine.snapshot` after each audit event that changed the live values, the baseline or
   * the mode (apply, rollback, baseline.set, mode.changed) (default true). The snapshot is taken
   * when the event is delivered: on the engine's scheduler, several events at once (halt then
   * reset in one macrotask both report the mode after the reset), or, with `flush`, right after
   * the command sent to the actor that caused it.
   */
  readonly snapshots?: boolean;
  /**
   * Deliver pending audit events right after each command (`engine.flushEvents()`), so the parent
   * hears about an apply in the same macrotask as the digest that caused it (default false: they
   * arrive on the engine's scheduler, off the caller's path).
   */
  readonly flush?: boolean;
}

const FROM_ENGINE_OPTIONS = ["started", "events", "snapshots", "flush"];

/** Raised as the engine actor's error when the engine hit an unexpected internal failure. */
export class EngineFailedError extends Error {
  override readonly name = "EngineFailedError";
  readonly _tag = "EngineFailedError";
}

/** Every audit event type name (a `Record` so that the compiler keeps it complete). */
const AUDIT_EVENT_TYPES: Readonly<Record<AuditEventType, true>> = {
  apply: true,
  violation: true,
  "digest.accepted": true,
  "digest.rejected": true,
  "window.closed": true,
  "eval.timeout": true,
  rollback: true,
  "baseline.set": true,
  "spsa.stalled": true,
  "mode.changed": true,
  decision: true,
  "decision.step": true,
  "regime.shift": true,
  "homeostasis.recall": true,
  "homeostasis.refuted": true,
  command: true,
  "command.refused": true,
};

/** The {@link EngineCommand} types, as the errors of {@link engineCommandIssue} list them. */
const COMMAND_TYPES = "observe, halt, resetSafeMode, rollback, setBaseline";
const COMMAND_TYPE_SET: ReadonlySet<string> = new Set(COMMAND_TYPES.split(", "));

/** The event an engine actor sends itself when its engine fails outside a command. */
const ENGINE_FAILED = "arqon.engine.failed";

/** Audit event types after which the engine's snapshot is worth sending. */
const STATE_CHANGING: ReadonlySet<string> = new Set(["apply", "rollback", "baseline.set", "mode.changed"]);

/** The engine behind each running engine actor (weak: it goes with the actor). */
const engines = new WeakMap<object, Engine>();

/**
 * The engine run by an actor made from {@link fromEngine}, while it runs (else undefined).
 *
 * @remarks
 * `N` is the parameter names of the config the actor was made with
 * (`engineOf<"batchSize">(child)?.value("batchSize")`). An actor reference does not carry them,
 * so they cannot be checked here: name them as in the config, or leave `N` out for `string`.
 */
export function engineOf<N extends string = string>(actor: AnyActorRef): Engine<N> | undefined {
  return engines.get(actor) as Engine<N> | undefined;
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
 * ignores events of any other type, as XState actors ignore events they do not handle; one of
 * those types with the wrong shape (a reset without a string `acknowledge`) is refused, reaching
 * no engine, and reported to the parent as `engine.commandRefused` naming the field; so is a
 * command the engine refuses (`CommandRefusedError`), which leaves it running. It sends
 * its parent the {@link EngineNotification}s chosen by `options`, which `fromEngine` checks (a
 * `ConfigError` names a bad one, e.g. an `events` entry that is not an audit event type). If the
 * engine reports an internal failure (`engine.failure`), the actor closes it and fails with an
 * {@link EngineFailedError}. A host restored from a persisted snapshot (`getPersistedSnapshot()`
 * given back to `createActor`) does not get its engines back: XState keeps no engine state, so the
 * restored actor fails with a `UsageError` rather than start a new engine in place of one that may
 * have been halted. Commands cost one `actor.send` (microseconds) on top of the engine
 * call: feed digests this way at telemetry rates of thousands per second at most, or call
 * `engineOf(child).observe` directly for more.
 *
 * @example
 * ```ts
 * const host = setup({
 *   // Typed notifications: `event.event` is an AuditEvent keyed by the engine's names.
 *   types: { events: {} as EngineNotification<"batchSize"> | { type: "digest"; digest: Digest } },
 *   actors: { tuner: fromEngine(config) },
 * }).createMachine({
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
  const issues = fromEngineOptionsIssues(options);
  if (issues.length > 0) throw new ConfigError(issues);
  const sendStarted = options.started ?? true;
  const eventFilter = options.events ?? true;
  const wanted =
    typeof eventFilter === "boolean" ? undefined : new Set<string>(eventFilter as readonly string[]);
  const sendEvents = eventFilter !== false;
  const sendSnapshots = options.snapshots ?? true;
  const flush = options.flush ?? false;

  const logic = fromCallback<EngineCommand, TInput>(({ input, self, sendBack, receive }) => {
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
    // A failure on one of the engine's timers, outside any command: the actor hears of it through
    // its own mailbox (the only way a callback actor can fail later) and fails as after a command.
    const failed = engine.failed.subscribe(() => self.send({ type: ENGINE_FAILED } as never));
    // `failed` does not replay: a failure while the engine was being built has been emitted already.
    if (engine.failure !== undefined) self.send({ type: ENGINE_FAILED } as never);
    const release = () => {
      subscription?.unsubscribe();
      failed.unsubscribe();
      engines.delete(self);
      // close() releases everything synchronously; its promise only completes the events stream.
      void engine.close();
    };

    receive((command) => {
      if ((command as { type?: unknown }).type === ENGINE_FAILED) {
        if (engine.failure === undefined) return; // sent by someone else: nothing failed
        release();
        throw engineFailedError(engine, engineId);
      }
      // A known command of the wrong shape (an empty form field, say) is refused and reported,
      // not run: the engine method would throw a UsageError, which would fail the actor and
      // close the engine over one bad message. Unknown types are ignored, as XState actors do.
      const type = (command as { type?: unknown }).type;
      if (typeof type === "string" && COMMAND_TYPE_SET.has(type)) {
        const reason = engineCommandIssue(command);
        if (reason !== undefined) {
          sendBack({ type: "engine.commandRefused", engineId, command, reason } satisfies EngineNotification);
          return;
        }
      }
      try {
        runEngineCommand(engine, command, engineId, flush);
      } catch (error) {
        // A command the engine could not record first (its log failed, its audit ring is full)
        // changed nothing: reported, and the engine runs on. Closing it would end a halt that
        // only an acknowledged reset may end, and a restart would come up unhalted.
        if (error instanceof CommandRefusedError && engine.failure === undefined) {
          sendBack({
            type: "engine.commandRefused",
            engineId,
            command,
            reason: errorMessage(error),
          } satisfies EngineNotification);
          return;
        }
        // Anything else is a broken dependency (a scheduler, a hook) or an internal failure: the
        // engine is closed before the actor fails with it.
        release();
        throw error;
      }
    });

    if (sendStarted) sendBack({ type: "engine.started", engineId, engine } satisfies EngineNotification);
    return release;
  });
  return refusingRestore(logic);
}

/**
 * `logic`, whose start fails with a {@link UsageError} when XState restored it from a persisted
 * snapshot (a host's `getPersistedSnapshot()` given back to `createActor`).
 *
 * @remarks
 * A callback actor's persisted snapshot holds its status and input only, so the engine would
 * start again from its config: its tuned values and baseline gone, and a halt lifted without the
 * acknowledged reset that alone may end it. Failing names what was lost instead.
 */
function refusingRestore<TInput>(
  logic: CallbackActorLogic<EngineCommand, TInput>,
): CallbackActorLogic<EngineCommand, TInput> {
  const restored = new WeakSet<object>();
  return {
    ...logic,
    restoreSnapshot: (snapshot, scope) => {
      const state = logic.restoreSnapshot!(snapshot, scope);
      restored.add(state);
      return state;
    },
    start: (state, scope) => {
      if (restored.has(state)) {
        throw new UsageError(
          `engine actor "${scope.self.id}" cannot be restored from a persisted snapshot: ` +
            "XState's snapshot does not hold an engine's values, baseline or SafeMode mode, so it " +
            "would start again from its config and a halt would be lifted without a reset. An " +
            "engine's state survives a restart in its decision log (createLoggedEngine, resumePoint)",
        );
      }
      logic.start!(state, scope);
    },
  };
}

/** What is wrong with {@link FromEngineOptions} (empty when nothing is). */
function fromEngineOptionsIssues(options: FromEngineOptions): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const key of unknownOptionKeys(options, FROM_ENGINE_OPTIONS))
    issues.push({ path: key, message: unknownOptionsText([key], FROM_ENGINE_OPTIONS) });
  for (const key of ["started", "snapshots", "flush"] as const) {
    const value = options[key];
    if (value !== undefined && typeof value !== "boolean") {
      issues.push({ path: key, message: `must be a boolean, got ${shownValue(value)}` });
    }
  }
  const events: unknown = options.events;
  if (Array.isArray(events)) {
    for (const type of events) {
      if (typeof type !== "string" || !Object.hasOwn(AUDIT_EVENT_TYPES, type)) {
        issues.push({ path: "events", message: `${shownValue(type)} is not an audit event type` });
      }
    }
  } else if (events !== undefined && typeof events !== "boolean") {
    issues.push({
      path: "events",
      message: `must be a boolean or an array of audit event types, got ${shownValue(events)}`,
    });
  }
  return issues;
}

/**
 * What is wrong with `command` as an {@link EngineCommand}, or undefined when nothing is. Only its
 * shape: a digest's content is the engine's to judge (`observe` rejects a bad one and counts it).
 */
export function engineCommandIssue(command: unknown): string | undefined {
  if (typeof command !== "object" || command === null) {
    return `command must be an object with a type, got ${shownValue(command)}`;
  }
  const { type, reason, acknowledge } = command as Record<string, unknown>;
  switch (type) {
    case "observe":
    case "setBaseline":
      return undefined;
    case "halt":
      // Never refused, as engine.halt() is not: halting is the safe direction. A reason that is
      // not a string is audited as shown ("halted by the host; reason given: 5").
      return undefined;
    case "resetSafeMode":
      return typeof acknowledge === "string"
        ? undefined
        : `command.acknowledge of resetSafeMode must be a string, got ${shownValue(acknowledge)}`;
    case "rollback":
      return reason === undefined || typeof reason === "string"
        ? undefined
        : `command.reason of rollback must be a string when given, got ${shownValue(reason)}`;
    default:
      return `command.type must be one of ${COMMAND_TYPES}, got ${shownValue(type)}`;
  }
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
  if (engine.failure !== undefined) throw engineFailedError(engine, engineId);
}

/** The error an engine actor fails with once its engine reports `failure`. */
function engineFailedError(engine: Engine, engineId: string): EngineFailedError {
  return new EngineFailedError(`engine "${engineId}" failed: ${errorMessage(engine.failure)}`, {
    cause: engine.failure,
  });
}

/** Runs one command on the engine; anything else is ignored (see {@link fromEngine}). */
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
    default:
      return;
  }
}
