import { type Actor, type ActorOptions, type AnyActorLogic, createActor } from "xstate";
import { engineMachine } from "../../machines/engine.machine.js";
import { spsaMachine } from "../../machines/spsa.machine.js";
import type { Executor } from "../hotpath/executor.js";
import type { LiveConfig } from "../hotpath/live-config.js";
import { quietSink } from "../inspect/inspection-record.js";
import { withCachedTransitions } from "./cached-transitions.js";
import { createHotPathLogic } from "./hot-path-actor.js";

/** What one engine plugs into the shared engine chart: its SPSA actions and its hot-path parts. */
export interface EngineBinding {
  // biome-ignore lint/suspicious/noExplicitAny: each action takes XState's arguments for its own event.
  readonly spsaActions: Readonly<Record<string, (args: any) => void>>;
  readonly executor: Executor;
  readonly live: LiveConfig;
  readonly now: () => number;
  /**
   * Inspectors watching this engine: the `inspect` option's and any attached later through
   * `engine.actor.system.inspect`. While there are any, the SPSA chart computes every transition
   * afresh, so that they see XState's microsteps.
   */
  inspectors: number;
}

/** The binding of each running engine, by its actor system (the root actor's and its children's). */
const bindings = new WeakMap<object, EngineBinding>();
/**
 * The binding of the engine whose root actor is being constructed: XState creates the invoked
 * children (and asks for their initial state) inside the root's constructor, before its system
 * can be registered.
 */
let constructing: EngineBinding | undefined;

function bindingOf(system: unknown): EngineBinding {
  const binding = bindings.get(system as object) ?? constructing;
  if (binding === undefined) throw new Error("engine actor started outside a bound engine system");
  return binding;
}

/**
 * Creates (without starting) an engine's root actor on the shared chart ({@link boundEngineMachine}),
 * its SPSA actions and hot-path actor bound to `binding`.
 */
export function createEngineRoot(
  binding: EngineBinding,
  options: ActorOptions<typeof engineMachine> & {
    readonly input: ActorOptions<typeof engineMachine>["input"];
  },
): Actor<typeof engineMachine> {
  const machine = boundEngineMachine();
  constructing = binding;
  try {
    const root = createActor(machine, options);
    bindings.set(root.system, binding);
    countInspectors(root.system, binding);
    return root;
  } finally {
    constructing = undefined;
  }
}

/**
 * Counts the inspectors attached to `system` after its creation in `binding.inspectors`: XState
 * keeps its own set private, and the cached SPSA transitions must stop while anyone watches.
 * Each is made unable to throw into the engine's actors, as the `inspect` option's sink is.
 */
function countInspectors(system: Actor<typeof engineMachine>["system"], binding: EngineBinding): void {
  const inspect = system.inspect.bind(system);
  system.inspect = (observer) => {
    const next = typeof observer === "function" ? observer : observer.next?.bind(observer);
    const subscription = inspect(next === undefined ? observer : quietSink(next));
    binding.inspectors++;
    let attached = true;
    return {
      unsubscribe() {
        if (attached) {
          attached = false;
          binding.inspectors--;
        }
        subscription.unsubscribe();
      },
    };
  };
}

/** The SPSA chart's actions, each forwarded to the engine that owns the calling actor's system. */
function forwardedSpsaActions() {
  const forwarded: Record<string, (args: { system: unknown }) => void> = {};
  for (const name of Object.keys(spsaMachine.implementations.actions)) {
    forwarded[name] = (args) => bindingOf(args.system).spsaActions[name]?.(args);
  }
  return forwarded;
}

/**
 * The hot-path actor's logic for any engine: {@link createHotPathLogic} of the engine that owns
 * the actor's system, looked up per event (control commands only, never applies).
 */
function sharedHotPathLogic(): AnyActorLogic {
  const logicOf = (system: unknown) => {
    const b = bindingOf(system);
    return createHotPathLogic(b.executor, b.live, b.now);
  };
  const template = createHotPathLogic(undefined as never, undefined as never, () => 0);
  return {
    ...template,
    transition: (snapshot, event, scope) => logicOf(scope.system).transition(snapshot, event, scope),
    getInitialSnapshot: (scope, input) => logicOf(scope.system).getInitialSnapshot(scope, input),
  } as AnyActorLogic;
}

let shared: typeof engineMachine | undefined;

/**
 * The engine chart with the real SPSA actions and hot-path logic, built once per process: each
 * engine binds its own parts to its actor system ({@link createEngineRoot}) instead of building
 * its own copy of the chart (`provide` per engine cost ~17 KB of state nodes per engine).
 */
function boundEngineMachine(): typeof engineMachine {
  shared ??= engineMachine.provide({
    actors: {
      hotPath: sharedHotPathLogic(),
      // A window's event replays the transition XState computed the first time from that state
      // (same snapshot, same actions): no per-window snapshot churn (see withCachedTransitions).
      spsa: withCachedTransitions(
        spsaMachine.provide({ actions: forwardedSpsaActions() as never }),
        ["window.closed"],
        (scope) => bindingOf(scope.system).inspectors === 0,
      ),
    },
  });
  return shared;
}
