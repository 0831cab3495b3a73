import { useMemo, useSyncExternalStore } from "react";
import type { Engine, EngineSnapshot } from "../engine/engine.js";
import type { EngineSnapshotsOptions } from "../engine/snapshots.js";
import { type ExternalStore, selectFrom } from "./external-store.js";
import { createSnapshotStore } from "./snapshot-store.js";

/** Options of {@link useEngineSnapshot}: how often snapshots are taken, and how selections compare. */
export interface UseEngineSnapshotOptions<T> extends EngineSnapshotsOptions {
  /**
   * Whether two selections are the same (default `Object.is`); when they are, the previous one is
   * kept and the component does not re-render.
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
 * snapshot; give `isEqual` (e.g. a shallow comparison) when it builds a new object each time and
 * re-renders should follow only real changes.
 */
export function useEngineSnapshot(
  engine: Engine | null | undefined,
  selector?: undefined,
  options?: UseEngineSnapshotOptions<EngineSnapshot>,
): EngineSnapshot | undefined;
export function useEngineSnapshot<T>(
  engine: Engine | null | undefined,
  selector: (snapshot: EngineSnapshot) => T,
  options?: UseEngineSnapshotOptions<T>,
): T | undefined;
export function useEngineSnapshot<T>(
  engine: Engine | null | undefined,
  selector?: (snapshot: EngineSnapshot) => T,
  options: UseEngineSnapshotOptions<T> = {},
): T | EngineSnapshot | undefined {
  const { everyMs, scheduler, isEqual } = options;
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
  const getSelection = useMemo(
    () =>
      selectFrom(
        store,
        selector && ((snapshot) => (snapshot === undefined ? undefined : selector(snapshot))),
        isEqual && ((a, b) => a !== undefined && b !== undefined && isEqual(a, b)),
      ),
    [store, selector, isEqual],
  );
  return useSyncExternalStore(store.subscribe, getSelection, getSelection);
}

/** The store of "no engine": nothing to listen to, always undefined. */
const EMPTY_STORE: ExternalStore<undefined> = {
  subscribe: () => () => {},
  getSnapshot: () => undefined,
};
