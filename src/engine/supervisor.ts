import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as FiberMap from "effect/FiberMap";
import * as Scope from "effect/Scope";
import { type Actor, type AnyActorLogic, type AnyActorRef, createActor, enqueueActions, setup } from "xstate";
import { UsageError } from "../errors.js";
import type { InspectionSink } from "../inspect/inspection-record.js";
import type { EngineConfig } from "./config.js";
import type { Engine } from "./engine.js";
import {
  type EngineCommand,
  engineOf,
  type FromEngineOptions,
  fromEngine,
  runEngineCommand,
} from "./from-engine.js";

/** Commands the supervisor's root and shard actors take (sent by the {@link Supervisor} methods only). */
type SupervisorRootEvent =
  | {
      readonly type: "supervisor.spawn";
      readonly name: string;
      readonly logic: AnyActorLogic;
      /** The system id to register (an engine's name); shards have none. */
      readonly systemId?: string;
    }
  | { readonly type: "supervisor.stop"; readonly name: string }
  /** Sent by XState when an engine actor fails. */
  | { readonly type: `xstate.error.actor.${string}`; readonly error: unknown };

/**
 * The root of a supervisor's actor system, and each of its shards (the same chart): it spawns a
 * child actor on request (a shard under the root; an engine actor, with `id` and `systemId` equal
 * to the engine's name, under a shard) and stops it on request. A child's failure reaches it as
 * an `xstate.error.actor.<name>` event, which it ignores: one engine's failure never touches its
 * shard, the root or its siblings (the supervisor's fiber for that engine handles it).
 */
const supervisorRootMachine = setup({
  types: { events: {} as SupervisorRootEvent },
}).createMachine({
  id: "supervisor",
  on: {
    "supervisor.spawn": {
      actions: enqueueActions(({ enqueue, event }) => {
        // Children are named at run time, which the chart's static child typing cannot express.
        enqueue.spawnChild(event.logic, {
          id: event.name as never,
          ...(event.systemId === undefined ? {} : { systemId: event.systemId }),
        });
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

/**
 * Engine actors per shard. XState copies an actor's whole `children` object whenever it spawns or
 * stops a child, so engines live in shards of bounded size under the root: spawn and stop cost
 * the same at 10 engines as at 10,000.
 */
export const SUPERVISOR_SHARD_SIZE = 64;

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
 * fiber of an Effect `FiberMap` keyed by its name. Engine actors are children of shard actors
 * (at most {@link SUPERVISOR_SHARD_SIZE} each) under the root, so spawn and stop take the same
 * time however many engines run.
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
  /**
   * The root actor of the supervisor's system. Its children are shards; engine actors are the
   * shards' children, registered in the system by name (`actor.system.get(name)`).
   */
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
  /** The engine actor `name` (in {@link Supervisor.actor}'s system, under a shard), or undefined. */
  actorOf(name: string): AnyActorRef | undefined;
  /**
   * Sends a command to the engine actor `name`; false when no such engine runs. Without an
   * `inspect` sink, an `observe` command skips the actor's mailbox and runs on the engine at once
   * (as the actor would run it, failure handling included: a throw stops and closes that engine,
   * as an actor failure does), since digests arrive far more often than anything else; with
   * one, every command goes through the actor so that inspection sees it.
   */
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

/** The child `id` of a running actor of {@link supervisorRootMachine}, or undefined. */
function childOf(parent: AnyActorRef, id: string): AnyActorRef | undefined {
  return (parent.getSnapshot().children as Record<string, AnyActorRef | undefined>)[id];
}

/** Creates a supervisor; see {@link Supervisor}. */
export function createSupervisor(options: SupervisorOptions = {}): Supervisor {
  return new SupervisorImpl(options);
}

/** A shard actor under the root, and how many engine actors it holds. */
interface Shard {
  readonly actor: AnyActorRef;
  size: number;
}

interface Running {
  readonly engine: Engine;
  readonly child: AnyActorRef;
  readonly shard: Shard;
}

class SupervisorImpl implements Supervisor {
  readonly actor: Actor<typeof supervisorRootMachine>;
  private readonly options: SupervisorOptions;
  private readonly scope: Scope.CloseableScope;
  private readonly fibers: FiberMap.FiberMap<string>;
  private readonly running = new Map<string, Running>();
  private readonly failures = new Map<string, unknown>();
  /** Shards with room for another engine (a shard is here exactly while it is not full). */
  private readonly openShards: Shard[] = [];
  private shardCount = 0;
  /** Whether `observe` commands go straight to the engine (no inspection sink to show them to). */
  private readonly directObserve: boolean;
  private readonly flushAfterCommand: boolean;
  private closed = false;
  private rootError: unknown;

  constructor(options: SupervisorOptions) {
    this.options = options;
    this.directObserve = options.inspect === undefined;
    this.flushAfterCommand = options.notifications?.flush ?? false;
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
    const shard = this.openShard();
    shard.actor.send({ type: "supervisor.spawn", name, logic, systemId: name });
    const child = childOf(shard.actor, name);
    const snapshot = child?.getSnapshot() as { status: string; error?: unknown } | undefined;
    const engine = child === undefined ? undefined : engineOf(child);
    if (child === undefined || engine === undefined || snapshot?.status !== "active") {
      // The actor failed while starting (a bad config): drop it, keep nothing.
      shard.actor.send({ type: "supervisor.stop", name });
      const error = snapshot?.error ?? new Error(`spawn("${name}"): the engine actor did not start`);
      this.failures.set(name, error);
      throw error instanceof Error ? error : new Error(String(error));
    }
    this.running.set(name, { engine, child, shard });
    this.addTo(shard);
    Effect.runSync(FiberMap.run(this.fibers, name, this.watch(name, child, shard)));
    return engine;
  }

  /** A shard with room for one more engine, made under the root when every shard is full. */
  private openShard(): Shard {
    const open = this.openShards[this.openShards.length - 1];
    if (open !== undefined) return open;
    const id = `shard.${this.shardCount++}`;
    this.actor.send({ type: "supervisor.spawn", name: id, logic: supervisorRootMachine });
    const actor = childOf(this.actor, id);
    if (actor === undefined) throw new Error(`spawn: the supervisor could not start ${id}`);
    const shard: Shard = { actor, size: 0 };
    this.openShards.push(shard);
    return shard;
  }

  private addTo(shard: Shard): void {
    shard.size++;
    // openShard() hands out the last open shard, so a shard that fills up is the last one.
    if (shard.size === SUPERVISOR_SHARD_SIZE) this.openShards.pop();
  }

  private removeFrom(shard: Shard): void {
    if (shard.size === SUPERVISOR_SHARD_SIZE) this.openShards.push(shard);
    shard.size--;
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
    if (command.type === "observe" && this.directObserve) {
      try {
        runEngineCommand(running.engine, command, name, this.flushAfterCommand);
      } catch (error) {
        this.failDirectly(name, running, error);
      }
    } else running.child.send(command);
    return true;
  }

  /**
   * An engine whose command threw outside its actor: recorded as failed at once (as the watching
   * fiber records an actor's failure), then its fiber is ended, which stops the actor and so
   * closes the engine.
   */
  private failDirectly(name: string, running: Running, error: unknown): void {
    if (this.running.get(name) !== running) return;
    this.running.delete(name);
    this.failures.set(name, error);
    this.options.onFailure?.(name, error);
    Effect.runFork(FiberMap.remove(this.fibers, name));
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
  private watch(name: string, child: AnyActorRef, shard: Shard): Effect.Effect<void, unknown> {
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
          shard.actor.send({ type: "supervisor.stop", name });
          this.removeFrom(shard);
        }),
      ),
    );
  }
}
