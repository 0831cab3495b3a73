import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as FiberMap from "effect/FiberMap";
import * as Scope from "effect/Scope";
import { type Actor, type AnyActorLogic, type AnyActorRef, createActor, enqueueActions, setup } from "xstate";
import { UsageError } from "../errors.js";
import type { InspectionSink } from "../inspect/inspection-record.js";
import type { EngineConfig } from "./config.js";
import type { Engine } from "./engine.js";
import { type EngineCommand, engineOf, type FromEngineOptions, fromEngine } from "./from-engine.js";

/** Commands the supervisor's root actor takes (sent by the {@link Supervisor} methods only). */
type SupervisorRootEvent =
  | { readonly type: "supervisor.spawn"; readonly name: string; readonly logic: AnyActorLogic }
  | { readonly type: "supervisor.stop"; readonly name: string }
  /** Sent by XState when an engine actor fails. */
  | { readonly type: `xstate.error.actor.${string}`; readonly error: unknown };

/**
 * The root of a supervisor's actor system: it spawns each engine actor with `id` and `systemId`
 * equal to the engine's name, and stops it on request. A child's failure reaches it as an
 * `xstate.error.actor.<name>` event, which it ignores: one engine's failure never touches the
 * root or its siblings (the supervisor's fiber for that engine handles it).
 */
const supervisorRootMachine = setup({
  types: { events: {} as SupervisorRootEvent },
}).createMachine({
  id: "supervisor",
  on: {
    "supervisor.spawn": {
      actions: enqueueActions(({ enqueue, event }) => {
        // Children are named at run time, which the chart's static child typing cannot express.
        enqueue.spawnChild(event.logic, { id: event.name as never, systemId: event.name });
      }),
    },
    "supervisor.stop": {
      actions: enqueueActions(({ enqueue, event }) => {
        enqueue.stopChild(event.name);
      }),
    },
    // Handled (and ignored) here, a child's error does not become the root's own error.
    "xstate.error.actor.*": {},
  },
});

/** Options of {@link createSupervisor}. */
export interface SupervisorOptions {
  /**
   * Inspection sink of the supervisor's actor system (the root and every engine actor); engines
   * whose config has no `inspect` of their own send their internal actors' events to it too.
   */
  readonly inspect?: InspectionSink;
  /** Called once when an engine fails after it started (its actor errored); the others keep running. */
  readonly onFailure?: (name: string, error: unknown) => void;
  /**
   * What each engine actor reports to the root (see {@link FromEngineOptions}); default: nothing,
   * since the supervisor's users read engines through {@link Supervisor.get}.
   */
  readonly notifications?: FromEngineOptions;
}

/**
 * Many named engines in one process, each an actor of one XState system and each watched by a
 * fiber of an Effect `FiberMap` keyed by its name.
 *
 * @remarks
 * Isolation: a bad config fails that `spawn` only; an engine whose actor fails (an exception out of
 * a command, an internal failure) is stopped, closed, removed from {@link Supervisor.names} and
 * its error kept in {@link Supervisor.failure}; an engine whose `onApply` hook keeps throwing
 * is contained by its own circuit breaker and SafeMode. In every case the other engines keep
 * tuning. Each engine keeps its own internal actor system (SPSA cycle, hot path); the supervisor's
 * system holds one actor per engine.
 */
export interface Supervisor {
  /** The root actor of the supervisor's system (engine actors are its children, by name). */
  readonly actor: Actor<typeof supervisorRootMachine>;
  /**
   * Creates and starts an engine named `name` (also its actor's id and system id). Throws the
   * `ConfigError` of an invalid config (nothing is kept; {@link Supervisor.failure} has it too),
   * or a `UsageError` if the name is running or the supervisor is closed.
   */
  spawn(name: string, config: EngineConfig): Engine;
  /** Stops and closes the engine `name`; resolves to false when no such engine runs. */
  stop(name: string): Promise<boolean>;
  /** The running engine `name`, or undefined. */
  get(name: string): Engine | undefined;
  /** The engine actor `name` (a child of {@link Supervisor.actor}), or undefined. */
  actorOf(name: string): AnyActorRef | undefined;
  /** Sends a command to the engine actor `name`; false when no such engine runs. */
  send(name: string, command: EngineCommand): boolean;
  /** Names of the running engines, in spawn order. */
  names(): string[];
  /** Why the engine last spawned as `name` failed, or undefined if it did not. */
  failure(name: string): unknown;
  /** Stops every engine (all fibers interrupted, all actors stopped, all engines closed). */
  close(): Promise<void>;
}

/** Effect constructors of {@link Supervisor}. */
export const Supervisor = {
  /** A supervisor closed (with every engine it runs) when the enclosing `Scope` closes. */
  make: (options: SupervisorOptions = {}): Effect.Effect<Supervisor, never, Scope.Scope> =>
    Effect.acquireRelease(
      Effect.sync(() => createSupervisor(options)),
      (supervisor) => Effect.promise(() => supervisor.close()),
    ),
};

/** Creates a supervisor; see {@link Supervisor}. */
export function createSupervisor(options: SupervisorOptions = {}): Supervisor {
  return new SupervisorImpl(options);
}

interface Running {
  readonly engine: Engine;
  readonly child: AnyActorRef;
}

class SupervisorImpl implements Supervisor {
  readonly actor: Actor<typeof supervisorRootMachine>;
  private readonly options: SupervisorOptions;
  private readonly scope: Scope.CloseableScope;
  private readonly fibers: FiberMap.FiberMap<string>;
  private readonly running = new Map<string, Running>();
  private readonly failures = new Map<string, unknown>();
  private closed = false;
  private rootError: unknown;

  constructor(options: SupervisorOptions) {
    this.options = options;
    this.scope = Effect.runSync(Scope.make());
    this.fibers = Effect.runSync(Scope.extend(FiberMap.make<string>(), this.scope));
    this.actor = createActor(supervisorRootMachine, {
      ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
    });
    // Children's errors are events the root handles, not errors of its own; an error of the root
    // would be a defect, kept here rather than thrown from a timer into the host process.
    this.actor.subscribe({
      error: (error) => {
        this.rootError ??= error;
      },
    });
    this.actor.start();
  }

  spawn(name: string, config: EngineConfig): Engine {
    if (this.closed) throw new UsageError(`spawn("${name}"): the supervisor is closed`);
    if (this.rootError !== undefined) {
      throw new UsageError(`spawn("${name}"): the supervisor's root actor failed`, { cause: this.rootError });
    }
    if (typeof name !== "string" || name === "") throw new UsageError("spawn: expected a non-empty name");
    if (this.running.has(name)) throw new UsageError(`spawn("${name}"): an engine with this name is running`);
    this.failures.delete(name);
    const withInspect =
      config.inspect === undefined && this.options.inspect !== undefined
        ? { ...config, inspect: this.options.inspect }
        : config;
    const logic = fromEngine(withInspect, {
      started: false,
      events: false,
      snapshots: false,
      ...this.options.notifications,
    });
    this.actor.send({ type: "supervisor.spawn", name, logic });
    const children = this.actor.getSnapshot().children as Record<string, AnyActorRef | undefined>;
    const child = children[name];
    const snapshot = child?.getSnapshot() as { status: string; error?: unknown } | undefined;
    const engine = child === undefined ? undefined : engineOf(child);
    if (child === undefined || engine === undefined || snapshot?.status !== "active") {
      // The actor failed while starting (a bad config): drop it, keep nothing.
      this.actor.send({ type: "supervisor.stop", name });
      const error = snapshot?.error ?? new Error(`spawn("${name}"): the engine actor did not start`);
      this.failures.set(name, error);
      throw error instanceof Error ? error : new Error(String(error));
    }
    this.running.set(name, { engine, child });
    Effect.runSync(FiberMap.run(this.fibers, name, this.watch(name, child)));
    return engine;
  }

  async stop(name: string): Promise<boolean> {
    if (!this.running.has(name)) return false;
    await Effect.runPromise(FiberMap.remove(this.fibers, name));
    return true;
  }

  get(name: string): Engine | undefined {
    return this.running.get(name)?.engine;
  }

  actorOf(name: string): AnyActorRef | undefined {
    return this.running.get(name)?.child;
  }

  send(name: string, command: EngineCommand): boolean {
    const running = this.running.get(name);
    if (running === undefined) return false;
    running.child.send(command);
    return true;
  }

  names(): string[] {
    return [...this.running.keys()];
  }

  failure(name: string): unknown {
    return this.failures.get(name);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const engines = [...this.running.values()].map((r) => r.engine);
    await Effect.runPromise(Scope.close(this.scope, Exit.void));
    this.actor.stop();
    await Promise.all(engines.map((engine) => engine.close()));
  }

  /**
   * The fiber that owns one engine actor: it waits for the actor to fail or finish, and however it
   * ends (failure, `stop`, `close`), stops the actor, which closes the engine. A failure is
   * recorded at once (so `names()` is right as soon as the failing call returns).
   */
  private watch(name: string, child: AnyActorRef): Effect.Effect<void, unknown> {
    const failed = (error: unknown) => {
      if (this.running.get(name)?.child !== child) return;
      this.running.delete(name);
      this.failures.set(name, error);
      this.options.onFailure?.(name, error);
    };
    const untilEnded = Effect.async<void, unknown>((resume) => {
      const snapshot = child.getSnapshot() as { status: string; error?: unknown };
      if (snapshot.status === "error") {
        failed(snapshot.error);
        resume(Effect.fail(snapshot.error));
        return;
      }
      const subscription = child.subscribe({
        error: (error) => {
          failed(error);
          resume(Effect.fail(error));
        },
        complete: () => resume(Effect.void),
      });
      return Effect.sync(() => subscription.unsubscribe());
    });
    return untilEnded.pipe(
      Effect.ensuring(
        Effect.sync(() => {
          if (this.running.get(name)?.child === child) this.running.delete(name);
          this.actor.send({ type: "supervisor.stop", name });
        }),
      ),
    );
  }
}
