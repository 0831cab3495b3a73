import { useEffect, useState } from "react";
import type { EngineConfig } from "../engine/config.js";
import { createEngine, type Engine } from "../engine/engine.js";
import { notAnEngine } from "../engine/engine-argument.js";
import { isThenable } from "../engine/safety/guarded-callback.js";
import { UsageError } from "../errors.js";

/**
 * What {@link useEngine} starts: a config for `createEngine`, or a function that creates the
 * engine. `N` is the parameter names, inferred from a literal config as `createEngine` does.
 */
export type EngineSource<N extends string = string> = EngineConfig<N> | (() => Engine<N>);

/**
 * Runs an engine for as long as the component is mounted.
 *
 * @remarks
 * The engine is created after the first render (in an effect) and closed when the component
 * unmounts, so the first render gets `null`. Under React's StrictMode, which mounts, unmounts and
 * mounts again in development, the first engine is closed before the second is created: there is
 * never more than one running engine per mounted component. `source` is read once, at mount;
 * to start over with another config, remount the component (change its `key`). An invalid config
 * throws its `ConfigError` from the effect, to the nearest error boundary (an engine passed
 * instead of a config, a `UsageError` that says so). With a literal config,
 * the engine is typed by its parameter names, as `createEngine`'s is: `engine.value("batchSize")`
 * compiles, a misspelt name does not. A function must create a new engine in each call
 * (`() => createEngine(config)`): the hook closes the one it started at unmount, and one that
 * returns a closed engine (StrictMode's second mount of `() => engine`) is a `UsageError`. So is
 * one that returns a promise (an `async` function): the hook owns what the function makes, so the
 * engine the promise brings is closed when it comes; start an asynchronous engine (a logged one)
 * outside the component and show it with `useEngineSnapshot`.
 *
 * @example
 * ```tsx
 * const engine = useEngine({ seed: 7, params: { batchSize: { min: 1, max: 512, init: 64 } } });
 * const generation = useEngineSnapshot(engine, (s) => s.generation);
 * ```
 */
export function useEngine<const N extends string>(source: EngineSource<N>): Engine<N> | null {
  const [engine, setEngine] = useState<Engine<N> | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the source is read once, at mount (documented).
  useEffect(() => {
    if (isRunningEngine(source))
      throw new UsageError(
        "useEngine: expected an engine config or a function that creates an engine, got an engine; " +
          "to show an engine you already run, use useEngineSnapshot(engine)",
      );
    const started = typeof source === "function" ? startedBy(source) : createEngine(source);
    // The hook owns what it started and closes it at unmount: a function that hands back an engine
    // made once (`() => engine`) gave StrictMode's second mount the engine its first one closed,
    // and the page ran a dead engine without a word.
    if (closedByUseEngine.has(started) || started.actor.getSnapshot().status === "stopped")
      throw new UsageError(
        "useEngine: the function returned an engine that is closed (the hook closes the engine it " +
          "started when the component unmounts, and StrictMode mounts twice): create a new engine " +
          "in each call, e.g. useEngine(() => createEngine(config)); to show an engine you run " +
          "yourself, use useEngineSnapshot(engine)",
      );
    setEngine(started);
    return () => {
      setEngine(null);
      closedByUseEngine.add(started);
      void started.close();
    };
  }, []);
  return engine;
}

/**
 * The engine `factory` returns, checked: an async factory's engine would arrive after the hook
 * had failed on the promise, and run on unowned (it is closed as soon as it comes).
 */
function startedBy<N extends string>(factory: () => Engine<N>): Engine<N> {
  const started: unknown = factory();
  if (isThenable(started)) {
    started.then(
      (made) => {
        // The hook refused it, so nobody else will close it (an engine, or a logged one).
        const closable = made as { close?: () => unknown } | null | undefined;
        if (typeof closable?.close === "function")
          Promise.resolve()
            .then(() => closable.close?.())
            .catch(() => {});
      },
      () => {},
    );
    throw new UsageError(
      "useEngine: the function returned a promise; it must create the engine synchronously " +
        "(createEngine does); for an engine made asynchronously (createLoggedEngineAsync), start it " +
        "outside the component and show it with useEngineSnapshot(engine)",
    );
  }
  const problem = notAnEngine(started);
  if (problem !== undefined) throw new UsageError(`useEngine: what the function returned ${problem}`);
  return started as Engine<N>;
}

/** Engines a {@link useEngine} closed at unmount (weak: they go with the engines). */
const closedByUseEngine = new WeakSet<object>();

/** Whether `source` is an engine itself (an easy slip in untyped code), not a config. */
function isRunningEngine(source: unknown): boolean {
  const s = source as { observe?: unknown; snapshot?: unknown } | null;
  return (
    typeof s === "object" && s !== null && typeof s.observe === "function" && typeof s.snapshot === "function"
  );
}
