import type { Engine, EngineSnapshot } from "../engine/engine.js";
import {
  checkedSnapshotsOptions,
  type EngineSnapshotsOptions,
  engineSnapshots,
} from "../engine/snapshots.js";
import { type ExternalStore, sharedListeners } from "./external-store.js";

/**
 * An external store of the engine's latest {@link EngineSnapshot}, for `useSyncExternalStore`.
 *
 * @remarks
 * While at least one listener is subscribed, the store follows {@link engineSnapshots} (one
 * snapshot per burst of audit events, see its `options`), shared by all listeners.
 * `getSnapshot` returns the latest snapshot received, or takes one if there is none yet, so that
 * it never returns undefined and returns the same object between changes.
 */
export function createSnapshotStore<N extends string = string>(
  engine: Pick<Engine<N>, "events" | "snapshot">,
  options: EngineSnapshotsOptions = {},
): ExternalStore<EngineSnapshot<N>> {
  checkedSnapshotsOptions(options, "createSnapshotStore");
  const snapshots = engineSnapshots(engine, options);
  let latest: EngineSnapshot<N> | undefined;
  const subscribe = sharedListeners((notify) => {
    const subscription = snapshots.subscribe((snapshot) => {
      latest = snapshot;
      notify();
    });
    return () => subscription.unsubscribe();
  });
  return {
    subscribe,
    getSnapshot: () => {
      latest ??= engine.snapshot();
      return latest;
    },
  };
}
