import { useEffect, useMemo, useRef, useSyncExternalStore } from "react";
import type { Engine, EngineSnapshot } from "../engine/engine.js";
import { checkedSnapshotsOptions, type EngineSnapshotsOptions } from "../engine/snapshots.js";
import { UsageError } from "../errors.js";
import { shownValue } from "../shown-value.js";
import { checkEngineArgument } from "./engine-argument.js";
import { type ExternalStore, selectFrom } from "./external-store.js";
import { createSnapshotStore } from "./snapshot-store.js";

/** Options of {@link useEngineSnapshot}: how often snapshots are taken, and how selections compare. */
export interface UseEngineSnapshotOptions<T> extends EngineSnapshotsOptions {
  /**
   * Whether two selections (the snapshots themselves without a selector) are the same (default
   * `Object.is`); when they are, the previous one is kept and the component does not re-render.
   */
  readonly isEqual?: (a: T, b: T) => boolean;
}

/**
 * The engine's latest snapshot, or the part of it that `selector` picks; re-renders after each
 * burst of audit events (see {@link engineSnapshots}), never by polling.
 *
 * @remarks
 * Built on `useSyncExternalStore` over {@link createSnapshotStore}. Returns `undefined` while
 * `engine` is null (e.g. the first render of {@link useEngine}). The selector runs once per new
 * snapshot, and once per render when it is a new function (as an inline selector is). Give
 * `isEqual` (e.g. a shallow comparison) when it builds a new object each time and re-renders
 * should follow only real changes: an equal selection is the one rendered before, also across
 * renders with a new selector, so effects that depend on it do not run again.
 */
export function useEngineSnapshot<N extends string = string>(
  engine: Engine<N> | null | undefined,
  selector?: undefined,
  options?: UseEngineSnapshotOptions<EngineSnapshot<N>>,
): EngineSnapshot<N> | undefined;
export function useEngineSnapshot<T, N extends string = string>(
  engine: Engine<N> | null | undefined,
  selector: (snapshot: EngineSnapshot<N>) => T,
  options?: UseEngineSnapshotOptions<T>,
): T | undefined;
export function useEngineSnapshot<T>(
  engine: Engine | null | undefined,
  selector?: (snapshot: EngineSnapshot) => T,
  options: UseEngineSnapshotOptions<T> = {},
): T | EngineSnapshot | undefined {
  // Checked here, so that an error names the hook called rather than the store under it.
  checkEngineArgument(engine, "useEngineSnapshot");
  if (selector !== undefined && typeof selector !== "function")
    throw new UsageError(
      `useEngineSnapshot: selector must be a function of the snapshot, got ${shownValue(selector)} (options come third: useEngineSnapshot(engine, undefined, options))`,
    );
  checkedSnapshotsOptions(options, "useEngineSnapshot", ["isEqual"]);
  if (options.isEqual !== undefined && typeof options.isEqual !== "function")
    throw new UsageError(
      `useEngineSnapshot: isEqual must be a function (a, b) => boolean, got ${shownValue(options.isEqual)}`,
    );
  const { everyMs, scheduler } = options;
  // The overloads pair `isEqual` with what is selected: the snapshot itself without a selector.
  const isEqual = options.isEqual as ((a: T | EngineSnapshot, b: T | EngineSnapshot) => boolean) | undefined;
  const store: ExternalStore<EngineSnapshot | undefined> = useMemo(
    () =>
      engine
        ? createSnapshotStore(engine, {
            ...(everyMs === undefined ? {} : { everyMs }),
            ...(scheduler === undefined ? {} : { scheduler }),
          })
        : EMPTY_STORE,
    [engine, everyMs, scheduler],
  );
  // The selection last rendered, with the store it came from: a new selector (an inline one is
  // new on every render) starts from it, so an equal selection keeps its identity. Another store
  // (another engine) starts afresh, as its values are not the old engine's.
  const committed = useRef<{ readonly store: object; readonly value: T | EngineSnapshot | undefined }>(
    undefined,
  );
  const getSelection = useMemo(
    () =>
      selectFrom<EngineSnapshot | undefined, T | EngineSnapshot | undefined>(
        store,
        selector && ((snapshot) => (snapshot === undefined ? undefined : selector(snapshot))),
        isEqual && ((a, b) => a !== undefined && b !== undefined && isEqual(a, b)),
        () => (committed.current?.store === store ? committed.current : undefined),
      ),
    [store, selector, isEqual],
  );
  const selection = useSyncExternalStore(store.subscribe, getSelection, getSelection);
  useEffect(() => {
    committed.current = { store, value: selection };
  }, [store, selection]);
  return selection;
}

/** The store of "no engine": nothing to listen to, always undefined. */
const EMPTY_STORE: ExternalStore<undefined> = {
  subscribe: () => () => {},
  getSnapshot: () => undefined,
};
