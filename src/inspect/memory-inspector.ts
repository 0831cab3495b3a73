import type { InspectionEvent, Snapshot, StateValue } from "xstate";
import type { InspectionEventType, InspectionSink } from "./inspection-record.js";

/**
 * A snapshot as inspection reports it: a state machine's carries its state `value` and `context`;
 * other actors' (callbacks, promises, the hot path) have neither.
 */
export type InspectedSnapshot = Snapshot<unknown> & {
  readonly value?: StateValue;
  readonly context?: unknown;
};

/** An inspection sink that keeps every event in memory, for tests and debugging. */
export interface MemoryInspector {
  /** The sink to pass as `inspect`. */
  readonly inspect: InspectionSink;
  /** Every event received, in order (the live array; it grows as events arrive). */
  readonly events: readonly InspectionEvent[];
  /**
   * Snapshots reported by `@xstate.snapshot` events, in order; with `actorId`, only those of the
   * actor whose session id, id or system id equals it; with `rootId`, only those of actors in the
   * system whose root actor has that session id. An engine's internal actors (`spsa`, `safeMode`…)
   * form a system of their own whose root is `engine.actor`, so
   * `snapshots("safeMode", engine.actor.sessionId)` tells one engine's apart from another's when
   * several share a sink (a supervisor's).
   */
  snapshots(actorId?: string, rootId?: string): InspectedSnapshot[];
  /** The types of the events received, in order (handy for assertions). */
  types(): InspectionEventType[];
  /** Forgets every event received so far. */
  clear(): void;
}

/** The names an actor answers to: session id, id and system id. */
function answersTo(ref: unknown, name: string): boolean {
  const r = ref as { sessionId?: unknown; id?: unknown; systemId?: unknown };
  return r.sessionId === name || r.id === name || r.systemId === name;
}

/**
 * Creates an in-memory inspection sink.
 *
 * @remarks
 * Keeps references to the events as XState delivered them (XState snapshots are immutable, so
 * they keep their values). Unbounded: meant for tests and short sessions. O(1) per event.
 *
 * @example
 * ```ts
 * const inspector = createMemoryInspector();
 * const engine = createEngine({ ...config, inspect: inspector.inspect });
 * inspector.snapshots("spsa").at(-1)?.value; // the SPSA cycle's latest state, e.g. { cycle: "plus" }
 * ```
 */
export function createMemoryInspector(): MemoryInspector {
  const events: InspectionEvent[] = [];
  return {
    inspect: (event) => {
      events.push(event);
    },
    events,
    snapshots(actorId, rootId) {
      const out: InspectedSnapshot[] = [];
      for (const event of events) {
        if (event.type !== "@xstate.snapshot") continue;
        if (rootId !== undefined && event.rootId !== rootId) continue;
        if (actorId === undefined || answersTo(event.actorRef, actorId)) out.push(event.snapshot);
      }
      return out;
    },
    types: () => events.map((event) => event.type),
    clear() {
      events.length = 0;
    },
  };
}
