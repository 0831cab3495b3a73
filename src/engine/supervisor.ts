import * as Effect from "effect/Effect";
import * as ExecutionStrategy from "effect/ExecutionStrategy";
import * as Exit from "effect/Exit";
import * as Scope from "effect/Scope";
import { type Actor, type AnyActorRef, type CallbackActorLogic, createActor, setup, stopChild } from "xstate";
import { CommandRefusedError, ConfigError, errorMessage, UsageError } from "../errors.js";
import type { InspectionSink } from "../inspect/inspection-record.js";
import { quietSink } from "../inspect/inspection-record.js";
import { shownValue } from "../shown-value.js";
import { unknownOptionKeys, unknownOptionsText } from "../unknown-options.js";
import type { EngineConfig } from "./config.js";
import { closeEngineNow, type Engine } from "./engine.js";
import {
  type EngineCommand,
  type EngineNotification,
  engineCommandIssue,
  engineOf,
  type FromEngineOptions,
  fromEngine,
  runEngineCommand,
} from "./from-engine.js";

/** Commands the supervisor's root actor takes (sent by the {@link Supervisor} methods only). */
type SupervisorRootEvent =
  /** Stops one engine actor (the root is its parent). */
  | { readonly type: "supervisor.stop"; readonly actor: AnyActorRef }
  /** Sent by XState when an engine actor fails; the supervisor's observer of that actor handles it. */
  | { readonly type: `xstate.error.actor.${string}`; readonly error: unknown }
  /** Sent by an engine actor that refused a command, changing nothing: `send` throws it. */
  | Extract<EngineNotification, { readonly type: "engine.commandRefused" }>;

/**
 * The root of a supervisor's actor system: the parent of every engine actor, and the one that
 * stops them. Engine actors are created with the root as their `parent` but are not entries of
 * its snapshot's `children`: XState copies that object whenever a child is spawned or stopped,
 * which would make each spawn and stop cost O(engines). A child's failure reaches the root as an
 * `xstate.error.actor.<name>` event, which it ignores: one engine's failure never touches the
 * root or its siblings (the supervisor's observer of that engine handles it).
 */
const supervisorRootMachine = setup({
  types: { events: {} as SupervisorRootEvent },
  actions: {
    /** Given by the supervisor: keeps the refusal for the `send` that caused it. */
    refused: (_, _refusal: Extract<SupervisorRootEvent, { type: "engine.commandRefused" }>) => {},
  },
}).createMachine({
  id: "supervisor",
  on: {
    // Unregisters the engine's system id at once (so the name can be spawned again) and stops it.
    "supervisor.stop": { actions: stopChild(({ event }) => event.actor) },
    // Handled (and ignored) here, a child's error does not become the root's own error.
    "xstate.error.actor.*": {},
    "engine.commandRefused": { actions: { type: "refused", params: ({ event }) => event } },
  },
});

const SUPERVISOR_OPTIONS = ["inspect", "onFailure", "notifications"];

/** Options of {@link createSupervisor}. */
export interface SupervisorOptions {
  /**
   * Inspection sink of the supervisor's actor system (the root and every engine actor); engines
   * whose config has no `inspect` of their own send their internal actors' events to it too. Each
   * engine's internal actors (`spsa`, `safeMode`, `hotPath`…) form an actor system of their own,
   * whose root is that engine's `actor`: an event's `rootId` is that root's `sessionId`, which is
   * how one engine's events are told from another's (`supervisor.get(name).actor.sessionId`; the
   * memory inspector's `snapshots(actorId, rootId)` filters by it).
   */
  readonly inspect?: InspectionSink;
  /**
   * Called once when an engine fails after it started (its actor errored), once that engine is
   * stopped, closed and out of {@link Supervisor.names}: it may spawn the name again. `engine` is
   * the failed one, closed, its `mode` and `snapshot()` as they were: a new engine starts in
   * `normal`, so a restart that must keep a halt halts it again. The others keep running. A throw
   * from it is caught and reported with `console.warn`: it reaches neither the caller of `send`,
   * nor XState's timers, nor the other engines.
   */
  readonly onFailure?: (name: string, error: unknown, engine: Engine) => void;
  /**
   * What each engine actor reports to the root (see {@link FromEngineOptions}); default: nothing,
   * since the supervisor's users read engines through {@link Supervisor.get}. Checked as
   * {@link fromEngine} checks them: `createSupervisor` throws the `ConfigError` of a bad one.
   */
  readonly notifications?: FromEngineOptions;
}

/**
 * Called by {@link Supervisor.onSpawn} with each engine spawned: its name, the engine, and the
 * config `spawn` was given (the one to hand to `monitorEngine`).
 */
export type SpawnListener = (name: string, engine: Engine, config: EngineConfig) => void;

/**
 * Many named engines in one process, each an actor of one XState system whose lifetime an Effect
 * `Scope` owns (one per engine, forked from the supervisor's own). Spawn, stop and a digest through
 * {@link Supervisor.send} cost the same however many engines run: engines are kept in a `Map` by
 * name, and no per-spawn or per-stop work grows with their number.
 *
 * @remarks
 * Isolation: a bad config fails that `spawn` only; an engine whose actor fails (an internal
 * failure, a broken hook or scheduler; not a command it refused) is stopped, closed, removed from {@link Supervisor.names} and
 * its error kept in {@link Supervisor.failure}; an engine whose `onApply` hook keeps throwing
 * is contained by its own circuit breaker and SafeMode. In every case the other engines keep
 * tuning. Each engine keeps its own internal actor system (SPSA cycle, hot path); the supervisor's
 * system holds one actor per engine.
 */
export interface Supervisor {
  /**
   * The root actor of the supervisor's system: the parent of every engine actor (which is
   * registered in the system by name: `actor.system.get(name)`) and the one that stops them.
   * Engine actors are not listed in its snapshot's `children` (see {@link Supervisor.actorOf}).
   */
  readonly actor: Actor<typeof supervisorRootMachine>;
  /**
   * Creates and starts an engine named `name` (also its actor's id and system id). Throws the
   * `ConfigError` of an invalid config (nothing is kept; {@link Supervisor.failure} has it too),
   * the `EngineFailedError` of an engine that failed as it started (a scheduler or hook that
   * throws at once; kept the same way), or a `UsageError` if the name is running or the
   * supervisor is closed.
   */
  spawn<const N extends string>(name: string, config: EngineConfig<N>): Engine<N>;
  /** Stops and closes the engine `name`; resolves to false when no such engine runs. */
  stop(name: string): Promise<boolean>;
  /**
   * The running engine `name`, or undefined. `N` is the parameter names it was spawned with
   * (`get<"poolSize">("checkout")`): a name does not carry them, so they are not checked here.
   */
  get<N extends string = string>(name: string): Engine<N> | undefined;
  /** The engine actor `name` (in {@link Supervisor.actor}'s system), or undefined. */
  actorOf(name: string): AnyActorRef | undefined;
  /**
   * Sends a command to the engine actor `name`; false when no such engine runs. A command of the
   * wrong shape (no object, an unknown `type`, a rollback's `reason` or a reset's `acknowledge`
   * that is not a string) throws a `UsageError` naming the field, and reaches no engine. One the
   * engine refuses, changing nothing (it could not record it first: `onCommand` failed, or the
   * audit ring is full), throws its `CommandRefusedError`, and the engine runs on. True says the
   * engine took the command, not what it did with it: a reset with a blank acknowledgement, or of
   * an engine that is not halted, changes nothing (read `get(name).mode`). A `halt`
   * is never refused (halting is the safe direction): a `reason` that is not a string is audited
   * as shown, "halted by the host; reason given: 5". Without an
   * `inspect` sink, an `observe` command skips the actor's mailbox and runs on the engine at once
   * (as the actor would run it, failure handling included: a throw stops and closes that engine,
   * as an actor failure does), since digests arrive far more often than anything else; with
   * one, every command goes through the actor so that inspection sees it.
   */
  send(name: string, command: EngineCommand): boolean;
  /** Names of the running engines, in spawn order. */
  names(): string[];
  /**
   * Calls `listener` with each engine spawned from now on (by `spawn`, an `onFailure` restart
   * included), inside `spawn` before it returns: a subscription made there to `engine.events`
   * misses none of the new engine's events, which its first drain would otherwise deliver to no
   * one. The third argument is the config the engine was spawned with, as `spawn` got it: what
   * `monitorEngine(engine, config)` needs to watch it. Returns a function that removes the
   * listener. A throw from it is caught and reported with `console.warn`: the spawn stands.
   */
  onSpawn(listener: SpawnListener): () => void;
  /** Why the engine last spawned as `name` failed, or undefined if it did not. */
  failure(name: string): unknown;
  /** Stops every engine (all scopes closed, all actors stopped, all engines closed). */
  close(): Promise<void>;
}

/** Effect constructors of {@link Supervisor}. */
export const Supervisor = {
  /**
   * A supervisor closed (with every engine it runs) when the enclosing `Scope` closes; fails with
   * the `ConfigError` of bad `notifications`.
   */
  make: (options: SupervisorOptions = {}): Effect.Effect<Supervisor, ConfigError, Scope.Scope> =>
    Effect.acquireRelease(
      Effect.suspend(() => {
        try {
          return Effect.succeed(createSupervisor(options));
        } catch (error) {
          return error instanceof ConfigError ? Effect.fail(error) : Effect.die(error);
        }
      }),
      // Its close does all its work at once: released synchronously, so Effect.runSync can close it.
      (supervisor) => Effect.sync(() => (supervisor as SupervisorImpl).closeNow()),
    ),
};

/**
 * Creates a supervisor; see {@link Supervisor}. Throws a `ConfigError` naming an unknown option or
 * bad `notifications`.
 */
export function createSupervisor(options: SupervisorOptions = {}): Supervisor {
  return new SupervisorImpl(options);
}

/** One running engine: its actor, and the scope that owns the actor's lifetime. */
interface Running {
  readonly name: string;
  readonly engine: Engine;
  readonly actor: AnyActorRef;
  readonly scope: Scope.CloseableScope;
}

class SupervisorImpl implements Supervisor {
  readonly actor: Actor<typeof supervisorRootMachine>;
  private readonly options: SupervisorOptions;
  private readonly scope: Scope.CloseableScope;
  /** One actor logic for every engine (the config travels as the actor's input). */
  private readonly logic: CallbackActorLogic<EngineCommand, EngineConfig>;
  private readonly running = new Map<string, Running>();
  /**
   * The engines of {@link running}, by the same names: what {@link send} looks up per digest, one
   * hop from the name to the engine (its `Running` record is read only when the engine fails).
   */
  private readonly engines = new Map<string, Engine>();
  private readonly failures = new Map<string, unknown>();
  /** Whether `observe` commands go straight to the engine (no inspection sink to show them to). */
  private readonly directObserve: boolean;
  private readonly flushAfterCommand: boolean;
  private closed = false;
  private rootError: unknown;
  private readonly spawnListeners = new Set<SpawnListener>();
  /**
   * Refusals engine actors reported, by the command refused, for the `send` that sent it to read
   * (by command: a send from inside another command is queued, and its refusal comes later).
   */
  private readonly refusals = new WeakMap<object, string>();

  constructor(options: SupervisorOptions) {
    const issues = unknownOptionKeys(options, SUPERVISOR_OPTIONS).map((key) => ({
      path: key,
      message: unknownOptionsText([key], SUPERVISOR_OPTIONS),
    }));
    for (const key of ["inspect", "onFailure"] as const) {
      const value: unknown = options[key];
      if (value !== undefined && typeof value !== "function")
        issues.push({ path: key, message: `expected a function, got ${shownValue(value)}` });
    }
    if (issues.length > 0) throw new ConfigError(issues);
    this.options = options;
    this.directObserve = options.inspect === undefined;
    this.flushAfterCommand = options.notifications?.flush ?? false;
    // One sink that cannot throw into the actors it watches (see quietSink), shared with the
    // engines whose config has no inspection sink of their own.
    const inspect = options.inspect === undefined ? undefined : quietSink(options.inspect);
    try {
      this.logic = fromEngine<EngineConfig>(
        // Anything but an object goes as it is, for createEngine to refuse with a ConfigError.
        (config) =>
          typeof config === "object" &&
          config !== null &&
          config.inspect === undefined &&
          inspect !== undefined
            ? { ...config, inspect }
            : config,
        { started: false, events: false, snapshots: false, ...options.notifications },
      );
    } catch (error) {
      // Named as the supervisor's option it came from: `notifications.flush`, not `flush`.
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError(error.issues.map((issue) => ({ ...issue, path: `notifications.${issue.path}` })));
    }
    this.scope = Effect.runSync(Scope.make());
    const root = supervisorRootMachine.provide({
      actions: {
        refused: (_, refusal) => {
          const { command } = refusal;
          if (typeof command === "object" && command !== null) this.refusals.set(command, refusal.reason);
        },
      },
    });
    this.actor = createActor(root, inspect === undefined ? {} : { inspect });
    // Children's errors are events the root handles, not errors of its own; an error of the root
    // would be a defect, kept here rather than thrown from a timer into the host process.
    this.actor.subscribe({
      error: (error) => {
        this.rootError ??= error;
      },
    });
    this.actor.start();
  }

  spawn<const N extends string>(name: string, config: EngineConfig<N>): Engine<N> {
    if (this.closed) throw new UsageError(`spawn("${name}"): the supervisor is closed`);
    if (this.rootError !== undefined) {
      throw new UsageError(`spawn("${name}"): the supervisor's root actor failed`, { cause: this.rootError });
    }
    if (typeof name !== "string" || name === "") throw new UsageError("spawn: expected a non-empty name");
    if (this.running.has(name)) throw new UsageError(`spawn("${name}"): an engine with this name is running`);
    // The root is the actor's parent (same system, its failures reach the root as events), but
    // the actor is not added to the root's `children`, which XState would copy (see the chart).
    const actor = createActor(this.logic, { parent: this.actor, id: name, systemId: name, input: config });
    actor.start();
    const snapshot = actor.getSnapshot() as { status: string; error?: unknown };
    const engine = engineOf(actor);
    if (engine === undefined || snapshot.status !== "active") {
      // The actor failed while starting (a bad config, or an EngineFailedError: a scheduler or
      // hook that threw at once) and stopped itself: keep nothing.
      const failure = snapshot.error ?? new Error(`spawn("${name}"): the engine actor did not start`);
      // Named, since one supervisor spawns many: "Invalid configuration of engine "web" …".
      const error =
        failure instanceof ConfigError
          ? new ConfigError(failure.issues, `engine "${name}"`, { cause: failure })
          : failure;
      this.failures.set(name, error);
      throw error instanceof Error ? error : new Error(String(error));
    }
    // Only now: a spawn that throws (from an onFailure restart, say) keeps the last failure.
    this.failures.delete(name);
    // However the scope closes (stop, failure, close), the actor stops, which closes the engine.
    // One run for the fork and its finalizer: each Effect run starts a fiber.
    const running = Effect.runSync(
      Effect.flatMap(Scope.fork(this.scope, ExecutionStrategy.sequential), (scope) => {
        const running: Running = { name, engine, actor, scope };
        return Effect.as(
          Scope.addFinalizer(
            scope,
            Effect.sync(() => this.release(running)),
          ),
          running,
        );
      }),
    );
    this.running.set(name, running);
    this.engines.set(name, engine);
    // An observer with an error callback also keeps XState from reporting the failure as unhandled.
    actor.subscribe({ error: (error) => this.fail(running, error) });
    for (const listener of [...this.spawnListeners]) {
      try {
        listener(name, engine, config as EngineConfig);
      } catch (error) {
        console.warn(
          `arqon: an onSpawn listener threw for "${name}" (${errorMessage(error)}); the engine runs`,
        );
      }
    }
    // Created from `config`, whose keys are exactly `N` (as createEngine's engine is).
    return engine as unknown as Engine<N>;
  }

  async stop(name: string): Promise<boolean> {
    const running = this.running.get(name);
    if (running === undefined) return false;
    Effect.runSync(Scope.close(running.scope, Exit.void));
    return true;
  }

  get<N extends string = string>(name: string): Engine<N> | undefined {
    return this.engines.get(name) as Engine<N> | undefined;
  }

  onSpawn(listener: SpawnListener): () => void {
    if (typeof listener !== "function")
      throw new UsageError(`onSpawn: expected a function, got ${shownValue(listener)}`);
    // Wrapped: the same function added twice is two listeners, each removed by its own handle.
    const entry: SpawnListener = (name, engine, config) => listener(name, engine, config);
    this.spawnListeners.add(entry);
    return () => void this.spawnListeners.delete(entry);
  }

  actorOf(name: string): AnyActorRef | undefined {
    return this.running.get(name)?.actor;
  }

  send(name: string, command: EngineCommand): boolean {
    if (!(this.directObserve && command?.type === "observe")) {
      // Refused here, not ignored by the actor: the caller learns at once, and nothing is lost.
      const issue = engineCommandIssue(command);
      if (issue !== undefined) throw new UsageError(`send("${name}"): ${issue}`);
      const running = this.running.get(name);
      if (running === undefined) return false;
      // An idle actor runs the command within this call and reports a refusal to the root at once.
      // A busy one (a send from inside another of its commands) queues it: its refusal comes
      // later, and is in the audit log (command.refused), not thrown here.
      this.refusals.delete(command);
      running.actor.send(command);
      const reason = this.refusals.get(command);
      if (reason === undefined) return true;
      this.refusals.delete(command);
      throw new CommandRefusedError(`send("${name}"): ${reason}`);
    }
    // The digest path: one look-up, the engine's own observe (which validates the digest and
    // counts a bad one as rejected), and the failure check the actor would make after it.
    const engine = this.engines.get(name);
    if (engine === undefined) return false;
    try {
      runEngineCommand(engine, command, name, this.flushAfterCommand);
    } catch (error) {
      // Unless the engine was stopped (or replaced) meanwhile, from inside the call.
      const running = this.running.get(name);
      if (running?.engine === engine) this.fail(running, error);
    }
    return true;
  }

  names(): string[] {
    return [...this.running.keys()];
  }

  failure(name: string): unknown {
    return this.failures.get(name);
  }

  async close(): Promise<void> {
    this.closeNow();
  }

  /** {@link close}'s work, all of it synchronous: every engine is closed, then the first error thrown. */
  closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    const engines = [...this.running.values()].map((r) => r.engine);
    Effect.runSync(Scope.close(this.scope, Exit.void));
    this.actor.stop();
    let failed = false;
    let first: unknown;
    for (const engine of engines) {
      try {
        closeEngineNow(engine);
      } catch (error) {
        if (!failed) first = error;
        failed = true;
      }
    }
    if (failed) throw first;
  }

  /**
   * An engine that failed, in its actor or in a command run directly: forgotten and recorded, its
   * scope closed (which stops the actor, releasing its system id, and so closes the engine), and
   * only then `onFailure` called, so that the hook sees the same state on both paths and may
   * spawn the name again. The hook runs inside XState's error reporting on the actor path, and in
   * the caller's `send` on the direct one: its throw is caught and reported with `console.warn`,
   * since there is no caller to hand it to and the other engines must keep running.
   */
  private fail(running: Running, error: unknown): void {
    if (this.running.get(running.name) !== running) return;
    this.forget(running);
    this.failures.set(running.name, error);
    Effect.runSync(Scope.close(running.scope, Exit.void));
    const onFailure = this.options.onFailure;
    if (onFailure === undefined) return;
    try {
      onFailure(running.name, error, running.engine);
    } catch (hookError) {
      console.warn(
        `arqon: onFailure("${running.name}") threw (${errorMessage(hookError)}); ` +
          "the supervisor and its other engines keep running",
      );
    }
  }

  private forget(running: Running): void {
    this.running.delete(running.name);
    this.engines.delete(running.name);
  }

  /** The engine scope's finalizer: forgets the engine and has the root stop its actor. */
  private release(running: Running): void {
    if (this.running.get(running.name) === running) this.forget(running);
    this.actor.send({ type: "supervisor.stop", actor: running.actor });
  }
}
