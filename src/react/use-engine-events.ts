import { useMemo, useSyncExternalStore } from "react";
import type { AuditEvent } from "../audit/events.js";
import type { Engine } from "../engine/engine.js";
import { checkedEventStoreOptions, createEventStore, type EventStoreOptions } from "./event-store.js";
import type { ExternalStore } from "./external-store.js";

const NO_EVENTS: readonly AuditEvent[] = Object.freeze([]);
const EMPTY_STORE: ExternalStore<readonly AuditEvent[]> = {
  subscribe: () => () => {},
  getSnapshot: () => NO_EVENTS,
};

/**
 * The engine's most recent audit events, oldest first (at most `limit`, default 50), re-rendering
 * as they arrive.
 *
 * @remarks
 * Built on `useSyncExternalStore` over {@link createEventStore}: `engine.events` is a hot stream,
 * so the list starts with what arrives after the component subscribed. Empty while `engine` is
 * null. React batches a burst of events into one render. The store is rebuilt (and its list
 * emptied) when `engine`, `limit` or `filter` changes, so pass a stable `filter` (defined outside
 * the component, or memoised). A typed engine's events (from a literal config) key their values
 * by its parameter names, as `engine.events` does.
 */
export function useEngineEvents<N extends string = string>(
  engine: Engine<N> | null | undefined,
  options: EventStoreOptions<N> = {},
): readonly AuditEvent<N>[] {
  // Checked here, so that an error names the hook called rather than the store under it.
  checkedEventStoreOptions(options, "useEngineEvents");
  const { limit, filter } = options;
  const store = useMemo(
    () =>
      engine
        ? createEventStore(engine, {
            ...(limit === undefined ? {} : { limit }),
            ...(filter === undefined ? {} : { filter }),
          })
        : EMPTY_STORE,
    [engine, limit, filter],
  );
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}
