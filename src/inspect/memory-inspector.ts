import type { InspectionEvent, Snapshot } from "xstate";
import type { InspectionEventType, InspectionSink } from "./inspection-record.js";

/** An inspection sink that keeps every event in memory, for tests and debugging. */
export interface MemoryInspector {
  /** The sink to pass as `inspect`. */
  readonly inspect: InspectionSink;
  /** Every event received, in order (the live array; it grows as events arrive). */
  readonly events: readonly InspectionEvent[];
  /**
   * Snapshots reported by `@xstate.snapshot` events, in order; with `actorId`, only those of the
   * actor whose session id, id or system id equals it.
   */
  snapshots(actorId?: string): Snapshot<unknown>[];
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
 * inspector.snapshots("spsa").at(-1); // the SPSA cycle's latest snapshot
 * ```
 */
export function createMemoryInspector(): MemoryInspector {
  const events: InspectionEvent[] = [];
  return {
    inspect: (event) => {
      events.push(event);
    },
    events,
    snapshots(actorId) {
      const out: Snapshot<unknown>[] = [];
      for (const event of events) {
        if (event.type !== "@xstate.snapshot") continue;
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
