import { useInsertionEffect, useMemo, useRef, useSyncExternalStore } from "react";
import type { AuditEvent } from "../audit/events.js";
import type { Engine } from "../engine/engine.js";
import { checkEngineArgument } from "./engine-argument.js";
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
 * emptied) when `engine` or `limit` changes, or a `filter` is given or taken away; a new `filter`
 * function (an inline one is new on every render) only judges the events that arrive from then
 * on, and the list is kept. A typed engine's events (from a literal config) key their values by
 * its parameter names, as `engine.events` does.
 */
export function useEngineEvents<N extends string = string>(
  engine: Engine<N> | null | undefined,
  options: EventStoreOptions<N> = {},
): readonly AuditEvent<N>[] {
  // Checked here, so that an error names the hook called rather than the store under it.
  checkEngineArgument(engine, "useEngineEvents");
  checkedEventStoreOptions(options, "useEngineEvents");
  const { limit, filter } = options;
  // The latest committed filter, read when an event arrives: a store rebuilt for each new function
  // emptied the list at every render, and an inline filter, new on each render an event caused,
  // kept it empty for good. Set once the render commits (a render React discards leaves it alone).
  const latestFilter = useRef(filter);
  useInsertionEffect(() => {
    latestFilter.current = filter;
  });
  const filtered = filter !== undefined;
  const store = useMemo(
    () =>
      engine
        ? createEventStore(engine, {
            ...(limit === undefined ? {} : { limit }),
            ...(filtered
              ? {
                  filter: (event: AuditEvent<N>) => {
                    const latest = latestFilter.current;
                    return latest === undefined || latest(event);
                  },
                }
              : {}),
          })
        : EMPTY_STORE,
    [engine, limit, filtered],
  );
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}
