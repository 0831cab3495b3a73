import type { AuditEvent } from "../audit/events.js";
import type { Engine } from "../engine/engine.js";
import { UsageError } from "../errors.js";
import { shownValue } from "../shown-value.js";
import { unknownOptionKeys, unknownOptionsText } from "../unknown-options.js";
import { type ExternalStore, sharedListeners } from "./external-store.js";

/** Options of {@link createEventStore}; `N` is the engine's parameter names. */
export interface EventStoreOptions<N extends string = string> {
  /** How many of the most recent events to keep (default 50). */
  readonly limit?: number;
  /**
   * Keeps only the events it accepts (default: all), e.g. to leave out the per-digest
   * `digest.accepted` events so that `limit` covers a longer stretch of time.
   */
  readonly filter?: (event: AuditEvent<N>) => boolean;
}

const EVENT_STORE_OPTIONS = ["limit", "filter"];

/** The default of {@link EventStoreOptions.limit}. */
export const RECENT_EVENTS_LIMIT = 50;

/**
 * An external store of the engine's most recent audit events (oldest first), for
 * `useSyncExternalStore`.
 *
 * @remarks
 * `engine.events` is a hot stream, so the store holds only what arrived while someone was
 * subscribed; what it holds survives an unsubscribe and resubscribe (React's StrictMode does that).
 * The array returned by `getSnapshot` is frozen and replaced only when events arrived since the
 * last call, so a burst of events costs one copy of at most `limit` entries per read. Once
 * `filter` throws, `getSnapshot` throws that error (in a component, React's render: its error
 * boundary gets it) and no event is kept any more.
 * Throws a `UsageError` when `limit` is not a whole number > 0, `filter` not a function, or an
 * option is unknown.
 */
export function createEventStore<N extends string = string>(
  engine: Pick<Engine<N>, "events">,
  options: EventStoreOptions<N> = {},
): ExternalStore<readonly AuditEvent<N>[]> {
  const { limit, filter } = checkedEventStoreOptions(options, "createEventStore");
  const buffer: AuditEvent<N>[] = [];
  let view: readonly AuditEvent<N>[] = Object.freeze([]);
  let stale = false;
  // What a throwing filter threw, kept for getSnapshot: thrown in the engine's event stream it would
  // reach no error boundary (RxJS reports it later, as an uncaught error, once per event).
  let failure: { readonly error: unknown } | undefined;
  const subscribe = sharedListeners((notify) => {
    const subscription = engine.events.subscribe((event) => {
      if (failure !== undefined) return;
      if (filter !== undefined) {
        let kept: boolean;
        try {
          kept = filter(event);
        } catch (error) {
          failure = { error };
          notify();
          return;
        }
        if (!kept) return;
      }
      buffer.push(event);
      if (buffer.length > limit) buffer.splice(0, buffer.length - limit);
      stale = true;
      notify();
    });
    return () => subscription.unsubscribe();
  });
  return {
    subscribe,
    getSnapshot: () => {
      if (failure !== undefined) throw failure.error;
      if (stale) {
        view = Object.freeze(buffer.slice());
        stale = false;
      }
      return view;
    },
  };
}

/**
 * `options` with the default limit, checked; a `UsageError` names `caller` (the function the host
 * called) when `limit` is not a whole number > 0, `filter` not a function, or an option is unknown.
 */
export function checkedEventStoreOptions<N extends string>(
  options: EventStoreOptions<N>,
  caller: string,
): { readonly limit: number; readonly filter: ((event: AuditEvent<N>) => boolean) | undefined } {
  const unknown = unknownOptionKeys(options, EVENT_STORE_OPTIONS);
  if (unknown.length > 0)
    throw new UsageError(`${caller}: ${unknownOptionsText(unknown, EVENT_STORE_OPTIONS)}`);
  const limit = options.limit ?? RECENT_EVENTS_LIMIT;
  const filter = options.filter;
  if (!(Number.isSafeInteger(limit) && limit > 0))
    throw new UsageError(`${caller}: limit must be a whole number > 0, got ${shownValue(limit)}`);
  if (filter !== undefined && typeof filter !== "function")
    throw new UsageError(`${caller}: filter must be a function, got ${shownValue(filter)}`);
  return { limit, filter };
}
