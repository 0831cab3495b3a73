import type { AnyActorRef, SnapshotFrom } from "xstate";
import type { ExternalStore } from "./external-store.js";

/**
 * An external store of an XState actor's snapshot, for `useSyncExternalStore`.
 *
 * @remarks
 * Listens to every way an actor reports a change: `next` (a transition), `error` (the actor
 * failed) and `complete` (the actor stopped: `stop()` notifies only `complete`, while the
 * snapshot's status becomes `"stopped"`). `getSnapshot` returns the actor's own snapshot, which
 * XState replaces on every change, so it is the same object while nothing changed; it never throws,
 * an actor in error reads as a snapshot with status `"error"`. Subscribing to an actor that already
 * failed calls the listener at once, which is harmless.
 */
export function createActorStore<A extends AnyActorRef>(actor: A): ExternalStore<SnapshotFrom<A>> {
  return {
    subscribe: (onChange) => {
      const changed = () => onChange();
      const subscription = actor.subscribe({ next: changed, error: changed, complete: changed });
      return () => subscription.unsubscribe();
    },
    getSnapshot: () => actor.getSnapshot() as SnapshotFrom<A>,
  };
}
